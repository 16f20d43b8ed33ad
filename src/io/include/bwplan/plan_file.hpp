/// \file
/// A saved plan: one plan of a `bwplan search --format json` document, or an
/// `estimate --format json` document, turned back into the request that produced it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/estimate.hpp"

namespace bwplan {

struct PlanSource {
  std::string plan;        ///< path of the JSON document
  std::int64_t rank = 1;   ///< which plan of a search document
  std::string model;       ///< the model, when the plan's was a file (path or preset)
  double train_tokens = 0; ///< 0: the search's own --train-tokens, if any
};

struct PlanDocument {
  EstimateRequest request;
  nlohmann::json plan; ///< the plan object as saved (its memory, throughput, cost)
  std::string pointer; ///< where `plan` is in the document: "/plans/<i>", or "" (an estimate)
  /// The headroom the plan was made with (a search's constraint; an estimate's usable share).
  std::optional<double> headroom_fraction;
  /// The SHA-256 of the calibration profile the plan was made with (its document's
  /// `calibration.sha256`); none when it was made without one.
  std::optional<std::string> calibration_sha256;
  std::int64_t plans_in_document = 1; ///< a search document's plans; an estimate's one
  /// The recipes a search grouped with the plan (its `alike_precisions`): other low-precision
  /// recipes of a low-precision plan, each once; none for an estimate or a plan without them.
  std::vector<Precision> alike_precisions;
};

/// Parses and checks the document `text` read from `source.plan` ("-": standard input); errors
/// name the file and the JSON pointer.
[[nodiscard]] PlanDocument parse_plan(std::string_view text, const Catalog& catalog,
                                      const PlanSource& source);
/// The same in two steps, so that one parse serves every rank of a search document: the JSON
/// (errors name `source.plan` and the position), then the plan of `source.rank`.
[[nodiscard]] nlohmann::json parse_plan_json(std::string_view text, const PlanSource& source);
[[nodiscard]] PlanDocument plan_from_json(const nlohmann::json& doc, const Catalog& catalog,
                                          const PlanSource& source);

} // namespace bwplan
