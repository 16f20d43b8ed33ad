#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "bwplan/units.hpp"
#include "bwplan/utf8.hpp"

namespace bwplan::io {

namespace {

// Okabe & Ito's colour-blind-safe palette, then greys for the runtime parts; every part also has a
// text label in the legend and a <title>, so colour is never the only cue.
constexpr std::array<std::string_view, k_bar_parts> k_part_colours = {
    "#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#CC79A7",
    "#F0E442", "#8C6D31", "#000000", "#BBBBBB", "#555555"};

constexpr double k_label_width = 300; // bar labels, left of the plot
constexpr double k_row_height = 44;
constexpr double k_bar_height = 20;
constexpr double k_top = 12;
constexpr double k_axis_height = 40;

std::string tick_text(double v, double step) {
  const double a = std::abs(v);
  if (a >= 1e6 && step >= 1e5) {
    return fmt::format("{:g}M", v / 1e6);
  }
  if (a >= 1e3 && step >= 100) {
    return fmt::format("{:g}k", v / 1e3);
  }
  return fmt::format("{:g}", v);
}

std::vector<Tick> ticks_on(const std::vector<double>& values, double lo, double hi, double px_lo,
                           double px_hi) {
  std::vector<Tick> out;
  const double step = values.size() > 1 ? values[1] - values[0] : 1;
  for (double v : values) {
    const double pos = px_lo + (v - lo) / (hi - lo) * (px_hi - px_lo);
    out.push_back({v, pos, tick_text(v, step)});
  }
  return out;
}

std::string num(double v) {
  return fmt::format("{:.1f}", v);
}

} // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const char ch = s.front();
    const auto u = static_cast<unsigned char>(ch);
    // Controls (HTML allows none but tab and line ends) and characters that reorder or hide
    // text (a measurement's source, a model's name) are shown as written, \xNN or \u{XXXX}.
    const std::size_t n = format_control_length(s);
    if (n > 0 || (is_control_byte(u) && ch != '\t' && ch != '\n' && ch != '\r')) {
      const std::size_t len = std::max<std::size_t>(n, 1);
      out += controls_escaped(s.substr(0, len));
      s.remove_prefix(len);
      continue;
    }
    switch (ch) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += ch;
    }
    s.remove_prefix(1);
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(std::isfinite(lo) && std::isfinite(hi))) {
    return {0, 1};
  }
  if (hi <= lo) {
    const double pad = lo != 0 ? std::abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) {
      break;
    }
  }
  const double first = std::floor(lo / step) * step;
  const double last = std::ceil(hi / step) * step;
  std::vector<double> v;
  for (double t = first; t <= last + step * 1e-9 && v.size() < 64; t += step) {
    v.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return v;
}

double BarInput::total_bytes() const {
  double t = 0;
  for (double b : bytes) {
    t += b;
  }
  return t;
}

BarInput bar_input(std::string label, std::string sublabel, const MemoryEstimate& m) {
  BarInput b;
  b.label = std::move(label);
  b.sublabel = std::move(sublabel);
  const ComponentBytes& peak = m.at_peak();
  for (std::size_t i = 0; i < peak.size(); ++i) {
    b.bytes[i] = peak[i];
  }
  b.bytes[k_bar_parts - 2] = std::max(0.0, m.peak_reserved_bytes - m.peak_allocated_bytes);
  b.bytes[k_bar_parts - 1] = m.runtime_bytes;
  b.capacity_bytes = m.capacity_bytes;
  b.usable_bytes = m.usable_bytes;
  b.high_bytes = m.device_bytes_required_high;
  return b;
}

