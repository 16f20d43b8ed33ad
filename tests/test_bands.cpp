// The bands' constants against the measured runs they are derived from (docs/model.md and
// docs/time-model.md, "Bands"), and the bands' behaviour: widening, verdicts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "bwplan/estimate.hpp"
#include "test_support.hpp"

using namespace bwplan;
using nlohmann::json;

namespace {

const std::vector<std::string> k_shipped = {"measurements.json", "measurements-h100-fakepg.json",
                                            "measurements-h100-fakepg-holdout.json"};

json read_json(const std::string& rel) {
  std::ifstream in(test::source_path(rel));
  return json::parse(in);
}

using test::validate_json;

/// Nearest-rank quantile of `v` (sorted inside).
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

double round_up(double x) {
  return std::ceil(x * 100.0 - 1e-9) / 100.0;
}

/// Llama-3.1-8B, FSDP over one 8-GPU node of `gpu`, micro-batch 1.
EstimateRequest llama_8b_on(const char* gpu) {
  EstimateRequest q;
  q.model = test::preset("llama-3.1-8b");
  q.gpu = test::catalog().gpu(gpu);
  q.config.gpus = 8;
  q.config.gpus_per_node = 8;
  q.config.micro_batch = 1;
  return q;
}

/// Every measurements*.json file of tests/data, by name.
std::vector<std::string> measurement_files() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("tests/data"))) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("measurements") && entry.path().extension() == ".json") {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// `bwplan validate` of every measurements file with the shipped constants, by file name: run
/// once for the pooled tests below.
const std::vector<std::pair<std::string, json>>& validated_files() {
  static const std::vector<std::pair<std::string, json>> files = [] {
    std::vector<std::pair<std::string, json>> out;
    for (const std::string& name : measurement_files()) {
      out.emplace_back(name, validate_json(name));
    }
    return out;
  }();
  return files;
}

/// Measured peaks of every file at or above the lower edge and at or under the upper edge, with
/// the relative edges set to `low` and `high`.
struct EdgeCounts {
  int peaks = 0, above_low = 0, under_high = 0;
  double median_high_pct = 0; ///< how far above the estimate the upper edge lies, median
};
EdgeCounts edge_counts(double low, double high) {
  EdgeCounts n;
  std::vector<double> widths;
  for (const std::string& f : measurement_files()) {
    const json v = validate_json(f, {"--set", "memory.band_low_fraction=" + std::to_string(low),
                                     "--set", "memory.band_high_fraction=" + std::to_string(high)});
    for (const json& c : v.at("cases")) {
      if (c.contains("measured_bytes")) {
        const double measured = c.at("measured_bytes");
        ++n.peaks;
        n.above_low += measured >= c.at("predicted_low_bytes").get<double>();
        n.under_high += measured <= c.at("predicted_high_bytes").get<double>();
        widths.push_back(100.0 * (c.at("predicted_high_bytes").get<double>() /
                                      c.at("predicted_bytes").get<double>() -
                                  1.0));
      }
    }
  }
  n.median_high_pct = quantile(widths, 0.5);
  return n;
}

} // namespace

TEST_CASE("the memory band's constants are what the shipped runs say", "[bands]") {
  // The relative edges are the smallest, in steps of 0.01, that hold 95 % of every measured peak
  // the project ships (each edge with its widenings): 0.01 less holds fewer. The upper one may
  // not put its median distance above the estimate past issue 14's 12 %; where 95 % would need
  // that, it is the smallest that holds as many as any within 12 %. From 2026-12-05 that bound:
  // 95 % of the 259 peaks (247) needed 0.09, 13 % above; 0.07 and 0.08 (12.0 %) held 246,
  // 94.98 %. Since the new-runs holdout (5 peaks, all inside) 0.07 holds 251 of 264, 95.1 %, and
  // the lower edge 0.12 (was 0.13) holds 251 too; with the fresh holdout of 2026-12-06 (1 peak,
  // inside) both hold 252 of 265; with KempnerForge's 13 (pooled from tests/data/pending, all
  // inside) 265 of 278 (95.3 %); with the blind fms holdout's 8 (all inside) 273 of 286 under the
  // upper edge (95.5 %), and the lower edge's rule then gives 0.10 (272 above it; 0.09 holds 270,
  // under 95 %, 271.7; 0.12 had held 265 of 278). Since the reserved peak holds every phase's
  // allocator slack (2026-12-06) 0.07 holds 277 and the rule gave 0.06: 272 (95.1 %), 0.05 267;
  // the lower edge stayed 0.10 (272; 0.09 holds 269). With the blind thunder holdout (19 peaks,
  // 17 under the 0.06 edge, 3 below the 0.10 one; 305 in all, 95 % is 289.75) the rule gives 0.07
  // (295 under; 0.06 holds 289) and 0.12 (290 above; 0.11 holds 289). Since gqa_kv (2026-12-06:
  // K and V at their own heads for the 99 torchtitan cases whose code passes enable_gqa) 0.07
  // holds 292 (95.7 %; three GB200 op-level SAC runs that read 9.6-9.9 % low now read 10.0-10.3 %
  // low, past it) and 0.12 still 290: the rule's fractions do not move. With the blind9 and
  // blind10 holdouts of the same day (8 peaks, all inside; 313 in all, 95 % is 297.35): 0.07
  // holds 300 (0.06 holds 295) and 0.12 holds 298 (0.11 holds 297). With the blind12 holdout
  // (4 mixture peaks, all inside; 317 in all, 95 % is 301.15): 0.07 holds 304 (0.06 holds 299)
  // and 0.12 holds 302 (0.11 holds 301): unchanged. With the blind14 holdout (2026-12-07: 4 PEFT
  // peaks, all under the upper edge, 3 read high below the lower one; 321 in all, 95 % is
  // 304.95): 0.07 holds 308 (0.06 holds 303) and the lower edge's rule gives 0.13, holding 305
  // (0.12 holds 303). With the blind15 holdout (2026-12-07: 8 litgpt, thunder-README and lingua
  // peaks, all inside; 329 in all, 95 % is 312.55): 0.07 holds 316 (0.06 holds 311) and 0.13
  // holds 313 (0.12 holds 311): unchanged. With the blind16 holdout (pooled 2026-12-07 once
  // Automodel's experts had names: 5 mixture peaks, all inside, all read high; 334 in all, 95 %
  // is 317.3): 0.07 holds 321 (0.06 holds 316) and 0.13 holds 318 (0.12 holds 316): unchanged.
  // With the blind17 holdout (2 Qwen3-30B-A3B peaks, +1.9 and +5.4 %, inside; 336 in all, 95 %
  // is 319.2): 0.07 holds 323 (0.06 holds 318) and 0.13 holds 320 (0.12 holds 318): unchanged.
  // With the blind18 holdout (3 torchtune LoRA peaks, 3.1-7.4 % low, inside; 339 in all, 95 % is
  // 322.05) 0.07 holds 326 but its edge lies a median 12.1 % above the estimate, past issue 14's
  // 12 % (the three edges, widened for a trainer's unfused loss and a pure-bf16 stack, lie 21 %
  // above theirs, and no edge lies between 11.5 and 12.1 %): the cap binds, so 0.06, a median
  // 11.1 % above, where the expert-parallel widening's rule gives 0.12 (below) and 0.06 holds 323
  // (0.05 holds 316); 0.13 holds 323 (0.12 holds 321). With op-level SAC under tensor parallelism
  // keeping the gathered inputs (docs/model.md section 10) and the blind19 holdout (torchtitan
  // issue 191's two tensor-parallel peaks of April 2024; 341 in all, 95 % is 323.95), 0.06 holds
  // 328 (0.05 holds 321; 0.07, 330, lies a median 12.2 % above) and 0.13 holds 324 (0.12 holds
  // 322): unchanged. With the blind20 holdout (6 torchtitan GraphTrainer peaks, 4 of them 12-29 %
  // above their measured values) and the blind21 holdout (8 Liger-Kernel example peaks, 7 under;
  // 355 in all, 95 % is 337.25), 0.06 holds 340 (0.05 holds 333; 0.07, 342, lies a median 12.2 %
  // above) and the lower edge's rule gives 0.16, holding 340 (0.15 holds 337, 0.13 335). With
  // the blind22 holdout (6 prime-rl RL peaks, 5 under; 361 in all, 95 % is 342.95), 0.06 holds
  // 345 (0.05 holds 337; 0.07, 348, lies a median 12.1 % above) and the lower edge's rule gives
  // 0.15, holding 343.
  const MemoryConstants k;
  const EdgeCounts at = edge_counts(k.band_low_fraction, k.band_high_fraction);
  const EdgeCounts less = edge_counts(k.band_low_fraction - 0.01, k.band_high_fraction - 0.01);
  const EdgeCounts wider = edge_counts(k.band_low_fraction, k.band_high_fraction + 0.01);
  REQUIRE(at.peaks == 361);
  const double needed = 0.95 * at.peaks;
  CHECK(at.above_low >= needed);
  CHECK(less.above_low < needed);
  CHECK(less.under_high < at.under_high);
  CHECK(at.median_high_pct <= 12.0);
  CHECK(wider.median_high_pct > 12.0); // the cap: 0.07 would hold more, too far above
  CHECK(at.under_high == 345);
  CHECK(at.under_high >= needed);
  CHECK(less.under_high < needed); // the narrowest that holds 95 %
  CHECK(at.above_low == 343);
  // What the widenings start from: the GPUs and the longest sequence of the first shipped runs.
  std::set<std::string> gpus;
  double longest = 0;
  for (const std::string& f : k_shipped) {
    const json file = read_json("tests/data/" + f);
    for (const json& c : file.at("cases")) {
      gpus.insert(c.at("gpu").get<std::string>());
      longest = std::max(longest, c.at("seq_len").get<double>());
    }
  }
  CHECK(std::set<std::string>(k.band_measured_gpus.begin(), k.band_measured_gpus.end()) == gpus);
  CHECK(k.band_measured_seq_len == longest);
}

