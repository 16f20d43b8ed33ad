// libFuzzer target: catalog files (`--configs DIR`) read by load_catalog, the loader behind the
// built-in catalog too. One input holds one or more files, each introduced by a line
// "=== <dir>/<kind>/<name>.json" (kind: gpus, instances, models, constants); text before the
// first such line is ignored. An accepted catalog is run a step further: every model's facts,
// and one default estimate per instance type (or per GPU when there is none).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

std::vector<bwplan::SourceFile> split_files(std::string_view text) {
  constexpr std::string_view header = "=== ";
  std::vector<bwplan::SourceFile> files;
  std::size_t line = 0;
  while (line < text.size()) {
    const std::size_t eol = std::min(text.find('\n', line), text.size());
    const std::string_view l = text.substr(line, eol - line);
    if (l.substr(0, header.size()) == header) {
      if (files.size() == 64) {
        break;
      }
      files.push_back({std::string(l.substr(header.size())), {}});
    } else if (!files.empty()) {
      files.back().contents.append(text.substr(line, std::min(eol + 1, text.size()) - line));
    }
    line = eol + 1;
  }
  return files;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bwplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<SourceFile> files = split_files(text);
  const bool has_constants = std::any_of(files.begin(), files.end(), [](const SourceFile& f) {
    return f.path.find("constants/") != std::string::npos;
  });
  Catalog c;
  try {
    c = load_catalog(files, "fuzz");
  } catch (const Error&) {
    return 0; // refused with the documented error: the right outcome for bad input
  }
  for (const ModelSpec& m : c.models) {
    const ModelFacts f = model_facts(m);
    if (f.counts.total <= 0) {
      fuzz::fail("model_facts(m).counts.total", static_cast<double>(f.counts.total));
    }
  }
  const ModelSpec& model = c.models.empty() ? fuzz::catalog().models.front() : c.models.front();
  const auto run = [&](const GpuSpec& gpu, const InstanceSpec* instance) {
    EstimateRequest r;
    r.model = model;
    r.gpu = gpu;
    if (instance != nullptr) {
      r.instance = *instance;
      r.config.gpus = instance->gpus_per_node;
      r.config.gpus_per_node = instance->gpus_per_node;
    }
    r.config.ac_every = std::min<std::int64_t>(2, model.layers);
    r.config.seq_len = std::min<std::int64_t>(4096, model.max_seq_len);
    r.train_tokens = 1e12;
    validate_config(r.config, model);
    // The GPU, instance and model numbers are checked with the built-in constants. A constants
    // file's values run through the models for the sanitizers only: every constant accepts
    // 0..1e30 (set_constant, shared with --set), and 0 for e.g. time.matmul_efficiency_max
    // divides by zero; per-key ranges belong in src/model/constants.cpp.
    const ModelConstants& k = fuzz::catalog().constants;
    fuzz::check_estimate(evaluate(r, k.memory, k.time));
    if (has_constants) {
      (void)evaluate(r, c.constants.memory, c.constants.time);
    }
  };
  for (std::size_t i = 0; i < c.instances.size() && i < 4; ++i) {
    run(c.gpu(c.instances[i].gpu), &c.instances[i]);
  }
  for (std::size_t i = 0; c.instances.empty() && i < c.gpus.size() && i < 4; ++i) {
    run(c.gpus[i], nullptr);
  }
  return 0;
}
