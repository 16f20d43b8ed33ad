/// \file
/// The report's two charts, as geometry (unit-tested: lengths proportional to bytes, points on
/// linear axes) and as inline SVG drawn from that geometry. No scripts, fonts or fetches.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "bwplan/memory_model.hpp"

namespace bwplan::io {

/// What a memory bar stacks: the model's components at the peak phase, then the caching
/// allocator's reserve (reserved - allocated) and the CUDA context + NCCL.
inline constexpr std::size_t k_bar_parts = static_cast<std::size_t>(MemoryComponent::count_) + 2;
inline constexpr std::array<std::string_view, k_bar_parts> k_bar_part_names = {
    "parameters",
    "gradients",
    "optimizer states",
    "FSDP buffers",
    "activations",
    "logits",
    "low precision",
    "optimizer temporaries",
    "stack's fixed buffers",
    "allocator reserve",
    "CUDA context + NCCL"};

struct BarInput {
  std::string label;    ///< e.g. "#1 ml.p6-b300.48xlarge"
  std::string sublabel; ///< e.g. "full, bf16, selective-op, mb 4"
  std::array<double, k_bar_parts> bytes{};
  double capacity_bytes = 0;
  double usable_bytes = 0; ///< capacity less the headroom
  double high_bytes = 0;   ///< the memory band's upper edge (device required); 0: none
  [[nodiscard]] double total_bytes() const;
};

/// A memory estimate as the parts of one bar (they sum to device_bytes_required).
[[nodiscard]] BarInput bar_input(std::string label, std::string sublabel, const MemoryEstimate& m);

struct Tick {
  double value = 0;
  double pos = 0; ///< pixel coordinate along its axis
  std::string text;
};

struct BarSegment {
  std::size_t part = 0; ///< index into k_bar_part_names
  double bytes = 0;
  double x = 0;
  double width = 0;
};

struct MemoryBar {
  BarInput input;
  double y = 0; ///< top of the bar
  std::vector<BarSegment> segments;
  double capacity_x = 0;
  double usable_x = 0;
  double high_x = 0; ///< the band's upper edge (the bar's end when there is none)
  bool fits = false;
};

struct MemoryBarsLayout {
  double width = 0, height = 0;
  double plot_x0 = 0, plot_x1 = 0; ///< bytes 0 and bytes_max
  double bar_height = 0;
  double bytes_max = 0;
  double px_per_byte = 0;
  std::vector<MemoryBar> bars;
  std::vector<Tick> ticks; ///< GiB
};

/// Horizontal stacked bars, one per input, on one byte scale (0 .. 1.05 x the largest of every
/// bar's total and capacity) so that lengths compare across GPUs.
[[nodiscard]] MemoryBarsLayout layout_memory_bars(const std::vector<BarInput>& bars, double width);
[[nodiscard]] std::string memory_bars_svg(const MemoryBarsLayout& l, const std::string& title);

/// A band around a plotted value (the model's low/high edges); `lo == hi` draws none.
struct Extent {
  double lo = 0, hi = 0;
};

struct ScatterInput {
  double x = 0;
  double y = 0;
  bool feasible = true;
  std::size_t series = 0; ///< which instance type: the point's colour and shape
  std::string label;      ///< drawn next to the point ("#1"); empty for most
  std::string title;      ///< hover text
  Extent x_band, y_band;  ///< drawn for the labelled and front points
};

struct ScatterPoint {
  ScatterInput input;
  double px = 0, py = 0;
  bool front = false; ///< no feasible point has more y at no more x (or, less-is-better off, less)
  double x_lo_px = 0, x_hi_px = 0, y_lo_px = 0, y_hi_px = 0; ///< the bands, mapped
};

struct ScatterLayout {
  double width = 0, height = 0;
  double plot_x0 = 0, plot_x1 = 0, plot_y0 = 0, plot_y1 = 0; ///< y0 is the bottom (larger px)
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
  std::vector<ScatterPoint> points;
  std::vector<std::size_t> front; ///< the two plotted quantities' front, in x order
  std::vector<Tick> x_ticks, y_ticks;
  std::vector<Tick> x_markers; ///< vertical reference lines (GPU capacities)
  std::size_t thinned = 0;     ///< plain points left out to keep the page light
};

struct Marker {
  double value = 0;
  std::string text;
};

struct ScatterOptions {
  double width = 0, height = 0;
  std::vector<Marker> markers;
  /// At most this many plain points (feasible, off the front, unlabelled): every n-th is kept.
  std::size_t max_plain_points = 0; ///< 0: all
};

/// Linear axes from "nice" tick values around the points, their bands and the markers; y starts
/// at 0. The front is that of the two plotted quantities: more y is better, less x is better.
[[nodiscard]] ScatterLayout layout_scatter(const std::vector<ScatterInput>& points,
                                           const ScatterOptions& o);
/// The baseline y of a 26 x 12 pixel label at `x`: `want` (clamped to [top, bottom]) when no
/// label drawn overlaps it, else the nearest free place within [top, bottom] just below or above
/// a label in the way (below first), else `want`. `placed` holds the labels drawn (x, baseline y).
[[nodiscard]] double free_label_y(const std::vector<std::pair<double, double>>& placed, double x,
                                  double want, double top, double bottom);
[[nodiscard]] std::string scatter_svg(const ScatterLayout& l, const std::string& title,
                                      const std::string& x_label, const std::string& y_label);

/// The colour and the SVG shape of series `i` (instance types); the legend pairs them with names.
[[nodiscard]] std::string_view series_colour(std::size_t i);
[[nodiscard]] std::string_view series_symbol(std::size_t i); ///< a character for the legend

/// 1-2-5 ticks covering [lo, hi], about `count` of them.
[[nodiscard]] std::vector<double> nice_ticks(double lo, double hi, int count);

/// The fill of bar part `i` (the legend pairs it with the part's name).
[[nodiscard]] std::string_view part_colour(std::size_t i);

/// Text safe inside HTML/SVG elements and attribute values.
[[nodiscard]] std::string xml_escape(std::string_view s);

} // namespace bwplan::io
