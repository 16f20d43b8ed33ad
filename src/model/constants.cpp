#include "bwplan/constants.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/suggest.hpp"

namespace bwplan {

namespace {

// Each constant's physical range: fractions in (0, 1], divisors above 0, counts of passes or
// bytes per element below 100. A value outside is an error, never an infinite or NaN result.
// `whole`: a count (tokens, GPUs), which a fraction of would silently mean nothing.
template <class Constants> struct Field {
  const char* key;
  double Constants::*member;
  double lo, hi;
  bool whole = false;
};
using MemoryField = Field<MemoryConstants>;
using TimeField = Field<TimeConstants>;

constexpr MemoryField k_memory_fields[] = {
    {"fragmentation_fraction", &MemoryConstants::fragmentation_fraction, 0.0, 1.0},
    {"fixed_segments_fraction", &MemoryConstants::fixed_segments_fraction, 0.0, 1.0},
    {"cuda_context_bytes", &MemoryConstants::cuda_context_bytes, 0.0, 1e+11},
    {"driver_reserved_bytes", &MemoryConstants::driver_reserved_bytes, 0.0, 1e+11},
    {"nccl_bytes_per_communicator", &MemoryConstants::nccl_bytes_per_communicator, 0.0, 1e+11},
    {"activation_scale", &MemoryConstants::activation_scale, 0.25, 4.0},
    {"extra_logit_bytes", &MemoryConstants::extra_logit_bytes, 0.0, 32.0},
    {"fixed_bytes", &MemoryConstants::fixed_bytes, 0.0, 1e+12},
    {"band_low_fraction", &MemoryConstants::band_low_fraction, 0.0, 0.9},
    {"band_high_fraction", &MemoryConstants::band_high_fraction, 0.0, 10.0},
    {"band_measured_seq_len", &MemoryConstants::band_measured_seq_len, 1.0, 1e+9, true},
    {"band_fraction_per_seq_doubling", &MemoryConstants::band_fraction_per_seq_doubling, 0.0, 1.0},
    {"band_unmeasured_gpu_fraction", &MemoryConstants::band_unmeasured_gpu_fraction, 0.0, 1.0},
    {"band_unfused_bytes_per_logit", &MemoryConstants::band_unfused_bytes_per_logit, 0.0, 100.0},
    {"band_bf16_pure_bytes", &MemoryConstants::band_bf16_pure_bytes, 0.0, 1e+11},
    {"band_tensor_parallel_fraction", &MemoryConstants::band_tensor_parallel_fraction, 0.0, 10.0},
    {"band_pipeline_parallel_fraction", &MemoryConstants::band_pipeline_parallel_fraction, 0.0,
     10.0},
    {"band_mixture_fraction", &MemoryConstants::band_mixture_fraction, 0.0, 10.0},
};

constexpr TimeField k_time_fields[] = {
    {"matmul_efficiency_max", &TimeConstants::matmul_efficiency_max, 0.01, 1.0},
    {"matmul_half_work", &TimeConstants::matmul_half_work, 0.0, 1e+12},
    {"matmul_half_work_flops_per_s", &TimeConstants::matmul_half_work_flops_per_s, 1e9, 1e18},
    {"grouped_gemm_efficiency", &TimeConstants::grouped_gemm_efficiency, 0.01, 1.0},
    {"attention_executed_fraction", &TimeConstants::attention_executed_fraction, 0.0, 1.0},
    {"attention_forward_efficiency", &TimeConstants::attention_forward_efficiency, 0.01, 1.0},
    {"attention_backward_efficiency", &TimeConstants::attention_backward_efficiency, 0.01, 1.0},
    {"eager_activation_passes", &TimeConstants::eager_activation_passes, 0.0, 100.0},
    {"compiled_activation_passes", &TimeConstants::compiled_activation_passes, 0.0, 100.0},
    {"foreach_optimizer_traffic_ratio", &TimeConstants::foreach_optimizer_traffic_ratio, 1.0,
     100.0},
    {"forward_compute_fraction", &TimeConstants::forward_compute_fraction, 0.0, 1.0},
    {"quant_act_bytes_tensorwise", &TimeConstants::quant_act_bytes_tensorwise, 0.0, 100.0},
    {"quant_act_bytes_rowwise", &TimeConstants::quant_act_bytes_rowwise, 0.0, 100.0},
    {"quant_act_bytes_block_scaled", &TimeConstants::quant_act_bytes_block_scaled, 0.0, 100.0},
    {"quant_weight_bytes_tensorwise", &TimeConstants::quant_weight_bytes_tensorwise, 0.0, 100.0},
    {"quant_weight_bytes_rowwise", &TimeConstants::quant_weight_bytes_rowwise, 0.0, 100.0},
    {"quant_weight_bytes_block_scaled", &TimeConstants::quant_weight_bytes_block_scaled, 0.0,
     100.0},
    {"quant_weight_bytes_fp8_all_gather", &TimeConstants::quant_weight_bytes_fp8_all_gather, 0.0,
     100.0},
    {"quant_bandwidth_fraction", &TimeConstants::quant_bandwidth_fraction, 0.01, 1.0},
    {"low_precision_fixed_cost_factor", &TimeConstants::low_precision_fixed_cost_factor, 1.0, 10.0},
    {"power_clock_exponent", &TimeConstants::power_clock_exponent, 0.0, 1.0},
    {"low_precision_rank_margin", &TimeConstants::low_precision_rank_margin, 0.0, 1.0},
    {"eager_cpu_seconds_per_block", &TimeConstants::eager_cpu_seconds_per_block, 0.0, 10.0},
    {"compiled_cpu_fraction", &TimeConstants::compiled_cpu_fraction, 0.0, 1.0},
    {"intra_node_bus_fraction", &TimeConstants::intra_node_bus_fraction, 0.01, 1.0},
    {"inter_node_bus_fraction", &TimeConstants::inter_node_bus_fraction, 0.01, 1.0},
    {"collective_contention", &TimeConstants::collective_contention, 0.0, 100.0},
    {"nccl_base_latency_s", &TimeConstants::nccl_base_latency_s, 0.0, 1.0},
    {"nccl_nvlink_hop_latency_s", &TimeConstants::nccl_nvlink_hop_latency_s, 0.0, 1.0},
    {"nccl_network_hop_latency_s", &TimeConstants::nccl_network_hop_latency_s, 0.0, 1.0},
    {"overlap_fraction", &TimeConstants::overlap_fraction, 0.0, 1.0},
    {"pcie_bytes_per_s", &TimeConstants::pcie_bytes_per_s, 1000000.0, 1e+13},
    {"default_node_network_bits_per_s", &TimeConstants::default_node_network_bits_per_s, 1e6, 1e15},
    {"host_memory_bytes_per_s", &TimeConstants::host_memory_bytes_per_s, 1000000.0, 1e+14},
    {"band_low_fraction", &TimeConstants::band_low_fraction, 0.0, 10.0},
    {"band_high_fraction", &TimeConstants::band_high_fraction, 0.0, 10.0},
    {"band_measured_seq_len", &TimeConstants::band_measured_seq_len, 1.0, 1e+9, true},
    {"band_fraction_per_seq_doubling", &TimeConstants::band_fraction_per_seq_doubling, 0.0, 1.0},
    {"band_unmeasured_gpu_fraction", &TimeConstants::band_unmeasured_gpu_fraction, 0.0, 1.0},
    {"band_measured_gpu_count", &TimeConstants::band_measured_gpu_count, 1.0, 1e+9, true},
    {"band_fraction_per_scale_doubling", &TimeConstants::band_fraction_per_scale_doubling, 0.0,
     1.0},
    {"band_low_fraction_per_cp_doubling", &TimeConstants::band_low_fraction_per_cp_doubling, 0.0,
     10.0},
    {"band_tensor_parallel_fraction", &TimeConstants::band_tensor_parallel_fraction, 0.0, 10.0},
    {"band_mixture_fraction", &TimeConstants::band_mixture_fraction, 0.0, 10.0},
};

struct Slot {
  double* value;
  double lo, hi;
  bool whole;
};

Slot find(ModelConstants& k, std::string_view key) {
  for (const MemoryField& f : k_memory_fields) {
    if (key == fmt::format("memory.{}", f.key)) {
      return {&(k.memory.*f.member), f.lo, f.hi, f.whole};
    }
  }
  for (const TimeField& f : k_time_fields) {
    if (key == fmt::format("time.{}", f.key)) {
      return {&(k.time.*f.member), f.lo, f.hi, f.whole};
    }
  }
  const std::vector<std::string> keys = constant_keys();
  throw Error(fmt::format("constant '{}' is not known{}; keys are listed in "
                          "configs/constants/model.json",
                          key, did_you_mean(key, keys)));
}

} // namespace

std::vector<std::string> constant_list_keys() {
  return {"memory.band_measured_gpus", "time.band_measured_gpus"};
}

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
  const Slot slot = find(k, key);
  if (!std::isfinite(value) || value < slot.lo || value > slot.hi) {
    throw Error(fmt::format("constant {} = {} is out of range (allowed {}..{}{})", key, value,
                            slot.lo, slot.hi, slot.whole ? ", whole" : ""));
  }
  if (slot.whole && value != std::floor(value)) {
    throw Error(fmt::format("constant {} = {} is not a whole number (allowed {}..{}, whole)", key,
                            value, slot.lo, slot.hi));
  }
  *slot.value = value;
}

double get_constant(const ModelConstants& k, std::string_view key) {
  ModelConstants copy = k;
  return *find(copy, key).value;
}

} // namespace bwplan
