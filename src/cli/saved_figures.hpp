// The figures a saved plan recorded (memory, tokens/s), read back against today's evaluation of
// the same plan: `check` reports how they moved, `emit` refuses a plan whose figures were edited.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bwplan/calibration_profile.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/plan_file.hpp"

namespace bwplan::cli {

/// A number the saved plan recorded in `section`/`key`, or nullptr when an older bwplan did not
/// write it. Present with another type, the plan was edited: throws bwplan::Error naming `where`.
[[nodiscard]] const nlohmann::json* saved_figure(const PlanDocument& doc, const char* section,
                                                 const char* key, const std::string& where);

/// One recorded figure and today's.
struct FigureChange {
  std::string what;
  double was = 0;
  double now = 0;
  std::string unit;
};

/// The plan's device memory required, peak reserved, tokens/s per GPU and band's upper edge
/// against `now`, in the units people read (GiB; tokens/s): what check shows and what emit
/// holds a plan to alike. Throws bwplan::Error when the plan records no device
/// memory (not a plan bwplan wrote), a figure no evaluation gives (0, negative) or, when
/// `same_model_and_constants` (no --model, --set or other calibration profile moved today's
/// figures), one a factor of 10 from today's: the plan was edited.
[[nodiscard]] std::vector<FigureChange> saved_figures(const PlanDocument& doc, const Estimate& now,
                                                      bool same_model_and_constants,
                                                      const std::string& where);

/// Today's memory estimate of the plan with the wider of today's band edge and the one it was
/// saved with (a plan is never judged on a narrower band than it was made with; `where` names
/// the file). With `other_model` (--model) the saved edge is of another model's estimate, so
/// today's band alone judges it. Its verdict(), where the estimate is feasible, is the plan's.
[[nodiscard]] MemoryEstimate judged_memory(const PlanDocument& doc, const Estimate& now,
                                           bool other_model, const std::string& where);

/// "WHERE: the plan was made with calibration profile sha256 X; this USE uses FILE (sha256 Y)"
/// when the profile in use (`now`, none without --calibration) is not the one the plan was made
/// with; none when they agree. `use` names the command ("this check", "these launch files").
[[nodiscard]] std::optional<std::string> calibration_change(const PlanDocument& doc,
                                                            const std::optional<ProfileRef>& now,
                                                            const std::string& where,
                                                            std::string_view use);

} // namespace bwplan::cli
