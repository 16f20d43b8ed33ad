/// \file
/// Shared by the libFuzzer targets: the built-in catalog, and the step past loading that runs an
/// accepted value through the models, so that arithmetic on extreme accepted values is fuzzed.
/// bwplan::Error is the correct outcome for bad input and is caught by each target; anything
/// else (another exception, a crash, an ASan/UBSan report, a non-finite result) is a finding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/model_spec.hpp"
#include "bwplan/render.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan::fuzz {

/// The catalog compiled into the binary, loaded once per process.
inline const Catalog& catalog() {
  static const Catalog c = builtin_catalog();
  return c;
}

[[noreturn]] inline void fail(const char* what, double value) {
  std::fprintf(stderr, "bwplan fuzz: %s = %g\n", what, value);
  std::abort();
}

/// A result the models computed must be a finite number (and, where it is a size or a rate,
/// not negative).
inline void check_finite(const char* what, double v) {
  if (!std::isfinite(v)) {
    fail(what, v);
  }
}
inline void check_non_negative(const char* what, double v) {
  if (!std::isfinite(v) || v < 0) {
    fail(what, v);
  }
}

inline void check_estimate(const Estimate& e) {
  if (e.params.total <= 0) {
    fail("params.total", static_cast<double>(e.params.total));
  }
  check_non_negative("memory.peak_allocated_bytes", e.memory.peak_allocated_bytes);
  check_non_negative("memory.peak_reserved_bytes", e.memory.peak_reserved_bytes);
  check_non_negative("memory.device_bytes_required", e.memory.device_bytes_required);
  check_finite("memory.usable_bytes", e.memory.usable_bytes);
  check_non_negative("time.step_s", e.time.step_s);
  check_non_negative("time.tokens_per_s_per_gpu", e.time.tokens_per_s_per_gpu);
  check_non_negative("time.mfu", e.time.mfu);
  check_non_negative("cost.usd_per_hour", e.cost.usd_per_hour);
  check_non_negative("cost.hours_to_train", e.cost.hours_to_train);
}

/// An accepted model: its facts and parameter count, then one estimate with the default training
/// configuration on one ml.p5.48xlarge (8 x H100).
inline void exercise_model(const ModelSpec& m, const ModelConstants& k = catalog().constants) {
  const ModelFacts f = model_facts(m);
  const ParamCounts n = count_parameters(m);
  if (n.total <= 0 || n.total != f.counts.total || n.non_embedding() < 0) {
    fail("count_parameters(m).total", static_cast<double>(n.total));
  }
  (void)format_params(n.total);
  const std::int64_t active = active_parameters(m);
  if (active <= 0 || active > n.total) {
    fail("active_parameters(m)", static_cast<double>(active));
  }
  EstimateRequest r;
  r.model = m;
  r.instance = catalog().instance("ml.p5.48xlarge");
  r.gpu = catalog().gpu(r.instance->gpu);
  r.nodes = 1;
  r.config.ac_every = std::min<std::int64_t>(2, m.layers);
  r.config.seq_len = std::min<std::int64_t>(8192, m.max_seq_len);
  r.train_tokens = 1e12;
  if (m.is_moe()) { // the largest expert-parallel degree the 8 GPUs and the experts allow
    r.config.ep = std::gcd(m.experts, std::int64_t{8});
  }
  validate_config(r.config, m);
  const Estimate e = evaluate(r, k.memory, k.time);
  check_estimate(e);
}

} // namespace bwplan::fuzz
