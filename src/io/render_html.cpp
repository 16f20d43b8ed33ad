// The HTML report (docs/bwplan.md, "Reports"): one self-contained page per search or estimate.
// It renders a computed result; every number on the page is read from that result.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/units.hpp"
#include "html_parts.hpp"
#include "ranked_plan_row.hpp"
#include "render_common.hpp"
#include "svg_chart.hpp"

namespace bwplan {

namespace {

using io::ac_label;
using io::page;
using io::table;
using io::td;
using io::td_num;
using io::xml_escape;

constexpr double k_chart_width = 1040;
/// Plain scatter points beyond this are thinned (every n-th one) so the page stays light; the
/// front, the charted plans (k_charted_plans) and the rejected points are always drawn.
constexpr std::size_t k_max_scatter_points = 3000;
/// The ranked plans drawn as memory bars and labelled `#k` on the scatters: the first ten (a
/// `--top` of thousands keeps the charts readable and their size bounded).
constexpr std::size_t k_charted_plans = 10;

std::string legend_html() {
  std::string s = "<ul class=\"legend\" aria-label=\"memory components\">";
  for (std::size_t i = 0; i < io::k_bar_parts; ++i) {
    s += fmt::format("<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                     io::part_colour(i), io::k_bar_part_names[i]);
  }
  s += "<li><span class=\"shape\" style=\"color:#a4161a\">|</span>GPU capacity (solid), usable "
       "after headroom (dashed)</li></ul>\n";
  return s;
}

std::string scatter_legend_html(const std::vector<InstanceSpec>& instances) {
  std::string s = "<ul class=\"legend\" aria-label=\"point kinds\">";
  for (std::size_t i = 0; i < instances.size(); ++i) {
    s += fmt::format("<li><span class=\"shape\" style=\"color:{}\">{}</span>{}</li>",
                     io::series_colour(i), io::series_symbol(i), xml_escape(instances[i].name));
  }
  return s + "<li>filled, joined by the dashed staircase: no other plan has more throughput "
             "for less on the x axis; hollow: the others; bars: the prediction's band</li>"
             "<li><span class=\"shape\" style=\"color:#D55E00\">&#10005;</span>rejected: "
             "nearest miss of each reason</li>"
             "<li><span class=\"shape\">#k</span>ranked plan k</li></ul>\n";
}

std::string config_line(const TrainingConfig& k) {
  const std::string tuned = k.finetune == Finetune::full
                                ? std::string()
                                : fmt::format("{} rank {} on {}, ", name_of(k.finetune),
                                              k.lora_rank, name_of(k.lora_targets));
  return fmt::format("{}{} sharding, tp x cp x pp {}, {}, {} loss, {} AC, seq {}, mb {}, ga {}",
                     tuned, name_of(k.sharding), io::parallel_label(k), name_of(k.precision),
                     io::loss_label(k), ac_label(k), k.seq_len, k.micro_batch, k.grad_accum);
}

void flatten(const OrderedJson& j, const std::string& prefix, std::vector<std::string>& rows) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      flatten(value, prefix.empty() ? key : prefix + "." + key, rows);
    }
    return;
  }
  rows.push_back("<td><code>" + xml_escape(prefix) + "</code></td>" +
                 td(j.is_string() ? j.get<std::string>() : j.dump()));
}

/// The flags as given (or their defaults), then the resolved values the model used.
/// The short form under a bar's label.
std::string bar_sublabel(const TrainingConfig& k) {
  return fmt::format("{} \u00b7 {} \u00b7 AC {} \u00b7 mb {} \u00d7 seq {}", name_of(k.sharding),
                     name_of(k.precision), ac_label(k), k.micro_batch, k.seq_len);
}

