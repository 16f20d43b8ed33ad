// The search: axes -> candidates -> memory pruning -> evaluation -> ranking (docs/bwplan.md,
// search). Memory grows with the micro-batch, so the largest fitting micro-batch is found by
// bisection and the larger ones are counted as out of memory without being evaluated. Candidates
// are evaluated and ranked as lean records (search_kernel.hpp); the full Candidate, with its
// strings, is built only for the plans kept and the nearest miss of each reason.
#include "bwplan/search.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "bisect.hpp"
#include "bwplan/search_kernel.hpp"
#include "bwplan/units.hpp"

namespace bwplan {

namespace {

constexpr std::size_t idx(RejectReason r) {
  return static_cast<std::size_t>(r);
}

double score(double tokens_per_s_job, double usd_per_million_tokens, double hours_to_train,
             Objective o) {
  switch (o) {
  case Objective::throughput: return tokens_per_s_job;
  case Objective::cost: return -usd_per_million_tokens;
  case Objective::time: return hours_to_train > 0 ? -hours_to_train : tokens_per_s_job;
  case Objective::count_: break;
  }
  return 0;
}

/// A low-precision plan's score made worse by `margin` (a fraction): its predicted gain must
/// exceed what the model resolves between precisions to rank above bf16.
double with_margin(double score, Precision p, double margin) {
  if (!is_low_precision(p)) {
    return score;
  }
  return score > 0 ? score / (1.0 + margin) : score * (1.0 + margin);
}

/// A feasible candidate as the search ranks it; the full Candidate is built for the plans kept.
/// 48 bytes: a search keeps one per fitting candidate (millions over a wide node axis), so the
/// counts are 32-bit (a fitting candidate's micro-batch and grad-accum are at most
/// k_max_config_count, 2^20: search_kernel.cpp).
struct Feasible {
  std::uint32_t combination = 0; ///< index into Searcher::where_
  std::int32_t micro_batch = 0;
  std::int32_t grad_accum = 1;
  bool pareto = false;
  double tokens_per_s_job = 0;
  double usd_per_million_tokens = 0;
  double hours_to_train = 0;
  double headroom_bytes = 0;
};
static_assert(sizeof(Feasible) == 48);

/// The nearest miss of one reason so far; its Candidate and detail are built once, at the end.
struct Miss {
  bool present = false;
  bool above_largest = false; ///< the smallest micro-batch that does not fit
  double closeness = 0;
  std::uint32_t combination = 0;
  std::int64_t micro_batch = 0;
  std::int64_t grad_accum = 1;
};

/// Where a combination runs: what its candidates' full records are rebuilt from.
struct Where {
  std::size_t instance = 0;
  std::int64_t nodes = 1;
  TrainingConfig config;
};

/// A combination's fields, compared in the fixed order ties break on (docs/bwplan.md, search):
/// the fields of the plan ids (Candidate::key()), enums by value, without building strings.
struct Key {
  std::size_t instance = 0;
  std::int64_t nodes = 0;
  int sharding = 0;
  int precision = 0;
  int loss = 0;
  bool compile = false;
  int checkpointing = 0;
  std::int64_t ac_every = 0;
  std::int64_t seq_len = 0;
  std::int64_t tp = 1, cp = 1, pp = 1;
  int pp_schedule = 0;
  std::int64_t ep = 1;
  int finetune = 0;
  auto operator<=>(const Key&) const = default;
};

class Searcher final : public CombinationVisitor {
public:
  Searcher(const ModelSpec& model, const ModelFacts& facts, const SearchSpace& space,
           const SearchConstraints& limits, const MemoryConstants& mk, const TimeConstants& tk)
      : model_(model), facts_(facts), space_(space), limits_(limits), mk_(mk), tk_(tk),
        axis_(micro_batch_axis(space.max_micro_batch)) {}

