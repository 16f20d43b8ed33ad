// `bwplan emit sagemaker`: a plan JSON (from search or estimate) -> SageMaker launch files.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "bwplan/estimate.hpp"
#include "bwplan/sagemaker.hpp"
#include "config_flags.hpp"
#include "context.hpp"
#include "launch_flags.hpp"
#include "safe_write.hpp"

namespace bwplan::cli {

namespace {

namespace fs = std::filesystem;

struct EmitOptions {
  std::string plan;
  std::string out;
  std::int64_t rank = 1;
  std::string model; ///< overrides the plan's model (a path or preset)
  bool force = false;
  LaunchOptions launch;
  ConstantsOptions constants;
};

void run_emit(Context& ctx, const EmitOptions& o) {
  ctx.begin();
  if (o.out.empty()) {
    throw UsageError("--out DIR is required");
  }
  check_target("--out", o.out, o.force, true);
  const ModelConstants k = resolve_constants(ctx, o.constants);
  // Read and parsed once ("-" is standard input): a refused rank scans the others.
  const PlanSource asked{o.plan, o.rank, o.model, o.launch.train_tokens};
  const nlohmann::json json = parse_plan_json(read_input_text(o.plan), asked);
  const auto plan_at = [&](std::int64_t rank) {
    PlanSource source = asked;
    source.rank = rank;
    const PlanDocument doc = plan_from_json(json, ctx.catalog(), source);
    return std::pair(evaluate(doc.request, k.memory, k.time), doc.plans_in_document);
  };
  const auto [plan, plans] = plan_at(o.rank);
  if (const std::optional<std::string> refused = launch_refusal(plan); refused && plans > 1) {
    // A search ranks plans the pinned trainer cannot run (a newer loss, a model it lacks): name
    // the best-ranked one it can, rather than leave the user to try the ranks one by one.
    for (std::int64_t rank = 1; rank <= plans; ++rank) {
      bool launches = false;
      try {
        launches = rank != o.rank && !launch_refusal(plan_at(rank).first);
      } catch (const Error&) {
        continue; // a plan of the document that does not read back is not an answer
      }
      if (launches) {
        throw Error(fmt::format("{}; plan {} of {} is the best-ranked one that launches "
                                "(--rank {})",
                                *refused, rank, o.plan, rank));
      }
    }
    throw Error(fmt::format("{}; no plan of {} launches", *refused, o.plan));
  }
  const EmittedLaunch launch = emit_sagemaker(plan, o.launch);
  OutputSet files;
  files.add_directory("--out", o.out, o.force, launch.files);
  files.commit();
  write_stdout(ctx, launch_summary(o.out, launch)); // a failure here undoes the directory
  files.finish();
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
      ->required();
  cmd->add_option("--out", o->out, "directory to create with the launch files")
      ->check(path_value())
      ->required();
  cmd->add_option("--rank", o->rank, "which plan of a search document [1]")
      ->transform(strict_integer());
  cmd->add_option("--model", o->model,
                  "the model when the plan's model was a file (path or preset) [the plan's]");
  cmd->add_flag("--force", o->force, "replace --out if it exists");
  add_launch_options(*cmd, l, true, true);
  add_constants_options(*cmd, o->constants);
  cmd->callback([&ctx, o] { run_emit(ctx, *o); });
}

} // namespace bwplan::cli