std::string inputs_section(const ReportContext& ctx, const OrderedJson& resolved) {
  std::vector<std::string> rows;
  for (const InputRow& in : ctx.inputs) {
    rows.push_back("<td><code>" + xml_escape(in.flag) + "</code></td>" +
                   td(in.value.empty() ? "\u2014" : in.value) + td(in.origin));
  }
  std::string s = "<h2 id=\"inputs\">Inputs</h2>\n";
  if (!ctx.command_line.empty()) {
    s += "<p>Command: <code>" + xml_escape(ctx.command_line) + "</code></p>\n";
  }
  s += table({"flag", "value", "from"}, rows, "flags");
  rows.clear();
  flatten(resolved, "", rows);
  s += "<h3>Resolved</h3>\n";
  return s + table({"setting", "value"}, rows, "resolved settings");
}

std::string sources_list(const std::string& what, const std::vector<std::string>& sources) {
  std::string s = "<li><strong>" + xml_escape(what) + "</strong>: ";
  for (std::size_t i = 0; i < sources.size(); ++i) {
    s += (i ? "; " : "") + xml_escape(sources[i]);
  }
  return s + "</li>\n";
}

/// The model's reach and limits, as docs/model.md states them. No error figures here: they move
/// with each release of tests/data, and the bands on every figure above already carry them.
std::string limits_html() {
  return "<ul>"
         "<li>Every memory and tokens/s figure carries a band: the model's error over the "
         "published and measured runs in tests/data, widened where a configuration lies outside "
         "them (docs/model.md &sect;7a and &sect;8; <code>bwplan validate</code> reproduces the "
         "errors).</li>"
         "<li>Decoder-only Llama-family models and mixtures of experts; FSDP2 with tensor, "
         "context, pipeline and expert parallelism. Tensor parallelism has few measured peaks, "
         "pipeline parallelism six, and a mixture's checkpointed working set is not understood: "
         "their bands are wider.</li>"
         "<li>Not modelled: torch.compile's own working memory, torchtitan's whole-step CUDA "
         "graph (default since August 2026; the pinned torchtitan 0.2.2 predates it), and what "
         "allocator retries cost in time (docs/model.md, Known limits).</li>"
         "<li>Transformer Engine and NVFP4 storage follow the libraries' documented layouts, "
         "not measured runs.</li>"
         "<li>Prices are EC2 On-Demand list prices where SageMaker's are not published "
         "(configs/instances).</li></ul>\n";
}

std::string memory_detail_rows(const MemoryEstimate& m) {
  std::string rows;
  const io::BarInput b = io::bar_input("", "", m);
  const double total = b.total_bytes();
  for (std::size_t i = 0; i < io::k_bar_parts; ++i) {
    if (b.bytes[i] <= 0) {
      continue;
    }
    rows += fmt::format("<tr><td><span class=\"swatch\" style=\"background:{}\"></span> {}</td>"
                        "<td class=\"num\">{:.2f}</td><td class=\"num\">{:.0f}%</td></tr>\n",
                        io::part_colour(i), io::k_bar_part_names[i], to_gib(b.bytes[i]),
                        100 * b.bytes[i] / total);
  }
  rows += fmt::format("<tr><th>device memory required</th><td class=\"num\">{:.2f}</td><td></td>"
                      "</tr>\n<tr><th>usable capacity</th><td class=\"num\">{:.2f}</td><td></td>"
                      "</tr>\n<tr><th>headroom</th><td class=\"num\">{:.2f}</td><td></td></tr>\n",
                      to_gib(total), to_gib(m.usable_bytes), to_gib(m.headroom_bytes()));
  return rows;
}

std::string meter(double fraction) {
  return fmt::format("<span class=\"meter\" role=\"img\" aria-label=\"{0:.0f}% used\"><span "
                     "style=\"width:{0:.0f}%\"></span></span>",
                     100 * std::clamp(fraction, 0.0, 1.0));
}