MemoryBarsLayout layout_memory_bars(const std::vector<BarInput>& bars, double width) {
  MemoryBarsLayout l;
  l.width = width;
  l.plot_x0 = k_label_width;
  l.plot_x1 = width - 24;
  l.bar_height = k_bar_height;
  double most = 0;
  for (const BarInput& b : bars) {
    most = std::max({most, b.total_bytes(), b.capacity_bytes, b.high_bytes});
  }
  const std::vector<double> gib_ticks = nice_ticks(0, to_gib(most * 1.05), 6);
  l.bytes_max = gib_ticks.back() * k_gib;
  if (l.bytes_max <= 0) {
    l.bytes_max = k_gib;
  }
  l.px_per_byte = (l.plot_x1 - l.plot_x0) / l.bytes_max;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    MemoryBar bar;
    bar.input = bars[i];
    bar.y = k_top + static_cast<double>(i) * k_row_height;
    double x = l.plot_x0;
    for (std::size_t p = 0; p < k_bar_parts; ++p) {
      const double bytes = bars[i].bytes[p];
      if (bytes <= 0) {
        continue;
      }
      const double w = bytes * l.px_per_byte;
      bar.segments.push_back({p, bytes, x, w});
      x += w;
    }
    bar.capacity_x = l.plot_x0 + bars[i].capacity_bytes * l.px_per_byte;
    bar.usable_x = l.plot_x0 + bars[i].usable_bytes * l.px_per_byte;
    bar.fits = bars[i].total_bytes() <= bars[i].usable_bytes;
    bar.high_x = l.plot_x0 + std::max(bars[i].high_bytes, bars[i].total_bytes()) * l.px_per_byte;
    l.bars.push_back(std::move(bar));
  }
  const double axis_y = k_top + static_cast<double>(bars.size()) * k_row_height;
  l.height = axis_y + k_axis_height;
  l.ticks = ticks_on(gib_ticks, 0, gib_ticks.back(), l.plot_x0, l.plot_x1);
  return l;
}

std::string memory_bars_svg(const MemoryBarsLayout& l, const std::string& title) {
  std::string s = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-labelledby=\"membars-title\">\n<title id=\"membars-title\">{}</title>\n",
      num(l.width), num(l.height), xml_escape(title));
  const double axis_y = l.height - k_axis_height;
  for (const Tick& t : l.ticks) {
    s += fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
                     "<text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                     num(t.pos), num(k_top - 4), num(axis_y), num(axis_y + 16), t.text);
  }
  s += fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">GiB per "
                   "GPU (device memory required)</text>\n",
                   num((l.plot_x0 + l.plot_x1) / 2), num(axis_y + 34));
  for (const MemoryBar& b : l.bars) {
    const double total = b.input.total_bytes();
    s += fmt::format("<g class=\"bar{}\">\n", b.fits ? "" : " over");
    s += fmt::format("<text class=\"bar-label\" x=\"{}\" y=\"{}\">{}</text>"
                     "<text class=\"bar-sublabel\" x=\"{}\" y=\"{}\">{}</text>\n",
                     num(l.plot_x0 - 8), num(b.y + 13), xml_escape(b.input.label),
                     num(l.plot_x0 - 8), num(b.y + 29), xml_escape(b.input.sublabel));
    for (const BarSegment& g : b.segments) {
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: "
                       "{:.1f} GiB</title></rect>\n",
                       num(g.x), num(b.y + 2), fmt::format("{:.2f}", g.width), num(l.bar_height),
                       k_part_colours[g.part], k_bar_part_names[g.part], to_gib(g.bytes));
    }
    const double end = l.plot_x0 + total * l.px_per_byte;
    if (b.high_x > end) { // the error band: a whisker from the estimate to its upper edge
      const double mid = b.y + 2 + l.bar_height / 2;
      s += fmt::format("<path class=\"band\" d=\"M{0} {1}H{2}M{2} {3}V{4}\"><title>band's upper "
                       "edge {5:.1f} GiB</title></path>\n",
                       num(end), num(mid), num(b.high_x), num(mid - 5), num(mid + 5),
                       to_gib(b.input.high_bytes));
    }
    s += fmt::format("<line class=\"capacity\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"><title>"
                     "capacity {3:.1f} GiB</title></line>\n",
                     num(b.capacity_x), num(b.y - 2), num(b.y + l.bar_height + 6),
                     to_gib(b.input.capacity_bytes));
    if (b.input.usable_bytes < b.input.capacity_bytes) {
      s += fmt::format("<line class=\"usable\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"><title>"
                       "usable after headroom {3:.1f} GiB</title></line>\n",
                       num(b.usable_x), num(b.y - 2), num(b.y + l.bar_height + 6),
                       to_gib(b.input.usable_bytes));
    }
    // Under the bar's end, kept inside the plot (right-aligned near its right edge).
    const bool near_edge = end > l.plot_x1 - 220;
    s += fmt::format("<text class=\"bar-value\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{:.1f} of "
                     "{:.1f} GiB{}{}</text>\n",
                     num(near_edge ? std::min(end, l.plot_x1) : end + 4), num(b.y + 38),
                     near_edge ? "end" : "start", to_gib(total), to_gib(b.input.usable_bytes),
                     b.input.high_bytes > total
                         ? fmt::format(" (up to {:.1f})", to_gib(b.input.high_bytes))
                         : std::string(),
                     b.fits ? "" : " \u2014 does not fit");
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

