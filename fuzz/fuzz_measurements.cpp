// libFuzzer target: a bwplan-measurements/1 file (`bwplan validate FILE`), read by the same entry
// point as the CLI against the built-in catalog, then compared with the models as `validate`
// does (validate_cases) and rendered.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bwplan/measurements.hpp"
#include "bwplan/validation.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bwplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<MeasurementCase> cases;
  try {
    cases = parse_measurements(text, "fuzz-measurements.json", fuzz::catalog());
  } catch (const Error&) {
    return 0; // refused with the documented error: the right outcome for bad input
  }
  const ModelConstants& k = fuzz::catalog().constants;
  for (const MeasurementCase& mc : cases) {
    fuzz::check_estimate(evaluate(mc.request, k.memory, k.time));
  }
  Validation v;
  try {
    v = validate_cases(cases, k.memory, k.time);
  } catch (const Error&) {
    return 0; // a measured figure no GPU can reach (tokens/s above the peak): refused, as the CLI
  }
  for (const CaseResult& r : v.cases) {
    fuzz::check_finite("case.error_pct", r.error_pct);
    fuzz::check_finite("case.throughput_error_pct", r.throughput_error_pct);
  }
  fuzz::check_non_negative("summary.median_abs_error_pct", v.summary.median_abs_error_pct);
  fuzz::check_non_negative("summary.max_abs_error_pct", v.summary.max_abs_error_pct);
  fuzz::check_non_negative("summary.throughput_median_abs_error_pct",
                           v.summary.throughput_median_abs_error_pct);
  fuzz::check_non_negative("summary.throughput_max_abs_error_pct",
                           v.summary.throughput_max_abs_error_pct);
  fuzz::check_non_negative("summary.fit_accuracy", v.summary.fit_accuracy);
  (void)validation_json(v, "fuzz-measurements.json").dump();
  return 0;
}
