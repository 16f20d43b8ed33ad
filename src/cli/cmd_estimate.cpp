// `bwplan estimate`: evaluate one training configuration.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/render.hpp"
#include "config_flags.hpp"
#include "context.hpp"
#include "report_flags.hpp"
#include "safe_write.hpp"

namespace bwplan::cli {

namespace {

constexpr std::int64_t k_unset = std::numeric_limits<std::int64_t>::min(); // flag not given

/// Flags are named after the fields of a measurement case (docs/bwplan.md, FILES).
struct EstimateOptions {
  std::string model = "llama-3.1-8b";
  std::string gpu;
  std::int64_t gpus = k_unset;
  std::int64_t gpus_per_node = k_unset;
  std::string instance;
  std::int64_t nodes = k_unset;
  bool no_sync = false;
  bool cpu_offload = false;
  double headroom_pct = 0;
  double train_tokens = 0;
  double price_per_hour = -1;
  double global_batch_tokens = 0;
  ConstantsOptions constants;
  ConfigFlags config; ///< the training fields, from the registry
  OutputOptions output;
  std::string report; ///< --report: HTML report file
};

constexpr const char* k_default_instance = "ml.p6-b200.48xlarge";

EstimateRequest resolve(Context& ctx, const EstimateOptions& o) {
  const Catalog& cat = ctx.catalog();
  EstimateRequest r;
  ctx.note_model_input(o.model);
  r.model = resolve_model(cat, o.model);
  TrainingConfig& c = r.config;
  if (!o.gpu.empty()) {
    if (o.nodes != k_unset) {
      throw UsageError("--nodes goes with --instance; with --gpu give --gpus");
    }
    r.gpu = cat.gpu(o.gpu);
    c.gpus = o.gpus != k_unset ? o.gpus : 1;
    c.gpus_per_node =
        o.gpus_per_node != k_unset ? o.gpus_per_node : std::clamp<std::int64_t>(c.gpus, 1, 8);
    // in range before nodes are counted from them (validate_config checks the rest)
    check_config_range(c, &TrainingConfig::gpus);
    check_config_range(c, &TrainingConfig::gpus_per_node);
    if (c.gpus_per_node > c.gpus) {
      // --gpus-per-node counts the job's GPUs in a node (its NVLink domain and host share)
      throw Error(fmt::format("--gpus-per-node {} is more than --gpus {} (allowed 1..{}: the "
                              "job's GPUs in one node)",
                              c.gpus_per_node, c.gpus, c.gpus));
    }
    r.nodes = (c.gpus + c.gpus_per_node - 1) / c.gpus_per_node;
    if (r.nodes > k_max_nodes) { // as a plan's nodes are read back (plan_file.cpp)
      throw Error(fmt::format("--gpus {} over --gpus-per-node {} is {} nodes (allowed up to {})",
                              c.gpus, c.gpus_per_node, r.nodes, k_max_nodes));
    }
  } else {
    if (o.gpus != k_unset || o.gpus_per_node != k_unset) {
      throw UsageError("--gpus and --gpus-per-node go with --gpu; with --instance give --nodes");
    }
    const InstanceSpec& inst = cat.instance(o.instance.empty() ? k_default_instance : o.instance);
    r.instance = inst;
    r.gpu = cat.gpu_of(inst);
    r.nodes = o.nodes != k_unset ? o.nodes : 1;
    if (r.nodes < 1 || r.nodes > k_max_nodes) {
      throw Error(fmt::format("--nodes {} is out of range (allowed 1..{})", r.nodes, k_max_nodes));
    }
    c.gpus_per_node = inst.gpus_per_node;
    c.gpus = r.nodes * inst.gpus_per_node;
  }
  o.config.apply(c);
  // (a value out of its range is an error later, not first a warning: one line)
  const auto ac_every_range = config_field_range(&TrainingConfig::ac_every);
  if (o.config.given("ac_every") &&
      c.activation_checkpointing != ActivationCheckpointing::selective_layer &&
      c.ac_every >= ac_every_range.min && c.ac_every <= ac_every_range.max) {
    // plans carry ac_every whatever the mode, so re-running one passes it: said, not refused
    ctx.log->warn("--ac-every {} has no effect with --activation-checkpointing {}", c.ac_every,
                  name_of(c.activation_checkpointing));
  }
  // Flags that only mean something with another setting: said, not silently dropped.
  if (o.config.given("pp_schedule") && c.pp == 1) {
    ctx.log->warn("--pp-schedule {} has no effect without pipeline stages (--pp 1)",
                  name_of(c.pp_schedule));
  }
  if (o.config.given("fp8_backend") && !is_low_precision(c.precision)) {
    ctx.log->warn("--fp8-backend {} has no effect with --precision {}", name_of(c.fp8_backend),
                  name_of(c.precision));
  }
  c.grad_accum_mode = o.no_sync ? GradAccumMode::no_sync : GradAccumMode::reduce_scatter;
  c.offload = o.cpu_offload ? Offload::cpu : Offload::none;
  if (o.global_batch_tokens > 0) {
    c.grad_accum =
        grad_accum_for(o.global_batch_tokens, c.micro_batch, c.seq_len, data_parallel_degree(c));
    if (c.grad_accum > k_max_config_count) {
      throw Error(fmt::format(
          "--global-batch-tokens {} needs {} micro-steps of --micro-batch {} x --seq-len {} "
          "over {} data-parallel GPUs (allowed up to {} per step: a larger micro-batch or more "
          "GPUs)",
          o.global_batch_tokens, c.grad_accum, c.micro_batch, c.seq_len, data_parallel_degree(c),
          k_max_config_count));
    }
    // As far off as a search accepts by default: beyond it the step is not the one asked for.
    const double got = static_cast<double>(tokens_per_step(c));
    if (!global_batch_reached(got, o.global_batch_tokens)) {
      throw Error(fmt::format(
          "--global-batch-tokens {} cannot be reached: --micro-batch {} x --seq-len {} over {} "
          "data-parallel GPUs is {} tokens per micro-step, so the nearest step is {:.0f} tokens "
          "(allowed: within {:.0f} % of a whole number of micro-steps)",
          o.global_batch_tokens, c.micro_batch, c.seq_len, data_parallel_degree(c),
          static_cast<std::int64_t>(got) / c.grad_accum, got, 100 * k_global_batch_tolerance));
    }
    ctx.log->info("--global-batch-tokens {:.0f}: grad-accum {} ({} tokens per step)",
                  o.global_batch_tokens, c.grad_accum, tokens_per_step(c));
  }
  // The default every-other-block of a model with one block: named as the default, not as a
  // --ac-every the user never gave.
  if (c.activation_checkpointing == ActivationCheckpointing::selective_layer &&
      !o.config.given("ac_every") && c.ac_every > max_ac_every(r.model)) {
    throw Error(fmt::format("--activation-checkpointing selective-layer checkpoints every {} "
                            "blocks by default, and {} has {} (give --ac-every 1..{})",
                            c.ac_every, r.model.name, r.model.layers, max_ac_every(r.model)));
  }
  try {
    validate_config(c, r.model);
  } catch (const Error& e) {
    TrainingConfig one = c;
    one.grad_accum = 1;
    const bool accum_at_fault = o.global_batch_tokens > 0 && [&] {
      try {
        validate_config(one, r.model);
        return true;
      } catch (const Error&) {
        return false;
      }
    }();
    if (!accum_at_fault) {
      throw; // not the derived grad-accum's fault: the error as it is
    }
    // a grad-accum the user never gave is named with the flag it came from
    throw Error(fmt::format("--global-batch-tokens {:.0f} (grad-accum {}): {}",
                            o.global_batch_tokens, c.grad_accum, e.what()));
  }
  warn_inert_settings(ctx, c, r.model, Spelling::flags);
  r.train_tokens = o.train_tokens; // in range: the flags' transforms checked them
  if (o.price_per_hour >= 0) {
    r.price_per_hour = o.price_per_hour;
  }
  warn_beyond_max_seq_len(ctx, "--seq-len", c.seq_len, r.model);
  return r;
}

void run_estimate(Context& ctx, const EstimateOptions& o, const CLI::App& cmd) {
  ctx.begin();
  const bool json = wants_json(o.output);
  ModelConstants k = resolve_constants(ctx, o.constants);
  k.memory.headroom_fraction = headroom_fraction(o.headroom_pct);
  const EstimateRequest request = resolve(ctx, o);
  check_destinations(ctx, o.output, o.report);
  const Estimate e = evaluate(request, k.memory, k.time);
  std::string text = json ? std::string() : estimate_table(e);
  OrderedJson doc = json ? estimate_json(e) : OrderedJson();
  if (json) {
    add_calibration_ref(ctx, doc);
  }
  std::optional<FitAdvice> advice;
  if (e.infeasibility == RejectReason::out_of_memory) {
    const auto alternatives = instance_alternatives(ctx);
    advice = advise_fit(request, e, alternatives, k.memory, k.time);
    if (json) {
      doc["advice"] = advice_json(*advice);
    } else {
      text += advice_table(*advice);
    }
  }
  OutputSet files(ctx);
  if (!o.report.empty()) {
    files.add_file("--report", o.report, o.output.force,
                   estimate_report_html(e, advice ? &*advice : nullptr, report_context(ctx, cmd)));
  }
  write_output(ctx, o.output, json ? doc.dump(2) + "\n" : text, files);
  if (!e.feasible()) {
    ctx.status = exit_code::does_not_fit;
  }
}

} // namespace

void setup_estimate(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("estimate", "evaluate one training configuration: memory "
                                                 "per GPU, and whether it fits");
  auto o = std::make_shared<EstimateOptions>();
  const char* in = "Inputs";
  const char* tr = "Training";
  cmd->add_option("--model", o->model,
                  "model preset (see 'bwplan models'), or a path to a bwplan model file or a "
                  "Hugging Face config.json")
      ->check(not_empty())
      ->capture_default_str()
      ->group(in);
  auto* gpu = cmd->add_option("--gpu", o->gpu, "GPU type (see 'bwplan gpus')")
                  ->check(not_empty())
                  ->group(in);
  cmd->add_option("--gpus", o->gpus, "GPUs in the job, with --gpu [1]")
      ->transform(strict_integer())
      ->group(in);
  cmd->add_option("--gpus-per-node", o->gpus_per_node, "GPUs per node, with --gpu [min(8, gpus)]")
      ->transform(strict_integer())
      ->group(in);
  auto* inst = cmd->add_option("--instance", o->instance,
                               fmt::format("instance type (see 'bwplan instances') [{}]",
                                           k_default_instance))
                   ->check(not_empty())
                   ->group(in);
  cmd->add_option("--nodes", o->nodes, "instances in the job, with --instance [1]")
      ->transform(strict_integer())
      ->group(in);
  gpu->excludes(inst);
  o->config.add_to(*cmd, tr, ConfigFlags::Pick::all_but, k_estimate_fields_spelled_apart);
  cmd->add_flag("--no-sync", o->no_sync,
                "with --grad-accum: accumulate unsharded gradients with sync disabled instead of "
                "reduce-scattering every micro-batch")
      ->group(tr);
  cmd->add_flag("--cpu-offload", o->cpu_offload,
                "FSDP2 CPUOffloadPolicy: parameters, gradients and optimizer states in host memory")
      ->group(tr);
  cmd->add_option("--train-tokens", o->train_tokens,
                  "tokens to train (5e10, 50B, 4M, 32k): prints time to train and its cost [none]")
      ->transform(number_in(k_min_train_tokens, k_max_train_tokens, false, true))
      ->group(tr);
  cmd->add_option("--price-per-hour", o->price_per_hour,
                  "USD per instance-hour, overriding the catalog price")
      ->transform(number_in(k_min_price_per_hour, k_max_price_per_hour))
      ->group(tr);
  cmd->add_option("--global-batch-tokens", o->global_batch_tokens,
                  "tokens per optimizer step: derives --grad-accum from micro-batch x seq x GPUs")
      ->transform(number_in(0, 1e12, true, true))
      ->excludes(cmd->get_option("--grad-accum"))
      ->group(tr);
  cmd->add_option("--headroom", o->headroom_pct,
                  "percent of GPU memory to keep free for safety [0]")
      ->transform(number_in(0, 99.999))
      ->group(tr);
  add_constants_options(*cmd, o->constants);
  add_output_options(*cmd, o->output);
  add_report_option(*cmd, o->report);
  cmd->callback([&ctx, o, cmd] { run_estimate(ctx, *o, *cmd); });
}

} // namespace bwplan::cli
