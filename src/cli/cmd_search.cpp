// `bwplan search`: the axes from flags -> run_search -> ranked plans as a table or JSON.
#include <algorithm>
#include <chrono>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/pipeline.hpp"
#include "bwplan/render.hpp"
#include "bwplan/sagemaker.hpp"
#include "bwplan/search.hpp"
#include "bwplan/search_kernel.hpp"
#include "config_flags.hpp"
#include "context.hpp"
#include "launch_flags.hpp"
#include "report_flags.hpp"
#include "safe_write.hpp"

namespace bwplan::cli {

namespace {

/// The training-config fields search takes as one value each (estimate's flags); the others are
/// axes.
constexpr std::array<std::string_view, 24> k_fixed = {
    "optimizer",    "optimizer_impl", "compile",
    "loss",         "head_fp32",      "disable_loss_parallel",
    "fp8_backend",  "norm_impl",      "swiglu_impl",
    "fsdp_wrap",    "lora_rank",      "lora_alpha",
    "lora_targets", "lora_dropout",   "lora_dropout_position",
    "lora_dtype",   "nf4_quantizer",  "attention_kernel",
    "gqa_kv",       "trainer",        "moe_impl",
    "expert_fsdp",  "alloc_segments", "reduce_dtype"};

struct SearchOptions {
  std::string model = "llama-3.1-8b";
  std::vector<std::string> instances = {"ml.p6-b200.48xlarge"};
  std::string nodes = "1";
  bool plan_sizes = false; ///< --plan-sizes: only node counts training plans are sold in
  std::vector<std::string> shardings = {"full", "hybrid", "grad-op", "none"};
  std::vector<std::string> precisions;
  std::vector<std::string> checkpointing = {
      "none", "selective-op", "selective-layer:2", "selective-layer:3", "selective-layer:4",
      "full"};
  std::string seq_lens = "8192";
  std::string tps;                       ///< empty: the default axis (search_kernel.hpp, tp_axis)
  std::string cps;                       ///< empty: the default axis (cp_axis)
  std::string pps;                       ///< empty: the default axis (pp_axis)
  std::string eps;                       ///< empty: the default axis (ep_axis)
  std::vector<std::string> finetunes;    ///< empty: --finetune's default, full
  std::vector<std::string> pp_schedules; ///< empty: the default axis (pp_schedule_axis)
  bool explore_seq = false;
  std::int64_t max_micro_batch = 256;
  double headroom_pct = 0;
  double global_batch_tokens = 0;
  double global_batch_tolerance_pct = 100 * k_global_batch_tolerance;
  double train_tokens = 0;
  double price_per_hour = -1;
  std::int64_t min_seq_len = 0;
  double max_usd_per_hour = 0;
  bool include_at_risk = false;
  std::string objective = "throughput";
  std::int64_t top = 10;
  ConstantsOptions constants;
  ConfigFlags training; ///< the fields a search does not vary
  std::string emit_dir; ///< --emit-sagemaker: launch files for the top plan
  std::string report;   ///< --report: HTML report file
  bool timing = false;  ///< --timing: the search's wall-clock time in the output
  LaunchOptions launch;
  OutputOptions output;
};

/// `s` as an integer in lo..hi. `list_item`: the item of a list flag `s` is part of (a value or
/// one end of a range), named when `s` is no integer with what a list may hold.
std::int64_t parse_int(const std::string& s, const char* flag, std::int64_t lo, std::int64_t hi,
                       const std::string* list_item = nullptr) {
  std::int64_t v = 0;
  const NumberText read = read_number(s, v);
  if (read == NumberText::out_of_range) {
    throw Error(fmt::format("{} {} is out of range (allowed {}..{})", flag, s, lo, hi));
  }
  if (read == NumberText::malformed && list_item != nullptr) {
    throw UsageError(fmt::format("{} '{}' is not an integer or a range (allowed integers in "
                                 "{}..{}, ranges A..B and comma lists of them, e.g. 1..16 or "
                                 "1,2,4,8)",
                                 flag, *list_item, lo, hi));
  }
  if (read == NumberText::malformed) {
    throw UsageError(fmt::format("{} '{}' is not an integer", flag, s));
  }
  if (v < lo || v > hi) { // as typed: "-0" is named -0
    throw Error(fmt::format("{} {} is out of range (allowed {}..{})", flag, s, lo, hi));
  }
  return v;
}

/// "1,2,4" or "1..16" (inclusive) or a mix: "1..4,8,16".
std::vector<std::int64_t> parse_int_list(const std::string& text, const char* flag, std::int64_t lo,
                                         std::int64_t hi) {
  std::vector<std::int64_t> out;
  if (!text.empty() && text.back() == ',') { // getline would drop the empty last item
    throw UsageError(fmt::format("{} '{}': no value after the last comma", flag, text));
  }
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) {
      throw UsageError(fmt::format("{} '{}': an empty value between commas", flag, text));
    }
    const std::size_t dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(parse_int(item, flag, lo, hi, &item));
      continue;
    }
    if (dots == 0 || dots + 2 == item.size()) { // "1.." read as "--nodes '' is not an integer"
      throw UsageError(fmt::format(
          "{} '{}': a range needs both ends (allowed: A..B, each in {}..{})", flag, item, lo, hi));
    }
    const std::int64_t a = parse_int(item.substr(0, dots), flag, lo, hi, &item);
    const std::int64_t b = parse_int(item.substr(dots + 2), flag, lo, hi, &item);
    if (b < a || b - a > 4096) {
      throw Error(fmt::format("{} '{}': a range must go up, by at most 4096 values", flag, item));
    }
    for (std::int64_t v = a; v <= b; ++v) {
      out.push_back(v);
    }
  }
  if (out.empty()) {
    throw UsageError(fmt::format("{} '{}' names no value", flag, text));
  }
  std::sort(out.begin(), out.end());
  const auto twice = std::adjacent_find(out.begin(), out.end());
  if (twice != out.end()) {
    throw UsageError(fmt::format("{} '{}' names {} twice", flag, text, *twice));
  }
  return out;
}

