// The memory model against measured runs, through the real `bwplan validate` path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bwplan/measurements.hpp"
#include "test_support.hpp"
#include "validation_checks.hpp"

using namespace bwplan;

namespace {

using test::validate_json;

using test::check_fit_calls;
using test::check_peaks_inside_band;
using test::check_runs_that_ran;
using test::check_throughput;

/// A measurement file of one 8-GPU Llama 3.1 8B case on `gpu`, with `extra` keys (each followed
/// by a comma) and the `measured` object as given.
std::string one_case(const std::string& gpu, const std::string& extra,
                     const std::string& measured) {
  return R"({"schema": "bwplan-measurements/1", "cases": [{"id": "x", "source": "s",
    "model": "llama-3.1-8b", "gpu": ")" +
         gpu + R"(", "gpus": 8, "sharding": "full", "shard_group": 8, "precision": "bf16",
    "micro_batch": 1, "seq_len": 8192, "grad_accum": 1, "activation_checkpointing": "full",
    "optimizer": "adamw", "compile": false, "loss": "unfused", )" +
         extra + R"( "measured": )" + measured + "}]}";
}

} // namespace

TEST_CASE("published runs: median error <= 5%, none over 12%", "[validation]") {
  // Sources per case in tests/data/measurements.json (torchtitan, torchao, torchtune).
  const auto v = validate_json("measurements.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 20);
  CHECK(s.at("median_abs_error_pct").get<double>() <= 5.0);
  CHECK(s.at("max_abs_error_pct").get<double>() <= 12.0);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 0); // every run that ran is called as fitting
}

TEST_CASE("H100 fake-process-group runs: median error <= 2%, none over 10%", "[validation]") {
  // 22 FSDP2 runs measured with tools/measure/fsdp2_fakepg.py; 2 more ran out of memory.
  const auto v = validate_json("measurements-h100-fakepg.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 22);
  CHECK(s.at("median_abs_error_pct").get<double>() <= 2.0);
  CHECK(s.at("max_abs_error_pct").get<double>() <= 10.0);
  CHECK(s.at("fit_cases") == 2);
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  // Every run that ran is called as fitting. Two are at risk: the 8B without checkpointing holds
  // 77.9 GiB reserved and the 8B micro-batch 2 74.9 GiB of an H100's 78.89 GiB; with expandable
  // segments their reserved estimates stop at what the device has left beside the context and
  // NCCL (-0.5 % and +3.5 %). Before that cap both were called out of memory (-0.03 %, +5.5 %).
  CHECK(s.at("ran_called_out_of_memory") == 0);
}

TEST_CASE("without expandable segments: the fitted share is what the H200 runs and their twins say",
          "[validation]") {
  // Each run of measurements-h200-fixed-segments.json (PyTorch's default segments) has a twin
  // with expandable segments in measurements-h100-fakepg.json: the same config, whose peaks the
  // H200 repeated to the MiB (tools/measure/results/h200-delay-2026-12-04.jsonl). The shipped
  // memory.fixed_segments_fraction is the median of (reserved without - reserved with) /
  // allocated, rounded to 0.01.
  const auto read = [](const char* f) {
    return nlohmann::json::parse(read_text_file(test::source_path(std::string("tests/data/") + f)))
        .at("cases");
  };
  std::map<std::string, nlohmann::json> twins;
  for (const auto& c : read("measurements-h100-fakepg.json")) {
    twins[c.at("id").get<std::string>().substr(std::string("fakepg-h100-").size())] = c;
  }
  std::vector<double> shares;
  for (const auto& c : read("measurements-h200-fixed-segments.json")) {
    const std::string key =
        c.at("id").get<std::string>().substr(std::string("fakepg-h200-").size());
    INFO(key);
    REQUIRE(twins.count(key) == 1);
    CHECK(c.at("alloc_segments") == "fixed");
    const auto& with = twins.at(key).at("measured");
    shares.push_back((c.at("measured").at("value").get<double>() - with.at("value").get<double>()) /
                     with.at("peak_allocated_gib").get<double>());
  }
  REQUIRE(shares.size() == 13);
  const double median = test::median(shares);
  CHECK(median == Approx(0.039).margin(0.0005));
  CHECK(MemoryConstants{}.fixed_segments_fraction == Approx(std::round(median * 100.0) / 100.0));
  const auto [lowest, highest] = std::minmax_element(shares.begin(), shares.end());
  CHECK(*lowest == Approx(-0.034).margin(0.001)); // 3B micro-batch 4, full AC
  CHECK(*highest == Approx(0.150).margin(0.001)); // 8B over 4 GPUs, full AC

  // With it the fit set reads (before: median -3.8 %, max -10.5 %, all under the upper edge).
  const auto v = validate_json("measurements-h200-fixed-segments.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 13);
  CHECK(s.at("median_abs_error_pct").get<double>() <= 3.0);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
}

TEST_CASE("held-out runs, predicted before they were measured, stay within 8%", "[validation]") {
  // 70B over 64 GPUs, HSDP 4x8, selective-layer every 4: shapes the constants never saw. Within
  // 3.2 % until the reserved peak held every phase's slack (2026-12-06): the 70B runs now read
  // +7.6 % (full checkpointing) and +6.0 %, the slack beside the forward's end on top of an
  // allocated peak the estimate reads 12.6 % high (over a fake process group a reduce-scatter
  // finishes at once, so one input is live where a real run's overlap keeps two).
  const auto v = validate_json("measurements-h100-fakepg-holdout.json");
  CHECK(v.at("summary").at("numeric_cases") == 5);
  CHECK(v.at("summary").at("max_abs_error_pct").get<double>() == Approx(7.64).margin(0.1));
  CHECK(v.at("summary").at("upper_edge_coverage").get<double>() == 1.0);
}

TEST_CASE("validate --max-median-error fails CI above the limit", "[validation][cli]") {
  const std::string file = test::source_path("tests/data/measurements.json");
  CHECK(test::run_cli({"validate", file, "--max-median-error", "5"}).status == 0);
  const auto r = test::run_cli({"validate", file, "--max-median-error", "0.01"});
  CHECK(r.status == 3);
  CHECK_THAT(r.err, Catch::Contains("above --max-median-error"));
}

TEST_CASE("validate's table shows each case's tokens/s, as its JSON has them",
          "[validation][cli]") {
  // The table had memory columns only: the per-case tokens/s the man page promises were in the
  // JSON alone. A file with no measured peak printed "0 memory cases: median |error| 0.0%".
  const std::string file = test::source_path("tests/data/measurements-model-parallel-holdout.json");
  const auto table = test::run_cli({"validate", file});
  const auto json = test::run_cli({"validate", file, "--format", "json"});
  REQUIRE(table.status == 0);
  REQUIRE(json.status == 0);
  const auto cases = nlohmann::json::parse(json.out).at("cases");
  std::size_t rates = 0;
  for (const auto& c : cases) {
    if (!c.contains("measured_tokens_per_second_per_gpu")) {
      continue;
    }
    ++rates;
    // the case's row: its id, then measured, predicted and the signed error
    const std::string id = c.at("id").get<std::string>();
    const std::size_t row = table.out.find(id + " ");
    REQUIRE(row != std::string::npos);
    const std::string line = table.out.substr(row, table.out.find('\n', row) - row);
    CHECK_THAT(line, Catch::Contains(fmt::format(
                         " {:.0f}  ", c.at("measured_tokens_per_second_per_gpu").get<double>())));
    CHECK_THAT(
        line, Catch::EndsWith(fmt::format("{:+.1f}%", c.at("throughput_error_pct").get<double>())));
  }
  CHECK(rates == 7);
  CHECK_THAT(table.out, !Catch::Contains("0 memory cases"));
}

TEST_CASE("validate's table tells an at-risk call of an out-of-memory run from a fits call",
          "[validation][cli]") {
  // Qwen3-30B-A3B micro-batch 14 ran out of memory; bwplan's estimate fits but its band's upper
  // edge does not (at_risk): wrong by fit_accuracy, yet not the plain "fits" call of a run that
  // ran. The table said WRONG for both.
  const auto r = test::run_cli({"validate", test::source_path("tests/data/measurements-moe.json")});
  REQUIRE(r.status == 0);
  const std::size_t row = r.out.find("lambda-b200-qwen3-30b-a3b-fsdp8-sacop-mb14-oom ");
  REQUIRE(row != std::string::npos);
  const std::string line = r.out.substr(row, r.out.find('\n', row) - row);
  CHECK_THAT(line, Catch::Contains("WRONG (at risk)") && Catch::Contains("(at_risk)"));
}

TEST_CASE("validate rejects a malformed case by file, case and key", "[validation][hostile]") {
  const Catalog cat = builtin_catalog();
  const std::string bad = one_case("b200", "", R"({"metric": "peak_reserved_gb", "value": 3})");
  CHECK_THROWS_WITH(parse_measurements(bad, "m.json", cat),
                    Catch::Contains("m.json: /cases/0/measured/metric"));
  // sharding none with a shard group of 8 was read as 1, silently.
  std::string none = bad;
  none.replace(none.find("peak_reserved_gb"), 16, "peak_reserved_gib");
  none.replace(none.find("\"sharding\": \"full\""), 18, R"("sharding": "none")");
  CHECK_THROWS_WITH(parse_measurements(none, "m.json", cat),
                    Catch::Contains("m.json: /cases/0/shard_group: shard_group 8 contradicts "
                                    "sharding none"));
  // A case's notes are text for people: a string, not any JSON at all.
  std::string notes = bad;
  notes.replace(notes.find("peak_reserved_gb"), 16, "peak_reserved_gib");
  notes.replace(notes.find("\"measured\""), 10, R"("notes": ["a"], "measured")");
  CHECK_THROWS_WITH(parse_measurements(notes, "m.json", cat),
                    Catch::Contains("m.json: /cases/0/notes: expected a string, got array"));
  // A missing key is said to be missing, not blamed on a valid neighbour read later (it read
  // "m.json: /cases/0/gpu: m.json: /cases/0/gpus: unknown key (did you mean 'gpu'?)").
  std::string no_gpu = bad;
  no_gpu.replace(no_gpu.find("peak_reserved_gb"), 16, "peak_reserved_gib");
  no_gpu.replace(no_gpu.find(R"("gpu": "b200", )"), 15, "");
  CHECK_THROWS_WITH(parse_measurements(no_gpu, "m.json", cat),
                    Catch::Equals("m.json: /cases/0/gpu: missing required key"));
  // a misspelling is still named as one
  std::string typo = bad;
  typo.replace(typo.find("peak_reserved_gb"), 16, "peak_reserved_gib");
  typo.replace(typo.find(R"("gpu": )"), 7, R"("gpuu": )");
  CHECK_THROWS_WITH(parse_measurements(typo, "m.json", cat),
                    Catch::Contains("/cases/0/gpuu: unknown key (did you mean 'gpu'?)"));
  // A run's file has no gpus_per_node: 12 GPUs were refused as "not a whole number of nodes of
  // `gpus_per_node` 8", a key the file cannot hold.
  std::string twelve = bad;
  twelve.replace(twelve.find("peak_reserved_gb"), 16, "peak_reserved_gib");
  twelve.replace(twelve.find(R"("gpus": 8)"), 9, R"("gpus": 12)");
  twelve.replace(twelve.find(R"("shard_group": 8)"), 16, R"("shard_group": 12)");
  CHECK_THROWS_WITH(parse_measurements(twelve, "m.json", cat),
                    Catch::Equals("m.json: /cases/0/gpus: gpus 12 is not a whole number of 8-GPU "
                                  "nodes (a run over more than 8 GPUs is read as nodes of 8: "
                                  "allowed 1 to 8 or a multiple of 8)"));
  std::string sixteen = twelve;
  sixteen.replace(sixteen.find(R"("gpus": 12)"), 10, R"("gpus": 16)");
  sixteen.replace(sixteen.find(R"("shard_group": 12)"), 17, R"("shard_group": 16)");
  CHECK(parse_measurements(sixteen, "m.json", cat).at(0).request.nodes == 2);
}

TEST_CASE("validate names the file and case of a tokens/s no GPU can run", "[validation][cli]") {
  // The error read "x: measured tokens_per_second_per_gpu ...": a case id, no file, where every
  // other refusal of a measurement file names it.
  const auto r = test::run_cli(
      {"validate",
       test::source_path("tests/hostile/measurements/tokens-per-second-above-peak.json")});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: ") &&
                        Catch::Contains("tokens-per-second-above-peak.json: case '") &&
                        Catch::Contains("': measured tokens_per_second_per_gpu "));
}

TEST_CASE("a case that does not name gqa_kv reads repeat, a Megatron one native", "[validation]") {
  const Catalog cat = builtin_catalog();
  const auto gqa = [&](const std::string& extra) {
    const std::string text =
        one_case("h100-sxm-80gb", extra, R"({"metric": "peak_reserved_gib", "value": 60})");
    return parse_measurements(text, "m.json", cat).at(0).request.config.gqa_kv;
  };
  CHECK(gqa("") == GqaKv::repeat); // the larger, for a run that does not say
  CHECK(gqa(R"("gqa_kv": "native",)") == GqaKv::native);
  CHECK(gqa(R"("trainer": "megatron",)") == GqaKv::native); // Transformer Engine reads the groups
  CHECK(gqa(R"("trainer": "torchtitan",)") == GqaKv::repeat);
  CHECK_THROWS_WITH(gqa(R"("trainer": "megatron", "gqa_kv": "repeat",)"),
                    Catch::Contains("case 'x': gqa_kv repeat with trainer megatron"));
}

TEST_CASE("validate refuses a reading no run can make", "[validation][hostile]") {
  const Catalog cat = builtin_catalog();
  const auto with = [&](const std::string& measured) {
    return one_case("h100-sxm-80gb", "", measured);
  };
  REQUIRE_NOTHROW(
      parse_measurements(with(R"({"metric": "peak_reserved_gib", "value": 79})"), "m.json", cat));
  // An 80 GB H100 holds 79.65 GiB (configs/gpus/h100-sxm-80gb.json, which publishes no CUDA
  // total): 90 GiB is a typo or the wrong GPU, and compared as it stood it would read as a model
  // 12 % low.
  CHECK_THROWS_WITH(
      parse_measurements(with(R"({"metric": "peak_reserved_gib", "value": 90})"), "m.json", cat),
      Catch::Contains("m.json: /cases/0/measured/value: 90 GiB is more than the h100-sxm-80gb's "
                      "79.65 GiB (allowed"));
  // Where the CUDA total is published (B200: 178.35 GiB of the driver's 179.06), a reading
  // between the two was accepted (red team, 2026-12-08), though no process can reserve it.
  const auto b200 = [&](const std::string& measured) { return one_case("b200", "", measured); };
  REQUIRE_NOTHROW(parse_measurements(b200(R"({"metric": "peak_reserved_gib", "value": 178.3})"),
                                     "m.json", cat));
  CHECK_THROWS_WITH(
      parse_measurements(b200(R"({"metric": "peak_reserved_gib", "value": 178.5})"), "m.json", cat),
      Catch::Contains("178.5 GiB is more than the b200's 178.35 GiB that CUDA can allocate"));
  CHECK_THROWS_WITH(parse_measurements(with(R"({"metric": "peak_allocated_gib", "value": 70,
                                                "peak_reserved_gib": 81})"),
                                       "m.json", cat),
                    Catch::Contains("m.json: /cases/0/measured/peak_reserved_gib: 81 GiB"));
  // Nor can an A100 run fp8 (configs/gpus/a100-sxm-80gb.json): estimate refuses the
  // configuration, and a measured fit of it would score a call no GPU can be asked.
  std::string fp8 = one_case("a100-sxm-80gb", "", R"({"metric": "fits", "value": true})");
  fp8.replace(fp8.find(R"("precision": "bf16")"), 19, R"("precision": "fp8-rowwise")");
  CHECK_THROWS_WITH(parse_measurements(fp8, "m.json", cat),
                    Catch::Equals("m.json: case 'x': precision fp8-rowwise: a100-sxm-80gb has no "
                                  "fp8-rowwise support (allowed: a precision it runs)"));
  // A run that ran out of memory may have run steps first: their tokens/s is kept.
  for (const char* ran : {"true", "false"}) {
    INFO(ran);
    const auto cases = parse_measurements(with(fmt::format(R"({{"metric": "fits", "value": {},
                                                "tokens_per_second_per_gpu": 900}})",
                                                           ran)),
                                          "m.json", cat);
    CHECK(cases.at(0).tokens_per_second_per_gpu == 900);
  }
}

