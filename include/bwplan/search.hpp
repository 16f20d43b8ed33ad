/// \file
/// `bwplan search`: enumerate configurations along named axes, prune with monotonicity, evaluate
/// with the memory and time models, and rank. Pure: the caller measures elapsed time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bwplan/estimate.hpp"
#include "bwplan/hardware.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/model_spec.hpp"
#include "bwplan/time_model.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan {

/// One activation-checkpointing choice (selective-layer carries its N).
struct CheckpointChoice {
  ActivationCheckpointing mode = ActivationCheckpointing::full;
  std::int64_t every = 2;
};

/// One loss implementation with torch.compile on or off (a fused loss is a compiled one).
struct LossChoice {
  Loss loss = Loss::unfused;
  bool compile = false;
  auto operator<=>(const LossChoice&) const = default;
};
/// The search's default loss axis: every valid (loss, compile) pair but torchtune's chunked
/// loss, which chunked-head beats in memory and time in every case, and eager chunked-head, which
/// its compiled twin beats but for a `mixture` under full checkpointing (see the .cpp). Megatron's
/// are its two eager cross-entropies, unfused and fused.
[[nodiscard]] std::vector<LossChoice> default_loss_choices(bool mixture, Trainer trainer);

/// Sequences from this length on get context parallelism by default (docs/bwplan.md, search).
inline constexpr std::int64_t k_default_cp_min_seq_len = 32768;
/// Without a global batch target a pipeline runs this many micro-batches per pipeline rank (4 x pp:
/// 1F1B's bubble (pp - 1) / (4 pp + pp - 1) stays under 20 %).
inline constexpr std::int64_t k_default_pipeline_micro_batches_per_rank = 4;
/// Model-parallel degrees the defaults try: powers of two up to a node's GPUs (one NVLink
/// domain).
inline constexpr std::int64_t k_default_max_model_parallel = 8;

/// The axes. Empty lists mean "the default" (documented in docs/bwplan.md, search).
struct SearchSpace {
  std::vector<InstanceSpec> instances; ///< with their GPUs in `gpus`, same order
  std::vector<GpuSpec> gpus;
  std::vector<std::int64_t> nodes = {1};
  /// hybrid is tried only on 2+ nodes (on one node it is full sharding).
  std::vector<Sharding> shardings = {Sharding::full, Sharding::hybrid, Sharding::grad_op,
                                     Sharding::none};
  std::vector<Precision> precisions; ///< empty: every format the GPU supports but nvfp4
  std::vector<CheckpointChoice> checkpointing = {{ActivationCheckpointing::none, 2},
                                                 {ActivationCheckpointing::selective_op, 2},
                                                 {ActivationCheckpointing::selective_layer, 2},
                                                 {ActivationCheckpointing::selective_layer, 3},
                                                 {ActivationCheckpointing::selective_layer, 4},
                                                 {ActivationCheckpointing::full, 2}};
  std::vector<std::int64_t> seq_lens = {8192};
  /// Tensor- and context-parallel degrees; empty: the defaults of tp_axis() and cp_axis().
  std::vector<std::int64_t> tps;
  std::vector<std::int64_t> cps;
  /// Pipeline-parallel degrees and schedules; empty: the defaults of pp_axis() and
  /// pp_schedule_axis().
  std::vector<std::int64_t> pps;
  std::vector<PipelineSchedule> pp_schedules;
  /// Expert-parallel degrees; empty: the defaults of ep_axis().
  std::vector<std::int64_t> eps;
  /// Fine-tuning modes; empty: base's only. LoRA ones take base's rank, alpha and targets.
  std::vector<Finetune> finetunes;
  /// Loss implementation and compile; empty: base's only.
  std::vector<LossChoice> losses;
  std::int64_t max_micro_batch = 256;
  TrainingConfig base; ///< optimizer, compile, loss and the implementation choices
};

struct SearchConstraints {
  double global_batch_tokens = 0;                           ///< 0: none (grad-accum 1)
  double global_batch_tolerance = k_global_batch_tolerance; ///< accepted relative miss
  double train_tokens = 0;                                  ///< for the time and cost objectives
  std::optional<double> price_per_hour;                     ///< overrides every instance's price
  std::int64_t min_seq_len = 0; ///< sequence lengths below are not tried
  double max_usd_per_hour = 0;  ///< 0: no budget; above it a plan is over_budget
  /// Keep plans whose estimate fits but whose band's upper edge does not (Verdict::at_risk);
  /// otherwise they are rejected as RejectReason::at_risk.
  bool include_at_risk = false;
};