CheckpointChoice parse_checkpoint(const std::string& s) {
  const std::size_t colon = s.find(':');
  CheckpointChoice c;
  c.mode = parse_flag<ActivationCheckpointing>(s.substr(0, colon), "--activation-checkpointing");
  if (colon != std::string::npos) {
    if (c.mode != ActivationCheckpointing::selective_layer) {
      throw UsageError(
          fmt::format("--activation-checkpointing '{}': only selective-layer takes :N", s));
    }
    c.every =
        parse_int(s.substr(colon + 1), "--activation-checkpointing selective-layer:N", 1, 4096);
  }
  return c;
}

template <class E, class T>
std::vector<E> parse_list(const std::vector<T>& values, const char* flag) {
  std::vector<E> out;
  for (const auto& v : values) {
    out.push_back(parse_flag<E>(v, flag));
  }
  return out;
}

/// The most axis combinations one search tries (at the limit about 20 s and 1.1 GB on one core,
/// for a model so small that every candidate fits and is kept: docs/bwplan.md, 2026-12-07).
constexpr double k_max_combinations = 1.5e6;
/// The most the product of the axes' sizes may reach before they are counted one by one (the
/// count walks them: 1e8 take about a second).
constexpr double k_max_combinations_product = 1e8;
/// The most plans one search lists. Each listed plan costs about 0.3 ms and 40 KB to render as
/// JSON (a 4.8 KB document each): 10,000 take 4 s and 0.5 GB on one core, where 100,000 took
/// 30 s and 3.9 GB (`--model llama-3.2-1b --seq-len 1..4 --nodes 1..8 --format json`, 2-core AMD
/// EPYC, 2026-12-07), beside the combinations' own bound below.
constexpr std::int64_t k_max_top = 10000;
/// Precisions a search tries when --precision is not given (at most: the GPU's supported ones).
constexpr std::size_t k_precision_count = static_cast<std::size_t>(Precision::count_);

/// Counts the combinations a search will visit, computing nothing for them. A pipeline-parallel
/// one counts pp x max(1, pp / 32) times: its stages are each estimated over its micro-batches, so
/// its cost grows about as pp^2 past 32 stages (per candidate, a 4096-block model took 7 us at pp
/// 8, 60 us at 32, 1 ms at 128 and 4.8 ms at 256; Llama 3.1 405B the same to pp 64).
struct CountCombinations : CombinationVisitor {
  std::int64_t n = 0;
  void combination(const Candidate& c, const GpuSpec&, const InstanceSpec&,
                   const Network&) override {
    const std::int64_t pp = std::max<std::int64_t>(1, c.config.pp);
    n += pp * std::max<std::int64_t>(1, pp / 32);
  }
  void unsupported(const Candidate&, const GpuSpec&, Precision) override {}
};

Error too_many_combinations(double n) {
  return Error(fmt::format(
      "the search would try {:.3g} combinations of instance type, nodes, sharding, precision, "
      "loss, checkpointing, sequence length and tensor/context/pipeline parallelism (a pipeline "
      "of pp stages counting pp x max(1, pp / 32)), more than the {:.0f} bwplan searches at once; "
      "narrow --nodes, "
      "--seq-len, --instance, --pp or the other axes (--loss fixes the loss, --tp 1 --cp 1 --pp 1 "
      "data parallelism)",
      n, k_max_combinations));
}

struct Resolved {
  ModelSpec model;
  SearchSpace space;
  SearchConstraints limits;
  Objective objective = Objective::throughput;
};

/// Pipeline (degree, schedule) pairs the search tries at most per (instance, nodes, tp, cp).
std::size_t pipeline_choices(const ModelFacts& facts, const SearchSpace& space) {
  const std::int64_t most_nodes =
      space.nodes.empty() ? 1 : *std::max_element(space.nodes.begin(), space.nodes.end());
  std::size_t degrees = 1;
  for (std::size_t i = 0; i < space.instances.size(); ++i) {
    degrees = std::max(degrees,
                       pp_axis(space, facts, most_nodes, space.instances[i], space.gpus[i]).size());
  }
  return degrees == 1 ? 1 : 1 + (degrees - 1) * pp_schedule_axis(space).size();
}

