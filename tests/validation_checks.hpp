// What a held-aside measurement file's one evaluation showed, checked on `bwplan validate`'s JSON
// (tests/test_validation.cpp, tests/test_validation_blind.cpp).
#pragma once

#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace bwplan::test {

/// What a held-aside file's one evaluation showed of its peaks: how many, the median and largest
/// |error| (to 0.1 points), and the shares inside the band and at or under its upper edge.
inline void check_peaks(const nlohmann::json& v, int peaks, double median, double max,
                        double inside, double under_edge) {
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == peaks);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(median).margin(0.1));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(max).margin(0.1));
  CHECK(s.at("band_coverage").get<double>() == Approx(inside));
  CHECK(s.at("upper_edge_coverage").get<double>() == Approx(under_edge));
}

/// As check_peaks, every peak inside the band, and how many read low (the rest high); a file's
/// fit/out-of-memory cases have no error and are not counted.
inline void check_peaks_inside_band(const nlohmann::json& v, int peaks, double median, double max,
                                    int low) {
  check_peaks(v, peaks, median, max, 1.0, 1.0);
  int below = 0;
  int above = 0;
  for (const auto& c : v.at("cases")) {
    const double e = c.value("error_pct", 0.0);
    below += e < 0.0 ? 1 : 0;
    above += e > 0.0 ? 1 : 0;
  }
  CHECK(below == low);
  CHECK(above == peaks - low);
}

/// What a held-aside file's one evaluation showed of its fit/out-of-memory outcomes: how many,
/// how many ran out of memory, and the share whose estimate fell on the measured side.
inline void check_fit_calls(const nlohmann::json& v, int cases, int out_of_memory,
                            double accuracy) {
  const auto& s = v.at("summary");
  CHECK(s.at("fit_cases") == cases);
  CHECK(s.at("oom_cases") == out_of_memory);
  CHECK(s.at("fit_accuracy").get<double>() == Approx(accuracy));
}

/// What a held-aside file's one evaluation showed of its tokens/s: how many rows, the median
/// |error| (to `margin` points) and the share inside the band.
inline void check_throughput(const nlohmann::json& v, int rows, double median, double margin,
                             double coverage) {
  const auto& s = v.at("summary");
  CHECK(s.at("throughput_cases") == rows);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(median).margin(margin));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(coverage));
}

/// Every case's verdict is `called(c)` (c: the case's JSON), the case's id said on a failure.
template <typename Called> void check_verdicts(const nlohmann::json& v, Called called) {
  for (const auto& c : v.at("cases")) {
    INFO(c.at("id").get<std::string>());
    CHECK(c.at("predicted_verdict") == called(c));
  }
}

/// Every case's verdict: `listed[id]` for the ids listed (each one a case of the file), `otherwise`
/// for the rest.
inline void check_verdicts_listed(const nlohmann::json& v,
                                  const std::map<std::string, std::string>& listed,
                                  const std::string& otherwise) {
  std::size_t found = 0;
  check_verdicts(v, [&](const nlohmann::json& c) {
    const auto it = listed.find(c.at("id").get<std::string>());
    found += it != listed.end() ? 1 : 0;
    return it != listed.end() ? it->second : otherwise;
  });
  CHECK(found == listed.size());
}

/// A file of runs that all ran and published tokens/s only (Megatron-Bridge's, llm-foundry's):
/// every case fits
/// as measured and gets the verdict `fits` where `fits_id(id)`, `at_risk` elsewhere; the tokens/s
/// median and largest |error| (to 0.2 points) and the share inside the band.
template <typename FitsId>
void check_runs_that_ran(const nlohmann::json& v, int cases, FitsId fits_id, double median,
                         double max, double coverage) {
  const auto& s = v.at("summary");
  CHECK(s.at("fit_cases") == cases);
  check_verdicts(v, [&](const nlohmann::json& c) {
    CHECK(c.at("measured_fits") == true);
    return fits_id(c.at("id").get<std::string>()) ? "fits" : "at_risk";
  });
  CHECK(s.at("throughput_cases") == cases);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(median).margin(0.2));
  CHECK(s.at("throughput_max_abs_error_pct").get<double>() == Approx(max).margin(0.2));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(coverage));
}

} // namespace bwplan::test