/// One bar per change that makes `q` fit; the sublabel names the instance and nodes only where
/// the change altered them.
void add_advice_bars(const EstimateRequest& q, const FitAdvice& advice,
                     std::vector<io::BarInput>& bars) {
  for (const FitSuggestion& s : advice.suggestions) {
    const EstimateRequest& r = s.request;
    const std::string on = r.instance && (!q.instance || r.instance->name != q.instance->name)
                               ? " \u00b7 " + r.instance->name
                               : std::string();
    const std::string nodes =
        r.nodes != q.nodes ? fmt::format(" \u00b7 {} nodes", r.nodes) : std::string();
    bars.push_back(
        io::bar_input(io::change_text(s), bar_sublabel(r.config) + nodes + on, s.estimate.memory));
  }
}

/// "What would fit": the term that breaks the budget and each single change that fits.
std::string advice_section(const FitAdvice& advice) {
  std::vector<std::string> rows;
  for (const FitSuggestion& s : advice.suggestions) {
    rows.push_back(td(io::change_text(s)) +
                   td_num(fmt::format("{:.1f}", to_gib(s.estimate.memory.device_bytes_required))) +
                   td_num(fmt::format("{:.0f}", s.estimate.time.tokens_per_s_per_gpu)) +
                   td_num(fmt::format("{:.0f}%", 100 * s.throughput_ratio)));
  }
  std::string b = fmt::format(
      "<h2 id=\"advice\">What would fit</h2>\n<p>The largest component at the peak is {} "
      "({:.1f} GiB); the configuration is {} over.</p>\n",
      xml_escape(advice.breaking_component), to_gib(advice.breaking_bytes),
      excess_text(advice.over_bytes));
  return b + table({"change", "GiB required", "tok/s/GPU", "throughput vs original"}, rows,
                   "changes that fit");
}

/// A plan's bands as the scatters draw them: tokens/s per job, $ per million tokens (inverse to
/// throughput) and GiB per GPU required.
struct Bands {
  io::Extent tokens_per_s_job, cost, device_gib;
};

Bands bands_of(const MemoryEstimate& m, const StepTime& t, const Cost& c) {
  Bands b;
  const double per_gpu = t.tokens_per_s_per_gpu;
  if (per_gpu > 0 && t.tokens_per_s_per_gpu_low > 0) {
    const double lo = t.tokens_per_s_per_gpu_low / per_gpu;
    const double hi = t.tokens_per_s_per_gpu_high / per_gpu;
    b.tokens_per_s_job = {t.tokens_per_s_job * lo, t.tokens_per_s_job * hi};
    b.cost = {c.usd_per_million_tokens / hi, c.usd_per_million_tokens / lo};
  }
  const double low = m.device_bytes_required - (m.peak_reserved_bytes - m.peak_reserved_low_bytes);
  b.device_gib = {to_gib(low), to_gib(m.device_bytes_required_high)};
  return b;
}

/// The verdict paragraph's class: green when the band's upper edge fits, red otherwise.
const char* verdict_class(const MemoryEstimate& m) {
  return m.verdict() == Verdict::fits ? "verdict-ok" : "verdict-bad";
}

std::string plan_title(const SearchReport& r, const Candidate& c) {
  return fmt::format("{} x{} {}: {:.0f} tok/s, {} $/M tok, {:.1f} GiB",
                     r.space.instances[c.instance].name, c.nodes, config_line(c.config),
                     c.time.tokens_per_s_job,
                     io::usd_per_million_text(c.cost.usd_per_million_tokens),
                     to_gib(c.memory.device_bytes_required));
}

} // namespace

