/// \file
/// The model's physical and fitted constants, as one value the catalog loads from
/// configs/constants/model.json and `--set KEY=VALUE` overrides.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bwplan/memory_model.hpp"
#include "bwplan/time_model.hpp"

namespace bwplan {

struct ModelConstants {
  MemoryConstants memory;
  TimeConstants time;
  std::vector<std::string> sources;
};

/// Every constant's key ("memory.fragmentation_fraction", "time.matmul_half_work", ...).
[[nodiscard]] std::vector<std::string> constant_keys();
/// The constants that are lists, not numbers (the GPUs the bands were measured on): a catalog's
/// constants file sets them, set_constant() cannot.
[[nodiscard]] std::vector<std::string> constant_list_keys();

/// Sets one constant by key; throws bwplan::Error for an unknown key (with a "did you mean") or
/// a value that is not finite and non-negative.
void set_constant(ModelConstants& k, std::string_view key, double value);

/// Reads one constant by key (throws like set_constant).
[[nodiscard]] double get_constant(const ModelConstants& k, std::string_view key);

} // namespace bwplan
