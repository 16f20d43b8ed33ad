#include "bwplan/validation.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/error.hpp"

namespace bwplan {

std::string_view name_of(Metric m) {
  switch (m) {
  case Metric::peak_reserved: return "peak_reserved_gib";
  case Metric::peak_allocated: return "peak_allocated_gib";
  case Metric::peak_active: return "peak_active_gib";
  case Metric::fits: return "fits";
  }
  return "unknown";
}

double median_of(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

MetricBand metric_band(const MemoryEstimate& m, Metric metric) {
  switch (metric) {
  case Metric::peak_reserved:
    return {m.peak_reserved_bytes, m.peak_reserved_low_bytes, m.peak_reserved_high_bytes};
  case Metric::peak_allocated:
  case Metric::peak_active:
    return {m.peak_allocated_bytes, m.peak_allocated_low_bytes, m.peak_allocated_high_bytes};
  case Metric::fits: // the verdict uses the upper edge only
    return {m.device_bytes_required, m.device_bytes_required, m.device_bytes_required_high};
  }
  return {};
}

std::string measured_tokens_per_s_problem(const Estimate& e, double tokens_per_s) {
  // No GPU runs more model FLOPs than its peak: above it the figure is not one GPU's, and would
  // read as the model being that many times too slow.
  const double mfu = e.time.mfu * tokens_per_s / e.time.tokens_per_s_per_gpu;
  if (!(mfu > 1.0)) {
    return {};
  }
  return fmt::format("{:g} is {:.0f} % of {}'s peak in model FLOPs (allowed up to 100 %: a "
                     "job's tokens/s, not one GPU's?)",
                     tokens_per_s, 100.0 * mfu, e.request.gpu.name);
}

Validation validate_cases(const std::vector<MeasurementCase>& cases, const MemoryConstants& k,
                          const TimeConstants& tk) {
  Validation v;
  std::vector<double> errors;
  std::vector<double> throughput_errors;
  int fit_right = 0;
  int oom_flagged = 0;
  int in_band = 0;
  int under_upper_edge = 0;
  int throughput_in_band = 0;
  std::vector<double> band_high;
  std::vector<double> throughput_band;
  for (const MeasurementCase& mc : cases) {
    const Estimate e = evaluate(mc.request, k, tk);
    const MemoryEstimate& m = e.memory;
    CaseResult r;
    r.id = mc.id;
    r.metric = mc.metric;
    r.peak_phase = k_step_phase_names[static_cast<std::size_t>(m.peak_phase)];
    r.predicted_fits = m.fits();
    r.predicted_verdict = m.verdict();
    const MetricBand band = metric_band(m, mc.metric);
    r.predicted_bytes = band.estimate;
    r.predicted_low_bytes = band.low;
    r.predicted_high_bytes = band.high;
    if (mc.metric == Metric::fits) {
      r.measured_fits = mc.fits;
      ++v.summary.fit_cases;
      fit_right += r.predicted_fits == r.measured_fits ? 1 : 0;
      if (!r.measured_fits) {
        ++v.summary.oom_cases;
        oom_flagged += r.predicted_verdict != Verdict::fits ? 1 : 0;
      }
    } else {
      r.measured_bytes = mc.value_bytes;
      r.error_pct = 100.0 * (r.predicted_bytes - r.measured_bytes) / r.measured_bytes;
      errors.push_back(std::abs(r.error_pct));
      r.in_band =
          r.predicted_low_bytes <= r.measured_bytes && r.measured_bytes <= r.predicted_high_bytes;
      in_band += r.in_band ? 1 : 0;
      under_upper_edge += r.measured_bytes <= r.predicted_high_bytes ? 1 : 0;
      v.summary.ran_called_out_of_memory += r.predicted_fits ? 0 : 1;
      band_high.push_back(100.0 * (r.predicted_high_bytes / r.predicted_bytes - 1.0));
      if (v.summary.max_error_case.empty() || std::abs(r.error_pct) > v.summary.max_abs_error_pct) {
        v.summary.max_abs_error_pct = std::abs(r.error_pct);
        v.summary.max_error_case = r.id;
      }
    }
    if (mc.tokens_per_second_per_gpu) {
      r.measured_tokens_per_s = *mc.tokens_per_second_per_gpu;
      if (const std::string problem = measured_tokens_per_s_problem(e, r.measured_tokens_per_s);
          !problem.empty()) {
        throw Error(fmt::format("case '{}': measured tokens_per_second_per_gpu {}", r.id, problem));
      }
      r.predicted_tokens_per_s = e.time.tokens_per_s_per_gpu;
      r.predicted_tokens_per_s_low = e.time.tokens_per_s_per_gpu_low;
      r.predicted_tokens_per_s_high = e.time.tokens_per_s_per_gpu_high;
      r.throughput_in_band = r.predicted_tokens_per_s_low <= r.measured_tokens_per_s &&
                             r.measured_tokens_per_s <= r.predicted_tokens_per_s_high;
      throughput_in_band += r.throughput_in_band ? 1 : 0;
      throughput_band.push_back(100.0 *
                                (1.0 - r.predicted_tokens_per_s_low / r.predicted_tokens_per_s));
      r.throughput_error_pct =
          100.0 * (r.predicted_tokens_per_s - r.measured_tokens_per_s) / r.measured_tokens_per_s;
      throughput_errors.push_back(std::abs(r.throughput_error_pct));
      if (v.summary.throughput_max_error_case.empty() ||
          std::abs(r.throughput_error_pct) > v.summary.throughput_max_abs_error_pct) {
        v.summary.throughput_max_abs_error_pct = std::abs(r.throughput_error_pct);
        v.summary.throughput_max_error_case = r.id;
      }
    }
    v.cases.push_back(r);
  }
  v.summary.numeric_cases = static_cast<int>(errors.size());
  v.summary.median_abs_error_pct = median_of(errors);
  v.summary.throughput_cases = static_cast<int>(throughput_errors.size());
  v.summary.throughput_median_abs_error_pct = median_of(throughput_errors);
  if (!errors.empty()) {
    v.summary.band_coverage = static_cast<double>(in_band) / static_cast<double>(errors.size());
    v.summary.upper_edge_coverage =
        static_cast<double>(under_upper_edge) / static_cast<double>(errors.size());
  }
  if (!throughput_errors.empty()) {
    v.summary.throughput_band_coverage =
        static_cast<double>(throughput_in_band) / static_cast<double>(throughput_errors.size());
  }
  v.summary.median_band_high_pct = median_of(band_high);
  v.summary.throughput_median_band_pct = median_of(throughput_band);
  if (v.summary.fit_cases > 0) {
    v.summary.fit_accuracy = static_cast<double>(fit_right) / v.summary.fit_cases;
  }
  if (v.summary.oom_cases > 0) {
    v.summary.oom_flagged = static_cast<double>(oom_flagged) / v.summary.oom_cases;
  }
  return v;
}

} // namespace bwplan
