// Benchmark: a full exploration — every preset x every P6/P5 instance type x 1-16 nodes x every
// default axis (sharding, precision, checkpointing, micro-batch) — and the candidate rate.
// Usage: build/bench_search [--explore-seq]
#include <chrono>
#include <cstdio>
#include <cstring>

#include "bwplan/catalog.hpp"
#include "bwplan/search.hpp"

int main(int argc, char** argv) {
  const bool explore_seq = argc > 1 && std::strcmp(argv[1], "--explore-seq") == 0;
  const auto start = std::chrono::steady_clock::now();
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
  std::int64_t candidates = 0, feasible = 0;
  for (const bwplan::ModelSpec& m : cat.models) {
    space.seq_lens = {8192};
    if (explore_seq) {
      space.seq_lens.clear();
      for (std::int64_t s = 2048; s <= m.max_seq_len; s *= 2) {
        space.seq_lens.push_back(s);
      }
    }
    const bwplan::SearchResult r =
        bwplan::run_search(m, space, {}, bwplan::Objective::throughput, 10);
    candidates += r.candidates_evaluated;
    feasible += r.feasible;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu presets x 5 instance types x 1-16 nodes%s: %lld candidates (%lld feasible) in "
              "%.3f s end to end = %.2f M candidates/s\n",
              cat.models.size(), explore_seq ? " x seq 2k..max" : "",
              static_cast<long long>(candidates), static_cast<long long>(feasible), s,
              static_cast<double>(candidates) / s / 1e6);
  return 0;
}
