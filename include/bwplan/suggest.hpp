/// \file
/// "Did you mean" suggestions for names (ninja's edit-distance idea, written for bwplan).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace bwplan {

/// Levenshtein distance between two strings (case-sensitive).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `name`, or "" when none is close enough to be a plausible typo:
/// the shortest candidate that `name` (3+ characters) is a prefix of, else the nearest by edit
/// distance if at most max(2, |name|/3). Ties go to the first candidate in order.
[[nodiscard]] std::string suggest_closest(std::string_view name,
                                          std::span<const std::string> candidates);

/// " (did you mean 'x'?)" or "" — ready to append to an error message.
[[nodiscard]] std::string did_you_mean(std::string_view name,
                                       std::span<const std::string> candidates);

/// "a, b, c" — the allowed values, for error messages.
[[nodiscard]] std::string join_names(std::span<const std::string> names);

} // namespace bwplan