std::string_view part_colour(std::size_t i) {
  return k_part_colours[i % k_part_colours.size()];
}

namespace {

// Instance types: Okabe & Ito's palette without the vermillion the rejected points use, each with
// its own shape so colour is never the only cue.
constexpr std::array<std::string_view, 6> k_series_colours = {"#0072B2", "#009E73", "#CC79A7",
                                                              "#E69F00", "#56B4E9", "#000000"};
constexpr std::array<std::string_view, 5> k_series_symbols = {"&#9679;", "&#9632;", "&#9650;",
                                                              "&#9670;", "&#9660;"};

/// The outline of series `i`'s marker of radius `r` at (x, y).
std::string shape_path(std::size_t i, double x, double y, double r) {
  switch (i % k_series_symbols.size()) {
  case 1:
    return fmt::format("M{} {}h{}v{}h{}z", num(x - r), num(y - r), num(2 * r), num(2 * r),
                       num(-2 * r));
  case 2:
    return fmt::format("M{} {}L{} {}L{} {}z", num(x), num(y - 1.2 * r), num(x + 1.1 * r),
                       num(y + 0.8 * r), num(x - 1.1 * r), num(y + 0.8 * r));
  case 3:
    return fmt::format("M{} {}L{} {}L{} {}L{} {}z", num(x), num(y - 1.3 * r), num(x + 1.3 * r),
                       num(y), num(x), num(y + 1.3 * r), num(x - 1.3 * r), num(y));
  case 4:
    return fmt::format("M{} {}L{} {}L{} {}z", num(x), num(y + 1.2 * r), num(x + 1.1 * r),
                       num(y - 0.8 * r), num(x - 1.1 * r), num(y - 0.8 * r));
  default:
    return fmt::format("M{} {}a{} {} 0 1 0 {} 0a{} {} 0 1 0 {} 0z", num(x - r), num(y), num(r),
                       num(r), num(2 * r), num(r), num(r), num(-2 * r));
  }
}

bool has(const Extent& e) {
  return e.hi > e.lo;
}

/// Marks the front of the feasible points (less x, more y) and returns it in x order.
std::vector<std::size_t> mark_front(std::vector<ScatterPoint>& pts) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (pts[i].input.feasible) {
      order.push_back(i);
    }
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const ScatterInput& p = pts[a].input;
    const ScatterInput& q = pts[b].input;
    return p.x != q.x ? p.x < q.x : p.y != q.y ? p.y > q.y : a < b;
  });
  std::vector<std::size_t> front;
  for (std::size_t i : order) {
    if (front.empty() || pts[i].input.y > pts[front.back()].input.y) {
      pts[i].front = true;
      front.push_back(i);
    }
  }
  return front;
}

} // namespace

std::string_view series_colour(std::size_t i) {
  return k_series_colours[i % k_series_colours.size()];
}

std::string_view series_symbol(std::size_t i) {
  return k_series_symbols[i % k_series_symbols.size()];
}

