#include "bwplan/constants.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/suggest.hpp"

namespace bwplan {

namespace {

struct MemoryField {
  const char* key;
  double MemoryConstants::*member;
};
struct TimeField {
  const char* key;
  double TimeConstants::*member;
};

constexpr MemoryField k_memory_fields[] = {
    {"fragmentation_fraction", &MemoryConstants::fragmentation_fraction},
    {"cuda_context_bytes", &MemoryConstants::cuda_context_bytes},
    {"nccl_bytes_per_communicator", &MemoryConstants::nccl_bytes_per_communicator},
};

constexpr TimeField k_time_fields[] = {
    {"matmul_efficiency_max", &TimeConstants::matmul_efficiency_max},
    {"matmul_half_work", &TimeConstants::matmul_half_work},
    {"attention_executed_fraction", &TimeConstants::attention_executed_fraction},
    {"eager_activation_passes", &TimeConstants::eager_activation_passes},
    {"compiled_activation_passes", &TimeConstants::compiled_activation_passes},
    {"quant_act_bytes_tensorwise", &TimeConstants::quant_act_bytes_tensorwise},
    {"quant_act_bytes_rowwise", &TimeConstants::quant_act_bytes_rowwise},
    {"quant_act_bytes_block_scaled", &TimeConstants::quant_act_bytes_block_scaled},
    {"quant_weight_bytes_tensorwise", &TimeConstants::quant_weight_bytes_tensorwise},
    {"quant_weight_bytes_rowwise", &TimeConstants::quant_weight_bytes_rowwise},
    {"quant_weight_bytes_block_scaled", &TimeConstants::quant_weight_bytes_block_scaled},
    {"quant_weight_bytes_fp8_all_gather", &TimeConstants::quant_weight_bytes_fp8_all_gather},
    {"quant_bandwidth_fraction", &TimeConstants::quant_bandwidth_fraction},
    {"eager_cpu_seconds_per_block", &TimeConstants::eager_cpu_seconds_per_block},
    {"compiled_cpu_fraction", &TimeConstants::compiled_cpu_fraction},
    {"intra_node_bus_fraction", &TimeConstants::intra_node_bus_fraction},
    {"inter_node_bus_fraction", &TimeConstants::inter_node_bus_fraction},
    {"collective_contention", &TimeConstants::collective_contention},
    {"overlap_fraction", &TimeConstants::overlap_fraction},
    {"pcie_bytes_per_s", &TimeConstants::pcie_bytes_per_s},
    {"host_memory_bytes_per_s", &TimeConstants::host_memory_bytes_per_s},
};

double* find(ModelConstants& k, std::string_view key) {
  for (const MemoryField& f : k_memory_fields) {
    if (key == fmt::format("memory.{}", f.key)) {
      return &(k.memory.*f.member);
    }
  }
  for (const TimeField& f : k_time_fields) {
    if (key == fmt::format("time.{}", f.key)) {
      return &(k.time.*f.member);
    }
  }
  const std::vector<std::string> keys = constant_keys();
  throw Error(fmt::format("constant '{}' is not known{}; keys are listed in "
                          "configs/constants/model.json",
                          key, did_you_mean(key, keys)));
}

} // namespace

std::vector<std::string> constant_keys() {
  std::vector<std::string> keys;
  for (const MemoryField& f : k_memory_fields) {
    keys.push_back(fmt::format("memory.{}", f.key));
  }
  for (const TimeField& f : k_time_fields) {
    keys.push_back(fmt::format("time.{}", f.key));
  }
  return keys;
}

void set_constant(ModelConstants& k, std::string_view key, double value) {
  double* slot = find(k, key);
  if (!std::isfinite(value) || value < 0 || value > 1e30) {
    throw Error(fmt::format("constant {} = {} is out of range (allowed 0..1e30)", key, value));
  }
  *slot = value;
}

double get_constant(const ModelConstants& k, std::string_view key) {
  ModelConstants copy = k;
  return *find(copy, key);
}

} // namespace bwplan
