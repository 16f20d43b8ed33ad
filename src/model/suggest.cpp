#include "bwplan/suggest.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace bwplan {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggest_closest(std::string_view name, std::span<const std::string> candidates) {
  // A truncated name ("h100-sxm" for "h100-sxm-80gb") is the commonest slip: prefer the
  // shortest candidate it begins.
  std::string prefix_match;
  for (const std::string& c : candidates) {
    if (name.size() >= 3 && c.size() > name.size() && c.compare(0, name.size(), name) == 0 &&
        (prefix_match.empty() || c.size() < prefix_match.size())) {
      prefix_match = c;
    }
  }
  if (!prefix_match.empty()) {
    return prefix_match;
  }
  const std::size_t limit = std::max<std::size_t>(2, name.size() / 3);
  std::string best;
  std::size_t best_d = limit + 1;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view name, std::span<const std::string> candidates) {
  const std::string s = suggest_closest(name, candidates);
  return s.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", s);
}

std::string join_names(std::span<const std::string> names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

} // namespace bwplan
