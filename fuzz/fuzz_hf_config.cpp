// libFuzzer target: a Hugging Face config.json (`--model config.json`), read by the same entry
// point as the CLI: the strict JSON reader, then the config.json reader and the model checks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bwplan::ModelSpec m;
  try {
    m = bwplan::parse_hf_config(text, "fuzz/config.json", "fuzz");
  } catch (const bwplan::Error&) {
    return 0; // refused with the documented error: the right outcome for bad input
  }
  bwplan::fuzz::exercise_model(m);
  return 0;
}
