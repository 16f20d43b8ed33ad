// `bwplan calibrate`: SHA-256, torchtitan's log lines, the regularised fit against a
// hand-derived Gauss-Newton step, identifiability, the profile's round trip and bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "bwplan/calibration.hpp"
#include "bwplan/calibration_profile.hpp"
#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "bwplan/measurements.hpp"
#include "bwplan/sha256.hpp"
#include "bwplan/train_log.hpp"
#include "emit_support.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

// torchtitan's Color (pytorch/torchtitan@73a0e6979dd10b6b1904098eb3c8f62c18ab87ce,
// torchtitan/tools/utils.py) and its metric line (torchtitan/components/metrics.py).
const std::string red = "\033[31m", green = "\033[32m", blue = "\033[34m", cyan = "\033[36m",
                  magenta = "\033[35m", reset = "\033[39m", orange = "\033[38;2;180;60;0m",
                  turquoise = "\033[38;2;54;234;195m";

std::string metric_line(int step, const char* gib, const char* tps) {
  return "[rank0]:[titan] 2026-11-30 10:00:00,000 - root - INFO - " + red +
         "step: " + (step < 10 ? " " : "") + std::to_string(step) + "  " + green +
         "loss: 10.84375  " + orange + "grad_norm:  1.2345  " + turquoise + "memory: " + gib +
         "GiB(52.19%)  " + blue + "tps: " + tps + "  " + cyan + "tflops: 344.87  " + magenta +
         "mfu: 34.87%" + reset + "\n";
}

std::string header(long long local, long long global, int accum, int seq) {
  return "[rank0]:[titan] 2026-11-30 09:59:00,000 - root - INFO - Trainer is initialized with "
         "local batch size " +
         std::to_string(local) + ", global batch size " + std::to_string(global) +
         ", gradient accumulation steps " + std::to_string(accum) + ", sequence length " +
         std::to_string(seq) + ", total steps 30 (warmup 2)\n";
}

MeasurementCase case_of(const ModelConstants& k, double activation_scale, std::int64_t seq_len) {
  MeasurementCase mc;
  mc.id = "synthetic-" + std::to_string(seq_len);
  mc.source = "tests/test_calibration.cpp";
  mc.request.model = test::preset("llama-3.1-8b");
  mc.request.gpu = test::catalog().gpu("b200");
  mc.request.config = test::fsdp_config(8, ActivationCheckpointing::none);
  mc.request.config.seq_len = seq_len;
  // The fit's arithmetic, not the allocator: on a B200 the reserved peak is never capped (the
  // 16384-token run at activation scale 1.2 holds 157.9 GiB of 178.35 with fixed segments; on
  // an H100, or with expandable segments, a pressed allocator would return its free pools).
  mc.request.config.alloc_segments = AllocSegments::fixed;
  mc.metric = Metric::peak_reserved;
  ModelConstants truth = k;
  set_constant(truth, "memory.activation_scale", activation_scale);
  mc.value_bytes =
      estimate_memory(mc.request.model, mc.request.config, mc.request.gpu, truth.memory)
          .peak_reserved_bytes;
  return mc;
}

double log_error(const MeasurementCase& mc, const ModelConstants& k) {
  const auto& r = mc.request;
  return std::log(estimate_memory(r.model, r.config, r.gpu, k.memory).peak_reserved_bytes /
                  mc.value_bytes);
}

} // namespace

