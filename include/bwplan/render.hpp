/// \file
/// Renderers: each takes one computed result and returns text or JSON. They never recompute.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bwplan/advice.hpp"
#include "bwplan/catalog.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/search.hpp"
#include "bwplan/validation.hpp"

namespace bwplan {

/// Version of every JSON document bwplan writes; bumped on any incompatible change.
inline constexpr int k_output_schema_version = 1;

using OrderedJson = nlohmann::ordered_json;

[[nodiscard]] OrderedJson gpus_json(const Catalog& c);
[[nodiscard]] OrderedJson instances_json(const Catalog& c);
[[nodiscard]] OrderedJson models_json(const Catalog& c);
[[nodiscard]] OrderedJson estimate_json(const Estimate& e);

[[nodiscard]] std::string gpus_table(const Catalog& c);
[[nodiscard]] std::string instances_table(const Catalog& c);
[[nodiscard]] std::string models_table(const Catalog& c);
[[nodiscard]] std::string estimate_table(const Estimate& e);
[[nodiscard]] OrderedJson advice_json(const FitAdvice& a);
[[nodiscard]] std::string advice_table(const FitAdvice& a);

[[nodiscard]] OrderedJson validation_json(const Validation& v, const std::string& file);
[[nodiscard]] std::string validation_table(const Validation& v, const std::string& file);

/// One search and what it was asked, for the renderers.
struct SearchReport {
  const ModelSpec& model;
  const SearchSpace& space;
  const SearchConstraints& limits;
  Objective objective;
  const SearchResult& result;
  double elapsed_seconds = 0; ///< the only field that differs between identical runs
  std::vector<std::pair<std::string, std::string>> origins; ///< flag -> "command line"/"default"
};

[[nodiscard]] OrderedJson search_json(const SearchReport& r);
[[nodiscard]] std::string search_table(const SearchReport& r);

/// 8030261248 -> "8.03B"; 70553706496 -> "70.55B".
[[nodiscard]] std::string format_params(std::int64_t n);

} // namespace bwplan