TEST_CASE("validate --max-median-error refuses to pass a file with no measured peak",
          "[validation][cli][hostile]") {
  // Only fit/OOM outcomes: the median of no errors printed as 0 % and the gate passed, exit 0.
  const std::string file = test::source_path("tests/data/measurements-fitcalls-holdout.json");
  const auto all = nlohmann::json::parse(test::run_cli({"validate", file, "--format", "json"}).out);
  REQUIRE(all.at("summary").at("fit_cases").get<int>() > 0);
  nlohmann::json only_fits = {{"schema", "bwplan-measurements/1"},
                              {"cases", nlohmann::json::array()}};
  const auto source = nlohmann::json::parse(read_text_file(file));
  for (const auto& c : source.at("cases")) {
    if (c.at("measured").at("metric") == "fits") {
      only_fits["cases"].push_back(c);
    }
  }
  REQUIRE(!only_fits["cases"].empty());
  const std::string path = (test::scratch_dir("validate-only-fits") / "fits.json").string();
  std::ofstream(path) << only_fits.dump();
  CHECK(test::run_cli({"validate", path}).status == 0); // the table of calls is still wanted
  const auto r = test::run_cli({"validate", path, "--max-median-error", "5"});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("--max-median-error 5: ") &&
                        Catch::Contains("has no measured peak to take the median of"));
}

TEST_CASE("a measured case names its trainer, or reads as an unnamed one", "[validation]") {
  const Catalog cat = builtin_catalog();
  const auto with_trainer = [&](const std::string& extra) {
    const std::string text = R"({"schema": "bwplan-measurements/1", "cases": [{"id": "x",
      "source": "s", "model": "llama-3.1-8b", "gpu": "b200", "gpus": 8, "sharding": "full",
      "shard_group": 8, "precision": "bf16", "micro_batch": 1, "seq_len": 8192, "grad_accum": 1,
      "activation_checkpointing": "full", "optimizer": "adamw", "compile": false,
      "loss": "unfused", )" + extra +
                             R"("measured": {"metric": "peak_reserved_gib", "value": 3}}]})";
    return parse_measurements(text, "m.json", cat).at(0).request.config.trainer;
  };
  CHECK(with_trainer("") == Trainer::other);
  CHECK(with_trainer(R"("trainer": "torchtitan", )") == Trainer::torchtitan);
  CHECK_THROWS_WITH(with_trainer(R"("trainer": "titan", )"),
                    Catch::Contains("/cases/0/trainer") && Catch::Contains("torchtitan, other"));
}

