// Reading a saved plan: the JSON of `bwplan search` (one of its plans) or `bwplan estimate`.
#include "bwplan/plan_file.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "bwplan/catalog.hpp"
#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/field_names.hpp"
#include "config_reader.hpp"
#include "json_reader.hpp"
#include "model_file.hpp"

namespace bwplan {

namespace {

/// The model a plan document carries (estimate: "model"; search: "model" since plans embed it),
/// checked against the parameter count it states; nullopt when the document has none.
std::optional<ModelSpec> embedded_model(const nlohmann::json& doc, const std::string& where) {
  if (!doc.contains("model")) {
    return std::nullopt;
  }
  if (!doc.at("model").is_object()) {
    throw Error(fmt::format("{}: /model: expected an object, got {}: the plan was edited", where,
                            doc.at("model").type_name()));
  }
  io::ObjectReader r(doc.at("model"), where, "/model");
  ModelSpec m = io::read_model_fields(r);
  const std::int64_t stated = r.integer("parameters", 1, std::int64_t{1} << 50);
  if (r.has("sources")) {
    m.sources = r.string_list("sources");
  }
  r.allow({"non_embedding_parameters", "active_parameters", "trainable_parameters"});
  r.finish();
  validate_model(m, where + ": /model");
  if (count_parameters(m).total != stated) {
    throw Error(fmt::format("{}: /model/parameters {} does not match the shape it describes ({} "
                            "parameters): the plan was edited",
                            where, stated, count_parameters(m).total));
  }
  return m;
}

/// Rebuilds the plan's request from its "config" object (render_common's config_json).
EstimateRequest request_from(const Catalog& cat, const nlohmann::json& config,
                             const std::string& where, const std::string& pointer,
                             const PlanSource& o, const std::optional<ModelSpec>& carried) {
  io::ObjectReader c(config, where, pointer);
  // Every key a plan's config holds is known before any is read: a missing one is then said to
  // be missing, not blamed on a valid key read later ("gpu" gone is no misspelling of "cp").
  c.allow({"model", "gpu", "instance", "nodes"});
  io::allow_config_fields(c, io::ConfigSource::plan);
  // shard_group is read with gpus as its bound: name the pair when they disagree, rather than
  // blame shard_group alone when it may be gpus that was changed.
  if (config.contains("gpus") && config.contains("shard_group") &&
      config["gpus"].is_number_integer() && config["shard_group"].is_number_integer() &&
      config["gpus"].get<std::int64_t>() >= 1 &&
      config["shard_group"].get<std::int64_t>() > config["gpus"].get<std::int64_t>()) {
    throw Error(fmt::format("{}: {} does not fit in {}/gpus {}: a shard group is at most all the "
                            "job's GPUs; the plan was edited",
                            c.at("shard_group"), config["shard_group"].get<std::int64_t>(), pointer,
                            config["gpus"].get<std::int64_t>()));
  }
  EstimateRequest r;
  const std::string model = c.string("model");
  if (o.model.empty() && carried && carried->name != model) {
    throw Error(fmt::format("{}: '{}' is not the plan's model, '{}' (/model/name): the plan was "
                            "edited",
                            c.at("model"), model, carried->name));
  }
  if (!o.model.empty()) {
    r.model = resolve_model(cat, o.model);
  } else if (carried && carried->name == model) {
    r.model = *carried; // the plan's own model: a preset's copy, or a file's shape
  } else if (const ModelSpec* m = cat.find_model(model)) {
    r.model = *m;
  } else {
    throw Error(fmt::format("{}: the plan's model '{}' is not a preset; give the model file with "
                            "--model PATH",
                            c.at("model"), model));
  }
  // the key read first: its own errors name the file and key once, a lookup's get them prefixed
  const std::string gpu = c.string("gpu");
  r.gpu = io::in_context(c.at("gpu"), [&] { return cat.gpu(gpu); });
  const nlohmann::json& instance_value = c.value("instance");
  if (!instance_value.is_string() && !instance_value.is_null()) {
    throw Error(fmt::format("{}: expected a string or null, got {}", c.at("instance"),
                            io::json_type_name(instance_value)));
  }
  if (instance_value.is_string()) {
    const std::string instance = c.string("instance");
    r.instance = io::in_context(c.at("instance"), [&] { return cat.instance(instance); });
    if (r.instance->gpu == r.gpu.name) {
      r.gpu = cat.gpu_of(*r.instance); // at the instance's power limit
    }
  }
  r.nodes = c.integer("nodes", 1, k_max_nodes);
  TrainingConfig& t = r.config;
  io::read_config_fields(c, t, io::ConfigSource::plan);
  if (r.instance) {
    // the plan's own fields must agree with its instance type (a tampered plan does not)
    if (r.instance->gpu != r.gpu.name) {
      throw Error(fmt::format("{}: gpu '{}' contradicts instance '{}', which has {}", c.at("gpu"),
                              r.gpu.name, r.instance->name, r.instance->gpu));
    }
    if (t.gpus_per_node != r.instance->gpus_per_node || t.gpus != r.nodes * t.gpus_per_node) {
      throw Error(fmt::format("{}: {} GPUs, {} per node, contradict {} x {} ({} GPUs each)",
                              c.at("gpus"), t.gpus, t.gpus_per_node, r.nodes, r.instance->name,
                              r.instance->gpus_per_node));
    }
  }
  c.finish();
  try {
    validate_config(t, r.model);
  } catch (const Error& e) {
    // The values came from the plan's fields, named by their keys, held to its own model, or to
    // --model's (which may not take them: not an edit).
    throw Error(fmt::format(
        "{}: {}: {} ({})", where, pointer, io::spell_fields(e.what(), io::Spelling::keys),
        o.model.empty() ? "the plan was edited" : "the settings do not suit --model " + o.model));
  }
  r.train_tokens = o.train_tokens;
  return r;
}

/// `parent[key]` of a plan document, a member every document bwplan writes has: a parent that is
/// not an object or a missing key is an edited plan (`pointer` is the parent's JSON pointer).
const nlohmann::json& required_member(const nlohmann::json& parent, const std::string& plan,
                                      const std::string& pointer, const char* key) {
  if (!parent.is_object()) {
    throw Error(fmt::format("{}: {}: expected an object, got {}: the plan was edited", plan,
                            pointer, io::json_type_name(parent)));
  }
  if (!parent.contains(key)) {
    throw Error(
        fmt::format("{}: {}/{}: missing required key: the plan was edited", plan, pointer, key));
  }
  return parent.at(key);
}

/// The largest --train-tokens a plan may carry: the flag's limit before it was lowered to
/// k_max_train_tokens (below 2^53), so that a plan an earlier bwplan wrote still reads back.
constexpr double k_max_saved_train_tokens = 1e16;

/// A plan's --train-tokens `d`, read at `at` of `plan`: 0 for none, else whole and at most
/// k_max_saved_train_tokens. It applies unless this command line gave its own.
void carry_train_tokens(EstimateRequest& r, double d, const std::string& plan,
                        std::string_view at) {
  if (!(d == 0 || (d >= k_min_train_tokens && d <= k_max_saved_train_tokens)) ||
      d != std::floor(d)) {
    throw Error(fmt::format("{}: {}: {} is out of range (allowed 0 for none, or a whole count "
                            "{}..{:g})",
                            plan, at, d, k_min_train_tokens, k_max_saved_train_tokens));
  }
  if (r.train_tokens == 0) {
    r.train_tokens = d;
  }
}

/// A search plan's `alike_precisions` (PlanDocument::alike_precisions), checked as a search
/// writes them (search.cpp group_recipes): anything else would launch a recipe no search grouped.
std::vector<Precision> read_alike_precisions(const nlohmann::json& plan, Precision own,
                                             const std::string& where) {
  std::vector<Precision> out;
  if (!plan.contains("alike_precisions")) {
    return out;
  }
  const nlohmann::json& alike = plan.at("alike_precisions");
  if (!alike.is_array()) {
    throw Error(fmt::format("{}: expected an array, got {}: the plan was edited", where,
                            io::json_type_name(alike)));
  }
  for (const nlohmann::json& name : alike) {
    const std::optional<Precision> p =
        name.is_string() ? parse_enum<Precision>(name.get<std::string>()) : std::nullopt;
    if (!p) {
      throw Error(
          fmt::format("{}: {} is not a precision: the plan was edited", where, name.dump()));
    }
    if (!is_low_precision(*p) || !is_low_precision(own) || *p == own ||
        std::find(out.begin(), out.end(), *p) != out.end()) {
      throw Error(fmt::format("{}: {} is not a recipe a search groups with this {} plan (allowed: "
                              "other low-precision recipes than its own, each once): the plan "
                              "was edited",
                              where, name.dump(), name_of(own)));
    }
    out.push_back(*p);
  }
  return out;
}

} // namespace

nlohmann::json parse_plan_json(std::string_view text, const PlanSource& o) {
  return io::parse_json(text, o.plan);
}

PlanDocument parse_plan(std::string_view text, const Catalog& catalog, const PlanSource& o) {
  return plan_from_json(parse_plan_json(text, o), catalog, o);
}

PlanDocument plan_from_json(const nlohmann::json& doc, const Catalog& catalog,
                            const PlanSource& o) {
  PlanDocument out;
  if (!doc.is_object()) {
    throw Error(fmt::format("{}: not a bwplan search or estimate JSON document", o.plan));
  }
  const nlohmann::json* version = doc.contains("schema_version") ? &doc["schema_version"] : nullptr;
  if (version == nullptr || !version->is_number_integer() || version->get<std::int64_t>() != 1) {
    throw Error(fmt::format("{}: /schema_version: {} is not one bwplan reads (allowed 1)", o.plan,
                            version == nullptr ? std::string("missing") : version->dump()));
  }
  const std::string kind =
      doc.contains("kind") && doc["kind"].is_string() ? doc["kind"].get<std::string>() : "";
  if (kind != "search" && kind != "estimate") {
    throw Error(
        fmt::format("{}: /kind: '{}' is not a plan (allowed search, estimate)", o.plan, kind));
  }
  const std::optional<ModelSpec> carried = embedded_model(doc, o.plan);
  if (doc.contains("calibration")) {
    const nlohmann::json& c = doc["calibration"];
    if (!c.is_object() || !c.contains("sha256") || !c["sha256"].is_string() ||
        c["sha256"].get<std::string>().size() != 64) {
      throw Error(fmt::format("{}: /calibration: expected {{\"file\", \"sha256\"}} as bwplan "
                              "writes it",
                              o.plan));
    }
    out.calibration_sha256 = c["sha256"].get<std::string>();
  }
  if (kind == "search") {
    if (!doc.contains("plans")) {
      throw Error(fmt::format("{}: a search document without /plans", o.plan));
    }
    const nlohmann::json& plans = doc.at("plans");
    if (!plans.is_array()) {
      throw Error(fmt::format("{}: /plans: expected an array, got {}: the plan was edited", o.plan,
                              io::json_type_name(plans)));
    }
    if (plans.empty()) {
      // read by check, emit and calibrate alike: the words fit each
      throw Error(fmt::format("{}: /plans is empty: the search found no plan, so there is no "
                              "plan to check or emit",
                              o.plan));
    }
    if (o.rank < 1 || o.rank > static_cast<std::int64_t>(plans.size())) {
      throw Error(fmt::format("{}: plan rank {} is out of range (the search has plans 1..{})",
                              o.plan, o.rank, plans.size()));
    }
    out.plans_in_document = static_cast<std::int64_t>(plans.size());
    const auto i = static_cast<std::size_t>(o.rank - 1);
    if (!plans[i].is_object() || !plans[i].contains("config")) {
      throw Error(fmt::format("{}: /plans/{} has no config object", o.plan, i));
    }
    out.plan = plans[i];
    out.pointer = fmt::format("/plans/{}", i);
    // A search writes each plan's rank as its place: another one is a reordered document, and
    // --rank, which goes by place, would take a plan other than the one it names.
    if (const auto rank = plans[i].find("rank");
        rank != plans[i].end() && !(rank->is_number_integer() && *rank == o.rank)) {
      throw Error(fmt::format("{}: /plans/{}/rank: {} is not its place in /plans ({}): the plan "
                              "was edited",
                              o.plan, i, rank->dump(), o.rank));
    }
    EstimateRequest r = request_from(catalog, plans[i].at("config"), o.plan,
                                     fmt::format("/plans/{}/config", i), o, carried);
    if (!r.instance) { // a search plans instance types only
      throw Error(fmt::format("{}: /plans/{}/config/instance: null, while a search plans instance "
                              "types only: the plan was edited",
                              o.plan, i));
    }
    // the search's --train-tokens and --price-per-hour, unless given here, and its --headroom.
    // Every search document has carried them (schema 1 from the start): one missing, or of
    // another type, is an edited document, refused as the /config fields are, never read as 0.
    const nlohmann::json& k = required_member(required_member(doc, o.plan, "", "inputs"), o.plan,
                                              "/inputs", "constraints");
    // A value out of the range the search's flag allows is an error, as on the command line.
    const auto number = [&](const char* key, double lo, double hi, bool below_hi,
                            bool null_allowed) -> std::optional<double> {
      const nlohmann::json& v = required_member(k, o.plan, "/inputs/constraints", key);
      if (null_allowed && v.is_null()) {
        return std::nullopt;
      }
      if (!v.is_number()) {
        throw Error(fmt::format("{}: /inputs/constraints/{}: expected a number{}, got {}: the "
                                "plan was edited",
                                o.plan, key, null_allowed ? " or null" : "",
                                io::json_type_name(v)));
      }
      const double d = v.get<double>();
      if (!(d >= lo && (below_hi ? d < hi : d <= hi))) {
        throw Error(fmt::format("{}: /inputs/constraints/{}: {} is out of range (allowed {}..{}{})",
                                o.plan, key, d, lo, below_hi ? "<" : "", hi));
      }
      return d;
    };
    if (const auto tokens = number("train_tokens", 0, k_max_saved_train_tokens, false, false)) {
      carry_train_tokens(r, *tokens, o.plan, "/inputs/constraints/train_tokens");
    }
    if (const auto price =
            number("price_per_hour", k_min_price_per_hour, k_max_price_per_hour, false, true)) {
      r.price_per_hour = *price;
    }
    out.headroom_fraction = number("headroom_fraction", 0, 1, true, false);
    out.request = r;
    out.alike_precisions = read_alike_precisions(
        out.plan, r.config.precision, fmt::format("{}: {}/alike_precisions", o.plan, out.pointer));
    return out;
  }
  if (!doc.contains("config")) {
    throw Error(fmt::format("{}: no \"plans\" or \"config\": give the JSON output of 'bwplan "
                            "search --format json' or 'bwplan estimate --format json'",
                            o.plan));
  }
  if (o.rank != 1) {
    throw Error(fmt::format("{}: plan rank {} asked of an estimate document, which holds one plan",
                            o.plan, o.rank));
  }
  out.plan = doc;
  out.request = request_from(catalog, doc.at("config"), o.plan, "/config", o, carried);
  // The estimate's --train-tokens, unless given here (documents before it was written lack it).
  if (doc.contains("cost") && doc["cost"].is_object() && doc["cost"].contains("train_tokens")) {
    const nlohmann::json& v = doc["cost"]["train_tokens"];
    if (!v.is_number()) {
      throw Error(fmt::format("{}: /cost/train_tokens: expected a number, got {}: the plan was "
                              "edited",
                              o.plan, io::json_type_name(v)));
    }
    carry_train_tokens(out.request, v.get<double>(), o.plan, "/cost/train_tokens");
  }
  // The estimate's --price-per-hour: its cost says so (price_basis), as a search's inputs do.
  if (doc.contains("cost") && doc["cost"].is_object() &&
      doc["cost"].value("price_basis", nlohmann::json()) == "--price-per-hour") {
    const nlohmann::json& v = required_member(doc["cost"], o.plan, "/cost", "usd_per_hour");
    if (!v.is_number() ||
        !(v.get<double>() >= k_min_price_per_hour && v.get<double>() <= k_max_price_per_hour)) {
      throw Error(fmt::format("{}: /cost/usd_per_hour: {} is not a price --price-per-hour allows "
                              "({}..{}): the plan was edited",
                              o.plan, v.dump(), k_min_price_per_hour, k_max_price_per_hour));
    }
    out.request.price_per_hour = v.get<double>();
  } else if (!out.request.instance && doc.contains("cost") && doc["cost"].is_object() &&
             doc["cost"].value("price_basis", nlohmann::json()).is_string() &&
             !doc["cost"]["price_basis"].get<std::string>().empty()) {
    // A catalog price is an instance type's: an estimate of GPUs has none (checked as one, its
    // cost read 0 where the plan says an instance's price).
    throw Error(fmt::format("{}: /config/instance: null, while /cost/price_basis is an instance "
                            "type's price: the plan was edited",
                            o.plan));
  }
  // The headroom the estimate was made with is its usable share of capacity. Both figures are in
  // every estimate document bwplan has written (schema 1 from the start): a missing, null,
  // zero or negative one is an edited plan, refused rather than checked with no headroom.
  const nlohmann::json null_json;
  const nlohmann::json& mem = doc.contains("memory") ? doc["memory"] : null_json;
  if (!mem.is_object()) {
    throw Error(fmt::format("{}: /memory: expected an object, got {}: the plan was edited", o.plan,
                            doc.contains("memory") ? io::json_type_name(mem) : "nothing"));
  }
  const auto bytes = [&](const char* key) {
    const nlohmann::json& v = required_member(mem, o.plan, "/memory", key);
    if (!v.is_number()) {
      throw Error(fmt::format("{}: /memory/{}: expected a number, got {}: the plan was edited",
                              o.plan, key, io::json_type_name(v)));
    }
    const double d = v.get<double>();
    if (!(d > 0)) {
      throw Error(fmt::format("{}: /memory/{}: {} is out of range (allowed a positive number of "
                              "bytes): the plan was edited",
                              o.plan, key, v.dump()));
    }
    return d;
  };
  const double capacity = bytes("capacity_bytes");
  const double usable = bytes("usable_bytes");
  const double h = 1 - usable / capacity;
  // (a headroom printed rounded, or -inf for a denormal capacity, named nothing the user wrote)
  if (!(usable <= capacity) || !(h < 1)) {
    throw Error(fmt::format("{}: /memory/usable_bytes: {} with capacity_bytes {} is out of range "
                            "(allowed: above 0, at most the capacity and leaving a headroom "
                            "below 100 %): the plan was edited",
                            o.plan, mem["usable_bytes"].dump(), mem["capacity_bytes"].dump()));
  }
  out.headroom_fraction = h;
  return out;
}

} // namespace bwplan
