/// \file
/// Unit constants. Inside the model everything is in SI base units: bytes, seconds, FLOP/s.
#pragma once

#include <cstdint>

namespace bwplan {

inline constexpr double k_kib = 1024.0;
inline constexpr double k_mib = 1024.0 * k_kib;
inline constexpr double k_gib = 1024.0 * k_mib;
inline constexpr double k_tib = 1024.0 * k_gib;

/// Bytes to GiB (2^30), the unit PyTorch memory statistics are usually reported in.
[[nodiscard]] constexpr double to_gib(double bytes) {
  return bytes / k_gib;
}

} // namespace bwplan
