/// \file
/// Command-line flags for training-configuration fields, made from the field registry
/// (bwplan/config_fields.hpp): each flag is spelled config_flag(key) and helped by the registry's
/// text. Enum parsing with usage errors, and the instance types fit advice may suggest.
#pragma once

#include <array>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "bwplan/hardware.hpp"
#include "bwplan/training_config.hpp"
#include "context.hpp"

namespace bwplan::cli {

/// Parses an enum flag; an unknown spelling is a usage error (exit 2) with a "did you mean".
template <class E> [[nodiscard]] E parse_flag(const std::string& value, const char* flag) {
  try {
    return parse_enum_or_throw<E>(value, flag);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

/// The registry fields a command offers as flags. Integers and booleans bind to a
/// TrainingConfig (its initialisers are the defaults), enums to their spelling.
class ConfigFlags {
public:
  enum class Pick : std::uint8_t { only, all_but };
  /// Adds a flag for each field named in `keys`, in that order (Pick::only), or for each other
  /// field in registry order (Pick::all_but).
  void add_to(CLI::App& cmd, const char* group, Pick pick, std::span<const std::string_view> keys);
  /// Writes the added fields into `c` (throws UsageError for unknown spellings).
  void apply(TrainingConfig& c) const;
  /// Whether the field's flag was on the command line (not only its default).
  [[nodiscard]] bool given(std::string_view key) const { return m_given.count(key) > 0; }

private:
  TrainingConfig m_values;
  std::map<std::string, std::string, std::less<>> m_choices; ///< enum fields: the spelling given
  std::set<std::string, std::less<>> m_added;
  std::set<std::string, std::less<>> m_given;
};

/// Fields `estimate` spells with flags of its own: the cluster's (--gpus, --gpus-per-node, beside
/// --instance and --nodes) and two modes as switches (--no-sync, --cpu-offload). The rest are the
/// registry's flags, which docs/bwplan.md's training table lists from the registry.
inline constexpr std::array<std::string_view, 4> k_estimate_fields_spelled_apart = {
    "gpus", "gpus_per_node", "grad_accum_mode", "offload"};

/// Every catalogued instance type with its GPU, for fit advice.
[[nodiscard]] std::vector<std::pair<InstanceSpec, GpuSpec>> instance_alternatives(Context& ctx);

} // namespace bwplan::cli
