/// \file
/// Renderers: each takes one computed result and returns text or JSON. They never recompute.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bwplan/advice.hpp"
#include "bwplan/calibration.hpp"
#include "bwplan/catalog.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/search.hpp"
#include "bwplan/validation.hpp"

namespace bwplan {

/// Version of every JSON document bwplan writes; bumped on any incompatible change.
inline constexpr int k_output_schema_version = 1;

using OrderedJson = nlohmann::ordered_json;

namespace io {
/// {"schema_version", "kind"}: how every JSON document bwplan writes begins.
[[nodiscard]] OrderedJson envelope(const char* kind);
} // namespace io

[[nodiscard]] OrderedJson gpus_json(const Catalog& c);
[[nodiscard]] OrderedJson instances_json(const Catalog& c);
[[nodiscard]] OrderedJson models_json(const Catalog& c);
/// Whether two models have the same facts, as a plan or `bwplan models` writes them, names aside
/// (a plan keeps its model's; `check` says when today's preset of that name has others).
[[nodiscard]] bool same_model_facts(const ModelSpec& a, const ModelSpec& b);
[[nodiscard]] OrderedJson estimate_json(const Estimate& e);

[[nodiscard]] std::string gpus_table(const Catalog& c);
[[nodiscard]] std::string instances_table(const Catalog& c);
[[nodiscard]] std::string models_table(const Catalog& c);
[[nodiscard]] std::string estimate_table(const Estimate& e);
/// The memory verdict of an estimate that fits or is at risk, in words ("fits, 44.59 GiB
/// headroom; ..." or "at risk: ..."): estimate's last line and check's, said once.
[[nodiscard]] std::string memory_verdict_text(const MemoryEstimate& m);
[[nodiscard]] OrderedJson advice_json(const FitAdvice& a);
/// `elsewhere`: where to look when no single change fits (search's own table names none).
[[nodiscard]] std::string advice_table(const FitAdvice& a,
                                       std::string_view elsewhere = "see 'bwplan search'");

[[nodiscard]] OrderedJson validation_json(const Validation& v, const std::string& file);
[[nodiscard]] std::string validation_table(const Validation& v, const std::string& file);

/// One search and what it was asked, for the renderers.
struct SearchReport {
  const ModelSpec& model;
  const SearchSpace& space;
  const SearchConstraints& limits;
  Objective objective;
  const SearchResult& result;
  /// Wall-clock seconds of the search, shown only when asked (`--timing`): the one value that
  /// would differ between identical runs.
  std::optional<double> elapsed_seconds;
  std::vector<std::pair<std::string, std::string>> origins; ///< flag -> "command line"/"default"
};

[[nodiscard]] OrderedJson search_json(const SearchReport& r);
[[nodiscard]] std::string search_table(const SearchReport& r);

/// One setting of the command that produced a report: what it was and where it came from.
struct InputRow {
  std::string flag;   ///< "--seq-len"
  std::string value;  ///< as given, or the default
  std::string origin; ///< "command line" or "default"
};

/// A rejected candidate of a search, evaluated by the command for the report's charts.
struct RejectedPoint {
  RejectReason reason = RejectReason::out_of_memory;
  std::string detail; ///< the search's one-line explanation
  Estimate estimate;
};

/// What a report shows besides the computed result (the command decides it; nothing here is
/// recomputed by the renderer).
struct ReportContext {
  std::string version;                 ///< bwplan's version, for the footer
  std::string command_line;            ///< as typed, for the record
  std::vector<InputRow> inputs;        ///< every flag with its value and origin
  std::size_t top = 10;                ///< plans labelled, barred and tabled (search)
  std::vector<RejectedPoint> rejected; ///< nearest misses (search)
  std::optional<FitAdvice> advice;     ///< search with no plan: what makes the nearest miss fit
  /// search: the lines saying which listed plans the trainer cannot launch as listed and which
  /// plan launches, as the table's text says them; empty when every plan launches as listed
  std::string launch_note;
};

/// A self-contained HTML page (inline CSS and SVG; no scripts, fonts or fetches) of a search:
/// memory bars of the top plans and nearest misses, throughput vs cost and vs memory scatters
/// with the Pareto front, the ranked table, the rejections, the inputs, sources and limits.
/// `r.result.plans` holds every feasible candidate, ranked; the first `ctx.top` are the plans.
[[nodiscard]] std::string search_report_html(const SearchReport& r, const ReportContext& ctx);

/// The same for one estimate; `advice` (may be null) adds a bar per change that would fit.
[[nodiscard]] std::string estimate_report_html(const Estimate& e, const FitAdvice* advice,
                                               const ReportContext& ctx);

/// 8030261248 -> "8.03B"; 70553706496 -> "70.55B".
[[nodiscard]] std::string format_params(std::int64_t n);

/// A signed percentage to `decimals` places: -0.04 -> "+0.0", never "-0.0" (a change too small
/// to show is none, not a fall).
[[nodiscard]] std::string signed_pct(double pct, int decimals = 1);

/// `calibrate --report`: each run's signed error before, after and left out of the fit on one
/// axis, the error summaries, the runs with their sources, the constants fitted and refused.
[[nodiscard]] std::string calibration_report_html(const Calibration& cal,
                                                  const std::string& profile,
                                                  const ReportContext& ctx);

} // namespace bwplan
