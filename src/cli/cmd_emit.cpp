// `bwplan emit sagemaker`: a plan JSON (from search or estimate) -> SageMaker launch files.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "bwplan/estimate.hpp"
#include "bwplan/render.hpp"
#include "bwplan/sagemaker.hpp"
#include "config_flags.hpp"
#include "context.hpp"
#include "launch_flags.hpp"
#include "safe_write.hpp"
#include "saved_figures.hpp"

namespace bwplan::cli {

namespace {

namespace fs = std::filesystem;

struct EmitOptions {
  std::string plan;
  std::string out;
  std::int64_t rank = 1;
  std::string model;     ///< overrides the plan's model (a path or preset)
  std::string precision; ///< a recipe the plan stands for (its alike_precisions); empty: its own
  bool force = false;
  bool include_at_risk = false; ///< launch a plan only the estimate fits (its band's edge does not)
  LaunchOptions launch;
  ConstantsOptions constants;
};

/// One plan of the document, evaluated.
struct Ranked {
  Estimate plan;
  ModelConstants k;             ///< the constants, with the headroom the plan was made with
  MemoryEstimate judged;        ///< its memory on the wider of today's band and its saved one
  std::vector<Precision> alike; ///< the recipes a search grouped with it
  std::int64_t plans = 1;       ///< plans in the document
  /// When the constants are not the ones the plan was made with (another calibration profile or
  /// none): said once the launch files are written, their README's figures being today's.
  std::optional<std::string> calibration_changed;
};

/// `--precision`: the plan re-evaluated in a recipe it stands for; any other is refused.
Estimate chosen_recipe(const Ranked& at, const EmitOptions& o, const ModelConstants& k) {
  const Precision own = at.plan.request.config.precision;
  std::vector<std::string> allowed = {std::string(name_of(own))};
  for (const Precision p : at.alike) {
    allowed.emplace_back(name_of(p));
  }
  const std::optional<Precision> p = parse_enum<Precision>(o.precision);
  if (!p || (*p != own && std::find(at.alike.begin(), at.alike.end(), *p) == at.alike.end())) {
    throw Error(fmt::format("--precision '{}' is not a recipe plan {} of {} stands for (allowed: "
                            "{}; a search lists the recipes it cannot tell apart in a plan's "
                            "alike_precisions)",
                            o.precision, o.rank, o.plan, fmt::join(allowed, ", ")));
  }
  return *p == own ? at.plan : with_recipe(at.plan, *p, k);
}

void run_emit(Context& ctx, const EmitOptions& o) {
  ctx.begin();
  if (o.out.empty()) {
    throw UsageError("--out DIR is required");
  }
  check_target("--out", o.out, o.force, true);
  const ModelConstants k = resolve_constants(ctx, o.constants);
  ctx.note_model_input(o.model); // never inside a --out that --force replaces
  // Read and parsed once ("-" is standard input): a refused rank scans the others.
  const PlanSource asked{o.plan, o.rank, o.model, o.launch.train_tokens};
  const nlohmann::json json =
      parse_plan_json(read_input_text(ctx, "the --plan file", o.plan), asked);
  const auto plan_at = [&](std::int64_t rank) {
    PlanSource source = asked;
    source.rank = rank;
    const PlanDocument doc = plan_from_json(json, ctx.catalog(), source);
    // --model gives the plan's own model again (a file's, now edited, or the same shape under
    // another name: a config.json is named after its folder); another model's job would be
    // launched on settings searched for this one
    const nlohmann::json* saved = json.contains("model") ? &json["model"] : nullptr;
    if (!o.model.empty() && saved && saved->is_object() && saved->contains("name") &&
        (*saved)["name"] != doc.request.model.name &&
        saved->value("parameters", std::int64_t{-1}) != count_parameters(doc.request.model).total) {
      throw Error(fmt::format("--model {}: {}, of another shape than the plan's model '{}' "
                              "(allowed: the plan's model; search again for another)",
                              o.model, doc.request.model.name,
                              (*saved)["name"].get<std::string>()));
    }
    // Held to the headroom it was made with, as check holds it (a search's --headroom).
    ModelConstants kd = k;
    if (doc.headroom_fraction) {
      kd.memory.headroom_fraction = *doc.headroom_fraction;
    }
    Estimate e = evaluate(doc.request, kd.memory, kd.time);
    // The launch README's figures are today's evaluation: it says when its constants are not the
    // plan's (as check does), rather than let them differ from the plan unremarked.
    std::optional<std::string> calibration_changed =
        calibration_change(doc, ctx.calibration, o.plan, "these launch files' README");
    // The plan's recorded figures are held to today's as check holds them: an edited plan is
    // refused here too, not launched.
    const bool same = o.model.empty() && o.constants.sets.empty() && !calibration_changed;
    static_cast<void>(saved_figures(doc, e, same, o.plan));
    MemoryEstimate judged = judged_memory(doc, e, !o.model.empty(), o.plan);
    return Ranked{std::move(e),
                  kd,
                  judged,
                  doc.alike_precisions,
                  doc.plans_in_document,
                  std::move(calibration_changed)};
  };
  Ranked at = plan_at(o.rank);
  if (!o.precision.empty()) {
    at.plan = chosen_recipe(at, o, at.k);
    at.judged = at.plan.memory; // another recipe: judged on its own band
  }
  const Estimate& plan = at.plan;
  // What check would say of it: a plan only the estimate fits is launched when asked.
  if (plan.feasible() && at.judged.verdict() == Verdict::at_risk && !o.include_at_risk) {
    throw Error(fmt::format("plan {} of {}: {}; give --include-at-risk to launch it anyway", o.rank,
                            o.plan, memory_verdict_text(at.judged)));
  }
  if (std::optional<std::string> refused = launch_refusal(plan)) {
    // A search groups recipes it cannot tell apart and ranks plans the pinned trainer cannot run
    // (a newer loss, a model it lacks): name the recipe or the best-ranked plan it can run,
    // rather than leave the user to try them one by one.
    if (o.precision.empty()) {
      if (const std::optional<Precision> p = launchable_recipe(plan, at.alike, k)) {
        throw Error(fmt::format("{}; plan {} launches with --precision {}, a recipe it stands "
                                "for",
                                *refused, o.rank, name_of(*p)));
      }
      refused = reason_past_recipes(plan, std::move(*refused), at.alike, k); // as search says
    }
    for (std::int64_t rank = 1; rank <= at.plans && at.plans > 1; ++rank) {
      if (rank == o.rank) {
        continue;
      }
      std::optional<Ranked> other;
      std::optional<Precision> launches;
      try {
        other = plan_at(rank);
        launches = launchable_recipe(other->plan, other->alike, k);
      } catch (const Error&) {
        continue; // a plan of the document that does not read back is not an answer
      }
      if (launches) {
        const bool listed = *launches == other->plan.request.config.precision;
        throw Error(fmt::format("{}; plan {} of {} is the best-ranked one that launches "
                                "(--rank {}{})",
                                *refused, rank, o.plan, rank,
                                listed ? "" : fmt::format(" --precision {}", name_of(*launches))));
      }
    }
    throw Error(fmt::format("{}; no plan of {} launches", *refused, o.plan));
  }
  const EmittedLaunch launch = emit_sagemaker(plan, o.launch);
  OutputSet files(ctx);
  files.add_directory("--out", o.out, o.force, launch.files);
  files.commit();
  write_stdout(ctx, launch_summary(o.out, launch)); // a failure here undoes the directory
  files.finish();
  if (at.calibration_changed) {
    ctx.log->warn("{}", *at.calibration_changed);
  }
  ctx.log->info("wrote {} files to {}", launch.files.size(), o.out);
}

} // namespace

void setup_emit(CLI::App& app, Context& ctx) {
  CLI::App* emit = app.add_subcommand("emit", "write launch files for a plan");
  emit->require_subcommand(1);
  CLI::App* cmd = emit->add_subcommand(
      "sagemaker", "write a SageMaker AI training job that runs a plan with torchtitan: launch.py, "
                   "submit.sh, create-training-job.json, README.md, and source/ (train.py, "
                   "torchtitan.toml, requirements.txt, model.json)");
  auto o = std::make_shared<EmitOptions>();
  LaunchOptions& l = o->launch;
  cmd->add_option("--plan", o->plan,
                  "JSON output of 'bwplan search --format json' or 'bwplan estimate --format json'")
      ->check(not_empty(ValueKind::input_path))
      ->required();
  cmd->add_option("--out", o->out, "directory to create with the launch files")
      ->check(not_empty(ValueKind::path))
      ->required();
  cmd->add_option("--rank", o->rank, "which plan of a search document [1]")
      ->transform(strict_integer());
  cmd->add_option("--model", o->model,
                  "the model when the plan's model was a file (path or preset) [the plan's]")
      ->check(not_empty());
  cmd->add_option("--precision", o->precision,
                  "launch the plan in this recipe, one a search grouped with it (its "
                  "alike_precisions: predicted within the rank margin) [the plan's]")
      ->check(not_empty());
  cmd->add_flag("--force", o->force, "replace --out if it exists");
  cmd->add_flag("--include-at-risk", o->include_at_risk,
                "launch a plan only the estimate fits (at_risk: its band's upper edge does not)");
  add_launch_options(*cmd, l, true, true);
  add_constants_options(*cmd, o->constants);
  cmd->callback([&ctx, o] { run_emit(ctx, *o); });
}

} // namespace bwplan::cli