std::string search_report_html(const SearchReport& r, const ReportContext& ctx) {
  const std::vector<Candidate>& all = r.result.plans;
  const std::size_t top = std::min(ctx.top, all.size());
  std::string b = fmt::format("<h1>bwplan search: {}</h1>\n", xml_escape(r.model.name));
  std::string instances;
  for (const InstanceSpec& i : r.space.instances) {
    instances += (instances.empty() ? "" : ", ") + i.name;
  }
  b += fmt::format("<p class=\"lede\">{} ({} parameters) on {}: {} candidates evaluated, {} "
                   "feasible, ranked by {}.</p>\n",
                   xml_escape(r.model.name), format_params(count_parameters(r.model).total),
                   xml_escape(instances), r.result.candidates_evaluated, r.result.feasible,
                   name_of(r.objective));
  if (top > 0) {
    const Candidate& c = all.front();
    b += fmt::format(
        "<p class=\"{}\">Best plan: {} &times; {} with {}: {:.0f} tokens/s "
        "per job, {} $ per million tokens, {:.1f} GiB of {:.1f} GiB per GPU; {}.</p>\n",
        verdict_class(c.memory), c.nodes, xml_escape(r.space.instances[c.instance].name),
        xml_escape(config_line(c.config)), c.time.tokens_per_s_job,
        io::usd_per_million_text(c.cost.usd_per_million_tokens),
        to_gib(c.memory.device_bytes_required), to_gib(c.memory.usable_bytes),
        xml_escape(memory_verdict_text(c.memory)));
  } else {
    b += "<p class=\"verdict-bad\">No candidate fits: see the nearest misses below.</p>\n";
  }
  if (const std::string note = io::passed_over_note(r); !note.empty()) {
    b += fmt::format("<p>{}.</p>\n", xml_escape(note));
  }

  // Memory bars: the plans, then the nearest out-of-memory miss.
  const std::size_t charted = std::min(top, k_charted_plans);
  std::vector<io::BarInput> bars;
  for (std::size_t i = 0; i < charted; ++i) {
    const Candidate& c = all[i];
    bars.push_back(
        io::bar_input(fmt::format("#{} {} x{}", i + 1, r.space.instances[c.instance].name, c.nodes),
                      bar_sublabel(c.config), c.memory));
  }
  for (const RejectedPoint& p : ctx.rejected) {
    if (p.reason == RejectReason::out_of_memory) {
      const EstimateRequest& q = p.estimate.request;
      bars.push_back(io::bar_input(
          fmt::format("nearest miss {} x{}", q.instance ? q.instance->name : q.gpu.name, q.nodes),
          bar_sublabel(q.config), p.estimate.memory));
      if (ctx.advice) { // nothing fits: the changes that make the nearest miss fit
        add_advice_bars(q, *ctx.advice, bars);
      }
    }
  }
  b += "<h2 id=\"memory\">Memory per GPU at the peak</h2>\n" + legend_html();
  b += io::memory_bars_svg(io::layout_memory_bars(bars, k_chart_width),
                           "Memory per GPU by component for the ranked plans");

  // Scatters: every feasible candidate, each chart's front, the plans labelled, the nearest misses.
  std::vector<io::ScatterInput> cost_pts, mem_pts;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Candidate& c = all[i];
    const std::string rank = fmt::format("#{}", i + 1);
    const std::string label = i < charted ? rank : std::string();
    const std::string title = (i < top ? rank + " " : "") + plan_title(r, c);
    const Bands band = bands_of(c.memory, c.time, c.cost);
    cost_pts.push_back({c.cost.usd_per_million_tokens, c.time.tokens_per_s_job, true, c.instance,
                        label, title, band.cost, band.tokens_per_s_job});
    mem_pts.push_back({to_gib(c.memory.device_bytes_required), c.time.tokens_per_s_job, true,
                       c.instance, label, title, band.device_gib, band.tokens_per_s_job});
  }
  for (const RejectedPoint& p : ctx.rejected) {
    const Estimate& e = p.estimate;
    const std::string title = fmt::format("rejected ({}): {}", name_of(p.reason), p.detail);
    if (e.cost.usd_per_million_tokens > 0) {
      cost_pts.push_back(
          {e.cost.usd_per_million_tokens, e.time.tokens_per_s_job, false, 0, "", title, {}, {}});
    }
    mem_pts.push_back({to_gib(e.memory.device_bytes_required),
                       e.time.tokens_per_s_job,
                       false,
                       0,
                       "",
                       title,
                       {},
                       {}});
  }
  // Each GPU's usable memory as the estimates computed it.
  std::vector<io::Marker> capacities;
  std::set<std::string> seen;
  const auto mark = [&](const std::string& gpu, const MemoryEstimate& m) {
    if (seen.insert(gpu).second) {
      capacities.push_back({to_gib(m.usable_bytes), gpu + " usable"});
    }
  };
  for (const Candidate& c : all) {
    mark(r.space.gpus[c.instance].name, c.memory);
  }
  for (const RejectedPoint& p : ctx.rejected) {
    mark(p.estimate.request.gpu.name, p.estimate.memory);
  }
  b += "<h2 id=\"tradeoffs\">Throughput, cost and memory</h2>\n" +
       scatter_legend_html(r.space.instances);
  b += io::scatter_svg(io::layout_scatter(cost_pts, {k_chart_width, 420, {}, k_max_scatter_points}),
                       "Throughput per job against cost per million tokens",
                       "$ per million tokens (lower is cheaper)", "tokens/s per job");
  b += io::scatter_svg(
      io::layout_scatter(mem_pts, {k_chart_width, 420, capacities, k_max_scatter_points}),
      "Throughput per job against device memory required per GPU", "GiB per GPU required",
      "tokens/s per job");

  // The ranked table: the search table's columns (ranked_plan_row.hpp), then each plan's id.
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < top; ++i) {
    const io::RankedRow row = io::ranked_plan_row(r, i);
    std::string cells;
    for (std::size_t col = 0; col < row.cells.size(); ++col) {
      cells += col == io::k_memory_used_column     ? "<td>" + meter(row.memory_used) + "</td>"
               : io::k_ranked_columns[col].numeric ? td_num(row.cells[col])
                                                   : td(row.cells[col]);
    }
    rows.push_back(cells + "<td><code>" + xml_escape(all[i].id) + "</code></td>");
  }
  std::vector<std::string> headers;
  for (const io::RankedColumn& col : io::k_ranked_columns) {
    headers.emplace_back(col.header);
  }
  headers.emplace_back("id");
  b += "<h2 id=\"plans\">Ranked plans</h2>\n";
  b += table(headers, rows, "ranked plans");
  if (std::any_of(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top),
                  [](const Candidate& c) { return c.memory.allocator_retries; })) {
    b += fmt::format("<p>* {}.</p>\n", io::k_allocator_retries_note);
  }
  if (!ctx.launch_note.empty()) {
    b += "<ul class=\"launch\">";
    std::size_t start = 0;
    while (start < ctx.launch_note.size()) {
      std::size_t end = ctx.launch_note.find('\n', start);
      end = end == std::string::npos ? ctx.launch_note.size() : end;
      if (end > start) {
        b += "<li>" + xml_escape(ctx.launch_note.substr(start, end - start)) + "</li>";
      }
      start = end + 1;
    }
    b += "</ul>\n";
  }

  // A best plan's cells after its label, the job's tokens/s only where asked: one row format
  // for the best per instance type and per fine-tuning mode.
  const auto best_row = [&](const Candidate& c, bool job_rate) {
    return td(r.space.instances[c.instance].name) + td_num(fmt::format("{}", c.nodes)) +
           td(config_line(c.config)) +
           td_num(fmt::format("{:.1f}", to_gib(c.memory.device_bytes_required))) +
           td_num(fmt::format("{:.0f}", c.time.tokens_per_s_per_gpu)) +
           (job_rate ? td_num(fmt::format("{:.0f}", c.time.tokens_per_s_job)) : std::string()) +
           td_num(io::usd_per_million_text(c.cost.usd_per_million_tokens)) + "<td><code>" +
           xml_escape(c.id) + "</code></td>";
  };
  // Each instance type's best, when several were searched.
  if (r.space.instances.size() > 1) {
    rows.clear();
    for (const Candidate& c : r.result.best_per_instance) {
      rows.push_back(best_row(c, true));
    }
    b += "<h2 id=\"per-instance\">Best plan per instance type</h2>\n";
    b += table({"instance", "nodes", "configuration", "GiB required", "tok/s/GPU", "tok/s job",
                "$/M tok", "id"},
               rows, "best plan per instance type");
  }

  // Each fine-tuning mode's best (full vs LoRA vs QLoRA), when several were searched.
  if (!r.result.best_per_finetune.empty()) {
    rows.clear();
    for (const Candidate& c : r.result.best_per_finetune) {
      rows.push_back(td(std::string(name_of(c.config.finetune))) + best_row(c, false));
    }
    b += "<h2 id=\"per-finetune\">Best plan per fine-tuning mode</h2>\n";
    b += table({"fine-tuning", "instance", "nodes", "configuration", "GiB required", "tok/s/GPU",
                "$/M tok", "id"},
               rows, "best plan per fine-tuning mode");
  }

  // Rejections.
  rows.clear();
  for (std::size_t i = 0; i < r.result.rejections.size(); ++i) {
    const RejectedBest& best = r.result.best_rejected[i];
    rows.push_back(td(std::string(name_of(static_cast<RejectReason>(i)))) +
                   td_num(fmt::format("{}", r.result.rejections[i])) +
                   td(best.present ? best.detail : std::string()));
  }
  b += "<h2 id=\"rejected\">Rejected candidates</h2>\n";
  b += table({"reason", "candidates", "nearest miss"}, rows, "rejections");
  if (ctx.advice) {
    b += advice_section(*ctx.advice);
  }

  OrderedJson resolved = io::search_inputs_json(r);
  resolved.erase("origins");
  b += inputs_section(ctx, resolved);
  b += "<h2 id=\"sources\">Sources and limits</h2>\n<ul>";
  b += sources_list(r.model.name, r.model.sources);
  for (const InstanceSpec& i : r.space.instances) {
    std::vector<std::string> list = i.sources;
    list.push_back("price: " + i.price.source);
    b += sources_list(i.name, list);
  }
  seen.clear();
  for (const GpuSpec& g : r.space.gpus) {
    if (seen.insert(g.name).second) {
      b += sources_list(g.name, g.sources);
    }
  }
  b += "<li><strong>model constants</strong>: docs/model.md and docs/time-model.md; "
       "configs/constants/model.json</li></ul>\n";
  b += limits_html();
  return page(fmt::format("bwplan search: {}", r.model.name), b, ctx);
}

