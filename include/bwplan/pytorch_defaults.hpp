/// \file
/// Defaults of the PyTorch release the launch files pin, which the models read as facts of the
/// software (not fitted, not tunable with --set: a trainer that changes them is a different
/// configuration).
#pragma once

namespace bwplan {

/// DistributedDataParallel's gradient bucket when bucket_cap_mb is not given: 25 MiB
/// (https://github.com/pytorch/pytorch/blob/v2.9.0/torch/nn/parallel/distributed.py,
/// `bucket_cap_mb = 25`, `self.bucket_bytes_cap = int(bucket_cap_mb * 1024 * 1024)`).
inline constexpr double k_ddp_bucket_bytes = 25.0 * 1024 * 1024;

} // namespace bwplan