TEST_CASE("the tokens/s band's constants are what the shipped runs say", "[bands]") {
  // The base band: the 5 % and 95 % quantiles of measured / predicted - 1 over every dense
  // tokens/s row the project ships on a GPU measured at full power (the rows the collective
  // contention was fitted to); the mixture files have their own widening.
  const TimeConstants k;
  std::vector<double> r;
  double worst = 0; // the power-limited B200 and MI300X rows: predicted / measured - 1
  std::set<std::string> gpus;
  for (const std::string f :
       {"measurements.json", "measurements-published-holdout.json",
        "measurements-model-parallel.json", "measurements-model-parallel-holdout.json",
        "measurements-pipeline-parallel.json", "measurements-pipeline-parallel-holdout.json"}) {
    const json v = validate_json(f);
    const json cases = read_json("tests/data/" + f).at("cases");
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const json& c = cases[i];
      const json& p = v.at("cases")[i];
      REQUIRE(p.at("id") == c.at("id"));
      if (!p.contains("measured_tokens_per_second_per_gpu")) {
        continue;
      }
      const double measured = p.at("measured_tokens_per_second_per_gpu");
      const double predicted = p.at("predicted_tokens_per_second_per_gpu");
      const std::string gpu = c.at("gpu");
      gpus.insert(gpu);
      if (std::find(k.band_measured_gpus.begin(), k.band_measured_gpus.end(), gpu) !=
          k.band_measured_gpus.end()) {
        r.push_back(measured / predicted - 1.0);
      } else {
        worst = std::max(worst, predicted / measured - 1.0);
      }
    }
  }
  REQUIRE(r.size() == 46);
  CHECK(k.band_high_fraction == Approx(round_up(quantile(r, 0.95))));
  CHECK(k.band_low_fraction == Approx(round_up(1.0 / (1.0 + quantile(r, 0.05)) - 1.0)));
  // Every GPU with a tokens/s row is covered but the power-limited B200 and the MI300X.
  std::set<std::string> covered(k.band_measured_gpus.begin(), k.band_measured_gpus.end());
  covered.insert({"b200", "mi300x"});
  CHECK(covered == gpus);
  // The unmeasured-GPU widening is what the other rows need beyond the base.
  CHECK(k.band_unmeasured_gpu_fraction == Approx(round_up(worst - k.band_low_fraction)));
  // The sequence and scale widenings start beyond the base file's longest sequence and largest
  // job (conservative: the other files' longer and larger rows are inside the quantiles).
  const json base = read_json("tests/data/measurements.json").at("cases");
  double longest = 0, largest = 0;
  for (const json& c : base) {
    if (c.at("measured").contains("tokens_per_second_per_gpu")) {
      longest = std::max(longest, c.at("seq_len").get<double>());
      largest = std::max(largest, c.at("gpus").get<double>());
    }
  }
  CHECK(k.band_measured_seq_len == longest);
  CHECK(k.band_measured_gpu_count == largest);
}

