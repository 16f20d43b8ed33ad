/// \file
/// Reading a bwplan model object (presets in configs/models, user model files, and the inline
/// models of measurement cases) into a ModelSpec.
#pragma once

#include <nlohmann/json.hpp>

#include "bwplan/model_spec.hpp"
#include "io/json_reader.hpp"

namespace bwplan::io {

/// Reads the model fields from `r`; the caller adds its own keys and calls r.finish().
[[nodiscard]] ModelSpec read_model_fields(ObjectReader& r);

} // namespace bwplan::io
