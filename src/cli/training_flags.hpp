/// \file
/// Flags that `estimate` and `search` share: how the model is trained (beyond the axes a search
/// varies), enum parsing with usage errors, and the instance types fit advice may suggest.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "bwplan/hardware.hpp"
#include "bwplan/training_config.hpp"
#include "cli/context.hpp"

namespace bwplan::cli {

/// Parses an enum flag; an unknown spelling is a usage error (exit 2) with a "did you mean".
template <class E> [[nodiscard]] E parse_flag(const std::string& value, const char* flag) {
  try {
    return parse_enum_or_throw<E>(value, flag);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

struct TrainingFlags {
  std::string optimizer = "adamw";
  std::string optimizer_impl = "fused";
  bool compile = false;
  std::string loss = "unfused";
  std::string fp8_backend = "torchao";
  std::string norm_impl = "fused";
  std::string fsdp_wrap = "per-module";

  void add_to(CLI::App& cmd, const char* group);
  /// Writes the parsed values into `c` (throws UsageError for unknown spellings).
  void apply(TrainingConfig& c) const;
};

/// Every catalogued instance type with its GPU, for fit advice.
[[nodiscard]] std::vector<std::pair<InstanceSpec, GpuSpec>> instance_alternatives(Context& ctx);

} // namespace bwplan::cli
