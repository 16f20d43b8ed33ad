// libFuzzer target: a training log (`bwplan calibrate --run PLAN.json=train.log`), read by the
// same entry point as the CLI; an accepted log's figures must be finite and positive.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bwplan/train_log.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bwplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const TrainLog log = parse_train_log(text, "fuzz-train.log");
    fuzz::check_non_negative("peak_reserved_bytes", log.peak_reserved_bytes);
    const double tokens = steady_tokens_per_s_per_gpu(log, 8192, 8);
    fuzz::check_non_negative("tokens_per_s_per_gpu", tokens);
    if (!(tokens > 0) || log.steady_steps.empty()) {
      __builtin_trap(); // accepted without a steady tokens/s
    }
  } catch (const Error&) {
    return 0; // refused with the documented error
  }
  return 0;
}