TEST_CASE("held-aside published runs: never above the band's upper edge, every fit call right",
          "[validation][bands]") {
  // 17 runs set aside before the bands were built and evaluated once (tests/data/README.md);
  // no constant is fitted to them (they count toward the memory band's relative edges, as every
  // file does since 2026-12-05). Tokens/s on them is recorded in docs/time-model.md §6: the
  // multi-node A100 and HSDP rows run faster than predicted, outside the band.
  const auto v = validate_json("measurements-published-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 7);
  CHECK(s.at("fit_cases") == 10);
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  CHECK(s.at("median_band_high_pct").get<double>() <= 12.0);
  for (const auto& c : v.at("cases")) {
    if (c.contains("measured_bytes")) {
      INFO(c.at("id"));
      // never silently low: a measured peak above the estimate stays under the upper edge
      CHECK(c.at("measured_bytes").get<double>() <= c.at("predicted_high_bytes").get<double>());
    }
  }
}

TEST_CASE("held-aside tensor-parallel runs: every fit call right, tokens/s as evaluated",
          "[validation][parallel]") {
  // 7 runs set aside before tensor parallelism was evaluated and evaluated once at the end
  // (tests/data/README.md). Recorded in docs/time-model.md §9: tokens/s median |error| 5.4 % then;
  // 13.8 % after the first contention refit on every dense tokens/s row (2026-12-02, this file
  // among them), 7.9 % since the power-cap exponent (0.91) and the contention's refit (1.75) of
  // 2026-12-03; six of seven inside the band; the 405B over FSDP 16 x TP 8 runs 1.7x faster than
  // predicted. 10.5 % since op-level SAC under tensor parallelism keeps the gathered inputs
  // (2026-12-07, docs/model.md section 10): the 8B TP 8 rows recompute, and so stream, less.
  const auto v = validate_json("measurements-model-parallel-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("fit_cases") == 7);
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  CHECK(s.at("throughput_cases") == 7);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(10.5).margin(0.5));
  CHECK(s.at("throughput_band_coverage").get<double>() >= 6.0 / 7.0 - 1e-9);
}

TEST_CASE("held-aside pipeline-parallel runs: memory within 5 %, all inside the bands, tokens/s as "
          "evaluated",
          "[validation][pipeline]") {
  // 3 runs set aside before pipeline parallelism was built (405B over FSDP x TP 8 x PP 8:
  // interleaved 1F1B at 8k, CP 2 at 64k, CP 8 at 256k) and evaluated once at the end; not used to
  // fit anything. Recorded in docs/model.md section 11 and docs/time-model.md section 10: memory
  // median |error| 4.4 %, max 5.0 %; tokens/s median 38.7 %, max 53.7 % with cuDNN-class attention
  // (the two context-parallel runs predicted too fast, as at pp 1), 16.5 %, max 19.4 % since the
  // runs are read with the FlashAttention-2 they ran (attention_kernel flash2), all inside their
  // bands.
  const auto v = validate_json("measurements-pipeline-parallel-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 3);
  CHECK(s.at("median_abs_error_pct").get<double>() <= 5.0);
  CHECK(s.at("max_abs_error_pct").get<double>() <= 5.5);
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() <= 17.0);
  CHECK(s.at("throughput_max_abs_error_pct").get<double>() <= 20.0);
  CHECK(s.at("throughput_band_coverage").get<double>() == 1.0);
}

TEST_CASE("context-parallel runs read with FlashAttention-2: tokens/s median <= 40 % (88 % with "
          "cuDNN-class attention)",
          "[validation][parallel]") {
  // tests/data/measurements-model-parallel.json: 8B over cp 2, 4, 8 at 64k-256k and 70B over TP 8,
  // torchtitan 9dec370 (Dec 2024), whose context parallelism ran SDPA's flash backend: -12 %,
  // +16 %, +20 %, -17 % (median 16.6 %). The same runs read as cuDNN attention: +55 %, +120 %,
  // +139 %, -23 % before the power-cap exponent's change (median 87.9 %).
  const auto v = validate_json("measurements-model-parallel.json");
  const auto& s = v.at("summary");
  CHECK(s.at("throughput_cases") == 4);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() <= 40.0);
  CHECK(s.at("throughput_max_abs_error_pct").get<double>() <= 60.0);
  const auto& cp8 = v.at("cases").at(2);
  REQUIRE(cp8.at("id") == "tt-h100-8b-fsdp1-cp8-fp8-fullac-s256k");
  CHECK(cp8.at("predicted_tokens_per_second_per_gpu").get<double>() ==
        Approx(cp8.at("measured_tokens_per_second_per_gpu").get<double>() * 1.20).epsilon(0.02));
}

TEST_CASE("mixture-of-experts runs: the fit set within its band, the held-aside runs as evaluated",
          "[validation][moe]") {
  // tests/data/measurements-moe.json: LambdaLabs' Qwen3-30B-A3B sweeps on 8 x B200, May 2026 (pure
  // bf16, compiled, op-level SAC: 3 peaks and an OOM) and August 2026 (fp32 master weights,
  // eager and compiled, full, op-level and no checkpointing: 7 peaks and an OOM). The estimate
  // reads the August rows within -15.2..+7.4 % and the May ones -3.7..-3.9 % (44-49 % low until
  // 2026-12-05, while they were read as full checkpointing; their registry entry runs op-level
  // SAC); the band (docs/model.md, "Mixtures of experts") holds every one. The OOM at May
  // micro-batch 14 is at_risk, not fits (counted wrong here). Median 4.3 % until the May rows'
  // pure bf16 reduced in fp32, as torchtitan's does (2026-12-05, docs/model.md section 5): 3.6 %;
  // 4.6 % since the reserved peak holds every phase's slack (2026-12-06: the eager August rows
  // without checkpointing and with full checkpointing read 1-3 points higher).
  const auto fit = validate_json("measurements-moe.json");
  const auto& f = fit.at("summary");
  CHECK(f.at("numeric_cases") == 10);
  // 3.4 % since gqa_kv (2026-12-06: K and V at their own heads, as the runs' torchtitan passes
  // enable_gqa; 4.6 % before).
  CHECK(f.at("median_abs_error_pct").get<double>() == Approx(3.4).margin(0.3));
  CHECK(f.at("max_error_case") == "lambda-aug-b200-qwen3-30b-a3b-sac-eager-mb6");
  CHECK(f.at("band_coverage").get<double>() == 1.0);
  CHECK(f.at("median_band_high_pct").get<double>() <= 16.0);
  CHECK(f.at("fit_cases") == 2);
  CHECK(f.at("oom_cases") == 2);
  CHECK(f.at("oom_flagged_fraction").get<double>() == 1.0);
  // tokens/s: median 11.3 % at grouped-GEMM efficiency 0.24 (least squares on these rows); 6.6 %
  // at 0.28, fitted on these rows and the H200 compute-only mixture steps together (2026-12-04),
  // the May rows 23-25 % fast, and 28-30 % since they are read as the op-level SAC they ran
  // (2026-12-05; docs/time-model.md, "Mixtures of experts").
  CHECK(f.at("throughput_median_abs_error_pct").get<double>() == Approx(6.6).margin(0.3));
  for (const auto& c : fit.at("cases")) {
    if (c.at("metric") == "fits") {
      INFO(c.at("id"));
      CHECK(c.at("predicted_verdict") != "fits"); // both ran out of memory
    }
  }
  // Held aside: gpt-oss-20b on the same node and commit, within 2.2 % since the runs are read as
  // the pure bf16 they ran (they read 24-30 % high as mixed precision); tokens/s 5.8 % median,
  // 11.5 % after the contention and grouped-GEMM refit of 2026-12-02, 16.9 % (slow) since B200's
  // GEMM ratio and the refit of 2026-12-03, 6.5 % since the grouped-GEMM refit of 2026-12-04.
  // Since torchtitan's pure bf16 reduces in fp32 (2026-12-05): all three 2.0-5.0 % high, tokens/s
  // 7.7 % (the reduce-scatter's bytes doubled).
  const auto oss = validate_json("measurements-moe-gpt-oss-holdout.json");
  const auto& o = oss.at("summary");
  CHECK(o.at("numeric_cases") == 3);
  CHECK(o.at("max_abs_error_pct").get<double>() <= 5.1);
  CHECK(o.at("band_coverage").get<double>() == 1.0);
  // 7.3 % since gqa_kv (2026-12-06; 7.65 % before: less activation traffic, faster).
  CHECK(o.at("throughput_median_abs_error_pct").get<double>() == Approx(7.3).margin(0.3));
  CHECK(o.at("throughput_band_coverage").get<double>() == 1.0);
  // Held aside from the August sweep before anything was set on it: eager op-level SAC at
  // micro-batch 7 reads 16.3 % low, compiled at 10 5.8 % high, both inside the band; of the four
  // OOMs the estimate calls three out of memory (no checkpointing at 4; ep 8 over the node, eager
  // and compiled, since op-level SAC is counted saving the all-to-alls' outputs, as torchtitan's
  // save list says) and eager SAC at 8 at_risk.
  const auto ladder = validate_json("measurements-moe-ladder-holdout.json");
  const auto& l = ladder.at("summary");
  CHECK(l.at("numeric_cases") == 2);
  CHECK(l.at("max_abs_error_pct").get<double>() == Approx(16.3).margin(0.5));
  CHECK(l.at("band_coverage").get<double>() == 1.0);
  CHECK(l.at("fit_cases") == 4);
  CHECK(l.at("fit_accuracy").get<double>() == 0.75);
  CHECK(l.at("oom_cases") == 4);
  CHECK(l.at("oom_flagged_fraction").get<double>() == 1.0);
  // 0.7 % and 7.3 % slow as evaluated; 7.9 % fast and 4.0 % slow since the refits of 2026-12-03/04.
  CHECK(l.at("throughput_median_abs_error_pct").get<double>() <= 8.0);
  for (const auto& c : ladder.at("cases")) {
    if (c.at("metric") == "fits") {
      INFO(c.at("id"));
      CHECK(c.at("predicted_verdict") != "fits");
    }
  }
  // Held aside until the mixture model was built, evaluated once (docs/model.md section 12): a
  // DeepEP fork over 1-16 nodes reads 47-69 % above the memory estimate; an op-level SAC run
  // (relabelled chunked-head, the loss it ran) 5.9 % below it; recorded so that a change to the
  // model meets these numbers again. Median 59.9 %; 58.6 % since fixed segments hold 4 % of the
  // allocated peak more (2026-12-04: these runs do not name their allocator). Tokens/s 27.2 %,
  // 22.2 % since the grouped-GEMM refit of 2026-12-04 (all six still read slow).
  const auto held = validate_json("measurements-moe-holdout.json");
  const auto& h = held.at("summary");
  CHECK(h.at("numeric_cases") == 6);
  CHECK(h.at("median_abs_error_pct").get<double>() == Approx(58.62).margin(0.5));
  CHECK(h.at("throughput_median_abs_error_pct").get<double>() == Approx(22.2).margin(0.3));
}