enum class Objective : std::uint8_t { throughput, cost, time, count_ };
template <> struct EnumTraits<Objective> {
  static constexpr std::string_view what = "objective";
  static constexpr std::array<std::string_view, 3> names = {"throughput", "cost", "time"};
};

/// One evaluated configuration.
struct Candidate {
  std::size_t instance = 0; ///< index into SearchSpace::instances
  std::int64_t nodes = 1;
  TrainingConfig config;
  MemoryEstimate memory;
  StepTime time;
  Cost cost;
  bool pareto = false; ///< on the throughput / cost / headroom front
  /// Low-precision recipes this plan stands for in the top list: the same plan with them is
  /// predicted within the rank margin, a difference the model does not resolve.
  std::vector<Precision> alike_precisions;
  std::string id;                        ///< key(), cached once the candidate is feasible
  [[nodiscard]] std::string key() const; ///< total-order tie-break and plan id
};

struct RejectedBest {
  bool present = false;
  double closeness = 0; ///< needed / available: the smallest is the nearest miss
  Candidate candidate;
  std::string detail; ///< "micro-batch 8 would need 193.2 GiB of 179.1 GiB"
};

/// The plan the prediction alone would rank first, when a plan in bf16 (or fp32) ranks first
/// instead because the low-precision gain is within TimeConstants::low_precision_rank_margin.
struct PassedOver {
  bool present = false;
  Candidate candidate;
  double gain = 0; ///< its predicted objective gain over the first plan, as a fraction
};

struct SearchResult {
  std::vector<Candidate> plans; ///< ranked, at most top_k
  std::int64_t feasible = 0;
  /// Every candidate the axes make: candidates_computed + candidates_pruned (the JSON's
  /// "candidates_evaluated"; docs/architecture.md, "Search speed", defines the parts).
  std::int64_t candidates_evaluated = 0;
  /// (combination, micro-batch) pairs whose memory, and step time when it fits, were computed
  /// and checked against the constraints (the benchmark's candidate evaluations).
  std::int64_t candidates_computed = 0;
  /// Counted as rejected without being evaluated: micro-batches above the largest that fits
  /// (memory grows with the micro-batch) and, without include_at_risk, above the largest whose
  /// band fits; precisions the GPU lacks.
  std::int64_t candidates_pruned = 0;
  /// Memory-only evaluations that find the largest micro-batch that fits and the nearest miss.
  std::int64_t memory_probes = 0;
  std::array<std::int64_t, k_reject_reasons> rejections{};
  std::array<RejectedBest, k_reject_reasons> best_rejected{};
  double low_precision_rank_margin = 0; ///< the margin the ranking used
  double headroom_fraction = 0;         ///< the capacity kept free (MemoryConstants)
  PassedOver passed_over;
  /// Each instance type's best plan by the same ranking, in SearchSpace::instances order; types
  /// with no feasible plan are absent. For comparing instance types when one wins every top slot.
  std::vector<Candidate> best_per_instance;
  /// Each fine-tuning mode's best plan by the same ranking when more than one mode was searched
  /// (full vs LoRA vs QLoRA), in SearchSpace::finetunes order; modes with no feasible plan are
  /// absent.
  std::vector<Candidate> best_per_finetune;
  /// Why the first combination of the axes left out before any micro-batch was tried was left
  /// out; empty when none was.
  std::string first_ruled_out;
};

/// The score an objective ranks by (larger is better), a low-precision plan's made worse by
/// `rank_margin` (SearchResult::low_precision_rank_margin), as the search ranks.
[[nodiscard]] double objective_score(const Candidate& c, Objective o, double rank_margin = 0);

/// A candidate (`instance` indexes `space.instances`) as `estimate` takes it: evaluate() of it
/// gives the search's figures exactly.
[[nodiscard]] EstimateRequest estimate_request(const ModelSpec& model, const SearchSpace& space,
                                               const SearchConstraints& limits,
                                               std::size_t instance, std::int64_t nodes,
                                               const TrainingConfig& config);

/// The top_k plans, ranked. With `sample` > 0, `plans` continues after them with every other
/// plan on the Pareto front and an evenly spaced sample of the rest (up to `sample` in all, in
/// rank order), for a report to draw: memory stays bounded however large the search.
[[nodiscard]] SearchResult run_search(const ModelSpec& model, const SearchSpace& space,
                                      const SearchConstraints& limits, Objective objective,
                                      std::size_t top_k, const MemoryConstants& mk = {},
                                      const TimeConstants& tk = {}, std::size_t sample = 0);

} // namespace bwplan
