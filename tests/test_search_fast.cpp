// The search's fast path (search_kernel.hpp) against the full models: for a sample of candidates
// across presets, instance types and training modes, one candidate evaluation must give the
// numbers and the verdict `estimate` gives, bit for bit.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "bwplan/estimate.hpp"
#include "bwplan/search.hpp"
#include "bwplan/search_kernel.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

struct Collect final : CombinationVisitor {
  const ModelSpec* model = nullptr;
  ModelFacts facts;
  SearchConstraints limits;
  MemoryConstants mk;
  std::vector<Combination> combinations;
  void combination(const Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                   const Network& net) override {
    combinations.push_back(make_combination(*model, facts, proto, gpu, inst, net, limits, mk, {}));
  }
  void unsupported(const Candidate&, const GpuSpec&, Precision) override {}
};

/// One training mode and constraint set the sample is drawn under.
struct Variant {
  TrainingConfig base;
  std::vector<Precision> precisions; ///< empty: the GPU's defaults
  SearchConstraints limits;
  double headroom_fraction = 0; ///< MemoryConstants::headroom_fraction
};

std::vector<Variant> variants() {
  std::vector<Variant> v(6);
  v[1].base.offload = Offload::cpu;
  v[1].base.optimizer_impl = OptimizerImpl::foreach;
  v[1].base.grad_accum_mode = GradAccumMode::no_sync;
  v[1].limits.global_batch_tokens = 2e6; // grad-accum > 1
  v[1].limits.train_tokens = 1e12;
  v[2].base.compile = true;
  v[2].base.loss = Loss::fused;
  v[2].base.fp8_backend = Fp8Backend::te;
  v[2].base.fsdp_wrap = FsdpWrap::root;
  v[2].headroom_fraction = 0.1;
  v[2].limits.include_at_risk = true;
  v[3].base.loss = Loss::chunked;
  v[3].base.optimizer = Optimizer::adamw_8bit;
  v[3].base.norm_impl = NormImpl::upcast;
  v[3].limits.global_batch_tokens = 5e5;
  v[3].limits.global_batch_tolerance = 0.05;
  v[4].base.optimizer = Optimizer::adafactor;
  v[4].base.compile = true;
  v[4].base.loss = Loss::chunked;
  v[4].precisions = {Precision::fp32, Precision::bf16_pure, Precision::mxfp8, Precision::nvfp4,
                     Precision::fp8_tensorwise};
  v[4].limits.price_per_hour = 30;
  v[4].limits.max_usd_per_hour = 45; // 2-node jobs (60 USD/h) are over it
  v[4].limits.train_tokens = 1e11;
  // Liger's loss and SiLU-multiply: its chunk (the largest transient) steps with the tokens.
  v[5].base.loss = Loss::fused_linear;
  v[5].base.swiglu_impl = SwigluImpl::fused;
  return v;
}

/// Counts disagreements and describes the first.
struct Mismatches {
  std::int64_t count = 0;
  std::string first;
  void check(bool ok, const std::string& what, const Combination& c, std::int64_t mb) {
    if (ok) {
      return;
    }
    if (count++ == 0) {
      std::ostringstream s;
      s << what << " at instance " << c.instance << ", nodes " << c.nodes << ", sharding "
        << name_of(c.config.sharding) << ", precision " << name_of(c.config.precision)
        << ", checkpointing " << name_of(c.config.activation_checkpointing) << ", micro-batch "
        << mb;
      first = s.str();
    }
  }
};

} // namespace