TEST_CASE("sha256_hex matches FIPS 180-4's examples", "[calibration]") {
  CHECK(io::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(io::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(io::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("torchtitan's metric lines: peak reserved, steady tokens/s, the header",
          "[calibration]") {
  const std::string text = "[rank0]:[titan] ... - root - INFO - Starting job\n" +
                           header(2, 16, 1, 8192) + metric_line(1, "40.12", "1,234") +
                           metric_line(10, "49.58", "5,957") + metric_line(20, "49.50", "6,001") +
                           metric_line(30, "49.58", "5,901");
  const TrainLog log = parse_train_log(text, "train.log");
  CHECK(log.peak_reserved_bytes == 49.58 * 1024 * 1024 * 1024);
  CHECK(log.peak_step == 10); // the first of the two equal maxima
  CHECK(log.warmup_step == 1);
  CHECK(log.steady_steps == std::vector<std::int64_t>{10, 20, 30});
  CHECK(log.tokens_per_s_per_gpu == 5957.0); // median of 5957, 6001, 5901; step 1 left out
  CHECK(log.local_batch == 2);
  CHECK(log.global_batch == 16);
  CHECK(log.grad_accum == 1);
  CHECK(log.seq_len == 8192);
}

namespace {

// torchtune's log_dict line (pytorch/torchtune@a6290a5b40758f13bca61c386bc8756a49ef417e,
// torchtune/training/metric_logging.py; recipes/full_finetune_distributed.py): "Step N | " then
// "name:value " per metric, tokens/s per GPU as a 0-d tensor, memory in GiB when logged.
std::string torchtune_line(int step, const char* tps, const char* reserved) {
  std::string s = "Step " + std::to_string(step) +
                  " | loss:1.0493 lr:2e-05 tokens_per_second_per_gpu:tensor(" + tps +
                  ", device='cuda:0') ";
  if (reserved != nullptr) {
    s += std::string("peak_memory_active:30.1 peak_memory_alloc:30.2 peak_memory_reserved:") +
         reserved + " ";
  }
  return s + "grad_norm:tensor(0.8125, device='cuda:0') \n";
}

// Megatron-LM's training_log and report_memory lines, and its argument list
// (NVIDIA/Megatron-LM@0d7e02bd26d3eb347ad8d1bef625002babfa6df7, megatron/training/training.py,
// utils.py, arguments.py).
std::string megatron_line(int iteration, const char* ms, int global_batch) {
  return "[rank15]: [2026-11-30 10:00:00] iteration " +
         std::string(iteration < 10 ? "       " : "      ") + std::to_string(iteration) +
         "/     100 | consumed samples:          640 | elapsed time "
         "per iteration (ms): " +
         ms +
         " | throughput per GPU (TFLOP/s/GPU): 612.3 | learning "
         "rate: 3.000000E-04 | global batch size:    " +
         std::to_string(global_batch) +
         " | lm loss: 7.512345E+00 | loss scale: 1.0 | grad norm: 1.234 | number of skipped "
         "iterations:   0 | number of nan iterations:   0 |\n";
}

std::string megatron_arg(const std::string& key, const std::string& value) {
  return "  " + key + " " + std::string(48 - key.size(), '.') + " " + value + "\n";
}

} // namespace

TEST_CASE("torchtune's and Megatron-LM's metric lines", "[calibration]") {
  const std::string tune =
      "Writing logs to /opt/ml/output/log_1764500000.txt\n" + torchtune_line(1, "812.5", "40.10") +
      torchtune_line(2, "2101.0", "44.25") + torchtune_line(3, "2099.5", "44.31") +
      torchtune_line(4, "2150.0", "44.20");
  const TrainLog t = parse_train_log(tune, "tune.log");
  CHECK(t.format == LogFormat::torchtune);
  CHECK(t.peak_reserved_bytes == 44.31 * 1024 * 1024 * 1024);
  CHECK(t.peak_step == 3);
  CHECK(t.tokens_per_s_per_gpu == 2101.0); // median of 2101, 2099.5, 2150; step 1 left out
  CHECK(steady_tokens_per_s_per_gpu(t, 4096, 8) == 2101.0);
  // Without log_peak_memory_stats: no memory figure, so the run only says the plan fitted.
  const TrainLog bare = parse_train_log(
      torchtune_line(1, "800", nullptr) + torchtune_line(2, "2000", nullptr), "bare.log");
  CHECK(bare.peak_reserved_bytes == 0);
  CHECK(bare.tokens_per_s_per_gpu == 2000.0);

  const std::string mega =
      "------------------------ arguments ------------------------\n" +
      megatron_arg("context_parallel_size", "1") + megatron_arg("expert_model_parallel_size", "1") +
      megatron_arg("global_batch_size", "64") +
      megatron_arg("hierarchical_context_parallel_sizes", "None") +
      megatron_arg("micro_batch_size", "1") + megatron_arg("pipeline_model_parallel_size", "2") +
      megatron_arg("seq_length", "8192") + megatron_arg("tensor_model_parallel_size", "4") +
      megatron_arg("world_size", "16") +
      "-------------------- end of arguments ---------------------\n" +
      megatron_line(10, "9120.4", 64) +
      "[Rank 0] (after 10 iterations) memory (MB) | allocated: 40960.5 | max allocated: "
      "61440.25 | reserved: 63488.0 | max reserved: 65536.0\n" +
      "[Rank 8] (after 10 iterations) memory (MB) | allocated: 30000.0 | max allocated: "
      "50000.0 | reserved: 52000.0 | max reserved: 53248.0\n" +
      megatron_line(20, "4200.0", 64) + megatron_line(30, "4100.0", 64) +
      megatron_line(40, "4300.0", 64);
  const TrainLog m = parse_train_log(mega, "megatron.log");
  CHECK(m.format == LogFormat::megatron);
  CHECK(m.peak_reserved_bytes == 64.0 * 1024 * 1024 * 1024); // 65536 MB on rank 0
  CHECK(m.peak_step == 10);
  CHECK(m.warmup_step == 10);
  CHECK(m.steady_steps == std::vector<std::int64_t>{20, 30, 40});
  CHECK(m.step_seconds == 4.2);
  CHECK(m.global_batch == 64);
  CHECK(m.micro_batch == 1);
  CHECK(m.seq_len == 8192);
  CHECK(m.world_size == 16);
  CHECK(m.tp == 4);
  CHECK(m.pp == 2);
  CHECK(m.cp == 1);
  CHECK(m.ep == 1);
  // 64 sequences x 8192 tokens in 4.2 s over 16 GPUs
  CHECK(steady_tokens_per_s_per_gpu(m, 8192, 16) == Approx(64.0 * 8192 / (4.2 * 16)));

  CHECK_THROWS_WITH(
      parse_train_log(megatron_line(10, "9000", 64) + torchtune_line(2, "1", "2"), "mixed.log"),
      Catch::StartsWith("mixed.log:2: a torchtune metric line in a Megatron-LM log"));
  CHECK_THROWS_WITH(parse_train_log(megatron_line(10, "9000", 32) + megatron_line(20, "9000", 32) +
                                        megatron_line(30, "9000", 64),
                                    "ramp.log"),
                    Catch::StartsWith("ramp.log:3: global batch size 64 after 32"));
  // Found by fuzz_train_log: a zero batch in the argument list made tokens/s 0.
  CHECK_THROWS_WITH(
      parse_train_log(megatron_arg("global_batch_size", "0") + megatron_line(10, "9000", 64),
                      "zero.log"),
      Catch::StartsWith("zero.log:1: global_batch_size 0 (allowed 1 and more)"));
  CHECK_THROWS_WITH(
      parse_train_log(torchtune_line(1, "812.5", "40.10") + torchtune_line(2, "n/a", "40.10"),
                      "t.log"),
      Catch::StartsWith("t.log:2: 'tokens_per_second_per_gpu:' is not followed"));
}

TEST_CASE("an unreadable log is an error naming the file and line", "[calibration]") {
  CHECK_THROWS_WITH(parse_train_log("hello\nworld\n", "a.log"),
                    Catch::StartsWith("a.log: has no metric lines"));
  CHECK_THROWS_WITH(parse_train_log(metric_line(1, "40.12", "1,234"), "b.log"),
                    Catch::Contains("b.log: has one metric line (step 1), which is warm-up"));
  CHECK_THROWS_WITH(
      parse_train_log(metric_line(1, "40.12", "1,234") + metric_line(10, "40.12", "n/a"), "c.log"),
      Catch::StartsWith("c.log:2: 'tps:' is not followed by a number"));
  CHECK_THROWS_WITH(parse_train_log(metric_line(1, "0x30", "1,234"), "hex.log"),
                    Catch::StartsWith("hex.log:1: 'memory:' is not followed by a number"));
  CHECK_THROWS_WITH(
      parse_train_log(metric_line(1, "40.12", "1,234") + metric_line(10, "40.12", "5,000") +
                          "[rank0]: Trainer is initialized with local batch size 1\n" +
                          metric_line(11, "40.12", "1,234"),
                      "e.log"),
      Catch::StartsWith("e.log:3: a second run starts here"));
  // two runs in one file (a resumed job logs its steps again): not one run's tokens/s
  CHECK_THROWS_WITH(
      parse_train_log(metric_line(1, "40.12", "1,234") + metric_line(10, "40.12", "5,000") +
                          metric_line(1, "40.12", "1,234") + metric_line(10, "40.12", "4,000"),
                      "d.log"),
      Catch::StartsWith("d.log:3: step 1 after step 10"));
  for (const char* tps : {"5,,957", ",5990,", "59,57", "1,2345"}) {
    INFO(tps);
    CHECK_THROWS_WITH(
        parse_train_log(metric_line(1, "40.12", "1,234") + metric_line(10, "40.12", tps), "d.log"),
        Catch::StartsWith("d.log:2: 'tps:' is followed by '") &&
            Catch::Contains("whose thousands separators are misplaced (allowed: a comma between "
                            "groups of three digits, as in 5,957)"));
  }
  CHECK(parse_train_log(metric_line(1, "40.12", "1,234") + metric_line(10, "40.12", "1,234,567"),
                        "e.log")
            .tokens_per_s_per_gpu == 1234567.0);
  // Two ranks' lines run together on one line: the first 'tps:' would be taken silently.
  std::string joined = metric_line(10, "40.12", "5,000");
  joined.pop_back(); // the newline
  joined += " " + metric_line(10, "40.12", "9,000");
  CHECK_THROWS_WITH(parse_train_log(metric_line(1, "40.12", "1,234") + joined, "j.log"),
                    Catch::StartsWith("j.log:2: 'tps:' appears twice on one line"));
}

TEST_CASE("the fit equals the regularised Gauss-Newton step computed by hand", "[calibration]") {
  // Three runs whose stack saves 20 % more activations than the model. Two memory constants
  // are identified (the runs' activations differ, so a fixed amount is told apart): the fit of
  // x = (activation_scale, fixed_bytes) minimises sum r_i^2 + w sum ((x_j - x0_j) / s_j)^2 with
  // r_i nearly linear in x, so the step solves (J^T J + W) d = -J^T r, J from finite differences.
  const ModelConstants k = test::catalog().constants;
  const std::vector<MeasurementCase> cases = {case_of(k, 1.2, 4096), case_of(k, 1.2, 8192),
                                              case_of(k, 1.2, 16384)};
  const FreeConstant& fa = k_free_constants[0];
  const FreeConstant& fb = k_free_constants[2];
  REQUIRE(fa.key == "memory.activation_scale");
  REQUIRE(fb.key == "memory.fixed_bytes");
  const double ha = 0.01, hb = 1e9; // fixed bytes: a forward difference from its bound 0
  double a11 = 0, a12 = 0, a22 = 0, b1 = 0, b2 = 0;
  for (const MeasurementCase& mc : cases) {
    ModelConstants up = k, down = k, more = k;
    set_constant(up, "memory.activation_scale", 1.0 + ha);
    set_constant(down, "memory.activation_scale", 1.0 - ha);
    set_constant(more, "memory.fixed_bytes", hb);
    const double g1 = (log_error(mc, up) - log_error(mc, down)) / (2 * ha);
    const double g2 = (log_error(mc, more) - log_error(mc, k)) / hb;
    const double r = log_error(mc, k);
    a11 += g1 * g1;
    a12 += g1 * g2;
    a22 += g2 * g2;
    b1 -= g1 * r;
    b2 -= g2 * r;
  }
  a11 += k_calibration_prior_weight / (fa.prior_scale * fa.prior_scale);
  a22 += k_calibration_prior_weight / (fb.prior_scale * fb.prior_scale);
  const double det = a11 * a22 - a12 * a12;
  const double hand_a = 1.0 + (b1 * a22 - b2 * a12) / det;
  const double hand_b = (a11 * b2 - a12 * b1) / det;
  const Calibration cal = calibrate(cases, k);
  const auto fitted = [&](const FreeConstant& f) {
    const auto it = std::find_if(cal.fitted.begin(), cal.fitted.end(),
                                 [&](const FittedConstant& c) { return c.key == f.key; });
    REQUIRE(it != cal.fitted.end());
    return it->fitted;
  };
  INFO("hand " << hand_a << ", " << hand_b << " fitted " << fitted(fa) << ", " << fitted(fb));
  // The soft-L1 loss is r^2 to within 1 % at these errors (|r| < 0.1 = 2 scales: 2.5 % off), and
  // the model is nearly linear in both: the two agree to 0.02 and 1 GB (a fortieth of the fixed
  // bytes' prior scale, as 0.02 is an eighth of the scale's).
  CHECK(hand_b > 0); // inside the bound: the unconstrained step is the constrained one
  CHECK(std::abs(fitted(fa) - hand_a) < 0.02);
  CHECK(std::abs(fitted(fb) - hand_b) < 1e9);
  CHECK(hand_a > 1.0);
  CHECK(hand_a < 1.2); // pulled toward the shipped 1
  CHECK(cal.memory.after.median_abs_pct < cal.memory.before.median_abs_pct / 3);
  REQUIRE(cal.runs.size() == 3);
  for (const CalibratedRun& r : cal.runs) {
    CHECK(r.leave_one_out != r.after); // refitted without the run
  }
}

TEST_CASE("runs that match the shipped model leave every constant where it was", "[calibration]") {
  const ModelConstants k = test::catalog().constants;
  const Calibration cal = calibrate({case_of(k, 1.0, 4096), case_of(k, 1.0, 8192)}, k);
  REQUIRE_FALSE(cal.fitted.empty());
  for (const FittedConstant& f : cal.fitted) {
    INFO(f.key);
    CHECK(f.fitted == Approx(f.shipped).margin(1e-3));
  }
}

TEST_CASE("what the runs cannot identify is refused with the kind of run it needs",
          "[calibration]") {
  const ModelConstants k = test::catalog().constants;
  // Memory only, one node: no time constant has data; equal-shape runs cannot separate the
  // memory constants that scale the same tensors.
  const Calibration cal = calibrate({case_of(k, 1.1, 8192)}, k);
  auto reason = [&](std::string_view key) {
    for (const UnfittedConstant& u : cal.not_fitted) {
      if (u.key == key) {
        return u.reason;
      }
    }
    return std::string("(fitted)");
  };
  CHECK_THAT(reason("time.matmul_efficiency_max"),
             Catch::StartsWith("no run measured tokens/s: needs tokens/s runs at short"));
  CHECK_THAT(reason("time.inter_node_bus_fraction"), Catch::StartsWith("no run measured"));
  CHECK(cal.not_fitted.size() + cal.fitted.size() == k_free_constants.size());
}

TEST_CASE("more runs than a calibration takes are refused up front", "[calibration]") {
  const ModelConstants k = test::catalog().constants;
  const std::vector<MeasurementCase> many(k_max_calibration_cases + 1, case_of(k, 1.0, 4096));
  CHECK_THROWS_WITH(calibrate(many, k), "calibrate takes at most 200 runs (got 201): give the "
                                        "runs of the stack and hardware to calibrate for");
}

namespace {

/// Two runs whose stack saves 20 % more activations than the model, calibrated and banded, and
/// the profile calibrate writes for them.
struct BandedProfile {
  ModelConstants k;
  ModelConstants banded;
  std::string text;
};

BandedProfile banded_profile() {
  BandedProfile p;
  p.k = test::catalog().constants;
  const Calibration cal = calibrate({case_of(p.k, 1.2, 4096), case_of(p.k, 1.2, 8192)}, p.k);
  p.banded = cal.constants;
  apply_calibrated_bands(cal, p.banded);
  p.text = calibration_profile_json(cal, p.banded, {{"m.json", io::sha256_hex("x")}}).dump(2);
  return p;
}

} // namespace

TEST_CASE("a profile round-trips and bad profiles are refused naming the file", "[calibration]") {
  const BandedProfile profile = banded_profile();
  const ModelConstants& k = profile.k;
  const ModelConstants& banded = profile.banded;
  const std::string& text = profile.text;
  const CalibrationProfile p = parse_calibration_profile(text, "p.json");
  CHECK(p.sha256 == io::sha256_hex(text));
  ModelConstants got = k;
  apply_calibration_profile(p, got);
  for (const std::string& key : constant_keys()) {
    INFO(key);
    if (key != "memory.band_measured_seq_len") {
      CHECK(get_constant(got, key) == get_constant(banded, key));
    }
  }
  // The memory constants were fitted on B200 runs of up to 8192 tokens: outside that, the
  // memory band widens; the time band's coverage (nothing fitted) stays the shipped one.
  CHECK(got.memory.band_measured_seq_len == 8192);
  CHECK(got.memory.band_measured_gpus == std::vector<std::string>{"b200"});
  CHECK(got.time.band_measured_gpus == k.time.band_measured_gpus);

  auto doc = nlohmann::json::parse(text);
  doc["schema_version"] = 2;
  CHECK_THROWS_WITH(parse_calibration_profile(doc.dump(), "p.json"),
                    Catch::StartsWith("p.json: /schema_version: 2 was written by a newer bwplan"));
  doc = nlohmann::json::parse(text);
  doc["kind"] = "estimate";
  CHECK_THROWS_WITH(parse_calibration_profile(doc.dump(), "p.json"),
                    Catch::StartsWith("p.json: /kind: 'estimate' is not a calibration"));
  doc = nlohmann::json::parse(text);
  doc["extra"] = 1;
  CHECK_THROWS_WITH(parse_calibration_profile(doc.dump(), "p.json"),
                    Catch::Contains("p.json") && Catch::Contains("extra"));
  doc = nlohmann::json::parse(text);
  doc["constants"][0]["fitted"] = 99.0;
  CHECK_THROWS_WITH(parse_calibration_profile(doc.dump(), "p.json"),
                    Catch::StartsWith("p.json: /constants/0/fitted: memory.activation_scale = 99 "
                                      "is outside the bounds calibrate fits it in"));
}

TEST_CASE("calibrate --run reads a Megatron-LM log of a pipelined plan, and a torchtitan one "
          "whose local batch is the pipeline's",
          "[calibration][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "bwplan-test-calibrate-pp";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string plan = (dir / "plan.json").string();
  // 16 GPUs as tp 4 x pp 2 leave 2 data-parallel ranks: 1 x 32 micro-batches x 2 = 64 sequences.
  const auto est = test::run_cli({"estimate",
                                  "--model",
                                  "llama-3.1-70b",
                                  "--instance",
                                  "ml.p6-b200.48xlarge",
                                  "--nodes",
                                  "2",
                                  "--tp",
                                  "4",
                                  "--pp",
                                  "2",
                                  "--micro-batch",
                                  "1",
                                  "--grad-accum",
                                  "32",
                                  "--seq-len",
                                  "8192",
                                  "--format",
                                  "json",
                                  "--output",
                                  plan});
  REQUIRE(est.status == 0);
  const auto args = [](const char* world) {
    return megatron_arg("global_batch_size", "64") + megatron_arg("micro_batch_size", "1") +
           megatron_arg("pipeline_model_parallel_size", "2") + megatron_arg("seq_length", "8192") +
           megatron_arg("tensor_model_parallel_size", "4") + megatron_arg("world_size", world);
  };
  const std::string lines = megatron_line(10, "9120.4", 64) +
                            "[Rank 0] (after 10 iterations) memory (MB) | allocated: 1.0 | max "
                            "allocated: 2.0 | reserved: 3.0 | max reserved: 143360.0\n" +
                            megatron_line(20, "30000.0", 64) + megatron_line(30, "29000.0", 64);
  const std::string good = (dir / "megatron.log").string(), other = (dir / "other.log").string();
  std::ofstream(good) << args("16") << lines;
  std::ofstream(other) << args("32") << lines;
  const std::string profile = (dir / "profile.json").string();
  const auto refused =
      test::run_cli({"calibrate", "--run", plan + "=" + other, "--output", profile});
  CHECK(refused.status == 1);
  CHECK_THAT(refused.err, Catch::Contains("other.log: world size is 32 but") &&
                              Catch::Contains("has 16: the log is not of this plan's run"));
  // the same log with CRLF line endings: its '\r' hid every argument and it was accepted
  std::string crlf;
  for (const char ch : args("32") + lines) {
    crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  }
  const std::string windows = (dir / "windows.log").string();
  std::ofstream(windows, std::ios::binary) << crlf;
  const auto refused_crlf =
      test::run_cli({"calibrate", "--run", plan + "=" + windows, "--output", profile});
  CHECK(refused_crlf.status == 1);
  CHECK_THAT(refused_crlf.err, Catch::Contains("windows.log: world size is 32 but"));
  const auto ok = test::run_cli(
      {"calibrate", "-v", "--run", plan + "=" + good, "--output", profile, "--format", "json"});
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  // 64 x 8192 tokens in 29.5 s (the median of 30 and 29) over 16 GPUs: 1,111 tokens/s per GPU
  // (a 70B model's 7,896, as this test first wrote it, would be 148 % of a B200's bf16 peak).
  CHECK_THAT(ok.err, Catch::Contains("megatron.log (Megatron-LM log): peak reserved 140.00 GiB "
                                     "(step 10); tokens/s per GPU 1111"));
  // A peak no B200 can hold (179.06 GiB) is not of this run: it fitted 56.7 GB of fixed bytes.
  const std::string over = (dir / "over.log").string();
  std::string over_lines = lines;
  over_lines.replace(over_lines.find("max reserved: 143360.0"), 22, "max reserved: 204800.0");
  std::ofstream(over) << args("16") << over_lines;
  const auto too_much =
      test::run_cli({"calibrate", "--run", plan + "=" + over, "--output", profile, "--force"});
  CHECK(too_much.status == 1);
  CHECK_THAT(too_much.err, Catch::Contains("over.log: the logged peak 200.00 GiB (step 10) is "
                                           "more than the b200's 179.06 GiB"));
  // PLAN.json#N picks a search document's N-th plan; an estimate holds one.
  const auto second =
      test::run_cli({"calibrate", "--run", plan + "#2=" + good, "--output", profile, "--force"});
  CHECK(second.status == 1);
  CHECK_THAT(second.err, Catch::Contains("plan.json: plan rank 2 asked of an estimate document"));
  // a plan file whose own name ends in '#...' is that file, not a rank of another
  std::filesystem::copy_file(plan, dir / "plan#2");
  const auto hashed = test::run_cli({"calibrate", "--run", (dir / "plan#2").string() + "=" + good,
                                     "--output", profile, "--force"});
  CHECK(hashed.status == 0);
  const auto zero =
      test::run_cli({"calibrate", "--run", plan + "#0=" + good, "--output", profile, "--force"});
  CHECK(zero.status == 2);
  CHECK_THAT(zero.err, Catch::Contains("'#0' is not a plan rank (allowed 1, 2, ...)"));
  const auto no_plan =
      test::run_cli({"calibrate", "--run", "#2=" + good, "--output", profile, "--force"});
  CHECK(no_plan.status == 2);
  CHECK_THAT(no_plan.err, Catch::Contains("expected PLAN.json[#N]=train.log"));
  // torchtitan under pp > 1: local batch = micro_batch x grad_accum, no accumulation outside.
  const std::string titan = (dir / "titan.log").string();
  std::ofstream(titan) << header(32, 64, 1, 8192) << metric_line(1, "130.00", "400")
                       << metric_line(10, "140.00", "1,100");
  std::filesystem::remove(profile);
  const auto pp = test::run_cli({"calibrate", "--run", plan + "=" + titan, "--output", profile});
  INFO(pp.err);
  CHECK(pp.status == 0);
}

TEST_CASE("calibrate --run pairs a plan with its log; a log of another run is refused and "
          "nothing is written",
          "[calibration][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "bwplan-test-calibrate";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string plan = (dir / "plan.json").string();
  const auto est = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--instance",
                                  "ml.p5e.48xlarge", "--micro-batch", "2", "--seq-len", "8192",
                                  "--format", "json", "--output", plan});
  REQUIRE(est.status == 0);
  const std::string good = (dir / "good.log").string(), bad = (dir / "bad.log").string();
  std::ofstream(good) << header(2, 16, 1, 8192) << metric_line(1, "50.00", "4,000")
                      << metric_line(10, "61.50", "5,957") << metric_line(20, "61.40", "5,990");
  std::ofstream(bad) << header(2, 16, 1, 4096) << metric_line(1, "50.00", "4,000")
                     << metric_line(10, "61.50", "5,957");
  const std::string profile = (dir / "profile.json").string();
  const std::string wider = (dir / "wider.log").string();
  std::ofstream(wider) << header(2, 32, 1, 8192) << metric_line(1, "50.00", "4,000")
                       << metric_line(10, "61.50", "5,957");
  const auto dp = test::run_cli({"calibrate", "--run", plan + "=" + wider, "--output", profile});
  CHECK(dp.status == 1);
  CHECK_THAT(dp.err, Catch::Contains("wider.log: global batch size is 32 but") &&
                         Catch::Contains("has 16 (micro_batch 2 x grad_accum 1 x 8 data-parallel "
                                         "GPUs)"));

  const auto refused = test::run_cli({"calibrate", "--run", plan + "=" + bad, "--output", profile});
  CHECK(refused.status != 0);
  CHECK_THAT(refused.err, Catch::Contains("bad.log: sequence length is 4096 but") &&
                              Catch::Contains("has 8192"));
  CHECK_FALSE(std::filesystem::exists(profile));

  const std::string report = (dir / "calibration.html").string();
  const auto ok = test::run_cli(
      {"calibrate", "--run", plan + "=" + good, "--output", profile, "--report", report});
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  // The page draws each figure before (hollow circle), after (filled) and left out (a cross).
  const std::string html = read_text_file(report);
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = html.find(what); at != std::string::npos; at = html.find(what, at + 1)) {
      ++n;
    }
    return n;
  };
  CHECK(count("<circle") == 4);
  CHECK(count("<title>left out") == 2);
  CHECK(count("(memory)</text>") == 1);
  CHECK(count("(tokens/s per GPU)</text>") == 1);
  const auto p = nlohmann::json::parse(std::ifstream(profile));
  CHECK(p.at("kind") == "calibration");
  CHECK(p.at("runs").size() == 2); // its memory and its tokens/s
  CHECK(p.at("runs")[0].at("measured") == 61.5 * 1024 * 1024 * 1024);
  CHECK(p.at("runs")[1].at("measured") == 5973.5); // median of the two steady lines
  CHECK(p.at("inputs").size() == 2);

  // The profile moves estimate's numbers; an existing --output is not replaced without --force.
  const auto base = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--instance",
                                   "ml.p5e.48xlarge", "--micro-batch", "2", "--format", "json"});
  const auto cal =
      test::run_cli({"estimate", "--model", "llama-3.1-8b", "--instance", "ml.p5e.48xlarge",
                     "--micro-batch", "2", "--format", "json", "--calibration", profile});
  REQUIRE(cal.status == base.status);
  CHECK(cal.out != base.out);
  const auto again = test::run_cli({"calibrate", "--run", plan + "=" + good, "--output", profile});
  CHECK(again.status != 0);

  // Outputs name the profile; check tells a plan made with another profile (or none).
  const std::string sha = io::sha256_hex(read_text_file(profile));
  CHECK(nlohmann::json::parse(cal.out).at("calibration").at("sha256") == sha);
  CHECK_FALSE(nlohmann::json::parse(base.out).contains("calibration"));
  const std::string calibrated_plan = (dir / "calibrated-plan.json").string();
  std::ofstream(calibrated_plan) << cal.out;
  const auto same = test::run_cli(
      {"check", "--plan", calibrated_plan, "--calibration", profile, "--format", "json"});
  INFO(same.err);
  const auto same_doc = nlohmann::json::parse(same.out);
  CHECK(same_doc.at("calibration_matches_plan") == true);
  CHECK(same_doc.at("plan_calibration_sha256") == sha);
  const auto other = test::run_cli({"check", "--plan", calibrated_plan, "--format", "json"});
  CHECK(nlohmann::json::parse(other.out).at("calibration_matches_plan") == false);
  CHECK_THAT(other.err, Catch::Contains("the plan was made with calibration profile sha256 " +
                                        sha.substr(0, 12) + "; this check uses none"));
  // emit says so too: its README's figures are today's evaluation, here the uncalibrated one
  // (without base_args' -q, which keeps warnings off stderr)
  auto loud = test::base_args(calibrated_plan, dir / "launch");
  loud.erase(std::find(loud.begin(), loud.end(), "-q"));
  const auto emitted = test::run_cli(loud);
  INFO(emitted.err);
  CHECK(emitted.status == 0);
  CHECK_THAT(emitted.err,
             Catch::Contains("the plan was made with calibration profile sha256 " +
                             sha.substr(0, 12) + "; these launch files' README uses none"));
  loud = test::base_args(calibrated_plan, dir / "launch-calibrated");
  loud.erase(std::find(loud.begin(), loud.end(), "-q"));
  const auto calibrated_emit = test::run_cli(test::with(loud, {"--calibration", profile}));
  CHECK(calibrated_emit.status == 0);
  CHECK_THAT(calibrated_emit.err, !Catch::Contains("the plan was made"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("calibrating on the shipped torchtitan runs keeps their errors within the shipped "
          "model's",
          "[calibration]") {
  const std::string file = test::source_path("tests/data/measurements.json");
  const auto cases = parse_measurements(read_text_file(file), file, test::catalog());
  REQUIRE(cases.size() == 20);
  const Calibration cal = calibrate(cases, test::catalog().constants);
  CHECK(cal.memory.after.median_abs_pct <= cal.memory.before.median_abs_pct);
  CHECK(cal.throughput.after.median_abs_pct <= cal.throughput.before.median_abs_pct);
  CHECK(cal.memory.leave_one_out.median_abs_pct <= 5.0);
  CHECK(cal.fit_right_after == cal.fit_right_before);
  // The shipped time constants were fitted on every dense tokens/s row; these 20 alone (with the
  // MI300X and 750 W B200 rows the shipped model reads 53-99 % fast) pull them elsewhere, and the
  // left-out median (11.8 %) beats the shipped constants' (14.4 %): the time fit is kept. The
  // inter-node bus fraction is not identified: the 128-GPU rows are limited by NVLink shared
  // with compute, not the NICs.
  CHECK(cal.throughput.before.median_abs_pct == Approx(14.4).margin(0.1));
  CHECK(cal.throughput.leave_one_out.median_abs_pct < cal.throughput.before.median_abs_pct);
  CHECK(cal.throughput.after.median_abs_pct < cal.throughput.before.median_abs_pct);
  int time_fitted = 0;
  for (const FittedConstant& f : cal.fitted) {
    time_fitted += f.key.rfind("time.", 0) == 0 ? 1 : 0;
  }
  const auto time_constants =
      std::count_if(k_free_constants.begin(), k_free_constants.end(),
                    [](const FreeConstant& f) { return f.quantity == Quantity::throughput; });
  CHECK(time_constants == 6);
  CHECK(time_fitted == 5);
  REQUIRE(cal.not_fitted.size() == 1);
  CHECK(cal.not_fitted.at(0).key == "time.inter_node_bus_fraction");
  CHECK_THAT(cal.not_fitted.at(0).reason, Catch::Contains("these runs do not constrain it"));
}

TEST_CASE("three runs of a stack bwplan does not model calibrate its other runs to 5 % (memory)",
          "[calibration]") {
  // NousResearch's DeepEP fork of torchtitan (tests/data/measurements-moe-holdout.json): the
  // shipped model reads its peaks 47-69 % low, by a near-constant ~79 GiB. Fitted on three of its
  // five runs (8, 32 and 128 GPUs), the two left aside (16 and 64) come within 5 %: the runs
  // cannot tell a fixed amount from activations or logits (every run has the same micro-batch
  // and sequence), and a fixed buffer explains them far better within the bounds.
  const std::string file = test::source_path("tests/data/measurements-moe-holdout.json");
  const auto all = parse_measurements(read_text_file(file), file, test::catalog());
  std::vector<MeasurementCase> fit_on, aside;
  for (const MeasurementCase& mc : all) {
    if (mc.id.find("deepep") == std::string::npos) {
      continue;
    }
    const bool fitted = mc.id.find("-fsdp8-") != std::string::npos ||
                        mc.id.find("-fsdp32-") != std::string::npos ||
                        mc.id.find("-fsdp128-") != std::string::npos;
    (fitted ? fit_on : aside).push_back(mc);
  }
  REQUIRE(fit_on.size() == 3);
  REQUIRE(aside.size() == 2);
  const ModelConstants& shipped = test::catalog().constants;
  const Calibration cal = calibrate(fit_on, shipped);
  const auto fixed =
      std::find_if(cal.fitted.begin(), cal.fitted.end(),
                   [](const FittedConstant& f) { return f.key == "memory.fixed_bytes"; });
  REQUIRE(fixed != cal.fitted.end());
  CHECK(fixed->fitted > 70e9);
  CHECK(fixed->fitted < 90e9);
  const Validation before = validate_cases(aside, shipped.memory, shipped.time);
  const Validation after = validate_cases(aside, cal.constants.memory, cal.constants.time);
  for (std::size_t i = 0; i < aside.size(); ++i) {
    INFO(aside[i].id);
    CHECK(before.cases[i].error_pct < -50.0);
    CHECK(std::abs(after.cases[i].error_pct) <= 5.0);
    // Tokens/s: the shipped model reads the multi-node runs 17-25 % slow (44-57 % before the
    // contention was refitted on every dense row and taken off the NICs, 2026-12-02); fitted on
    // the three runs, the two left aside come within 9 %.
    const auto tps_error = [&](const CaseResult& r) {
      return std::abs(r.predicted_tokens_per_s / r.measured_tokens_per_s - 1.0);
    };
    CHECK(tps_error(before.cases[i]) > 0.15);
    CHECK(tps_error(after.cases[i]) <= 0.09);
  }
}

namespace {

/// An estimate of Llama-3.1-8B on one ml.p5e.48xlarge at micro-batch 2, 8192 tokens, written
/// to `dir`/plan.json, and the path.
std::string write_plan(const std::filesystem::path& dir) {
  const std::string plan = (dir / "plan.json").string();
  const auto est = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--instance",
                                  "ml.p5e.48xlarge", "--micro-batch", "2", "--seq-len", "8192",
                                  "--format", "json", "--output", plan});
  REQUIRE(est.status == 0);
  return plan;
}

/// A torchtitan log of that plan's run, peaking at `gib` GiB at `tps` tokens/s per GPU.
std::string run_log(const char* gib = "61.50", const char* tps = "5,957") {
  return header(2, 16, 1, 8192) + metric_line(1, gib, "4,000") + metric_line(10, gib, tps) +
         metric_line(20, gib, tps);
}

} // namespace

