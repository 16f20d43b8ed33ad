// libFuzzer target: a calibration profile (`--calibration PROFILE.json`), read by the same entry
// point as the CLI, then applied to the built-in constants and used for one evaluation
// (Llama-3.1-8B on one ml.p5.48xlarge): whatever a profile sets must give finite estimates.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bwplan/calibration_profile.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bwplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CalibrationProfile profile;
  try {
    profile = parse_calibration_profile(text, "fuzz-profile.json");
  } catch (const Error&) {
    return 0; // refused with the documented error
  }
  ModelConstants k = fuzz::catalog().constants;
  try {
    apply_calibration_profile(profile, k); // a band narrower than the shipped one is refused
  } catch (const Error&) {
    return 0;
  }
  fuzz::exercise_model(*fuzz::catalog().find_model("llama-3.1-8b"), k);
  return 0;
}
