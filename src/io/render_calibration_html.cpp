// `calibrate --report`: one self-contained page of a calibration — each run's signed error before
// the fit, after it and left out of it, drawn on one axis, then the table, the constants and the
// refusals. It renders a computed Calibration; it computes nothing.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/calibration_profile.hpp"
#include "bwplan/render.hpp"
#include "html_parts.hpp"
#include "svg_chart.hpp"

namespace bwplan {

namespace {

using io::nice_ticks;
using io::page;
using io::table;
using io::td;
using io::td_num;
using io::xml_escape;

constexpr double k_width = 1040;
constexpr double k_row = 22;
constexpr double k_label_width = 360;
constexpr double k_top = 34, k_bottom = 40;

double error_pct(double predicted, double measured) {
  return 100.0 * (predicted - measured) / measured;
}

const char* quantity_label(Quantity q) {
  return q == Quantity::memory ? "memory" : "tokens/s per GPU";
}

/// One row per run and figure: a hollow circle before the fit, a filled one after, a cross left
/// out; the zero line is where measured equals predicted.
std::string errors_svg(const Calibration& cal) {
  double lo = 0, hi = 0;
  for (const CalibratedRun& r : cal.runs) {
    for (const double p : {r.before, r.after, r.leave_one_out}) {
      lo = std::min(lo, error_pct(p, r.measured));
      hi = std::max(hi, error_pct(p, r.measured));
    }
  }
  const std::vector<double> ticks = nice_ticks(lo, hi, 8);
  lo = std::min(lo, ticks.front());
  hi = std::max(hi, ticks.back());
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const double x0 = k_label_width, x1 = k_width - 20;
  auto x_of = [&](double pct) { return x0 + (pct - lo) / (hi - lo) * (x1 - x0); };
  const double height = k_top + k_row * static_cast<double>(cal.runs.size()) + k_bottom;
  std::string s = fmt::format("<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {:.0f} {:.0f}\" "
                              "width=\"100%\" aria-label=\"signed error per run, before and after "
                              "calibration\">\n",
                              k_width, height);
  s += fmt::format("<text x=\"{:.1f}\" y=\"16\" font-size=\"13\">predicted / measured − 1, "
                   "percent: ○ shipped constants, ● fitted, × fitted without this run</text>\n",
                   x0);
  const double y_axis = k_top + k_row * static_cast<double>(cal.runs.size());
  for (const double t : ticks) {
    const double x = x_of(t);
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                     "stroke=\"{3}\" stroke-width=\"1\"/>\n<text x=\"{0:.1f}\" y=\"{4:.1f}\" "
                     "font-size=\"11\" text-anchor=\"middle\">{5:g} %</text>\n",
                     x, k_top - 6, y_axis, t == 0 ? "#333" : "#ddd", y_axis + 16, t);
  }
  for (std::size_t i = 0; i < cal.runs.size(); ++i) {
    const CalibratedRun& r = cal.runs[i];
    const double y = k_top + k_row * (static_cast<double>(i) + 0.5);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{} "
                     "({})</text>\n",
                     x0 - 8, y + 4, xml_escape(r.id), quantity_label(r.quantity));
    const double xb = x_of(error_pct(r.before, r.measured));
    const double xa = x_of(error_pct(r.after, r.measured));
    const double xl = x_of(error_pct(r.leave_one_out, r.measured));
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
                     "stroke=\"#999\" stroke-width=\"1\"/>\n",
                     xb, y, xa, y);
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"none\" stroke=\"#D55E00\" "
                     "stroke-width=\"1.5\"><title>before {} %</title></circle>\n",
                     xb, y, signed_pct(error_pct(r.before, r.measured)));
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#0072B2\"><title>after "
                     "{} %</title></circle>\n",
                     xa, y, signed_pct(error_pct(r.after, r.measured)));
    s += fmt::format("<path d=\"M{0:.1f} {1:.1f}l8 8m0 -8l-8 8\" stroke=\"#009E73\" "
                     "stroke-width=\"1.5\"><title>left out {2} %</title></path>\n",
                     xl - 4, y - 4, signed_pct(error_pct(r.leave_one_out, r.measured)));
  }
  return s + "</svg>\n";
}

std::string summary_row(const char* what, const CalibrationErrors& e) {
  auto cell = [](const ErrorSummary& s) {
    return td_num(fmt::format("{:.1f} % / {:.1f} %", s.median_abs_pct, s.max_abs_pct));
  };
  return td(what) + td_num(std::to_string(e.after.runs)) + cell(e.before) + cell(e.after) +
         cell(e.leave_one_out);
}

} // namespace

std::string calibration_report_html(const Calibration& cal, const std::string& profile,
                                    const ReportContext& ctx) {
  std::string body = fmt::format("<h1>Calibration: {}</h1>\n<p>Command: <code>{}</code></p>\n",
                                 xml_escape(profile), xml_escape(ctx.command_line));
  body += "<h2>Error per run</h2>\n" + errors_svg(cal);
  body +=
      "<h2>Summary</h2>\n" +
      table({"quantity", "runs", "before (median / max)", "after", "left out"},
            {summary_row("memory", cal.memory), summary_row("tokens/s per GPU", cal.throughput)},
            "median and maximum absolute error");
  std::vector<std::string> rows;
  for (const CalibratedRun& r : cal.runs) {
    rows.push_back(
        td(r.id) + td(quantity_label(r.quantity)) + td_num(fmt::format("{:.6g}", r.measured)) +
        td_num(signed_pct(error_pct(r.before, r.measured)) + " %") +
        td_num(signed_pct(error_pct(r.after, r.measured)) + " %") +
        td_num(signed_pct(error_pct(r.leave_one_out, r.measured)) + " %") + td(r.source));
  }
  body += "<h2>Runs</h2>\n" + table({"run", "quantity", "measured (bytes or tokens/s)", "before",
                                     "after", "left out", "source"},
                                    rows, "each run before, after and left out of the fit");
  rows.clear();
  for (const FittedConstant& f : cal.fitted) {
    rows.push_back(td(f.key) + td_num(fmt::format("{:.4g}", f.shipped)) +
                   td_num(fmt::format("{:.4g}", f.fitted)) + td("fitted"));
  }
  for (const UnfittedConstant& u : cal.not_fitted) {
    rows.push_back(td(u.key) + td_num("") + td_num("") + td(u.reason));
  }
  body += "<h2>Constants</h2>\n" +
          table({"constant", "shipped", "fitted", "status"}, rows, "the free constants");
  return page("bwplan calibration: " + profile, body, ctx);
}

} // namespace bwplan
