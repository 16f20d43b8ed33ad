/// \file
/// Per-GPU memory of one FSDP training step. Formulas and sources: docs/model.md, "Memory".
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "bwplan/model_spec.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan {

/// Bytes per element of the persistent (sharded) model states for a precision.
struct StateDtypes {
  double param_bytes = 4; ///< sharded parameter (the fp32 master under mixed precision)
  double grad_bytes = 4;  ///< sharded gradient (same dtype as the parameter in FSDP2)
};
[[nodiscard]] StateDtypes state_dtypes(Precision p);

/// Model states held by one GPU (the most loaded rank: FSDP2 pads dim 0 of every tensor to a
/// multiple of the shard group, so rank 0 holds ceil(rows / N) rows of each).
struct ModelStates {
  double parameters_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  std::int64_t sharded_params = 0; ///< parameter elements on this GPU
  [[nodiscard]] double total_bytes() const {
    return parameters_bytes + gradients_bytes + optimizer_bytes;
  }
};

/// Parameters, gradients and optimizer states per GPU for `c` (validated beforehand).
[[nodiscard]] ModelStates estimate_model_states(const ModelSpec& m, const TrainingConfig& c);

/// Optimizer state bytes for one tensor shard of `rows` × `cols` elements whose parameter has
/// `param_bytes` bytes per element.
[[nodiscard]] double optimizer_state_bytes(Optimizer o, std::int64_t rows, std::int64_t cols,
                                           double param_bytes);

} // namespace bwplan
