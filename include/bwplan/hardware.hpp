/// \file
/// GPUs and the SageMaker instance types that hold them, as catalogued in configs/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bwplan/enums.hpp"

namespace bwplan {

/// Dense (no sparsity) peak matmul throughput per precision format, FLOP/s. 0 = not supported.
struct PeakFlops {
  double fp32 = 0; ///< non-tensor-core fp32
  double tf32 = 0;
  double bf16 = 0;
  double fp8 = 0;
  double mxfp8 = 0;
  double nvfp4 = 0;
};

struct GpuSpec {
  std::string name;
  std::string display_name;
  double memory_bytes = 0; ///< device total as the driver reports it
  /// What CUDA reports as the device total (torch.cuda.get_device_properties().total_memory,
  /// "total capacity" in PyTorch's out-of-memory message): the driver keeps the rest. 0 where no
  /// such reading is published (allocatable_bytes() then subtracts a default).
  double cuda_total_bytes = 0;
  double hbm_bandwidth_bytes_per_s = 0;
  PeakFlops dense_flops_per_s;
  double nvlink_bandwidth_bytes_per_s = 0; ///< per GPU, one direction
  /// GPUs one NVLink domain joins across nodes (GB200 NVL72's rack: 72); 0 where NVLink stops at
  /// the node. Collectives among them run at NVLink's bandwidth, not the node network's.
  std::int64_t nvlink_domain_gpus = 0;
  std::string compute_capability; ///< "10.0"; "gfx942" for AMD
  double tdp_watts = 0;
  /// The power limit it runs at: the instance's (InstanceSpec::gpu_power_limit_watts), a
  /// measured run's, or else the catalog's `power_limit_watts` (a part shipped below its TDP);
  /// 0 means tdp_watts. Below the TDP the time model lowers the compute clock.
  double power_limit_watts = 0;
  /// FlashAttention-2's attention speed over the cuDNN-class kernel's on this GPU (published
  /// kernel benchmarks): what --attention-kernel flash2 scales the attention efficiencies by.
  double flash2_attention_speed_ratio = 1;
  /// The fraction of its datasheet dense peak the part's large GEMMs reach, over the fraction
  /// Hopper's reach (published cuBLAS benchmarks; 1 for the parts the GEMM curve was fitted on):
  /// what scales TimeConstants::matmul_efficiency_max on it (docs/time-model.md, section 2).
  double gemm_efficiency_ratio = 1;
  std::vector<Precision> supported_precisions;
  std::vector<std::string> sources;
  std::string notes;

  [[nodiscard]] bool supports(Precision p) const;
  /// What a process can allocate on it, CUDA context included: cuda_total_bytes, or where none
  /// is published memory_bytes less `driver_reserved_bytes` (MemoryConstants).
  [[nodiscard]] double allocatable_bytes(double driver_reserved_bytes) const;
  /// Why it cannot run `p`, for people: "a100-sxm-80gb has no mxfp8 support".
  [[nodiscard]] std::string unsupported_reason(Precision p) const;
};

/// An hourly price and where it came from (the user can override it).
struct Price {
  double usd_per_hour = 0;
  std::string kind; ///< e.g. "EC2 On-Demand Linux"
  std::string region;
  std::string as_of; ///< ISO date
  std::string source;
};

struct InstanceSpec {
  std::string name; ///< "ml.p6-b200.48xlarge"
  std::string gpu;  ///< GpuSpec::name
  std::int64_t gpus_per_node = 0;
  double efa_bandwidth_bits_per_s = 0;
  std::string efa_generation;
  double host_memory_bytes = 0;
  std::int64_t vcpus = 0;
  double local_nvme_bytes = 0;
  double gpu_power_limit_watts = 0; ///< each GPU's power limit on this instance type
  Price price;
  std::vector<std::string> sources;
  std::string notes;
};

} // namespace bwplan