Resolved resolve(Context& ctx, const SearchOptions& o, const CLI::App& cmd) {
  const Catalog& cat = ctx.catalog();
  Resolved r;
  ctx.note_model_input(o.model);
  r.model = resolve_model(cat, o.model);
  const ModelFacts facts = model_facts(r.model); // the search axes and the combination count
  check_distinct(o.instances, "--instance");
  check_distinct(o.shardings, "--sharding");
  check_distinct(o.precisions, "--precision");
  check_distinct(o.checkpointing, "--activation-checkpointing");
  for (const std::string& name : o.instances) {
    const InstanceSpec& inst = cat.instance(name);
    r.space.instances.push_back(inst);
    r.space.gpus.push_back(cat.gpu_of(inst));
  }
  r.space.nodes = parse_int_list(o.nodes, "--nodes", 1, k_max_nodes);
  if (o.plan_sizes) {
    const std::vector<std::int64_t> sizes = training_plan_instance_counts();
    std::erase_if(r.space.nodes, [&](std::int64_t n) {
      return std::find(sizes.begin(), sizes.end(), n) == sizes.end();
    });
    if (r.space.nodes.empty()) {
      throw UsageError(fmt::format("--nodes {} has no count training plans are sold in ({}), "
                                   "which --plan-sizes keeps",
                                   o.nodes, fmt::join(sizes, ", ")));
    }
  }
  r.space.shardings = parse_list<Sharding>(o.shardings, "--sharding");
  r.space.precisions = parse_list<Precision>(o.precisions, "--precision");
  r.space.checkpointing.clear();
  for (const std::string& s : o.checkpointing) {
    const CheckpointChoice c = parse_checkpoint(s);
    // selective-layer:2 and selective-layer:02 are one mode: compared as read, not as written.
    for (const CheckpointChoice& seen : r.space.checkpointing) {
      if (seen.mode == c.mode &&
          (c.mode != ActivationCheckpointing::selective_layer || seen.every == c.every)) {
        throw UsageError(fmt::format("--activation-checkpointing '{}' names {} twice",
                                     fmt::join(o.checkpointing, ","), s));
      }
    }
    r.space.checkpointing.push_back(c);
  }
  if (o.explore_seq && cmd.count("--seq-len") > 0) {
    throw UsageError("--explore-seq tries every power of two from 2048 to the model's longest "
                     "sequence: it contradicts --seq-len");
  }
  // Given ones only: the default list's selective-layer:4 is skipped for a model of 3 blocks.
  if (cmd.count("--activation-checkpointing") > 0) {
    for (const CheckpointChoice& c : r.space.checkpointing) {
      if (c.mode == ActivationCheckpointing::selective_layer && c.every > max_ac_every(r.model)) {
        throw Error(fmt::format("--activation-checkpointing selective-layer:{}: {} is out of "
                                "range (allowed 1..{}, the model's layers)",
                                c.every, c.every, max_ac_every(r.model)));
      }
    }
  }
  if (o.explore_seq) {
    r.space.seq_lens.clear();
    for (std::int64_t s = 2048; s <= r.model.max_seq_len; s *= 2) {
      r.space.seq_lens.push_back(s);
    }
    if (r.space.seq_lens.empty()) {
      throw Error(fmt::format("--explore-seq tries powers of two from 2048 up to the model's "
                              "max_seq_len, and {}'s is {}: give --seq-len instead",
                              r.model.name, r.model.max_seq_len));
    }
  } else {
    r.space.seq_lens = parse_int_list(o.seq_lens, "--seq-len", 1,
                                      config_field_range(&TrainingConfig::seq_len).max);
  }
  if (cmd.count("--tp") > 0) { // given empty: refused by parse_int_list, not the default
    r.space.tps = parse_int_list(o.tps, "--tp", 1, config_field_range(&TrainingConfig::tp).max);
  }
  if (cmd.count("--cp") > 0) { // given empty: refused by parse_int_list, not the default
    r.space.cps = parse_int_list(o.cps, "--cp", 1, config_field_range(&TrainingConfig::cp).max);
  }
  if (cmd.count("--pp") > 0) { // given empty: refused by parse_int_list, not the default
    r.space.pps = parse_int_list(o.pps, "--pp", 1, config_field_range(&TrainingConfig::pp).max);
  }
  check_distinct(o.finetunes, "--finetune");
  r.space.finetunes = parse_list<Finetune>(o.finetunes, "--finetune");
  if (cmd.count("--ep") > 0) { // given empty: refused by parse_int_list, not the default
    r.space.eps = parse_int_list(o.eps, "--ep", 1, config_field_range(&TrainingConfig::ep).max);
  }
  for (const std::int64_t ep : r.space.eps) {
    if (std::string problem = expert_count_problem(ep, r.model); !problem.empty()) {
      throw Error(problem);
    }
  }
  r.space.pp_schedules = parse_list<PipelineSchedule>(o.pp_schedules, "--pp-schedule");
  // A degree the model cannot split, or no sequence length can take, would only make the search
  // find nothing: said up front, as estimate says it (node counts that a degree does not divide
  // are skipped per combination).
  for (const std::int64_t tp : r.space.tps) {
    if (const std::string problem = tensor_parallel_problem(tp, r.model); !problem.empty()) {
      throw Error(problem);
    }
  }
  if (r.model.is_moe()) { // a mixture plans with FSDP and ep only, as estimate says
    for (const auto& [degrees, flag] : {std::pair{&r.space.tps, &TrainingConfig::tp},
                                        std::pair{&r.space.pps, &TrainingConfig::pp}}) {
      for (const std::int64_t d : *degrees) {
        TrainingConfig c;
        c.*flag = d;
        if (const std::string problem = expert_parallel_problem(c, r.model); !problem.empty()) {
          throw Error(problem);
        }
      }
    }
  }
  // A degree that divides no job's GPUs (--nodes x the instance's GPUs per node) finds nothing.
  const auto no_job_divides = [&](std::int64_t degree) {
    for (const InstanceSpec& instance : r.space.instances) {
      for (const std::int64_t n : r.space.nodes) {
        if ((n * instance.gpus_per_node) % degree == 0) {
          return false;
        }
      }
    }
    return true;
  };
  for (const std::int64_t ep : r.space.eps) {
    if (no_job_divides(ep)) {
      throw Error(fmt::format("--ep {} divides the GPUs of none of the jobs searched (--nodes x "
                              "the instance's GPUs per node; the experts' ranks are the job's "
                              "data-parallel ones)",
                              ep));
    }
  }
  for (const std::int64_t cp : r.space.cps) {
    if (std::none_of(r.space.seq_lens.begin(), r.space.seq_lens.end(),
                     [&](std::int64_t s) { return cp_splits_sequence(s, cp); })) {
      throw Error(fmt::format("--cp {}: no --seq-len is a multiple of 2 x {} = {} (load-balanced "
                              "causal context parallelism cuts each sequence into 2 x cp chunks)",
                              cp, cp, 2 * cp));
    }
  }
  const std::vector<PipelineSchedule> schedules = pp_schedule_axis(r.space);
  for (const std::int64_t pp : r.space.pps) {
    if (std::none_of(schedules.begin(), schedules.end(), [&](PipelineSchedule sc) {
          return pipeline_cuts_model(pp, sc, r.model.layers);
        })) {
      throw Error(fmt::format("--pp {}: more stages than the model's {} layers + 2 with every "
                              "--pp-schedule tried (torchtitan counts the embedding and the head "
                              "as a layer each)",
                              pp, r.model.layers));
    }
    if (no_job_divides(pp)) {
      throw Error(fmt::format("--pp {} divides the GPUs of none of the jobs searched (--nodes x "
                              "the instance's GPUs per node)",
                              pp));
    }
  }
  if (o.max_micro_batch < 1 || o.max_micro_batch > 65536) {
    throw Error(
        fmt::format("--max-micro-batch {} is out of range (allowed 1..65536)", o.max_micro_batch));
  }
  r.space.max_micro_batch = o.max_micro_batch;
  TrainingConfig& b = r.space.base;
  o.training.apply(b);
  // Loss implementation and compile are an axis unless either flag fixes them (the trainer
  // decides which losses there are); launch files need a loss torchtitan has (no chunked
  // cross-entropy).
  if (cmd.count("--loss") == 0 && cmd.count("--compile") == 0) {
    for (const LossChoice& l : default_loss_choices(r.model.is_moe(), b.trainer)) {
      if (o.emit_dir.empty() || (l.loss != Loss::chunked && l.loss != Loss::chunked_head)) {
        r.space.losses.push_back(l);
      }
    }
  }
  // Said up front, not found out after minutes: the combinations of the axes (each then tries
  // its micro-batches) are bounded so that a search stays within seconds and a few GB. The
  // product of the axes' sizes bounds them first (it counts degrees that do not divide a job);
  // when it is within k_max_combinations_product they are counted exactly (resolve's end).
  const double combinations =
      static_cast<double>(r.space.instances.size()) * static_cast<double>(r.space.nodes.size()) *
      static_cast<double>(r.space.shardings.size()) *
      static_cast<double>(r.space.precisions.empty() ? k_precision_count
                                                     : r.space.precisions.size()) *
      static_cast<double>(r.space.checkpointing.size()) *
      static_cast<double>(r.space.seq_lens.size()) *
      static_cast<double>(std::max<std::size_t>(1, r.space.losses.size())) *
      static_cast<double>(std::max<std::size_t>(1, r.space.finetunes.size())) *
      static_cast<double>(r.space.tps.empty() ? 4 : r.space.tps.size()) *
      static_cast<double>(r.space.cps.empty() ? 4 : r.space.cps.size()) *
      static_cast<double>(pipeline_choices(facts, r.space));
  if (combinations > k_max_combinations_product) {
    throw too_many_combinations(combinations);
  }
  // A trainer that runs none of the searched losses and checkpointing modes: said, not searched
  // into "0 candidates".
  const std::vector<LossChoice> losses = loss_axis(r.space);
  const bool runs_one = std::any_of(losses.begin(), losses.end(), [&](const LossChoice& l) {
    return std::any_of(r.space.checkpointing.begin(), r.space.checkpointing.end(),
                       [&](const CheckpointChoice& ac) {
                         return trainer_runs(b.trainer, ac.mode, l.compile, l.loss);
                       });
  });
  if (!runs_one) {
    throw Error(trainer_runs_problem(b.trainer, r.space.checkpointing.front().mode,
                                     losses.front().compile, losses.front().loss));
  }
  validate_field_ranges(b, k_fixed); // estimate's ranges (validate_config checks the axes' values)
  if (const std::string why = trainer_layers_problem(b); !why.empty()) {
    throw Error(why); // the trainer and the layers named are all fixed fields
  }
  // As estimate warns: a flag no searched plan can use (a mixture plans at tp 1 only).
  const bool some_tp =
      !r.model.is_moe() && std::any_of(r.space.instances.begin(), r.space.instances.end(),
                                       [&](const InstanceSpec& inst) {
                                         const auto tps = tp_axis(r.space, inst.gpus_per_node);
                                         return std::any_of(tps.begin(), tps.end(),
                                                            [](std::int64_t t) { return t > 1; });
                                       });
  if (b.disable_loss_parallel && !some_tp) {
    ctx.log->warn(loss_parallel_unused(Spelling::flags));
  }
  if (!(o.global_batch_tokens >= 0 && o.global_batch_tokens <= 1e12) ||
      !(o.train_tokens >= 0 && o.train_tokens <= k_max_train_tokens) ||
      !(o.global_batch_tolerance_pct >= 0 && o.global_batch_tolerance_pct <= 100)) {
    throw Error(fmt::format("--global-batch-tokens (0..1e12), --global-batch-tolerance (0..100) "
                            "and --train-tokens (0..{:.0e}) must be in range",
                            k_max_train_tokens));
  }
  r.limits.global_batch_tokens = o.global_batch_tokens;
  if (cmd.count("--global-batch-tolerance") > 0 && o.global_batch_tokens <= 0) {
    throw UsageError("--global-batch-tolerance is the tolerance of a --global-batch-tokens "
                     "target: it needs --global-batch-tokens N");
  }
  r.limits.global_batch_tolerance = o.global_batch_tolerance_pct / 100.0;
  r.limits.train_tokens = o.train_tokens;
  if (o.price_per_hour >= 0) {
    r.limits.price_per_hour = o.price_per_hour;
  }
  if (const FieldRange seq = config_field_range(&TrainingConfig::seq_len);
      o.min_seq_len < 0 || o.min_seq_len > seq.max) {
    throw Error(
        fmt::format("--min-seq-len {} is out of range (allowed 0..{})", o.min_seq_len, seq.max));
  }
  if ((cmd.count("--seq-len") > 0 || o.explore_seq) &&
      std::all_of(r.space.seq_lens.begin(), r.space.seq_lens.end(),
                  [&](std::int64_t v) { return v < o.min_seq_len; })) {
    throw UsageError(fmt::format("--min-seq-len {} is longer than every {}: they contradict "
                                 "(leave one out)",
                                 o.min_seq_len,
                                 o.explore_seq ? fmt::format("length --explore-seq tries (2048 "
                                                             "to {})",
                                                             r.space.seq_lens.back())
                                               : std::string("--seq-len given")));
  }
  r.limits.min_seq_len = o.min_seq_len;
  if (!(o.max_usd_per_hour >= 0 && o.max_usd_per_hour <= 1e9)) {
    throw Error(
        fmt::format("--max-usd-per-hour {} is out of range (allowed 0..1e9)", o.max_usd_per_hour));
  }
  r.limits.max_usd_per_hour = o.max_usd_per_hour;
  r.limits.include_at_risk = o.include_at_risk;
  r.objective = parse_flag<Objective>(o.objective, "--objective");
  if (r.objective == Objective::time && o.train_tokens <= 0) {
    throw UsageError("--objective time ranks by the time to train --train-tokens: give "
                     "--train-tokens");
  }
  if (o.top < 1 || o.top > k_max_top) {
    throw Error(fmt::format("--top {} is out of range (allowed 1..{})", o.top, k_max_top));
  }
  for (Precision p : r.space.precisions) {
    if (p == Precision::nvfp4) {
      ctx.log->warn("nvfp4 training is experimental: check convergence before a long run");
    }
  }
  CountCombinations count;
  for_each_combination(r.model, facts, r.space, r.limits, count);
  if (static_cast<double>(count.n) > k_max_combinations) {
    throw too_many_combinations(static_cast<double>(count.n));
  }
  return r;
}

