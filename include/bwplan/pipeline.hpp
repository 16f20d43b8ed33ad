/// \file
/// Pipeline parallelism: how torchtitan cuts a model into stages and places them on ranks, and how
/// many micro-batches each schedule keeps in flight. Derivations and sources: docs/model.md,
/// "Pipeline parallelism", and docs/time-model.md, "Pipeline parallelism".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/enums.hpp"
#include "bwplan/model_spec.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan {

/// Stages each pipeline rank runs: torchtitan gives multi-stage schedules (interleaved 1F1B) 2 per
/// rank when pipeline_parallel_layers_per_stage is unset, single-stage ones 1
/// (pytorch/torchtitan@73a0e6979dd10b6b1904098eb3c8f62c18ab87ce:torchtitan/distributed/
/// pipeline_parallel.py, pipeline_llm).
[[nodiscard]] constexpr std::int64_t stages_per_rank(PipelineSchedule s) {
  return s == PipelineSchedule::interleaved_1f1b || s == PipelineSchedule::zbv ||
                 s == PipelineSchedule::interleaved_zb
             ? 2
             : 1;
}

/// Whether torchtitan can cut a model of `layers` blocks into pp x stages_per_rank(s) stages: at
/// most layers + 2 (the embedding and the head count a layer each;
/// generate_llm_fqn_per_model_part).
[[nodiscard]] constexpr bool pipeline_cuts_model(std::int64_t pp, PipelineSchedule s,
                                                 std::int64_t layers) {
  return pp <= 1 || pp * stages_per_rank(s) <= layers + 2;
}

/// Whether `s` can run pipeline parallelism of degree `pp`: bwplan models torchtitan's stages over
/// FSDP2, so pp > 1 needs FSDP (as cp_allowed_with()).
[[nodiscard]] constexpr bool pipeline_allowed_with(Sharding s, std::int64_t pp) {
  return pp <= 1 || s != Sharding::none;
}

/// torch.distributed.pipelining's name for `s` (get_schedule_class; the class is Schedule + it),
/// which torchtitan's pipeline_parallel_schedule takes.
[[nodiscard]] constexpr std::string_view torch_schedule_name(PipelineSchedule s) {
  constexpr std::array<std::string_view, 5> names = {"1F1B", "Interleaved1F1B", "GPipe",
                                                     "ZBVZeroBubble", "InterleavedZeroBubble"};
  static_assert(names.size() == static_cast<std::size_t>(PipelineSchedule::count_));
  return names[static_cast<std::size_t>(s)];
}

/// Whether `s` runs its micro-batches in rounds of about pp and needs a whole number of them
/// (ScheduleInterleaved1F1B and ScheduleInterleavedZeroBubble: n a multiple of max(1, n / pp)).
[[nodiscard]] constexpr bool runs_in_rounds(PipelineSchedule s) {
  return s == PipelineSchedule::interleaved_1f1b || s == PipelineSchedule::interleaved_zb;
}

/// Whether `s` splits each backward into input and weight gradients (the zero-bubble schedules).
[[nodiscard]] constexpr bool splits_backward(PipelineSchedule s) {
  return s == PipelineSchedule::zbv || s == PipelineSchedule::interleaved_zb;
}

/// The most pipeline ranks a zero-bubble schedule is simulated over: zero_bubble_idle_time() runs
/// every rank's passes, O(pp^2) in time and memory (2 s and 0.4 GB at pp 1024), far past any
/// pipeline torchtitan runs. pipeline_problem() refuses more.
inline constexpr std::int64_t k_max_zero_bubble_pp = 256;

/// Whether bwplan simulates schedule `s` over `pp` ranks (k_max_zero_bubble_pp).
[[nodiscard]] constexpr bool pipeline_simulated(PipelineSchedule s, std::int64_t pp) {
  return !splits_backward(s) || pp <= k_max_zero_bubble_pp;
}

/// Whether schedule `s` over `pp` stages can run torch.compile'd blocks: ScheduleZBVZeroBubble and
/// ScheduleInterleavedZeroBubble refuse them (their input/weight gradient split), and torchtitan
/// compiles per block.
[[nodiscard]] constexpr bool pipeline_allows_compile(PipelineSchedule s, std::int64_t pp) {
  return pp <= 1 || !splits_backward(s);
}

/// What one pipeline rank holds, over all of its stages.
struct PipelineRank {
  std::int64_t rank = 0;
  std::int64_t blocks = 0; ///< transformer blocks
  bool embedding = false;  ///< the first stage: the token embedding
  bool head = false;       ///< the last stage: final norm, output head and the loss
};

/// Rank `r` of c.pp under c.pp_schedule. torchtitan counts the embedding and the final norm +
/// output head as one layer each, splits the layers + 2 evenly over pp x stages_per_rank() stages
/// (the first `remainder` stages one more) and gives rank r stages r, r + pp, ... ("loop"), or
/// under zbv stages r and 2 pp - 1 - r ("v": rank 0 holds the embedding and the head)
/// (generate_llm_fqn_per_model_part and pipeline_module_split, same file).
[[nodiscard]] PipelineRank pipeline_rank(const ModelSpec& m, const TrainingConfig& c,
                                         std::int64_t r);