TEST_CASE("the model-parallel widenings are what the model-parallel runs say", "[bands]") {
  const MemoryConstants mk;
  const TimeConstants tk;
  const json v = validate_json("measurements-model-parallel.json");
  const json cases = read_json("tests/data/measurements-model-parallel.json").at("cases");
  REQUIRE(cases.size() == 4);
  const auto step_up = [](double x) { return std::ceil(x / 0.05 - 1e-9) * 0.05; };
  double tp_memory = 0, cp_time = 0, tp_time = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const json& p = v.at("cases")[i];
    REQUIRE(p.at("id") == c.at("id"));
    const double tp = c.value("tp", 1.0), cp = c.value("cp", 1.0);
    const double predicted = p.at("predicted_tokens_per_second_per_gpu");
    const double measured = p.at("measured_tokens_per_second_per_gpu");
    if (tp > 1) {
      tp_memory = std::max(
          tp_memory,
          p.at("measured_bytes").get<double>() / p.at("predicted_bytes").get<double>() - 1.0);
      // What the upper edge needs beyond its other widenings.
      const double others =
          p.at("predicted_tokens_per_second_per_gpu_high").get<double>() / predicted - 1.0 -
          tk.band_tensor_parallel_fraction;
      tp_time = std::max(tp_time, measured / predicted - 1.0 - others);
    }
    if (cp > 1) {
      const double doublings = std::log2(cp);
      const double others =
          predicted / p.at("predicted_tokens_per_second_per_gpu_low").get<double>() - 1.0 -
          doublings * tk.band_low_fraction_per_cp_doubling;
      cp_time = std::max(cp_time, (predicted / measured - 1.0 - others) / doublings);
    }
  }
  CHECK(mk.band_tensor_parallel_fraction == Approx(round_up(tp_memory)));
  CHECK(tk.band_low_fraction_per_cp_doubling == Approx(step_up(cp_time)));
  CHECK(tk.band_tensor_parallel_fraction == Approx(step_up(tp_time)));
  const json s = v.at("summary");
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_band_coverage").get<double>() == 1.0);
}

TEST_CASE("the pipeline-parallel widening is what the pipeline-parallel runs say", "[bands]") {
  const MemoryConstants mk;
  const json v = validate_json("measurements-pipeline-parallel.json");
  REQUIRE(v.at("cases").size() == 3);
  double under = 0; // the largest under-prediction of a pipeline-parallel peak
  for (const json& p : v.at("cases")) {
    under = std::max(
        under, p.at("measured_bytes").get<double>() / p.at("predicted_bytes").get<double>() - 1.0);
  }
  CHECK(under == Approx(0.116).margin(0.001));
  CHECK(mk.band_pipeline_parallel_fraction == Approx(round_up(under)));
  CHECK(v.at("summary").at("band_coverage").get<double>() == 1.0);
}

namespace {

/// The files whose peaks under expert parallelism set memory.band_mixture_fraction (2026-12-05:
/// the first six set 0.15, the seventh, held aside from that and read above it, 0.17, the eighth,
/// held aside from both and read above 0.17, 0.25); a file added since is held aside from it.
const std::vector<std::string> k_expert_parallel_files = {"measurements-blackwell-moe-holdout.json",
                                                          "measurements-december4-holdout.json",
                                                          "measurements-ep-holdout.json",
                                                          "measurements-late-holdout.json",
                                                          "measurements-moe-december-holdout.json",
                                                          "measurements-moe-fullac-holdout.json",
                                                          "measurements-moe-holdout.json",
                                                          "measurements-primerl-dsv3-holdout.json",
                                                          "measurements-blind12-holdout.json",
                                                          "measurements-blind16-holdout.json",
                                                          "measurements-blind17-holdout.json"};

/// Measured peaks under expert parallelism (ep > 1) in `files`, and how many lie at or under
/// the upper edge with memory.band_mixture_fraction set to `fraction`.
struct ExpertParallelPeaks {
  int peaks = 0, under_high = 0;
};
ExpertParallelPeaks expert_parallel_peaks(double fraction, const std::vector<std::string>& files) {
  ExpertParallelPeaks n;
  for (const std::string& f : files) {
    std::set<std::string> expert_parallel;
    const json file = read_json("tests/data/" + f);
    for (const json& c : file.at("cases")) {
      if (c.value("ep", 1) > 1 && c.at("measured").at("metric") != "fits") {
        expert_parallel.insert(c.at("id").get<std::string>());
      }
    }
    if (expert_parallel.empty()) {
      continue;
    }
    const json v =
        validate_json(f, {"--set", "memory.band_mixture_fraction=" + std::to_string(fraction)});
    for (const json& c : v.at("cases")) {
      if (expert_parallel.contains(c.at("id").get<std::string>())) {
        ++n.peaks;
        n.under_high +=
            c.at("measured_bytes").get<double>() <= c.at("predicted_high_bytes").get<double>();
      }
    }
  }
  return n;
}

} // namespace

TEST_CASE("the expert-parallel widening is what the expert-parallel runs say", "[bands]") {
  // The smallest widening, in steps of 0.01, that puts every measured peak under expert
  // parallelism at or under the upper edge (as the tensor- and pipeline-parallel ones are set):
  // 0.01 less leaves one above it (LambdaLabs' eager gpt-oss-120b at ep 8 and 3 x 8192 tokens,
  // 29 % above the estimate, 33 % until torchtitan's bf16-pure reduced in fp32, when the rule gave
  // 0.25; the first 15 peaks gave 0.17, above which it read, as torchtitan PR 2679's
  // Qwen3-30B-A3B had read above the 0.15 of the first 14). Since the reserved peak holds every
  // phase's slack (2026-12-06) those two read 15.5 and 4.6 % low and the rule gives 0.11 at the
  // base edge 0.07 (0.12 at 0.06): 0.10 leaves torchao's two 2-layer Llama 4 Scout runs at ep 4
  // (15 % low) above the edge. With blind12's two DeepSeek-V3 16B peaks at ep 8 (8.6 and 12.5 %
  // low, both under): 18 peaks, the rule unchanged. With blind16's five (NeMo Automodel's GB200
  // mixtures at ep 16 and 64, +4.2 to +16.9 %, all under): 23 peaks, the rule unchanged. With
  // blind17's Automodel run at ep 8 (+5.4 %, under): 24. Since the base edge is 0.06 again
  // (blind18, 2026-12-07): 0.12, as it was at 0.06, 0.11 leaving the two Llama 4 Scout runs above.
  const MemoryConstants k;
  const ExpertParallelPeaks at =
      expert_parallel_peaks(k.band_mixture_fraction, k_expert_parallel_files);
  const ExpertParallelPeaks less =
      expert_parallel_peaks(k.band_mixture_fraction - 0.01, k_expert_parallel_files);
  REQUIRE(at.peaks == 24);
  CHECK(at.under_high == at.peaks);
  CHECK(less.under_high == at.peaks - 2);
  // Those are every file with such a peak when it was set.
  const ExpertParallelPeaks all =
      expert_parallel_peaks(k.band_mixture_fraction, measurement_files());
  CHECK(all.peaks == at.peaks);
}