  void combination(const Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                   const Network& net) override;
  void unsupported(const Candidate& proto, const GpuSpec& gpu, Precision p) override;
  void ruled_out(std::string_view why, Why kind) override {
    // the most telling reason first (a twin blamed --sharding hybrid,full for what --finetune
    // qlora --tp 2 ruled out)
    std::string& slot = ruled_out_[static_cast<std::size_t>(kind)];
    if (slot.empty()) {
      slot = why;
    }
  }
  [[nodiscard]] bool wants_why() const override { return ruled_out_[0].empty(); }
  SearchResult finish(Objective objective, std::size_t top_k, std::size_t sample);

private:
  /// The grad-accum the memory probes use. With a global batch target it depends on the
  /// micro-batch; 1 bounds it from below (memory does not fall with more micro-batches), so no
  /// fitting micro-batch is pruned. Without one it is the combination's own (a pipeline's 4 x pp).
  [[nodiscard]] std::int64_t probe_grad_accum() const {
    return limits_.global_batch_tokens > 0 ? 1 : current_.config.grad_accum;
  }
  /// Device bytes a micro-batch needs: the estimate, or the band's upper edge.
  [[nodiscard]] double required(std::int64_t mb, bool high) {
    ++result_.memory_probes;
    const std::int64_t ga = probe_grad_accum();
    return high ? device_bytes_required_high(current_.memory, mb, ga)
                : device_bytes_required(current_.memory, mb, ga);
  }
  [[nodiscard]] std::int64_t largest_fitting(std::int64_t cap, bool high);
  void evaluate(std::int64_t mb);
  /// The current combination's index into where_ and keys_, given on first need: only
  /// combinations with a feasible candidate or a nearest miss are kept (most have neither).
  [[nodiscard]] std::uint32_t combination_id();
  void note(RejectReason r, double closeness, const Miss& m);
  [[nodiscard]] Candidate rebuild(std::uint32_t combination, std::int64_t mb,
                                  std::int64_t ga) const;
  void build_nearest_miss(RejectReason r);
  [[nodiscard]] bool key_less(const Feasible& a, const Feasible& b) const;
  [[nodiscard]] double ranked_score(const Feasible& f, Objective o, double margin) const;
  void price(Candidate& c) const;
  [[nodiscard]] Candidate build_plan(const Feasible& f) const;
  [[nodiscard]] std::vector<std::vector<Precision>>
  group_recipes(std::size_t top, std::size_t sorted, Objective objective);
  void mark_pareto();