ScatterLayout layout_scatter(const std::vector<ScatterInput>& points, const ScatterOptions& o) {
  ScatterLayout l;
  l.width = o.width;
  l.height = o.height;
  l.plot_x0 = 76;
  l.plot_x1 = o.width - 24;
  l.plot_y0 = o.height - 52;
  l.plot_y1 = 16;
  for (const ScatterInput& p : points) {
    l.points.push_back({p});
  }
  l.front = mark_front(l.points);
  // Thin the plain points (every n-th kept); the front, the labelled and the rejected stay.
  std::size_t plain = 0;
  for (const ScatterPoint& p : l.points) {
    plain += p.input.feasible && !p.front && p.input.label.empty();
  }
  if (o.max_plain_points > 0 && plain > o.max_plain_points) {
    const std::size_t stride = (plain + o.max_plain_points - 1) / o.max_plain_points;
    std::vector<ScatterPoint> kept;
    std::vector<std::size_t> index(l.points.size());
    std::size_t seen = 0;
    for (std::size_t i = 0; i < l.points.size(); ++i) {
      ScatterPoint& p = l.points[i];
      const bool is_plain = p.input.feasible && !p.front && p.input.label.empty();
      index[i] = kept.size();
      if (!is_plain || seen++ % stride == 0) {
        kept.push_back(std::move(p));
      } else {
        ++l.thinned;
      }
    }
    for (std::size_t& i : l.front) {
      i = index[i];
    }
    l.points = std::move(kept);
  }
  double x_lo = 0, x_hi = 0, y_hi = 0;
  bool first = true;
  const auto cover_x = [&](double v) {
    x_lo = first ? v : std::min(x_lo, v);
    x_hi = first ? v : std::max(x_hi, v);
    first = false;
  };
  for (const ScatterPoint& sp : l.points) {
    const ScatterInput& p = sp.input;
    cover_x(p.x);
    y_hi = std::max(y_hi, p.y);
    if (has(p.x_band)) {
      cover_x(p.x_band.lo);
      cover_x(p.x_band.hi);
    }
    if (has(p.y_band)) {
      y_hi = std::max(y_hi, p.y_band.hi);
    }
  }
  for (const Marker& m : o.markers) {
    cover_x(m.value);
  }
  // Throughput starts at 0 so heights compare honestly; the x axis is fitted to the points.
  const std::vector<double> xt = nice_ticks(x_lo, x_hi, 6);
  const std::vector<double> yt = nice_ticks(0, y_hi, 5);
  l.x_min = xt.front();
  l.x_max = xt.back();
  l.y_min = yt.front();
  l.y_max = yt.back();
  l.x_ticks = ticks_on(xt, l.x_min, l.x_max, l.plot_x0, l.plot_x1);
  l.y_ticks = ticks_on(yt, l.y_min, l.y_max, l.plot_y0, l.plot_y1);
  const auto map_x = [&](double v) {
    return l.plot_x0 + (v - l.x_min) / (l.x_max - l.x_min) * (l.plot_x1 - l.plot_x0);
  };
  const auto map_y = [&](double v) {
    return l.plot_y0 + (v - l.y_min) / (l.y_max - l.y_min) * (l.plot_y1 - l.plot_y0);
  };
  for (ScatterPoint& p : l.points) {
    p.px = map_x(p.input.x);
    p.py = map_y(p.input.y);
    p.x_lo_px = map_x(has(p.input.x_band) ? p.input.x_band.lo : p.input.x);
    p.x_hi_px = map_x(has(p.input.x_band) ? p.input.x_band.hi : p.input.x);
    p.y_lo_px = map_y(has(p.input.y_band) ? p.input.y_band.lo : p.input.y);
    p.y_hi_px = map_y(has(p.input.y_band) ? p.input.y_band.hi : p.input.y);
  }
  for (const Marker& m : o.markers) {
    l.x_markers.push_back({m.value, map_x(m.value), m.text});
  }
  return l;
}

double free_label_y(const std::vector<std::pair<double, double>>& placed, double x, double want,
                    double top, double bottom) {
  constexpr double k_line = 12;  // a label's height
  constexpr double k_width = 26; // and width, "#10" at the label font
  // Two labels a line apart touch, not overlap, whatever the rounding of `a + 12 - a`.
  constexpr double k_slack = 1e-6;
  const auto in_the_way = [&](const std::pair<double, double>& q) {
    return std::abs(q.first - x) < k_width;
  };
  const auto is_free = [&](double y) {
    return std::none_of(placed.begin(), placed.end(), [&](const std::pair<double, double>& q) {
      return in_the_way(q) && std::abs(q.second - y) < k_line - k_slack;
    });
  };
  bottom = std::max(top, bottom);
  want = std::clamp(want, top, bottom);
  if (is_free(want)) {
    return want;
  }
  // Else the free place nearest `want` just below or above a label in the way (below first).
  double best = want;
  double best_distance = std::numeric_limits<double>::infinity();
  for (const auto& q : placed) {
    if (!in_the_way(q)) {
      continue;
    }
    for (const double y : {q.second + k_line, q.second - k_line}) {
      const double d = std::abs(y - want);
      // the nearest; of two as near, the lower on the page (the larger y)
      if (y >= top && y <= bottom && (d < best_distance || (d == best_distance && y > best)) &&
          is_free(y)) {
        best = y;
        best_distance = d;
      }
    }
  }
  return best;
}