TEST_CASE("the shipped runs lie inside their bands", "[bands]") {
  for (const std::string& f : k_shipped) {
    INFO(f);
    const json s = validate_json(f).at("summary");
    // The memory band holds 95 % of every file's peaks pooled: a file may hold more of the 5 %
    // outside (the fake-process-group file: its 8B chunked-loss run, read 9.0 % low).
    CHECK(s.at("band_coverage").get<double>() >= 0.9);
    // The tokens/s band is the 5 % / 95 % quantiles of these rows' errors: about one row in ten
    // lies outside by construction (measurements.json: the torchao H100 bf16 row, +18.9 %).
    CHECK(s.at("throughput_band_coverage").get<double>() >= 0.9);
  }
}

TEST_CASE("a compiled loss under tensor parallelism: the upper edge holds the eager loss's copies",
          "[bands]") {
  // Per local logit, eager loss parallel holds forward ab + 4 (upcast, bf16 only) + 4 + 4 and
  // backward 12 + 4; the compiled estimate ab and 2 ab. The edge adds the larger difference:
  // bf16 (ab 2) 14 - 2 = 16 - 4 = 12 bytes; fp32 (ab 4, no upcast) 12 - 4 = 16 - 8 = 8 bytes.
  const ModelSpec& m = test::preset("llama-3.1-8b");
  const GpuSpec& gpu = test::catalog().gpu("b200");
  const MemoryConstants k = test::catalog().constants.memory;
  TrainingConfig c = test::fsdp_config(8, ActivationCheckpointing::full);
  c.tp = 2;
  c.loss = Loss::fused;
  c.compile = true;
  CHECK(memory_band(m, c, gpu, k).high_bytes_per_logit == 12.0);
  c.precision = Precision::fp32;
  CHECK(memory_band(m, c, gpu, k).high_bytes_per_logit == 8.0);
  c.tp = 1; // no loss parallelism: no term
  CHECK(memory_band(m, c, gpu, k).high_bytes_per_logit == 0.0);
}

TEST_CASE("bands widen outside the measured runs and verdicts follow the upper edge", "[bands]") {
  EstimateRequest q = llama_8b_on("h100-sxm-80gb");
  q.config.loss = Loss::fused;
  q.config.compile = true;
  q.config.seq_len = 8192;
  const Estimate base = evaluate(q);
  // Inside what was measured: exactly the constants' relative edges.
  CHECK(base.memory.band_widened == 0);
  CHECK(base.memory.peak_reserved_high_bytes == Approx(base.memory.peak_reserved_bytes * 1.06));
  CHECK(base.memory.peak_reserved_low_bytes == Approx(base.memory.peak_reserved_bytes * 0.85));
  CHECK(base.time.tokens_per_s_per_gpu_low == Approx(base.time.tokens_per_s_per_gpu / 1.17));
  CHECK(base.time.tokens_per_s_per_gpu_high == Approx(base.time.tokens_per_s_per_gpu * 1.21));
  // 4 x the longest measured sequence (two doublings beyond 16384 for memory, three for tokens/s).
  q.config.seq_len = 65536;
  const Estimate longer = evaluate(q);
  CHECK(longer.memory.band_widened == bit(Widening::sequence));
  CHECK(longer.memory.peak_reserved_high_bytes ==
        Approx(longer.memory.peak_reserved_bytes * (1.06 + 2 * 0.03)));
  CHECK(longer.time.tokens_per_s_per_gpu_low ==
        Approx(longer.time.tokens_per_s_per_gpu / (1 + 0.17 + 3 * 0.15)));
  // torchtitan's unfused loss is the one the estimate models: the relative edges only.
  q.config.seq_len = 8192;
  q.config.loss = Loss::unfused;
  q.config.compile = false;
  const Estimate torchtitan = evaluate(q);
  CHECK(torchtitan.memory.band_widened == 0);
  CHECK(torchtitan.memory.peak_allocated_high_bytes ==
        Approx(torchtitan.memory.peak_allocated_bytes * 1.06));
  // Another trainer's unfused loss adds one fp32 copy of the logits to the phases they live in.
  q.config.trainer = Trainer::other;
  const Estimate unfused = evaluate(q);
  CHECK(unfused.memory.band_widened == bit(Widening::unfused_loss));
  CHECK(unfused.memory.peak_allocated_bytes == torchtitan.memory.peak_allocated_bytes);
  const double logits = 8192.0 * 128256.0;
  CHECK(unfused.memory.peak_allocated_high_bytes ==
        Approx((unfused.memory.peak_allocated_bytes + 4 * logits) * 1.06)
            .epsilon(1e-9)); // the peak is a logits phase (backward_start)
  CHECK(unfused.memory.peak_phase == StepPhase::backward_start);
  q.config.trainer = Trainer::torchtitan;
  // Verdicts: fits, at risk (only the estimate fits), out of memory.
  q.config.loss = Loss::fused;
  q.config.compile = true;
  MemoryConstants k;
  const auto verdict_at = [&](double usable_fraction_of_high) {
    const Estimate e = evaluate(q, k);
    k.headroom_fraction = 1.0 - usable_fraction_of_high * e.memory.device_bytes_required_high /
                                    e.memory.capacity_bytes;
    const Estimate r = evaluate(q, k);
    k.headroom_fraction = 0;
    return r.memory.verdict();
  };
  CHECK(verdict_at(1.001) == Verdict::fits);
  CHECK(verdict_at(0.99) == Verdict::at_risk);
  CHECK(verdict_at(0.5) == Verdict::out_of_memory);
}

TEST_CASE("MFU and HFU stay at or under 1, long sequences included", "[bands][time]") {
  EstimateRequest q = llama_8b_on("b200");
  q.config.activation_checkpointing = ActivationCheckpointing::full;
  q.config.loss = Loss::chunked;
  for (std::int64_t seq : {2048, 8192, 32768, 131072}) {
    for (Precision p : {Precision::bf16, Precision::mxfp8}) {
      q.config.seq_len = seq;
      q.config.precision = p;
      const Estimate e = evaluate(q);
      INFO(seq << " " << name_of(p));
      CHECK(e.time.hfu <= 1.0);
      CHECK(e.time.mfu <= e.time.hfu);
      CHECK(e.time.mfu > 0.01);
    }
  }
}

