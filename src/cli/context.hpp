/// \file
/// What every command gets: the catalog, the output streams and the logger.
#pragma once

#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>

#include "bwplan/calibration_profile.hpp"
#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "bwplan/field_names.hpp"
#include "bwplan/plan_file.hpp"

namespace bwplan::cli {

/// A flag's value is not one the flag takes (exit status 2, like CLI11's own parse errors).
class UsageError : public Error {
public:
  using Error::Error;
};

/// An output could not be written (exit status 4): disk full, closed pipe, no permission.
class WriteError : public Error {
public:
  using Error::Error;
};

/// Options shared by all commands.
struct GlobalOptions {
  std::string configs_dir; ///< empty = the built-in catalog
  bool verbose = false;
  bool quiet = false;
};

/// Output options of a command that writes one document.
struct OutputOptions {
  std::string format = "table"; ///< table | json
  std::string output;           ///< file to write instead of stdout
  bool force = false;           ///< allow --output to replace an existing file
};

/// A file a command reads, which none of its outputs may replace (not even with --force: a
/// measurement file or a saved plan is what the user cannot make again).
struct InputFile {
  std::string role; ///< as messages name it: "the --plan file", "the measurements file"
  std::string path; ///< as given
};

struct Context {
  const GlobalOptions* global = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::shared_ptr<spdlog::logger> log;
  int status = 0; ///< exit status a command sets (e.g. 3 when a configuration does not fit)
  /// The profile resolve_constants() applied (`--calibration`), named in JSON outputs.
  std::optional<ProfileRef> calibration;
  std::string command_line;      ///< "bwplan search --model ...", for reports
  std::string version;           ///< bwplan's version
  std::vector<InputFile> inputs; ///< every file the command read (standard input is none)
  /// Records `path` as an input (nothing for standard input, "-").
  void note_input(const std::string& role, const std::string& path);
  /// Records a --model value that is a file, not a preset.
  void note_model_input(const std::string& model);
  /// Call first in every command: applies -v/-q (parsed before command callbacks run).
  void begin();
  /// Loaded on first use, from --configs or the built-in copy.
  const Catalog& catalog();

private:
  std::optional<Catalog> m_catalog;
};

/// Accepts only a base-10 integer that fits in 64 bits (CLI11 alone clamps 2^63 silently and
/// reads a leading zero as octal); the value reaches CLI11 as plain decimal. A value beyond 64
/// bits is out of range, named with `range` (the flag's own) when given; with `enforce`, so is a
/// value outside `range` (for a flag whose 0 stands for a default a later check cannot tell from
/// a 0 given).
[[nodiscard]] CLI::Validator
strict_integer(std::optional<std::pair<std::int64_t, std::int64_t>> range = std::nullopt,
               bool enforce = false);

/// Set by a flag validator that refused a well-formed value as out of range (reset by `run`
/// before parsing): `run` then gives status 1 (bad input), as every other out-of-range check
/// does, not CLI11's 2 (usage).
[[nodiscard]] bool& flag_value_out_of_range();

/// Refuses a repeatable flag (or a list) that names one value twice: a list would evaluate and
/// show it twice, a calibration input weigh twice, a --set key be overridden silently.
void check_distinct(const std::vector<std::string>& values, const char* flag);

/// How a whole string reads as a number, the one rule every numeric flag follows: a well-formed
/// value beyond the type's range is out of range (a bad value, status 1), anything else that is
/// not a (finite) number of that type is malformed (a usage error, status 2).
enum class NumberText { ok, out_of_range, malformed };

template <class T> [[nodiscard]] NumberText read_number(std::string_view s, T& v) {
  const char* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (!s.empty() && ec == std::errc::result_out_of_range && p == end) {
    return NumberText::out_of_range;
  }
  if (s.empty() || ec != std::errc() || p != end) {
    return NumberText::malformed;
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) {
      return NumberText::malformed;
    }
  }
  return NumberText::ok;
}

/// What a flag's value names, for the words of its refusal.
enum class ValueKind {
  value,      ///< any other value
  path,       ///< a file or directory to write: `-` names no file
  input_path, ///< a file to read: `-` is standard input
  required,   ///< a value with no default (emit's role and S3 locations)
};

/// A value that may not be empty (an empty one would silently mean the default, or name no
/// file); an output path may not be `-` either.
[[nodiscard]] CLI::Validator not_empty(ValueKind kind = ValueKind::value);

