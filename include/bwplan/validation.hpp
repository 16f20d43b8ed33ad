/// \file
/// Predicted vs measured memory over a set of real runs (`bwplan validate`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bwplan/estimate.hpp"

namespace bwplan {

/// What a measurement case measured (docs/bwplan.md, FILES: `measured.metric`).
enum class Metric : std::uint8_t { peak_reserved, peak_allocated, peak_active, fits };
[[nodiscard]] std::string_view name_of(Metric m);

struct MeasurementCase {
  std::string id;
  std::string source;
  EstimateRequest request;
  Metric metric = Metric::peak_reserved;
  double value_bytes = 0; ///< for the memory metrics
  bool fits = true;       ///< for Metric::fits
  std::optional<double> tokens_per_second_per_gpu;
};

/// The median of `v` (the mean of the middle two for an even count; 0 when empty).
[[nodiscard]] double median_of(std::vector<double> v);

/// The predicted figure a metric is compared with, and its band's edges.
struct MetricBand {
  double estimate = 0, low = 0, high = 0;
};
[[nodiscard]] MetricBand metric_band(const MemoryEstimate& m, Metric metric);

/// Why a measured tokens/s per GPU is no run's, or "": at `e`'s configuration it would run more
/// model FLOPs than the GPU's peak (MFU above 100 %: a job's tokens/s, say).
[[nodiscard]] std::string measured_tokens_per_s_problem(const Estimate& e, double tokens_per_s);

struct CaseResult {
  std::string id;
  Metric metric = Metric::peak_reserved;
  double measured_bytes = 0;
  double predicted_bytes = 0;
  double predicted_low_bytes = 0, predicted_high_bytes = 0; ///< the band's edges of the metric
  bool in_band = false;                                     ///< low <= measured <= high
  double error_pct = 0; ///< (predicted - measured) / measured, percent; 0 for fits cases
  bool measured_fits = true;
  bool predicted_fits = true;
  Verdict predicted_verdict = Verdict::fits;
  std::string peak_phase;
  double measured_tokens_per_s = 0; ///< per GPU; 0 when the case has none
  double predicted_tokens_per_s = 0;
  double predicted_tokens_per_s_low = 0, predicted_tokens_per_s_high = 0;
  bool throughput_in_band = false;
  double throughput_error_pct = 0;
};

struct ValidationSummary {
  int numeric_cases = 0;
  double median_abs_error_pct = 0;
  double max_abs_error_pct = 0;
  std::string max_error_case;
  int fit_cases = 0;
  double fit_accuracy = 1.0; ///< fraction of fit cases predicted right (1 when there are none)
  int oom_cases = 0;         ///< fit cases that ran out of memory
  /// fraction of those whose verdict is not `fits` (at_risk or out_of_memory; 1 when none)
  double oom_flagged = 1.0;
  int throughput_cases = 0;
  double throughput_median_abs_error_pct = 0;
  double throughput_max_abs_error_pct = 0;
  std::string throughput_max_error_case; ///< empty without throughput cases
  /// Fractions of the cases whose measured value lies inside the band (1 when there are none).
  double band_coverage = 1.0;
  double throughput_band_coverage = 1.0;
  /// Fraction of the memory cases measured at or under the band's upper edge: the side a plan's
  /// verdict rests on (1 when there are none).
  double upper_edge_coverage = 1.0;
  /// Memory cases (runs that ran, so fitted) whose estimate does not fit their GPU: a wrong
  /// out-of-memory call, as a fit case's would be.
  int ran_called_out_of_memory = 0;
  /// Median of the band's upper edge over the estimate, percent (how wide the band is).
  double median_band_high_pct = 0;
  double throughput_median_band_pct = 0; ///< the same for the tokens/s band's lower edge
};

struct Validation {
  std::vector<CaseResult> cases;
  ValidationSummary summary;
};

/// Evaluates every case with the memory model and compares on the case's metric.
[[nodiscard]] Validation validate_cases(const std::vector<MeasurementCase>& cases,
                                        const MemoryConstants& k = {},
                                        const TimeConstants& tk = {});

} // namespace bwplan