TEST_CASE("held-aside fine-tuning runs: LoRA within 10 %, QLoRA's load inside the band",
          "[validation][finetune]") {
  // tests/data/measurements-finetune.json: torchtune's LoRA and QLoRA tutorials on Llama 2 7B,
  // evaluated once after the model was built (docs/model.md section 13). The estimate reads 8.5 %
  // and 9.1 % low on LoRA, inside the band. QLoRA's peak is its load (9.13 GB reserved before the
  // first step): torchao 0.1 quantized each base linear to NF4 in one go, 68 bytes per element of
  // the largest (11008 x 4096), which the load phase now holds: 15.6 % low (49 % before); 12.6 %
  // since fixed segments (torchtune's default) hold 4 % of the allocated peak more (2026-12-04).
  const auto v = validate_json("measurements-finetune.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 3);
  CHECK(s.at("median_abs_error_pct").get<double>() <= 10.0);
  CHECK(s.at("max_error_case") == "tune-qlora-7b-all-r8");
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(12.6).margin(0.5));
  CHECK(s.at("band_coverage").get<double>() == Approx(1.0));
  for (const auto& c : v.at("cases")) {
    if (c.at("id") == "tune-qlora-7b-all-r8") {
      CHECK(c.at("peak_phase") == "load");
    }
  }
}

TEST_CASE("the 2026 dense runs held aside: memory and tokens/s as first evaluated",
          "[validation]") {
  // Set aside on 2026-12-02 after the contention refit (docs/time-model.md section 6), evaluated
  // once; recorded so that a change to the model meets these numbers again. Memory: median 3.7 %,
  // the early-FSDP2 eager full-checkpointing Llama 2 run 19 % low, the GB200 runs 10-13 % low
  // (outside the band). Tokens/s: 16.2 % median on the 18 upstream torchtitan rows (16.8 % with
  // the constants before the refit), 12.7 % since the refit of 2026-12-03 (power-cap exponent,
  // Blackwell GEMM ratio, contention 1.75: these rows among the fitted ones); the 10 B200 rows of
  // an agent-written branch read 60-85 % fast, 49-60 % since.
  const auto v = validate_json("measurements-dense-2026-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 31);
  // 3.2 % since the reserved peak stops at what the device has left (2026-12-05); 2.5 % since
  // gqa_kv (2026-12-06): the 2026 branches' runs without checkpointing read 1.8-5.4 % high with
  // K and V counted at the query heads, -0.4 to -2.8 % at their own (enable_gqa).
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(2.5).margin(0.3));
  // The 2024 Llama 2 run 19.2 % low; 16.5 % since fixed segments hold 4 % of the allocated peak
  // more (2026-12-04: it does not name its allocator); 11.3 % since the reserved peak holds every
  // phase's slack (2026-12-06), which leaves PR 1881's FSDP 64 run (+14.9 %) the largest.
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(14.9).margin(0.3));
  CHECK(s.at("throughput_cases") == 28);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(25.2).margin(0.5));
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  // The agent branch's Qwen3-14B ran at 173.9 GiB of 178.35. Its reserved estimate without the
  // cap, 4.3 % over, did not fit beside the context and NCCL and called it out of memory; with
  // expandable segments (run_train.sh) the allocator returns cached blocks instead, and the
  // estimate, capped at 177.0 GiB (+1.8 %), is at risk.
  CHECK(s.at("ran_called_out_of_memory") == 0);
}

TEST_CASE("the Blackwell dense runs held aside: memory and tokens/s as first evaluated",
          "[validation]") {
  // Collected on 2026-12-02 while the refit of 2026-12-03 (power-cap exponent, Blackwell GEMM
  // ratio, contention 1.75) was made, converted without looking at predictions and evaluated once
  // after it was committed (docs/time-model.md section 6). Tokens/s: 12.1 % median over 22 rows
  // (the GB200 runs of torchtitan's nvfp4 guide, PR 3105 and a blog within -16..+30 %, the
  // agent-written B200 branch +49..+56 %), all inside the band. Memory: 10.9 % median over 18,
  // 11 inside the band: the Qwen3 8B GB200 runs of the guide read 13-16 % low, as the GB200 rows
  // of the 2026 dense file do; two of the blog's peaks (rounded percents of a GPU) read 40-45 %
  // high, the guide's NVFP4 run 50 % high. As first read, one conversion error (the blog's
  // pipeline run with its local batch as one micro-batch, corrected since) made those 11.9 %,
  // 10 of 18, and 21 of 22 tokens/s rows in band.
  const auto v = validate_json("measurements-blackwell-holdout.json");
  const auto& s = v.at("summary");
  // Since 2026-12-04 without the three B200 rows that were the 2026 dense file's runs (the same
  // results.tsv rows of the same branch, counted twice until then): 19 tokens/s rows, 11.3 %;
  // 15 peaks, 9.8 %, 12 inside the band, 13 under the upper edge.
  CHECK(s.at("throughput_cases") == 19);
  // 11.6 % since gqa_kv (2026-12-06).
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(11.6).margin(0.3));
  CHECK(s.at("throughput_band_coverage").get<double>() == 1.0);
  CHECK(s.at("numeric_cases") == 15);
  // Since loss parallelism's fp32 copy is counted (2026-12-04): 14.3 %, 8 of 18 inside the band
  // (10.9 %, 11 before): the blog's compiled peaks were recorded with an unfused loss. Their
  // notes say torchtitan compiled the loss, bwplan's fused; corrected on 2026-12-05, the
  // compiled runs without tensor parallelism read +0.7 and +4.1 % (were +40 and +45 %) and the
  // tensor-parallel ones -22 to -26 % (were +16 to +25 %; -49 % with context parallelism, above
  // the upper edge): under loss parallelism the compiled loss holds more than the fused
  // estimate, as its band assumes. 9.2 %, 12 of 18 inside the band, 13 under the upper edge;
  // 15 and 16 since the relative edges hold 95 % of every shipped peak (2026-12-05); 9 and 10
  // while that rule's upper edge was 0.06 (2026-12-06, before the blind thunder holdout joined).
  // Since gqa_kv (2026-12-06; the torchtitan of 2026 rows counted with K and V at their own
  // heads, 0.3-0.8 points lower): 10.2 %, 10 inside, 11 under the upper edge (GB200's Qwen3-8B
  // rows of the NVFP4 document, which read 9.6 and 9.8 % low, now 10.0 and 10.2 %, past the
  // 0.12 lower and, with the allocator's holes, the upper edge's reach). 9 inside and 10 under
  // since the upper edge's base fraction is 0.06 again (blind18, 2026-12-07); 10 and 11 since
  // op-level SAC under tensor parallelism keeps the gathered inputs (the same day: the blog's
  // TP 2 run, 23.6 % low, reads +3.4 %).
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(10.0).margin(0.3));
  CHECK(s.at("band_coverage").get<double>() == Approx(10.0 / 15.0).margin(0.001));
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  // No run that ran is called out of memory. The blog's HSDP Llama 8B, 175.1 GiB (95 % of the
  // GPU), names no launcher (alloc_segments fixed): until fixed segments got the reserved cap
  // (2026-12-04) its 188.8 GiB reserved estimate called it out of memory; its allocated peak and
  // holes (178.9 GiB) fit beside the runtime, and it is at_risk. The same Qwen3-14B run as the
  // 2026 dense file's was the second until the expandable-segments cap.
  CHECK(s.at("ran_called_out_of_memory") == 0);
  CHECK(s.at("upper_edge_coverage").get<double>() == Approx(11.0 / 15.0).margin(0.001));
}

TEST_CASE("the December runs held aside: memory and tokens/s as first evaluated", "[validation]") {
  // Collected on 2026-12-05 by a helper from sources no earlier file used (Crusoe Cloud's
  // torchtitan scale-out table of Llama 3.1 8B on B200, H200 and H100, 8-128 GPUs; a second
  // agent-written torchtitan branch running Qwen3-14B on 8 B200), converted without bwplan's
  // predictions in view of this work, and evaluated once after the reserved-memory cap was
  // committed. Memory: median 1.6 %, max 4.2 % (H100 x 128), all 15 inside the band.
  // Tokens/s: the 8 Crusoe rows within -8.6..+7.7 %, the branch's 7 rows 40-56 % fast (as the
  // other agent-written B200 branch's), all inside the band: median 8.6 %. One wrong call: the
  // compiled micro-batch 6 crashed before step 1 on an Inductor allocation with the GPU nearly
  // full, while bwplan predicts 130.7 GiB (the eager micro-batch 6 ran at 141.9 GiB): compile's
  // own working memory is not modelled. Added later (missed at collection): the compiled
  // micro-batch 5 between them, 119.9 GiB (-1.5 %, inside the band) at 3,823 tokens/s, half of
  // micro-batch 4's and a third of the estimate, below the band; the file's tokens/s median moves
  // from 8.6 % to 24.5 %, since its rows split into the Crusoe 8 (within 9 %) and the branch's 8.
  const auto v = validate_json("measurements-december-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 16);
  // 1.1 % since fixed segments hold 4 % of the allocated peak more (2026-12-04: Crusoe's rows do
  // not name their allocator).
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(1.1).margin(0.3));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(4.2).margin(0.3));
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_cases") == 16);
  // 24.85 % since gqa_kv (2026-12-06; 24.5 % before).
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(24.85).margin(0.3));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(15.0 / 16.0));
  CHECK(s.at("throughput_max_error_case") == "ar15-b200x8-qwen3-14b-gradop8-sacop-b5-compile");
  CHECK(s.at("fit_cases") == 2);
  CHECK(s.at("fit_accuracy").get<double>() == 0.5);
  CHECK(s.at("ran_called_out_of_memory") == 0);
}

