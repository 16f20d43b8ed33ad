// The HTML pages' shared pieces (html_parts.hpp).
#include "html_parts.hpp"

#include <fmt/format.h>

#include "svg_chart.hpp"

namespace bwplan::io {

namespace {

constexpr const char* k_css = R"(
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: #1d1d1f; background: #fff; margin: 0 auto; max-width: 1100px; padding: 16px 24px; }
h1 { font-size: 1.5em; margin: 0.2em 0; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; }
p.lede { margin: 0.2em 0 0.8em; color: #333; }
.verdict-ok { color: #0b6b2f; font-weight: 600; }
.verdict-bad { color: #a4161a; font-weight: 600; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px; }
svg .grid { stroke: #e6e6e6; }
svg .tick { fill: #555; }
svg .axis-label { fill: #333; font-size: 13px; }
svg .bar-label { font-weight: 600; text-anchor: end; fill: #1d1d1f; }
svg .bar-sublabel { text-anchor: end; fill: #555; font-size: 11px; }
svg .bar-value { fill: #333; font-size: 11px; }
svg .over .bar-value { fill: #a4161a; font-weight: 600; }
svg .capacity { stroke: #a4161a; stroke-width: 2; }
svg .usable { stroke: #a4161a; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg .band { stroke: #222; stroke-width: 1.5; fill: none; }
svg .marker-label { fill: #a4161a; font-size: 11px; }
svg .point { fill: #fff; stroke-width: 1; }
svg .on-front { stroke: #1d1d1f; stroke-width: 0.8; }
svg .front { fill: none; stroke: #1d1d1f; stroke-width: 1.2; stroke-dasharray: 5 3; }
svg .extent { stroke: #555; stroke-width: 1; }
svg .rejected { stroke: #D55E00; stroke-width: 2; fill: none; }
svg .point-label { font-weight: 700; fill: #1d1d1f; }
ul.legend { list-style: none; padding: 0; margin: 0.3em 0; display: flex; flex-wrap: wrap;
  gap: 4px 16px; font-size: 13px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #0003; }
.shape { display: inline-block; width: 14px; text-align: center; font-weight: 700; }
table { border-collapse: collapse; font-size: 13px; margin: 0.4em 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.table-wrap { overflow-x: auto; }
.meter { display: inline-block; width: 80px; height: 10px; background: #eee; margin-right: 6px;
  vertical-align: middle; border: 1px solid #ccc; }
.meter span { display: block; height: 100%; background: #0072B2; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
td code { white-space: nowrap; }
p code { word-break: break-all; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
footer { margin-top: 2em; color: #666; font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; }
  svg.chart, table { break-inside: avoid; }
  .table-wrap { overflow: visible; }
}
)";

} // namespace

std::string page(const std::string& title, const std::string& body, const ReportContext& ctx) {
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n{}"
                     "<footer>Written by bwplan {}. Self-contained: no scripts, fonts or remote "
                     "resources.</footer>\n</body>\n</html>\n",
                     xml_escape(title), k_css, body, xml_escape(ctx.version));
}

std::string td(const std::string& text) {
  return "<td>" + xml_escape(text) + "</td>";
}
std::string td_num(const std::string& text) {
  return "<td class=\"num\">" + xml_escape(text) + "</td>";
}

std::string table(const std::vector<std::string>& head, const std::vector<std::string>& rows,
                  const std::string& caption) {
  std::string s = "<div class=\"table-wrap\"><table>";
  if (!caption.empty()) {
    s += "<caption class=\"sr\">" + xml_escape(caption) + "</caption>";
  }
  s += "<thead><tr>";
  for (const std::string& h : head) {
    s += "<th scope=\"col\">" + xml_escape(h) + "</th>";
  }
  s += "</tr></thead><tbody>\n";
  for (const std::string& r : rows) {
    s += "<tr>" + r + "</tr>\n";
  }
  return s + "</tbody></table></div>\n";
}

} // namespace bwplan::io
