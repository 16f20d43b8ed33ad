// Benchmark: a full exploration — every preset x every P6/P5 instance type x 1-16 nodes x every
// default axis (sharding, precision, checkpointing, micro-batch) — end to end, then the pure
// candidate evaluation rate on one core. A candidate evaluation is one (combination,
// micro-batch) pair whose memory, and step time and price when it fits, were computed and
// checked against the constraints (docs/architecture.md, "Search speed"); candidates counted
// by monotone pruning are reported apart and never counted as evaluated.
// Then one request with every axis (70B and 405B over B200 + B300, 1-16 nodes, three sequence
// lengths); last, the search's scaling in the node axis (1..256 vs 1..4096 nodes).
// Usage: build/bench_search [--explore-seq] [seconds for the pure rate, default 1]
#if defined(__GNUC__) && !defined(__clang__)
// The counting operator new below pairs malloc with free; GCC 12 flags the inlined pairs.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <vector>

#include "bwplan/catalog.hpp"
#include "bwplan/search.hpp"
#include "bwplan/search_kernel.hpp"

namespace {

// Every heap allocation of the program is counted, to show the evaluation loop makes none.
std::atomic<long long> g_allocations{0};

struct Collect final : bwplan::CombinationVisitor {
  const bwplan::ModelSpec* model = nullptr;
  bwplan::ModelFacts facts;
  std::vector<bwplan::Combination>* out = nullptr;
  void combination(const bwplan::Candidate& proto, const bwplan::GpuSpec& gpu,
                   const bwplan::InstanceSpec& inst, const bwplan::Network& net) override {
    out->push_back(bwplan::make_combination(*model, facts, proto, gpu, inst, net, {}, {}, {}));
  }
  void unsupported(const bwplan::Candidate&, const bwplan::GpuSpec&, bwplan::Precision) override {}
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

} // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

int main(int argc, char** argv) {
  bool explore_seq = false;
  double pure_seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--explore-seq") == 0) {
      explore_seq = true;
    } else {
      pure_seconds = std::atof(argv[i]);
    }
  }
  // 1. End to end: catalog load, every search, ranking and the kept plans' full records.
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  const bwplan::Catalog cat = bwplan::builtin_catalog();
  bwplan::SearchSpace space;
  for (const char* name : {"ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge", "ml.p5.48xlarge",
                           "ml.p5e.48xlarge", "ml.p5en.48xlarge"}) {
    space.instances.push_back(cat.instance(name));
    space.gpus.push_back(cat.gpu(space.instances.back().gpu));
  }
  space.nodes.clear();
  for (std::int64_t n = 1; n <= 16; ++n) {
    space.nodes.push_back(n);
  }
  const auto seq_lens_for = [&](const bwplan::ModelSpec& m) {
    std::vector<std::int64_t> v = {8192};
    if (explore_seq) {
      v.clear();
      for (std::int64_t s = 2048; s <= m.max_seq_len; s *= 2) {
        v.push_back(s);
      }
    }
    return v;
  };
  std::int64_t all = 0, evaluated = 0, pruned = 0, probes = 0, feasible = 0;
  std::size_t presets = 0;
  for (const bwplan::ModelSpec& m : cat.models) {
    ++presets;
    space.seq_lens = seq_lens_for(m);
    const bwplan::SearchResult r =
        bwplan::run_search(m, space, {}, bwplan::Objective::throughput, 10);
    all += r.candidates_evaluated;
    evaluated += r.candidates_computed;
    pruned += r.candidates_pruned;
    probes += r.memory_probes;
    feasible += r.feasible;
  }
  const double wall = seconds_since(start);
  const double cpu = cpu_seconds() - cpu_start;
  std::printf("full exploration: %zu presets x 5 instance types x 1-16 nodes%s\n", presets,
              explore_seq ? " x seq 2k..max" : "");
  std::printf("  %lld candidates: %lld evaluated (%lld feasible), %lld pruned without evaluation; "
              "%lld memory-only bisection probes\n",
              static_cast<long long>(all), static_cast<long long>(evaluated),
              static_cast<long long>(feasible), static_cast<long long>(pruned),
              static_cast<long long>(probes));
  std::printf("  end to end (catalog load included): %.3f s wall, %.3f s CPU = %.2f M candidates "
              "evaluated/s (wall)\n",
              wall, cpu, static_cast<double>(evaluated) / wall / 1e6);

  // 2. Pure evaluation on one core: every candidate of the exploration (each combination x the
  // micro-batch axis 1, 2, 4 .. 256), none pruned, model by model so that the terms of one
  // model's combinations stay in cache; each model's loop runs `passes` times. Then only the
  // candidates that fit, whose evaluation also computes the step time and the price.
  const std::vector<std::int64_t> axis = bwplan::micro_batch_axis(space.max_micro_batch);
  const bwplan::SearchConstraints limits;
  const int passes = std::max(1, static_cast<int>(pure_seconds / (wall > 0 ? wall : 1) * 2));
  struct Fitting {
    const bwplan::Combination* combination;
    std::int64_t micro_batch;
  };
  std::vector<bwplan::Combination> combinations;
  std::vector<Fitting> fitting;
  std::int64_t n_all = 0, n_fit = 0, combination_count = 0;
  double t_all = 0, t_fit = 0, setup = 0, checksum = 0;
  long long allocations = 0;
  for (const bwplan::ModelSpec& m : cat.models) {
    const auto setup_start = std::chrono::steady_clock::now();
    space.seq_lens = seq_lens_for(m);
    combinations.clear();
    Collect collect;
    collect.out = &combinations;
    collect.model = &m;
    collect.facts = bwplan::model_facts(m);
    bwplan::for_each_combination(m, bwplan::model_facts(m), space, {}, collect);
    fitting.clear();
    for (const bwplan::Combination& c : combinations) {
      for (std::int64_t mb : axis) {
        if (bwplan::evaluate_candidate(c, mb, limits).feasible) {
          fitting.push_back({&c, mb});
        }
      }
    }
    combination_count += static_cast<std::int64_t>(combinations.size());
    setup += seconds_since(setup_start);
    const long long allocations_before = g_allocations.load();
    auto t = std::chrono::steady_clock::now();
    for (int pass = 0; pass < passes; ++pass) {
      for (const bwplan::Combination& c : combinations) {
        for (std::int64_t mb : axis) {
          const bwplan::CandidateOutcome o = bwplan::evaluate_candidate(c, mb, limits);
          checksum += o.feasible ? o.tokens_per_s_job : o.closeness;
        }
      }
    }
    t_all += seconds_since(t);
    n_all += passes * static_cast<std::int64_t>(combinations.size() * axis.size());
    t = std::chrono::steady_clock::now();
    for (int pass = 0; pass < passes; ++pass) {
      for (const Fitting& f : fitting) {
        checksum +=
            bwplan::evaluate_candidate(*f.combination, f.micro_batch, limits).tokens_per_s_job;
      }
    }
    t_fit += seconds_since(t);
    n_fit += passes * static_cast<std::int64_t>(fitting.size());
    allocations += g_allocations.load() - allocations_before;
  }
  std::printf("pure evaluation, one core: %lld combinations (terms built in %.3f s) x %zu "
              "micro-batches of the axis, none pruned, %d passes\n",
              static_cast<long long>(combination_count), setup, axis.size(), passes);
  std::printf("  every candidate: %lld evaluations in %.3f s = %.2f M candidates/s\n",
              static_cast<long long>(n_all), t_all, static_cast<double>(n_all) / t_all / 1e6);
  std::printf("  the fitting ones only (memory, step time and price each): %lld evaluations in "
              "%.3f s = %.2f M candidates/s\n",
              static_cast<long long>(n_fit), t_fit, static_cast<double>(n_fit) / t_fit / 1e6);
  std::printf("  %lld heap allocations in the evaluation loops (checksum %.6g)\n", allocations,
              checksum);

  // 3. One planning request with every axis, model parallelism included: a model over B200 and
  // B300 nodes, 1-16 nodes, three sequence lengths, the loss axis too (what `bwplan search`
  // runs by default for those flags), for 70B (states fit a node: no pipeline stages) and
  // 405B (they do not: pipeline degrees and schedules are searched too).
  for (const char* name : {"llama-3.1-70b", "llama-3.1-405b"}) {
    const bwplan::ModelSpec& m = *cat.find_model(name);
    bwplan::SearchSpace full;
    for (const char* inst : {"ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge"}) {
      full.instances.push_back(cat.instance(inst));
      full.gpus.push_back(cat.gpu(full.instances.back().gpu));
    }
    full.nodes = space.nodes;
    full.seq_lens = {8192, 32768, 131072};
    full.losses = bwplan::default_loss_choices(m.is_moe(), bwplan::Trainer::torchtitan);
    const auto t = std::chrono::steady_clock::now();
    const bwplan::SearchResult r =
        bwplan::run_search(m, full, {}, bwplan::Objective::throughput, 10);
    std::printf("%s over B200 + B300, 1-16 nodes, seq 8k/32k/128k, every axis: %lld candidates "
                "(%lld evaluated) in %.3f s\n",
                name, static_cast<long long>(r.candidates_evaluated),
                static_cast<long long>(r.candidates_computed), seconds_since(t));
  }

  // 4. Scaling in one axis: Llama-3.1-8B on one instance type over 1..N nodes, N = 256 and 4096
  // (every other axis at its default). A search linear in each axis takes ~16x for 16x nodes.
  const bwplan::ModelSpec& llama = *cat.find_model("llama-3.1-8b");
  bwplan::SearchSpace one;
  one.instances = {cat.instance("ml.p6-b200.48xlarge")};
  one.gpus = {cat.gpu(one.instances.front().gpu)};
  double t_nodes[2] = {0, 0};
  std::int64_t n_nodes[2] = {0, 0};
  const std::int64_t tops[2] = {256, 4096};
  for (int k = 0; k < 2; ++k) {
    one.nodes.clear();
    for (std::int64_t n = 1; n <= tops[k]; ++n) {
      one.nodes.push_back(n);
    }
    const auto t = std::chrono::steady_clock::now();
    const bwplan::SearchResult r =
        bwplan::run_search(llama, one, {}, bwplan::Objective::throughput, 1);
    t_nodes[k] = seconds_since(t);
    n_nodes[k] = r.candidates_evaluated;
  }
  std::printf("node axis, llama-3.1-8b on ml.p6-b200.48xlarge: 1..256 nodes %.3f s (%lld "
              "candidates), 1..4096 nodes %.3f s (%lld candidates): %.1fx the time for 16x the "
              "nodes\n",
              t_nodes[0], static_cast<long long>(n_nodes[0]), t_nodes[1],
              static_cast<long long>(n_nodes[1]), t_nodes[1] / t_nodes[0]);
  return 0;
}
