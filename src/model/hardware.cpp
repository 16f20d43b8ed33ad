#include "bwplan/hardware.hpp"

#include "bwplan/error.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bwplan {

bool GpuSpec::supports(Precision p) const {
  return std::find(supported_precisions.begin(), supported_precisions.end(), p) !=
         supported_precisions.end();
}

double GpuSpec::allocatable_bytes(double driver_reserved_bytes) const {
  if (cuda_total_bytes > 0) {
    return cuda_total_bytes;
  }
  if (driver_reserved_bytes >= memory_bytes) { // no GPU to plan on, not a GPU with 0 bytes free
    throw Error(fmt::format("memory.driver_reserved_bytes = {:.4g} leaves nothing of {}'s {:.4g} "
                            "bytes (allowed below its memory_bytes)",
                            driver_reserved_bytes, name, memory_bytes));
  }
  return memory_bytes - driver_reserved_bytes;
}

std::string GpuSpec::unsupported_reason(Precision p) const {
  return fmt::format("{} has no {} support", name, name_of(p));
}

} // namespace bwplan
