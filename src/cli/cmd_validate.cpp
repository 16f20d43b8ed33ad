// `bwplan validate FILE`: the memory model against measured runs.
#include <fmt/format.h>

#include "bwplan/measurements.hpp"
#include "bwplan/render.hpp"
#include "context.hpp"

namespace bwplan::cli {

namespace {

struct ValidateOptions {
  std::string file;
  double max_median_error_pct = -1; ///< < 0: no limit
  ConstantsOptions constants;
  OutputOptions output;
};

void run_validate(Context& ctx, const ValidateOptions& o) {
  ctx.begin();
  const bool json = wants_json(o.output);
  // "-" is standard input, as for calibrate's files and --plan
  const std::vector<MeasurementCase> cases = parse_measurements(
      read_input_text(ctx, "the measurements file", o.file), o.file, ctx.catalog());
  if (cases.empty()) {
    // a gate over nothing would pass: median 0 %, fit 1.0
    throw Error(fmt::format("{}: has no measurement cases; nothing to validate", o.file));
  }
  const ModelConstants k = resolve_constants(ctx, o.constants);
  const Validation v = [&] {
    try {
      return validate_cases(cases, k.memory, k.time);
    } catch (const Error& e) { // a case's measured figure no run could have: say which file
      throw Error(fmt::format("{}: {}", o.file, e.what()));
    }
  }();
  if (o.max_median_error_pct >= 0 && v.summary.numeric_cases == 0) {
    // its median would read 0 % and pass a gate that judged nothing
    throw Error(fmt::format("--max-median-error {:g}: {} has no measured peak to take the median "
                            "of (its {} cases are fit/OOM outcomes; allowed: a file with a "
                            "peak_*_gib case, or leave the flag out)",
                            o.max_median_error_pct, o.file, cases.size()));
  }
  write_output(ctx, o.output,
               json ? validation_json(v, o.file).dump(2) + "\n" : validation_table(v, o.file));
  if (o.max_median_error_pct >= 0 && v.summary.median_abs_error_pct > o.max_median_error_pct) {
    // A verdict, as `check`'s: the table is complete and the status says it (docs/bwplan.md).
    ctx.log->warn("verdict: median |error| {:.2f}% is above --max-median-error {:g}%",
                  v.summary.median_abs_error_pct, o.max_median_error_pct);
    ctx.status = exit_code::does_not_fit;
  }
}

} // namespace

void setup_validate(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "validate", "compare predicted with measured peak memory over a bwplan-measurements/1 file");
  auto o = std::make_shared<ValidateOptions>();
  cmd->add_option("file", o->file,
                  "measurements file (e.g. tests/data/measurements.json; - reads standard input)")
      ->check(not_empty(ValueKind::input_path))
      ->required();
  cmd->add_option("--max-median-error", o->max_median_error_pct,
                  "exit 3 when the median absolute error is above this percentage")
      ->transform(number_in(0, 1000, true));
  add_constants_options(*cmd, o->constants);
  add_output_options(*cmd, o->output);
  cmd->callback([&ctx, o] { run_validate(ctx, *o); });
}

} // namespace bwplan::cli