/// A finite decimal number in [lo, hi] (above lo when `lo_open`); NaN and infinities are refused.
/// With `tokens`, a count may end in k, M, B (or G) or T (x 1e3 .. 1e12): 50B, 4M, 32k.
[[nodiscard]] CLI::Validator number_in(double lo, double hi, bool lo_open = false,
                                       bool tokens = false);

/// Adds --format, --output and --force to `cmd`.
void add_output_options(CLI::App& cmd, OutputOptions& o);

class OutputSet;

/// Writes `text` to stdout, or to --output; with `others` (files and directories the command
/// also writes), all or nothing: every file is written to a temporary first, all are moved into
/// place together, and a failure anywhere, standard output included, leaves none of them.
/// `note` follows the document on standard output (alone there when the document goes to
/// --output), or goes to standard error with `note_on_stderr`; it is written before the files are
/// kept, so its failure takes them back too. Failures throw WriteError.
void write_output(Context& ctx, const OutputOptions& o, const std::string& text);
void write_output(Context& ctx, const OutputOptions& o, const std::string& text, OutputSet& others,
                  const std::string& note = {}, bool note_on_stderr = false);

/// Writes `text` to standard output and flushes it; throws WriteError when that fails.
void write_stdout(Context& ctx, const std::string& text);

/// `--format`: throws UsageError unless table or json.
[[nodiscard]] bool wants_json(const OutputOptions& o);

/// `--headroom PCT` as a fraction of capacity; throws bwplan::Error outside 0..<100.
[[nodiscard]] double headroom_fraction(double pct);

/// Where a command's model constants come from besides the catalog.
struct ConstantsOptions {
  std::string calibration;       ///< `--calibration PROFILE.json`; empty: none
  std::vector<std::string> sets; ///< `--set KEY=VALUE`, applied after the profile
};

/// `doc["calibration"]` = the profile's file and hash, when the command used one.
void add_calibration_ref(const Context& ctx, nlohmann::ordered_json& doc);

/// Adds `--calibration PROFILE.json` and `--set KEY=VALUE` (repeatable).
void add_constants_options(CLI::App& cmd, ConstantsOptions& o);

/// The catalog's constants, then the profile's, then every `--set` (errors name the flag or the
/// profile's file).
[[nodiscard]] ModelConstants resolve_constants(Context& ctx, const ConstantsOptions& o);

/// Each command file defines one of these.
void setup_list_commands(CLI::App& app, Context& ctx);
void setup_estimate(CLI::App& app, Context& ctx);
void setup_validate(CLI::App& app, Context& ctx);
void setup_calibrate(CLI::App& app, Context& ctx);
void setup_search(CLI::App& app, Context& ctx);
void setup_check(CLI::App& app, Context& ctx);
void setup_emit(CLI::App& app, Context& ctx);

/// The text of an input file, or of standard input for "-".
[[nodiscard]] std::string read_input_text(const std::string& path);
/// The same, recording the file as one of the command's inputs (Context::note_input).
[[nodiscard]] std::string read_input_text(Context& ctx, const std::string& role,
                                          const std::string& path);

/// Reads a saved plan from its file (or standard input for "-") and parses it with the context's
/// catalog; records the plan (and a --model file) as inputs.
[[nodiscard]] PlanDocument read_plan(Context& ctx, const PlanSource& source);
/// Warns (not refuses: a model's window can be stretched) when `seq_len` is longer than the
/// model's max_seq_len; `what` names where it came from ("--seq-len", "PLAN: seq_len").
void warn_beyond_max_seq_len(Context& ctx, std::string_view what, std::int64_t seq_len,
                             const ModelSpec& model);
/// How a warning spells a setting: as estimate's flags or as a plan file's keys.
using Spelling = io::Spelling;
/// Warns for each setting the rest of the configuration or the model makes do nothing (disabled
/// loss parallelism at tp 1, no-sync at one micro-batch, fp8 all-gather without sharding, a
/// mixture's layer or expert wrapping on a dense model or where ep leaves it nothing to do, hybrid
/// sharding over one group): estimate for its flags, check and emit for a plan's keys, with
/// `prefix` ("PLAN: ") before each.
void warn_inert_settings(Context& ctx, const TrainingConfig& c, const ModelSpec& model,
                         Spelling spelling, std::string_view prefix = {});
/// The warning for disabled loss parallelism where no tensor parallelism is: the one estimate,
/// check and emit give for a configuration, and search for its whole tp axis.
[[nodiscard]] std::string loss_parallel_unused(Spelling spelling);

} // namespace bwplan::cli
