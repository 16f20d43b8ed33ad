#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/search_kernel.hpp"
#include "bwplan/units.hpp"
#include "ranked_plan_row.hpp"
#include "render_common.hpp"
#include "text_table.hpp"

namespace bwplan {

namespace {

using io::ac_label;
using io::loss_label;

/// What a plan is: its configuration and the three models' results.
void put_plan_body(OrderedJson& j, const SearchReport& r, const Candidate& c) {
  const InstanceSpec& inst = r.space.instances[c.instance];
  j["config"] = io::config_json(c.config, {r.model.name, inst.gpu, inst.name, c.nodes});
  j["memory"] = io::memory_json(c.memory);
  j["throughput"] = io::throughput_json(c.time);
  j["cost"] = io::cost_json(c.cost);
}

OrderedJson plan_json(const SearchReport& r, const Candidate& c, std::size_t rank) {
  OrderedJson j;
  j["rank"] = rank;
  j["id"] = c.id;
  j["pareto"] = c.pareto;
  j["alike_precisions"] = io::names_json(c.alike_precisions);
  put_plan_body(j, r, c);
  return j;
}

/// The rank (1-based) of the plan with `id` among the listed plans; 0 when not listed.
std::size_t listed_rank(const SearchResult& res, const std::string& id) {
  for (std::size_t i = 0; i < res.plans.size(); ++i) {
    if (res.plans[i].id == id) {
      return i + 1;
    }
  }
  return 0;
}

/// A plan's objective quantity against the first plan's: tokens/s per job, $ per million tokens
/// or hours to train (the ratio of the unsigned scores), and the quantity's name.
std::pair<double, std::string_view> versus_first(const SearchReport& r, const Candidate& c) {
  const double first = objective_score(r.result.plans.front(), r.objective);
  const double ratio = objective_score(c, r.objective) / first;
  const bool hours = r.objective == Objective::time && c.cost.hours_to_train > 0;
  return {ratio, r.objective == Objective::cost ? "$/M tokens" : hours ? "hours" : "tokens/s"};
}

OrderedJson instance_best_json(const SearchReport& r, const Candidate& c) {
  OrderedJson j;
  j["instance"] = r.space.instances[c.instance].name;
  const std::size_t rank = listed_rank(r.result, c.id);
  j["listed_rank"] = rank > 0 ? OrderedJson(rank) : OrderedJson(nullptr);
  j["id"] = c.id;
  j["objective_vs_first_fraction"] = versus_first(r, c).first;
  put_plan_body(j, r, c);
  return j;
}

} // namespace

namespace io {

OrderedJson search_inputs_json(const SearchReport& r) {
  OrderedJson inputs;
  inputs["model"] = r.model.name;
  OrderedJson instances = OrderedJson::array();
  for (const InstanceSpec& inst : r.space.instances) {
    instances.push_back(inst.name);
  }
  inputs["instances"] = instances;
  inputs["nodes"] = r.space.nodes;
  OrderedJson axes;
  axes["sharding"] = names_json(r.space.shardings);
  axes["precision"] = names_json(
      r.space.precisions); // empty: every format each GPU supports but fp32/bf16-pure/nvfp4
  OrderedJson ckpt = OrderedJson::array();
  for (const CheckpointChoice& c : r.space.checkpointing) {
    TrainingConfig t;
    t.activation_checkpointing = c.mode;
    t.ac_every = c.every;
    ckpt.push_back(ac_label(t));
  }
  axes["activation_checkpointing"] = ckpt;
  axes["seq_len"] = r.space.seq_lens;
  axes["tp"] = r.space.tps; // empty: the default (docs/bwplan.md, search)
  axes["cp"] = r.space.cps;
  axes["pp"] = r.space.pps;
  OrderedJson schedules = OrderedJson::array();
  for (const PipelineSchedule p : r.space.pp_schedules) {
    schedules.push_back(name_of(p));
  }
  axes["pp_schedule"] = schedules;
  axes["max_micro_batch"] = r.space.max_micro_batch;
  OrderedJson losses = OrderedJson::array();
  for (const LossChoice& l : loss_axis(r.space)) {
    OrderedJson x;
    x["loss"] = name_of(l.loss);
    x["compile"] = l.compile;
    losses.push_back(x);
  }
  axes["loss"] = losses;
  inputs["axes"] = axes;
  OrderedJson lim;
  lim["headroom_fraction"] = r.result.headroom_fraction;
  lim["global_batch_tokens"] = r.limits.global_batch_tokens;
  lim["global_batch_tolerance"] = r.limits.global_batch_tolerance;
  lim["train_tokens"] = r.limits.train_tokens;
  lim["price_per_hour"] =
      r.limits.price_per_hour ? OrderedJson(*r.limits.price_per_hour) : OrderedJson(nullptr);
  lim["min_seq_len"] = r.limits.min_seq_len;
  lim["max_usd_per_hour"] = r.limits.max_usd_per_hour;
  lim["include_at_risk"] = r.limits.include_at_risk;
  inputs["constraints"] = lim;
  OrderedJson origins = OrderedJson::object();
  for (const auto& [flag, origin] : r.origins) {
    origins[flag] = origin;
  }
  inputs["origins"] = origins;
  inputs["objective"] = name_of(r.objective);
  return inputs;
}

} // namespace io

OrderedJson search_json(const SearchReport& r) {
  OrderedJson j = io::envelope("search");
  j["inputs"] = io::search_inputs_json(r);
  j["model"] = io::model_json(r.model); // a plan is self-contained: emit and check need no --model
  OrderedJson plans = OrderedJson::array();
  for (std::size_t i = 0; i < r.result.plans.size(); ++i) {
    plans.push_back(plan_json(r, r.result.plans[i], i + 1));
  }
  j["plans"] = plans;
  OrderedJson bests = OrderedJson::array();
  for (const Candidate& c : r.result.best_per_instance) {
    bests.push_back(instance_best_json(r, c));
  }
  j["best_per_instance"] = bests;
  if (!r.result.best_per_finetune.empty()) {
    OrderedJson modes = OrderedJson::array();
    for (const Candidate& c : r.result.best_per_finetune) {
      modes.push_back(instance_best_json(r, c));
    }
    j["best_per_finetune"] = modes;
  }
  OrderedJson rej;
  OrderedJson best = OrderedJson::object(); // {} when nothing was rejected, never null
  for (std::size_t i = 0; i < r.result.rejections.size(); ++i) {
    rej[std::string(name_of(static_cast<RejectReason>(i)))] = r.result.rejections[i];
    const RejectedBest& b = r.result.best_rejected[i];
    if (b.present) {
      OrderedJson o;
      o["detail"] = b.detail;
      o["id"] = b.candidate.key();
      best[std::string(name_of(static_cast<RejectReason>(i)))] = o;
    }
  }
  j["rejections"] = rej;
  j["best_rejected"] = best;
  OrderedJson s;
  s["candidates_evaluated"] = r.result.candidates_evaluated;
  s["candidates_computed"] = r.result.candidates_computed;
  s["candidates_pruned"] = r.result.candidates_pruned;
  s["memory_probes"] = r.result.memory_probes;
  s["feasible"] = r.result.feasible;
  s["low_precision_rank_margin_fraction"] = r.result.low_precision_rank_margin;
  if (r.result.passed_over.present) {
    const PassedOver& p = r.result.passed_over;
    OrderedJson o;
    o["id"] = p.candidate.key();
    o["precision"] = name_of(p.candidate.config.precision);
    o["gain_fraction"] = p.gain;
    s["passed_over"] = o;
  }
  if (r.elapsed_seconds) {
    s["elapsed_seconds"] = *r.elapsed_seconds;
  }
  j["search"] = s;
  return j;
}

std::string io::passed_over_note(const SearchReport& r) {
  const PassedOver& p = r.result.passed_over;
  if (!p.present || r.result.plans.empty()) {
    return {};
  }
  const Candidate& first = r.result.plans.front();
  return fmt::format(
      "{} ranks first: the fastest {} plan ({} x{}, {}, checkpointing {}, seq {}, mb {}) is "
      "predicted {:.1f}% better, "
      "inside the {:.1f}% the model resolves between precisions (docs/time-model.md, "
      "\"Precision choice\"; --set time.low_precision_rank_margin=0 ranks by the prediction "
      "alone)",
      name_of(first.config.precision), name_of(p.candidate.config.precision),
      r.space.instances[p.candidate.instance].name, p.candidate.nodes,
      name_of(p.candidate.config.sharding), ac_label(p.candidate.config),
      p.candidate.config.seq_len, p.candidate.config.micro_batch, 100 * p.gain,
      100 * r.result.low_precision_rank_margin);
}

namespace {

/// A best-of-group plan's figures: tokens/s per GPU, price, memory (and whether only the estimate
/// fits), its objective against #1's, and its rank when listed above.
std::string best_figures(const SearchReport& r, const Candidate& c) {
  const std::size_t rank = listed_rank(r.result, c.id);
  const auto [ratio, quantity] = versus_first(r, c);
  return fmt::format("{:.0f} tok/s/GPU, {} $/M tok, {:.1f} GiB{}, {:.0f}% of #1's {}{}",
                     c.time.tokens_per_s_per_gpu,
                     io::usd_per_million_text(c.cost.usd_per_million_tokens),
                     to_gib(c.memory.device_bytes_required),
                     c.memory.verdict() == Verdict::fits ? "" : " (at risk)", 100 * ratio, quantity,
                     rank > 0 ? fmt::format(" (#{} above)", rank) : "");
}

/// A plan's settings in words, each labelled: "full sharding, tp 8 cp 1 pp 1, bf16,
/// unfused+compile loss, full checkpointing, seq 8192" (two bare "full"s said nothing).
std::string plan_words(const TrainingConfig& k) {
  return fmt::format("{} sharding, tp {} cp {} pp {}{}{}, {}, {} loss, {} checkpointing, seq {}",
                     name_of(k.sharding), k.tp, k.cp, k.pp,
                     k.pp > 1 ? fmt::format(" {}", name_of(k.pp_schedule)) : std::string(),
                     k.ep > 1 ? fmt::format(" ep {}", k.ep) : std::string(), name_of(k.precision),
                     loss_label(k), ac_label(k), k.seq_len);
}

/// Each instance type's best plan, when more than one type was searched.
std::string best_per_instance_text(const SearchReport& r) {
  if (r.space.instances.size() < 2) {
    return {};
  }
  std::string out = "\nbest per instance type:\n";
  const std::vector<Candidate>& bests = r.result.best_per_instance;
  for (std::size_t i = 0; i < r.space.instances.size(); ++i) {
    const auto b = std::find_if(bests.begin(), bests.end(),
                                [&](const Candidate& c) { return c.instance == i; });
    if (b == bests.end()) {
      out += fmt::format("  {}: no feasible plan\n", r.space.instances[i].name);
      continue;
    }
    const Candidate& c = *b;
    out += fmt::format("  {} x{}: {}, mb {} ga {}: {}\n", r.space.instances[i].name, c.nodes,
                       plan_words(c.config), c.config.micro_batch, c.config.grad_accum,
                       best_figures(r, c));
  }
  return out;
}

/// Each fine-tuning mode's best plan (full vs LoRA vs QLoRA), when more than one was searched.
std::string best_per_finetune_text(const SearchReport& r) {
  if (r.space.finetunes.size() < 2) {
    return {};
  }
  std::string out = "\nbest per fine-tuning mode:\n";
  const std::vector<Candidate>& bests = r.result.best_per_finetune;
  for (const Finetune mode : r.space.finetunes) {
    const auto b = std::find_if(bests.begin(), bests.end(),
                                [&](const Candidate& c) { return c.config.finetune == mode; });
    if (b == bests.end()) {
      out += fmt::format("  {}: no feasible plan\n", name_of(mode));
      continue;
    }
    const Candidate& c = *b;
    out += fmt::format("  {}: {} x{} {} {} {} mb {}: {}\n", name_of(mode),
                       r.space.instances[c.instance].name, c.nodes, name_of(c.config.sharding),
                       name_of(c.config.precision), ac_label(c.config), c.config.micro_batch,
                       best_figures(r, c));
  }
  return out;
}

} // namespace

std::string search_table(const SearchReport& r) {
  using A = io::TextTable::Align;
  std::string out =
      fmt::format("{}: {} candidates, {} feasible, ranked by {}", r.model.name,
                  r.result.candidates_evaluated, r.result.feasible, name_of(r.objective));
  out += r.elapsed_seconds ? fmt::format(" ({:.1f} ms)\n\n", 1e3 * *r.elapsed_seconds) : "\n\n";
  std::vector<io::TextTable::Column> columns;
  for (const io::RankedColumn& col : io::k_ranked_columns) {
    columns.push_back({std::string(col.header), col.numeric ? A::right : A::left});
  }
  io::TextTable t(std::move(columns));
  for (std::size_t i = 0; i < r.result.plans.size(); ++i) {
    io::RankedRow row = io::ranked_plan_row(r, i);
    row.cells[io::k_memory_used_column] = io::text_bar(row.memory_used, 10, true);
    t.add_row({row.cells.begin(), row.cells.end()});
  }
  out += r.result.plans.empty() ? "no feasible plan\n" : t.render();
  if (std::any_of(r.result.plans.begin(), r.result.plans.end(),
                  [](const Candidate& c) { return c.memory.allocator_retries; })) {
    out += fmt::format("* {}\n", io::k_allocator_retries_note);
  }
  if (const std::string note = io::passed_over_note(r); !note.empty()) {
    out += "\n" + note + "\n";
  }
  out += best_per_instance_text(r);
  out += best_per_finetune_text(r);
  out += "\nrejected:";
  bool any = false;
  for (std::size_t i = 0; i < r.result.rejections.size(); ++i) {
    if (r.result.rejections[i] > 0) {
      out += fmt::format(" {} {},", r.result.rejections[i], name_of(static_cast<RejectReason>(i)));
      any = true;
    }
  }
  if (any) {
    out.pop_back();
  } else {
    out += " none";
  }
  out += "\n";
  for (std::size_t i = 0; i < r.result.best_rejected.size(); ++i) {
    const RejectedBest& b = r.result.best_rejected[i];
    if (b.present) {
      const TrainingConfig& k = b.candidate.config;
      out += fmt::format("  nearest {}: {} x{}: {}: {}\n", name_of(static_cast<RejectReason>(i)),
                         r.space.instances[b.candidate.instance].name, b.candidate.nodes,
                         plan_words(k), b.detail);
    }
  }
  if (r.limits.price_per_hour) {
    out += fmt::format("prices: --price-per-hour {:.2f} USD per instance-hour\n",
                       *r.limits.price_per_hour);
  } else {
    for (const InstanceSpec& inst : r.space.instances) {
      out += fmt::format("price {}: {:.2f} USD/h ({}, {}, {}; --price-per-hour sets another)\n",
                         inst.name, inst.price.usd_per_hour, inst.price.kind, inst.price.region,
                         inst.price.as_of);
    }
  }
  return out;
}

} // namespace bwplan
