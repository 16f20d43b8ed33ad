/// \file
/// One training configuration on one cluster, resolved and evaluated: the single data product
/// that `bwplan estimate` renders (as a table or JSON) without recomputing anything.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "bwplan/hardware.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/model_spec.hpp"
#include "bwplan/time_model.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan {

/// What to evaluate: the model, where it runs, and how it is trained.
struct EstimateRequest {
  ModelSpec model;
  GpuSpec gpu;
  std::optional<InstanceSpec> instance; ///< set when the cluster is given as instances
  std::int64_t nodes = 1;               ///< instances (1 when only GPUs were given)
  TrainingConfig config;
  double train_tokens = 0;              ///< 0: no time-to-train or cost
  std::optional<double> price_per_hour; ///< overrides the instance's catalog price
};

/// Where a job's hourly price came from: the user's price per instance-hour, or an instance
/// type's catalog price.
struct PriceBasis {
  bool overridden = false;
  std::string instance; ///< the instance type whose catalog price it is (not overridden)
  Price price;          ///< that catalog price: kind, region, date
};

/// The job's price per hour (the override, else the instance's catalog price, per node) and
/// its basis. Without an instance type only an override gives a price.
struct JobPrice {
  double usd_per_hour = 0;
  PriceBasis basis;
};
[[nodiscard]] JobPrice job_price(const InstanceSpec* instance, std::int64_t nodes,
                                 std::optional<double> usd_per_instance_hour);

/// What a job's throughput costs at a price: no strings, so the search's inner loop allocates
/// nothing.
struct CostRates {
  double usd_per_hour = 0; ///< the whole job
  double usd_per_million_tokens = 0;
  double hours_to_train = 0; ///< 0 without train_tokens
  double usd_to_train = 0;
};
[[nodiscard]] CostRates cost_rates(double job_usd_per_hour, double tokens_per_s_job,
                                   double train_tokens);

/// Time to train and what it costs (present when train_tokens > 0 and a price is known).
struct Cost : CostRates {
  PriceBasis price_basis; ///< where the hourly price came from
};

/// Why a configuration cannot run (estimate), or why the search passes a candidate over. One
/// type with one spelling table for both (JSON "reason", "rejections" keys).
enum class RejectReason : std::uint8_t {
  out_of_memory,            ///< device memory required exceeds the usable capacity
  precision_unsupported,    ///< the GPU has no tensor cores for the format
  global_batch_unreachable, ///< no grad-accum reaches the global batch within the tolerance
  host_memory_exceeded,     ///< CPU offload needs more host memory than the instance has
  over_budget,              ///< the job's hourly price is above the budget
  at_risk,                  ///< the estimate fits, the band's upper edge does not
  count_
};
template <> struct EnumTraits<RejectReason> {
  static constexpr std::string_view what = "reason";
  static constexpr std::array<std::string_view, 6> names = {
      "out_of_memory",        "precision_unsupported", "global_batch_unreachable",
      "host_memory_exceeded", "over_budget",           "at_risk"};
};
static_assert(k_enum_table_complete<RejectReason>);
inline constexpr std::size_t k_reject_reasons = static_cast<std::size_t>(RejectReason::count_);

struct Estimate {
  EstimateRequest request;
  ParamCounts params;
  std::int64_t shard_group = 1;
  MemoryEstimate memory;
  StepTime time;
  Cost cost;
  /// Set when it cannot run: out_of_memory, precision_unsupported or host_memory_exceeded.
  std::optional<RejectReason> infeasibility;
  std::string reason; ///< one line for people when infeasible
  [[nodiscard]] bool feasible() const { return !infeasibility; }
};

/// The network a request's job runs on: its GPUs per node, and between nodes the instance's EFA
/// (the constants' default when the cluster is given as GPUs).
[[nodiscard]] Network job_network(const EstimateRequest& r, const TimeConstants& tk);

/// Evaluates `r` (validate_config must have accepted it).
[[nodiscard]] Estimate evaluate(const EstimateRequest& r, const MemoryConstants& k = {},
                                const TimeConstants& tk = {});

/// How far `bytes` of memory are over a limit, as messages say it: whole MiB (rounded up) below
/// 1 GiB, so that a miss by a few MiB does not read "0.00 GiB over"; "1.25 GiB" above.
[[nodiscard]] std::string excess_text(double bytes);

/// Hourly price of the job, $ per million tokens, and time and cost to train `train_tokens`.
[[nodiscard]] Cost cost_of(const JobPrice& price, double tokens_per_s_job, double train_tokens);

} // namespace bwplan