TEST_CASE("the prime-rl and DeepSeek-V3 16B runs held aside hold what their one evaluation showed",
          "[validation]") {
  // tests/data/measurements-primerl-dsv3-holdout.json: evaluated once on 2026-12-06, before any
  // change to the model that session. prime-rl's fine-tuning step keeps its fp32 logits through
  // backward (its train loop deletes `logits` but keeps the output dict that holds them), one fp32
  // copy per logit that bwplan's unfused loss does not count: those rows read 10-17 % low, inside
  // the band; its dense runs also read 16-73 % fast (docs/model.md §8, docs/time-model.md §6).
  const auto v = validate_json("measurements-primerl-dsv3-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 12);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(7.7).margin(0.3));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(17.4).margin(0.3));
  // All 12 inside the band as evaluated; 11 since its upper edge narrowed from 7 % to 5 %
  // (2026-12-04): the 17.4 %-low prime-rl row is above it; all 12 again since the edges hold
  // 95 % of every shipped peak, the upper one 7 % (2026-12-05).
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_cases") == 8);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(20.6).margin(0.5));
  CHECK(s.at("throughput_band_coverage").get<double>() == 0.75);
  CHECK(s.at("fit_cases") == 3);
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 0);
}

TEST_CASE("the late mixture runs held aside hold what their one evaluation showed",
          "[validation]") {
  // tests/data/measurements-late-holdout.json: collected 2026-12-03 by a helper that never saw a
  // prediction, evaluated once the same day with no model change. torchao's 2-layer Llama 4
  // Scout (ep 4 on 4 B200, no checkpointing, compiled; bf16 and MXFP8) reads 15 % low and 49-68 %
  // fast; torchtitan's eager DeepSeek-V3 16B (ep 4, full checkpointing, 8 H100 96 GB) 9.6 % low
  // and 35 % slow, below the band: expert parallelism's wide memory band holds all three peaks,
  // the speed model does not hold mixtures this far from the runs it was set on. Since the
  // grouped-GEMM refit of 2026-12-04 (0.24 -> 0.28) the Scout rows read 54-77 % fast and the
  // DeepSeek-V3 row 30 % slow, inside the band: median 54.2 %, all three inside.
  const auto v = validate_json("measurements-late-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 3);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(14.9).margin(0.3));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(15.0).margin(0.3));
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_cases") == 3);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(54.2).margin(0.3));
  CHECK(s.at("throughput_band_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_max_error_case") ==
        "aomoe-b200x4-llama4-2l-fsdp4-ep4-noac-compiled-b8s8192-bf16");
  CHECK(s.at("ran_called_out_of_memory") == 0);
}

TEST_CASE("the spare dense runs held aside hold what their one evaluation showed", "[validation]") {
  // tests/data/measurements-spare-holdout.json: 8 torchtitan runs from PR and issue logs and a
  // 2026 doc (Llama 3.1 8B on 8 H100 96 GB, March-June 2025; on 8 A100 80 GB, June 2024;
  // Qwen3-14B over TP 4 x FSDP 2 with the chunked LM-head loss), collected 2026-12-03 by a helper
  // that never saw a prediction and evaluated once with no model change. The 2025 runs read
  // within 0.6 %; the June 2024 A100 run (foreach AdamW, no expandable segments, a PyTorch
  // nightly of then) 17 % low, above the band, as torchtitan's other early-2024 runs read
  // (docs/model.md section 8); the Qwen3-14B doc's per-document attention runs 22 % faster than
  // causal attention is timed.
  const auto v = validate_json("measurements-spare-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 8);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(0.6).margin(0.1));
  // The June 2024 run: 17.0 % low as evaluated, 14.2 % since fixed segments hold 4 % of the
  // allocated peak more (2026-12-04).
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(14.2).margin(0.3));
  CHECK(s.at("max_error_case") == "tt355-a100-8b-fsdp8-bf16-sacop-b1s8192-foreach-2024jun");
  CHECK(s.at("upper_edge_coverage").get<double>() == Approx(7.0 / 8.0));
  CHECK(s.at("throughput_cases") == 6);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(15.2).margin(0.3));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(4.0 / 6.0));
  CHECK(s.at("ran_called_out_of_memory") == 0);
}

TEST_CASE("the December 4 runs held aside hold what their one evaluation showed", "[validation]") {
  // tests/data/measurements-december4-holdout.json: 2 runs collected 2026-12-05 by a helper that
  // never saw a prediction, committed, then evaluated once with no model change. Both peaks read
  // low, inside the band; the tensor-parallel row's tokens/s is 3.3 x fast, outside it (a
  // host-bound step: 2,048 tokens over 8 tensor-parallel ranks, about 2.5 % MFU measured).
  const auto v = validate_json("measurements-december4-holdout.json");
  // -6.9 and -6.7 % at that evaluation; -5.1 and -6.6 % since the reserved peak holds every
  // phase's slack (2026-12-06).
  check_peaks_inside_band(v, 2, 5.8, 6.6, 2); // both read low
  check_throughput(v, 1, 231.4, 0.5, 0.0);
}

TEST_CASE("torchtitan's own gpt-oss code on an H200 holds what its one evaluation showed",
          "[validation]") {
  // tests/data/measurements-h200-gptoss-fakepg-holdout.json: 6 configs of gpt-oss-20b run with
  // pytorch/torchtitan@df2e96d5's model code over a fake process group (one H200 holding rank 0
  // of 8), 4 estimated before the run and the 2 with accumulation steps after it, with no model
  // change (tools/measure/results/h200-gptoss-predictions-2026-12-04.txt), evaluated once. The
  // allocated peaks read -0.5 % to +1.1 %; the reserved ones all read high, by the allocator slack
  // beside the 16384 x 201088 logits.
  const auto v = validate_json("measurements-h200-gptoss-fakepg-holdout.json");
  // Since gqa_kv (2026-12-06: df2e96d5's attention passes enable_gqa, so K and V are counted at
  // their own heads) a median 3.65 % (4.7 % before), all still high.
  check_peaks_inside_band(v, 6, 3.65, 10.4, 0); // all read high
  CHECK(v.at("summary").at("max_error_case") == "fakepg-h200-gptoss-L24-w8-fullac-b2s8192-fixed");
}

TEST_CASE("torchtitan's own DeepSeek-V3 16B code on an H200 holds what its one evaluation showed",
          "[validation]") {
  // tests/data/measurements-h200-dsv3-fakepg-holdout.json: 8 configs of the "16B" flavor at
  // pytorch/torchtitan@df2e96d5 with ep 1 over a fake process group (one H200 holding rank 0 of
  // 8), estimated before each of two runs (tools/measure/results/h200-dsv3-predictions-2026-12-04
  // .txt), evaluated once with no model change. With FlexAttention the allocated peaks read +2.9
  // to +4.8 % under op-level SAC (a block keeps 28.8 KB a token, 32.9 estimated: the compiled
  // flex call's output and logsumexp are not kept), -0.5 % with full checkpointing; with SDPA,
  // -0.3 and -0.4 %, as the flex runs predicted. The reserved ones within 5.8 %, the smallest
  // micro-batch low (-4.4 %); since the reserved peak holds every phase's slack (2026-12-06) all
  // read high, within 6.3 %, micro-batch 2 the most (the forward end's slack).
  const auto v = validate_json("measurements-h200-dsv3-fakepg-holdout.json");
  check_peaks_inside_band(v, 8, 5.2, 6.3, 0);
  CHECK(v.at("summary").at("max_error_case") == "fakepg-h200-dsv3-L27-w8-sacop-b2s4096");
}