/// A candidate as `estimate` would take it, to re-evaluate exactly.
EstimateRequest request_for(const Resolved& r, const Candidate& c) {
  return estimate_request(r.model, r.space, r.limits, c.instance, c.nodes, c.config);
}

/// The report's rejected points: the nearest miss of each reason, evaluated for its time and
/// cost (a precision the GPU lacks has neither).
std::vector<RejectedPoint> rejected_points(const Resolved& r, const SearchResult& result,
                                           const ModelConstants& k) {
  std::vector<RejectedPoint> out;
  for (std::size_t i = 0; i < result.best_rejected.size(); ++i) {
    const RejectedBest& b = result.best_rejected[i];
    if (b.present && static_cast<RejectReason>(i) != RejectReason::precision_unsupported) {
      out.push_back({static_cast<RejectReason>(i), b.detail,
                     evaluate(request_for(r, b.candidate), k.memory, k.time)});
    }
  }
  return out;
}

/// The listed plans the pinned trainer cannot run as listed, from the first down to the first it
/// can, as listed or in a recipe the plan stands for (launchable_recipe).
struct LaunchCheck {
  std::vector<std::pair<std::size_t, std::string>> refused; ///< rank (1-based), why
  std::optional<std::size_t> first_launchable;              ///< rank; none: no plan listed
  std::optional<Precision> recipe; ///< that plan's launchable recipe when not its listed one
  [[nodiscard]] bool as_listed() const { return refused.empty() && !recipe; }
};

