// The search: axes -> candidates -> memory pruning -> evaluation -> ranking (docs/bwplan.md,
// search). Memory grows with the micro-batch, so the largest fitting micro-batch is found by
// bisection and the larger ones are counted as out of memory without being evaluated.
#include "bwplan/search.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "bwplan/units.hpp"

namespace bwplan {

namespace {

constexpr std::size_t idx(RejectReason r) {
  return static_cast<std::size_t>(r);
}

std::vector<Precision> precisions_for(const SearchSpace& s, const GpuSpec& gpu) {
  if (!s.precisions.empty()) {
    return s.precisions;
  }
  std::vector<Precision> out;
  for (Precision p : gpu.supported_precisions) {
    // fp32 and bf16-pure are for stability experiments, NVFP4 is experimental: asked for only.
    if (p != Precision::fp32 && p != Precision::bf16_pure && p != Precision::nvfp4) {
      out.push_back(p);
    }
  }
  return out;
}

/// The micro-batch axis: powers of two up to the cap, plus the largest value that fits.
std::vector<std::int64_t> micro_batch_axis(std::int64_t cap) {
  std::vector<std::int64_t> v;
  for (std::int64_t mb = 1; mb <= cap; mb *= 2) {
    v.push_back(mb);
  }
  return v;
}

struct Context {
  const ModelSpec& model;
  const ModelFacts facts;
  const SearchSpace& space;
  const SearchConstraints& limits;
  const MemoryConstants& mk;
  const TimeConstants& tk;
  SearchResult& result;
  std::vector<Candidate> feasible;
};

/// Counts `count` rejected candidates and keeps `c` if it is the nearest miss so far (the
/// smallest needed/available ratio); `detail` is formatted only then.
template <class Detail>
void reject(Context& ctx, RejectReason r, const Candidate& c, std::int64_t count, double closeness,
            Detail detail) {
  ctx.result.rejections[idx(r)] += count;
  RejectedBest& best = ctx.result.best_rejected[idx(r)];
  if (!best.present || closeness < best.closeness) {
    best.present = true;
    best.closeness = closeness;
    best.candidate = c;
    best.detail = detail();
  }
}

bool fits(const Context& ctx, TrainingConfig c, std::int64_t mb, const GpuSpec& gpu) {
  c.micro_batch = mb;
  return estimate_memory(ctx.model, ctx.facts, c, gpu, ctx.mk).fits();
}

double required(const Context& ctx, TrainingConfig c, std::int64_t mb, const GpuSpec& gpu) {
  c.micro_batch = mb;
  const MemoryEstimate e = estimate_memory(ctx.model, ctx.facts, c, gpu, ctx.mk);
  return e.device_bytes_required - e.usable_bytes; // <= 0: fits
}

/// Largest micro-batch in [1, cap] that fits, 0 if none. Memory is monotone and nearly affine
/// in the micro-batch, so a secant step from 1 and 2 lands within a step or two of the answer;
/// the bracket is then closed by bisection, which keeps the result exact.
std::int64_t largest_fitting(const Context& ctx, const TrainingConfig& c, std::int64_t cap,
                             const GpuSpec& gpu) {
  const double over1 = required(ctx, c, 1, gpu);
  if (over1 > 0) {
    return 0;
  }
  if (cap == 1) {
    return 1;
  }
  const double over2 = required(ctx, c, 2, gpu);
  if (over2 > 0) {
    return 1;
  }
  const double slope = over2 - over1;
  std::int64_t guess = cap;
  if (slope > 0) {
    guess = std::clamp<std::int64_t>(2 + static_cast<std::int64_t>(-over2 / slope), 2, cap);
  }
  // Invariant: lo fits, hi + 1 does not (or hi == cap).
  std::int64_t lo = 2, hi = cap;
  if (fits(ctx, c, guess, gpu)) {
    lo = guess;
    if (guess < cap && !fits(ctx, c, guess + 1, gpu)) {
      return guess;
    }
  } else {
    hi = guess - 1;
    if (fits(ctx, c, hi, gpu)) {
      return hi;
    }
  }
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(ctx, c, mid, gpu)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

/// Prices a feasible candidate; its price-basis string is written only for the plans kept.
void price(Candidate& c, const SearchConstraints& limits, const InstanceSpec& inst) {
  const double hourly = limits.price_per_hour.value_or(inst.price.usd_per_hour);
  c.cost = cost_of(hourly * static_cast<double>(c.nodes), c.time.tokens_per_s_job,
                   limits.train_tokens, std::string());
}

void evaluate_micro_batches(Context& ctx, Candidate proto, const GpuSpec& gpu,
                            const InstanceSpec& inst, const Network& net) {
  const std::vector<std::int64_t> axis = micro_batch_axis(ctx.space.max_micro_batch);
  TrainingConfig& c = proto.config;
  const std::int64_t largest = largest_fitting(ctx, c, ctx.space.max_micro_batch, gpu);
  std::vector<std::int64_t> values;
  for (std::int64_t mb : axis) {
    if (mb <= largest) {
      values.push_back(mb);
    }
  }
  if (largest > 0 && (values.empty() || values.back() != largest)) {
    values.push_back(largest);
  }
  const auto over =
      static_cast<std::int64_t>(axis.size()) -
      std::count_if(axis.begin(), axis.end(), [&](std::int64_t v) { return v <= largest; });
  if (over > 0) {
    // Report the smallest micro-batch that does not fit: the nearest miss.
    Candidate miss = proto;
    miss.config.micro_batch = largest + 1;
    miss.memory = estimate_memory(ctx.model, ctx.facts, miss.config, gpu, ctx.mk);
    const double ratio = miss.memory.device_bytes_required / miss.memory.usable_bytes;
    reject(ctx, RejectReason::out_of_memory, miss, over, ratio, [&] {
      return std::string(fmt::format("micro-batch {} would need {:.1f} GiB of {:.1f} GiB",
                                     largest + 1, to_gib(miss.memory.device_bytes_required),
                                     to_gib(miss.memory.usable_bytes)));
    });
  }
  const double dp = static_cast<double>(c.gpus);
  for (std::int64_t mb : values) {
    Candidate cand = proto;
    cand.config.micro_batch = mb;
    if (ctx.limits.global_batch_tokens > 0) {
      const double per_step = static_cast<double>(mb * c.seq_len) * dp;
      const auto ga =
          std::max<std::int64_t>(1, std::llround(ctx.limits.global_batch_tokens / per_step));
      const double got = per_step * static_cast<double>(ga);
      cand.config.grad_accum = ga;
      if (std::abs(got - ctx.limits.global_batch_tokens) / ctx.limits.global_batch_tokens >
          ctx.limits.global_batch_tolerance) {
        reject(ctx, RejectReason::global_batch_unreachable, cand, 1,
               got / ctx.limits.global_batch_tokens, [&] {
                 return std::string(fmt::format(
                     "micro-batch {} x seq {} x {} GPUs = {:.0f} tokens per micro-step; "
                     "target {:.0f}",
                     mb, c.seq_len, c.gpus, per_step, ctx.limits.global_batch_tokens));
               });
        continue;
      }
    }
    cand.memory = estimate_memory(ctx.model, ctx.facts, cand.config, gpu, ctx.mk);
    if (!cand.memory.fits()) {
      reject(ctx, RejectReason::out_of_memory, cand, 1,
             cand.memory.device_bytes_required / cand.memory.usable_bytes, [&] {
               return std::string(fmt::format(
                   "micro-batch {} with grad-accum {} would need {:.1f} GiB of {:.1f} GiB", mb,
                   cand.config.grad_accum, to_gib(cand.memory.device_bytes_required),
                   to_gib(cand.memory.usable_bytes)));
             });
      continue;
    }
    if (cand.memory.host_bytes_per_node > inst.host_memory_bytes) {
      reject(ctx, RejectReason::host_memory_exceeded, cand, 1,
             cand.memory.host_bytes_per_node / inst.host_memory_bytes, [&] {
               return std::string(fmt::format(
                   "CPU offload needs {:.0f} GiB of host memory per node of {:.0f} GiB",
                   to_gib(cand.memory.host_bytes_per_node), to_gib(inst.host_memory_bytes)));
             });
      continue;
    }
    cand.time = estimate_step_time(ctx.model, ctx.facts, cand.config, gpu, net, ctx.tk);
    price(cand, ctx.limits, inst);
    if (ctx.limits.max_usd_per_hour > 0 && cand.cost.usd_per_hour > ctx.limits.max_usd_per_hour) {
      reject(ctx, RejectReason::over_budget, cand, 1,
             cand.cost.usd_per_hour / ctx.limits.max_usd_per_hour, [&] {
               return fmt::format("{:.2f} USD/h is over the {:.2f} USD/h budget",
                                  cand.cost.usd_per_hour, ctx.limits.max_usd_per_hour);
             });
      continue;
    }
    ctx.feasible.push_back(std::move(cand));
  }
}

/// The total order's tie-break: the configuration's fields, compared as numbers (the same
/// order as the plan ids, without building strings for every candidate).
bool key_less(const Candidate& a, const Candidate& b) {
  const TrainingConfig& x = a.config;
  const TrainingConfig& y = b.config;
  const auto tie = [](const Candidate& c, const TrainingConfig& t) {
    return std::make_tuple(c.instance, c.nodes, static_cast<int>(t.sharding),
                           static_cast<int>(t.precision),
                           static_cast<int>(t.activation_checkpointing), t.ac_every, t.seq_len,
                           t.micro_batch, t.grad_accum);
  };
  return tie(a, x) < tie(b, y);
}

void mark_pareto(std::vector<Candidate>& v) {
  // Sort by throughput (desc); a candidate is on the front unless an earlier front member is at
  // least as cheap and has at least as much headroom (with something strictly better).
  std::vector<std::size_t> order(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (v[a].time.tokens_per_s_job != v[b].time.tokens_per_s_job) {
      return v[a].time.tokens_per_s_job > v[b].time.tokens_per_s_job;
    }
    return key_less(v[a], v[b]);
  });
  std::vector<std::size_t> front;
  for (std::size_t i : order) {
    const Candidate& c = v[i];
    bool dominated = false;
    for (std::size_t j : front) {
      const Candidate& f = v[j];
      const bool no_worse = f.cost.usd_per_million_tokens <= c.cost.usd_per_million_tokens &&
                            f.memory.headroom_bytes() >= c.memory.headroom_bytes() &&
                            f.time.tokens_per_s_job >= c.time.tokens_per_s_job;
      const bool better = f.cost.usd_per_million_tokens < c.cost.usd_per_million_tokens ||
                          f.memory.headroom_bytes() > c.memory.headroom_bytes() ||
                          f.time.tokens_per_s_job > c.time.tokens_per_s_job;
      if (no_worse && better) {
        dominated = true;
        break;
      }
    }
    if (!dominated) {
      front.push_back(i);
      v[i].pareto = true;
    }
  }
}

} // namespace

std::string Candidate::key() const {
  const TrainingConfig& c = config;
  std::string ac(name_of(c.activation_checkpointing));
  if (c.activation_checkpointing == ActivationCheckpointing::selective_layer) {
    ac += fmt::format("-{}", c.ac_every);
  }
  return fmt::format("i{}-n{:03}-{}-{}-{}-s{:07}-mb{:04}-ga{:04}", instance, nodes,
                     name_of(c.sharding), name_of(c.precision), ac, c.seq_len, c.micro_batch,
                     c.grad_accum);
}

double objective_score(const Candidate& c, Objective o) {
  switch (o) {
  case Objective::throughput: return c.time.tokens_per_s_job;
  case Objective::cost: return -c.cost.usd_per_million_tokens;
  case Objective::time:
    return c.cost.hours_to_train > 0 ? -c.cost.hours_to_train : c.time.tokens_per_s_job;
  case Objective::count_: break;
  }
  return 0;
}

SearchResult run_search(const ModelSpec& model, const SearchSpace& space,
                        const SearchConstraints& limits, Objective objective, std::size_t top_k,
                        const MemoryConstants& mk, const TimeConstants& tk) {
  SearchResult result;
  Context ctx{model, model_facts(model), space, limits, mk, tk, result, {}};
  const auto mb_axis_size =
      static_cast<std::int64_t>(micro_batch_axis(space.max_micro_batch).size());
  for (std::size_t i = 0; i < space.instances.size(); ++i) {
    const InstanceSpec& inst = space.instances[i];
    const GpuSpec& gpu = space.gpus[i];
    const std::vector<Precision> precisions = precisions_for(space, gpu);
    for (std::int64_t nodes : space.nodes) {
      Candidate proto;
      proto.instance = i;
      proto.nodes = nodes;
      TrainingConfig& c = proto.config;
      c = space.base;
      c.gpus_per_node = inst.gpus_per_node;
      c.gpus = nodes * inst.gpus_per_node;
      const Network net = make_network(gpu, inst.gpus_per_node, inst.efa_bandwidth_bits_per_s);
      for (Sharding s : space.shardings) {
        c.sharding = s;
        c.shard_group = 0;
        if (s == Sharding::hybrid && nodes == 1) {
          continue; // the same candidates as full sharding
        }
        for (Precision p : precisions) {
          c.precision = p;
          c.fp8_all_gather = false;
          if (!gpu.supports(p)) {
            reject(ctx, RejectReason::precision_unsupported, proto,
                   static_cast<std::int64_t>(space.checkpointing.size() * space.seq_lens.size()) *
                       mb_axis_size,
                   1e300, [&] {
                     return std::string(fmt::format("{} has no {} support", gpu.name, name_of(p)));
                   });
            continue;
          }
          for (const CheckpointChoice& ac : space.checkpointing) {
            c.activation_checkpointing = ac.mode;
            c.ac_every = std::min<std::int64_t>(ac.every, model.layers);
            for (std::int64_t seq : space.seq_lens) {
              if (seq < limits.min_seq_len) {
                continue;
              }
              c.seq_len = seq;
              c.grad_accum = 1;
              evaluate_micro_batches(ctx, proto, gpu, inst, net);
            }
          }
        }
      }
    }
  }
  result.feasible = static_cast<std::int64_t>(ctx.feasible.size());
  result.candidates_evaluated = result.feasible;
  for (std::int64_t n : result.rejections) {
    result.candidates_evaluated += n;
  }
  mark_pareto(ctx.feasible);
  std::sort(ctx.feasible.begin(), ctx.feasible.end(), [&](const Candidate& a, const Candidate& b) {
    const double sa = objective_score(a, objective), sb = objective_score(b, objective);
    if (sa != sb) {
      return sa > sb;
    }
    return key_less(a, b);
  });
  if (ctx.feasible.size() > top_k) {
    ctx.feasible.resize(top_k);
  }
  for (Candidate& c : ctx.feasible) {
    const InstanceSpec& inst = space.instances[c.instance];
    c.id = c.key();
    c.cost.price_basis = limits.price_per_hour
                             ? std::string("--price-per-hour")
                             : fmt::format("{} {}, {}, {}", inst.name, inst.price.kind,
                                           inst.price.region, inst.price.as_of);
  }
  result.plans = std::move(ctx.feasible);
  return result;
}

} // namespace bwplan