TEST_CASE("one fast candidate evaluation equals the full estimate, verdict included",
          "[search][fast]") {
  SearchSpace space;
  for (const char* name : {"ml.p6-b200.48xlarge", "ml.p5.48xlarge", "ml.p4d.24xlarge"}) {
    space.instances.push_back(test::catalog().instance(name));
    space.gpus.push_back(test::catalog().gpu(space.instances.back().gpu));
  }
  space.nodes = {1, 2};
  Mismatches bad;
  std::int64_t pipelined = 0;
  std::int64_t sampled = 0, fitting = 0, over_budget = 0, batch_missed = 0, accumulating = 0,
               at_risk = 0;
  for (const Variant& v : variants()) {
    space.base = v.base;
    space.precisions = v.precisions;
    for (const ModelSpec& m : test::catalog().models) {
      Collect collect;
      collect.model = &m;
      collect.facts = model_facts(m);
      collect.limits = v.limits;
      collect.mk.headroom_fraction = v.headroom_fraction;
      for_each_combination(m, model_facts(m), space, v.limits, collect);
      for (const Combination& c : collect.combinations) {
        for (std::int64_t mb : {1, 2, 7, 64}) {
          ++sampled;
          const CandidateOutcome o = evaluate_candidate(c, mb, v.limits);
          TrainingConfig config = c.config;
          config.micro_batch = mb;
          config.grad_accum = o.grad_accum;
          const EstimateRequest q =
              estimate_request(m, space, v.limits, c.instance, c.nodes, config);
          accumulating += o.grad_accum > 1 ? 1 : 0;
          pipelined += c.config.pp > 1 ? 1 : 0;
          if (v.limits.global_batch_tokens > 0) {
            // Tokens per micro-step: the data-parallel GPUs' (tensor-, context- and
            // pipeline-parallel ranks share a micro-batch).
            const std::int64_t pp = c.config.pp;
            const double per_step = static_cast<double>(
                mb * c.config.seq_len * (c.config.gpus / (c.config.tp * c.config.cp * pp)));
            auto ga =
                std::max<std::int64_t>(1, std::llround(v.limits.global_batch_tokens / per_step));
            if (pp > 1 && c.config.pp_schedule == PipelineSchedule::interleaved_1f1b && ga > pp) {
              ga = std::llround(static_cast<double>(ga) / static_cast<double>(pp)) * pp;
            }
            const double miss =
                std::abs(per_step * static_cast<double>(ga) - v.limits.global_batch_tokens) /
                v.limits.global_batch_tokens;
            bad.check(o.grad_accum == ga, "grad-accum", c, mb);
            const bool missed = miss > v.limits.global_batch_tolerance;
            bad.check(missed == (!o.feasible && o.reason == RejectReason::global_batch_unreachable),
                      "global batch verdict", c, mb);
            if (missed) {
              ++batch_missed;
              continue; // nothing else is computed for it
            }
          }
          const Estimate e = evaluate(q, collect.mk, {});
          bad.check(o.device_bytes_required == e.memory.device_bytes_required, "device bytes", c,
                    mb);
          bad.check(device_bytes_required(c.memory, mb, o.grad_accum) ==
                        e.memory.device_bytes_required,
                    "device_bytes_required()", c, mb);
          const bool oom = !o.feasible && o.reason == RejectReason::out_of_memory;
          bad.check(oom == (e.infeasibility == RejectReason::out_of_memory), "fits verdict", c, mb);
          if (oom) {
            bad.check(o.closeness == e.memory.device_bytes_required / e.memory.usable_bytes,
                      "out-of-memory closeness", c, mb);
            continue;
          }
          bad.check(device_bytes_required_high(c.memory, mb, o.grad_accum) ==
                        e.memory.device_bytes_required_high,
                    "device_bytes_required_high()", c, mb);
          bad.check(o.headroom_bytes == e.memory.headroom_bytes(), "headroom", c, mb);
          const bool risk = !o.feasible && o.reason == RejectReason::at_risk;
          bad.check(risk == (!v.limits.include_at_risk && e.memory.verdict() == Verdict::at_risk),
                    "at-risk verdict", c, mb);
          if (risk) {
            ++at_risk;
            continue;
          }
          const bool host = !o.feasible && o.reason == RejectReason::host_memory_exceeded;
          bad.check(host == (e.infeasibility == RejectReason::host_memory_exceeded),
                    "host memory verdict", c, mb);
          if (host) {
            continue;
          }
          const StepRate rate = step_rate(c.time, mb, o.grad_accum);
          bad.check(rate.step_s == e.time.step_s, "step seconds", c, mb);
          bad.check(rate.tokens_per_s_job == e.time.tokens_per_s_job, "step_rate() tokens/s", c,
                    mb);
          bad.check(o.tokens_per_s_job == e.time.tokens_per_s_job, "tokens/s", c, mb);
          bad.check(o.usd_per_hour == e.cost.usd_per_hour, "USD/h", c, mb);
          bad.check(o.usd_per_million_tokens == e.cost.usd_per_million_tokens, "USD/Mtok", c, mb);
          bad.check(o.hours_to_train == e.cost.hours_to_train, "hours to train", c, mb);
          const bool budget =
              v.limits.max_usd_per_hour > 0 && e.cost.usd_per_hour > v.limits.max_usd_per_hour;
          bad.check(budget == (!o.feasible && o.reason == RejectReason::over_budget),
                    "budget verdict", c, mb);
          bad.check(o.feasible == (e.feasible() && !budget), "feasible verdict", c, mb);
          over_budget += budget ? 1 : 0;
          fitting += o.feasible ? 1 : 0;
        }
      }
    }
  }
  INFO(bad.count << " of " << sampled << " disagree; first: " << bad.first);
  CHECK(bad.count == 0);
  // The sample reaches every verdict.
  CHECK(fitting > 1000);
  CHECK(over_budget > 0);
  CHECK(at_risk > 0);
  CHECK(batch_missed > 0);
  CHECK(accumulating > 0);
  CHECK(pipelined > 1000); // A100 40 GB nodes cannot hold the 70B's states: stages are tried
  CHECK(sampled > fitting + over_budget + batch_missed);
}