TEST_CASE("the commit-log runs held aside hold what their one evaluation showed", "[validation]") {
  // tests/data/measurements-commitlogs-holdout.json: 8 torchtitan runs read from PR and commit
  // logs no other file uses (PRs 364, 382, 467 of June-July 2024; 698, November 2024; 1513 and
  // 1351, July 2025), collected 2026-12-04 by a helper that never saw a prediction, committed,
  // then evaluated once with no model change. The 2024 runs read far off both ways: PR 364's
  // Llama 3 8B over FSDP 2 x TP 4 on A100 21.5 % low (above the band) and 4.5 x too fast (11 %
  // MFU logged); PRs 382 and 467's FSDP runs on H100 13-18 % high, though the same stated
  // configuration read 82.4 GiB in December 2024 (measurements.json) against PR 382's 69.04.
  // The November 2024 float8 run and the July 2025 runs read within 4.1 %. 2 of 7 inside the band
  // as evaluated; 3 since its lower edge widened from 7 % to 13 % (2026-12-05); 2 since it
  // narrowed to 10 % (2026-12-06, the pooled peaks' rule with the blind fms holdout); 3 since it
  // is 12 % (2026-12-06, with the blind thunder holdout). Since op-level SAC under tensor
  // parallelism keeps the gathered inputs (2026-12-07, docs/model.md section 10) PR 364's runs read
  // +3.9 and +4.5 %: 4.5 % median, 7 of 7 under the upper edge, 5 inside; the largest miss PR
  // 382's root-wrapped run, 18.4 % high. Since the lower edge is 16 % (2026-12-07, blind20
  // pooled) all 7 are inside; since it is 15 % (2026-12-07, blind22 pooled) 5.
  const auto v = validate_json("measurements-commitlogs-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 7);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(4.5).margin(0.1));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(18.4).margin(0.1));
  CHECK(s.at("max_error_case") ==
        "tt382-h100x8-96g-llama3-8b-fsdp8-bf16-sacop-b2s8192-rootwrap-2024jul");
  CHECK(s.at("upper_edge_coverage").get<double>() == Approx(7.0 / 7.0));
  CHECK(s.at("band_coverage").get<double>() == Approx(5.0 / 7.0));
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 0);
  CHECK(s.at("throughput_cases") == 7);
  // 8.8 % before the grouped-GEMM refit of 2026-12-04 moved the DeepSeek-V3 row.
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(8.66).margin(0.1));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(5.0 / 7.0));
}

TEST_CASE("the Blackwell and mixture runs held aside hold what their one evaluation showed",
          "[validation]") {
  // tests/data/measurements-blackwell-moe-holdout.json: torchtitan PR 2389's gpt-oss-20b on 8
  // B200 (eager, unfused loss; full and no checkpointing) and PRs 1610 and 1672's DeepSeek-V3 16B
  // with ep 8 and ep 4 (op-level SAC) on H100, collected 2026-12-03 by a helper that never saw a
  // prediction, evaluated once with no model change. Tokens/s hold (median 0.9 %); memory does
  // not: the no-checkpointing gpt-oss run reads -1.4 % but its full-checkpointing twin +43 % (the
  // unfused loss of a 201k vocabulary and the slack beside it, counted for 16384 tokens), and the
  // DeepSeek-V3 16B runs +38 % and +45 %, so that two runs that ran are called out of memory
  // (docs/model.md section 8). Since then op-level SAC counts what torchtitan's policy keeps of
  // latent attention without a query LoRA and the leading dense block at its own size: the
  // DeepSeek-V3 16B runs read +29 % and +35 %, still called out of memory. And since eager
  // gpt-oss counts what its clamped SwiGLU and sink rescale keep (measured on LambdaLabs' sweep,
  // the test below), the no-checkpointing runs at the 2 x 8192 tokens recorded read +15 %: called
  // out of memory, both of them, though they ran (docs/model.md section 8: the recorded batch is
  // in doubt). Tokens/s of its gpt-oss rows 1 % -> 3-5 % slow (more activation bytes per block).
  // Since a pressed fixed-segments allocator is estimated to return its holes (the band keeping
  // them; torchtitan's own gpt-oss code measured on an H200 puts these runs' allocated peak at
  // about 172.9 GiB, so they held about 3 GiB of holes when pressed), the bf16-gate run's
  // estimate is the room left, 177.0 GiB, +0.8 %, and its fp32-gate twin, which ran, is called at
  // risk. Tokens/s 4.0 % median before the grouped-GEMM refit of 2026-12-04, 4.7 % after (the
  // gpt-oss rows now 3-5 % fast, the DeepSeek-V3 one 8.8 % slow).
  const auto v = validate_json("measurements-blackwell-moe-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 5);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(35.5).margin(0.3));
  CHECK(s.at("max_error_case") == "tt2389-b200x8-gpt-oss-20b-fsdp8-fullac-b2s8192-eager-gatebf16");
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 2);
  CHECK(s.at("fit_cases") == 1);
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  for (const auto& c : v.at("cases")) {
    if (c.at("id") == "tt2389-b200x8-gpt-oss-20b-fsdp8-noac-b2s8192-eager-gatebf16") {
      CHECK(c.at("error_pct").get<double>() == Approx(0.8).margin(0.05));
      CHECK(c.at("predicted_verdict") == "at_risk");
    }
    if (c.at("id") == "tt2389-b200x8-gpt-oss-20b-fsdp8-noac-b2s8192-eager-gatefp32-fits") {
      CHECK(c.at("predicted_verdict") == "at_risk");
    }
  }
  CHECK(s.at("throughput_cases") == 5);
  // 5.13 % since gqa_kv (2026-12-06; 4.71 % before).
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(5.13).margin(0.1));
  CHECK(s.at("throughput_band_coverage").get<double>() == 1.0);
}

TEST_CASE("LambdaLabs' gpt-oss sweep, held aside, holds what its one evaluation showed",
          "[validation]") {
  // tests/data/measurements-moe-december-holdout.json: gpt-oss-20b and -120b on 8 B200 from
  // LambdaLabsML/torchtitan@97d91a8e's config_registry.py docstrings (torchtitan of August 2026;
  // full, op-level SAC and no checkpointing, eager and compiled, ep 1 and 8), collected
  // 2026-12-03 by a helper that never saw a prediction, committed, then evaluated once with no
  // model change: memory a median 8.6 % off, 8 of 9 under the upper edge (the eager
  // no-checkpointing 20b run at 2 x 8192 tokens reads 16 % low, above it); of 2 out-of-memory
  // runs one is called fits; tokens/s (converted from the docstrings' MFU) a median 33 % off,
  // mostly slow (docs/model.md section 8, docs/time-model.md section 6). After that evaluation,
  // eager gpt-oss counts what its clamped SwiGLU and sink rescale keep (read from torchtitan's
  // gpt_oss code; the 16 % low run's slope over its batch-1 twin was the clue): memory a median
  // 5.5 %, all 9 under the edge, all 3 fit calls right. Tokens/s 33.2 %, 4 of 7 inside the band;
  // 24.9 %, 6 of 7, since the grouped-GEMM refit of 2026-12-04. Since torchtitan's pure bf16
  // reduces in fp32, as its source does (2026-12-05, docs/model.md section 5): memory 7.05 % (the
  // ep 1 gpt-oss-120b runs 7-9 % high, 1-3 % low before), tokens/s 30.4 %, still 6 of 7 (the ep 1
  // 120b runs, limited by their reduce-scatter, 30 % slow, 16 % before). Memory 5.1 % since the
  // reserved peak holds every phase's slack (2026-12-06: the ep 8 op-level SAC 120b run -15.8 ->
  // -4.3 %), the ep 1 120b run at +8.9 % the largest.
  const auto v = validate_json("measurements-moe-december-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 9);
  // 4.3 % since gqa_kv (2026-12-06; 5.1 % before: gpt-oss-20b without checkpointing +8.6 and
  // +4.5 % then, +3.4 and +1.3 % now).
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(4.3).margin(0.2));
  CHECK(s.at("max_error_case") ==
        "lambda-gptoss120b-b200x8-fsdp8-ep1-fullac-b1s8192-eager-bf16pure");
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 0);
  CHECK(s.at("fit_cases") == 3);
  CHECK(s.at("fit_accuracy").get<double>() == 1.0);
  CHECK(s.at("throughput_cases") == 7);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(30.4).margin(0.3));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(6.0 / 7.0));
}

TEST_CASE("the fit-call holdout holds what its one evaluation showed", "[validation]") {
  // tests/data/measurements-fitcalls-holdout.json: published fit and out-of-memory outcomes
  // (torchtitan PR 2461's Qwen3-14B op-level SAC OOM beside its full-checkpointing twin that
  // ran, PR 685's context parallelism 8, docs/performance.md's 405B FSDP-only OOM on 128 H100,
  // three may19 autoresearch OOMs) and PR 1625's logged peak, collected 2026-12-03 by a helper
  // that never saw a prediction, committed, then evaluated once with no model change: all 7 fit
  // calls right (5 out of memory, 2 fits), the peak +1.3 %, its tokens/s 27.6 % slow, below the
  // band (eager Llama 3.1 8B on 8 H100 in August 2025: 7031 measured, 5093 estimated).
  // Since gqa_kv (2026-12-06: the may19 branch's attention passes enable_gqa), TP 2 x FSDP 4 at
  // local batch 10, which completed a step at 173.69 GiB (97.4 %) before the allocator failed to
  // map 20 MiB, is at_risk: its estimate fits, the band's upper edge does not (6 of 7 estimates
  // on the right side).
  const auto v = validate_json("measurements-fitcalls-holdout.json");
  const auto& s = v.at("summary");
  check_fit_calls(v, 7, 5, 6.0 / 7.0);
  for (const auto& c : v.at("cases")) {
    if (c.at("id") == "ar19-b200-qwen3-14b-fsdp4-tp2-bf16pure-noac-b10-compile-oom") {
      CHECK(c.at("predicted_verdict") == "at_risk");
    }
  }
  CHECK(s.at("oom_flagged_fraction").get<double>() == 1.0);
  CHECK(s.at("numeric_cases") == 1);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(1.3).margin(0.1));
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(27.6).margin(0.2));
  CHECK(s.at("throughput_band_coverage").get<double>() == 0.0);
}

