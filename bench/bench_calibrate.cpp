// Benchmark: how long `bwplan calibrate` takes to fit the free constants to the shipped
// measurement files, leave-one-out included (not a test; prints times).
// Usage: build/bench_calibrate [SOURCE_DIR]
#include <chrono>
#include <cstdio>
#include <string>

#include "bwplan/calibration.hpp"
#include "bwplan/catalog.hpp"
#include "bwplan/measurements.hpp"

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : ".";
  const bwplan::Catalog cat = bwplan::builtin_catalog();
  for (const char* name : {"measurements.json", "measurements-h100-fakepg.json",
                           "measurements-published-holdout.json"}) {
    const std::string file = root + "/tests/data/" + name;
    const auto cases = bwplan::parse_measurements(bwplan::read_text_file(file), file, cat);
    const auto start = std::chrono::steady_clock::now();
    const bwplan::Calibration cal = bwplan::calibrate(cases, cat.constants);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-40s %2zu cases, %2zu figures, %zu constants fitted: %.2f s (%.1f ms per "
                "figure, leave-one-out refits included)\n",
                name, cases.size(), cal.runs.size(), cal.fitted.size(), s,
                cal.runs.empty() ? 0.0 : 1e3 * s / static_cast<double>(cal.runs.size()));
  }
  return 0;
}
