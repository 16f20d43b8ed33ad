/// \file
/// Bisection for the largest value that satisfies a monotone predicate (the micro-batch that
/// still fits), shared by the search and the fit advice.
#pragma once

#include <cstdint>

namespace bwplan {

/// The largest x in [lo, hi] with fits(x), given that fits(lo) holds (or lo is the "none"
/// sentinel) and that fits is true up to some point and false after it.
template <class Fits> std::int64_t largest_fitting_in(std::int64_t lo, std::int64_t hi, Fits fits) {
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

} // namespace bwplan