LaunchCheck check_launch(const Resolved& r, const SearchResult& result, const ModelConstants& k) {
  LaunchCheck out;
  for (std::size_t i = 0; i < result.plans.size(); ++i) {
    const Candidate& c = result.plans[i];
    const Estimate plan = evaluate(request_for(r, c), k.memory, k.time);
    std::optional<std::string> why = launch_refusal(plan);
    if (!why) {
      out.first_launchable = i + 1;
      break;
    }
    if (const std::optional<Precision> p = launchable_recipe(plan, c.alike_precisions, k)) {
      out.refused.emplace_back(i + 1, std::move(*why));
      out.first_launchable = i + 1;
      out.recipe = *p;
      break;
    }
    // None of its recipes launches: say what stops them too.
    out.refused.emplace_back(i + 1,
                             reason_past_recipes(plan, std::move(*why), c.alike_precisions, k));
  }
  return out;
}

OrderedJson launch_json(const LaunchCheck& l) {
  OrderedJson refused = OrderedJson::array();
  for (const auto& [rank, why] : l.refused) {
    refused.push_back(OrderedJson{{"rank", rank}, {"reason", why}});
  }
  return OrderedJson{
      {"refused", refused},
      {"first_launchable_rank",
       l.first_launchable ? OrderedJson(*l.first_launchable) : OrderedJson(nullptr)},
      {"first_launchable_precision",
       l.recipe ? OrderedJson(std::string(name_of(*l.recipe))) : OrderedJson(nullptr)}};
}

