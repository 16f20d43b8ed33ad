/// \file
/// Fitting the models' free constants to a user's measured runs (`bwplan calibrate`;
/// docs/model.md, "Calibration"): a regularised least-squares fit of log errors, with bounds,
/// refusing the constants the runs cannot identify, and leave-one-out errors.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/constants.hpp"
#include "bwplan/validation.hpp"

namespace bwplan {

/// Which measured figure a free constant moves.
enum class Quantity : std::uint8_t { memory, throughput };

/// A constant calibration may move: within [lo, hi], paying `k_calibration_prior_weight` per
/// `prior_scale` squared away from its shipped value.
struct FreeConstant {
  std::string_view key; ///< as set_constant() takes it
  Quantity quantity;
  double lo, hi;
  double prior_scale;
  std::string_view needs; ///< the kind of run that identifies it, for the refusal
};

inline constexpr std::array<FreeConstant, 10> k_free_constants = {{
    {"memory.activation_scale", Quantity::memory, 0.5, 3.0, 0.25,
     "memory runs at two or more micro-batch x sequence sizes, peaking in backward"},
    {"memory.extra_logit_bytes", Quantity::memory, 0.0, 16.0, 4.0,
     "memory runs that peak where the logits are alive (unfused loss, large vocab x tokens)"},
    {"memory.fixed_bytes", Quantity::memory, 0.0, 1e11, 40e9,
     "memory runs at two or more micro-batch x sequence sizes, to tell a fixed amount from "
     "activations"},
    {"memory.fragmentation_fraction", Quantity::memory, 0.0, 1.0, 0.3,
     "peak reserved (not allocated) memory runs with a large logits or reduce-scatter tensor"},
    {"time.matmul_efficiency_max", Quantity::throughput, 0.3, 0.95, 0.15,
     "tokens/s runs at short sequences (matmul-bound)"},
    {"time.attention_forward_efficiency", Quantity::throughput, 0.25, 0.95, 0.15,
     "tokens/s runs at long sequences (attention-bound)"},
    {"time.attention_backward_efficiency", Quantity::throughput, 0.25, 0.95, 0.15,
     "tokens/s runs at long sequences, apart from the forward efficiency"},
    {"time.inter_node_bus_fraction", Quantity::throughput, 0.05, 1.0, 0.2,
     "tokens/s runs on two or more nodes where communication is exposed"},
    {"time.collective_contention", Quantity::throughput, 1.0, 8.0, 1.5,
     "tokens/s runs where communication is exposed, inside one node and across nodes"},
    {"time.overlap_fraction", Quantity::throughput, 0.0, 1.0, 0.3,
     "tokens/s runs where communication and compute take comparable time, at two or more "
     "ratios of the two (node counts or micro-batches)"},
}};

/// One prior_scale away from the shipped value costs as much as one run predicted 10 % off
/// (0.1 squared, in log error): two runs cannot drag a constant far on their own.
inline constexpr double k_calibration_prior_weight = 0.01;
/// Log errors up to about this size count squared, larger ones linearly (soft L1).
inline constexpr double k_calibration_robust_scale = 0.05;
/// A constant is identified when moving it by its prior_scale moves the runs' log predictions by
/// at least this much (root of the summed squares) ...
inline constexpr double k_calibration_min_sensitivity = 0.02;
/// ... and its effect on the runs is not this parallel to a constant fitted before it.
inline constexpr double k_calibration_max_collinearity = 0.995;

/// The most measurement cases one calibration takes: each fit evaluates every run about a
/// thousand times and there are up to 11 fits per quantity (the fit and 10 folds), so this bounds
/// a calibration to about a minute on one core (bench_calibrate: ~30 ms per figure at 20 runs).
inline constexpr std::size_t k_max_calibration_cases = 200;

struct FittedConstant {
  std::string key;
  double shipped = 0, fitted = 0;
};
struct UnfittedConstant {
  std::string key;
  std::string reason;
};

/// One measured figure of one run, predicted before and after, and by the fit without this run
/// (leave-one-out up to 10 runs; beyond, 10-fold: without the tenth of the runs it is in).
struct CalibratedRun {
  std::string id;
  std::string source;
  Quantity quantity = Quantity::memory;
  double measured = 0; ///< bytes (the case's metric) or tokens/s per GPU
  double before = 0, after = 0, leave_one_out = 0;
};

struct ErrorSummary {
  int runs = 0;
  double median_abs_pct = 0, max_abs_pct = 0;
};
struct CalibrationErrors {
  ErrorSummary before, after, leave_one_out;
};

/// What the runs covered: a profile is trusted inside it and its bands widen outside.
struct CalibrationRange {
  std::vector<std::string> gpus, models;
  std::int64_t seq_len_min = 0, seq_len_max = 0;
  std::int64_t gpus_min = 0, gpus_max = 0;
};

struct Calibration {
  ModelConstants constants; ///< the shipped constants with the fitted ones replaced
  std::vector<FittedConstant> fitted;
  std::vector<UnfittedConstant> not_fitted;
  std::vector<CalibratedRun> runs;
  CalibrationErrors memory, throughput;
  CalibrationRange range;
  int fit_cases = 0, fit_right_before = 0, fit_right_after = 0;
};

/// Fits the free constants to `cases` from `shipped`. Memory constants fit the cases' memory
/// metric, time constants their tokens/s; each group alone (neither moves the other's figure).
/// Leave-one-out refits without each run in turn (10-fold beyond 10 runs). Throws Error for more
/// than k_max_calibration_cases cases, or a run whose measured or predicted figure is not
/// positive or is more than 10 times the other (naming the run's id and source).
[[nodiscard]] Calibration calibrate(const std::vector<MeasurementCase>& cases,
                                    const ModelConstants& shipped);

/// The bands a profile's errors imply: the largest leave-one-out error (or the largest error
/// after the fit, when greater), at least the shipped band's, written as the band constants.
/// Throws Error naming the run when a band would be wider than its constant allows (`k`
/// unchanged).
void apply_calibrated_bands(const Calibration& cal, ModelConstants& k);

} // namespace bwplan
