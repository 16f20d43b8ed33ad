// `bwplan check --plan PLAN.json`: does a saved plan still fit under the current model and
// catalogs? Exit 0 if it fits with the required headroom, 3 if not; says what changed.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/units.hpp"
#include "bwplan/utf8.hpp"
#include "context.hpp"
#include "saved_figures.hpp"

namespace bwplan::cli {

namespace {

struct CheckOptions {
  PlanSource source;
  double headroom_pct = 0;
  bool headroom_given = false; ///< --headroom on the command line; else the plan's own
  ConstantsOptions constants;
  OutputOptions output;
};

void run_check(Context& ctx, const CheckOptions& o) {
  ctx.begin();
  const bool json = wants_json(o.output);
  const PlanDocument doc = read_plan(ctx, o.source);
  ModelConstants k = resolve_constants(ctx, o.constants);
  // the headroom the plan was made with, unless --headroom says otherwise
  k.memory.headroom_fraction = o.headroom_given || !doc.headroom_fraction
                                   ? headroom_fraction(o.headroom_pct)
                                   : *doc.headroom_fraction;
  const Estimate e = evaluate(doc.request, k.memory, k.time);
  // Today's figures come from the plan's own constants when neither --set nor another profile
  // than the plan's moved them: only then can a factor of 10 tell an edited plan (--model and
  // --set may move figures at will, and so may a profile; a check then gives a verdict).
  const std::optional<std::string> calibration_changed =
      calibration_change(doc, ctx.calibration, o.source.plan, "this check");
  const bool same_calibration = !calibration_changed;
  const bool same_model_and_constants =
      o.source.model.empty() && o.constants.sets.empty() && same_calibration;
  const std::vector<FigureChange> changes =
      saved_figures(doc, e, same_model_and_constants, o.source.plan);
  // Judged on the wider of the plan's band edge and today's (a plan is never judged on a
  // narrower band than it was made with; with --model, on that model's own).
  const MemoryEstimate judged = judged_memory(doc, e, !o.source.model.empty(), o.source.plan);
  const Verdict verdict = e.feasible() ? judged.verdict() : Verdict::out_of_memory;
  // The plan keeps its model's facts; today's catalog may hold another preset of that name.
  if (o.source.model.empty()) {
    const ModelSpec* today = ctx.catalog().find_model(doc.request.model.name);
    if (today != nullptr && !same_model_facts(*today, doc.request.model)) {
      ctx.log->warn("{}: the plan's model {} is not today's preset of that name (its layers, "
                    "widths or parameters differ): this check evaluates the plan's own; give "
                    "--model {} to check today's",
                    o.source.plan, doc.request.model.name, doc.request.model.name);
    }
  }
  if (calibration_changed) {
    ctx.log->warn("{}", *calibration_changed);
  }
  if (json) {
    OrderedJson j = io::envelope("check");
    j["plan"] = o.source.plan;
    j["fits"] = e.feasible();
    j["verdict"] = name_of(verdict);
    j["reason"] = (e.infeasibility ? name_of(*e.infeasibility) : "none");
    j["detail"] = e.reason;
    OrderedJson list = OrderedJson::array();
    for (const FigureChange& c : changes) {
      OrderedJson x;
      x["what"] = c.what;
      x["was"] = c.was;
      x["now"] = c.now;
      x["unit"] = c.unit;
      list.push_back(x);
    }
    j["changes"] = list;
    add_calibration_ref(ctx, j);
    if (doc.calibration_sha256) {
      j["plan_calibration_sha256"] = *doc.calibration_sha256;
    }
    j["calibration_matches_plan"] = same_calibration;
    j["estimate"] = estimate_json(e);
    write_output(ctx, o.output, j.dump(2) + "\n");
  } else {
    std::string out =
        fmt::format("{}: {} on {} x {}\n", display_one_line(o.source.plan), doc.request.model.name,
                    doc.request.nodes,
                    doc.request.instance ? doc.request.instance->name : doc.request.gpu.name);
    for (const FigureChange& c : changes) {
      const double pct = c.was != 0 ? 100.0 * (c.now - c.was) / c.was : 0.0;
      const std::string unit = c.unit.empty() ? std::string() : " " + c.unit;
      out += fmt::format("  {}: was {:.2f}{}, now {:.2f}{} ({}%)\n", c.what, c.was, unit, c.now,
                         unit, signed_pct(pct));
    }
    // a plan saved as not fitting (an estimate that exited 3) never fitted: not "any more"
    const bool fitted = !doc.plan.contains("memory") || !doc.plan["memory"].is_object() ||
                        doc.plan["memory"].value("fits", true);
    // nor is a plan held to a larger --headroom than its own one that changed
    const bool more_headroom =
        o.headroom_given && k.memory.headroom_fraction > doc.headroom_fraction.value_or(0.0);
    const std::string since = more_headroom ? fmt::format(" with --headroom {}", o.headroom_pct)
                              : fitted      ? std::string(" any more")
                                            : std::string();
    out += !e.feasible()              ? fmt::format("does not fit{}: {}\n", since, e.reason)
           : verdict == Verdict::fits ? "still " + memory_verdict_text(judged) + "\n"
                                      : memory_verdict_text(judged) + "\n";
    write_output(ctx, o.output, out);
  }
  if (verdict != Verdict::fits) {
    ctx.status = exit_code::does_not_fit;
  }
}

} // namespace

void setup_check(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "check", "re-evaluate a saved plan with the current model and catalogs: exit 0 if it "
               "still fits, 3 if not");
  auto o = std::make_shared<CheckOptions>();
  cmd->add_option("--plan", o->source.plan,
                  "JSON output of 'bwplan search --format json' or 'bwplan estimate --format json'")
      ->check(not_empty(ValueKind::input_path))
      ->required();
  cmd->add_option("--rank", o->source.rank, "which plan of a search document [1]")
      ->transform(strict_integer());
  cmd->add_option("--model", o->source.model,
                  "the model (a path or preset): a changed config.json, or the plan's model "
                  "file [the plan's]")
      ->check(not_empty());
  cmd->add_option("--headroom", o->headroom_pct,
                  "percent of GPU memory to keep free [the plan's own]")
      ->transform(number_in(0, 99.999))
      ->each([o](const std::string&) { o->headroom_given = true; });
  add_constants_options(*cmd, o->constants);
  add_output_options(*cmd, o->output);
  cmd->callback([&ctx, o] { run_check(ctx, *o); });
}

} // namespace bwplan::cli
