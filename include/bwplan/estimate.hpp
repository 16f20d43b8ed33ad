/// \file
/// One training configuration on one cluster, resolved and evaluated: the single data product
/// that `bwplan estimate` renders (as a table or JSON) without recomputing anything.
#pragma once

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
  /// Network bits/s per node between nodes: the instance's EFA, else an assumed 3.2 Tb/s.
  [[nodiscard]] double node_network_bits_per_s() const;
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

/// Time to train and what it costs (present when train_tokens > 0 and a price is known).
struct Cost {
  double usd_per_hour = 0; ///< the whole job
  PriceBasis price_basis;  ///< where the hourly price came from
  double usd_per_million_tokens = 0;
  double hours_to_train = 0;
  double usd_to_train = 0;
};

/// Why a configuration cannot run.
enum class Infeasibility : std::uint8_t {
  none,
  precision_unsupported, ///< the GPU has no tensor cores for the format
  out_of_memory,         ///< device memory required exceeds the usable capacity
  host_memory_exceeded,  ///< CPU offload needs more host memory than the instance has
};
[[nodiscard]] std::string_view name_of(Infeasibility i);

struct Estimate {
  EstimateRequest request;
  ParamCounts params;
  std::int64_t shard_group = 1;
  MemoryEstimate memory;
  StepTime time;
  Cost cost;
  Infeasibility infeasibility = Infeasibility::none;
  std::string reason; ///< one line for people when infeasible
  [[nodiscard]] bool feasible() const { return infeasibility == Infeasibility::none; }
};

/// Evaluates `r` (validate_config must have accepted it).
[[nodiscard]] Estimate evaluate(const EstimateRequest& r, const MemoryConstants& k = {},
                                const TimeConstants& tk = {});

/// Hourly price of the job, $ per million tokens, and time and cost to train `train_tokens`.
[[nodiscard]] Cost cost_of(const JobPrice& price, double tokens_per_s_job, double train_tokens);

} // namespace bwplan