TEST_CASE("over every measured peak in tests/data: the verdict's edge holds 90 %, 12 % wide",
          "[bands]") {
  // Issue 14's targets, pooled over every file (the held-aside ones included, as evaluated):
  // measured at or under the upper edge in >= 90 % of runs, that edge a median <= 12 % above the
  // estimate, median |error| <= 5 %. 2026-12-05: 140 of 152 (92.1 %), 11.0 %, 3.1 %; 2026-12-06,
  // with the prime-rl and DeepSeek-V3 16B holdout (12 peaks, all under): 152 of 164 (92.7 %),
  // 11.0 %, 3.2 %; then (dated 2026-12-03 by a machine clock that had run behind), with the
  // late holdout (3 mixture peaks, all under): 155 of 167 (92.8 %), 11.0 %, 3.3 %; with the
  // spare holdout (8 dense torchtitan peaks, 7 under): 162 of 175 (92.6 %), 11.0 %, 3.2 %;
  // with the Blackwell and mixture holdout (5 peaks, all under, 4 read 38-45 % high): 167 of
  // 180 (92.8 %), 11.0 %, 3.4 %; with LambdaLabs' gpt-oss holdout (9 peaks, 8 under): 175 of
  // 189 (92.6 %), 11.0 %, 3.5 %; since eager gpt-oss counts its clamped SwiGLU and sinks: 176 of
  // 189 (93.1 %), 11.0 %, 3.5 %; with the fit-call holdout (1 peak, under): 177 of 190
  // (93.2 %), 11.0 %, 3.5 %; with the near-the-edge holdout (6 peaks, 5 under): 182 of 196
  // (92.9 %), 11.0 %, 3.3 %; with the 19 H200 fixed-segments runs, their fitted share of the
  // allocated peak, torchtitan's and LambdaLabs' launchers read as setting expandable segments,
  // and the upper edge at 5 % (2026-12-04): 199 of 215 (92.6 %), 9.0 %, 2.9 %; with the
  // commit-log holdout (7 peaks, 5 under; the two misses PR 364's June 2024 TP 4 runs on A100,
  // 21 % low): 204 of 222 (91.9 %), 9.0 %, 3.0 %; with the relative edges derived from all of
  // these peaks, the upper one at 7 % (2026-12-05): 211 of 222 (95.0 %), 11.0 %, 3.0 %; with the
  // December 4 holdout (2 peaks, both under): 213 of 224 (95.1 %), 11.0 %, 3.1 %; with the H200
  // runs of torchtitan's own gpt-oss code (6 peaks, all under): 219 of 230 (95.2 %), 11.0 %,
  // 3.1 %; and of its DeepSeek-V3 16B code (8 peaks, all under): 227 of 238 (95.4 %), 11.0 %,
  // 3.1 %; with the compiled micro-batch 5 of the December holdout (under): 228 of 239 (95.4 %),
  // 11.0 %, 3.1 %; without the Blackwell holdout's three copies of the 2026 dense file's B200
  // runs (the same results.tsv rows, all under, counted twice until 2026-12-04): 225 of 236
  // (95.3 %), 11.0 %, 3.1 %; with torchtitan PR 1196's two B200 runs (both under): 227 of 238
  // (95.4 %), 11.0 %, 3.2 %; with PR 533's holdout (3 peaks, all under) and each compiled loss
  // chunk freeing its logits in backward: 230 of 241 (95.4 %), 11.0 %, 3.2 %; with the Megatron
  // memory holdout (1 peak, under; +45.9 % as first evaluated, +4.1 % since Megatron-Core's
  // unfused loss is counted from its source): 231 of 242 (95.5 %), 11.0 %, 3.2 %; with the
  // outcomes holdout (5 torchtitan peaks from torchao PRs, all under): 236 of 247 (95.5 %),
  // 11.0 %, 3.3 %; with the expert-parallel holdout (1 peak, 1.3 % above the edge as evaluated,
  // under it since the ep widening is set on it too): 237 of 248 (95.6 %), 11.0 %, 3.3 %; with
  // the fully checkpointed mixture holdout: 246 of 259 (95.0 %), 11.0 %, 3.7 %; with the new-runs
  // holdout of 2026-12-07 (5 peaks, all inside, median 0.5 %): 251 of 264 (95.1 %), 11.0 %, 3.6 %;
  // with the fresh holdout of 2026-12-06 (1 peak, +10.3 %, inside): 252 of 265 (95.1 %), 11.0 %;
  // with KempnerForge's file (13 peaks, median 4.0 %, all inside since its bf16-logit loss and
  // gathered tensor-parallel logits are named): 265 of 278 (95.3 %), 11.0 %, 3.8 %; with the blind
  // fms holdout (8 peaks, all inside, median 2.9 %): 273 of 286 (95.5 %), 11.0 %, 3.8 %; since the
  // reserved peak holds every phase's slack and the rule's edge is 0.06 (2026-12-06): 272 of 286
  // (95.1 %), 10.0 %, 3.9 %; with the blind thunder holdout (19 peaks, 17 under as evaluated,
  // median 6.9 %) and the edge back at 0.07: 295 of 305 (96.7 %), 11.0 %, 4.0 %; since gqa_kv
  // (2026-12-06): 292 (95.7 %), 11.0 %, 3.5 %; with blind9 (8 peaks, all under): 300 of 313
  // (95.8 %), 11.0 %, 3.4 %; with blind12 (4 mixture peaks, all under): 304 of 317 (95.9 %),
  // 11.0 %, 3.4 %; with blind14 (4 PEFT peaks, all under): 308 of 321 (96.0 %), 11.0 %, 3.4 %;
  // with blind15 (8 peaks, all inside): 316 of 329 (96.0 %), 11.0 %, 3.5 %; with blind16
  // (5 Automodel GB200 mixture peaks, all inside, +4.2 to +16.9 %): 321 of 334 (96.1 %), 11.3 %,
  // 3.7 %; with blind17 (2 peaks, both inside): 323 of 336 (96.1 %), 11.4 %, 3.7 %; with
  // blind18 (3 torchtune LoRA peaks, inside) and the upper edge's base fraction back at 0.06:
  // 323 of 339 (95.3 %), 11.1 %, 3.7 %; with op-level SAC under tensor parallelism keeping the
  // gathered inputs and blind19 (2 tensor-parallel peaks of April 2024): 328 of 341 (96.2 %),
  // 11.2 %, 3.8 %; with blind20 (6 GraphTrainer peaks, 5 under) and blind21 (8 peaks, 7 under):
  // 340 of 355 (95.8 %), 11.2 %, 3.9 %; with blind22 (6 prime-rl RL peaks, 5 under): 345 of 361
  // (95.6 %), 11.1 %, 3.9 %.
  // The 16 misses are the 2026 GB200 torchtitan runs with op-level SAC (10-13 % low), PR 355's
  // June 2024 A100 run (-14 %), PR 812's eager float8 run of January 2025
  // (-40 %, before PR 820 took abs() off the op-level SAC save list), two H100 runs of 2024-2025
  // pull requests (-11 and -8 %), lightning-thunder's GPT-NeoX-style runs (-9 and -10 %), the
  // chunked-loss fake-process-group run without expandable segments (-12 %) and one without
  // checkpointing whose edge the GPU's capacity caps (-0.5 %); since 2026-12-07 also GraphTrainer's
  // PR 3429 run under its "default" graph SAC, which saves every matmul's output (-8.5 %, recorded
  // as op-level SAC), and Liger's Qwen2-7B example at 32 x 512 tokens (-7.6 %, at the optimizer
  // step, the sequence an upper bound); and prime-rl's Qwen3-4B RL step on 8 B200 (-5.7 %, 0.1 %
  // above its edge).
  std::vector<double> errors;
  std::vector<double> widths;
  int under = 0;
  for (const auto& [name, v] : validated_files()) {
    for (const json& c : v.at("cases")) {
      if (!c.contains("measured_bytes")) {
        continue;
      }
      const double predicted = c.at("predicted_bytes");
      errors.push_back(std::abs(c.at("error_pct").get<double>()));
      widths.push_back(100.0 * (c.at("predicted_high_bytes").get<double>() / predicted - 1.0));
      under += c.at("measured_bytes").get<double>() <= c.at("predicted_high_bytes").get<double>();
    }
  }
  REQUIRE(errors.size() == 361);
  CHECK(under == 345);
  CHECK(static_cast<double>(under) / static_cast<double>(errors.size()) >= 0.9);
  CHECK(quantile(widths, 0.5) <= 12.0);
  CHECK(quantile(errors, 0.5) <= 5.0);
}

