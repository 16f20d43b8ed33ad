#include "bwplan/calibration_profile.hpp"
#include "bwplan/utf8.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bwplan/catalog.hpp"
#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/render.hpp"
#include "bwplan/sha256.hpp"
#include "json_reader.hpp"
#include "text_table.hpp"

namespace bwplan {

namespace {

using Json = nlohmann::ordered_json;

/// The band constants a profile carries besides the fitted ones.
constexpr std::string_view k_band_keys[] = {"memory.band_low_fraction", "memory.band_high_fraction",
                                            "time.band_low_fraction", "time.band_high_fraction"};

/// `s` for a one-line message: control characters escaped as JSON escapes them, cut at 64 bytes.
std::string shown(const std::string& s) {
  constexpr std::size_t k_max = 64;
  const std::string cut = s.size() > k_max ? s.substr(0, k_max) : s;
  std::string out =
      nlohmann::json(cut).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out = out.substr(1, out.size() - 2); // without JSON's quotes: the message quotes it
  return s.size() > k_max ? out + "..." : out;
}

const char* quantity_name(Quantity q) {
  return q == Quantity::memory ? "memory" : "throughput";
}

Json summary_json(const ErrorSummary& s) {
  Json j;
  j["runs"] = s.runs;
  j["median_abs_error_pct"] = s.median_abs_pct;
  j["max_abs_error_pct"] = s.max_abs_pct;
  return j;
}

Json errors_json(const CalibrationErrors& e) {
  Json j;
  j["before"] = summary_json(e.before);
  j["after"] = summary_json(e.after);
  j["leave_one_out"] = summary_json(e.leave_one_out);
  return j;
}

} // namespace

Json calibration_profile_json(const Calibration& cal, const ModelConstants& banded,
                              const std::vector<ProfileInput>& inputs) {
  Json j = io::envelope("calibration");
  Json constants = Json::array();
  for (const FittedConstant& f : cal.fitted) {
    constants.push_back({{"key", f.key}, {"shipped", f.shipped}, {"fitted", f.fitted}});
  }
  j["constants"] = constants;
  Json bands = Json::array();
  for (const std::string_view key : k_band_keys) {
    bands.push_back({{"key", key},
                     {"shipped", get_constant(cal.constants, key)},
                     {"fitted", get_constant(banded, key)}});
  }
  j["band_constants"] = bands;
  Json refused = Json::array();
  for (const UnfittedConstant& u : cal.not_fitted) {
    refused.push_back({{"key", u.key}, {"reason", u.reason}});
  }
  j["not_fitted"] = refused;
  Json runs = Json::array();
  for (const CalibratedRun& r : cal.runs) {
    runs.push_back({{"id", r.id},
                    {"source", r.source},
                    {"quantity", quantity_name(r.quantity)},
                    {"measured", r.measured},
                    {"predicted_before", r.before},
                    {"predicted_after", r.after},
                    {"predicted_leave_one_out", r.leave_one_out}});
  }
  j["runs"] = runs;
  j["errors"] = {{"memory", errors_json(cal.memory)}, {"throughput", errors_json(cal.throughput)}};
  j["fit_calls"] = {{"cases", cal.fit_cases},
                    {"right_before", cal.fit_right_before},
                    {"right_after", cal.fit_right_after}};
  j["range"] = {{"gpus", cal.range.gpus},
                {"models", cal.range.models},
                {"seq_len_min", cal.range.seq_len_min},
                {"seq_len_max", cal.range.seq_len_max},
                {"gpu_count_min", cal.range.gpus_min},
                {"gpu_count_max", cal.range.gpus_max}};
  Json in = Json::array();
  for (const ProfileInput& p : inputs) {
    in.push_back({{"file", p.file}, {"sha256", p.sha256}});
  }
  j["inputs"] = in;
  return j;
}

CalibrationProfile parse_calibration_profile(std::string_view text, const std::string& file) {
  const nlohmann::json doc = io::parse_json(text, file);
  io::ObjectReader r(doc, file);
  const std::int64_t version = r.integer("schema_version", 1, 1'000'000);
  if (version > k_output_schema_version) {
    throw Error(fmt::format("{}: /schema_version: {} was written by a newer bwplan (this one "
                            "reads {})",
                            file, version, k_output_schema_version));
  }
  const std::string kind = r.string("kind");
  if (kind != "calibration") {
    throw Error(fmt::format("{}: /kind: '{}' is not a calibration profile (written by bwplan "
                            "calibrate)",
                            file, kind));
  }
  CalibrationProfile p;
  p.file = file;
  p.sha256 = io::sha256_hex(text);
  ModelConstants check;
  std::vector<std::pair<std::string, std::string>> seen; // key -> where it was set
  for (const char* list : {"constants", "band_constants"}) {
    const bool bands = std::string_view(list) == "band_constants";
    const nlohmann::json& items = r.value(list);
    if (!items.is_array()) {
      throw Error(fmt::format("{}: /{}: expected an array", file, list));
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string at = fmt::format("/{}/{}", list, i);
      io::ObjectReader c(items[i], file, at);
      const std::string key = c.string("key");
      const double value = c.number("fitted", -1e30, 1e30);
      const double shipped = c.number("shipped", -1e30, 1e30);
      c.finish();
      // Only what calibrate writes: the constants it fits (within the bounds it fits them in)
      // and the four band constants, each once. An edited profile is refused, not half-applied.
      const FreeConstant* free = nullptr;
      for (const FreeConstant& f : k_free_constants) {
        free = f.key == key ? &f : free;
      }
      const bool band =
          std::find(std::begin(k_band_keys), std::end(k_band_keys), key) != std::end(k_band_keys);
      if (bands && !band) {
        throw Error(fmt::format("{}: {}/key: '{}' is not a band constant (allowed: {})", file, at,
                                shown(key), fmt::join(k_band_keys, ", ")));
      }
      if (!bands && free == nullptr) {
        std::vector<std::string_view> fitted;
        for (const FreeConstant& f : k_free_constants) {
          fitted.push_back(f.key);
        }
        throw Error(fmt::format("{}: {}/key: '{}' is not a constant calibrate fits (allowed: {})",
                                file, at, shown(key), fmt::join(fitted, ", ")));
      }
      for (const auto& [k, where] : seen) {
        if (k == key) {
          throw Error(fmt::format("{}: {}/key: '{}' is set twice (also at {}): a profile sets "
                                  "each constant once",
                                  file, at, key, where));
        }
      }
      seen.emplace_back(key, at);
      if (free != nullptr && !(value >= free->lo && value <= free->hi)) {
        throw Error(fmt::format("{}: {}/fitted: {} = {} is outside the bounds calibrate fits it "
                                "in (allowed {}..{})",
                                file, at, key, value, free->lo, free->hi));
      }
      try {
        set_constant(check, key, value);
      } catch (const Error& e) {
        throw Error(fmt::format("{}: {}: {}", file, at, e.what()));
      }
      try { // the value bwplan shipped then: one the constant can take
        ModelConstants then;
        set_constant(then, key, shipped);
      } catch (const Error& e) {
        throw Error(fmt::format("{}: {}/shipped: {}", file, at, e.what()));
      }
      p.constants.emplace_back(key, value);
      if (!bands) {
        (free->quantity == Quantity::memory ? p.fitted_memory : p.fitted_time) = true;
      }
    }
  }
  io::ObjectReader range = r.object("range");
  // Every key known before any is read: a missing one is said to be missing, not blamed on a
  // valid key read later as a misspelling of it.
  range.allow({"gpus", "models", "seq_len_min", "seq_len_max", "gpu_count_min", "gpu_count_max"});
  p.range.gpus = range.string_list("gpus");
  p.range.models = range.string_list("models");
  for (const char* list : {"gpus", "models"}) {
    if ((std::string_view(list) == "gpus" ? p.range.gpus : p.range.models).empty()) {
      throw Error(fmt::format("{}: the {} the runs covered: expected at least one (a profile "
                              "comes from at least one run)",
                              range.at(list), list));
    }
  }
  // The same limits a configuration's own fields have: a run had at least one token and GPU.
  const std::int64_t max_seq = config_field_range(&TrainingConfig::seq_len).max;
  const std::int64_t max_gpus = config_field_range(&TrainingConfig::gpus).max;
  p.range.seq_len_min = range.integer("seq_len_min", 1, max_seq);
  p.range.seq_len_max = range.integer("seq_len_max", 1, max_seq);
  p.range.gpus_min = range.integer("gpu_count_min", 1, max_gpus);
  p.range.gpus_max = range.integer("gpu_count_max", 1, max_gpus);
  if (p.range.seq_len_min > p.range.seq_len_max) {
    throw Error(fmt::format("{}: {} is above seq_len_max {} (allowed at most seq_len_max)",
                            range.at("seq_len_min"), p.range.seq_len_min, p.range.seq_len_max));
  }
  if (p.range.gpus_min > p.range.gpus_max) {
    throw Error(fmt::format("{}: {} is above gpu_count_max {} (allowed at most gpu_count_max)",
                            range.at("gpu_count_min"), p.range.gpus_min, p.range.gpus_max));
  }
  range.finish();
  // What the profile reports of its fit (read by people and its report, not applied): of the
  // types calibrate writes, or the profile was edited.
  for (const auto& [key, array] :
       {std::pair{"not_fitted", true}, std::pair{"runs", true}, std::pair{"inputs", true},
        std::pair{"errors", false}, std::pair{"fit_calls", false}}) {
    const nlohmann::json& v = r.value(key);
    if (array ? !v.is_array() : !v.is_object()) {
      throw Error(fmt::format("{}: /{}: expected an {}, got {} (as calibrate writes it)", file, key,
                              array ? "array" : "object", io::json_type_name(v)));
    }
  }
  r.finish();
  return p;
}

CalibrationProfile parse_calibration_profile(std::string_view text, const std::string& file,
                                             const Catalog& catalog) {
  CalibrationProfile p = parse_calibration_profile(text, file);
  for (std::size_t i = 0; i < p.range.gpus.size(); ++i) {
    io::in_context(fmt::format("{}: /range/gpus/{}", file, i),
                   [&] { return catalog.gpu(p.range.gpus[i]).name; });
  }
  return p;
}

namespace {

std::string pct(double predicted, double measured) {
  return signed_pct(100.0 * (predicted - measured) / measured) + " %";
}

} // namespace

std::string calibration_table(const Calibration& cal, const std::string& profile) {
  std::string out = fmt::format("calibration profile {}\n\n", display_one_line(profile));
  using A = io::TextTable::Align;
  io::TextTable t({{"run", A::left},
                   {"quantity", A::left},
                   {"measured", A::right},
                   {"before", A::right},
                   {"after", A::right},
                   {"left out", A::right}});
  for (const CalibratedRun& r : cal.runs) {
    const bool mem = r.quantity == Quantity::memory;
    t.add_row({r.id, mem ? "memory" : "tokens/s/GPU",
               mem ? fmt::format("{:.2f} GiB", r.measured / (1024.0 * 1024.0 * 1024.0))
                   : fmt::format("{:.0f}", r.measured),
               pct(r.before, r.measured), pct(r.after, r.measured),
               pct(r.leave_one_out, r.measured)});
  }
  out += t.render();
  auto line = [](const char* what, const CalibrationErrors& e) {
    if (e.after.runs == 0) { // a median of no errors is not 0 %
      return fmt::format("{}: no run measured it\n", what);
    }
    return fmt::format("{}: median |error| {:.1f} % before, {:.1f} % after, {:.1f} % left out "
                       "(max {:.1f} / {:.1f} / {:.1f} %, {} runs)\n",
                       what, e.before.median_abs_pct, e.after.median_abs_pct,
                       e.leave_one_out.median_abs_pct, e.before.max_abs_pct, e.after.max_abs_pct,
                       e.leave_one_out.max_abs_pct, e.after.runs);
  };
  out += "\n" + line("memory", cal.memory) + line("tokens/s", cal.throughput);
  if (cal.fit_cases > 0) {
    out += fmt::format("fit/OOM calls right: {}/{} before, {}/{} after\n", cal.fit_right_before,
                       cal.fit_cases, cal.fit_right_after, cal.fit_cases);
  }
  out += "\nfitted:\n";
  for (const FittedConstant& f : cal.fitted) {
    out += fmt::format("  {} = {:.4g} (shipped {:.4g})\n", f.key, f.fitted, f.shipped);
  }
  out += "not fitted:\n";
  for (const UnfittedConstant& u : cal.not_fitted) {
    out += fmt::format("  {}: {}\n", u.key, u.reason);
  }
  return out;
}

void apply_calibration_profile(const CalibrationProfile& profile, ModelConstants& k) {
  // A band calibrate wrote is never narrower than the one it started from (apply_calibrated_bands
  // only widens): a narrower one was edited, and would call at risk plans fits.
  std::size_t band = 0; // the band constants follow the fitted ones, in the file's order
  for (const auto& [key, value] : profile.constants) {
    if (std::find(std::begin(k_band_keys), std::end(k_band_keys), key) == std::end(k_band_keys)) {
      continue;
    }
    if (const double shipped = get_constant(k, key); value < shipped) {
      throw Error(fmt::format("{}: /band_constants/{}: {} = {} is narrower than the shipped {} "
                              "(allowed {} and above: calibrate only widens a band)",
                              profile.file, band, key, value, shipped, shipped));
    }
    ++band;
  }
  for (const auto& [key, value] : profile.constants) {
    set_constant(k, key, value);
  }
  const CalibrationRange& r = profile.range;
  if (profile.fitted_memory && r.seq_len_max > 0) {
    k.memory.band_measured_gpus = r.gpus;
    k.memory.band_measured_seq_len = static_cast<double>(r.seq_len_max);
  }
  if (profile.fitted_time && r.seq_len_max > 0 && r.gpus_max > 0) {
    k.time.band_measured_gpus = r.gpus;
    k.time.band_measured_seq_len = static_cast<double>(r.seq_len_max);
    k.time.band_measured_gpu_count = static_cast<double>(r.gpus_max);
  }
}

} // namespace bwplan
