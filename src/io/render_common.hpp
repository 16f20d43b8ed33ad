/// \file
/// JSON pieces shared by the renderers (estimate, search), so a plan and an estimate write the
/// same configuration and memory objects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/render.hpp"

namespace bwplan::io {

/// Byte counts and other whole quantities are written as integers so outputs diff cleanly.
[[nodiscard]] std::int64_t whole(double v);

/// A list of enum values as a JSON array of their spellings.
template <class E> [[nodiscard]] OrderedJson names_json(const std::vector<E>& values) {
  OrderedJson a = OrderedJson::array();
  for (E v : values) {
    a.push_back(name_of(v));
  }
  return a;
}

/// Where a configuration runs, by name.
struct ConfigWhere {
  std::string model;
  std::string gpu;
  std::string instance; ///< empty when given as GPUs
  std::int64_t nodes = 1;
};

/// Every field of a TrainingConfig, with the model and cluster: enough to re-run `estimate`.
[[nodiscard]] OrderedJson config_json(const TrainingConfig& c, const ConfigWhere& w);

/// A model's shape, parameter counts and sources (a bwplan model file's keys, plus counts).
[[nodiscard]] OrderedJson model_json(const ModelSpec& m);

/// "selective-layer:2", "full", ... as the tables write a checkpointing choice.
[[nodiscard]] std::string ac_label(const TrainingConfig& c);

/// "chunked-head+compile", "unfused+fp32-head", ... as the tables write a loss: its
/// implementation, compile and an fp32 head.
[[nodiscard]] std::string loss_label(const TrainingConfig& c);

/// Why the first plan is not the one the prediction alone ranks first (SearchResult::passed_over),
/// in one sentence; empty when it is.
[[nodiscard]] std::string passed_over_note(const SearchReport& r);

/// A search's resolved inputs (model, instances, axes, constraints, origins, objective).
[[nodiscard]] OrderedJson search_inputs_json(const SearchReport& r);

/// Why the memory and the tokens/s bands are wider than the measured runs' error, a line for each
/// band widened ("" when neither is).
[[nodiscard]] std::string band_note(Widenings memory, Widenings tokens);

/// What a plan marked `*` does (MemoryEstimate::allocator_retries), one sentence without the
/// mark: the search table's footnote and the report's note under its ranked plans.
inline constexpr std::string_view k_allocator_retries_note =
    "the reserved peak does not fit beside the CUDA context and NCCL: the caching allocator "
    "returns its free cache to fit, retrying allocations every step";

[[nodiscard]] OrderedJson memory_json(const MemoryEstimate& m);
[[nodiscard]] OrderedJson throughput_json(const StepTime& t);
[[nodiscard]] OrderedJson cost_json(const Cost& c);
/// Where a price came from, as the outputs say it: "--price-per-hour", or "ml.p6-b200.48xlarge
/// EC2 On-Demand Linux (...), us-east-1, 2026-07-28".
[[nodiscard]] std::string price_basis_text(const PriceBasis& b);
/// A fit suggestion as the flag that makes it: "--activation-checkpointing full".
[[nodiscard]] std::string change_text(const FitSuggestion& s);
/// $ per million tokens to three significant figures (two decimals read 0.03 for every plan of a
/// small model's cost ranking).
[[nodiscard]] std::string usd_per_million_text(double usd);
/// A kept plan's `fits` cell: "yes", or "at risk" when only the estimate fits (the search table's
/// and the report's ranked table's).
[[nodiscard]] const char* fits_cell(const MemoryEstimate& m);

} // namespace bwplan::io