std::string launch_text(const LaunchCheck& l) {
  std::string out = "\n";
  for (std::size_t i = 0; i < l.refused.size(); ++i) { // one line per reason, with its plans
    std::vector<std::size_t> ranks;
    for (std::size_t j = 0; j < l.refused.size(); ++j) {
      if (l.refused[j].second == l.refused[i].second) {
        if (j < i) {
          break;
        }
        ranks.push_back(l.refused[j].first);
      }
    }
    if (!ranks.empty()) {
      out += fmt::format("launch: plan{} {}: {}\n", ranks.size() > 1 ? "s" : "",
                         fmt::join(ranks, ", "), l.refused[i].second);
    }
  }
  if (l.first_launchable && l.recipe) {
    out += fmt::format("launch: plan {} launches as {}, a recipe it stands for (bwplan emit "
                       "sagemaker --rank {} --precision {})\n",
                       *l.first_launchable, name_of(*l.recipe), *l.first_launchable,
                       name_of(*l.recipe));
  } else {
    out += l.first_launchable
               ? fmt::format("launch: plan {} is the best-ranked plan that launches (bwplan emit "
                             "sagemaker --rank {})\n",
                             *l.first_launchable, *l.first_launchable)
               : std::string("launch: no plan listed launches\n");
  }
  return out;
}

/// Feasible candidates a report draws beyond the ranked plans (the Pareto front always): the
/// report thins its scatters to 3000 points anyway (render_html.cpp).
constexpr std::size_t k_report_sample = 4000;