std::string scatter_svg(const ScatterLayout& l, const std::string& title,
                        const std::string& x_label, const std::string& y_label) {
  const std::string id = fmt::format("scatter-{}", std::hash<std::string>{}(title) % 100000);
  std::string s =
      fmt::format("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
                  "role=\"img\" aria-labelledby=\"{}\">\n<title id=\"{}\">{}</title>\n",
                  num(l.width), num(l.height), id, id, xml_escape(title));
  for (const Tick& t : l.x_ticks) {
    s += fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
                     "<text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                     num(t.pos), num(l.plot_y1), num(l.plot_y0), num(l.plot_y0 + 16), t.text);
  }
  for (const Tick& t : l.y_ticks) {
    s += fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
                     "<text class=\"tick\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
                     num(l.plot_x0), num(l.plot_x1), num(t.pos), num(l.plot_x0 - 6), num(t.pos + 4),
                     t.text);
  }
  s +=
      fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                  num((l.plot_x0 + l.plot_x1) / 2), num(l.height - 10), xml_escape(x_label));
  s += fmt::format("<text class=\"axis-label\" transform=\"translate(16 {}) rotate(-90)\" "
                   "text-anchor=\"middle\">{}</text>\n",
                   num((l.plot_y0 + l.plot_y1) / 2), xml_escape(y_label));
  for (std::size_t i = 0; i < l.x_markers.size(); ++i) {
    const Tick& m = l.x_markers[i];
    s += fmt::format("<line class=\"capacity\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
                     "<text class=\"marker-label\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}"
                     "</text>\n",
                     num(m.pos), num(l.plot_y1), num(l.plot_y0), num(m.pos - 4),
                     num(l.plot_y1 + 12 + 14 * static_cast<double>(i)), xml_escape(m.text));
  }
  if (l.front.size() > 1) {
    // A staircase: each front point holds its throughput until the next, cheaper-to-richer one.
    std::string pts;
    for (std::size_t k = 0; k < l.front.size(); ++k) {
      const ScatterPoint& p = l.points[l.front[k]];
      if (k > 0) {
        pts += fmt::format("{},{} ", num(p.px), num(l.points[l.front[k - 1]].py));
      }
      pts += fmt::format("{},{} ", num(p.px), num(p.py));
    }
    pts.pop_back();
    s += fmt::format("<polyline class=\"front\" points=\"{}\"/>\n", pts);
  }
  // Bands of the points that matter: the labelled plans and the front.
  for (const ScatterPoint& p : l.points) {
    if (p.input.feasible && (p.front || !p.input.label.empty())) {
      if (p.x_hi_px > p.x_lo_px) {
        s += fmt::format("<line class=\"extent\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\n",
                         num(p.x_lo_px), num(p.x_hi_px), num(p.py));
      }
      if (p.y_lo_px > p.y_hi_px) {
        s += fmt::format("<line class=\"extent\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n",
                         num(p.px), num(p.y_lo_px), num(p.y_hi_px));
      }
    }
  }
  // Draw order: other feasible points, rejected, the front, then the labelled plans on top.
  const auto draw = [&](const ScatterPoint& p) {
    const ScatterInput& in = p.input;
    const std::string tip = fmt::format("<title>{}</title>", xml_escape(in.title));
    if (!in.feasible) {
      s += fmt::format("<path class=\"rejected\" d=\"M{0} {1}l8 8m0 -8l-8 8\">{2}</path>\n",
                       num(p.px - 4), num(p.py - 4), tip);
      return;
    }
    const bool strong = p.front || !in.label.empty();
    s += fmt::format("<path class=\"{}\" style=\"{}:{}\" d=\"{}\">{}</path>\n",
                     strong ? "on-front" : "point", strong ? "fill" : "stroke",
                     series_colour(in.series), shape_path(in.series, p.px, p.py, strong ? 4.5 : 3),
                     tip);
  };
  // Labels: each at the free slot nearest its point's top-right inside the plot.
  std::vector<std::pair<double, double>> placed;
  const auto draw_label = [&](const ScatterPoint& p) {
    const double y = free_label_y(placed, p.px + 7, p.py - 6, l.plot_y1 + 10, l.plot_y0);
    placed.emplace_back(p.px + 7, y);
    s += fmt::format("<text class=\"point-label\" x=\"{}\" y=\"{}\">{}</text>\n", num(p.px + 7),
                     num(y), xml_escape(p.input.label));
  };
  for (int pass = 0; pass < 4; ++pass) {
    for (const ScatterPoint& p : l.points) {
      const ScatterInput& in = p.input;
      const int rank = !in.label.empty() ? 3 : !in.feasible ? 1 : p.front ? 2 : 0;
      if (rank == pass) {
        draw(p);
      }
    }
  }
  for (const ScatterPoint& p : l.points) {
    if (!p.input.label.empty()) {
      draw_label(p);
    }
  }
  s += "</svg>\n";
  return s;
}

} // namespace bwplan::io