TEST_CASE("a profile edited into what calibrate never writes is refused naming the key",
          "[calibration]") {
  const BandedProfile profile = banded_profile();
  const std::string& text = profile.text;
  const auto refused = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto doc = nlohmann::json::parse(text);
    edit(doc);
    try {
      (void)parse_calibration_profile(doc.dump(), "p.json", test::catalog());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  REQUIRE(nlohmann::json::parse(text).at("constants").size() >= 1);
  const std::string first = nlohmann::json::parse(text).at("constants")[0].at("key");
  // A missing range key is said to be missing (it was blamed on its neighbour as unknown); what
  // the profile reports of its fit keeps calibrate's types; a shipped value is one the constant
  // can take.
  CHECK(refused([](auto& d) { d["range"].erase("seq_len_min"); }) ==
        "p.json: /range/seq_len_min: missing required key");
  CHECK(refused([](auto& d) { d["range"].erase("gpu_count_min"); }) ==
        "p.json: /range/gpu_count_min: missing required key");
  CHECK(refused([](auto& d) { d["runs"] = "x"; }) ==
        "p.json: /runs: expected an array, got string (as calibrate writes it)");
  CHECK(refused([](auto& d) { d["fit_calls"] = nlohmann::json::array(); }) ==
        "p.json: /fit_calls: expected an object, got array (as calibrate writes it)");
  CHECK_THAT(refused([](auto& d) { d["constants"][0]["shipped"] = -1; }),
             Catch::StartsWith("p.json: /constants/0/shipped: constant ") &&
                 Catch::Contains("out of range"));
  // The same constant twice (nlohmann would keep the last): refused, naming both places.
  CHECK_THAT(refused([&](auto& d) {
               d["constants"].push_back({{"key", first}, {"shipped", 1.0}, {"fitted", 0.9}});
             }),
             Catch::Contains("p.json: /constants/") && Catch::Contains("'" + first + "'") &&
                 Catch::Contains("is set twice (also at /constants/0)"));
  // A constant calibrate never fits, though --set could set it.
  CHECK_THAT(refused([](auto& d) {
               d["constants"].push_back({{"key", "time.matmul_half_work_flops_per_s"},
                                         {"shipped", 9.89e14},
                                         {"fitted", 1e9}});
             }),
             Catch::Contains("'time.matmul_half_work_flops_per_s' is not a constant calibrate "
                             "fits (allowed: memory.activation_scale,"));
  // A fitted constant outside the bounds the fit keeps it in (set_constant would take 3.5).
  CHECK_THAT(refused([](auto& d) { d["constants"][0]["fitted"] = 3.5; }),
             Catch::Contains("p.json: /constants/0/fitted: memory.activation_scale = 3.5 is "
                             "outside the bounds calibrate fits it in (allowed 0.5..3)"));
  // A band key that is not a band.
  CHECK_THAT(refused([](auto& d) { d["band_constants"][0]["key"] = "memory.fixed_bytes"; }),
             Catch::Contains("p.json: /band_constants/0/key: 'memory.fixed_bytes' is not a band "
                             "constant (allowed: memory.band_low_fraction,"));
  // A key with a control character is shown escaped, on one line.
  const std::string odd = refused([](auto& d) { d["constants"][0]["key"] = "a\nb"; });
  CHECK(odd.find('\n') == std::string::npos);
  CHECK_THAT(odd, Catch::Contains("'a\\nb' is not a constant calibrate fits"));
  // Ranges no run can have covered.
  CHECK_THAT(refused([](auto& d) {
               d["range"]["seq_len_min"] = 100000;
               d["range"]["seq_len_max"] = 1;
             }),
             Catch::Contains("p.json: /range/seq_len_min: 100000 is above seq_len_max 1"));
  CHECK_THAT(refused([](auto& d) {
               d["range"]["gpu_count_min"] = 16;
               d["range"]["gpu_count_max"] = 8;
             }),
             Catch::Contains("p.json: /range/gpu_count_min: 16 is above gpu_count_max 8"));
  CHECK_THAT(refused([](auto& d) { d["range"]["gpu_count_min"] = 0; }),
             Catch::Contains("p.json: /range/gpu_count_min: 0 is out of range (allowed integers "
                             "1.."));
  CHECK_THAT(refused([](auto& d) { d["range"]["gpus"] = nlohmann::json::array(); }),
             Catch::Contains("p.json: /range/gpus: the gpus the runs covered: expected at least "
                             "one"));
  CHECK_THAT(refused([](auto& d) { d["range"]["gpus"] = {"zzz"}; }),
             Catch::Contains("p.json: /range/gpus/0") && Catch::Contains("zzz"));
  CHECK(refused([](auto&) {}) == "accepted");
}

TEST_CASE("a profile's band narrower than the shipped one is refused, not applied",
          "[calibration][cli]") {
  const auto dir = test::scratch_dir("calibrate-narrow");
  const ModelConstants k = test::catalog().constants;
  const Calibration cal = calibrate({case_of(k, 1.2, 4096), case_of(k, 1.2, 8192)}, k);
  ModelConstants banded = cal.constants;
  apply_calibrated_bands(cal, banded);
  auto doc = nlohmann::json::parse(calibration_profile_json(cal, banded, {}).dump());
  REQUIRE(doc["band_constants"][1]["key"] == "memory.band_high_fraction");
  doc["band_constants"][1]["fitted"] = 0.0; // an at-risk plan would be called "fits"
  const CalibrationProfile p = parse_calibration_profile(doc.dump(), "p.json");
  ModelConstants got = k;
  CHECK_THROWS_WITH(apply_calibration_profile(p, got),
                    "p.json: /band_constants/1: memory.band_high_fraction = 0 is narrower than "
                    "the shipped 0.06 (allowed 0.06 and above: calibrate only widens a band)");
  CHECK(get_constant(got, "memory.activation_scale") ==
        get_constant(k, "memory.activation_scale")); // nothing applied
  const std::string profile = (dir / "narrow.json").string();
  std::ofstream(profile) << doc.dump();
  const auto est = test::run_cli({"estimate", "--headroom", "72", "--calibration", profile});
  CHECK(est.status == 1);
  CHECK(est.out.empty());
  CHECK_THAT(est.err, Catch::Contains("narrow.json: /band_constants/1: "
                                      "memory.band_high_fraction = 0 is narrower than the "
                                      "shipped 0.06"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("calibrate refuses one run given twice: under another path, or as a copy",
          "[calibration][cli]") {
  const auto dir = test::scratch_dir("calibrate-twice");
  const std::string plan = write_plan(dir);
  const std::string log = (dir / "good.log").string(), copy = (dir / "copy.log").string();
  std::ofstream(log) << run_log();
  std::ofstream(copy) << run_log();
  const std::string profile = (dir / "profile.json").string();
  const std::string other_path = (dir / "." / "good.log").string();
  const auto twice = test::run_cli({"calibrate", "--run", plan + "=" + log, "--run",
                                    plan + "=" + other_path, "--output", profile});
  CHECK(twice.status == 1);
  CHECK_THAT(twice.err, Catch::Contains("--run '" + plan + "=" + log + "' and --run '" + plan +
                                        "=" + other_path + "'") &&
                            Catch::Contains("are the same bytes (sha256 ") &&
                            Catch::Contains("one run given twice would weigh twice in the fit"));
  const auto copied = test::run_cli(
      {"calibrate", "--run", plan + "=" + log, "--run", plan + "=" + copy, "--output", profile});
  CHECK(copied.status == 1);
  CHECK_THAT(copied.err, Catch::Contains("the logs " + log + " and " + copy +
                                         " are the same "
                                         "bytes"));
  CHECK_FALSE(std::filesystem::exists(profile));
  // Two logs of one plan are two runs.
  const std::string second = (dir / "second.log").string();
  std::ofstream(second) << run_log("61.60", "5,990");
  const auto two = test::run_cli(
      {"calibrate", "--run", plan + "=" + log, "--run", plan + "=" + second, "--output", profile});
  INFO(two.err);
  CHECK(two.status == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("calibrate refuses a run more than 10 times off its prediction, naming it",
          "[calibration][cli]") {
  const auto dir = test::scratch_dir("calibrate-absurd");
  const std::string plan = write_plan(dir);
  const std::string profile = (dir / "profile.json").string();
  const auto with_log = [&](const char* name, const std::string& text) {
    const std::string log = (dir / name).string();
    std::ofstream(log) << text;
    return test::run_cli({"calibrate", "--run", plan + "=" + log, "--output", profile});
  };
  // 0.001 GiB against ~77.6 GiB predicted: once read as -100 % and a band clamped to 0.9.
  const auto tiny = with_log("tiny.log", run_log("0.001"));
  CHECK(tiny.status == 1);
  CHECK_THAT(tiny.err, Catch::Contains("run '" + plan + "' (" + (dir / "tiny.log").string() +
                                       "): peak reserved memory measured 0.001 GiB against ") &&
                           Catch::Contains("times less (allowed within 10 times of the "
                                           "prediction either way"));
  // 5000 GiB on a 141 GB GPU: once "constant memory.band_high_fraction = 63.42 is out of range";
  // more than the GPU holds, it is no reading of this run (the 10 times rule is for the rest).
  const auto huge = with_log("huge.log", run_log("5000.00"));
  CHECK(huge.status == 1);
  CHECK_THAT(huge.err, Catch::Contains("huge.log: the logged peak 5000.00 GiB (step 1) is more "
                                       "than the h200's 140.40 GiB"));
  CHECK_THAT(huge.err, !Catch::Contains("band_high_fraction"));
  // 1 tokens/s passes the log's own range: 0.000001 was once "time.band_low_fraction =
  // 8584684946.04" (torchtitan prints round(tps), so a fraction is now refused as it is read).
  const auto slow = with_log("slow.log", run_log("61.50", "1"));
  CHECK(slow.status == 1);
  CHECK_THAT(slow.err, Catch::Contains("slow.log): tokens/s per GPU measured 1 against") &&
                           Catch::Contains("times less"));
  const auto fraction = with_log("fraction.log", run_log("61.50", "6.001"));
  CHECK(fraction.status == 1);
  CHECK_THAT(fraction.err, Catch::EndsWith("fraction.log:3: 'tps:' 6.001 is not a whole number "
                                           "(the trainer prints it as an integer, with thousands "
                                           "commas: 6,001)\n"));
  CHECK_THAT(slow.err, !Catch::Contains("band_low_fraction"));
  CHECK_FALSE(std::filesystem::exists(profile));
  // A measurement case is named by its id and source.
  const ModelConstants k = test::catalog().constants;
  MeasurementCase far = case_of(k, 1.0, 4096);
  far.value_bytes *= 11;
  CHECK_THROWS_WITH(calibrate({case_of(k, 1.0, 8192), far}, k),
                    Catch::StartsWith("run 'synthetic-4096' (tests/test_calibration.cpp): peak "
                                      "reserved memory measured ") &&
                        Catch::Contains("11 times more (allowed within 10 times"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a band wider than its constant allows names the run behind it", "[calibration]") {
  // What calibrate's check of each run keeps from happening: a fit predicting a run 20 times
  // off. The band's own range error once named no run.
  Calibration cal;
  CalibratedRun r;
  r.id = "plan.json";
  r.source = "train.log";
  r.quantity = Quantity::memory;
  r.measured = 20.0 * 1024 * 1024 * 1024;
  r.before = r.after = 10.0 * 1024 * 1024 * 1024;
  r.leave_one_out = 1.0 * 1024 * 1024 * 1024;
  cal.runs.push_back(r);
  cal.memory.after.runs = 1;
  const ModelConstants k = test::catalog().constants;
  ModelConstants got = k;
  CHECK_THROWS_WITH(apply_calibrated_bands(cal, got),
                    Catch::StartsWith("run 'plan.json' (train.log): memory measured 20 GiB, "
                                      "predicted 1 GiB by the fit without it, so constant "
                                      "memory.band_high_fraction = 19 is out of range"));
  CHECK(get_constant(got, "memory.band_high_fraction") ==
        get_constant(k, "memory.band_high_fraction"));
}

TEST_CASE("calibrate --run: a path holding '=', and '-' for one input", "[calibration][cli]") {
  namespace fs = std::filesystem;
  const auto dir = test::scratch_dir("calibrate-split");
  const std::string plan = write_plan(dir);
  const std::string odd_plan = (dir / "a=b.json").string();
  fs::copy_file(plan, odd_plan);
  const std::string log = (dir / "good.log").string();
  std::ofstream(log) << run_log();
  const std::string profile = (dir / "profile.json").string();
  // Split where the plan and the log exist, not at the first '='.
  const auto odd = test::run_cli({"calibrate", "--run", odd_plan + "=" + log, "--output", profile});
  INFO(odd.err);
  CHECK(odd.status == 0);
  const auto ranked =
      test::run_cli({"calibrate", "--run", odd_plan + "#1=" + log, "--output", profile, "--force"});
  CHECK(ranked.status == 0);
  const std::string missing = (dir / "a=c.json").string() + "=" + log;
  const auto none = test::run_cli({"calibrate", "--run", missing, "--output", profile, "--force"});
  CHECK(none.status == 1);
  CHECK_THAT(none.err, Catch::Contains("--run '" + missing +
                                       "': no '=' in it parts an existing plan from an "
                                       "existing log"));
  // Two splits that both name existing files: which was meant cannot be told.
  const std::string d = dir.string();
  for (const std::string& f :
       {d + "/x", d + "/y=" + d + "/z.log", d + "/x=" + d + "/y", d + "/z.log"}) {
    fs::create_directories(fs::path(f).parent_path());
    std::ofstream(f) << "";
  }
  const std::string both = d + "/x=" + d + "/y=" + d + "/z.log";
  const auto ambiguous =
      test::run_cli({"calibrate", "--run", both, "--output", profile, "--force"});
  CHECK(ambiguous.status == 2);
  CHECK_THAT(ambiguous.err, Catch::Contains("--run '" + both +
                                            "': parts into an existing plan and log at 2 of its "
                                            "'=' signs"));
  // Standard input reads once: '-' for two inputs is a usage error, whatever they are.
  const auto stdin_twice =
      test::run_cli({"calibrate", "--run", "-=-", "--output", profile, "--force"});
  CHECK(stdin_twice.status == 2);
  CHECK_THAT(stdin_twice.err,
             Catch::Contains("the plan of --run '-=-' and the log of --run '-=-' both read "
                             "standard input ('-'), which can be read once"));
  const auto file_and_plan =
      test::run_cli({"calibrate", "-", "--run", "-=" + log, "--output", profile, "--force"});
  CHECK(file_and_plan.status == 2);
  CHECK_THAT(file_and_plan.err, Catch::Contains("calibrate FILE '-' and the plan of --run"));
  // PLAN=- reads the log from standard input, as -=LOG reads the plan (the binary, as a
  // pipeline runs it).
  const std::string cmd = std::string("'") + BWPLAN_BINARY + "' calibrate --run '" + plan +
                          "=-' --output '" + profile + "' --force < '" + log + "' > /dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  fs::remove_all(dir);
}

TEST_CASE("calibrate over fit/OOM outcomes only prints no median of nothing",
          "[calibration][cli]") {
  // It printed "memory: median |error| 0.0 % before, 0.0 % after ... 0 runs": a perfect score
  // for a file that measured no peak and no tokens/s.
  const auto source = nlohmann::json::parse(
      read_text_file(test::source_path("tests/data/measurements-fitcalls-holdout.json")));
  nlohmann::json only_fits = {{"schema", "bwplan-measurements/1"},
                              {"cases", nlohmann::json::array()}};
  for (const auto& c : source.at("cases")) {
    if (c.at("measured").at("metric") == "fits" &&
        !c.at("measured").contains("tokens_per_second_per_gpu")) {
      only_fits["cases"].push_back(c);
    }
  }
  REQUIRE(!only_fits["cases"].empty());
  const auto dir = test::scratch_dir("calibrate-fits-only");
  const std::string file = (dir / "fits.json").string();
  std::ofstream(file) << only_fits.dump(1);
  const auto r = test::run_cli({"calibrate", file, "--output", (dir / "p.json").string()});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("\nmemory: no run measured it\n") &&
                        Catch::Contains("\ntokens/s: no run measured it\n") &&
                        !Catch::Contains("0 runs") && Catch::Contains("fit/OOM calls right: "));
}
