// `bwplan emit sagemaker`: a plan JSON (from search or estimate) -> SageMaker launch files.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "bwplan/estimate.hpp"
#include "bwplan/sagemaker.hpp"
#include "cli/context.hpp"
#include "cli/launch_flags.hpp"
#include "cli/training_flags.hpp"
#include "io/json_reader.hpp"

namespace bwplan::cli {

namespace {

namespace fs = std::filesystem;

struct EmitOptions {
  std::string plan;
  std::string out;
  std::int64_t rank = 1;
  std::string model; ///< overrides the plan's model (a path or preset)
  bool force = false;
  LaunchOptions launch;
};

template <class E> E plan_enum(io::ObjectReader& c, const char* key, const std::string& file) {
  return parse_enum_or_throw<E>(c.string(key), fmt::format("{}: config.{}", file, key));
}

/// Rebuilds the plan's request from its "config" object (render_common's config_json).
EstimateRequest request_from(Context& ctx, const nlohmann::json& config, const std::string& where,
                             const std::string& pointer, const EmitOptions& o) {
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
  r.train_tokens = o.launch.train_tokens;
  return r;
}

EstimateRequest read_plan(Context& ctx, const EmitOptions& o) {
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
    return r;
  }
  if (!doc.contains("config")) {
    throw Error(fmt::format("{}: no \"plans\" or \"config\": give the JSON output of 'bwplan "
                            "search --format json' or 'bwplan estimate --format json'",
                            o.plan));
  }
  if (o.rank != 1) {
    throw Error("--rank goes with a search document; an estimate holds one plan");
  }
  return request_from(ctx, doc.at("config"), o.plan, "/config", o);
}

void run_emit(Context& ctx, const EmitOptions& o) {
  ctx.begin();
  if (o.out.empty()) {
    throw UsageError("--out DIR is required");
  }
  std::error_code ec;
  if (!o.force && (fs::exists(o.out, ec) || fs::is_symlink(o.out, ec))) {
    throw Error(fmt::format("--out {}: exists; pass --force to replace it", o.out));
  }
  const ModelConstants k = resolve_constants(ctx, {});
  const EstimateRequest request = read_plan(ctx, o);
  const Estimate plan = evaluate(request, k.memory, k.time);
  const std::vector<EmittedFile> files = emit_sagemaker(plan, o.launch);
  write_directory(o.out, o.force, files);
  ctx.log->info("wrote {} files to {}", files.size(), o.out);
  *ctx.out << fmt::format("wrote {}/ ({})\n", o.out, [&] {
    std::string names;
    for (const EmittedFile& f : files) {
      names += (names.empty() ? "" : ", ") + f.name;
    }
    return names;
  }());
}

} // namespace

void setup_emit(CLI::App& app, Context& ctx) {
  CLI::App* emit = app.add_subcommand("emit", "write launch files for a plan");
  emit->require_subcommand(1);
  CLI::App* cmd = emit->add_subcommand(
      "sagemaker", "write a SageMaker AI training job for a plan: create-training-job.json, "
                   "launch.py, torchtitan.toml, hyperparameters.json, README.md");
  auto o = std::make_shared<EmitOptions>();
  LaunchOptions& l = o->launch;
  cmd->add_option("--plan", o->plan,
                  "JSON output of 'bwplan search --format json' or 'bwplan estimate --format json'")
      ->required();
  cmd->add_option("--out", o->out, "directory to create with the launch files")->required();
  cmd->add_option("--rank", o->rank, "which plan of a search document [1]")
      ->check(strict_integer());
  cmd->add_option("--model", o->model,
                  "the model when the plan's model was a file (path or preset) [the plan's]");
  cmd->add_flag("--force", o->force, "replace --out if it exists");
  add_launch_options(*cmd, l, true, true);
  cmd->callback([&ctx, o] { run_emit(ctx, *o); });
}

} // namespace bwplan::cli
