// The search's inner loop: combinations of the axes, their terms, and one candidate's evaluation
// (docs/architecture.md, "Search speed").
#include "bwplan/search_kernel.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/pipeline.hpp"

namespace bwplan {

namespace {

std::vector<Precision> precisions_for(const SearchSpace& s, const GpuSpec& gpu) {
  if (!s.precisions.empty()) {
    return s.precisions;
  }
  std::vector<Precision> out;
  for (Precision p : gpu.supported_precisions) {
    // fp32 and bf16-pure are for stability experiments, NVFP4 is experimental: asked for only.
    if (is_mixed_precision(p) && p != Precision::nvfp4) {
      out.push_back(p);
    }
  }
  return out;
}

CandidateOutcome rejected(CandidateOutcome o, RejectReason r, double closeness) {
  o.reason = r;
  o.closeness = closeness;
  return o;
}

} // namespace

Combination make_combination(const ModelSpec& model, const ModelFacts& facts,
                             const Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                             const Network& net, const SearchConstraints& limits,
                             const MemoryConstants& mk, const TimeConstants& tk) {
  return with_rank_slice(model, facts, proto.config.tp, proto.config.ep, finetune_of(proto.config),
                         [&](const ModelFacts& slice) {
                           return make_combination(model, facts, slice, proto, gpu, inst, net,
                                                   limits, mk, tk);
                         });
}

Combination make_combination(const ModelSpec& model, const ModelFacts& facts,
                             const ModelFacts& slice, const Candidate& proto, const GpuSpec& gpu,
                             const InstanceSpec& inst, const Network& net,
                             const SearchConstraints& limits, const MemoryConstants& mk,
                             const TimeConstants& tk) {
  Combination c;
  c.instance = proto.instance;
  c.nodes = proto.nodes;
  c.config = proto.config;
  c.memory = memory_terms_for_slice(model, slice, c.config, gpu, mk);
  c.time = step_terms(model, facts, slice, c.config, gpu, net, tk, c.memory.states);
  c.job_usd_per_hour = job_price(&inst, c.nodes, limits.price_per_hour).usd_per_hour;
  c.host_memory_bytes = inst.host_memory_bytes;
  return c;
}

CandidateOutcome evaluate_candidate(const Combination& c, std::int64_t micro_batch,
                                    const SearchConstraints& limits) {
  CandidateOutcome o;
  o.grad_accum = default_grad_accum(c.config);
  if (limits.global_batch_tokens > 0) {
    const std::int64_t dp = data_parallel_degree(c.config);
    o.grad_accum = grad_accum_for(limits.global_batch_tokens, micro_batch, c.config.seq_len, dp);
    if (runs_in_rounds(c.config.pp_schedule) && c.config.pp > 1 && o.grad_accum > c.config.pp) {
      // Whole rounds of pp micro-batches, as the interleaved schedules need (pipeline_problem).
      o.grad_accum = (o.grad_accum + c.config.pp / 2) / c.config.pp * c.config.pp;
    }
    const double got = tokens_per_micro_step(micro_batch, c.config.seq_len, dp) *
                       static_cast<double>(o.grad_accum);
    // More micro-steps than a plan may carry (--grad-accum's range) cannot be planned either.
    if (o.grad_accum > k_max_config_count ||
        !global_batch_reached(got, limits.global_batch_tokens, limits.global_batch_tolerance)) {
      return rejected(o, RejectReason::global_batch_unreachable, got / limits.global_batch_tokens);
    }
  }
  const DeviceBytes bytes = device_bytes(c.memory, micro_batch, o.grad_accum);
  o.device_bytes_required = bytes.required;
  const double usable = c.memory.usable_bytes;
  o.headroom_bytes = whole_headroom_bytes(usable, o.device_bytes_required);
  if (!(o.device_bytes_required <= usable)) {
    return rejected(o, RejectReason::out_of_memory, o.device_bytes_required / usable);
  }
  if (!limits.include_at_risk && !(bytes.required_high <= usable)) {
    return rejected(o, RejectReason::at_risk, bytes.required_high / usable);
  }
  if (c.memory.host_bytes_per_node > c.host_memory_bytes) {
    return rejected(o, RejectReason::host_memory_exceeded,
                    c.memory.host_bytes_per_node / c.host_memory_bytes);
  }
  o.tokens_per_s_job = step_rate(c.time, micro_batch, o.grad_accum).tokens_per_s_job;
  const CostRates cost = cost_rates(c.job_usd_per_hour, o.tokens_per_s_job, limits.train_tokens);
  o.usd_per_hour = cost.usd_per_hour;
  o.usd_per_million_tokens = cost.usd_per_million_tokens;
  o.hours_to_train = cost.hours_to_train;
  if (limits.max_usd_per_hour > 0 && cost.usd_per_hour > limits.max_usd_per_hour) {
    return rejected(o, RejectReason::over_budget, cost.usd_per_hour / limits.max_usd_per_hour);
  }
  o.feasible = true;
  return o;
}

std::vector<std::int64_t> micro_batch_axis(std::int64_t cap) {
  std::vector<std::int64_t> v;
  for (std::int64_t mb = 1; mb <= cap; mb *= 2) {
    v.push_back(mb);
  }
  return v;
}

std::vector<LossChoice> default_loss_choices(bool mixture, Trainer trainer) {
  if (trainer == Trainer::megatron) {
    // Megatron-Core's two cross-entropies, both eager: the vocab-parallel one and the fused one
    // (cross_entropy_loss_fusion, Transformer Engine's or its own kernel).
    return {{Loss::unfused, false}, {Loss::fused, false}};
  }
  // A fused loss is the compiled one, as is chunked-head (torchtitan compiles its ChunkedCELoss);
  // unfused runs eager or under compile. Compiled chunked (torchtune's) is tried too: chunked-head
  // holds less of the logits and moves less, but keeps the head's unsharded gradient through the
  // loss (memory_model.cpp), so where the logits are small (one sequence) the reserved peak
  // beside the loss can need a few percent more than chunked's; eager chunked never needs less
  // than compiled. A mixture also tries chunked-head eager: compiled with full checkpointing
  // under expert parallelism its band's upper edge holds what op-level SAC keeps (memory_band),
  // so the eager twin can fit where it does not (eager, chunked-head moves a little more per logit
  // than chunked: within 1 % of its speed).
  std::vector<LossChoice> v = {{Loss::unfused, false},
                               {Loss::unfused, true},
                               {Loss::fused, true},
                               {Loss::chunked, true},
                               {Loss::chunked_head, true}};
  if (mixture) {
    v.push_back({Loss::chunked_head, false});
  }
  return v;
}

namespace {

std::vector<std::int64_t> powers_up_to(std::int64_t limit) {
  std::vector<std::int64_t> v;
  for (std::int64_t d = 1; d <= std::min(limit, k_default_max_model_parallel); d *= 2) {
    v.push_back(d);
  }
  return v;
}

} // namespace

std::vector<std::int64_t> tp_axis(const SearchSpace& s, std::int64_t gpus_per_node) {
  return s.tps.empty() ? powers_up_to(gpus_per_node) : s.tps;
}

std::vector<std::int64_t> cp_axis(const SearchSpace& s, std::int64_t gpus_per_node) {
  return s.cps.empty() ? powers_up_to(gpus_per_node) : s.cps;
}

std::vector<std::int64_t> pp_axis(const SearchSpace& s, const ModelFacts& facts, std::int64_t nodes,
                                  const InstanceSpec& inst, const GpuSpec& gpu) {
  if (!s.pps.empty()) {
    return s.pps;
  }
  std::vector<std::int64_t> v{1};
  TrainingConfig whole = s.base;
  whole.gpus = 1;
  whole.gpus_per_node = 1;
  whole.sharding = Sharding::none;
  whole.tp = whole.cp = whole.pp = whole.ep = 1;
  whole.offload = Offload::none;
  const double node_memory = static_cast<double>(inst.gpus_per_node) * gpu.memory_bytes;
  if (estimate_model_states(facts, whole).total_bytes() > node_memory) {
    for (std::int64_t pp = 2; pp <= std::min(nodes, k_default_max_model_parallel); pp *= 2) {
      v.push_back(pp);
    }
  }
  return v;
}

std::vector<std::int64_t> ep_axis(const SearchSpace& s, const ModelSpec& m, std::int64_t gpus) {
  if (!s.eps.empty()) {
    return s.eps;
  }
  std::vector<std::int64_t> v{1};
  for (std::int64_t d = 2; m.is_moe() && d <= std::min(m.experts, gpus); d *= 2) {
    if (m.experts % d == 0) {
      v.push_back(d);
    }
  }
  return v;
}

std::vector<PipelineSchedule> pp_schedule_axis(const SearchSpace& s) {
  return s.pp_schedules.empty() ? std::vector<PipelineSchedule>{PipelineSchedule::one_f_one_b,
                                                                PipelineSchedule::interleaved_1f1b}
                                : s.pp_schedules;
}

std::int64_t default_grad_accum(const TrainingConfig& c) {
  return c.pp > 1 ? k_default_pipeline_micro_batches_per_rank * c.pp : 1;
}

bool seq_len_searched(const SearchSpace& s, const SearchConstraints& limits, std::int64_t seq,
                      std::int64_t cp) {
  if (seq < limits.min_seq_len || !cp_splits_sequence(seq, cp)) {
    return false;
  }
  return !s.cps.empty() || cp == 1 || seq >= k_default_cp_min_seq_len;
}

std::vector<LossChoice> loss_axis(const SearchSpace& s) {
  return s.losses.empty() ? std::vector<LossChoice>{{s.base.loss, s.base.compile}} : s.losses;
}

std::vector<Finetune> finetune_axis(const SearchSpace& s) {
  return s.finetunes.empty() ? std::vector<Finetune>{s.base.finetune} : s.finetunes;
}

namespace {

/// Tells `visitor` why a combination was left out, the words made only when it wants them.
template <class Words>
void say(CombinationVisitor& visitor, Words&& why,
         CombinationVisitor::Why kind = CombinationVisitor::Why::refused) {
  if (visitor.wants_why()) {
    visitor.ruled_out(why(), kind);
  }
}

/// The precision, loss, checkpointing and sequence axes of one (instance, nodes, tp, cp, pp,
/// sharding, ep) point.
void for_each_precision(const ModelSpec& model, const SearchSpace& space,
                        const SearchConstraints& limits, CombinationVisitor& visitor,
                        Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                        const Network& net, const std::vector<Precision>& precisions,
                        const std::vector<LossChoice>& losses,
                        const std::vector<Finetune>& finetunes) {
  TrainingConfig& c = proto.config;
  const TrainingConfig defaults;
  for (Precision p : precisions) {
    c.precision = p;
    c.fp8_all_gather = false;
    if (const std::string why = head_fp32_problem(c); !why.empty()) {
      say(visitor, [&] { return why; });
      continue; // the head would not run in fp32 (c.sharding is set)
    }
    for (const Finetune ft : finetunes) {
      // Full training carries the default LoRA settings; LoRA and QLoRA the base's.
      const TrainingConfig& lora = ft == Finetune::full ? defaults : space.base;
      c.finetune = ft;
      lora_settings(c) = lora_settings(lora);
      c.nf4_quantizer = ft == Finetune::qlora ? space.base.nf4_quantizer : defaults.nf4_quantizer;
      if (const std::string why = finetune_problem(c, model); !why.empty()) {
        say(visitor, [&] { return std::string(why); });
        continue; // adapters in this precision, parallelism or model are not modelled
      }
      if (!gpu.supports(p)) {
        visitor.unsupported(proto, gpu, p); // once per mode it prunes the candidates of
        continue;
      }
      for (const LossChoice& loss : losses) {
        if (loss.compile && !pipeline_allows_compile(c.pp_schedule, c.pp)) {
          say(visitor, [&] {
            TrainingConfig compiled = c;
            compiled.compile = true;
            return pipeline_problem(compiled, model);
          });
          continue; // the zero-bubble schedules refuse compiled stages (pipeline_problem)
        }
        c.loss = loss.loss;
        c.compile = loss.compile;
        for (const CheckpointChoice& ac : space.checkpointing) {
          if (!trainer_runs(c.trainer, ac.mode, c.compile, c.loss)) {
            say(visitor, [&] {
              return std::string(trainer_runs_problem(c.trainer, ac.mode, c.compile, c.loss));
            });
            continue; // a choice the trainer does not have
          }
          c.activation_checkpointing = ac.mode;
          c.ac_every = std::min<std::int64_t>(ac.every, model.layers);
          for (std::int64_t seq : space.seq_lens) {
            if (!seq_len_searched(space, limits, seq, c.cp)) {
              say(visitor, [&] {
                return std::string(
                    seq < limits.min_seq_len
                        ? fmt::format("`seq_len` {} is below `min_seq_len` {}", seq,
                                      limits.min_seq_len)
                        : fmt::format("`seq_len` {} is not searched with `cp` {} (2 x cp "
                                      "must divide it; by default cp > 1 from {})",
                                      seq, c.cp, k_default_cp_min_seq_len));
              });
              continue;
            }
            c.seq_len = seq;
            c.grad_accum = default_grad_accum(c);
            visitor.combination(proto, gpu, inst, net);
          }
        }
      }
    }
  }
}

/// The sharding and expert-parallel axes of one (instance, nodes, tp, cp, pp) point, then the
/// rest (for_each_precision()).
void for_each_sharding(const ModelSpec& model, const SearchSpace& space,
                       const SearchConstraints& limits, CombinationVisitor& visitor,
                       Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                       const Network& net, const std::vector<Precision>& precisions,
                       const std::vector<LossChoice>& losses,
                       const std::vector<Finetune>& finetunes,
                       const std::vector<std::int64_t>& eps) {
  TrainingConfig& c = proto.config;
  const std::int64_t nodes = proto.nodes;
  for (Sharding s : space.shardings) {
    c.sharding = s;
    c.shard_group = 0;
    if (s == Sharding::hybrid && nodes == 1) {
      say(
          visitor,
          [&] {
            return std::string(
                "`sharding` hybrid over one node is full sharding (search it with full)");
          },
          CombinationVisitor::Why::twin);
      continue; // the same candidates as full sharding
    }
    if (hybrid_replicates_nothing(c)) { // c.sharding is s
      say(
          visitor,
          [&] {
            return fmt::format("`sharding` hybrid with tp {} x pp {} over {} GPUs replicates "
                               "nothing (one shard group of {}): it is full sharding",
                               c.tp, c.pp, c.gpus, effective_shard_group(c));
          },
          CombinationVisitor::Why::twin);
      continue; // the same candidates as full sharding
    }
    if (!cp_allowed_with(s, c.cp) || !pipeline_allowed_with(s, c.pp)) {
      say(visitor, [&] {
        std::string why = cp_sharding_problem(c); // c.sharding is s
        return why.empty() ? pipeline_problem(c, model) : why;
      });
      continue; // context and pipeline parallelism run over FSDP
    }
    if (c.pp > 1 && s == Sharding::grad_op) {
      say(
          visitor,
          [&] {
            return std::string(
                "`sharding` grad-op with `pp` above 1 is full sharding (pipeline stages stay "
                "gathered; search it with full)");
          },
          CombinationVisitor::Why::twin);
      continue; // pipeline stages stay gathered anyway: the same candidates as full sharding
    }
    for (const std::int64_t ep : eps) {
      c.ep = ep;
      if (const std::string why = expert_parallel_problem(c, model); !why.empty()) {
        say(visitor, [&] { return std::string(why); });
        continue; // the shard group cannot take it, or a mixture under tp or pp
      }
      for_each_precision(model, space, limits, visitor, proto, gpu, inst, net, precisions, losses,
                         finetunes);
    }
  }
}

} // namespace

void for_each_combination(const ModelSpec& model, const ModelFacts& facts, const SearchSpace& space,
                          const SearchConstraints& limits, CombinationVisitor& visitor) {
  const std::vector<LossChoice> losses = loss_axis(space);
  const std::vector<Finetune> finetunes = finetune_axis(space);
  const std::vector<PipelineSchedule> schedules = pp_schedule_axis(space);
  for (std::size_t i = 0; i < space.instances.size(); ++i) {
    const InstanceSpec& inst = space.instances[i];
    const GpuSpec& gpu = space.gpus[i];
    const std::vector<Precision> precisions = precisions_for(space, gpu);
    const std::vector<std::int64_t> tps = tp_axis(space, inst.gpus_per_node);
    const std::vector<std::int64_t> cps = cp_axis(space, inst.gpus_per_node);
    for (std::int64_t nodes : space.nodes) {
      Candidate proto;
      proto.instance = i;
      proto.nodes = nodes;
      TrainingConfig& c = proto.config;
      c = space.base;
      c.gpus_per_node = inst.gpus_per_node;
      c.gpus = nodes * inst.gpus_per_node;
      const Network net = make_network(gpu, inst.gpus_per_node, inst.efa_bandwidth_bits_per_s);
      const std::vector<std::int64_t> pps = pp_axis(space, facts, nodes, inst, gpu);
      const std::vector<std::int64_t> eps = ep_axis(space, model, c.gpus);
      for (std::int64_t tp : tps) {
        for (std::int64_t cp : cps) {
          if (c.gpus % (tp * cp) != 0) {
            say(
                visitor,
                [&] {
                  TrainingConfig split = c;
                  split.tp = tp;
                  split.cp = cp;
                  split.pp = 1;
                  return parallel_degrees_problem(split, model);
                },
                CombinationVisitor::Why::degrees);
            continue;
          }
          if (const std::string why = tensor_parallel_problem(tp, model); !why.empty()) {
            say(
                visitor, [&] { return why; }, CombinationVisitor::Why::degrees);
            continue; // degrees the model cannot split (sequences: per length below)
          }
          c.tp = tp;
          c.cp = cp;
          for (const std::int64_t pp : pps) {
            if (c.gpus % (tp * cp * pp) != 0) {
              say(
                  visitor,
                  [&] {
                    TrainingConfig split = c;
                    split.pp = pp;
                    return parallel_degrees_problem(split, model);
                  },
                  CombinationVisitor::Why::degrees);
              continue;
            }
            c.pp = pp;
            for (const PipelineSchedule schedule : schedules) {
              c.pp_schedule = pp > 1 ? schedule : space.base.pp_schedule;
              if (!pipeline_cuts_model(pp, schedule, model.layers) ||
                  !pipeline_simulated(schedule, pp)) {
                say(visitor, [&] {
                  TrainingConfig cut = c; // its stages' count is the first problem it has
                  cut.pp_schedule = schedule;
                  cut.sharding = Sharding::full;
                  cut.compile = false;
                  return pipeline_problem(cut, model);
                });
                continue; // more stages than torchtitan can cut the model into, or than a
                          // zero-bubble schedule is simulated over
              }
              for_each_sharding(model, space, limits, visitor, proto, gpu, inst, net, precisions,
                                losses, finetunes, eps);
              if (pp == 1) {
                break; // the schedule does not matter
              }
            }
          }
        }
      }
    }
  }
}

} // namespace bwplan