TEST_CASE("the new-runs holdout holds what its one evaluation showed", "[validation]") {
  // tests/data/measurements-newruns-holdout.json: runs no file recorded from documents other rows
  // of which are used (torchtitan PR 1690's six Qwen3-32B out-of-memory rows on 96 GB H100s and
  // the two TP 8 runs beside them, three B200 rows of the Qwen3-14B autoresearch branches, a 2024
  // A100 row), collected 2026-12-07 by a helper that never saw a prediction, committed, then
  // evaluated once with no model change: all 7 fit calls right, the 5 peaks a median 0.5 % off,
  // all inside the band (worst -10.1 %, TP 2 x FSDP 4; -3.0 % since the reserved peak holds every
  // phase's slack, 2026-12-06), tokens/s 37.5 %, 4 of 6 inside.
  const auto v = validate_json("measurements-newruns-holdout.json");
  const auto& s = v.at("summary");
  check_fit_calls(v, 7, 6, 1.0);
  CHECK(s.at("numeric_cases") == 5);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(0.5).margin(0.1));
  // 3.35 % since gqa_kv (2026-12-06; 3.0 % before).
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(3.35).margin(0.1));
  CHECK(s.at("band_coverage").get<double>() == 1.0);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  check_throughput(v, 6, 38.2, 0.2, 4.0 / 6.0); // 38.2 % since gqa_kv (37.5 % before)
}

TEST_CASE("the near-the-edge holdout holds what its one evaluation showed", "[validation]") {
  // tests/data/measurements-oomedge-holdout.json: torchtitan PRs 812, 820, 833 and 1230 (Llama 3
  // 8B on 8 H100 96 GB, float8 and bf16, January-May 2025), PR 3559's Llama 3 70B over FSDP 4 x
  // TP 2 out of memory and the RL trainer commit bb9ab453's Qwen3-32B over FSDP 16 out of memory
  // at 24576 tokens, collected 2026-12-03 by a helper that never saw a prediction, committed,
  // then evaluated once with no model change. Five peaks read within 1.2 %; PR 812's eager
  // float8 run reads 39.6 % low (32.4 GiB): it ran before PR 820 took abs() off the op-level SAC
  // save list, so eager SAC kept abs() of every float8 cast: the unsharded weights of the 224
  // block linears (13.0 GiB in bf16) and their inputs (608 MiB a block at 8192 tokens, 19.0
  // GiB), 32.0 GiB by hand count. bwplan does not model that fixed bug. The 70B out-of-memory is
  // called; the Qwen3-32B one is called fits (68.5 GiB, upper edge 74.4): it failed asking for
  // 1.74 GiB with 72.7 GiB allocated, and its trainer keeps an fp32 copy of the LM head while the
  // loss runs (about 2.9 GiB), which bwplan cannot express (docs/model.md section 8).
  const auto v = validate_json("measurements-oomedge-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 6);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(0.8).margin(0.1));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(39.6).margin(0.2));
  CHECK(s.at("upper_edge_coverage").get<double>() == Approx(5.0 / 6.0));
  CHECK(s.at("fit_cases") == 2);
  CHECK(s.at("fit_accuracy").get<double>() == 0.5);
  CHECK(s.at("ran_called_out_of_memory") == 0);
  CHECK(s.at("throughput_cases") == 5);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(9.9).margin(0.2));
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(4.0 / 5.0));
}

