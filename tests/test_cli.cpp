#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace bwplan;
using Catch::Matchers::WithinRel;

TEST_CASE("bwplan models --format json lists the presets with exact counts", "[cli]") {
  const test::CliResult r = test::run_cli({"models", "--format", "json"});
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("schema_version") == 1);
  std::map<std::string, std::int64_t> params;
  for (const auto& m : j.at("models")) {
    params[m.at("name")] = m.at("parameters");
  }
  CHECK(params.at("llama-3.1-8b") == 8'030'261'248LL);
  CHECK(params.at("llama-3.1-70b") == 70'553'706'496LL);
  CHECK(params.at("llama-3.1-405b") == 405'853'388'800LL);
  CHECK(params.count("qwen2.5-14b") == 1);
}

TEST_CASE("bwplan gpus and instances show their sources", "[cli]") {
  const test::CliResult g = test::run_cli({"gpus"});
  REQUIRE(g.status == 0);
  CHECK_THAT(g.out, Catch::Contains("b200") && Catch::Contains("179.06") &&
                        Catch::Contains("sources:") && Catch::Contains("183359 MiB"));
  // the capacity every plan uses (CUDA's total), and the formats it trains in, on b200's row
  const std::size_t row = g.out.find("\nb200 ");
  REQUIRE(row != std::string::npos);
  const std::string b200 = g.out.substr(row + 1, g.out.find('\n', row + 1) - row - 1);
  CHECK_THAT(b200, Catch::Contains(" 179.06    178.35 ") &&
                       Catch::EndsWith("fp8-tensorwise,fp8-rowwise,mxfp8,nvfp4"));
  const test::CliResult i = test::run_cli({"instances", "--format", "json"});
  REQUIRE(i.status == 0);
  const auto j = nlohmann::json::parse(i.out);
  bool found = false;
  for (const auto& s : j.at("instances")) {
    if (s.at("name") == "ml.p6-b200.48xlarge") {
      found = true;
      CHECK(s.at("gpus_per_node") == 8);
      CHECK_FALSE(s.at("price").at("source").get<std::string>().empty());
      CHECK_FALSE(s.at("sources").empty());
    }
  }
  CHECK(found);
}

TEST_CASE("a reduce dtype set by hand is named in the table and moves the reduce-scatter",
          "[cli]") {
  const auto run = [](const char* dtype, const char* format) {
    const test::CliResult r = test::run_cli({"estimate", "--gpu", "h100-sxm-80gb", "--gpus", "16",
                                             "--reduce-dtype", dtype, "--format", format});
    REQUIRE(r.status == 0);
    return r.out;
  };
  CHECK_THAT(run("bf16", "table"), Catch::Contains(", gradients reduced in bf16\n"));
  CHECK_THAT(run("default", "table"), !Catch::Contains("gradients reduced in"));
  // 16 GPUs over two nodes: the reduce-scatter crosses EFA, and in bf16 it moves half the bytes.
  const auto comm = [&](const char* dtype) {
    const auto j = nlohmann::json::parse(run(dtype, "json"));
    CHECK(j.at("config").at("reduce_dtype") == dtype);
    return j.at("throughput").at("tokens_per_second_per_gpu").get<double>();
  };
  CHECK(comm("bf16") > comm("fp32"));
  CHECK(comm("fp32") == comm("default")); // torchtitan's default is fp32
}

TEST_CASE("a FlashAttention-2 estimate says so in the table and is slower on Hopper", "[cli]") {
  const std::vector<std::string> base = {
      "estimate", "--gpu",     "h100-sxm-80gb", "--gpus",
      "8",        "--seq-len", "16384",         "--activation-checkpointing",
      "full",     "--format"};
  auto args = base;
  args.push_back("table");
  args.insert(args.end(), {"--attention-kernel", "flash2"});
  const test::CliResult t = test::run_cli(args);
  REQUIRE(t.status == 0);
  CHECK_THAT(t.out, Catch::Contains(", attention flash2\n"));
  const auto tokens = [&](const char* kernel) {
    auto a = base;
    a.push_back("json");
    a.insert(a.end(), {"--attention-kernel", kernel});
    const test::CliResult r = test::run_cli(a);
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("config").at("attention_kernel") == kernel);
    return j.at("throughput").at("tokens_per_second_per_gpu").get<double>();
  };
  CHECK(tokens("flash2") < tokens("cudnn"));
  const auto g = nlohmann::json::parse(test::run_cli({"gpus", "--format", "json"}).out);
  for (const auto& gpu : g.at("gpus")) {
    const double r = gpu.at("flash2_attention_speed_ratio");
    CHECK((r > 0 && r <= 1));
  }
}

TEST_CASE("estimate JSON carries a schema version and the model states", "[cli]") {
  const test::CliResult r = test::run_cli({"estimate", "--format", "json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("schema_version") == 1);
  CHECK(j.at("config").at("instance") == "ml.p6-b200.48xlarge");
  CHECK(j.at("config").at("gpus") == 8);
  const auto& st = j.at("memory").at("model_states");
  const double states = st.at("parameters_bytes").get<double>() +
                        st.at("gradients_bytes").get<double>() +
                        st.at("optimizer_bytes").get<double>();
  CHECK_THAT(states, WithinRel(16.0 * 8'030'261'248 / 8, 1e-9));
  CHECK(j.at("memory").at("fits") == true);
}

TEST_CASE("estimate JSON's headroom is its usable less its required bytes, to the byte", "[cli]") {
  // Each was rounded to whole bytes on its own: micro-batch 2 x 6002 tokens with a 7.3 GiB
  // headroom wrote a headroom 1 byte short of usable_bytes - device_bytes_required.
  for (const char* mb : {"1", "2", "3"}) {
    for (const char* seq : {"3001", "6002", "9003"}) {
      const auto r = test::run_cli({"estimate", "--format", "json", "--micro-batch", mb,
                                    "--seq-len", seq, "--headroom", "7.3"});
      REQUIRE(r.status != 2);
      const auto doc = nlohmann::json::parse(r.out);
      const auto& m = doc.at("memory");
      CHECK(m.at("usable_bytes").get<std::int64_t>() -
                m.at("device_bytes_required").get<std::int64_t>() ==
            m.at("headroom_bytes").get<std::int64_t>());
    }
  }
}

TEST_CASE("estimate is deterministic", "[cli]") {
  const auto a = test::run_cli({"estimate", "--format", "json", "--model", "qwen2.5-32b"});
  const auto b = test::run_cli({"estimate", "--format", "json", "--model", "qwen2.5-32b"});
  CHECK(a.out == b.out);
}

TEST_CASE("a configuration that cannot run exits 3 and says why", "[cli]") {
  const auto r = test::run_cli(
      {"estimate", "--model", "llama-3.1-405b", "--gpu", "a100-sxm-40gb", "--gpus", "8"});
  CHECK(r.status == 3);
  CHECK_THAT(r.out, Catch::Contains("does not fit"));
  const auto p = test::run_cli({"estimate", "--gpu", "h100-sxm-80gb", "--gpus", "8", "--precision",
                                "mxfp8", "--format", "json"});
  CHECK(p.status == 3);
  CHECK(nlohmann::json::parse(p.out).at("verdict").at("reason") == "precision_unsupported");
  const auto o =
      test::run_cli({"estimate", "--gpu", "a100-sxm-40gb", "--gpus", "8", "--format", "json"});
  CHECK(o.status == 3);
  CHECK(nlohmann::json::parse(o.out).at("verdict").at("reason") == "out_of_memory");
}

TEST_CASE("enum flags suggest the closest spelling", "[cli]") {
  const auto r = test::run_cli({"estimate", "--precision", "bf61"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err,
             Catch::Contains("--precision 'bf61'") && Catch::Contains("did you mean 'bf16'"));
}

TEST_CASE("output files are written atomically and never replaces a file unless --force", "[cli]") {
  namespace fs = std::filesystem;
  const fs::path p = fs::temp_directory_path() / "bwplan-test-output.json";
  fs::remove(p);
  REQUIRE(test::run_cli({"models", "--format", "json", "--output", p.string()}).status == 0);
  const std::string first = read_text_file(p);
  CHECK(nlohmann::json::parse(first).at("schema_version") == 1);
  std::ofstream(p) << "mine";
  const auto r = test::run_cli({"models", "--output", p.string()});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("file exists"));
  CHECK(read_text_file(p) == "mine");
  CHECK(test::run_cli({"models", "--output", p.string(), "--force"}).status == 0);
  CHECK(read_text_file(p) != "mine");
  CHECK_FALSE(fs::exists(p.string() + ".bwplan-tmp"));
  fs::remove(p);
}

TEST_CASE("help and version exit 0", "[cli]") {
  CHECK(test::run_cli({"--help"}).status == 0);
  const auto v = test::run_cli({"--version"});
  CHECK(v.status == 0);
  CHECK_THAT(v.out, Catch::StartsWith("bwplan "));
  const auto h = test::run_cli({"estimate", "--help"});
  CHECK(h.status == 0);
  CHECK_THAT(h.out, Catch::Contains("--activation-checkpointing"));
}

TEST_CASE("an estimate that does not fit names the term and the single changes that fit",
          "[cli][advice]") {
  const auto r = test::run_cli(
      {"estimate", "--model", "llama-3.1-8b", "--micro-batch", "12", "--format", "json"});
  REQUIRE(r.status == 3);
  const auto j = nlohmann::json::parse(r.out);
  const auto& advice = j.at("advice");
  CHECK(advice.at("breaking_component") == "activations");
  CHECK(advice.at("over_bytes").get<double>() > 0);
  REQUIRE_FALSE(advice.at("suggestions").empty());
  double prev = 1e300;
  bool shorter = false;
  for (const auto& s : advice.at("suggestions")) {
    const std::string change = s.at("change");
    INFO(change);
    // each suggestion fits the B200 and costs throughput relative to the original; a shorter
    // sequence (a different task) comes after every change that keeps the sequence
    CHECK(s.at("device_bytes_required").get<double>() <= 183359.0 * 1048576);
    // and at the band's upper edge (verdict fits): micro-batch 6 was offered at risk
    CHECK(s.at("device_bytes_required_high").get<double>() <= 183359.0 * 1048576);
    if (change.rfind("--seq-len", 0) == 0) {
      shorter = true;
    } else {
      CHECK_FALSE(shorter);
      CHECK(s.at("throughput_ratio").get<double>() <= prev);
      prev = s.at("throughput_ratio").get<double>();
    }
  }
  CHECK(shorter);
  const auto table = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--micro-batch", "12"});
  CHECK_THAT(table.out, Catch::Contains("Each of these alone makes it fit") &&
                            Catch::Contains("--micro-batch 5"));
}

TEST_CASE("a pipelined nearest miss is described with the micro-batches it was probed with",
          "[cli][advice][pipeline]") {
  // 405B at 32k over 8 P6-B200 nodes with 8 zbv stages: nothing fits. The search probes each
  // combination with its pipeline's micro-batches (4 per rank: 32); the nearest miss was recorded
  // with grad-accum 1 and described as needing less than the GPU holds ("the step is -44.64 GiB
  // over"). Now its detail, its plan id and the advice are for grad-accum 32, and it is over.
  const auto r = test::run_cli({"search", "--model", "llama-3.1-405b", "--instance",
                                "ml.p6-b200.48xlarge", "--nodes", "8", "--seq-len", "32768", "--pp",
                                "8", "--pp-schedule", "zbv", "--format", "json"});
  REQUIRE(r.status == 3);
  const auto j = nlohmann::json::parse(r.out);
  const auto& miss = j.at("best_rejected").at("out_of_memory");
  CHECK_THAT(miss.at("id").get<std::string>(), Catch::EndsWith("-ga0032"));
  CHECK(j.at("advice").at("over_bytes").get<double>() > 0);
  REQUIRE_FALSE(j.at("advice").at("suggestions").empty());
}

TEST_CASE("check re-evaluates a saved plan: 0 while it fits, 3 once it does not", "[cli][check]") {
  namespace fs = std::filesystem;
  const fs::path plan = fs::temp_directory_path() / "bwplan-check-plan.json";
  fs::remove(plan);
  REQUIRE(test::run_cli({"search", "--format", "json", "--output", plan.string()}).status == 0);
  const auto ok = test::run_cli({"check", "--plan", plan.string(), "--format", "json"});
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  const auto j = nlohmann::json::parse(ok.out);
  CHECK(j.at("fits") == true);
  for (const auto& c : j.at("changes")) { // unchanged to the byte: a CI diff sees no change
    CHECK(c.at("now").get<double>() == c.at("was").get<double>());
  }
  // The same plan under a model whose CUDA context takes 50 GB no longer fits.
  const auto worse =
      test::run_cli({"check", "--plan", plan.string(), "--set", "memory.cuda_context_bytes=5e10"});
  CHECK(worse.status == 3);
  CHECK_THAT(worse.out, Catch::Contains("does not fit any more"));
  // A plan saved as not fitting (an estimate that exited 3) never fitted: not "any more".
  const fs::path never = fs::temp_directory_path() / "bwplan-check-never.json";
  fs::remove(never);
  CHECK(test::run_cli(
            {"estimate", "--micro-batch", "64", "--format", "json", "--output", never.string()})
            .status == 3);
  const auto still_not = test::run_cli({"check", "--plan", never.string()});
  CHECK(still_not.status == 3);
  CHECK_THAT(still_not.out,
             Catch::Contains("does not fit: ") && !Catch::Contains("does not fit any more"));
  fs::remove(never);
  // A bigger model in the same plan: the CI question "does our new config still fit?".
  const auto bigger = test::run_cli({"check", "--plan", plan.string(), "--model", "qwen2.5-72b"});
  CHECK(bigger.status == 3);
  CHECK(test::run_cli({"check", "--plan", plan.string(), "--rank", "99"}).status == 1);
  fs::remove(plan);
}

TEST_CASE("an at-risk configuration: estimate says by how much, check exits 3", "[cli][check]") {
  // 8B on one B200 node, fused loss: micro-batch 9 fits as estimated once the caching allocator
  // returns its cache (169.2 GiB allocated + 1.35 GiB context and NCCL of 178.35 GiB), but the
  // band's upper edge (181.05 GiB allocated) is 4.05 GiB over the usable memory; micro-batch 8
  // fits at the edge too (its allocated upper edge is 162.4 GiB).
  namespace fs = std::filesystem;
  const fs::path plan = fs::temp_directory_path() / "bwplan-check-at-risk.json";
  fs::remove(plan);
  const std::vector<std::string> base = {"estimate", "--model", "llama-3.1-8b",
                                         "--loss",   "fused",   "--compile"};
  auto risky = base;
  risky.insert(risky.end(), {"--micro-batch", "9"});
  const auto text = test::run_cli(risky);
  CHECK(text.status == 0); // estimate reports; it fails only when the estimate itself is over
  CHECK_THAT(text.out, Catch::Contains("verdict: at risk"));
  risky.insert(risky.end(), {"--format", "json", "--output", plan.string()});
  REQUIRE(test::run_cli(risky).status == 0);
  const auto check = test::run_cli({"check", "--plan", plan.string(), "--format", "json"});
  CHECK(check.status == 3);
  const auto j = nlohmann::json::parse(check.out);
  CHECK(j.at("fits") == true);
  CHECK(j.at("verdict") == "at_risk");
  // The same plan with --model of 24 of the 32 layers: judged on that model's own band, not on
  // the plan's edge in bytes, which was of 32 layers and would keep it at risk.
  nlohmann::json shorter =
      nlohmann::json::parse(read_text_file(test::source_path("configs/models/llama-3.1-8b.json")));
  shorter["layers"] = 24;
  const fs::path model = test::scratch_dir("check-shorter") / "llama-3.1-8b.json";
  std::ofstream(model) << shorter.dump();
  const auto other = test::run_cli(
      {"check", "--plan", plan.string(), "--model", model.string(), "--format", "json"});
  INFO(other.err);
  CHECK(other.status == 0);
  CHECK(nlohmann::json::parse(other.out).at("verdict") == "fits");
  fs::remove(plan);
  auto safe = base;
  safe.insert(safe.end(), {"--micro-batch", "8", "--format", "json", "--output", plan.string()});
  REQUIRE(test::run_cli(safe).status == 0);
  const auto ok = test::run_cli({"check", "--plan", plan.string(), "--format", "json"});
  CHECK(ok.status == 0);
  CHECK(nlohmann::json::parse(ok.out).at("verdict") == "fits");
  fs::remove(plan);
}

TEST_CASE("a plan at capacity is told by what stays beside its allocated peak, in estimate and "
          "check alike",
          "[cli][check]") {
  // Qwen3-30B-A3B, mxfp8, fused loss, op-level SAC, micro-batch 9 on one B200 node: the reserved
  // peak does not fit beside the runtime, so the allocator returns its cache and "headroom" is 0.
  // What stays is usable - allocated - runtime: 191,501,854,310 - 167,782,704,128 - 1,450,000,000
  // = 22,269,150,182 B (20.74 GiB); at the band's upper edge (allocated x 1.06 = 177,849,666,376
  // B) 12,202,187,934 B = 11.36 GiB (the 6 % edge of 2026-12-06 and since blind18 on 2026-12-07;
  // 9.80 GiB with the 7 % edge in between, 12.93 GiB with the 5 % edge of 2026-12-04).
  // check printed "still fits: 0.00 GiB headroom (0.00 GiB at the band's upper edge)".
  namespace fs = std::filesystem;
  const fs::path plan = test::scratch_dir("check-capacity") / "plan.json";
  std::vector<std::string> args = {"estimate",     "--model",       "qwen3-30b-a3b",
                                   "--precision",  "mxfp8",         "--loss",
                                   "fused",        "--compile",     "--activation-checkpointing",
                                   "selective-op", "--micro-batch", "9"};
  const std::string said = "fits as the caching allocator returns its cache (20.74 GiB beside the "
                           "allocated peak); 11.36 GiB at the band's upper edge\n";
  const auto text = test::run_cli(args);
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::EndsWith("verdict: " + said));
  args.insert(args.end(), {"--format", "json", "--output", plan.string()});
  REQUIRE(test::run_cli(args).status == 0);
  const auto check = test::run_cli({"check", "--plan", plan.string()});
  CHECK(check.status == 0);
  CHECK_THAT(check.out, Catch::EndsWith("still " + said));
  CHECK_THAT(check.out, !Catch::Contains("0.00 GiB"));
  // With --headroom the usable memory shrinks, the cap does not: the reserved peak is still the
  // capped 177.00 GiB (capacity less the runtime), and labelled so.
  args.resize(12);
  args.insert(args.end(), {"--headroom", "5"});
  const auto kept = test::run_cli(args);
  CHECK_THAT(kept.out, Catch::Contains("peak reserved (capped: allocator retries)    177.00"));
}

TEST_CASE("the hours to train need no price", "[cli]") {
  // Without an instance type or --price-per-hour the estimate printed no time to train at all
  // and its JSON said 0 hours.
  const auto r = test::run_cli(
      {"estimate", "--gpu", "b200", "--gpus", "16", "--train-tokens", "1e9", "--format", "json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  const double rate = j.at("throughput").at("tokens_per_second_job").get<double>();
  CHECK(j.at("cost").at("hours_to_train").get<double>() == Approx(1e9 / rate / 3600));
  CHECK(j.at("cost").at("usd_per_hour").get<double>() == 0);
  const auto text =
      test::run_cli({"estimate", "--gpu", "b200", "--gpus", "16", "--train-tokens", "1e9"});
  CHECK_THAT(text.out, Catch::Contains(fmt::format("training 1e+09 tokens: {:.1f} hours (no price",
                                                   1e9 / rate / 3600)));
  // the report gives the hours and no "cost to train 0 $"
  const auto report = test::scratch_dir("hours-no-price") / "r.html";
  REQUIRE(test::run_cli({"estimate", "--gpu", "b200", "--gpus", "16", "--train-tokens", "1e9",
                         "--report", report.string()})
              .status == 0);
  std::ifstream in(report);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(html, Catch::Contains("time to train"));
  CHECK_THAT(html, !Catch::Contains("cost to train"));
}

TEST_CASE("numbers are read as written: decimal integers, token counts with k/M/B/T", "[cli]") {
  const auto r = test::run_cli({"estimate", "--micro-batch", "010", "--seq-len", "02048",
                                "--train-tokens", "50B", "--format", "json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("config").at("micro_batch") == 10); // not octal 8
  CHECK(j.at("config").at("seq_len") == 2048);
  // 50B tokens at the predicted rate: the hours to train are 5e10 / tokens per second / 3600
  const double rate = j.at("throughput").at("tokens_per_second_job").get<double>();
  CHECK(j.at("cost").at("hours_to_train").get<double>() == Approx(5e10 / rate / 3600));
  const auto g = test::run_cli(
      {"estimate", "--global-batch-tokens", "4M", "--micro-batch", "1", "--format", "json"});
  REQUIRE(g.status == 0);
  // 4,000,000 tokens / (1 x 8192 x 8 GPUs) = 61.04 -> 61 micro-batches
  CHECK(nlohmann::json::parse(g.out).at("config").at("grad_accum") == 61);
  // beyond 64 bits: out of range (exit 1), with the flag's own range where it has one
  const auto big = test::run_cli({"estimate", "--micro-batch", "99999999999999999999"});
  CHECK(big.status == 1);
  CHECK_THAT(big.err,
             Catch::Contains("'99999999999999999999' is out of range: allowed 1..1048576"));
  const auto top = test::run_cli({"search", "--top", "-99999999999999999999"});
  CHECK(top.status == 1);
  CHECK_THAT(top.err, Catch::Contains("beyond 64 bits, below any value the flag allows"));
  // --top renders every plan it lists (0.3 ms and 40 KB each as JSON): 100,000 took 30 s and
  // 3.9 GB, so 10,000 is the most.
  const auto many = test::run_cli({"search", "--top", "10001"});
  CHECK(many.status == 1);
  CHECK_THAT(many.err, Catch::Contains("--top 10001 is out of range (allowed 1..10000)"));
  const auto most = test::run_cli({"search", "--top", "10000", "--format", "json"});
  REQUIRE(most.status == 0);
  CHECK(nlohmann::json::parse(most.out).at("plans").size() == 6512); // every feasible plan
}

TEST_CASE("check reads only plans, consistent ones, self-contained, also from stdin",
          "[cli][check]") {
  namespace fs = std::filesystem;
  const fs::path dir = test::scratch_dir("check-plans");
  const std::string hf = test::source_path("tests/fixtures/hf/mistral-7b-v0.3.config.json");
  const auto s = test::run_cli({"search", "--model", hf, "--top", "2", "--format", "json"});
  REQUIRE(s.status == 0);
  std::ofstream(dir / "plans.json") << s.out;
  // the plan carries its model: no --model needed for a plan made from a config.json
  auto r = test::run_cli({"check", "--plan", (dir / "plans.json").string()});
  INFO(r.err);
  CHECK(r.status == 0);
  // any other JSON document is refused, naming what is wrong
  auto doc = nlohmann::json::parse(s.out);
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> tamper = {
      {[](nlohmann::json& d) { d["schema_version"] = 2; }, "/schema_version"},
      {[](nlohmann::json& d) { d["schema_version"] = "1"; }, "/schema_version"},
      {[](nlohmann::json& d) { d.erase("schema_version"); }, "/schema_version"},
      {[](nlohmann::json& d) { d["kind"] = "models"; }, "/kind"},
      {[](nlohmann::json& d) { d["plans"][0]["config"]["gpu"] = "h100-sxm-80gb"; }, "contradicts"},
      {[](nlohmann::json& d) { d["plans"][0]["config"]["gpus"] = 16; }, "contradict"},
      {[](nlohmann::json& d) { d["model"]["layers"] = 33; }, "/model/parameters"},
      {[](nlohmann::json& d) { d["plans"][0]["throughput"]["tokens_per_second_per_gpu"] = 1e-6; },
       "was edited"},
      {[](nlohmann::json& d) { d["plans"][0]["memory"]["device_bytes_required"] = -5; },
       "was edited"},
      // out of the search flags' ranges: refused as the flags are, not clamped
      {[](nlohmann::json& d) { d["inputs"]["constraints"]["headroom_fraction"] = 1.5; },
       "/inputs/constraints/headroom_fraction: 1.5 is out of range (allowed 0..<1)"},
      {[](nlohmann::json& d) { d["inputs"]["constraints"]["price_per_hour"] = -3; },
       "/inputs/constraints/price_per_hour: -3 is out of range"},
  };
  REQUIRE(tamper.size() == 11);
  for (const auto& [change, what] : tamper) {
    nlohmann::json bad = doc;
    change(bad);
    std::ofstream(dir / "bad.json") << bad.dump();
    r = test::run_cli({"check", "--plan", (dir / "bad.json").string()});
    INFO(what << ": " << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find(what) != std::string::npos);
  }
  // --plan - reads standard input (the binary, as a pipeline runs it)
  const std::string cmd = std::string("'") + BWPLAN_BINARY + "' check --plan - < '" +
                          (dir / "plans.json").string() + "' > /dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  fs::remove_all(dir);
}

TEST_CASE("check holds a plan to the headroom it was made with, unless --headroom says otherwise",
          "[cli][check]") {
  namespace fs = std::filesystem;
  const fs::path dir = test::scratch_dir("check-headroom");
  // Llama-3.1-8B, micro-batch 4 on 8 x B200 needs ~138 GiB of 179: it fits with no headroom and
  // not with 30 % (125 GiB usable), the headroom this estimate was made with.
  const auto e =
      test::run_cli({"estimate", "--micro-batch", "4", "--headroom", "30", "--format", "json"});
  REQUIRE(e.status == 3);
  std::ofstream(dir / "plan.json") << e.out;
  const std::string plan = (dir / "plan.json").string();
  CHECK(test::run_cli({"check", "--plan", plan}).status == 3);
  CHECK(test::run_cli({"check", "--plan", plan, "--headroom", "0"}).status == 0);
  // a search's constraint is kept too
  const auto s = test::run_cli(
      {"search", "--headroom", "30", "--top", "1", "--format", "json", "--max-micro-batch", "4"});
  REQUIRE(s.status == 0);
  std::ofstream(dir / "search.json") << s.out;
  const auto r =
      test::run_cli({"check", "--plan", (dir / "search.json").string(), "--format", "json"});
  CHECK(r.status == 0);
  fs::remove_all(dir);
}

TEST_CASE("an out-of-range --ac-every is one error line, not a warning first", "[cli]") {
  // attack round 6: '--ac-every 0' warned that it had no effect, then refused it
  for (const char* v : {"0", "-1", "1048577"}) {
    const auto r = test::run_cli({"estimate", "--ac-every", v});
    INFO(v << ": " << r.err);
    CHECK(r.status == 1);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find("warning") == std::string::npos);
  }
  // an in-range value that the mode ignores is still said
  const auto r = test::run_cli({"estimate", "--ac-every", "3"});
  CHECK(r.status == 0);
  CHECK(r.err.find("--ac-every 3 has no effect") != std::string::npos);
}

TEST_CASE("estimate says --disable-loss-parallel without tensor parallelism changes nothing",
          "[cli]") {
  const auto one = test::run_cli({"estimate", "--disable-loss-parallel", "--format", "json"});
  CHECK(one.status == 0);
  CHECK(one.err.find("--disable-loss-parallel has no effect with --tp 1") != std::string::npos);
  const auto plain = test::run_cli({"estimate", "--format", "json"});
  REQUIRE(plain.status == 0);
  // The same estimate: only the plan's field differs.
  auto a = nlohmann::json::parse(one.out);
  auto b = nlohmann::json::parse(plain.out);
  CHECK(a.at("memory") == b.at("memory"));
  CHECK(a.at("throughput") == b.at("throughput"));
  // A configuration refused for another reason: its error alone, one line.
  const auto refused = test::run_cli({"estimate", "--disable-loss-parallel", "--pp", "3"});
  CHECK(refused.status != 0);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  const auto four = test::run_cli({"estimate", "--tp", "4", "--disable-loss-parallel"});
  CHECK(four.status == 0);
  CHECK(four.err.find("has no effect") == std::string::npos);
}

TEST_CASE("search says --disable-loss-parallel changes nothing when no plan it tries has tp > 1",
          "[cli]") {
  const std::string said = "--disable-loss-parallel has no effect with --tp 1";
  const auto one = test::run_cli({"search", "--disable-loss-parallel", "--tp", "1", "--top", "1",
                                  "--sharding", "full", "--precision", "bf16"});
  CHECK(one.status == 0);
  CHECK(one.err.find(said) != std::string::npos);
  // a mixture plans at tp 1 only
  const auto moe = test::run_cli({"search", "--model", "qwen3-30b-a3b", "--disable-loss-parallel",
                                  "--top", "1", "--sharding", "full", "--precision", "bf16"});
  CHECK(moe.err.find(said) != std::string::npos);
  // the default tensor-parallel axis (1 to a node's GPUs) and a given 2 use it: nothing said
  for (const std::vector<std::string>& tp : {std::vector<std::string>{}, {"--tp", "1,2"}}) {
    std::vector<std::string> args = {
        "search", "--disable-loss-parallel", "--top", "1", "--sharding", "full", "--precision",
        "bf16"};
    args.insert(args.end(), tp.begin(), tp.end());
    const auto r = test::run_cli(args);
    CHECK(r.status == 0);
    CHECK(r.err.find("has no effect") == std::string::npos);
  }
}

TEST_CASE("an option given without its value is named with what it needs", "[cli]") {
  // CLI11 says "--seq-len: 1 required INT missing"; written "--seq-len=" or as the last word.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"estimate", "--seq-len="}, {"estimate", "--seq-len"}}) {
    const auto r = test::run_cli(args);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("--seq-len needs an integer and was given none"));
  }
  const auto nodes = test::run_cli({"search", "--nodes="});
  CHECK(nodes.status == 2);
  CHECK_THAT(nodes.err, Catch::Contains("--nodes needs a value and was given none"));
  // Followed by another option, which CLI11 took as the value or left over as an argument.
  const auto next = test::run_cli({"estimate", "--seq-len=", "--tp", "2"});
  CHECK(next.status == 2);
  CHECK_THAT(next.err, Catch::Contains("--seq-len needs an integer and was given none"));
  const auto loss = test::run_cli({"estimate", "--loss=", "--tp", "2"});
  CHECK(loss.status == 2);
  CHECK_THAT(loss.err, Catch::Contains("--loss needs a value and was given none"));
  const auto list = test::run_cli({"search", "--nodes=", "--tp=2"});
  CHECK(list.status == 2);
  CHECK_THAT(list.err, Catch::Contains("--nodes needs a value and was given none"));
}
