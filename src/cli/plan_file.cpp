// Reading a saved plan: the JSON of `bwplan search` (one of its plans) or `bwplan estimate`.
#include "cli/plan_file.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bwplan/catalog.hpp"
#include "io/json_reader.hpp"

namespace bwplan::cli {

namespace {

template <class E> E plan_enum(io::ObjectReader& c, const char* key, const std::string& file) {
  return parse_enum_or_throw<E>(c.string(key), fmt::format("{}: config.{}", file, key));
}

/// Rebuilds the plan's request from its "config" object (render_common's config_json).
EstimateRequest request_from(Context& ctx, const nlohmann::json& config, const std::string& where,
                             const std::string& pointer, const PlanSource& o) {
  const Catalog& cat = ctx.catalog();
  io::ObjectReader c(config, where, pointer);
  EstimateRequest r;
  const std::string model = c.string("model");
  if (!o.model.empty()) {
    r.model = resolve_model(cat, o.model);
  } else if (const ModelSpec* m = cat.find_model(model)) {
    r.model = *m;
  } else {
    throw Error(fmt::format("{}: the plan's model '{}' is not a preset; give the model file with "
                            "--model PATH",
                            c.at("model"), model));
  }
  r.gpu = cat.gpu(c.string("gpu"));
  if (c.value("instance").is_string()) {
    r.instance = cat.instance(c.string("instance"));
  }
  r.nodes = c.integer("nodes", 1, 4096);
  TrainingConfig& t = r.config;
  t.gpus = c.integer("gpus", 1, 1 << 20);
  t.gpus_per_node = c.integer("gpus_per_node", 1, 1024);
  t.sharding = plan_enum<Sharding>(c, "sharding", where);
  t.shard_group = c.integer("shard_group", 1, 1 << 20);
  t.precision = plan_enum<Precision>(c, "precision", where);
  t.fp8_all_gather = c.boolean("fp8_all_gather");
  t.micro_batch = c.integer("micro_batch", 1, 1 << 20);
  t.seq_len = c.integer("seq_len", 1, 1 << 24);
  t.grad_accum = c.integer("grad_accum", 1, 1 << 20);
  t.activation_checkpointing =
      plan_enum<ActivationCheckpointing>(c, "activation_checkpointing", where);
  t.ac_every = c.integer("ac_every", 1, 1 << 20);
  t.optimizer = plan_enum<Optimizer>(c, "optimizer", where);
  t.compile = c.boolean("compile");
  t.loss = plan_enum<Loss>(c, "loss", where);
  t.fp8_backend = plan_enum<Fp8Backend>(c, "fp8_backend", where);
  t.grad_accum_mode = plan_enum<GradAccumMode>(c, "grad_accum_mode", where);
  t.offload = plan_enum<Offload>(c, "offload", where);
  t.optimizer_impl = plan_enum<OptimizerImpl>(c, "optimizer_impl", where);
  t.norm_impl = plan_enum<NormImpl>(c, "norm_impl", where);
  t.fsdp_wrap = plan_enum<FsdpWrap>(c, "fsdp_wrap", where);
  c.finish();
  validate_config(t, r.model);
  r.train_tokens = o.train_tokens;
  return r;
}

} // namespace

PlanDocument read_plan(Context& ctx, const PlanSource& o) {
  PlanDocument out;
  const std::string text = read_text_file(o.plan);
  const nlohmann::json doc = io::parse_json(text, o.plan);
  if (!doc.is_object()) {
    throw Error(fmt::format("{}: not a bwplan search or estimate JSON document", o.plan));
  }
  if (doc.contains("plans")) {
    const nlohmann::json& plans = doc.at("plans");
    if (!plans.is_array() || plans.empty()) {
      throw Error(fmt::format("{}: the search found no plan to emit", o.plan));
    }
    if (o.rank < 1 || o.rank > static_cast<std::int64_t>(plans.size())) {
      throw Error(fmt::format("--rank {} is out of range (the search has plans 1..{})", o.rank,
                              plans.size()));
    }
    const auto i = static_cast<std::size_t>(o.rank - 1);
    if (!plans[i].is_object() || !plans[i].contains("config")) {
      throw Error(fmt::format("{}: /plans/{} has no config object", o.plan, i));
    }
    out.plan = plans[i];
    EstimateRequest r =
        request_from(ctx, plans[i].at("config"), o.plan, fmt::format("/plans/{}/config", i), o);
    // the search's --train-tokens and --price-per-hour, unless given here
    const nlohmann::json* inputs = doc.contains("inputs") ? &doc["inputs"] : nullptr;
    const nlohmann::json* k =
        inputs != nullptr && inputs->is_object() && inputs->contains("constraints")
            ? &(*inputs)["constraints"]
            : nullptr;
    const auto number = [&](const char* key) -> const nlohmann::json* {
      return k != nullptr && k->is_object() && k->contains(key) && (*k)[key].is_number()
                 ? &(*k)[key]
                 : nullptr;
    };
    if (r.train_tokens == 0 && number("train_tokens") != nullptr) {
      r.train_tokens = std::clamp(number("train_tokens")->get<double>(), 0.0, 1e16);
    }
    if (number("price_per_hour") != nullptr) {
      r.price_per_hour = std::clamp(number("price_per_hour")->get<double>(), 0.0, 1e7);
    }
    out.request = r;
    return out;
  }
  if (!doc.contains("config")) {
    throw Error(fmt::format("{}: no \"plans\" or \"config\": give the JSON output of 'bwplan "
                            "search --format json' or 'bwplan estimate --format json'",
                            o.plan));
  }
  if (o.rank != 1) {
    throw Error("--rank goes with a search document; an estimate holds one plan");
  }
  out.plan = doc;
  out.request = request_from(ctx, doc.at("config"), o.plan, "/config", o);
  return out;
}

} // namespace bwplan::cli