void run_search_command(Context& ctx, const SearchOptions& o, const CLI::App& cmd) {
  ctx.begin();
  const bool json = wants_json(o.output);
  const Resolved r = resolve(ctx, o, cmd);
  ModelConstants k = resolve_constants(ctx, o.constants);
  k.memory.headroom_fraction = headroom_fraction(o.headroom_pct);
  check_destinations(ctx, o.output, o.report);
  if (!o.emit_dir.empty()) {
    check_target("--emit-sagemaker", o.emit_dir, o.output.force, true);
    for (const auto& [flag, path] :
         {std::pair{"--output", &o.output.output}, std::pair{"--report", &o.report}}) {
      if (!path->empty()) {
        check_outside(flag, *path, "--emit-sagemaker", o.emit_dir);
      }
    }
  } else {
    for (const CLI::Option* opt : cmd.get_options()) {
      if (opt->get_group() == "Launch files" && opt->count() > 0 &&
          opt->get_name() != "--emit-sagemaker") {
        throw UsageError(
            fmt::format("{} is for launch files: it needs --emit-sagemaker DIR", opt->get_name()));
      }
    }
  }
  const auto top = static_cast<std::size_t>(o.top);
  const auto start = std::chrono::steady_clock::now();
  // A report plots the feasible candidates: every one up to a sample of them (the front always),
  // so its memory stays bounded; the outputs list the top.
  SearchResult result = run_search(r.model, r.space, r.limits, r.objective, top, k.memory, k.time,
                                   o.report.empty() ? 0 : k_report_sample);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.candidates_evaluated == 0 && !result.first_ruled_out.empty()) {
    // Every combination of the axes was left out before a micro-batch was tried: say why, as
    // estimate says it of one configuration, rather than print an empty table.
    throw Error(fmt::format("no combination of the axes searched can be planned: {} (the first "
                            "left out; change the flags that rule them all out)",
                            result.first_ruled_out));
  }
  std::optional<SearchResult> full; // for the report: every feasible candidate
  if (!o.report.empty()) {
    full = result;
    if (result.plans.size() > top) {
      result.plans.resize(top);
    }
  }
  ctx.log->info("search: {} candidates in {:.2f} ms", result.candidates_evaluated, 1e3 * elapsed);
  SearchReport report{r.model, r.space, r.limits, r.objective, result, std::nullopt, {}};
  if (o.timing) {
    report.elapsed_seconds = elapsed;
  }
  for (const InputRow& row : input_rows(cmd)) {
    report.origins.emplace_back(row.flag, row.origin);
  }
  OutputSet files(ctx);    // --emit-sagemaker, --report and --output: all or nothing
  std::string launch_note; // what --emit-sagemaker wrote, told after the plans
  const LaunchCheck launch_check = check_launch(r, result, k);
  if (!o.emit_dir.empty()) {
    if (result.plans.empty()) {
      throw Error(fmt::format("--emit-sagemaker {}: no plan fits, nothing to launch", o.emit_dir));
    }
    if (o.launch.role_arn.empty() || o.launch.s3_output.empty() || o.launch.s3_train.empty() ||
        o.launch.s3_tokenizer.empty()) {
      throw UsageError(
          "--emit-sagemaker needs --role-arn, --s3-output, --s3-train and --s3-tokenizer");
    }
    if (launch_check.first_launchable != 1) {
      // Plan 1 is what --emit-sagemaker writes: say why it cannot, and which plan can.
      const std::string next =
          launch_check.first_launchable
              ? fmt::format("plan {} is the best-ranked plan that launches: save the search with "
                            "--format json and give it to bwplan emit sagemaker --rank {}{}, or "
                            "narrow the search to what launches",
                            *launch_check.first_launchable, *launch_check.first_launchable,
                            launch_check.recipe
                                ? fmt::format(" --precision {}", name_of(*launch_check.recipe))
                                : std::string())
              : std::string("no plan listed launches; narrow the search to what launches");
      throw Error(fmt::format("--emit-sagemaker {}: plan 1: {}; {}", o.emit_dir,
                              launch_check.refused.front().second, next));
    }
    // The top plan, re-evaluated exactly as `estimate` would, then written before any output.
    LaunchOptions launch = o.launch;
    if (launch.train_tokens == 0) {
      launch.train_tokens = r.limits.train_tokens;
    }
    // A plan that stands for several recipes launches in the first the trainer runs (its own
    // when it can); the note says which. Plan 1 launches here (refused above otherwise).
    const Estimate plan = evaluate(request_for(r, result.plans.front()), k.memory, k.time);
    const std::optional<Precision> recipe = launch_check.recipe;
    const EmittedLaunch emitted =
        emit_sagemaker(recipe ? with_recipe(plan, *recipe, k) : plan, launch);
    files.add_directory("--emit-sagemaker", o.emit_dir, o.output.force, emitted.files);
    launch_note = launch_summary(o.emit_dir, emitted);
    if (recipe) {
      launch_note = fmt::format("plan 1 is written as {}, a recipe it stands for: {}\n",
                                name_of(*recipe), launch_check.refused.front().second) +
                    launch_note;
    }
  }
  // Nothing fits: what single change makes the nearest miss fit?
  std::optional<FitAdvice> advice;
  const RejectedBest& miss =
      result.best_rejected[static_cast<std::size_t>(RejectReason::out_of_memory)];
  // Only when memory is all that kept every plan out: a memory fix of a plan a budget or a batch
  // target also rules out makes nothing fit (it advised a dearer instance under a budget).
  const auto rejected_for = [&](RejectReason why) {
    return result.rejections[static_cast<std::size_t>(why)] > 0;
  };
  const bool memory_alone = !rejected_for(RejectReason::over_budget) &&
                            !rejected_for(RejectReason::global_batch_unreachable) &&
                            !rejected_for(RejectReason::host_memory_exceeded);
  if (result.plans.empty() && miss.present && memory_alone) {
    const EstimateRequest q = request_for(r, miss.candidate);
    advice =
        advise_fit(q, evaluate(q, k.memory, k.time), instance_alternatives(ctx), k.memory, k.time);
  }
  if (!o.report.empty()) {
    const SearchReport whole{
        r.model, r.space, r.limits, r.objective, *full, report.elapsed_seconds, report.origins};
    ReportContext rc = report_context(ctx, cmd);
    rc.top = top;
    rc.rejected = rejected_points(r, result, k);
    rc.advice = advice;
    if (!launch_check.as_listed()) {
      rc.launch_note = launch_text(launch_check);
    }
    files.add_file("--report", o.report, o.output.force, search_report_html(whole, rc));
  }
  std::string text = json ? std::string() : search_table(report);
  OrderedJson doc = json ? search_json(report) : OrderedJson();
  if (json) {
    add_calibration_ref(ctx, doc);
  }
  if (!launch_check.as_listed()) {
    if (json) {
      doc["launch"] = launch_json(launch_check);
    } else {
      text += launch_text(launch_check);
    }
  }
  if (advice) {
    if (json) {
      doc["advice"] = advice_json(*advice);
    } else {
      text += "\nFor the nearest miss:" +
              advice_table(*advice, "more nodes or another instance type may: widen --nodes or "
                                    "--instance");
    }
  }
  // The launch note follows a table on stdout; with the document in a file it is stdout's
  // alone; a JSON document on stdout stays parseable, so the note goes to stderr then. Either
  // way it is written before the outputs are kept (its failure takes them back).
  const bool note_on_stderr = json && o.output.output.empty();
  write_output(ctx, o.output, json ? doc.dump(2) + "\n" : text, files, launch_note, note_on_stderr);
  if (result.plans.empty()) {
    ctx.status = exit_code::does_not_fit;
  }
}

} // namespace