TEST_CASE("the RL trainer holdout holds what its one evaluation showed", "[validation]") {
  // tests/data/measurements-rl-otherstack-holdout.json: five fit/out-of-memory outcomes of
  // torchtitan's RL policy trainer (Qwen3-32B on 80 GB H100s, June 2026), collected 2026-12-03 by
  // a helper that never saw a prediction, committed, then evaluated once with no model change.
  // The two FSDP 8 fp32-master runs at 4096 tokens ran out of memory: op-level SAC is called
  // out_of_memory (99.2 GiB), full checkpointing at_risk (77.4 GiB of 78.9 usable); the pure-bf16
  // FSDP 8 run (45.1) and the FSDP 16 fp32-master run (70.1, upper edge 74.9) are called fits;
  // the 24576-token pure-bf16 run with the fp32 log-probability loss out_of_memory (82.4).
  const auto v = validate_json("measurements-rl-otherstack-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 0);
  CHECK(s.at("fit_cases") == 5);
  CHECK(s.at("fit_accuracy").get<double>() == Approx(0.8));
  CHECK(s.at("oom_cases") == 3);
  CHECK(s.at("oom_flagged_fraction").get<double>() == 1.0);
  for (const auto& c : v.at("cases")) {
    const std::string id = c.at("id");
    const std::string verdict = c.at("predicted_verdict");
    INFO(id);
    CHECK(verdict == (id.ends_with("fullac-s4096-oom-2026jun") ? "at_risk"
                      : id.find("-oom-") != std::string::npos  ? "out_of_memory"
                                                               : "fits"));
  }
}

TEST_CASE("the fixed-segments H200 runs held aside hold what their one evaluation showed",
          "[validation]") {
  // tests/data/measurements-h200-fixed-segments-holdout.json: 6 of the 19 configurations run
  // without expandable segments on 2026-12-04, split off by their ids' SHA-1 before any
  // prediction was read and evaluated once, after memory.fixed_segments_fraction was fitted to
  // the other 13: median 1.6 %; five within -1.7 .. +3.8 %; the 8B chunked-loss run 20.4 % low,
  // above the band (its fixed-segments excess is 0.24 of the allocated peak, the fitted share
  // 0.04: the chunked loss's many differently sized transients fragment fixed segments most).
  // Not refitted on it (docs/model.md section 7). Since the reserved peak holds every phase's
  // slack (2026-12-06) that run reads 11.8 % low, still above the band. Since autocast's
  // per-call casts are counted (2026-12-07), the one-GPU autocast run's allocated peak reads
  // -0.4 % (-3.9 % before) and its reserved one +7.4 % (+3.8 %): fixed segments' share on top.
  const auto v = validate_json("measurements-h200-fixed-segments-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 6);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(1.58).margin(0.1));
  CHECK(s.at("max_abs_error_pct").get<double>() == Approx(11.8).margin(0.2));
  CHECK(s.at("max_error_case") == "fakepg-h200-8b-w8-full-bf16-b1s8192-fullac-chunked");
  CHECK(s.at("upper_edge_coverage").get<double>() == Approx(5.0 / 6.0));
  for (const auto& c : v.at("cases")) {
    CHECK(c.at("predicted_verdict") == "fits"); // every one ran
  }
}

TEST_CASE("torchtitan's own Llama 3 8B on B200 (PR 1196): memory and tokens/s", "[validation]") {
  // tests/data/measurements-b200-pr1196.json: the two log lines of torchtitan PR 1196 (May 2025,
  // 8 B200, FSDP 8, op-level SAC, eager, 1 x 8192), FlashAttention-2 before and cuDNN attention
  // after. Read after bwplan's estimates (not held aside; nothing fitted): the reserved peaks
  // 6.4 % and 10.7 % high (one estimate for both: bwplan gives the two kernels the same memory,
  // the run held 1.8 GiB less with cuDNN), tokens/s 5.6 % and 10.8 % fast, all inside the bands.
  // Unlike the agent-written Qwen3-14B branches (40-60 % fast), torchtitan's own B200 runs read
  // as the H100 ones do.
  const auto v = validate_json("measurements-b200-pr1196.json");
  check_peaks_inside_band(v, 2, 8.59, 10.74, 0); // both read high
  const auto& s = v.at("summary");
  CHECK(s.at("throughput_cases") == 2);
  CHECK(s.at("throughput_median_abs_error_pct").get<double>() == Approx(8.2).margin(0.2));
  CHECK(s.at("throughput_band_coverage").get<double>() == 1.0);
  for (const auto& c : v.at("cases")) {
    CHECK(c.at("predicted_verdict") == "fits");
    CHECK(c.at("predicted_tokens_per_second_per_gpu").get<double>() >
          c.at("measured_tokens_per_second_per_gpu").get<double>()); // both read fast
  }
  // The faster kernel reads faster: cuDNN's row above FlashAttention-2's, as measured.
  CHECK(v.at("cases")[1].at("predicted_tokens_per_second_per_gpu").get<double>() >
        v.at("cases")[0].at("predicted_tokens_per_second_per_gpu").get<double>());
}

TEST_CASE("torchtitan PR 533's GPT-2-sized runs, held aside, as evaluated and since",
          "[validation]") {
  // tests/data/measurements-oomreports-holdout.json: a Llama 3-architecture model cut to GPT-2
  // size (dim 768, 12 layers, vocab 128,256) without checkpointing on 4 H100 96 GB, August 2024,
  // collected 2026-12-04 by a helper that never saw a prediction, committed, then evaluated once:
  // micro-batch 5 compiled +5.4 % (fits) and eager +5.2 % (at_risk, it ran at 91 % of the GPU),
  // the compiled micro-batch 6 that ran out of memory at_risk, and the 16-chunk compiled loss
  // run +49.1 %, called out_of_memory though it ran at 72.30 GiB: bwplan kept every chunk's
  // logits beside all their gradients. Since each chunk's compiled loss backward frees its logits
  // as it makes their gradient (docs/model.md section 4): +22.7 % (its allocated estimate 80.4 GiB
  // with the fixed segments' share on top), at_risk.
  const auto v = validate_json("measurements-oomreports-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 3);
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 0);
  CHECK(s.at("fit_cases") == 1);
  CHECK(s.at("oom_flagged_fraction").get<double>() == 1.0);
  CHECK(s.at("throughput_cases") == 3);
  CHECK(s.at("throughput_band_coverage").get<double>() == Approx(2.0 / 3.0));
  for (const auto& c : v.at("cases")) {
    const std::string id = c.at("id");
    INFO(id);
    if (id.find("chunked16") != std::string::npos) {
      CHECK(c.at("error_pct").get<double>() == Approx(22.7).margin(0.1));
      CHECK(c.at("predicted_verdict") == "at_risk");
    } else if (id.find("b5s8192-compiled") != std::string::npos) {
      CHECK(c.at("error_pct").get<double>() == Approx(5.4).margin(0.1));
      CHECK(c.at("predicted_verdict") == "fits");
    } else if (id.find("b5s8192-eager") != std::string::npos) {
      CHECK(c.at("error_pct").get<double>() == Approx(5.2).margin(0.1));
      CHECK(c.at("predicted_verdict") == "at_risk");
      // The estimate reads 28.7 % below the measured tokens/s, its compiled twin's 6.2 % above:
      // bwplan prices eager's extra traffic higher than it ran (docs/time-model.md section 6).
      CHECK(c.at("throughput_error_pct").get<double>() == Approx(-28.7).margin(0.2));
    } else {
      CHECK(c.at("predicted_verdict") == "at_risk"); // the out-of-memory micro-batch 6
    }
  }
}

TEST_CASE("the first B300 runs, Megatron-Bridge's, held aside: read as Megatron-Core",
          "[validation][megatron]") {
  // tests/data/measurements-b300-holdout.json: three rows of NVIDIA Megatron-Bridge's
  // performance summary on DGX-B300 (Qwen3-30B-A3B over 8 GPUs with ep 8 in MXFP8 at two
  // releases, gpt-oss-120b over 64 with ep 8 in bf16; no checkpointing), collected 2026-12-04 by
  // a helper that never saw a prediction, committed, then evaluated once as trainer `other`:
  // both Qwen3-30B-A3B runs, which ran, were called out_of_memory (366.4 GiB against 267.8
  // usable: 271 GiB of torchtitan's mixture activations at 32,768 tokens), gpt-oss-120b at_risk;
  // tokens/s 28 % and 25 % below the measured, gpt-oss-120b 69 %. Relabelled `megatron` when
  // bwplan gained Megatron-Core's layers (docs/model.md, "Megatron-Core"): Qwen3-30B-A3B's
  // estimate, 250.1 GiB, fits (at_risk: the band's upper edge does not), gpt-oss-120b fits; the
  // fewer saved bytes are less traffic too (tokens/s 22 % and 19 % below). Since Megatron
  // reduces gradients and gathers parameters once per step, not per micro-batch
  // (reduces_once_per_step(), gathers_once_per_step()): gpt-oss-120b's 5 micro-batches do one
  // reduce-scatter and one all-gather over EFA: 69 % -> 34 % below (still outside the band; read
  // in fp32, Megatron-LM's default, where this recipe reduces in bf16: 28 % below), and its
  // estimate holds the whole fp32 gradient buffer from the second micro-batch (228.2 GiB, upper
  // edge 293.7 of 267.8 usable: at_risk); Qwen3-30B-A3B 21 % and 17 % below. Since the cases say
  // so with `reduce_dtype` bf16 (2026-12-05; their notes recorded grad_reduce_in_fp32=False at
  // collection): gpt-oss-120b 28 % below, inside the band, and fits (a bf16 buffer).
  check_runs_that_ran(
      validate_json("measurements-b300-holdout.json"), 3,
      [](const std::string& id) { return id.find("gpt-oss-120b") != std::string::npos; }, 20.5,
      27.9, 1.0);
}

TEST_CASE("Megatron-Bridge's Qwen3-30B-A3B on GB200, B200 and H100, held aside",
          "[validation][megatron]") {
  // tests/data/measurements-megatron-holdout.json: 12 rows of the same performance summary at
  // five releases (4 configurations: 8 GB200 or 8 B200 at micro-batch 4, 8 B200 at 1, 16 H100
  // over 2 nodes with ep 16 at 1), collected blind and committed (abebe0a) before one evaluation
  // as trainer `other`: 8 that ran were called out_of_memory (221.5 GiB needed of 178.3), 2
  // at_risk, 2 fits. As `megatron` none is out_of_memory: micro-batch 4 needs 165.4 GiB (at_risk:
  // its upper edge, 45 % above while expert parallelism had no measured peak, 23 % above since
  // that widening is set on the 15 measured peaks under ep, is still 203 GiB, 216 since it is
  // set on 16), the H100 run 64.3 GiB of 78.9 (at_risk until then, fits at the widening of 0.17
  // set on 15 peaks, at_risk again at 0.25, set on 16; fits at 0.12, the rule's widening since
  // the reserved peak holds every phase's slack, 2026-12-06), micro-batch 1 on B200 fits.
  // 16 H100 over two nodes read 43 % below the measured (outside the band): bwplan's all-to-all
  // crosses the nodes exposed; the preset turns Megatron's overlap off (docs/time-model.md §6).
  // Reducing and gathering once per step, as Megatron does: median 9.6 % -> 6.7 %, the H100 runs
  // 43.7 % -> 40.4 % below.
  check_runs_that_ran(
      validate_json("measurements-megatron-holdout.json"), 12,
      [](const std::string& id) {
        return id.find("h100x16") != std::string::npos ||
               (id.find("b200x8") != std::string::npos &&
                id.find("-b1s") != std::string::npos); // H100, and B200 at micro-batch 1
      },
      6.7, 40.4, 10.0 / 12.0);
}

TEST_CASE("torchao's torchtitan runs of 2025, held aside, hold what their one evaluation showed",
          "[validation]") {
  // tests/data/measurements-outcomes-holdout.json: five logged peaks of torchtitan's Llama 3 8B on
  // 8 H100 96 GB at 1 x 8192 tokens, op-level SAC, compiled, from the test plans of pytorch/ao PRs
  // 1718 (FSDP 4 x TP 2 in bf16, float8 tensorwise and rowwise, February 2025) and 2594/2595
  // (FSDP 8, float8 tensorwise with fp8 all-gather and rowwise, July 2025). A helper looked for
  // fit and out-of-memory outcomes and found none it could pin down; it collected these blind,
  // committed them (90a2f0b), and they were evaluated once with no model change: the tensor-
  // parallel runs 6.8-6.9 % low, the FSDP 8 runs 0.3 and 0.6 % low, all inside the band; tokens/s
  // of the July runs 10.3 and 10.7 % slow, inside. Since the reserved peak holds every phase's
  // slack (2026-12-06) the FSDP 8 runs read 3.0 and 3.2 % high; since op-level SAC under tensor
  // parallelism keeps the gathered inputs (2026-12-07) the tensor-parallel ones 4.4 % high.
  const auto v = validate_json("measurements-outcomes-holdout.json");
  check_peaks_inside_band(v, 5, 4.4, 4.4, 0);
  check_throughput(v, 2, 10.5, 0.2, 1.0);
}

TEST_CASE("torchtitan PR 2679's expert-parallel run, held aside: above the edge it was held to",
          "[validation]") {
  // tests/data/measurements-ep-holdout.json: Qwen3-30B-A3B through torchtitan's transformers
  // modeling backend (head_dim 64), FSDP 8 x ep 8, op-level SAC, 2 x 2048 tokens on 8 H100 96 GB,
  // step 500 of a run whose peak grew from 56.95 GiB at step 1 as routing drifted. Collected blind
  // (84eac3c) after the expert-parallel widening was set on 14 peaks (0.15), evaluated once: 27.3 %
  // above the estimate, 1.3 % above that upper edge. The widening is then set on all 15 (0.17).
  // Since the reserved peak holds every phase's slack (2026-12-06) it reads 4.6 % low: its
  // allocated peak is in the backward, but the forward's end with the stream pools and the
  // previous step's gradients cached beside it reserved more.
  const auto v = validate_json("measurements-ep-holdout.json");
  REQUIRE(v.at("cases").size() == 1);
  const auto& c = v.at("cases")[0];
  CHECK(c.at("error_pct").get<double>() == Approx(-4.6).margin(0.1)); // measured 1.048 x
  CHECK(c.at("measured_bytes").get<double>() <= c.at("predicted_high_bytes").get<double>());
  CHECK(c.at("predicted_verdict") == "fits"); // 78.57 GiB of 95: it ran
}

TEST_CASE("fully checkpointed mixtures, held aside, hold what their one evaluation showed",
          "[validation][moe]") {
  // tests/data/measurements-moe-fullac-holdout.json: prime-rl's Qwen3-30B-A3B on 8 B200 (ep 1,
  // compiled blocks, full recompute: RL steps at 16k and 64k tokens and SFT at 16k, FlashAttention
  // 2 and 4), LambdaLabs' eager gpt-oss-20b ladder (1, 3, 16 and 24 x 8192 tokens) and their
  // gpt-oss-120b at ep 8 (3 x 8192), collected blind by a helper and committed (36b0acf) before
  // one evaluation, the first test of reading compiled full checkpointing at ep 1 with no mixture
  // term (2026-12-05): median |error| 8.2 %, 8 of 11 at or under the upper edge. Above it: the two
  // prime-rl RL steps at 16k tokens (read 8.2 and 9.2 % low, 2-3 % above the edge) and
  // gpt-oss-120b at ep 8 (read 24.9 % low, 6 % above the edge). The expert-parallel widening, reset
  // on all 16 peaks under ep by its rule, now holds the last (0.17 -> 0.25). Tokens/s: 5 rows,
  // 13.1 %, all inside the band. Since the reserved peak holds every phase's slack (2026-12-06):
  // median 6.7 %, all 11 under the edge (the 16k RL steps -3.9 and -5.0 %, gpt-oss-120b -15.5 %).
  const auto v = validate_json("measurements-moe-fullac-holdout.json");
  const auto& s = v.at("summary");
  CHECK(s.at("numeric_cases") == 11);
  CHECK(s.at("median_abs_error_pct").get<double>() == Approx(6.72).margin(0.1));
  CHECK(s.at("max_error_case") ==
        "lambda-gptoss120b-b200x8-fsdp8-ep8-fullac-b3s8192-eager-bf16pure");
  CHECK(s.at("upper_edge_coverage").get<double>() == 1.0);
  CHECK(s.at("ran_called_out_of_memory") == 0);
  check_throughput(v, 5, 12.5, 0.1, 1.0); // 12.5 % since gqa_kv (2026-12-06; 13.1 % before)
}