std::string estimate_report_html(const Estimate& e, const FitAdvice* advice,
                                 const ReportContext& ctx) {
  const EstimateRequest& q = e.request;
  const TrainingConfig& k = q.config;
  const std::string where = q.instance ? fmt::format("{} x {}", q.nodes, q.instance->name)
                                       : fmt::format("{} x {}", k.gpus, q.gpu.name);
  std::string b = fmt::format("<h1>bwplan estimate: {}</h1>\n", xml_escape(q.model.name));
  b += fmt::format("<p class=\"lede\">{} ({} parameters) on {} ({} GPUs): {}.</p>\n",
                   xml_escape(q.model.name), format_params(e.params.total), xml_escape(where),
                   k.gpus, xml_escape(config_line(k)));
  if (e.feasible()) {
    const std::string said = memory_verdict_text(e.memory);
    b += fmt::format("<p class=\"{}\">Verdict: {}.</p>\n<p>{:.1f} GiB of {:.1f} GiB usable per "
                     "GPU required, up to {:.1f} GiB at the band's upper edge (peak at {}).</p>\n",
                     verdict_class(e.memory), xml_escape(said),
                     to_gib(e.memory.device_bytes_required), to_gib(e.memory.usable_bytes),
                     to_gib(e.memory.device_bytes_required_high),
                     k_step_phase_names[static_cast<std::size_t>(e.memory.peak_phase)]);
  } else {
    b += fmt::format("<p class=\"verdict-bad\">Does not fit: {}.</p>\n", xml_escape(e.reason));
  }
  std::vector<io::BarInput> bars = {io::bar_input("this configuration", where, e.memory)};
  if (advice != nullptr) {
    add_advice_bars(q, *advice, bars);
  }
  b += "<h2 id=\"memory\">Memory per GPU at the peak</h2>\n" + legend_html();
  b += io::memory_bars_svg(io::layout_memory_bars(bars, k_chart_width),
                           advice != nullptr ? "Memory per GPU: this configuration and the "
                                               "changes that would make it fit"
                                             : "Memory per GPU by component");
  b += table({"component", "GiB", "of required"}, {memory_detail_rows(e.memory)},
             "memory components");
  std::vector<std::string> rows;
  for (std::size_t p = 0; p < e.memory.phases.size(); ++p) {
    rows.push_back(td(std::string(k_step_phase_names[p])) +
                   td_num(fmt::format("{:.2f}", to_gib(phase_total(e.memory.phases[p])))) +
                   td(p == static_cast<std::size_t>(e.memory.peak_phase) ? "peak" : ""));
  }
  b += "<h3>Allocated memory by phase of the step</h3>\n";
  b += table({"phase", "GiB allocated", ""}, rows, "phases");
  if (advice != nullptr) {
    b += advice_section(*advice);
  }
  const StepTime& t = e.time;
  rows = {td("step time") + td(fmt::format("{:.3f} s", t.step_s)),
          td("compute") + td(fmt::format("{:.3f} s", t.compute_s)),
          td("exposed communication") + td(fmt::format("{:.3f} s", t.exposed_comm_s)),
          td("optimizer step") + td(fmt::format("{:.3f} s", t.optimizer_s)),
          td("tokens/s per GPU") + td(fmt::format("{:.0f}", t.tokens_per_s_per_gpu)),
          td("tokens/s per job") + td(fmt::format("{:.0f}", t.tokens_per_s_job)),
          td("MFU / HFU") + td(fmt::format("{:.1f}% / {:.1f}%", 100 * t.mfu, 100 * t.hfu)),
          td("limited by") + td(std::string(name_of(t.bottleneck)))};
  if (e.cost.usd_per_hour > 0) {
    rows.push_back(td("price per hour (job)") +
                   td(fmt::format("{:.2f} $ ({})", e.cost.usd_per_hour,
                                  io::price_basis_text(e.cost.price_basis))));
    rows.push_back(td("$ per million tokens") +
                   td(io::usd_per_million_text(e.cost.usd_per_million_tokens)));
  }
  if (e.cost.hours_to_train > 0) {
    rows.push_back(td("time to train") + td(fmt::format("{:.1f} h", e.cost.hours_to_train)));
    if (e.cost.usd_per_hour > 0) { // without a price the hours are known, the dollars are not
      rows.push_back(td("cost to train") + td(fmt::format("{:.0f} $", e.cost.usd_to_train)));
    }
  }
  b += "<h2 id=\"time\">Step time, throughput and cost</h2>\n";
  b += table({"quantity", "value"}, rows, "time and cost");
  b += inputs_section(ctx, estimate_json(e)["config"]);
  b += "<h2 id=\"sources\">Sources and limits</h2>\n<ul>";
  b += sources_list(q.model.name, q.model.sources);
  if (q.instance) {
    std::vector<std::string> list = q.instance->sources;
    list.push_back("price: " + q.instance->price.source);
    b += sources_list(q.instance->name, list);
  }
  b += sources_list(q.gpu.name, q.gpu.sources);
  b += "<li><strong>model constants</strong>: docs/model.md and docs/time-model.md; "
       "configs/constants/model.json</li></ul>\n";
  b += limits_html();
  return page(fmt::format("bwplan estimate: {}", q.model.name), b, ctx);
}

} // namespace bwplan