TEST_CASE(
    "over every measured tokens/s row in tests/data: 15 % median on torchtitan's, 80 % in band",
    "[bands]") {
  // Issue 14's speed targets, pooled over every file (held-aside ones included, as evaluated):
  // median |error| <= 15 % on torchtitan's runs and measured inside the band in >= 80 % of them.
  // 2026-12-04: all 182 rows 12.4 %, 163 inside (89.6 %); torchtitan's 163: 11.6 %, 147 (90.2 %);
  // the held-aside files' 143: 12.7 %, 125 (87.4 %). With PR 533's holdout (3 rows, 2 inside) and
  // the B300 holdout (3 Megatron rows, 2 inside): all 188, 12.5 %, 167 (88.8 %); torchtitan's 166,
  // 11.4 %, 149 (89.8 %); held-aside 149, 12.9 %, 129 (86.6 %). With the Megatron-Bridge
  // holdout (12 rows, 10 inside) and the Megatron memory holdout (1 toy row, 57 % fast, outside):
  // all 201, 12.4 %, 177 (88.1 %); torchtitan's 166, 11.4 %, 149; held-aside 162, 12.7 %, 139.
  // With the outcomes holdout (2 torchtitan rows, both inside): all 203, 12.3 %, 179 (88.2 %);
  // torchtitan's 168, 11.3 %, 151 (89.9 %); held-aside 164, 12.6 %, 141 (86.0 %). With the
  // expert-parallel holdout (1 row, through the transformers backend, 80 % fast, outside): all
  // 204, 12.3 %, 179 (87.7 %); torchtitan's 169, 11.3 %, 151 (89.3 %); held-aside 165, 12.7 %,
  // 141 (85.5 %). With the fully checkpointed mixture holdout (5 rows, all inside): all 209,
  // 12.45 %, 184 (88.0 %); torchtitan's 172, 11.4 %, 154 (89.5 %); held-aside 170, 12.8 %, 146
  // (85.9 %). With the new-runs holdout (6 rows, 4 inside; its three autoresearch-branch B200 rows
  // 52-67 % fast, as that branch's others): all 215, 12.7 %, 188 (87.4 %); torchtitan's 178,
  // 11.9 %, 158 (88.8 %); held-aside 176, 13.0 %, 150 (85.2 %). Megatron's DDP reducing and
  // gathering once per step (16 Megatron-Bridge rows closer, gpt-oss-120b on 64 B300 from 69 %
  // slow to 34 %, still outside) and the torchtune 70B CPU-offload row read as its job's tokens/s
  // (1,568 / 8 = 196 per GPU; 1,568 would be 214 % of an A100's peak, now refused): all 215,
  // 12.3 %, 189 (87.9 %); torchtitan's unchanged; held-aside 176, 12.5 %, 151 (85.8 %). With the
  // fresh holdout of 2026-12-06 (4 Megatron-Bridge rows and 1 torchtune row, all inside, median
  // 4.3 %): all 220, 11.7 %, 195 inside (88.6 %); torchtitan's unchanged; held-aside 181,
  // 12.3 %, 157 (86.7 %). With KempnerForge's file (4 H200 rows, 3 inside): all 224, 11.6 %,
  // 198 (88.4 %); torchtitan's unchanged; held-aside 185, 12.1 %, 160 (86.5 %). With the blind
  // fms holdout (20 rows, 18 inside, median 5.3 %): all 244, 11.3 %, 216 (88.5 %); torchtitan's
  // unchanged; held-aside 205, 11.6 %, 178 (86.8 %). With the two blind holdouts of the same day
  // (llm-foundry: 33 rows, 28 inside, median 7.9 %; thunder: 3 rows, 2 inside): all 280, 11.05 %,
  // 246 (87.9 %); torchtitan's unchanged; held-aside 241, 11.2 %, 208 (86.3 %). With the two
  // blind holdouts of 2026-12-06's second session (OLMo-core and NeMo Automodel: 13 rows, 9
  // inside, median 9.3 %; Accelerate's FSDP2 example: 2 rows, both inside): all 295, 10.9 %, 257
  // (87.1 %); torchtitan's unchanged; held-aside 256, 10.9 %, 219 (85.5 %). With the third (AWS's
  // 2024 torchtitan-on-SageMaker blog: 4 torchtitan rows, all inside, median 4.0 %): all 299,
  // 10.8 %, 261 (87.3 %); torchtitan's 182, 11.3 %, 162 (89.0 %); held-aside 260, 10.7 %, 223.
  // With Automodel's LoRA dropout on the adapters' outputs named (lora_dropout_position), that
  // row +14.5 % (was +6.8 %): all and held-aside medians 10.85 %. Since gqa_kv and swiglu_impl
  // (2026-12-06; less activation traffic reads faster): all 11.0 %, 260 inside (Automodel's
  // Llama 3.1 8B LoRA row +19.2 %, out); torchtitan's 11.65 %, 162; held-aside 11.0 %, 222. With
  // the blind9 holdout (8 torchtitan rows of 96-256-token sequences, 22-34 % fast, all inside the
  // band widened for sequences shorter than any measured): all 307, 11.25 %, 268 (87.3 %);
  // torchtitan's 190, 12.3 %, 170 (89.5 %); held-aside 268, 11.3 %, 230. With the blind12
  // holdout (3 torchtitan mixture rows on H100, 11-30 % slow, all inside): all 310, 11.25 %, 271
  // (87.4 %); torchtitan's 193, 12.3 %, 173 (89.6 %); held-aside 271, 11.4 %, 233 (86.0 %). With
  // the blind15 holdout (3 rows, litgpt's FSDP1 TinyLlama and lingua's compiled FSDP2, all
  // inside): all 313, 274 (87.5 %); held-aside 274, 236 (86.1 %); torchtitan's unchanged. With
  // blind16 (6 NeMo Automodel GB200 mixture rows, 9-49 % slow, 4 inside): all 319, 11.25 %, 278
  // (87.1 %); held-aside 280, 11.4 %, 240 (85.7 %); torchtitan's unchanged. With blind17 (2
  // Qwen3-30B-A3B rows on H100, +7.1 and -0.7 %, inside): all 321, 11.25 %, 280 (87.2 %);
  // held-aside 282, 11.3 %, 242 (85.8 %). With blind20 (6 torchtitan GraphTrainer rows on H100:
  // 14-31 % slow under CUDA graphs, which no key names, 1 inside; 40 % fast without): all 327,
  // 11.4 %, 281 (85.9 %); torchtitan's 199, 12.9 %, 174 (87.4 %); held-aside 288, 11.7 %, 243
  // (84.4 %). With blind22 (NeMo 24.07's two FP8 rows on H100, -15.4 and -5.8 %, both inside):
  // all 329, 11.4 %, 283 (86.0 %); held-aside 290, 11.7 %, 245 (84.5 %); torchtitan's unchanged.
  struct Rows {
    std::vector<double> errors;
    int inside = 0;
    void add(const json& c) {
      errors.push_back(std::abs(c.at("throughput_error_pct").get<double>()));
      inside += c.at("throughput_in_band").get<bool>() ? 1 : 0;
    }
  };
  Rows all;
  Rows torchtitan;
  Rows held_aside;
  for (const auto& [name, v] : validated_files()) {
    std::map<std::string, std::string> trainer;
    const json file = read_json("tests/data/" + name);
    for (const json& c : file.at("cases")) {
      trainer[c.at("id").get<std::string>()] = c.value("trainer", "other");
    }
    for (const json& c : v.at("cases")) {
      if (!c.contains("throughput_error_pct")) {
        continue;
      }
      all.add(c);
      if (trainer.at(c.at("id").get<std::string>()) == "torchtitan") {
        torchtitan.add(c);
      }
      if (name.find("holdout") != std::string::npos) {
        held_aside.add(c);
      }
    }
  }
  REQUIRE(all.errors.size() == 329);
  CHECK(all.inside == 283);
  REQUIRE(torchtitan.errors.size() == 199);
  CHECK(torchtitan.inside == 174);
  CHECK(quantile(torchtitan.errors, 0.5) <= 15.0);
  CHECK(torchtitan.inside >= 0.8 * static_cast<double>(torchtitan.errors.size()));
  REQUIRE(held_aside.errors.size() == 290);
  CHECK(held_aside.inside == 245);
  // Nearest rank (the even count's lower middle row; their mean is 11.71 %).
  CHECK(quantile(held_aside.errors, 0.5) == Approx(11.57).margin(0.1)); // 11.30 before blind20
  CHECK(quantile(all.errors, 0.5) == Approx(11.39).margin(0.1));        // 11.25 before blind20
}

