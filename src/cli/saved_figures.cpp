#include "saved_figures.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/units.hpp"

namespace bwplan::cli {

namespace {

/// Saved and re-evaluated figures further apart than this mean the plan file was edited.
constexpr double k_edited_ratio = 10;

} // namespace

const nlohmann::json* saved_figure(const PlanDocument& doc, const char* section, const char* key,
                                   const std::string& where) {
  const nlohmann::json& plan = doc.plan;
  const std::string& at = doc.pointer;
  if (!plan.is_object() || !plan.contains(section)) {
    return nullptr;
  }
  const nlohmann::json& s = plan.at(section);
  if (!s.is_object()) {
    throw Error(fmt::format("{}: {}/{}: expected an object, got {}: the plan was edited", where, at,
                            section, s.type_name()));
  }
  if (!s.contains(key)) {
    return nullptr;
  }
  if (!s.at(key).is_number()) {
    throw Error(fmt::format("{}: {}/{}/{}: expected a number, got {}: the plan was edited", where,
                            at, section, key, s.at(key).type_name()));
  }
  return &s.at(key);
}

namespace {

/// One figure, `section`/`key`, compared as saved_figures compares them and appended to
/// `changes`.
void compare_figure(std::vector<FigureChange>& changes, const PlanDocument& doc,
                    const char* section, const char* key, const char* what, double now,
                    double scale, const char* unit, bool same_model_and_constants,
                    const std::string& where) {
  if (scale == k_gib) {
    now = std::round(now); // plans record whole bytes: an untouched plan shows no change
  }
  if (const nlohmann::json* was = saved_figure(doc, section, key, where)) {
    // A model or catalog update moves these by percents; a factor of 10 (or a value no
    // evaluation gives) is an edited plan, not a change to report as a percentage.
    const double w = was->get<double>();
    if (!(w > 0) || !(now > 0) ||
        (same_model_and_constants && (w / now > k_edited_ratio || now / w > k_edited_ratio))) {
      const std::string u = *unit == '\0' ? std::string() : std::string(" ") + unit;
      throw Error(fmt::format("{}: the plan's {} {:.6g}{} is not one bwplan could have written "
                              "for it (now {:.6g}{}): the plan was edited, or made with --set "
                              "(give it again)",
                              where, what, w / scale, u, now / scale, u));
    }
    changes.push_back({what, w / scale, now / scale, unit});
  }
}

} // namespace

std::vector<FigureChange> saved_figures(const PlanDocument& doc, const Estimate& now,
                                        bool same_model_and_constants, const std::string& where) {
  // Every bwplan plan has recorded these (schema 1 from the start): without one the document is
  // not one bwplan wrote, and a check that left its row out would pass on less than it says.
  for (const auto& [section, key] :
       {std::pair{"memory", "device_bytes_required"}, std::pair{"memory", "peak_reserved_bytes"},
        std::pair{"throughput", "tokens_per_second_per_gpu"}}) {
    if (saved_figure(doc, section, key, where) == nullptr) {
      throw Error(fmt::format("{}: no {}/{}/{}: not a plan bwplan wrote, or the plan was edited",
                              where, doc.pointer, section, key));
    }
  }
  std::vector<FigureChange> changes;
  const auto compare = [&](const char* section, const char* key, const char* what, double value,
                           double scale, const char* unit) {
    compare_figure(changes, doc, section, key, what, value, scale, unit, same_model_and_constants,
                   where);
  };
  compare("memory", "device_bytes_required", "device memory required",
          now.memory.device_bytes_required, k_gib, "GiB");
  compare("memory", "peak_reserved_bytes", "peak reserved", now.memory.peak_reserved_bytes, k_gib,
          "GiB");
  compare("throughput", "tokens_per_second_per_gpu", "tokens/s per GPU",
          now.time.tokens_per_s_per_gpu, 1.0, "");
  // The GPU's memory the verdict is judged against comes from today's catalog: a row only when
  // the plan recorded another (a catalog update, or an edited plan), so the user sees why the
  // verdict may differ from the plan's.
  if (const nlohmann::json* was = saved_figure(doc, "memory", "capacity_bytes", where);
      was != nullptr && std::round(was->get<double>()) != std::round(now.memory.capacity_bytes)) {
    compare("memory", "capacity_bytes", "GPU memory", now.memory.capacity_bytes, k_gib, "GiB");
  }
  // The band's upper edge (check's row; emit refuses an edited one as check does): the verdict
  // rests on the wider of the plan's own and today's (judged_memory).
  compare("memory", "device_bytes_required_high", "band's upper edge",
          now.memory.device_bytes_required_high, k_gib, "GiB");
  return changes;
}

MemoryEstimate judged_memory(const PlanDocument& doc, const Estimate& now, bool other_model,
                             const std::string& where) {
  MemoryEstimate judged = now.memory;
  if (other_model) { // the plan's edge is of its own model: today's model is judged on its own
    return judged;
  }
  if (const nlohmann::json* was =
          saved_figure(doc, "memory", "device_bytes_required_high", where)) {
    if (was->get<double>() > judged.device_bytes_required_high) {
      // the plan's own wider edge: today's allocated edge says nothing of it
      judged.device_bytes_required_high = was->get<double>();
      judged.allocator_retries_high = false;
    }
  }
  return judged;
}

std::optional<std::string> calibration_change(const PlanDocument& doc,
                                              const std::optional<ProfileRef>& now,
                                              const std::string& where, std::string_view use) {
  const std::optional<std::string> now_sha = now ? std::optional(now->sha256) : std::nullopt;
  if (now_sha == doc.calibration_sha256) {
    return std::nullopt;
  }
  return fmt::format("{}: the plan was made {}; {} uses {}", where,
                     doc.calibration_sha256 ? fmt::format("with calibration profile sha256 {}",
                                                          doc.calibration_sha256->substr(0, 12))
                                            : std::string("without a calibration profile"),
                     use,
                     now_sha ? fmt::format("{} (sha256 {})", now->file, now_sha->substr(0, 12))
                             : std::string("none"));
}

} // namespace bwplan::cli
