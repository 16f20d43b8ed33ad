// Benchmark: how many configurations per second the models evaluate (not a test; prints rates).
// Usage: build/bench_evaluate [seconds]
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "bwplan/catalog.hpp"
#include "bwplan/estimate.hpp"

int main(int argc, char** argv) {
  using clock = std::chrono::steady_clock;
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const bwplan::Catalog cat = bwplan::builtin_catalog();
  bwplan::EstimateRequest r;
  r.model = *cat.find_model("llama-3.1-70b");
  r.gpu = cat.gpu("b200");
  r.config.gpus = 8;
  std::int64_t n = 0;
  double sink = 0;
  const auto start = clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 1000; ++i) {
      r.config.micro_batch = 1 + (i % 16);
      r.config.activation_checkpointing = static_cast<bwplan::ActivationCheckpointing>(i % 4);
      const bwplan::Estimate e = bwplan::evaluate(r);
      sink += e.memory.peak_reserved_bytes;
    }
    n += 1000;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  }
  std::printf("evaluate():        %.0f estimates/s on one core (%lld in %.2f s, checksum %.3g)\n",
              static_cast<double>(n) / elapsed, static_cast<long long>(n), elapsed, sink);

  // The full memory estimate with the model facts computed once.
  const bwplan::ModelFacts facts = bwplan::model_facts(r.model);
  n = 0;
  sink = 0;
  const auto start2 = clock::now();
  elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 1000; ++i) {
      r.config.micro_batch = 1 + (i % 16);
      r.config.activation_checkpointing = static_cast<bwplan::ActivationCheckpointing>(i % 4);
      sink += bwplan::estimate_memory(r.model, facts, r.config, r.gpu).peak_reserved_bytes;
    }
    n += 1000;
    elapsed = std::chrono::duration<double>(clock::now() - start2).count();
  }
  std::printf("estimate_memory(): %.0f estimates/s on one core (%lld in %.2f s, checksum %.3g)\n",
              static_cast<double>(n) / elapsed, static_cast<long long>(n), elapsed, sink);

  // The search's path (search_kernel.hpp): terms once per combination (here per checkpointing
  // mode), then only the device memory per micro-batch.
  std::array<bwplan::MemoryTerms, 4> terms;
  for (std::size_t ac = 0; ac < terms.size(); ++ac) {
    r.config.activation_checkpointing = static_cast<bwplan::ActivationCheckpointing>(ac);
    terms[ac] = bwplan::memory_terms(r.model, facts, r.config, r.gpu);
  }
  n = 0;
  sink = 0;
  const auto start3 = clock::now();
  elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 1000; ++i) {
      sink +=
          bwplan::device_bytes_required(terms[static_cast<std::size_t>(i % 4)], 1 + (i % 16), 1);
    }
    n += 1000;
    elapsed = std::chrono::duration<double>(clock::now() - start3).count();
  }
  std::printf("device_bytes_required(terms): %.0f candidates/s on one core (%lld in %.2f s, "
              "checksum %.3g)\n",
              static_cast<double>(n) / elapsed, static_cast<long long>(n), elapsed, sink);
  return 0;
}