TEST_CASE("every published fit/out-of-memory outcome in tests/data: the calls as they stand",
          "[bands]") {
  // Issue 14 asks for every call right; 2026-12-05 these are not all. Of 93 outcomes (70 before
  // the new-runs holdout, whose 7 are all right, 77 before the fresh holdout, whose 4 ran and are
  // called fits, 81 before the blind fms holdout, whose 12 ran and are called fits): 46 ran and
  // are called fits, 27 ran out of memory
  // and are called out_of_memory, 14 that ran and 4 that
  // did not are at_risk (10 of the 14 Megatron-Bridge's: the micro-batch 4 runs, 165.4 GiB of
  // 178.3 with an upper edge 31-35 % above; gpt-oss-120b over 64 B300 was too, while its whole
  // gradient buffer was read in fp32, and fits since its case gives the recipe's bf16 reduce
  // (reduce_dtype); while the expert-parallel widening was 0.17, set on 15
  // measured peaks under ep, its two 16-H100 runs fit; at 0.25 and 0.21, set on 16, they were
  // at_risk again, as at 0.40 before, and fit since the reserved peak holds every phase's slack
  // and the rule's widening is 0.11-0.12: 48 that ran fit, 12 at_risk; with the blind
  // llm-foundry holdout's 33 runs (32 fits, 1 at_risk) and the thunder one's out-of-memory run
  // (called so): 80 fit, 13 at_risk, 28 out of memory), 2 that ran out of memory are called
  // fits: the compiled
  // Qwen3-14B micro-batch 6 that crashed in torch.compile's first step (eager micro-batch 6 ran at
  // 141.9 GiB; its branch records GPUs shared with other jobs) and the RL trainer's Qwen3-32B step
  // at 24,576 tokens (72.7 GiB allocated at its loss, the estimate's allocated peak 58.4, its loss
  // phase 57.0 with the fp32 head counted). Megatron-Core's layers counted as its source saves
  // them (trainer megatron), none that ran was called out_of_memory (10 of its 15 runs were before,
  // 2 on B300 and 8 on GB200 and B200) until the blind Automodel holdout of 2026-12-06 (13 runs:
  // 11 fits, 1 at_risk) and Accelerate's FSDP2 example (2 runs, both fits): NeMo Automodel's
  // one-GPU LoRA of Llama 3.1 8B (no checkpointing, 2 x 4096 tokens, dropout 0.1) is called
  // out_of_memory at 100.3 GiB. bwplan counted PEFT's dropout before the adapter (a dropped copy
  // of each adapted input and its mask, 30.6 GB here); Automodel drops the adapter's output
  // (dropout_position 'post', NVIDIA-NeMo/Automodel:nemo_automodel/components/_peft/lora.py), a
  // mask of each output, 11.3 GB; with that named (lora_dropout_position output, set on the case
  // after its evaluation) the estimate is still 82.3 GiB of 78.9 usable, and
  // its Qwen2.5-7B twin without dropout reads at_risk (78.9 GiB): Automodel's layers hold less
  // than bwplan counts. 92 ran and fit, 15 at_risk; with the blind papers-and-blogs holdout (4
  // torchtitan runs that fit, AMD's Llama 2 70B out of memory on 2 MI300X, called so): 96, 29.
  // Since gqa_kv and swiglu_impl (2026-12-06), set from Automodel's source (Hugging Face's Llama
  // with FlashAttention-2 and Liger Kernel's SiLU-multiply at that commit), that LoRA run reads
  // 77.5 GiB, at_risk, so none that ran is called out_of_memory (96 fit, 16 at_risk); and the
  // may19 branch's TP 2 x FSDP 4 at local batch 10, which ran a step at 97.4 % of the device
  // before its allocator failed, is at_risk (28 out_of_memory, 5 at_risk). With the blind9 and
  // blind10 holdouts of the same day (evaluated once): the may19 branch's eager run out of memory
  // called so, the Hugging Face stacks' three calls: TRL's Llama 3.1 8B SFT with Liger fits and
  // its twin without Liger, out of memory, at_risk; Axolotl's full fine-tune of SmolLM2-1.7B at
  // 16,384 tokens on one H100, out of memory in step 2's backward, called fits (62.3 GiB, upper
  // edge 71.7 of 78.9; 68.9 and 76.9 since its random-init model is read as built, fp32 weights
  // under autocast, bf16 not bf16-pure): a third wrong call (97 fit, 29, 6). With the blind11
  // holdout (evaluated once, 2026-12-06): NeMo Automodel's four out-of-memory Llama 3.3 70B
  // pipeline x FSDP runs called so, open-r1's OlympicCoder-32B at 22,528 tokens that trained
  // at_risk (73.2 GiB, upper edge 88.0) and at 32k out_of_memory, and open-r1 issue 446's
  // Qwen2.5-Math-7B over ZeRO-3 at 32k, out of memory, at_risk (78.9 GiB of 78.9): no wrong
  // call (97, 17 at_risk; 34, 7). With the blind13 holdout (8 runs near the limit that trained,
  // evaluated once): Snowflake's ArcticTraining baselines over ZeRO-3 with CPU offload, 3 fits,
  // 3 at_risk, and the two with Liger Kernel's fused linear cross-entropy at 160,000 tokens on 8
  // H100 and 300,000 on one H200 called out_of_memory (79.6 and 147.2 GiB: the loss read as
  // torchtitan's 8-chunk chunked-head, whose one chunk at those lengths is 38 and 72 GiB), and
  // PEFT's Llama 2 70B LoRA over ZeRO-3 fits: two runs that ran called out_of_memory (100 fit,
  // 20 at_risk, 2). Read since as fused-linear (Liger's own chunks; docs/model.md section 4) the
  // two peak in the decoder's backward at 79.2 and 143.8 GiB: still out_of_memory, by 0.4 and
  // 2.9 %. With Liger's SiLU-multiply read from its source (its backward writes the gate's and
  // up's gradients over its saved inputs: docs/model.md section 3) they read 71.8 and 130.2 GiB,
  // at_risk: no run that trained is called out_of_memory (100 fit, 22 at_risk, 0). With
  // autocast's per-call casts of the norms' fp32 outputs counted (docs/model.md section 3), the
  // Axolotl run reads 76.7 GiB, upper edge 85.2: at_risk (34, 8, 2). With NeMo Automodel's
  // DeepEP experts and its experts outside FSDP named (moe_impl fused, expert_fsdp sharded, set
  // on blind6's Qwen3-30B-A3B from its source) that run reads fits (101 fit, 21 at_risk). With
  // the blind16 holdout (pooled once its experts had names: 4 runs that trained, all fits, and 2
  // out of memory, both called so): 105, 21, 0; 38, 8, 2. With blind17's gpt-oss-120b on 32
  // GB200 out of memory without expandable segments (blind16's run of that shape trained):
  // at_risk (38, 9, 2). With op-level SAC under tensor parallelism keeping the gathered inputs
  // (2026-12-07, docs/model.md section 10), the asyncTP table's three 8B runs over FSDP 8 x TP 8
  // at 12 x 8192 tokens, which trained, read 83.4 GiB of 96 GB: at_risk (102, 24, 0). With the
  // blind21 holdout (ms-swift's Qwen2.5-14B under ZeRO-3 fits and ZeRO-2 at_risk, both trained;
  // Liger's two out-of-memory runs out_of_memory and at_risk): 103, 25, 0; 39, 10, 2. With the
  // blind22 holdout (NeMo 24.07's two FP8 runs, which trained: fits and at_risk): 104, 26, 0. Of
  // the 321 measured peaks, 2 are called out_of_memory: DeepSeek-V3 16B with expert parallelism at
  // micro-batch 8, read 29 and 35 % high (docs/model.md section 8).
  std::map<std::pair<bool, std::string>, int> calls;
  std::vector<std::string> wrong;
  std::vector<std::string> ran_called_oom;
  int peaks_called_oom = 0;
  for (const auto& [name, v] : validated_files()) {
    for (const json& c : v.at("cases")) {
      const std::string verdict = c.at("predicted_verdict");
      if (c.at("metric") == "fits") {
        const bool ran = c.at("measured_fits");
        ++calls[{ran, verdict}];
        if (!ran && verdict == "fits") {
          wrong.push_back(c.at("id"));
        }
        if (ran && verdict == "out_of_memory") {
          ran_called_oom.push_back(c.at("id"));
        }
      } else if (verdict == "out_of_memory") {
        ++peaks_called_oom;
      }
    }
  }
  CHECK(calls[{true, "fits"}] == 104);
  CHECK(calls[{true, "at_risk"}] == 26);
  CHECK(calls[{true, "out_of_memory"}] == 0);
  CHECK(calls[{false, "out_of_memory"}] == 39);
  CHECK(calls[{false, "at_risk"}] == 10);
  CHECK(ran_called_oom == std::vector<std::string>{});
  std::sort(wrong.begin(), wrong.end());
  CHECK(wrong == std::vector<std::string>{
                     "ar15-b200x8-qwen3-14b-gradop8-sacop-b6-compile-oom",
                     "ttrl-swe-r2e-h100x16-qwen3-32b-fsdp16-fp32state-fullac-s24576-oom-2026jun"});
  CHECK(peaks_called_oom == 2);
}
