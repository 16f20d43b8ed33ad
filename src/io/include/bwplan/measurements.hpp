/// \file
/// Reading a `bwplan-measurements/1` file (schema: docs/bwplan.md, MEASUREMENT FILES).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bwplan/catalog.hpp"
#include "bwplan/validation.hpp"

namespace bwplan {

/// Parses and checks every case; a case's model is a preset name or an inline model object,
/// its GPU a catalog name. Throws bwplan::Error naming the file, the case and the key.
[[nodiscard]] std::vector<MeasurementCase>
parse_measurements(std::string_view text, const std::string& where, const Catalog& catalog);

} // namespace bwplan