  const ModelSpec& model_;
  const ModelFacts& facts_;
  /// One rank's slice of the model per tensor- and expert-parallel degree and fine-tuning mode
  /// tried (rank_facts(); the LoRA rank and targets are the search's base's).
  std::map<std::tuple<std::int64_t, std::int64_t, Finetune>, ModelFacts> slices_;
  const ModelFacts& slice(const TrainingConfig& c) {
    if (c.tp <= 1 && c.ep <= 1 && c.finetune == Finetune::full) {
      return facts_;
    }
    const auto key = std::tuple{c.tp, c.ep, c.finetune};
    auto it = slices_.find(key);
    if (it == slices_.end()) {
      it = slices_.emplace(key, rank_facts(model_, c.tp, c.ep, finetune_of(c))).first;
    }
    return it->second;
  }
  const SearchSpace& space_;
  const SearchConstraints& limits_;
  const MemoryConstants& mk_;
  const TimeConstants& tk_;
  const std::vector<std::int64_t> axis_;
  Combination current_;
  const Candidate* proto_ = nullptr; ///< the current combination's prototype
  std::optional<std::uint32_t> id_;  ///< its index, once given
  std::deque<Where> where_; ///< a deque: grows without copying what it holds (millions of configs)
  std::deque<Key> keys_;    ///< by combination, as where_
  std::vector<Feasible> feasible_;
  std::array<Miss, k_reject_reasons> misses_{};
  SearchResult result_;
  std::array<std::string, 3> ruled_out_; ///< the first reason of each kind (Why)
};

/// Largest micro-batch in [1, cap] that fits, 0 if none. Memory is monotone and nearly affine
/// in the micro-batch, so a secant step from 1 and 2 lands within a step or two of the answer;
/// the bracket is then closed by bisection, which keeps the result exact.
std::int64_t Searcher::largest_fitting(std::int64_t cap, bool high) {
  const double usable = current_.memory.usable_bytes;
  const auto over = [&](std::int64_t mb) { return required(mb, high) - usable; };
  const auto fits = [&](std::int64_t mb) { return required(mb, high) <= usable; };
  const double over1 = over(1);
  if (over1 > 0) {
    return 0;
  }
  if (cap == 1) {
    return 1;
  }
  const double over2 = over(2);
  if (over2 > 0) {
    return 1;
  }
  const double slope = over2 - over1;
  std::int64_t guess = cap;
  if (slope > 0) {
    guess = std::clamp<std::int64_t>(2 + static_cast<std::int64_t>(-over2 / slope), 2, cap);
  }
  // Invariant: lo fits, hi + 1 does not (or hi == cap).
  std::int64_t lo = 2, hi = cap;
  if (fits(guess)) {
    lo = guess;
    if (guess < cap && !fits(guess + 1)) {
      return guess;
    }
  } else {
    hi = guess - 1;
    if (fits(hi)) {
      return hi;
    }
  }
  return largest_fitting_in(lo, hi, fits);
}

void Searcher::note(RejectReason r, double closeness, const Miss& m) {
  Miss& best = misses_[idx(r)];
  if (!best.present || closeness < best.closeness) {
    best = m;
    best.present = true;
    best.closeness = closeness;
    best.combination = combination_id();
  }
}

std::uint32_t Searcher::combination_id() {
  if (!id_) {
    id_ = static_cast<std::uint32_t>(where_.size());
    const Candidate& proto = *proto_;
    const TrainingConfig& t = proto.config;
    where_.push_back({proto.instance, proto.nodes, t});
    keys_.push_back({proto.instance, proto.nodes, static_cast<int>(t.sharding),
                     static_cast<int>(t.precision), static_cast<int>(t.loss), t.compile,
                     static_cast<int>(t.activation_checkpointing), t.ac_every, t.seq_len, t.tp,
                     t.cp, t.pp, static_cast<int>(t.pp_schedule), t.ep,
                     static_cast<int>(t.finetune)});
  }
  return *id_;
}

void Searcher::evaluate(std::int64_t mb) {
  ++result_.candidates_computed;
  const CandidateOutcome o = evaluate_candidate(current_, mb, limits_);
  if (o.feasible) {
    feasible_.push_back({combination_id(), static_cast<std::int32_t>(mb),
                         static_cast<std::int32_t>(o.grad_accum), false, o.tokens_per_s_job,
                         o.usd_per_million_tokens, o.hours_to_train, o.headroom_bytes});
    return;
  }
  result_.rejections[idx(o.reason)] += 1;
  note(o.reason, o.closeness, {true, false, 0, 0, mb, o.grad_accum});
}

void Searcher::combination(const Candidate& proto, const GpuSpec& gpu, const InstanceSpec& inst,
                           const Network& net) {
  current_ = make_combination(model_, facts_, slice(proto.config), proto, gpu, inst, net, limits_,
                              mk_, tk_);
  proto_ = &proto;
  id_.reset();
  // Micro-batches above the largest whose estimate fits are out of memory; without
  // include_at_risk, those above the largest whose band fits are at risk. Both are counted without
  // evaluation; the smallest micro-batch of each is that reason's nearest miss.
  const std::int64_t fitting = largest_fitting(space_.max_micro_batch, false);
  const std::int64_t largest =
      limits_.include_at_risk || fitting == 0 ? fitting : largest_fitting(fitting, true);
  const auto above = [&](std::int64_t limit) {
    return static_cast<std::int64_t>(axis_.size()) -
           std::count_if(axis_.begin(), axis_.end(), [&](std::int64_t v) { return v <= limit; });
  };
  const auto prune = [&](RejectReason r, std::int64_t count, std::int64_t first, bool high) {
    if (count <= 0) {
      return;
    }
    result_.rejections[idx(r)] += count;
    result_.candidates_pruned += count;
    // Recorded with the grad-accum it was probed with: a pipeline holds more micro-batches in
    // flight with more of them, so its detail would otherwise be computed for another config.
    note(r, required(first, high) / current_.memory.usable_bytes,
         {true, true, 0, 0, first, probe_grad_accum()});
  };
  prune(RejectReason::out_of_memory, above(fitting), fitting + 1, false);
  prune(RejectReason::at_risk, above(largest) - above(fitting), largest + 1, true);
  std::int64_t last = 0;
  for (std::int64_t mb : axis_) {
    if (mb <= largest) {
      evaluate(mb);
      last = mb;
    }
  }
  if (largest > 0 && last != largest) {
    evaluate(largest); // the largest value that fits, when it is not a power of two
  }
}

void Searcher::unsupported(const Candidate& proto, const GpuSpec& gpu, Precision p) {
  const auto seqs =
      std::count_if(space_.seq_lens.begin(), space_.seq_lens.end(), [&](std::int64_t seq) {
        return seq_len_searched(space_, limits_, seq, proto.config.cp);
      });
  const auto count =
      static_cast<std::int64_t>(loss_axis(space_).size() * space_.checkpointing.size() *
                                static_cast<std::size_t>(seqs) * axis_.size());
  result_.rejections[idx(RejectReason::precision_unsupported)] += count;
  result_.candidates_pruned += count;
  RejectedBest& best = result_.best_rejected[idx(RejectReason::precision_unsupported)];
  if (!best.present) { // every such miss is equally far (no memory fits it): the first is named
    best.present = true;
    best.closeness = std::numeric_limits<double>::infinity();
    best.candidate = proto;
    best.detail = gpu.unsupported_reason(p);
  }
}

/// The full record of one candidate, computed by the models exactly as `estimate` does.
Candidate Searcher::rebuild(std::uint32_t combination, std::int64_t mb, std::int64_t ga) const {
  const Where& w = where_[combination];
  Candidate c;
  c.instance = w.instance;
  c.nodes = w.nodes;
  c.config = w.config;
  c.config.micro_batch = mb;
  c.config.grad_accum = ga;
  return c;
}

void Searcher::build_nearest_miss(RejectReason r) {
  const Miss& m = misses_[idx(r)];
  if (!m.present) {
    return;
  }
  RejectedBest& best = result_.best_rejected[idx(r)];
  best.present = true;
  best.closeness = m.closeness;
  best.candidate = rebuild(m.combination, m.micro_batch, m.grad_accum);
  Candidate& c = best.candidate;
  const InstanceSpec& inst = space_.instances[c.instance];
  const GpuSpec& gpu = space_.gpus[c.instance];
  if (r == RejectReason::global_batch_unreachable) {
    const std::int64_t dp = data_parallel_degree(c.config);
    const double per_step = tokens_per_micro_step(m.micro_batch, c.config.seq_len, dp);
    best.detail =
        fmt::format("micro-batch {} x seq {} x {} data-parallel GPUs = {:.0f} tokens per "
                    "micro-step; target {:.0f}",
                    m.micro_batch, c.config.seq_len, dp, per_step, limits_.global_batch_tokens);
    return;
  }
  c.memory = estimate_memory(model_, facts_, c.config, gpu, mk_);
  // How far over the usable memory, so that a miss by a few MiB does not read as equal to it.
  const double usable = c.memory.usable_bytes;
  const auto over = [usable](double bytes) { return excess_text(bytes - usable) + " over"; };
  if (r == RejectReason::at_risk) {
    best.detail = fmt::format("micro-batch {} needs {:.2f} GiB of {:.2f} GiB, up to {:.2f} GiB at "
                              "the band's upper edge ({})",
                              m.micro_batch, to_gib(c.memory.device_bytes_required), to_gib(usable),
                              to_gib(c.memory.device_bytes_required_high),
                              over(c.memory.device_bytes_required_high));
  } else if (r == RejectReason::out_of_memory) {
    const double need = c.memory.device_bytes_required;
    best.detail =
        m.above_largest
            ? fmt::format("micro-batch {} would need {:.2f} GiB of {:.2f} GiB ({})", m.micro_batch,
                          to_gib(need), to_gib(usable), over(need))
            : fmt::format("micro-batch {} with grad-accum {} would need {:.2f} GiB of {:.2f} GiB "
                          "({})",
                          m.micro_batch, m.grad_accum, to_gib(need), to_gib(usable), over(need));
  } else if (r == RejectReason::host_memory_exceeded) {
    best.detail = fmt::format("CPU offload needs {:.0f} GiB of host memory per node of {:.0f} GiB",
                              to_gib(c.memory.host_bytes_per_node), to_gib(inst.host_memory_bytes));
  } else if (r == RejectReason::over_budget) {
    price(c);
    best.detail = fmt::format("{:.2f} USD/h is over the {:.2f} USD/h budget", c.cost.usd_per_hour,
                              limits_.max_usd_per_hour);
  }
}

/// The total order's tie-break: the combination's settings (Key), then micro-batch and
/// grad-accum, compared as numbers without building strings for every candidate.
bool Searcher::key_less(const Feasible& a, const Feasible& b) const {
  return std::tie(keys_[a.combination], a.micro_batch, a.grad_accum) <
         std::tie(keys_[b.combination], b.micro_batch, b.grad_accum);
}

void Searcher::mark_pareto() {
  // Sort by throughput (desc); a candidate is on the front unless an earlier candidate is at
  // least as cheap and has at least as much headroom (with something strictly better). The
  // earlier candidates are kept as a staircase: by cost ascending, headroom strictly ascending,
  // so the best headroom at or below a cost is one lookup and the front takes O(n log n).
  // Among equal throughputs the cheaper, then roomier, comes first: a candidate that dominates
  // another at the same throughput (a sharding that changes nothing but memory) must be seen
  // before it.
  std::sort(feasible_.begin(), feasible_.end(), [&](const Feasible& a, const Feasible& b) {
    if (a.tokens_per_s_job != b.tokens_per_s_job) {
      return a.tokens_per_s_job > b.tokens_per_s_job;
    }
    if (a.usd_per_million_tokens != b.usd_per_million_tokens) {
      return a.usd_per_million_tokens < b.usd_per_million_tokens;
    }
    if (a.headroom_bytes != b.headroom_bytes) {
      return a.headroom_bytes > b.headroom_bytes;
    }
    return key_less(a, b);
  });
  struct Step {
    double headroom;
    double tokens_per_s; ///< the highest among candidates with exactly this cost and headroom
  };
  std::map<double, Step> stairs; // cost -> the most headroom reached at that cost
  for (Feasible& c : feasible_) {
    auto it = stairs.upper_bound(c.usd_per_million_tokens);
    if (it != stairs.begin()) {
      const auto& [cost, p] = *std::prev(it);
      const bool dominated = p.headroom >= c.headroom_bytes &&
                             (cost < c.usd_per_million_tokens || p.headroom > c.headroom_bytes ||
                              p.tokens_per_s > c.tokens_per_s_job);
      const bool equal = cost == c.usd_per_million_tokens && p.headroom == c.headroom_bytes;
      if (dominated) {
        continue;
      }
      if (equal || p.headroom >= c.headroom_bytes) {
        c.pareto = true; // on the front, but adds no step
        continue;
      }
    }
    c.pareto = true;
    // c's step replaces those it covers: no cheaper, and no more headroom
    for (it = stairs.lower_bound(c.usd_per_million_tokens);
         it != stairs.end() && it->second.headroom <= c.headroom_bytes;) {
      it = stairs.erase(it);
    }
    stairs.emplace(c.usd_per_million_tokens, Step{c.headroom_bytes, c.tokens_per_s_job});
  }
}

double Searcher::ranked_score(const Feasible& f, Objective o, double margin) const {
  return with_margin(score(f.tokens_per_s_job, f.usd_per_million_tokens, f.hours_to_train, o),
                     where_[f.combination].config.precision, margin);
}

/// A candidate's step time and its price, with where the price came from.
void Searcher::price(Candidate& c) const {
  const InstanceSpec& inst = space_.instances[c.instance];
  const GpuSpec& gpu = space_.gpus[c.instance];
  const Network net = make_network(gpu, inst.gpus_per_node, inst.efa_bandwidth_bits_per_s);
  c.time = estimate_step_time(model_, facts_, c.config, gpu, net, tk_);
  c.cost = cost_of(job_price(&inst, c.nodes, limits_.price_per_hour), c.time.tokens_per_s_job,
                   limits_.train_tokens);
}

/// The full record of a kept plan: memory, step time and price with their strings.
Candidate Searcher::build_plan(const Feasible& f) const {
  Candidate c = rebuild(f.combination, f.micro_batch, f.grad_accum);
  c.memory = estimate_memory(model_, facts_, c.config, space_.gpus[c.instance], mk_);
  price(c);
  c.pareto = f.pareto;
  c.id = c.key();
  return c;
}

/// Moves to the front of the sorted prefix [0, sorted) the first `top` plans no earlier one
/// matches but for its low-precision recipe within the rank margin (MXFP8 vs FP8 tensorwise at a
/// predicted difference the model does not resolve); the others follow in rank order. Returns,
/// for each of the front plans, the recipes it stands for.
std::vector<std::vector<Precision>> Searcher::group_recipes(std::size_t top, std::size_t sorted,
                                                            Objective objective) {
  const auto low = [&](const Feasible& f) { // the small key, not the whole config: a pass over all
    return is_low_precision(static_cast<Precision>(keys_[f.combination].precision));
  };
  // The listed low-precision plans by what a twin shares with them (the key but its recipe,
  // micro-batch, grad-accum), in list order, with their scores: one lookup per plan looked at,
  // not a pass over the list (a --top 3000 search spent 75 % of its time comparing).
  using Shape = std::tuple<Key, std::int64_t, std::int64_t>;
  const auto shape = [&](const Feasible& f) {
    Key k = keys_[f.combination];
    k.precision = 0;
    return Shape{k, f.micro_batch, f.grad_accum};
  };
  std::map<Shape, std::vector<std::pair<std::size_t, double>>> listed;
  std::vector<Feasible> front, rest;
  // The listed plan `f` is a twin of (within the rank margin), or none; `f` itself is none.
  const auto twin_of = [&](const Feasible& f, double sf) -> std::optional<std::size_t> {
    const auto it = listed.find(shape(f));
    if (it == listed.end()) {
      return std::nullopt;
    }
    for (const auto& [j, sg] : it->second) {
      const Feasible& g = front[j];
      if (g.combination == f.combination) {
        return std::nullopt; // a listed plan itself
      }
      if (std::abs(sf - sg) <= tk_.low_precision_rank_margin * std::abs(sg)) {
        return j;
      }
    }
    return std::nullopt;
  };
  for (std::size_t i = 0; i < sorted; ++i) {
    const Feasible& f = feasible_[i];
    const double sf = low(f) ? ranked_score(f, objective, 0.0) : 0.0;
    if ((low(f) && twin_of(f, sf)) || front.size() >= top) {
      rest.push_back(f);
      continue;
    }
    if (low(f)) {
      listed[shape(f)].emplace_back(front.size(), sf);
    }
    front.push_back(f);
  }
  // The recipes each listed plan stands for come from every feasible plan, not the window the
  // front was chosen from: a twin ranked past 5 x top_k made the label depend on --top. Each
  // twin goes to the first listed plan it matches, as in the window.
  std::vector<std::vector<std::pair<double, Precision>>> twins(front.size());
  for (const Feasible& f : feasible_) {
    if (!low(f)) {
      continue;
    }
    const double sf = ranked_score(f, objective, 0.0);
    if (const std::optional<std::size_t> j = twin_of(f, sf)) {
      twins[*j].emplace_back(sf, where_[f.combination].config.precision);
    }
  }
  std::vector<std::vector<Precision>> alike(front.size());
  for (std::size_t j = 0; j < front.size(); ++j) {
    std::sort(twins[j].begin(), twins[j].end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    for (const auto& [score, precision] : twins[j]) {
      alike[j].push_back(precision);
    }
  }
  std::copy(front.begin(), front.end(), feasible_.begin());
  std::copy(rest.begin(), rest.end(),
            feasible_.begin() + static_cast<std::ptrdiff_t>(front.size()));
  return alike;
}

SearchResult Searcher::finish(Objective objective, std::size_t top_k, std::size_t sample) {
  for (std::string& why : ruled_out_) {
    if (result_.first_ruled_out.empty()) {
      result_.first_ruled_out = std::move(why);
    }
  }
  for (std::size_t r = 0; r < misses_.size(); ++r) {
    build_nearest_miss(static_cast<RejectReason>(r));
  }
  result_.feasible = static_cast<std::int64_t>(feasible_.size());
  result_.candidates_evaluated = result_.feasible;
  for (std::int64_t n : result_.rejections) {
    result_.candidates_evaluated += n;
  }
  mark_pareto();
  // Strict total orders: the first top_k are the same whether all are sorted or only those.
  const auto order = [&](double margin) {
    return [&, margin](const Feasible& a, const Feasible& b) {
      const double sa = ranked_score(a, objective, margin);
      const double sb = ranked_score(b, objective, margin);
      if (sa != sb) {
        return sa > sb;
      }
      return key_less(a, b);
    };
  };
  result_.low_precision_rank_margin = tk_.low_precision_rank_margin;
  result_.headroom_fraction = mk_.headroom_fraction;
  if (feasible_.empty()) {
    return std::move(result_);
  }
  const Feasible fastest = *std::min_element(feasible_.begin(), feasible_.end(), order(0.0));
  // The best-ranked feasible candidate of each of `groups` groups (`group_of`: 0..groups-1).
  const auto ranked = order(tk_.low_precision_rank_margin);
  const auto best_by = [&](std::size_t groups, auto group_of) {
    std::vector<std::optional<Feasible>> best(groups);
    for (const Feasible& f : feasible_) {
      std::optional<Feasible>& b = best[group_of(where_[f.combination])];
      if (!b || ranked(f, *b)) {
        b = f;
      }
    }
    return best;
  };
  for (const std::optional<Feasible>& b :
       best_by(space_.instances.size(), [](const Where& w) { return w.instance; })) {
    if (b) {
      result_.best_per_instance.push_back(build_plan(*b));
    }
  }
  if (space_.finetunes.size() > 1) {
    std::vector<std::optional<Feasible>> by_mode =
        best_by(static_cast<std::size_t>(Finetune::count_),
                [](const Where& w) { return static_cast<std::size_t>(w.config.finetune); });
    for (const Finetune mode : space_.finetunes) {
      std::optional<Feasible>& b = by_mode[static_cast<std::size_t>(mode)];
      if (b) {
        result_.best_per_finetune.push_back(build_plan(*b));
        b.reset(); // a mode listed twice is reported once
      }
    }
  }
  const bool sampled = sample > 0 && feasible_.size() > top_k + sample;
  const std::size_t kept = sampled ? top_k : std::min(top_k + sample, feasible_.size());
  // Sorted a little further than kept, so the top can skip recipes it cannot tell apart; the
  // grouping looks at the first 5 x top_k plans, whatever else is sorted, so the top is the same
  // with or without a report's sample.
  const std::size_t sorted = std::min(feasible_.size(), kept + 4 * top_k);
  std::partial_sort(feasible_.begin(), feasible_.begin() + static_cast<std::ptrdiff_t>(sorted),
                    feasible_.end(), order(tk_.low_precision_rank_margin));
  const std::vector<std::vector<Precision>> alike =
      group_recipes(std::min(top_k, kept), std::min(sorted, 5 * top_k), objective);
  result_.plans.reserve(kept);
  for (std::size_t i = 0; i < kept; ++i) {
    result_.plans.push_back(build_plan(feasible_[i]));
    if (i < alike.size()) {
      result_.plans.back().alike_precisions = alike[i];
    }
  }
  if (sampled) {
    // The rest in rank order: every front member, then every n-th other one, `sample` in all.
    std::sort(feasible_.begin() + static_cast<std::ptrdiff_t>(kept), feasible_.end(),
              order(tk_.low_precision_rank_margin));
    const auto rest = static_cast<std::size_t>(feasible_.end() - feasible_.begin()) - kept;
    std::size_t front = 0;
    for (std::size_t i = kept; i < feasible_.size(); ++i) {
      front += feasible_[i].pareto ? 1 : 0;
    }
    const std::size_t others = sample > front ? sample - front : 0;
    const std::size_t every = others == 0 ? rest + 1 : (rest - front + others - 1) / others;
    std::size_t seen = 0;
    for (std::size_t i = kept; i < feasible_.size(); ++i) {
      const Feasible& f = feasible_[i];
      if (f.pareto || (!f.pareto && seen++ % every == 0 && others > 0)) {
        result_.plans.push_back(build_plan(f));
      }
    }
  }
  const Feasible& first = feasible_.front();
  if (kept > 0 &&
      (fastest.combination != first.combination || fastest.micro_batch != first.micro_batch ||
       fastest.grad_accum != first.grad_accum)) {
    PassedOver& p = result_.passed_over;
    p.present = true;
    p.candidate = build_plan(fastest);
    p.gain = objective == Objective::cost
                 ? first.usd_per_million_tokens / fastest.usd_per_million_tokens - 1.0
             : objective == Objective::time && first.hours_to_train > 0
                 ? first.hours_to_train / fastest.hours_to_train - 1.0
                 : fastest.tokens_per_s_job / first.tokens_per_s_job - 1.0;
  }
  return std::move(result_);
}

} // namespace

std::string Candidate::key() const {
  const TrainingConfig& c = config;
  std::string ac(name_of(c.activation_checkpointing));
  if (c.activation_checkpointing == ActivationCheckpointing::selective_layer) {
    ac += fmt::format("-{}", c.ac_every);
  }
  // Data-parallel plans keep the ids they had before the model-parallel axes.
  std::string parallel =
      c.tp > 1 || c.cp > 1 || c.pp > 1 ? fmt::format("-tp{}-cp{}", c.tp, c.cp) : std::string();
  if (c.pp > 1) {
    parallel += fmt::format("-pp{}-{}", c.pp, name_of(c.pp_schedule));
  }
  if (c.ep > 1) {
    parallel += fmt::format("-ep{}", c.ep);
  }
  const std::string tuned =
      c.finetune == Finetune::full ? std::string() : fmt::format("-{}", name_of(c.finetune));
  return fmt::format("i{}-n{:03}-{}{}{}-{}-{}-{}-{}-s{:07}-mb{:04}-ga{:04}", instance, nodes,
                     name_of(c.sharding), parallel, tuned, name_of(c.precision), name_of(c.loss),
                     c.compile ? "compiled" : "eager", ac, c.seq_len, c.micro_batch, c.grad_accum);
}

double objective_score(const Candidate& c, Objective o, double rank_margin) {
  return with_margin(
      score(c.time.tokens_per_s_job, c.cost.usd_per_million_tokens, c.cost.hours_to_train, o),
      c.config.precision, rank_margin);
}

EstimateRequest estimate_request(const ModelSpec& model, const SearchSpace& space,
                                 const SearchConstraints& limits, std::size_t instance,
                                 std::int64_t nodes, const TrainingConfig& config) {
  EstimateRequest q;
  q.model = model;
  q.instance = space.instances[instance];
  q.gpu = space.gpus[instance];
  q.nodes = nodes;
  q.config = config;
  q.train_tokens = limits.train_tokens;
  q.price_per_hour = limits.price_per_hour;
  return q;
}

SearchResult run_search(const ModelSpec& model, const SearchSpace& space,
                        const SearchConstraints& limits, Objective objective, std::size_t top_k,
                        const MemoryConstants& mk, const TimeConstants& tk, std::size_t sample) {
  const ModelFacts facts = model_facts(model);
  Searcher searcher(model, facts, space, limits, mk, tk);
  for_each_combination(model, facts, space, limits, searcher);
  return searcher.finish(objective, top_k, sample);
}

} // namespace bwplan
