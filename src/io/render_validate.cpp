#include <array>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/units.hpp"
#include "bwplan/utf8.hpp"
#include "text_table.hpp"

namespace bwplan {
namespace {

/// x rounded to 1/scale, with -0 written 0: an error of -0.001 % reads 0, not -0.0.
double rounded(double x, double scale) {
  const double r = std::round(x * scale) / scale;
  return r == 0 ? 0.0 : r;
}

} // namespace

OrderedJson validation_json(const Validation& v, const std::string& file) {
  OrderedJson j;
  j["schema_version"] = k_output_schema_version;
  j["kind"] = "validation";
  j["file"] = file;
  OrderedJson cases = OrderedJson::array();
  for (const CaseResult& c : v.cases) {
    OrderedJson o;
    o["id"] = c.id;
    o["metric"] = name_of(c.metric);
    if (c.metric == Metric::fits) {
      o["measured_fits"] = c.measured_fits;
      o["predicted_fits"] = c.predicted_fits;
      o["predicted_device_bytes"] = static_cast<std::int64_t>(c.predicted_bytes);
      o["predicted_high_bytes"] = static_cast<std::int64_t>(c.predicted_high_bytes);
      o["predicted_verdict"] = name_of(c.predicted_verdict);
    } else {
      o["measured_bytes"] = static_cast<std::int64_t>(c.measured_bytes);
      o["predicted_bytes"] = static_cast<std::int64_t>(c.predicted_bytes);
      o["predicted_low_bytes"] = static_cast<std::int64_t>(c.predicted_low_bytes);
      o["predicted_high_bytes"] = static_cast<std::int64_t>(c.predicted_high_bytes);
      o["in_band"] = c.in_band;
      o["error_pct"] = rounded(c.error_pct, 100);
      o["predicted_verdict"] = name_of(c.predicted_verdict);
    }
    o["peak_phase"] = c.peak_phase;
    if (c.measured_tokens_per_s > 0) {
      o["measured_tokens_per_second_per_gpu"] = c.measured_tokens_per_s;
      o["predicted_tokens_per_second_per_gpu"] = rounded(c.predicted_tokens_per_s, 10);
      o["predicted_tokens_per_second_per_gpu_low"] = rounded(c.predicted_tokens_per_s_low, 10);
      o["predicted_tokens_per_second_per_gpu_high"] = rounded(c.predicted_tokens_per_s_high, 10);
      o["throughput_in_band"] = c.throughput_in_band;
      o["throughput_error_pct"] = rounded(c.throughput_error_pct, 100);
    }
    cases.push_back(o);
  }
  j["cases"] = cases;
  OrderedJson s;
  s["numeric_cases"] = v.summary.numeric_cases;
  s["median_abs_error_pct"] = rounded(v.summary.median_abs_error_pct, 100);
  s["max_abs_error_pct"] = rounded(v.summary.max_abs_error_pct, 100);
  s["max_error_case"] = v.summary.max_error_case;
  s["fit_cases"] = v.summary.fit_cases;
  s["fit_accuracy"] = v.summary.fit_accuracy;
  s["oom_cases"] = v.summary.oom_cases;
  s["oom_flagged_fraction"] = v.summary.oom_flagged;
  s["throughput_cases"] = v.summary.throughput_cases;
  s["throughput_median_abs_error_pct"] = rounded(v.summary.throughput_median_abs_error_pct, 100);
  s["throughput_max_abs_error_pct"] = rounded(v.summary.throughput_max_abs_error_pct, 100);
  s["throughput_max_error_case"] = v.summary.throughput_max_error_case;
  s["band_coverage"] = v.summary.band_coverage;
  s["throughput_band_coverage"] = v.summary.throughput_band_coverage;
  s["upper_edge_coverage"] = v.summary.upper_edge_coverage;
  s["ran_called_out_of_memory"] = v.summary.ran_called_out_of_memory;
  s["median_band_high_pct"] = rounded(v.summary.median_band_high_pct, 100);
  s["throughput_median_band_low_pct"] = rounded(v.summary.throughput_median_band_pct, 100);
  j["summary"] = s;
  return j;
}

std::string validation_table(const Validation& v, const std::string& file) {
  using A = io::TextTable::Align;
  io::TextTable t({{"case"},
                   {"metric"},
                   {"measured", A::right},
                   {"predicted", A::right},
                   {"error", A::right},
                   {"band", A::right},
                   {"peak phase"},
                   {"tok/s/GPU measured", A::right},
                   {"predicted", A::right},
                   {"error", A::right}});
  // A case's tokens/s, when it has one: measured, predicted with its band, error.
  const auto rate = [](const CaseResult& c) -> std::array<std::string, 3> {
    if (c.measured_tokens_per_s <= 0) {
      return {"", "", ""};
    }
    return {fmt::format("{:.0f}", c.measured_tokens_per_s),
            fmt::format("{:.0f} ({:.0f}-{:.0f}{})", c.predicted_tokens_per_s,
                        c.predicted_tokens_per_s_low, c.predicted_tokens_per_s_high,
                        c.throughput_in_band ? "" : " OUT"),
            signed_pct(c.throughput_error_pct) + "%"};
  };
  for (const CaseResult& c : v.cases) {
    const auto [measured_rate, predicted_rate, rate_error] = rate(c);
    if (c.metric == Metric::fits) {
      t.add_row({c.id, "fits", c.measured_fits ? "fits" : "OOM",
                 fmt::format("{} ({:.1f} GiB)", c.predicted_fits ? "fits" : "OOM",
                             to_gib(c.predicted_bytes)),
                 // fit_accuracy counts an at-risk verdict for a run that ran out of memory as
                 // wrong (its estimate fits); the table says which verdict it was
                 c.measured_fits == c.predicted_fits                           ? "ok"
                 : !c.measured_fits && c.predicted_verdict == Verdict::at_risk ? "WRONG (at risk)"
                                                                               : "WRONG",
                 fmt::format("to {:.1f} ({})", to_gib(c.predicted_high_bytes),
                             name_of(c.predicted_verdict)),
                 c.peak_phase, measured_rate, predicted_rate, rate_error});
    } else {
      t.add_row({c.id, std::string(name_of(c.metric)),
                 fmt::format("{:.2f}", to_gib(c.measured_bytes)),
                 fmt::format("{:.2f}", to_gib(c.predicted_bytes)), signed_pct(c.error_pct) + "%",
                 fmt::format("{:.2f}-{:.2f}{}", to_gib(c.predicted_low_bytes),
                             to_gib(c.predicted_high_bytes), c.in_band ? "" : " OUT"),
                 c.peak_phase, measured_rate, predicted_rate, rate_error});
    }
  }
  std::string out = fmt::format("{}: {} cases (GiB)\n\n", display_one_line(file), v.cases.size());
  out += t.render();
  const ValidationSummary& s = v.summary;
  out += "\n";
  if (s.numeric_cases > 0) {
    out += fmt::format(
        "{} memory cases: median |error| {:.1f}%, max {:.1f}% ({}); measured inside "
        "the band in {:.0f}%, at or under its upper edge in {:.0f}%, that edge a median "
        "{:.1f}% above the estimate\n",
        s.numeric_cases, s.median_abs_error_pct, s.max_abs_error_pct, s.max_error_case,
        100 * s.band_coverage, 100 * s.upper_edge_coverage, s.median_band_high_pct);
  }
  if (s.ran_called_out_of_memory > 0) {
    out += fmt::format("{} of the {} runs with a measured peak would be called out of memory by "
                       "the estimate\n",
                       s.ran_called_out_of_memory, s.numeric_cases);
  }
  if (s.throughput_cases > 0) {
    out += fmt::format("{} throughput cases: median |error| {:.1f}%, max {:.1f}% ({}); measured "
                       "inside the band in {:.0f}%\n",
                       s.throughput_cases, s.throughput_median_abs_error_pct,
                       s.throughput_max_abs_error_pct, s.throughput_max_error_case,
                       100 * s.throughput_band_coverage);
  }
  if (s.fit_cases > 0) {
    out += fmt::format("{} fit/OOM cases: {:.0f}% called right", s.fit_cases, 100 * s.fit_accuracy);
    if (s.oom_cases > 0) {
      out += fmt::format("; of {} that ran out of memory, {:.0f}% not verdict 'fits'", s.oom_cases,
                         100 * s.oom_flagged);
    }
    out += "\n";
  }
  return out;
}

} // namespace bwplan
