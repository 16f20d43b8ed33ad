// libFuzzer target: a saved plan (`bwplan check --plan FILE`, `bwplan emit sagemaker --plan
// FILE`): the JSON of `search --format json` or `estimate --format json`. read_plan takes a
// path, so each input is written to a scratch file first; then the plan is re-evaluated as
// `check` does and rendered.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <unistd.h>

#include "bwplan/plan_file.hpp"
#include "cli/context.hpp"
#include "fuzz_support.hpp"

namespace {

struct Scratch {
  std::filesystem::path dir;
  std::filesystem::path file;
  bwplan::cli::GlobalOptions global;
  std::ostringstream sink;
  bwplan::cli::Context ctx;
  Scratch() {
    // tmpfs when there is one: on ext4, truncating and rewriting a file flushes it on close.
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    dir = base / ("bwplan-fuzz-plan-" + std::to_string(static_cast<long>(::getpid())));
    std::filesystem::create_directories(dir);
    file = dir / "plan.json";
    ctx.global = &global;
    ctx.out = &sink;
    ctx.err = &sink;
    ctx.log =
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Scratch& scratch() {
  static Scratch s;
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bwplan;
  Scratch& s = scratch();
  {
    std::ofstream out(s.file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
      std::abort(); // the scratch file is ours; failing to write it is not a finding
    }
  }
  PlanSource source;
  source.plan = s.file.string();
  PlanDocument doc;
  try {
    doc = cli::read_plan(s.ctx, source);
  } catch (const Error&) {
    return 0; // refused with the documented error: the right outcome for bad input
  }
  const ModelConstants& k = s.ctx.catalog().constants;
  const Estimate e = evaluate(doc.request, k.memory, k.time);
  fuzz::check_estimate(e);
  (void)estimate_json(e).dump();
  return 0;
}
