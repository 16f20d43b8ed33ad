// What a held-aside measurement file's one evaluation showed, checked on `bwplan validate`'s JSON
// (tests/test_validation.cpp, tests/test_validation_blind.cpp).
#pragma once

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace bwplan::test {

/// What a held-aside file's one evaluation showed of its peaks, every one inside the band: how
/// many, the median and largest |error| (to 0.1 points), and how many read low (the rest high).
inline void check_peaks_inside_band(const nlohmann::json& v, int peaks, double median, double max,
                                    int low) {
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == peaks);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(median).margin(0.1));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(max).margin(0.1));
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  int below = 0;
  int above = 0;
  for (const auto& c : v.at("cases")) {
    below += c.at("error_pct").get<double>() < 0.0 ? 1 : 0;
    above += c.at("error_pct").get<double>() > 0.0 ? 1 : 0;
  }
  CHECK(below == low);
  CHECK(above == peaks - low);
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

/// A file of runs that all ran and published tokens/s only (Megatron-Bridge's, llm-foundry's):
/// every case fits
/// as measured and gets the verdict `fits` where `fits_id(id)`, `at_risk` elsewhere; the tokens/s
/// median and largest |error| (to 0.2 points) and the share inside the band.
template <typename FitsId>
void check_runs_that_ran(const nlohmann::json& v, int cases, FitsId fits_id, double median,
                         double max, double coverage) {
  const auto& s = v.at("summary");
  CHECK(s.at("fit_cases") == cases);
  for (const auto& c : v.at("cases")) {
    const std::string id = c.at("id");
    INFO(id);
    CHECK(c.at("measured_fits") == true);
    CHECK(c.at("predicted_verdict") == (fits_id(id) ? "fits" : "at_risk"));
  }
  CHECK(s.at("throughput_cases") == cases);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(median).margin(0.2));
  CHECK(s.at("throughput_max_abs_error_pct").get<double>() == Approx(max).margin(0.2));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(coverage));
}

} // namespace bwplan::test
