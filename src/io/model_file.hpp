/// \file
/// Reading a bwplan model object (presets in configs/models, user model files, and the inline
/// models of measurement cases) into a ModelSpec.
#pragma once

#include <nlohmann/json.hpp>

#include "bwplan/model_spec.hpp"
#include "json_reader.hpp"

namespace bwplan::io {

/// The longest model name: names reach tables, warnings, plans and file names (a model file's
/// `name`, and the name a config.json is given from its path).
inline constexpr std::size_t k_max_model_name_chars = 128;

/// Reads the model fields from `r`; the caller adds its own keys and calls r.finish().
[[nodiscard]] ModelSpec read_model_fields(ObjectReader& r);

/// A whole bwplan model object (a model file's, or a measurement case's inline model): its
/// fields, optional schema_version and sources, no other key, validated; `where` for errors.
[[nodiscard]] ModelSpec read_model_object(ObjectReader& r, const std::string& where);

/// A bwplan model file / a Hugging Face config.json from JSON already parsed (resolve_model
/// parses once to tell them apart).
[[nodiscard]] ModelSpec model_file_from_json(const nlohmann::json& j, const std::string& where);
[[nodiscard]] ModelSpec hf_config_from_json(const nlohmann::json& j, const std::string& where,
                                            const std::string& name);

} // namespace bwplan::io