/// The ranks whose memory can be the job's peak: the first, the second and the last. The other
/// middle ranks hold no more blocks than the second (earlier stages get the remainder) and fewer
/// micro-batches in flight. One rank, {0 with everything}, without pipeline parallelism.
[[nodiscard]] std::vector<PipelineRank> pipeline_peak_ranks(const ModelSpec& m,
                                                            const TrainingConfig& c);

/// The rank that computes longest per micro-batch: the most blocks, the output head's matmul and
/// loss breaking ties (the head's FLOPs are about a block's).
[[nodiscard]] PipelineRank pipeline_slowest_rank(const ModelSpec& m, const TrainingConfig& c);

/// Micro-batches whose activations rank `rank` holds at its peak, in units of all of its blocks
/// (a stage's micro-batch counts 1 / stages_per_rank()), with `micro_batches` per step
/// (torch.distributed.pipelining.schedules: Schedule1F1B runs pp - rank forwards before its first
/// backward; ScheduleInterleaved1F1B (v - 1) x round + 2 (pp - 1 - rank) + 1 stage forwards, a
/// round being min(micro-batches, pp); ScheduleGPipe every forward first; ScheduleZBVZeroBubble
/// min(n + rank + 1, 2 n, 2 pp) stage micro-batches; ScheduleInterleavedZeroBubble min(round +
/// pp, 2 n) on every rank (its warm-up forwards, one more, and the rank's weight gradients held
/// back); the last two from running their action lists: tests/test_pipeline.cpp).
[[nodiscard]] double micro_batches_in_flight(PipelineSchedule s, std::int64_t pp, std::int64_t rank,
                                             std::int64_t micro_batches);

/// Micro-batch times a step idles in the pipeline's fill and drain: (pp - 1) / stages_per_rank(),
/// and under the zero-bubble schedules what zero_bubble_idle_time() leaves, with a stage's forward,
/// input-gradient and weight- gradient times 1 : 1 + recompute : 1 (`recompute`: the share of the
/// forward that activation checkpointing runs again, 0 to 1).
[[nodiscard]] double pipeline_bubble_micro_batches(const TrainingConfig& c, double recompute);

/// The idle time of zero-bubble schedule `s` (zbv or interleaved-zb: 2 stages per rank) on its
/// busiest-ending rank over a step of `micro_batches` on `pp` ranks, in the units of `forward`,
/// `input_grad` and `weight_grad` (one stage's times for one micro-batch): the step's length less
/// the 2 x micro_batches x (F + I + W) every rank computes. Runs torch's action lists
/// (ScheduleZBVZeroBubble._calculate_single_rank_operations; ScheduleInterleavedZeroBubble's,
/// _get_1f1b_rank_ops with enable_zero_bubble) through their dependencies: a stage's forward waits
/// for the previous stage's, its input gradient for its own forward and the next stage's input
/// gradient, its weight gradient for its input gradient; sends take no time.
[[nodiscard]] double zero_bubble_idle_time(PipelineSchedule s, std::int64_t pp,
                                           std::int64_t micro_batches, double forward,
                                           double input_grad, double weight_grad);

/// Rank `rank`'s compute actions under zero-bubble schedule `s` with `micro_batches`, in torch's
/// notation ("0F0 2F0 2I0 2W0 ...": stage, F / I / W, micro-batch), and the most stage
/// micro-batches it holds at once (forwards whose weight gradients have not run): what
/// zero_bubble_idle_time() and micro_batches_in_flight() are built on, for tests and docs.
struct ZeroBubbleOrder {
  std::string actions;
  std::int64_t most_held = 0;
};
[[nodiscard]] ZeroBubbleOrder zero_bubble_order(PipelineSchedule s, std::int64_t pp,
                                                std::int64_t micro_batches, std::int64_t rank);

/// What keeps c.pp and c.pp_schedule from running `m` with c.grad_accum micro-batches, as the
/// one-line error; empty when they can.
[[nodiscard]] std::string pipeline_problem(const TrainingConfig& c, const ModelSpec& m);

/// The facts of what rank `r` holds of `slice` (model_facts() or a tensor-parallel slice): its
/// blocks, and the embedding or final norm + output head where its stages have them (a tied head
/// is a copy of the embedding on the last stage).
[[nodiscard]] ModelFacts pipeline_stage_facts(const ModelSpec& m, const ModelFacts& slice,
                                              const PipelineRank& r);

/// `m` with the rank's blocks as its layers: what the per-block activation formulas read.
[[nodiscard]] ModelSpec pipeline_stage_model(const ModelSpec& m, const PipelineRank& r);

} // namespace bwplan
