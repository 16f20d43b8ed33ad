#include "bwplan/hardware.hpp"

#include <algorithm>

namespace bwplan {

bool GpuSpec::supports(Precision p) const {
  return std::find(supported_precisions.begin(), supported_precisions.end(), p) !=
         supported_precisions.end();
}

} // namespace bwplan
