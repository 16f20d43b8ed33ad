#include "bwplan/hardware.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bwplan {

bool GpuSpec::supports(Precision p) const {
  return std::find(supported_precisions.begin(), supported_precisions.end(), p) !=
         supported_precisions.end();
}

std::string GpuSpec::unsupported_reason(Precision p) const {
  return fmt::format("{} has no {} support", name, name_of(p));
}

} // namespace bwplan
