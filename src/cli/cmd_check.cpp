// `bwplan check --plan PLAN.json`: does a saved plan still fit under the current model and
// catalogs? Exit 0 if it fits with the required headroom, 3 if not; says what changed.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/units.hpp"
#include "context.hpp"

namespace bwplan::cli {

namespace {

struct CheckOptions {
  PlanSource source;
  double headroom_pct = 0;
  bool headroom_given = false; ///< --headroom on the command line; else the plan's own
  ConstantsOptions constants;
  OutputOptions output;
};

/// A number the saved plan recorded, or nullptr when an older bwplan did not write it (an
/// estimate document keeps them at the top). Present with another type, it was edited.
const nlohmann::json* saved(const PlanDocument& doc, const char* section, const char* key,
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

/// Saved and re-evaluated figures further apart than this mean the plan file was edited.
constexpr double k_edited_ratio = 10;

struct Change {
  std::string what;
  double was = 0;
  double now = 0;
  std::string unit;
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
  const std::optional<std::string> now_sha =
      ctx.calibration ? std::optional(ctx.calibration->sha256) : std::nullopt;
  const bool same_calibration = now_sha == doc.calibration_sha256;
  const bool same_model_and_constants =
      o.source.model.empty() && o.constants.sets.empty() && same_calibration;
  std::vector<Change> changes;
  const auto compare = [&](const char* section, const char* key, const char* what, double now,
                           double scale, const char* unit) {
    if (scale == k_gib) {
      now = std::round(now); // plans record whole bytes: an untouched plan shows no change
    }
    if (const nlohmann::json* was = saved(doc, section, key, o.source.plan)) {
      // A model or catalog update moves these by percents; a factor of 10 (or a value no
      // evaluation gives) is an edited plan, not a change to report as a percentage.
      const double w = was->get<double>();
      if (!(w > 0) || !(now > 0) ||
          (same_model_and_constants && (w / now > k_edited_ratio || now / w > k_edited_ratio))) {
        const std::string u = *unit == '\0' ? std::string() : std::string(" ") + unit;
        throw Error(fmt::format("{}: the plan's {} {:.6g}{} is not one bwplan could have written "
                                "for it (now {:.6g}{}): the plan was edited",
                                o.source.plan, what, w / scale, u, now / scale, u));
      }
      changes.push_back({what, w / scale, now / scale, unit});
    }
  };
  // Every bwplan plan has recorded what it needs (schema 1 from the start): without it the
  // document is not one bwplan wrote.
  if (saved(doc, "memory", "device_bytes_required", o.source.plan) == nullptr) {
    throw Error(fmt::format("{}: no {}/memory/device_bytes_required: not a plan bwplan wrote, "
                            "or the plan was edited",
                            o.source.plan, doc.pointer));
  }
  compare("memory", "device_bytes_required", "device memory required",
          e.memory.device_bytes_required, k_gib, "GiB");
  compare("memory", "peak_reserved_bytes", "peak reserved", e.memory.peak_reserved_bytes, k_gib,
          "GiB");
  compare("throughput", "tokens_per_second_per_gpu", "tokens/s per GPU",
          e.time.tokens_per_s_per_gpu, 1.0, "");
  // The band's upper edge: the wider of the plan's own and today's (a plan is never judged on a
  // narrower band than it was made with).
  double high = e.memory.device_bytes_required_high;
  if (const nlohmann::json* was =
          saved(doc, "memory", "device_bytes_required_high", o.source.plan)) {
    compare("memory", "device_bytes_required_high", "band's upper edge", high, k_gib, "GiB");
    high = std::max(high, was->get<double>());
  }
  MemoryEstimate judged = e.memory;
  if (high > judged.device_bytes_required_high) {
    // the plan's own wider edge: today's allocated edge says nothing of it
    judged.device_bytes_required_high = high;
    judged.allocator_retries_high = false;
  }
  const Verdict verdict = e.feasible() ? judged.verdict() : Verdict::out_of_memory;
  if (!same_calibration) {
    ctx.log->warn("{}: the plan was made {}; this check uses {}", o.source.plan,
                  doc.calibration_sha256 ? fmt::format("with calibration profile sha256 {}",
                                                       doc.calibration_sha256->substr(0, 12))
                                         : std::string("without a calibration profile"),
                  now_sha
                      ? fmt::format("{} (sha256 {})", ctx.calibration->file, now_sha->substr(0, 12))
                      : std::string("none"));
  }
  if (json) {
    OrderedJson j = io::envelope("check");
    j["plan"] = o.source.plan;
    j["fits"] = e.feasible();
    j["verdict"] = name_of(verdict);
    j["reason"] = (e.infeasibility ? name_of(*e.infeasibility) : "none");
    j["detail"] = e.reason;
    OrderedJson list = OrderedJson::array();
    for (const Change& c : changes) {
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
        fmt::format("{}: {} on {} x {}\n", o.source.plan, doc.request.model.name, doc.request.nodes,
                    doc.request.instance ? doc.request.instance->name : doc.request.gpu.name);
    for (const Change& c : changes) {
      const double pct = c.was != 0 ? 100.0 * (c.now - c.was) / c.was : 0.0;
      const std::string unit = c.unit.empty() ? std::string() : " " + c.unit;
      out += fmt::format("  {}: was {:.2f}{}, now {:.2f}{} ({:+.1f}%)\n", c.what, c.was, unit,
                         c.now, unit, pct);
    }
    out += !e.feasible()              ? fmt::format("does not fit any more: {}\n", e.reason)
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
