/// \file
/// The search's inner loop (docs/architecture.md, "Search speed"). Every axis but the
/// micro-batch makes a combination, whose memory and time terms are computed once; a candidate
/// is a (combination, micro-batch) pair, evaluated in a few dozen arithmetic operations with no
/// allocation and no strings. Its figures equal estimate_memory()'s and estimate_step_time()'s
/// bit for bit (tests/test_search_fast.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bwplan/memory_model.hpp"
#include "bwplan/search.hpp"
#include "bwplan/time_model.hpp"

namespace bwplan {

/// One point of every axis but the micro-batch, and what its candidates share.
struct Combination {
  std::size_t instance = 0; ///< index into SearchSpace::instances
  std::int64_t nodes = 1;
  TrainingConfig config; ///< grad_accum 1; micro_batch is the candidate's
  MemoryTerms memory;
  StepTerms time;
  double job_usd_per_hour = 0;  ///< job_price(): the instance's price (or the override) x nodes
  double host_memory_bytes = 0; ///< per node
};

/// The combination of `proto` (instance, nodes and config as the search enumerates them).
[[nodiscard]] Combination make_combination(const ModelSpec& model, const ModelFacts& facts,
                                           const Candidate& proto, const GpuSpec& gpu,
                                           const InstanceSpec& inst, const Network& net,
                                           const SearchConstraints& limits,
                                           const MemoryConstants& mk, const TimeConstants& tk);
/// The same given `slice` = tensor_parallel_facts(model, proto.config.tp), kept by the caller.
[[nodiscard]] Combination make_combination(const ModelSpec& model, const ModelFacts& facts,
                                           const ModelFacts& slice, const Candidate& proto,
                                           const GpuSpec& gpu, const InstanceSpec& inst,
                                           const Network& net, const SearchConstraints& limits,
                                           const MemoryConstants& mk, const TimeConstants& tk);

/// What one candidate evaluation found. `feasible`, or the first constraint it broke in the
/// order they are checked: global batch, device memory, host memory, budget.
struct CandidateOutcome {
  bool feasible = false;
  RejectReason reason = RejectReason::out_of_memory; ///< when not feasible
  double closeness = 0;        ///< when not feasible: needed / allowed (RejectedBest)
  std::int64_t grad_accum = 1; ///< from the global batch target
  double device_bytes_required = 0;
  double headroom_bytes = 0;
  double tokens_per_s_job = 0;
  double usd_per_hour = 0;
  double usd_per_million_tokens = 0;
  double hours_to_train = 0;
};

/// One candidate evaluation: grad-accum for the global batch target, device and host memory,
/// then (when it fits) step time and price, each checked against `limits`.
[[nodiscard]] CandidateOutcome evaluate_candidate(const Combination& c, std::int64_t micro_batch,
                                                  const SearchConstraints& limits);

/// The micro-batch axis: powers of two up to the cap.
[[nodiscard]] std::vector<std::int64_t> micro_batch_axis(std::int64_t cap);

/// Receives the search's combinations in its order.
class CombinationVisitor {
public:
  virtual ~CombinationVisitor() = default;
  /// A combination to search the micro-batch of.
  virtual void combination(const Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                           const Network& net) = 0;
  /// A precision `gpu` lacks: `proto` is the search's state when it met it.
  virtual void unsupported(const Candidate& proto, const GpuSpec& gpu, Precision p) = 0;
  /// How telling a reason for leaving a combination out is, most first: a refusal of what the
  /// flags asked; a twin of another combination (hybrid over one node is full sharding); degrees
  /// of the default axes that do not divide the job or the model.
  enum class Why : std::uint8_t { refused, twin, degrees };
  /// A combination of the axes left out before any micro-batch was tried, and why (said when a
  /// search's flags leave no combination at all).
  virtual void ruled_out(std::string_view why, Why kind) {
    static_cast<void>(why);
    static_cast<void>(kind);
  }
  /// Whether ruled_out() is still listening (the words cost time on every combination left out).
  [[nodiscard]] virtual bool wants_why() const { return false; }
};

/// The tensor-parallel axis on nodes of `gpus_per_node`: `s.tps`, or by default 1, 2, 4, 8 up to
/// the node's GPUs (tensor parallelism inside one NVLink domain).
[[nodiscard]] std::vector<std::int64_t> tp_axis(const SearchSpace& s, std::int64_t gpus_per_node);
/// The context-parallel axis: `s.cps`, or by default 1, and 2, 4, 8 up to the node's GPUs.
[[nodiscard]] std::vector<std::int64_t> cp_axis(const SearchSpace& s, std::int64_t gpus_per_node);
/// The pipeline-parallel axis of a job of `nodes` nodes: `s.pps`, or by default 1, and 2, 4, 8 up
/// to the node count when the model's training states (unsharded, in s.base's precision and
/// optimizer) exceed one node's GPU memory: stages then span nodes, and each node's GPUs hold
/// 1 / pp of the model.
[[nodiscard]] std::vector<std::int64_t> pp_axis(const SearchSpace& s, const ModelFacts& facts,
                                                std::int64_t nodes, const InstanceSpec& inst,
                                                const GpuSpec& gpu);
/// The expert-parallel axis of a job of `gpus` GPUs: `s.eps`, or by default 1 for a dense model
/// and, for a mixture of experts, 1, 2, 4, ... up to the experts and the GPUs, each dividing the
/// experts. Degrees the shard group cannot take are skipped per sharding
/// (expert_parallel_problem()).
[[nodiscard]] std::vector<std::int64_t> ep_axis(const SearchSpace& s, const ModelSpec& m,
                                                std::int64_t gpus);
/// The schedules a pipeline-parallel degree is tried with: `s.pp_schedules`, or by default 1F1B
/// and interleaved 1F1B.
[[nodiscard]] std::vector<PipelineSchedule> pp_schedule_axis(const SearchSpace& s);
/// The grad-accum a candidate runs without a global batch target: 1, or under pipeline
/// parallelism k_default_pipeline_micro_batches_per_rank x pp micro-batches.
[[nodiscard]] std::int64_t default_grad_accum(const TrainingConfig& c);

/// Whether the search tries `seq` with context-parallel degree `cp`: at least the minimum
/// sequence, one cp can split (cp_splits_sequence), and by default context parallelism only from
/// k_default_cp_min_seq_len on.
[[nodiscard]] bool seq_len_searched(const SearchSpace& s, const SearchConstraints& limits,
                                    std::int64_t seq, std::int64_t cp);

/// The loss axis of `s`: its losses, or base's (loss, compile) when none are given.
[[nodiscard]] std::vector<LossChoice> loss_axis(const SearchSpace& s);
/// The fine-tuning axis of `s`: its modes, or base's when none are given.
[[nodiscard]] std::vector<Finetune> finetune_axis(const SearchSpace& s);

/// Walks the axes of `space` (docs/bwplan.md, search): instance, nodes, sharding, precision,
/// checkpointing, sequence length. `facts` = model_facts(model), computed once by the caller.
void for_each_combination(const ModelSpec& model, const ModelFacts& facts, const SearchSpace& space,
                          const SearchConstraints& limits, CombinationVisitor& visitor);

} // namespace bwplan
