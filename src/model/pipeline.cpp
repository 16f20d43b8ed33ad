// Pipeline stages and schedules as torchtitan 0.2.2 and torch.distributed.pipelining build them
// (docs/model.md, "Pipeline parallelism").
#include "bwplan/pipeline.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace bwplan {

namespace {

/// ScheduleInterleaved1F1B's rounds of micro-batches: max(1, n / pp).
std::int64_t interleaved_rounds(std::int64_t micro_batches, std::int64_t pp) {
  return std::max<std::int64_t>(1, micro_batches / pp);
}

} // namespace

PipelineRank pipeline_rank(const ModelSpec& m, const TrainingConfig& c, std::int64_t r) {
  PipelineRank out;
  out.rank = r;
  if (c.pp <= 1) {
    return {0, m.layers, true, true};
  }
  const std::int64_t stages = c.pp * stages_per_rank(c.pp_schedule);
  const std::int64_t effective = m.layers + 2; // the embedding and the head count one layer each
  const std::int64_t per_stage = effective / stages;
  const std::int64_t extra = effective % stages;
  for (std::int64_t s = r; s < stages; s += c.pp) {
    std::int64_t layers = per_stage + (s < extra ? 1 : 0);
    if (s == 0) {
      out.embedding = true;
      --layers;
    }
    if (s == stages - 1) {
      out.head = true;
      --layers;
    }
    out.blocks += std::max<std::int64_t>(0, layers);
  }
  return out;
}

std::vector<PipelineRank> pipeline_peak_ranks(const ModelSpec& m, const TrainingConfig& c) {
  std::vector<PipelineRank> out{pipeline_rank(m, c, 0)};
  for (const std::int64_t r : {std::int64_t{1}, c.pp - 1}) {
    if (r > out.back().rank) {
      out.push_back(pipeline_rank(m, c, r));
    }
  }
  return out;
}

PipelineRank pipeline_slowest_rank(const ModelSpec& m, const TrainingConfig& c) {
  // Matmul weights per block and in the head: the FLOPs per token are 6 x these.
  const double h = static_cast<double>(m.hidden);
  const double per_block = h * static_cast<double>(2 * m.q_dim() + 2 * m.kv_dim()) +
                           h * static_cast<double>(m.ffn) * (m.mlp == MlpKind::swiglu ? 3.0 : 2.0);
  const double head = h * static_cast<double>(m.vocab);
  PipelineRank slowest = pipeline_rank(m, c, 0);
  double most = -1;
  for (std::int64_t r = 0; r < std::max<std::int64_t>(1, c.pp); ++r) {
    const PipelineRank p = pipeline_rank(m, c, r);
    const double work = static_cast<double>(p.blocks) * per_block + (p.head ? head : 0.0);
    if (work > most) {
      most = work;
      slowest = p;
    }
  }
  return slowest;
}

double micro_batches_in_flight(PipelineSchedule s, std::int64_t pp, std::int64_t rank,
                               std::int64_t micro_batches) {
  const std::int64_t n = std::max<std::int64_t>(1, micro_batches);
  if (pp <= 1) {
    return 1.0;
  }
  switch (s) {
  case PipelineSchedule::one_f_one_b: return static_cast<double>(std::min(pp - rank, n));
  case PipelineSchedule::gpipe: return static_cast<double>(n);
  case PipelineSchedule::interleaved_1f1b: {
    const std::int64_t v = stages_per_rank(s);
    const std::int64_t per_round = n / interleaved_rounds(n, pp);
    const std::int64_t warmup = (v - 1) * per_round + 2 * (pp - 1 - rank);
    return static_cast<double>(std::min(warmup + 1, n * v)) / static_cast<double>(v);
  }
  case PipelineSchedule::count_: break;
  }
  return 1.0;
}

double pipeline_bubble_micro_batches(const TrainingConfig& c) {
  return c.pp <= 1
             ? 0.0
             : static_cast<double>(c.pp - 1) / static_cast<double>(stages_per_rank(c.pp_schedule));
}

std::string pipeline_problem(const TrainingConfig& c, const ModelSpec& m) {
  if (c.pp <= 1) {
    return {};
  }
  if (!pipeline_allowed_with(c.sharding, c.pp)) {
    return fmt::format("--pp {} needs FSDP (--sharding full, grad-op or hybrid): bwplan models "
                       "torchtitan's pipeline stages over FSDP2",
                       c.pp);
  }
  const std::int64_t v = stages_per_rank(c.pp_schedule);
  if (!pipeline_cuts_model(c.pp, c.pp_schedule, m.layers)) {
    return fmt::format("--pp {} x {} stage(s) per rank ({}) = {} stages is more than the model's "
                       "{} layers + 2 (torchtitan counts the embedding and the output head as a "
                       "layer each)",
                       c.pp, v, name_of(c.pp_schedule), c.pp * v, m.layers);
  }
  if (c.pp_schedule == PipelineSchedule::interleaved_1f1b) {
    const std::int64_t rounds = interleaved_rounds(c.grad_accum, c.pp);
    if (c.grad_accum % rounds != 0) {
      return fmt::format("--grad-accum {} (pipeline micro-batches) must be a multiple of its {} "
                         "rounds of --pp {} (ScheduleInterleaved1F1B)",
                         c.grad_accum, rounds, c.pp);
    }
  }
  return {};
}

ModelFacts pipeline_stage_facts(const ModelSpec& m, const ModelFacts& slice,
                                const PipelineRank& r) {
  std::vector<ParamTensor> tensors;
  tensors.reserve(slice.tensors.size());
  for (ParamTensor t : slice.tensors) {
    switch (t.group) {
    case ParamGroup::embedding:
      if (r.embedding || (r.head && m.tied_embeddings)) {
        tensors.push_back(std::move(t));
      }
      break;
    case ParamGroup::block:
      if (r.blocks > 0) {
        t.count = r.blocks;
        tensors.push_back(std::move(t));
      }
      break;
    case ParamGroup::final_norm:
    case ParamGroup::output:
      if (r.head) {
        tensors.push_back(std::move(t));
      }
      break;
    }
  }
  return facts_of_tensors(m, std::move(tensors));
}

ModelSpec pipeline_stage_model(const ModelSpec& m, const PipelineRank& r) {
  ModelSpec s = m;
  s.layers = r.blocks;
  return s;
}

} // namespace bwplan
