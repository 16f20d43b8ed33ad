// `bwplan calibrate INPUT... [--run PLAN=LOG]... --output PROFILE.json`: fits the free
// constants to measured runs and writes a profile `--calibration` reads back.
#include <filesystem>

#include <fmt/format.h>

#include "bwplan/calibration_profile.hpp"
#include "bwplan/measurements.hpp"
#include "bwplan/render.hpp"
#include "bwplan/sha256.hpp"
#include "bwplan/train_log.hpp"
#include "context.hpp"
#include "report_flags.hpp"
#include "safe_write.hpp"

namespace bwplan::cli {

namespace {

struct CalibrateOptions {
  std::vector<std::string> files;
  std::vector<std::string> runs; ///< PLAN.json=train.log
  std::string profile;           ///< --output
  bool force = false;
  std::string format = "table";
  std::string report; ///< --report: HTML page of the fit
  ConstantsOptions constants;
};

/// The run `plan` (what was run) paired with `log` (what happened), as a measurement case; errors
/// name the file where the two disagree.
MeasurementCase run_case(Context& ctx, const std::string& plan_file, std::int64_t rank,
                         const std::string& plan_text, const std::string& log_file,
                         const std::string& log_text) {
  const EstimateRequest r = parse_plan(plan_text, ctx.catalog(), {plan_file, rank, "", 0}).request;
  const TrainLog log = parse_train_log(log_text, log_file);
  const TrainingConfig& c = r.config;
  // What the log states of its run must be the plan's. Each trainer's batch words map onto the
  // plan's as its launch file sets them (docs/launch.md): a rank's loader batch, the
  // accumulation outside the pipeline, the sequences per optimizer step.
  struct Stated {
    const char* what;
    const std::optional<std::int64_t>& in_log;
    std::int64_t in_plan;
    std::string how = {}; ///< how the plan's figure follows from its settings
  };
  const Stated stated[] = {
      {"local batch size", log.local_batch, loader_batch(c)},
      {"micro-batch size", log.micro_batch, c.micro_batch},
      {"sequence length", log.seq_len, c.seq_len},
      {"gradient accumulation steps", log.grad_accum, outer_grad_accum(c)},
      {"global batch size", log.global_batch, sequences_per_step(c),
       fmt::format(" (micro_batch {} x grad_accum {} x {} data-parallel GPUs)", c.micro_batch,
                   c.grad_accum, data_parallel_degree(c))},
      {"world size", log.world_size, c.gpus},
      {"tensor-parallel degree", log.tp, c.tp},
      {"pipeline-parallel degree", log.pp, c.pp},
      {"context-parallel degree", log.cp, c.cp},
      {"expert-parallel degree", log.ep, c.ep},
  };
  for (const Stated& s : stated) {
    if (s.in_log && *s.in_log != s.in_plan) {
      throw Error(fmt::format("{}: {} is {} but {} has {}{}: the log is not of this plan's run",
                              log_file, s.what, *s.in_log, plan_file, s.in_plan, s.how));
    }
  }
  const double tokens_per_s = steady_tokens_per_s_per_gpu(log, c.seq_len, c.gpus);
  const double gib = 1024.0 * 1024.0 * 1024.0;
  if (log.peak_reserved_bytes > r.gpu.memory_bytes) {
    // as a measurement file's reading is refused (measurements.cpp): no run holds more
    throw Error(fmt::format("{}: the logged peak {:.2f} GiB (step {}) is more than the {}'s {:.2f} "
                            "GiB that {} runs on: the log is not of this plan's run",
                            log_file, log.peak_reserved_bytes / gib, log.peak_step, r.gpu.name,
                            r.gpu.memory_bytes / gib, plan_file));
  }
  ctx.log->info(
      "{} ({} log): peak reserved {}; tokens/s per GPU {:.0f}, the median of steps "
      "{}..{} (step {} is warm-up)",
      log_file, name_of(log.format),
      log.peak_reserved_bytes > 0
          ? fmt::format("{:.2f} GiB (step {})", log.peak_reserved_bytes / gib, log.peak_step)
          : std::string("not logged, so the run counts as 'it fitted'"),
      tokens_per_s, log.steady_steps.front(), log.steady_steps.back(), log.warmup_step);
  MeasurementCase mc;
  mc.id = plan_file;
  mc.source = log_file;
  mc.request = r;
  if (log.peak_reserved_bytes > 0) {
    mc.metric = Metric::peak_reserved;
    mc.value_bytes = log.peak_reserved_bytes;
  } else {
    mc.metric = Metric::fits; // it ran its steps
    mc.fits = true;
  }
  mc.tokens_per_second_per_gpu = tokens_per_s;
  return mc;
}

/// `--run PLAN.json[#N]=train.log`, taken apart.
struct RunArg {
  std::string arg; ///< as given
  std::string plan;
  std::int64_t rank = 1; ///< PLAN.json#N: the N-th plan of a search document
  std::string log;
};

/// `path` without a trailing `#digits` (a plan rank).
std::string without_rank(const std::string& path) {
  const std::size_t hash = path.rfind('#');
  if (hash == std::string::npos || hash + 1 == path.size() ||
      path.find_first_not_of("0123456789", hash + 1) != std::string::npos) {
    return path;
  }
  return path.substr(0, hash);
}

bool exists(const std::string& path) {
  std::error_code ec;
  return path == "-" || std::filesystem::exists(path, ec);
}

/// Splits `run` at its '='. With more than one, at the one that leaves an existing plan and an
/// existing log (a path may hold '='); none or several is an error saying so.
RunArg split_run(const std::string& run) {
  const auto malformed = [&] {
    return UsageError(fmt::format("--run '{}': expected PLAN.json[#N]=train.log", run));
  };
  std::vector<std::size_t> cuts;
  for (std::size_t eq = run.find('='); eq != std::string::npos; eq = run.find('=', eq + 1)) {
    if (eq != 0 && eq + 1 != run.size()) {
      cuts.push_back(eq);
    }
  }
  if (cuts.empty()) {
    throw malformed();
  }
  std::size_t eq = cuts.front();
  if (cuts.size() > 1) {
    std::vector<std::size_t> found;
    for (const std::size_t cut : cuts) {
      if (exists(without_rank(run.substr(0, cut))) && exists(run.substr(cut + 1))) {
        found.push_back(cut);
      }
    }
    if (found.empty()) {
      throw Error(fmt::format("--run '{}': no '=' in it parts an existing plan from an existing "
                              "log (with '=' in a path, both files must exist)",
                              run));
    }
    if (found.size() > 1) {
      throw UsageError(fmt::format("--run '{}': parts into an existing plan and log at {} of its "
                                   "'=' signs (allowed: one; rename a file)",
                                   run, found.size()));
    }
    eq = found.front();
  }
  RunArg r{run, run.substr(0, eq), 1, run.substr(eq + 1)};
  // A plan file whose name holds '#' is that file: '#N' picks a rank only when the whole is none.
  if (const std::size_t hash = r.plan.rfind('#'); hash != std::string::npos && !exists(r.plan)) {
    const std::string digits = r.plan.substr(hash + 1);
    if (read_number(digits, r.rank) != NumberText::ok || r.rank < 1) {
      throw UsageError(
          fmt::format("--run '{}': '#{}' is not a plan rank (allowed 1, 2, ...)", run, digits));
    }
    r.plan.resize(hash);
    if (r.plan.empty()) {
      throw malformed();
    }
  }
  return r;
}

/// Standard input (`-`) may stand for one input, a measurement file, a plan or a log: it reads
/// once.
void check_stdin_once(const std::vector<std::string>& files, const std::vector<RunArg>& runs) {
  std::vector<std::string> uses;
  for (const std::string& f : files) {
    if (f == "-") {
      uses.push_back("calibrate FILE '-'");
    }
  }
  for (const RunArg& r : runs) {
    if (r.plan == "-") {
      uses.push_back(fmt::format("the plan of --run '{}'", r.arg));
    }
    if (r.log == "-") {
      uses.push_back(fmt::format("the log of --run '{}'", r.arg));
    }
  }
  if (uses.size() > 1) {
    throw UsageError(fmt::format("{} and {} both read standard input ('-'), which can be read "
                                 "once (allowed: '-' for one file, plan or log)",
                                 uses[0], uses[1]));
  }
}

void run_calibrate(Context& ctx, const CalibrateOptions& o, const CLI::App& cmd) {
  ctx.begin();
  if (o.files.empty() && o.runs.empty()) {
    throw UsageError("calibrate needs a measurement file or a --run PLAN.json=train.log");
  }
  if (o.format != "table" && o.format != "json") {
    throw UsageError(fmt::format("--format '{}' is not allowed (allowed: table, json)", o.format));
  }
  // A run counted twice weighs twice in the fit: the same file, case id, --run or log is
  // refused (two logs of one plan are two runs).
  check_distinct(o.files, "calibrate FILE");
  check_distinct(o.runs, "--run");
  std::vector<RunArg> runs;
  for (const std::string& run : o.runs) {
    runs.push_back(split_run(run));
  }
  check_stdin_once(o.files, runs);
  // The outputs, before the work, not after; none may be one of the inputs.
  for (const std::string& f : o.files) {
    ctx.note_input("the measurements file", f);
  }
  for (const RunArg& run : runs) {
    ctx.note_input("the --run plan", run.plan);
    ctx.note_input("the --run log", run.log);
  }
  ctx.note_input("the --calibration profile", o.constants.calibration);
  check_target(ctx, "--output", o.profile, o.force);
  if (!o.report.empty()) {
    check_target(ctx, "--report", o.report, o.force);
  }
  std::vector<MeasurementCase> cases;
  std::vector<ProfileInput> inputs;
  for (const std::string& f : o.files) {
    const std::string text = read_input_text(f);
    for (MeasurementCase& mc : parse_measurements(text, f, ctx.catalog())) {
      cases.push_back(std::move(mc));
    }
    inputs.push_back({f, io::sha256_hex(text)});
  }
  const std::size_t files_cases = cases.size();
  std::vector<std::pair<std::string, const RunArg*>> logs_seen; // sha256 -> its --run
  for (const RunArg& run : runs) {
    const std::string plan_text = read_input_text(run.plan); // read once: it may be stdin
    const std::string log_text = read_input_text(run.log);
    const std::string log_sha = io::sha256_hex(log_text);
    for (const auto& [sha, other] : logs_seen) {
      if (sha == log_sha) {
        throw Error(fmt::format("--run '{}' and --run '{}': the logs {} and {} are the same "
                                "bytes (sha256 {}...): one run given twice would weigh twice in "
                                "the fit",
                                other->arg, run.arg, other->log, run.log, sha.substr(0, 12)));
      }
    }
    logs_seen.emplace_back(log_sha, &run);
    cases.push_back(run_case(ctx, run.plan, run.rank, plan_text, run.log, log_text));
    inputs.push_back({run.plan, io::sha256_hex(plan_text)});
    inputs.push_back({run.log, log_sha});
  }
  for (std::size_t i = 0; i < files_cases; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (cases[i].id == cases[j].id) {
        throw Error(fmt::format("case '{}' appears in two files (a run counted twice would weigh "
                                "twice in the fit)",
                                cases[i].id));
      }
    }
  }
  if (cases.empty()) {
    throw Error("the measurement files have no cases; nothing to calibrate");
  }
  const ModelConstants shipped = resolve_constants(ctx, o.constants);
  const Calibration cal = calibrate(cases, shipped);
  ModelConstants banded = cal.constants;
  apply_calibrated_bands(cal, banded);
  const std::string profile = calibration_profile_json(cal, banded, inputs).dump(2) + "\n";
  OutputSet files(ctx); // the profile and standard output: both or neither
  files.add_file("--output", o.profile, o.force, profile);
  if (!o.report.empty()) {
    files.add_file("--report", o.report, o.force,
                   calibration_report_html(cal, o.profile, report_context(ctx, cmd)));
  }
  files.commit();
  write_stdout(ctx, o.format == "json" ? profile : calibration_table(cal, o.profile));
  files.finish();
  ctx.log->info("wrote {}", o.profile);
}

} // namespace

void setup_calibrate(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "fit the model's free constants to measured runs and write a profile that "
                   "--calibration reads");
  auto o = std::make_shared<CalibrateOptions>();
  cmd->add_option("files", o->files, "measurement files (bwplan-measurements/1)");
  cmd->add_option("--run", o->runs,
                  "PLAN.json[#RANK]=train.log: a plan or estimate bwplan wrote (#RANK: that "
                  "plan of a search document; 1 when absent), and the torchtitan, torchtune or "
                  "Megatron-LM log of its run; repeatable");
  cmd->add_option("--output", o->profile, "the profile to write")
      ->check(not_empty(ValueKind::path))
      ->required();
  cmd->add_flag("--force", o->force, "replace --output if it exists");
  cmd->add_option("--format", o->format,
                  "what to print: table (before/after per run) or json "
                  "(the profile)")
      ->capture_default_str();
  add_report_option(*cmd, o->report);
  add_constants_options(*cmd, o->constants);
  cmd->callback([&ctx, o, cmd] { run_calibrate(ctx, *o, *cmd); });
}

} // namespace bwplan::cli
