// Benchmark: how many configurations per second the models evaluate (not a test; prints rates).
// Usage: build/bench_evaluate [seconds]
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <string>

#include "bwplan/catalog.hpp"
#include "bwplan/estimate.hpp"
#include "io/json_reader.hpp"

namespace {

/// Calls `one(i)` for i = 0, 1, ... in blocks of 1000 until `seconds` have passed, summing what
/// it returns (so the work is not optimized away), and prints the rate as `what`.
template <class F> void rate(const char* what, const char* unit, double seconds, F one) {
  using clock = std::chrono::steady_clock;
  std::int64_t n = 0;
  double sink = 0;
  const auto start = clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 1000; ++i) {
      sink += one(i);
    }
    n += 1000;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  }
  std::printf("%s %.0f %s/s on one core (%lld in %.2f s, checksum %.3g)\n", what,
              static_cast<double>(n) / elapsed, unit, static_cast<long long>(n), elapsed, sink);
}

} // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const bwplan::Catalog cat = bwplan::builtin_catalog();
  bwplan::EstimateRequest r;
  r.model = *cat.find_model("llama-3.1-70b");
  r.gpu = cat.gpu("b200");
  r.config.gpus = 8;
  const auto vary = [&r](int i) {
    r.config.micro_batch = 1 + (i % 16);
    r.config.activation_checkpointing = static_cast<bwplan::ActivationCheckpointing>(i % 4);
  };
  rate("evaluate():       ", "estimates", seconds, [&](int i) {
    vary(i);
    return bwplan::evaluate(r).memory.peak_reserved_bytes;
  });

  // The full memory estimate with the model facts computed once.
  const bwplan::ModelFacts facts = bwplan::model_facts(r.model);
  rate("estimate_memory():", "estimates", seconds, [&](int i) {
    vary(i);
    return bwplan::estimate_memory(r.model, facts, r.config, r.gpu).peak_reserved_bytes;
  });

  // The search's path (search_kernel.hpp): terms once per combination (here per checkpointing
  // mode), then only the device memory per micro-batch.
  std::array<bwplan::MemoryTerms, 4> terms;
  for (std::size_t ac = 0; ac < terms.size(); ++ac) {
    r.config.activation_checkpointing = static_cast<bwplan::ActivationCheckpointing>(ac);
    terms[ac] = bwplan::memory_terms(r.model, facts, r.config, r.gpu);
  }
  rate("device_bytes_required(terms):", "candidates", seconds, [&](int i) {
    return bwplan::device_bytes_required(terms[static_cast<std::size_t>(i % 4)], 1 + (i % 16), 1);
  });

  // Every file bwplan reads goes through parse_json (depth and duplicate-key checks): a file of
  // many small objects, the shape that was quadratic under nlohmann's callback parser.
  std::string many = "[";
  for (int i = 0; i < 1'000'000; ++i) {
    many += i > 0 ? R"(,{"k":1})" : R"({"k":1})";
  }
  many += "]";
  const auto start = std::chrono::steady_clock::now();
  const std::size_t parsed = bwplan::io::parse_json(many, "bench").size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("parse_json():      %.1f MB/s (%zu objects, %.1f MB in %.2f s)\n",
              static_cast<double>(many.size()) / 1e6 / s, parsed,
              static_cast<double>(many.size()) / 1e6, s);
  return 0;
}
