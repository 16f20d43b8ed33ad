/// \file
/// The catalogs (GPUs, instance types, model presets) loaded from configs/ and checked against
/// their schema, plus the readers for user model files and Hugging Face config.json files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/constants.hpp"
#include "bwplan/hardware.hpp"
#include "bwplan/model_spec.hpp"

namespace bwplan {

/// One catalog file's text and the name errors should use for it.
struct SourceFile {
  std::string path; ///< e.g. "configs/gpus/b200.json"
  std::string contents;
};

/// The lowest power limit a GPU is planned at, in catalogs and measured runs alike: below it a
/// value is a typo (a datacenter GPU's idle draw alone is about this), not a part to plan on.
inline constexpr double k_min_gpu_watts = 50;

struct Catalog {
  std::vector<GpuSpec> gpus;           ///< sorted by name
  std::vector<InstanceSpec> instances; ///< sorted by name
  std::vector<ModelSpec> models;       ///< sorted by total parameters, then name
  ModelConstants constants;            ///< configs/constants/model.json
  std::string origin;                  ///< "built-in" or the directory it was loaded from

  /// Lookups throw bwplan::Error naming the value, with a "did you mean".
  [[nodiscard]] const GpuSpec& gpu(std::string_view name) const;
  [[nodiscard]] const InstanceSpec& instance(std::string_view name) const;
  /// The instance type's GPU as it runs there: the catalog GPU at the instance's power limit.
  [[nodiscard]] GpuSpec gpu_of(const InstanceSpec& instance) const;
  [[nodiscard]] const ModelSpec* find_model(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> model_names() const;
};

/// Parses and validates catalog files whose paths look like "<dir>/gpus/<name>.json",
/// "<dir>/instances/<name>.json", "<dir>/models/<name>.json" or "<dir>/constants/model.json". Every
/// file must validate; names must match file names and be unique; every instance must name a known
/// GPU.
[[nodiscard]] Catalog load_catalog(const std::vector<SourceFile>& files, std::string origin);

/// The catalog compiled into the binary from configs/.
[[nodiscard]] Catalog builtin_catalog();

/// Reads a file of at most `max_bytes`; throws bwplan::Error naming the path if it cannot.
[[nodiscard]] std::string read_text_file(const std::filesystem::path& p,
                                         std::size_t max_bytes = 16u << 20);
/// Standard input to its end, refused past `max_bytes` as a file is.
[[nodiscard]] std::string read_stdin_text(std::size_t max_bytes = 16u << 20);

/// Every *.json under `dir` (recursively, sorted), for load_catalog.
[[nodiscard]] std::vector<SourceFile> read_catalog_dir(const std::filesystem::path& dir);

/// A bwplan model file (docs/bwplan.md, FILES) from already-parsed JSON text.
[[nodiscard]] ModelSpec parse_model_file(std::string_view text, const std::string& where);

/// A Hugging Face config.json (llama, mistral, qwen2, qwen3, gpt_neox); `name` names the model.
[[nodiscard]] ModelSpec parse_hf_config(std::string_view text, const std::string& where,
                                        const std::string& name);

/// `--model`: a preset name, or a path to a bwplan model file or a Hugging Face config.json.
[[nodiscard]] ModelSpec resolve_model(const Catalog& catalog, const std::string& arg);

} // namespace bwplan
