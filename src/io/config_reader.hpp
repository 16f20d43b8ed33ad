/// \file
/// Reading the training-configuration fields of a JSON object (a plan's "config", a measurement
/// case), driven by the field registry (bwplan/config_fields.hpp).
#pragma once

#include "bwplan/training_config.hpp"
#include "json_reader.hpp"

namespace bwplan::io {

enum class ConfigSource : std::uint8_t {
  plan,            ///< every field required (plans write them all)
  measurement_case ///< fields as the registry's InCases says; derived ones are not read
};

/// Marks the registry's keys that `source` reads as known to `r`, so that a key the caller reads
/// before them and finds missing is said to be missing, not blamed on one of them near its name
/// ('gpus' beside a missing 'gpu'). read_config_fields() does it too.
void allow_config_fields(ObjectReader& r, ConfigSource source);

/// Reads the registry's fields from `r` into `c` (integers in their ranges, a shard group at
/// most the job's GPUs, enums by their spellings). The caller reads its own keys and calls
/// r.finish().
void read_config_fields(ObjectReader& r, TrainingConfig& c, ConfigSource source);

} // namespace bwplan::io
