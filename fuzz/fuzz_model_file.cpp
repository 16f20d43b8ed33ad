// libFuzzer target: a bwplan model file (`--model FILE`, bwplan's own format), read by the same
// entry point as the CLI: the strict JSON reader, then the model object reader and its checks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bwplan::ModelSpec m;
  try {
    m = bwplan::parse_model_file(text, "fuzz-model.json");
  } catch (const bwplan::Error&) {
    return 0; // refused with the documented error: the right outcome for bad input
  }
  bwplan::fuzz::exercise_model(m);
  return 0;
}
