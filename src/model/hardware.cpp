#include "bwplan/hardware.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bwplan {

bool GpuSpec::supports(Precision p) const {
  return std::find(supported_precisions.begin(), supported_precisions.end(), p) !=
         supported_precisions.end();
}

double GpuSpec::allocatable_bytes(double driver_reserved_bytes) const {
  return cuda_total_bytes > 0 ? cuda_total_bytes
                              : std::max(memory_bytes - driver_reserved_bytes, 0.0);
}

std::string GpuSpec::unsupported_reason(Precision p) const {
  return fmt::format("{} has no {} support", name, name_of(p));
}

} // namespace bwplan
