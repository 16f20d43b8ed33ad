// Reading a saved plan: the JSON of `bwplan search` (one of its plans) or `bwplan estimate`.
#include "bwplan/plan_file.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "bwplan/catalog.hpp"
#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "config_reader.hpp"
#include "json_reader.hpp"
#include "model_file.hpp"

namespace bwplan {

namespace {

/// The model a plan document carries (estimate: "model"; search: "model" since plans embed it),
/// checked against the parameter count it states; nullopt when the document has none.
std::optional<ModelSpec> embedded_model(const nlohmann::json& doc, const std::string& where) {
  if (!doc.contains("model") || !doc.at("model").is_object()) {
    return std::nullopt;
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
  r.gpu = io::in_context(c.at("gpu"), [&] { return cat.gpu(c.string("gpu")); });
  if (c.value("instance").is_string()) {
    r.instance =
        io::in_context(c.at("instance"), [&] { return cat.instance(c.string("instance")); });
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
    // The rules speak in flags; here the values came from the plan's fields of the same names,
    // held to its own model, or to --model's (which may not take them: not an edit).
    throw Error(fmt::format(
        "{}: {}: {} (the plan's fields, named as their flags: {})", where, pointer, e.what(),
        o.model.empty() ? "the plan was edited" : "the settings do not suit --model " + o.model));
  }
  r.train_tokens = o.train_tokens;
  return r;
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
    if (!plans.is_array() || plans.empty()) {
      throw Error(fmt::format("{}: the search found no plan to emit", o.plan));
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
    EstimateRequest r = request_from(catalog, plans[i].at("config"), o.plan,
                                     fmt::format("/plans/{}/config", i), o, carried);
    // the search's --train-tokens and --price-per-hour, unless given here
    const nlohmann::json* inputs = doc.contains("inputs") ? &doc["inputs"] : nullptr;
    const nlohmann::json* k =
        inputs != nullptr && inputs->is_object() && inputs->contains("constraints")
            ? &(*inputs)["constraints"]
            : nullptr;
    // A value out of the range the search's flag allows is an error, as on the command line.
    const auto number = [&](const char* key, double lo, double hi,
                            bool below_hi) -> std::optional<double> {
      if (k == nullptr || !k->is_object() || !k->contains(key) || !(*k)[key].is_number()) {
        return std::nullopt;
      }
      const double v = (*k)[key].get<double>();
      if (!(v >= lo && (below_hi ? v < hi : v <= hi))) {
        throw Error(fmt::format("{}: /inputs/constraints/{}: {} is out of range (allowed {}..{}{})",
                                o.plan, key, v, lo, below_hi ? "<" : "", hi));
      }
      return v;
    };
    const std::optional<double> train_tokens = number("train_tokens", 0, k_max_train_tokens, false);
    if (r.train_tokens == 0 && train_tokens) {
      r.train_tokens = *train_tokens;
    }
    if (const auto price = number("price_per_hour", 0, k_max_price_per_hour, false)) {
      r.price_per_hour = *price;
    }
    out.headroom_fraction = number("headroom_fraction", 0, 1, true);
    out.request = r;
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
  const nlohmann::json& mem = doc.contains("memory") ? doc["memory"] : nlohmann::json();
  if (mem.is_object() && mem.contains("usable_bytes") && mem.contains("capacity_bytes") &&
      mem["usable_bytes"].is_number() && mem["capacity_bytes"].is_number() &&
      mem["capacity_bytes"].get<double>() > 0) {
    const double h = 1 - mem["usable_bytes"].get<double>() / mem["capacity_bytes"].get<double>();
    if (!(h >= 0 && h < 1)) {
      throw Error(fmt::format("{}: /memory/usable_bytes: {} of capacity_bytes {} is a headroom "
                              "of {} (allowed 0..<1)",
                              o.plan, mem["usable_bytes"].get<double>(),
                              mem["capacity_bytes"].get<double>(), h));
    }
    out.headroom_fraction = h;
  }
  return out;
}

} // namespace bwplan
