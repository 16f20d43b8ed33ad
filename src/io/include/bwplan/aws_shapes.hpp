/// \file
/// AWS's own API model for `CreateTrainingJob` (botocore's SageMaker service model, trimmed to the
/// `CreateTrainingJobRequest` closure in data/aws/ and compiled into the binary), and a checker
/// that holds a request to it: required and unknown members, types, enums, lengths, ranges and
/// regex patterns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace bwplan {

/// Every problem of `value` against the shape `shape_name` (empty: valid), each one line starting
/// with the JSON pointer of the value, e.g. "/ResourceConfig/InstanceCount: 0 is below the minimum
/// 1 (TrainingInstanceCount)". Throws bwplan::Error for an unknown shape name.
[[nodiscard]] std::vector<std::string> validate_against_shape(const nlohmann::json& value,
                                                              std::string_view shape_name);

/// The enum values of a string shape (empty when it has none); throws for an unknown shape.
[[nodiscard]] std::vector<std::string> aws_shape_enum(std::string_view shape_name);

/// The shape's regex pattern as botocore writes it (Java syntax; empty when it has none).
[[nodiscard]] std::string aws_shape_pattern(std::string_view shape_name);

/// A string shape's length bounds (botocore's min and max; 0 and SIZE_MAX where it has none).
struct ShapeLength {
  std::size_t min = 0, max = 0;
  [[nodiscard]] bool holds(std::size_t n) const { return n >= min && n <= max; }
};
[[nodiscard]] ShapeLength aws_shape_length(std::string_view shape_name);

/// Whether `value` matches the shape's pattern (true when it has none or it is unchecked).
[[nodiscard]] bool matches_shape_pattern(std::string_view value, std::string_view shape_name);

/// Patterns std::regex (ECMAScript) cannot express, which the checker skips, and how many
/// patterns the model has in all.
struct PatternCoverage {
  int total = 0;
  std::vector<std::string> unchecked; ///< the botocore patterns skipped
};
[[nodiscard]] PatternCoverage aws_pattern_coverage();

} // namespace bwplan
