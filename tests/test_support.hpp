// Helpers shared by the tests: run the CLI in process, read fixture files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/training_config.hpp"
#include "cli/app.hpp"

namespace bwplan::test {

struct CliResult {
  int status = 0;
  std::string out;
  std::string err;
};

inline CliResult run_cli(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = cli::run(args, out, err);
  return {status, out.str(), err.str()};
}

inline std::string source_path(const std::string& rel) {
  return std::string(BWPLAN_SOURCE_DIR) + "/" + rel;
}

/// `bwplan validate` of tests/data/`file` as JSON, with `extra` arguments (e.g. --set); the
/// command must succeed.
inline nlohmann::json validate_json(const std::string& file,
                                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"validate", source_path("tests/data/" + file), "--format",
                                   "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const CliResult r = run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

/// The built-in catalog, loaded once per test binary.
inline const Catalog& catalog() {
  static const Catalog c = builtin_catalog();
  return c;
}

/// A model preset by name (the test fails loudly if it is missing).
inline const ModelSpec& preset(const char* name) {
  const ModelSpec* m = catalog().find_model(name);
  if (m == nullptr) {
    throw std::runtime_error(std::string("no preset ") + name);
  }
  return *m;
}

/// Full sharding over `gpus` (8 per node), bf16, micro-batch 1 x 8192, checkpointing `ac`.
inline TrainingConfig fsdp_config(std::int64_t gpus, ActivationCheckpointing ac) {
  TrainingConfig c;
  c.gpus = gpus;
  c.gpus_per_node = 8;
  c.sharding = Sharding::full;
  c.precision = Precision::bf16;
  c.micro_batch = 1;
  c.seq_len = 8192;
  c.activation_checkpointing = ac;
  return c;
}

/// Llama-3.1-8B's shape written out by hand (independent of configs/).
inline ModelSpec llama3_8b() {
  ModelSpec m;
  m.name = "llama-3.1-8b";
  m.layers = 32;
  m.hidden = 4096;
  m.heads = 32;
  m.kv_heads = 8;
  m.ffn = 14336;
  m.vocab = 128256;
  m.max_seq_len = 131072;
  return m;
}

/// One component of one phase of an estimate.
inline double at(const MemoryEstimate& e, StepPhase p, MemoryComponent c) {
  return e.phases[static_cast<std::size_t>(p)][static_cast<std::size_t>(c)];
}

/// The median of `v` (the mean of the middle two for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// An empty directory under the system's temporary directory, named for the test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / ("bwplan-test-" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline std::string fixture(const std::string& rel) {
  return read_text_file(source_path("tests/fixtures/" + rel));
}

} // namespace bwplan::test