TEST_CASE("a search counts evaluated and pruned candidates apart; its records are the models'",
          "[search][fast]") {
  SearchSpace space;
  for (const char* name : {"ml.p6-b200.48xlarge", "ml.p4d.24xlarge"}) {
    space.instances.push_back(test::catalog().instance(name));
    space.gpus.push_back(test::catalog().gpu(space.instances.back().gpu));
  }
  space.nodes = {2, 1};
  space.precisions = {Precision::bf16, Precision::mxfp8};
  SearchConstraints limits;
  limits.global_batch_tokens = 1.2e6; // 8 GPUs x 8192: micro-batch 1 or 2 reach it, 4 does not
  limits.global_batch_tolerance = 0.05;
  limits.train_tokens = 1e12;
  const ModelSpec& m = test::preset("llama-3.1-70b");
  const SearchResult r = run_search(m, space, limits, Objective::cost, 40);
  CHECK(r.candidates_evaluated == r.candidates_computed + r.candidates_pruned);
  CHECK(r.candidates_computed >= r.feasible);
  CHECK(r.candidates_pruned > 0);
  CHECK(r.memory_probes > 0);
  REQUIRE_FALSE(r.plans.empty());
  for (const Candidate& c : r.plans) {
    const Estimate e = evaluate(estimate_request(m, space, limits, c.instance, c.nodes, c.config));
    CHECK(e.memory.device_bytes_required == c.memory.device_bytes_required);
    CHECK(e.memory.peak_reserved_bytes == c.memory.peak_reserved_bytes);
    CHECK(e.time.step_s == c.time.step_s);
    CHECK(e.time.tokens_per_s_job == c.time.tokens_per_s_job);
    CHECK(e.cost.usd_per_million_tokens == c.cost.usd_per_million_tokens);
    CHECK(e.cost.price_basis.overridden == c.cost.price_basis.overridden);
    CHECK(e.cost.price_basis.instance == c.cost.price_basis.instance);
    CHECK(e.cost.price_basis.price.as_of == c.cost.price_basis.price.as_of);
  }
  for (RejectReason reason : {RejectReason::out_of_memory, RejectReason::global_batch_unreachable,
                              RejectReason::precision_unsupported}) {
    const RejectedBest& b = r.best_rejected[static_cast<std::size_t>(reason)];
    INFO(name_of(static_cast<RejectReason>(static_cast<std::size_t>(reason))));
    REQUIRE(b.present);
    CHECK_FALSE(b.detail.empty());
    if (reason == RejectReason::out_of_memory) {
      const MemoryEstimate e =
          estimate_memory(m, b.candidate.config, space.gpus[b.candidate.instance]);
      CHECK(b.closeness == e.device_bytes_required / e.usable_bytes);
      CHECK(e.device_bytes_required == b.candidate.memory.device_bytes_required);
    }
  }
}
