/// \file
/// The field registry (bwplan/config_fields.hpp) written out as the documents that describe it:
/// the estimate schema's `config` object and the enum definitions it refers to, the man page's
/// table of training flags, and its sentence on a measurement case's keys. These texts are the
/// only place those documents list the fields: tests/test_config_fields.cpp checks each document
/// holds them and, with BWPLAN_UPDATE_GOLDEN=1, writes them in.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace bwplan::io {

/// `    "config": {` ... `    }` (no trailing comma): the $def in
/// docs/schema/estimate.schema.json's layout, one property per line.
[[nodiscard]] std::string config_schema_def_text();

/// One `    "<key>": {"enum": [...]},` line per enum field, in registry order (no comma after the
/// last).
[[nodiscard]] std::string config_enum_defs_text();

/// docs/bwplan.md's table of the training flags the registry defines, header included, for every
/// field but `except` (fields a command spells with flags of its own).
[[nodiscard]] std::string config_flag_table(std::span<const std::string_view> except);

/// docs/bwplan.md's paragraph on measurement files: the keys a case must and may have.
[[nodiscard]] std::string measurement_case_paragraph();

} // namespace bwplan::io
