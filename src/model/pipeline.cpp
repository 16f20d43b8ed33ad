// Pipeline stages and schedules as torchtitan 0.2.2 and torch.distributed.pipelining build them
// (docs/model.md, "Pipeline parallelism").
#include "bwplan/pipeline.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

namespace bwplan {

namespace {

/// ScheduleInterleaved1F1B's rounds of micro-batches: max(1, n / pp).
std::int64_t interleaved_rounds(std::int64_t micro_batches, std::int64_t pp) {
  return std::max<std::int64_t>(1, micro_batches / pp);
}

/// The micro-batches of one such round (torch's microbatches_per_round).
std::int64_t micro_batches_per_round(std::int64_t micro_batches, std::int64_t pp) {
  return micro_batches / interleaved_rounds(micro_batches, pp);
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
  std::vector<std::int64_t> own;
  if (c.pp_schedule == PipelineSchedule::zbv) {
    own = {r, stages - 1 - r}; // generate_stage_to_rank_mapping(style="v")
  } else {
    for (std::int64_t s = r; s < stages; s += c.pp) {
      own.push_back(s);
    }
  }
  for (const std::int64_t s : own) {
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
  case PipelineSchedule::zbv:
    return static_cast<double>(std::min({n + rank + 1, 2 * n, 2 * pp})) /
           static_cast<double>(stages_per_rank(s));
  case PipelineSchedule::interleaved_zb: {
    // Warm-up (v - 1) x round + pp - 1 - rank stage forwards, one more, and `rank` weight
    // gradients held back: round + pp on every rank (tests/test_pipeline.cpp runs the lists).
    const std::int64_t per_round = micro_batches_per_round(n, pp);
    return static_cast<double>(std::min(per_round + pp, 2 * n)) /
           static_cast<double>(stages_per_rank(s));
  }
  case PipelineSchedule::interleaved_1f1b: {
    const std::int64_t v = stages_per_rank(s);
    const std::int64_t per_round = micro_batches_per_round(n, pp);
    const std::int64_t warmup = (v - 1) * per_round + 2 * (pp - 1 - rank);
    return static_cast<double>(std::min(warmup + 1, n * v)) / static_cast<double>(v);
  }
  case PipelineSchedule::count_: break;
  }
  return 1.0;
}

double pipeline_bubble_micro_batches(const TrainingConfig& c, double recompute) {
  if (c.pp <= 1) {
    return 0.0;
  }
  if (splits_backward(c.pp_schedule)) {
    // A stage's micro-batch: forward 1, input gradients 1 (+ the recomputed forward), weight
    // gradients 1 (a backward's GEMMs are twice the forward's, split evenly between the two).
    const double input_grad = 1.0 + recompute;
    const double micro_batch = 2.0 * (1.0 + input_grad + 1.0); // both of the rank's stages
    return zero_bubble_idle_time(c.pp_schedule, c.pp, c.grad_accum, 1.0, input_grad, 1.0) /
           micro_batch;
  }
  return static_cast<double>(c.pp - 1) / static_cast<double>(stages_per_rank(c.pp_schedule));
}

namespace {

enum class Pass : std::uint8_t { forward, input_grad, weight_grad };
struct Action {
  std::int64_t stage = 0;
  Pass pass = Pass::forward;
  std::int64_t micro_batch = 0;
};

/// ScheduleZBVZeroBubble._calculate_single_rank_operations for `rank`, actions of micro-batches
/// past `n` dropped as torch drops them.
std::vector<Action> zbv_actions(std::int64_t pp, std::int64_t n, std::int64_t rank) {
  const std::int64_t n_micro = std::max(2 * pp - 1, n);
  const std::int64_t c0 = rank, c1 = 2 * pp - 1 - rank;
  std::vector<Action> ops;
  std::int64_t f0 = 0, f1 = 0, b0 = 0, b1 = 0;
  const auto add = [&](std::int64_t stage, Pass p, std::int64_t mb) {
    if (mb < n) {
      ops.push_back({stage, p, mb});
    }
  };
  for (std::int64_t i = 0; i < 2 * (pp - rank) - 1; ++i) {
    add(c0, Pass::forward, f0++);
  }
  for (std::int64_t i = 0; i < rank; ++i) {
    add(c1, Pass::forward, f1++);
    add(c0, Pass::forward, f0++);
  }
  for (std::int64_t i = 0; i < pp - rank; ++i) {
    add(c1, Pass::forward, f1++);
    add(c1, Pass::input_grad, b1);
    add(c1, Pass::weight_grad, b1++);
  }
  while (f1 < f0 || f0 < n_micro) {
    if (f0 < n_micro) {
      add(c0, Pass::forward, f0++);
    }
    add(c0, Pass::input_grad, b0);
    add(c0, Pass::weight_grad, b0++);
    add(c1, Pass::forward, f1++);
    add(c1, Pass::input_grad, b1);
    add(c1, Pass::weight_grad, b1++);
  }
  std::int64_t w0 = b0, w1 = b1;
  for (std::int64_t i = 0; i < rank; ++i) {
    add(c0, Pass::input_grad, b0++);
    add(c1, Pass::input_grad, b1++);
  }
  for (std::int64_t i = 0; i < pp - rank; ++i) {
    add(c0, Pass::input_grad, b0++);
    add(c0, Pass::weight_grad, w0++);
  }
  while (w1 < b1) {
    add(c1, Pass::weight_grad, w1++);
  }
  while (w0 < b0) {
    add(c0, Pass::weight_grad, w0++);
  }
  return ops;
}

/// ScheduleInterleavedZeroBubble._calculate_single_rank_operations for `rank` (two looped stages,
/// rank + s pp): _get_1f1b_rank_ops with enable_zero_bubble, its padding dropped (the schedule's
/// added bubbles only wait for what the dependencies below wait for).
std::vector<Action> interleaved_zb_actions(std::int64_t pp, std::int64_t n, std::int64_t rank) {
  constexpr std::int64_t v = 2;
  const std::int64_t per_round = micro_batches_per_round(n, pp);
  const std::int64_t warmup = std::min((v - 1) * per_round + pp - 1 - rank, n * v);
  const std::int64_t total = n * v + warmup; // warm-up, 1F1B (n v - warm-up), cool-down (warm-up)
  const auto forward_stage = [&](std::int64_t step) { return (step / per_round) % v * pp + rank; };
  const auto backward_stage = [&](std::int64_t step) {
    return (v - 1 - (step - warmup) / per_round % v) * pp + rank;
  };
  std::vector<std::int64_t> next_f(static_cast<std::size_t>(v * pp), 0);
  std::vector<std::int64_t> next_i = next_f, next_w = next_f;
  const auto add = [](std::vector<Action>& ops, std::vector<std::int64_t>& next, std::int64_t stage,
                      Pass p) {
    ops.push_back({stage, p, next[static_cast<std::size_t>(stage)]++});
  };
  std::vector<Action> ops;
  std::vector<std::int64_t> backward_steps;
  std::size_t weights = 0;
  const auto weight = [&] {
    add(ops, next_w, backward_stage(backward_steps[weights++]), Pass::weight_grad);
  };
  for (std::int64_t step = 0; step < total; ++step) {
    if (step < n * v) { // warm-up and 1F1B steps run a forward (warmup <= n v)
      add(ops, next_f, forward_stage(step), Pass::forward);
    }
    if (step < warmup) {
      continue;
    }
    add(ops, next_i, backward_stage(step), Pass::input_grad); // 1F1B and cool-down steps
    backward_steps.push_back(step);
    if (step - warmup >= rank) { // rank r holds its first r weight gradients back
      weight();
    }
  }
  while (weights < backward_steps.size()) {
    weight();
  }
  return ops;
}

std::vector<Action> zero_bubble_actions(PipelineSchedule s, std::int64_t pp, std::int64_t n,
                                        std::int64_t rank) {
  return s == PipelineSchedule::interleaved_zb ? interleaved_zb_actions(pp, n, rank)
                                               : zbv_actions(pp, n, rank);
}

} // namespace

ZeroBubbleOrder zero_bubble_order(PipelineSchedule s, std::int64_t pp, std::int64_t micro_batches,
                                  std::int64_t rank) {
  ZeroBubbleOrder out;
  std::int64_t held = 0;
  for (const Action& a :
       zero_bubble_actions(s, pp, std::max<std::int64_t>(1, micro_batches), rank)) {
    static constexpr std::array<char, 3> letter = {'F', 'I', 'W'};
    out.actions += fmt::format("{}{}{}{}", out.actions.empty() ? "" : " ", a.stage,
                               letter[static_cast<std::size_t>(a.pass)], a.micro_batch);
    held += a.pass == Pass::forward ? 1 : a.pass == Pass::weight_grad ? -1 : 0;
    out.most_held = std::max(out.most_held, held);
  }
  return out;
}

double zero_bubble_idle_time(PipelineSchedule s, std::int64_t pp, std::int64_t micro_batches,
                             double forward, double input_grad, double weight_grad) {
  // Past its warm-up the idle time no longer depends on how many micro-batches run: ZBV's is the
  // same from 2 pp micro-batches on, interleaved zero bubble's is that of one round of the same
  // size (tests/test_pipeline.cpp checks both against the full run). Simulating only that many
  // keeps the cost O(pp^2) whatever grad_accum is: a million micro-batches took 27 s and 3 GB.
  const std::int64_t given = std::max<std::int64_t>(1, micro_batches);
  const std::int64_t n = s == PipelineSchedule::interleaved_zb ? micro_batches_per_round(given, pp)
                                                               : std::min(given, 2 * pp);
  const std::int64_t stages = 2 * pp;
  std::vector<std::vector<Action>> ops;
  for (std::int64_t r = 0; r < pp; ++r) {
    ops.push_back(zero_bubble_actions(s, pp, n, r));
  }
  // Finish time of every (stage, pass, micro-batch); negative until it has run.
  std::vector<double> done(static_cast<std::size_t>(stages * 3 * n), -1.0);
  const auto at = [&](std::int64_t stage, Pass p, std::int64_t mb) -> double& {
    return done[static_cast<std::size_t>((stage * 3 + static_cast<std::int64_t>(p)) * n + mb)];
  };
  std::vector<double> clock(static_cast<std::size_t>(pp), 0.0);
  std::vector<std::size_t> next(static_cast<std::size_t>(pp), 0);
  for (bool moved = true; moved;) {
    moved = false;
    for (std::size_t r = 0; r < ops.size(); ++r) {
      for (; next[r] < ops[r].size(); ++next[r]) {
        const Action& a = ops[r][next[r]];
        double ready = clock[r];
        bool waiting = false;
        const auto after = [&](std::int64_t stage, Pass p) {
          const double t = at(stage, p, a.micro_batch);
          waiting = waiting || t < 0;
          ready = std::max(ready, t);
        };
        switch (a.pass) {
        case Pass::forward:
          if (a.stage > 0) {
            after(a.stage - 1, Pass::forward);
          }
          break;
        case Pass::input_grad:
          after(a.stage, Pass::forward);
          if (a.stage < stages - 1) {
            after(a.stage + 1, Pass::input_grad);
          }
          break;
        case Pass::weight_grad: after(a.stage, Pass::input_grad); break;
        }
        if (waiting) {
          break; // on another rank's pass
        }
        const double took = a.pass == Pass::forward      ? forward
                            : a.pass == Pass::input_grad ? input_grad
                                                         : weight_grad;
        clock[r] = ready + took;
        at(a.stage, a.pass, a.micro_batch) = clock[r];
        moved = true;
      }
    }
  }
  const double step = *std::max_element(clock.begin(), clock.end());
  return step - 2.0 * static_cast<double>(n) * (forward + input_grad + weight_grad);
}

std::string pipeline_problem(const TrainingConfig& c, const ModelSpec& m) {
  if (c.pp <= 1) {
    return {};
  }
  if (!pipeline_allowed_with(c.sharding, c.pp)) {
    return fmt::format("`pp` {} needs FSDP (`sharding` full, grad-op or hybrid): bwplan models "
                       "torchtitan's pipeline stages over FSDP2",
                       c.pp);
  }
  const std::int64_t v = stages_per_rank(c.pp_schedule);
  if (!pipeline_cuts_model(c.pp, c.pp_schedule, m.layers)) {
    return fmt::format("`pp` {} x {} stage(s) per rank ({}) = {} stages is more than the model's "
                       "{} layers + 2 (torchtitan counts the embedding and the output head as a "
                       "layer each)",
                       c.pp, v, name_of(c.pp_schedule), c.pp * v, m.layers);
  }
  if (c.compile && !pipeline_allows_compile(c.pp_schedule, c.pp)) {
    return fmt::format("`pp_schedule` {} runs no compiled stage: torch.distributed.pipelining's "
                       "Schedule{} refuses torch.compile'd modules (its input/weight gradient "
                       "split); drop `compile`",
                       name_of(c.pp_schedule), torch_schedule_name(c.pp_schedule));
  }
  if (!pipeline_simulated(c.pp_schedule, c.pp)) {
    return fmt::format("`pp` {} with `pp_schedule` {}: bwplan simulates a zero-bubble schedule "
                       "over at most {} pipeline ranks (allowed `pp` 2..{}, or another schedule)",
                       c.pp, name_of(c.pp_schedule), k_max_zero_bubble_pp, k_max_zero_bubble_pp);
  }
  if (runs_in_rounds(c.pp_schedule)) {
    const std::int64_t rounds = interleaved_rounds(c.grad_accum, c.pp);
    if (c.grad_accum % rounds != 0) {
      return fmt::format("`grad_accum` {} (pipeline micro-batches) must be a multiple of its {} "
                         "rounds of `pp` {} (Schedule{})",
                         c.grad_accum, rounds, c.pp, torch_schedule_name(c.pp_schedule));
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
