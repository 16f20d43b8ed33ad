/// \file
/// A calibration profile (kind `calibration`, docs/schema/calibration.schema.json): what
/// `bwplan calibrate` writes and `--calibration` reads back.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bwplan/calibration.hpp"

namespace bwplan {

struct Catalog;

/// One file the fit read, by its name as given and the SHA-256 of its bytes.
struct ProfileInput {
  std::string file;
  std::string sha256;
};

/// The profile: the fitted constants and the band constants `banded` holds (after
/// apply_calibrated_bands), the refusals, the runs before/after/leave-one-out, the errors, the
/// range, and the inputs.
[[nodiscard]] nlohmann::ordered_json
calibration_profile_json(const Calibration& cal, const ModelConstants& banded,
                         const std::vector<ProfileInput>& inputs);

/// A profile as outputs name it (`calibration` in estimate, search and check documents).
struct ProfileRef {
  std::string file;
  std::string sha256;
};

/// A profile as read back: the constants it sets, in its order, and the hash of its bytes.
struct CalibrationProfile {
  std::string file;
  std::string sha256;
  std::vector<std::pair<std::string, double>> constants;
  /// What the runs covered; the bands of the quantity whose constants it fitted widen outside it.
  CalibrationRange range;
  bool fitted_memory = false, fitted_time = false;
};

/// Parses `text` read from `file`. Throws Error naming the file and the JSON pointer for a
/// format it does not know (a newer bwplan's), an unknown key, a constant calibrate does not fit
/// (or a band key that is not a band), a constant set twice or outside the bounds calibrate fits
/// it in, or a range that no run can have covered (empty, zero, or its minimum above its maximum).
[[nodiscard]] CalibrationProfile parse_calibration_profile(std::string_view text,
                                                           const std::string& file);
/// The same, and every GPU of the range must be one of `catalog`'s.
[[nodiscard]] CalibrationProfile
parse_calibration_profile(std::string_view text, const std::string& file, const Catalog& catalog);

/// What `calibrate` prints: each run's error before, after and left out of the fit, the error
/// summaries, and the constants fitted and refused.
[[nodiscard]] std::string calibration_table(const Calibration& cal, const std::string& profile);

/// Sets `profile`'s constants on `k`, and for each quantity it fitted, the band's coverage to the
/// profile's range (its GPUs, longest sequence and, for tokens/s, largest GPU count): a
/// configuration outside what the runs covered gets the usual widening (docs/model.md, "Bands").
/// Throws Error naming the file and the band, leaving `k` as it was, when a band constant is
/// narrower than `k`'s (the shipped constants the profile replaces): calibrate only widens them.
void apply_calibration_profile(const CalibrationProfile& profile, ModelConstants& k);

} // namespace bwplan