void setup_search(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "search", "search batch size, sequence length, precision, checkpointing, sharding and nodes; "
                "print ranked plans");
  auto o = std::make_shared<SearchOptions>();
  const char* ax = "Axes";
  const char* tr = "Training";
  const char* lim = "Constraints and ranking";
  cmd->add_option("--model", o->model, "model preset, bwplan model file or HF config.json")
      ->check(not_empty())
      ->capture_default_str()
      ->group(ax);
  cmd->add_option("--instance", o->instances, "instance types to compare (repeat or comma-list)")
      ->delimiter(',')
      ->capture_default_str()
      ->group(ax);
  cmd->add_option("--nodes", o->nodes, "node counts: a list and/or ranges, e.g. 1..16 or 1,2,4,8")
      ->capture_default_str()
      ->group(ax);
  cmd->add_flag("--plan-sizes", o->plan_sizes,
                "keep only the node counts SageMaker Flexible Training Plans are sold in (1, 2, "
                "4, 8, 16, 32, 64)")
      ->group(ax);
  cmd->add_option("--sharding", o->shardings, "sharding modes to try")
      ->delimiter(',')
      ->capture_default_str()
      ->group(ax);
  cmd->add_option("--precision", o->precisions,
                  "precisions to try [the GPU's formats but fp32, bf16-pure and nvfp4]")
      ->delimiter(',')
      ->group(ax);
  cmd->add_option("--activation-checkpointing", o->checkpointing,
                  "modes to try; selective-layer:N checkpoints every N-th block")
      ->delimiter(',')
      ->capture_default_str()
      ->group(ax);
  cmd->add_option("--seq-len", o->seq_lens, "sequence lengths: a list and/or ranges")
      ->capture_default_str()
      ->group(ax);
  cmd->add_option("--tp", o->tps,
                  "tensor-parallel degrees: a list and/or ranges [1,2,4,8 up to a node's GPUs, "
                  "those the model's heads divide]")
      ->group(ax);
  cmd->add_option("--cp", o->cps,
                  "context-parallel degrees: a list and/or ranges [1; 2,4,8 up to a node's GPUs "
                  "for sequences of 32768 tokens and more]")
      ->group(ax);
  cmd->add_option("--pp", o->pps,
                  "pipeline-parallel degrees: a list and/or ranges [1; 2,4,8 up to the node count "
                  "when the model's training states exceed a node's GPU memory]")
      ->group(ax);
  cmd->add_option("--ep", o->eps,
                  "expert-parallel degrees (mixtures of experts): a list and/or ranges [1; for a "
                  "mixture 2,4,8... up to the experts and the job's GPUs, those the experts "
                  "divide]")
      ->group(ax);
  cmd->add_option("--finetune", o->finetunes,
                  "what is trained: full, lora, qlora (a list: each tried) [full]")
      ->delimiter(',')
      ->group(ax);
  cmd->add_option("--pp-schedule", o->pp_schedules,
                  "pipeline schedules tried with pp > 1: 1f1b, interleaved-1f1b, gpipe, zbv, "
                  "interleaved-zb (the zero-bubble two without compile) [1f1b, interleaved-1f1b]")
      ->delimiter(',')
      ->group(ax);
  cmd->add_flag("--explore-seq", o->explore_seq,
                "try powers of two from 2048 to the model's max_seq_len instead of --seq-len")
      ->group(ax);
  cmd->add_option("--max-micro-batch", o->max_micro_batch, "largest micro-batch to consider")
      ->transform(strict_integer())
      ->capture_default_str()
      ->group(ax);
  o->training.add_to(*cmd, tr, ConfigFlags::Pick::only, k_fixed);
  // Unlike estimate's, search's loss and compile have no single default: without either flag
  // they are an axis (run_search_command), so --help must not print estimate's.
  const std::string both =
      " [with neither --loss nor --compile, each is tried: unfused eager and compiled, fused, "
      "chunked and chunked-head compiled (a mixture's chunked-head also eager); --emit-sagemaker "
      "leaves out both chunked losses]";
  cmd->get_option("--loss")->default_str("")->description(
      cmd->get_option("--loss")->get_description() + both);
  cmd->get_option("--compile")->description(cmd->get_option("--compile")->get_description() + both);
  cmd->add_option("--headroom", o->headroom_pct, "percent of GPU memory to keep free [0]")
      ->transform(number_in(0, 99.999))
      ->group(lim);
  cmd->add_option("--global-batch-tokens", o->global_batch_tokens,
                  "target tokens per optimizer step: grad-accum is derived [none]")
      ->transform(number_in(0, 1e12, true, true))
      ->group(lim);
  cmd->add_option("--global-batch-tolerance", o->global_batch_tolerance_pct,
                  "accepted miss of the global-batch target, percent")
      ->capture_default_str()
      ->transform(number_in(0, 100))
      ->group(lim);
  cmd->add_option("--train-tokens", o->train_tokens,
                  "tokens to train (5e10, 50B, 4M, 32k): time and cost to train [none]")
      ->transform(number_in(k_min_train_tokens, k_max_train_tokens, false, true))
      ->group(lim);
  cmd->add_option("--price-per-hour", o->price_per_hour,
                  "USD per instance-hour, overriding the catalog price")
      ->transform(number_in(k_min_price_per_hour, k_max_price_per_hour))
      ->group(lim);
  cmd->add_option("--min-seq-len", o->min_seq_len, "do not try shorter sequences [none]")
      ->transform(strict_integer())
      ->group(lim);
  cmd->add_option("--max-usd-per-hour", o->max_usd_per_hour,
                  "budget for the whole job, USD per hour [none]")
      ->transform(number_in(0, 1e9, true))
      ->group(lim);
  cmd->add_flag("--include-at-risk", o->include_at_risk,
                "also keep plans whose estimate fits but whose band's upper edge does not "
                "(marked 'at risk')")
      ->group(lim);
  cmd->add_option("--objective", o->objective,
                  "throughput (tokens/s), cost ($ per million tokens) or time (to train)")
      ->capture_default_str()
      ->group(lim);
  cmd->add_option("--top", o->top, "plans to list")
      ->transform(strict_integer())
      ->capture_default_str()
      ->group(lim);
  cmd->add_option("--emit-sagemaker", o->emit_dir,
                  "also write the top plan's SageMaker launch files into this directory (see "
                  "'bwplan emit sagemaker'; --force replaces it)")
      ->check(not_empty(ValueKind::path))
      ->group("Launch files");
  add_launch_options(*cmd, o->launch, false, false);
  add_constants_options(*cmd, o->constants);
  add_output_options(*cmd, o->output);
  add_report_option(*cmd, o->report);
  cmd->add_flag("--timing", o->timing,
                "show the search's wall-clock time (table header, JSON search.elapsed_seconds); "
                "off by default so the same input gives byte-identical output")
      ->group("Output");
  cmd->callback([&ctx, o, cmd] { run_search_command(ctx, *o, *cmd); });
}

} // namespace bwplan::cli
