// `emit sagemaker`: the AWS-shape checker, the launch files for many plans, escaping of hostile
// user strings, bad input, atomic output, and golden files (BWPLAN_UPDATE_GOLDEN=1 rewrites them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bwplan/aws_shapes.hpp"
#include "bwplan/error.hpp"
#include "bwplan/sagemaker.hpp"
#include "emit_support.hpp"
#include "golden_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;

using test::base_args;
using test::check_launch_dir;
using test::k_plan_arn;
using test::k_role;
using test::read_json;
using test::write_search;

namespace {

fs::path scratch(const std::string& name) {
  return test::scratch_dir("emit-" + name);
}

} // namespace

TEST_CASE("the AWS shape checker finds every kind of problem", "[emit]") {
  nlohmann::json ok = {{"TrainingJobName", "job-1"},
                       {"RoleArn", k_role},
                       {"OutputDataConfig", {{"S3OutputPath", "s3://b/o"}}}};
  CHECK(validate_against_shape(ok, "CreateTrainingJobRequest").empty());

  auto bad = ok;
  bad.erase("RoleArn");
  bad["Bogus"] = 1;
  bad["TrainingJobName"] = "-bad_name";
  bad["ResourceConfig"] = {{"InstanceType", "ml.p9.huge"}, {"InstanceCount", "2"}};
  bad["StoppingCondition"] = {{"MaxRuntimeInSeconds", 0}};
  bad["Environment"] = {{"1BAD", "x"}};
  bad["HyperParameters"] = {{"k", std::string(2501, 'x')}};
  const auto p = validate_against_shape(bad, "CreateTrainingJobRequest");
  const auto has = [&](const std::string& s) {
    return std::any_of(p.begin(), p.end(),
                       [&](const std::string& m) { return m.find(s) != std::string::npos; });
  };
  CHECK(has("missing required member 'RoleArn'"));
  CHECK(has("unknown member 'Bogus'"));
  CHECK(has("/TrainingJobName: \"-bad_name\" does not match"));
  CHECK(has("/ResourceConfig/InstanceType: \"ml.p9.huge\" is not one of"));
  CHECK(has("/ResourceConfig/InstanceCount: expected an integer"));
  CHECK(has("/StoppingCondition/MaxRuntimeInSeconds: 0 is out of range"));
  CHECK(has("/Environment/1BAD (key)"));
  CHECK(has("/HyperParameters/k: has 2501 characters"));
  CHECK(p.size() == 8);
  CHECK_THROWS_AS(validate_against_shape(ok, "NoSuchShape"), Error);
}

TEST_CASE("the patterns that matter compile; the rest are counted", "[emit]") {
  const PatternCoverage cov = aws_pattern_coverage();
  CHECK(cov.total >= 20);
  // only the tag key/value pattern (Unicode classes \p{L}\p{Z}\p{N}) has no ECMAScript form
  REQUIRE(cov.unchecked.size() == 1);
  CHECK(cov.unchecked[0] == aws_shape_pattern("TagKey"));
  CHECK(matches_shape_pattern("a-b--c9", "TrainingJobName"));
  CHECK_FALSE(matches_shape_pattern("a_b", "TrainingJobName"));
  CHECK(matches_shape_pattern(k_role, "RoleArn"));
  CHECK_FALSE(matches_shape_pattern("arn:aws:iam::12345:role/x", "RoleArn"));
  CHECK(matches_shape_pattern("s3://bucket/key", "S3Uri"));
  CHECK_FALSE(matches_shape_pattern("gs://bucket/key", "S3Uri"));
  CHECK(matches_shape_pattern(k_plan_arn, "TrainingPlanArn"));
  CHECK_FALSE(
      matches_shape_pattern("arn:aws:sagemaker:us-west-2:1:training-plan/x", "TrainingPlanArn"));
  CHECK(matches_shape_pattern("NCCL_DEBUG", "TrainingEnvironmentKey"));
  CHECK_FALSE(matches_shape_pattern("9X", "TrainingEnvironmentKey"));
  // (?<!-) is checked as "no trailing hyphen"
  CHECK(matches_shape_pattern("my-algo", "ArnOrName"));
  CHECK_FALSE(matches_shape_pattern("my-algo-", "ArnOrName"));
}

TEST_CASE("string escaping for Python, TOML and shell", "[emit]") {
  CHECK(python_string_literal("a\"b\\c\nd") == R"("a\"b\\c\nd")");
  CHECK(python_string_literal("ü\x01") == "\"ü\\u0001\"");
  CHECK(toml_string_literal("x\"y") == R"("x\"y")");
  CHECK(shell_quote("it's") == R"('it'"'"'s')");
}

TEST_CASE("emitted requests pass AWS's API model for many plans", "[emit]") {
  const fs::path dir = scratch("many");
  struct Case {
    std::string instance, nodes, tokens;
    bool plan_arn;
  };
  const Case cases[] = {{"ml.p6-b200.48xlarge", "1", "1e10", false},
                        {"ml.p6-b200.48xlarge", "4", "1e12", true},
                        {"ml.p6-b300.48xlarge", "1", "", true}, // no --train-tokens
                        {"ml.p6-b300.48xlarge", "4", "1e11", false}};
  for (const Case& c : cases) {
    const std::string plan = write_search(dir, c.instance, c.nodes, c.tokens);
    for (const std::string rank : {"1", "2"}) {
      const fs::path out = dir / (c.instance + c.nodes + "-" + rank);
      auto args = base_args(plan, out);
      args.insert(args.end(), {"--rank", rank});
      if (!c.tokens.empty()) {
        args.insert(args.end(), {"--train-tokens", c.tokens});
      }
      if (c.plan_arn) {
        args.insert(args.end(), {"--training-plan-arn", k_plan_arn});
      }
      const auto r = test::run_cli(args);
      INFO(c.instance << " x" << c.nodes << " rank " << rank << ": " << r.err);
      REQUIRE(r.status == 0);
      const auto req = read_json(out / "create-training-job.json");
      CHECK(validate_against_shape(req, "CreateTrainingJobRequest").empty());
      CHECK(req["ResourceConfig"]["InstanceType"] == c.instance);
      CHECK(req["ResourceConfig"]["InstanceCount"] == std::stoi(c.nodes));
      CHECK(req["ResourceConfig"].contains("TrainingPlanArn") == c.plan_arn);
      // The PyTorch 2.11 image (torchtitan 0.2.2's torch, CUDA 13.0 for sm_100 and sm_103),
      // from the repository DLC publishes 2.11+ in.
      CHECK(req["AlgorithmSpecification"]["TrainingImage"] ==
            "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch:2.11.0-cu130-amzn2023-sagemaker");
      CHECK(req["AlgorithmSpecification"]["TrainingInputMode"] == "FastFile");
      CHECK(req["InputDataConfig"].size() == 2);
      CHECK(req["InputDataConfig"][1]["ChannelName"] == "tokenizer");
      CHECK(req["HyperParameters"]["sagemaker_program"] == "\"train.py\"");
      // 30 GB + 3 checkpoints of 8.03e9 parameters x (4-byte master + 8 bytes of AdamW state)
      CHECK(req["ResourceConfig"]["VolumeSizeInGB"] == 30 + 290);
      const auto runtime = req["StoppingCondition"]["MaxRuntimeInSeconds"].get<std::int64_t>();
      CHECK(runtime >= 3600);
      CHECK(runtime <= 28 * 24 * 3600);
      if (c.tokens == "0") {
        CHECK(runtime == 86400);
      }
      for (const auto& [k, v] : req["HyperParameters"].items()) {
        CHECK(v.is_string());
      }
      CHECK(req["Environment"]["FI_PROVIDER"] == "efa");
      // variables SageMaker's launchers overwrite, or that do nothing under aws-ofi-nccl
      for (const char* v : {"NCCL_SOCKET_IFNAME", "NCCL_PROTO", "NCCL_IB_HCA"}) {
        CHECK_FALSE(req["Environment"].contains(v));
      }
      check_launch_dir(out);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("hostile user strings are escaped in every file", "[emit]") {
  const fs::path dir = scratch("hostile");
  const std::string plan = write_search(dir, "ml.p6-b200.48xlarge", "1", "1e10");
  for (const std::string sdk : {"v3", "v2"}) {
    const fs::path out = dir / ("out-" + sdk);
    auto args = base_args(plan, out);
    args[9] = "s3://my-bucket/o\"u't\\p\"\"\"ut/";
    args[11] = "s3://my-bucket/tr\"ai'n\\\"\"\"/";
    args[13] = "s3://my-bucket/t$(touch x)`id`'\"/";
    args.insert(args.end(), {"--s3-checkpoints", "s3://my-bucket/c'''\\", "--sdk", sdk});
    const auto r = test::run_cli(args);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(validate_against_shape(read_json(out / "create-training-job.json"),
                                 "CreateTrainingJobRequest")
              .empty());
    CHECK(read_json(out / "hyperparameters.json").is_object());
    check_launch_dir(out);
  }
  fs::remove_all(dir);
}

TEST_CASE("the launch command printed for an output folder with shell characters pastes as one "
          "word",
          "[emit]") {
  const fs::path dir = scratch("shell-word");
  const std::string plan = write_search(dir, "ml.p6-b200.48xlarge", "1", "");
  const fs::path out = dir / "q$(touch PWN)'x y";
  auto args = base_args(plan, out);
  args.pop_back(); // -q: the summary is what is tested
  const auto r = test::run_cli(args);
  REQUIRE(r.status == 0);
  const std::string quoted = "'" + dir.string() + "/q$(touch PWN)'\"'\"'x y/launch.py'";
  CHECK_THAT(r.out, Catch::Contains("launch: python3 " + quoted));
  CHECK(shell_word("/tmp/plain-dir_1/launch.py") == "/tmp/plain-dir_1/launch.py");
  CHECK(shell_word("") == "''");
  CHECK(shell_word("a b") == "'a b'");
  fs::remove_all(dir);
}

TEST_CASE("emit holds a saved plan to its own headroom and refuses an at-risk one unless asked",
          "[emit]") {
  const fs::path dir = scratch("headroom-risk");
  // A search with --headroom 15: the README's usable memory is 85 % of the GPU's, as check and
  // search --emit-sagemaker say (emit from the file said all of it).
  auto r = test::run_cli({"search", "--headroom", "15", "--loss", "fused", "--compile", "--top",
                          "1", "--format", "json", "-q"});
  REQUIRE(r.status == 0);
  std::ofstream(dir / "h.json") << r.out;
  const double capacity = nlohmann::json::parse(r.out)["plans"][0]["memory"]["capacity_bytes"];
  r = test::run_cli(base_args((dir / "h.json").string(), dir / "h"));
  REQUIRE(r.status == 0);
  CHECK_THAT(read_text_file(dir / "h" / "README.md"),
             Catch::Contains(fmt::format("of {:.1f} GiB usable", 0.85 * capacity / (1 << 30))));
  // An at_risk plan (search --include-at-risk ranks them): refused as check refuses it (exit 3
  // there), written with --include-at-risk.
  r = test::run_cli(
      {"search", "--include-at-risk", "--loss", "fused", "--compile", "--format", "json", "-q"});
  REQUIRE(r.status == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  std::int64_t rank = 0;
  for (std::size_t i = 0; i < doc["plans"].size() && rank == 0; ++i) {
    if (doc["plans"][i]["memory"]["verdict"] == "at_risk") {
      rank = static_cast<std::int64_t>(i) + 1;
    }
  }
  REQUIRE(rank > 0);
  std::ofstream(dir / "r.json") << r.out;
  const std::string plan = (dir / "r.json").string();
  CHECK(test::run_cli({"check", "--plan", plan, "--rank", std::to_string(rank)}).status == 3);
  auto args = test::with(base_args(plan, dir / "r"), {"--rank", std::to_string(rank)});
  r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("at risk:") &&
                        Catch::Contains("give --include-at-risk to launch it anyway"));
  CHECK_FALSE(fs::exists(dir / "r"));
  CHECK(test::run_cli(test::with(args, {"--include-at-risk"})).status == 0);
  fs::remove_all(dir);
}

TEST_CASE("emit from an estimate document keeps its --price-per-hour, as from a search's",
          "[emit]") {
  const fs::path dir = scratch("estimate-price");
  const std::string plan = test::write_estimate(
      dir, "priced", {"--instance", "ml.p6-b200.48xlarge", "--price-per-hour", "5"});
  const auto r = test::run_cli(base_args(plan, dir / "out"));
  REQUIRE(r.status == 0);
  CHECK_THAT(read_text_file(dir / "out" / "README.md"),
             Catch::Contains("$5.00 per hour (--price-per-hour)"));
  fs::remove_all(dir);
}

TEST_CASE("bad user settings: exit 1, one line naming the flag, no output", "[emit]") {
  const fs::path dir = scratch("bad");
  const std::string plan = write_search(dir, "ml.p6-b200.48xlarge", "1", "1e10");
  const fs::path out = dir / "out";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--role-arn", "arn:aws:iam::123:role/x"},
      {"--s3-output", "https://example.com/x"},
      {"--s3-train", "s3://"},
      {"--job-name", "bad_name!"},
      {"--job-name", std::string(64, 'a')},
      {"--region", "mars-north-1"},
      {"--training-plan-arn", "arn:aws:sagemaker:us-west-2:123:training-plan/x"},
      {"--max-runtime", "2419201"},
      {"--pytorch-version", "2.6"},
      {"--pytorch-version", "2.10"}, // older than the PyTorch torchtitan 0.2.2 was built against
      {"--s3-tokenizer", "s3:/tok"},
      {"--training-plan-arn", "arn:aws:sagemaker:eu-west-1:123456789012:training-plan/p6-plan-1"},
      // the ARN's own pattern ends in ".*": an empty or bad plan name passes it, not the service
      {"--training-plan-arn", "arn:aws:sagemaker:us-west-2:123456789012:training-plan/"},
      {"--training-plan-arn", "arn:aws:sagemaker:us-west-2:123456789012:training-plan/-plan"},
      {"--training-plan-arn", "arn:aws:sagemaker:us-west-2:123456789012:training-plan/a/b"},
      {"--job-name", std::string(49, 'a')}, // the SDK's 15-character timestamp would cut it
      {"--volume-gb", "-1"},
      {"--volume-gb", "3"}, // P6 has NVMe instance storage: SageMaker ignores the volume
      {"--checkpoint-interval", "-5"},
      {"--max-runtime", "-1"},
      {"--sdk", "v4"},
      // no job would get past its start-up and first checkpoint: the flag at fault is named,
      // not the token count
      {"--max-runtime", "3600"},
      {"--checkpoint-interval", "9223372036854775807"},
      // a channel is every object under its prefix: these would read the other channel's files
      {"--lr", "0"},
      {"--lr", "2"},
      {"--warmup-steps", "-1"},
      {"--s3-train", "s3://my-bucket/tok"}, // a prefix of s3://my-bucket/tokenizers/llama3/
      {"--s3-tokenizer", "s3://my-bucket/data/train/tok/"}, // inside s3://my-bucket/data/train/
      {"--s3-output", "s3://my-bucket/data/train/out/"},    // its checkpoints would be read too
      {"--s3-checkpoints", "s3://my-bucket/data/train/ck/"},
      {"--s3-checkpoints", "ab"}, // checked as an S3 URI before any overlap is read from it
      // the jobs write under <s3-output>/<job name>...: a train prefix that is a string prefix of
      // it would read every output, source archive and checkpoint (attack round 6)
      {"--s3-train", "s3://my-bucket/output/bwplan"},
      {"--s3-tokenizer", "s3://my-bucket/output/"}, // holds every output and checkpoint
      {"--s3-output", "s3://my..bucket/out/"},      // S3's bucket naming rules
      {"--s3-output", "s3://10.1.2.3/out/"},
      {"--s3-train", "s3://my-bucket/da\nta/"}, // shown as \x0a, not a space
      // 0 read as "derive it"; leaving the flag out derives it
      {"--checkpoint-interval", "0"},
      {"--volume-gb", "0"},
      {"--max-runtime", "0"},
      // no ARN at all: said so with the value, not "is in partition ''" (red team, 2026-12-08)
      {"--training-plan-arn", "x"},
      {"--training-plan-arn", "arn:aws-cn"},
  };
  for (const auto& [flag, value] : bad) {
    auto args = base_args(plan, out);
    const auto it = std::find(args.begin(), args.end(), flag);
    if (it != args.end()) {
      *(it + 1) = value; // replace a flag base_args already gives
    } else {
      args.insert(args.end(), {flag, value});
    }
    const auto r = test::run_cli(args);
    INFO(flag << " " << value << ": " << r.err);
    CHECK(r.status == (flag == "--sdk" ? 2 : 1)); // a name the flag does not take: usage
    CHECK(r.err.find(flag) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
    if (value.find('\n') != std::string::npos) {
      CHECK(r.err.find("\\x0a") != std::string::npos);
    }
    if (flag == "--training-plan-arn" && value.find("training-plan/") == std::string::npos) {
      CHECK(r.err.find("'" + value + "' is not a training plan ARN") != std::string::npos);
    }
  }
  // B300 needs CUDA 13: the 2.8 (cu129) image is refused
  const std::string b300 = write_search(dir, "ml.p6-b300.48xlarge", "1", "1e10");
  auto args = base_args(b300, out);
  args.insert(args.end(), {"--pytorch-version", "2.8"});
  CHECK(test::run_cli(args).status == 1);
  CHECK_FALSE(fs::exists(out));
  // --image names the whole image: with --pytorch-version it is a conflict, named
  args = base_args(plan, out);
  args.insert(args.end(), {"--image", "123456789012.dkr.ecr.us-west-2.amazonaws.com/mine:1",
                           "--pytorch-version", "2.12"});
  auto r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK(r.err.find("--image and --pytorch-version") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  // without --train-tokens one job runs the default steps: a runtime too short is refused
  const std::string est = test::write_estimate(dir, "est", {"--instance", "ml.p6-b200.48xlarge"});
  args = base_args(est, out);
  args.insert(args.end(), {"--max-runtime", "1"});
  r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("--max-runtime 1 is shorter than the 1000 default steps"));
  CHECK_FALSE(fs::exists(out));
  // and so is a checkpoint interval no job could reach (it was written as given, unchained):
  // the most is the steps that fit in the default runtime after start-up, margin + n x step
  args = base_args(est, out);
  args.insert(args.end(), {"--checkpoint-interval", "100000000"});
  r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("--checkpoint-interval 100000000: a job's start-up"));
  CHECK_THAT(r.err, Catch::Contains("allowed 1 to "));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(out));
  // more tokens than the chained jobs can train: named as --train-tokens when given, else as
  // the plan's own (a search's --train-tokens, which this command line never saw)
  const std::string big = test::write_estimate(
      dir, "big", {"--instance", "ml.p6-b200.48xlarge", "--train-tokens", "9e15"});
  r = test::run_cli(base_args(big, out));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: the plan's train_tokens 9e+15 needs about"));
  CHECK_FALSE(fs::exists(out));
  r = test::run_cli(test::with(base_args(est, out), {"--train-tokens", "9e15"}));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: --train-tokens 9e+15 needs about"));
  CHECK_FALSE(fs::exists(out));
  // a --max-runtime shorter than the start-up is at fault, whatever interval is given with it
  args = test::with(base_args(est, out), {"--train-tokens", "1e9", "--max-runtime", "100",
                                          "--checkpoint-interval", "10"});
  r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: --max-runtime 100 is not longer than a "
                                      "job's start-up"));
  CHECK_FALSE(fs::exists(out));
  // a missing channel is a usage error naming the flag
  args = base_args(plan, out);
  args.erase(args.begin() + 12, args.begin() + 14);
  r = test::run_cli(args);
  CHECK(r.status == 2);
  CHECK(r.err.find("--s3-tokenizer") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  // no temporary directories left behind
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) {
    ++entries;
  }
  CHECK(entries == 4); // the plan files written above
  fs::remove_all(dir);
}

TEST_CASE("an existing output directory needs --force", "[emit]") {
  const fs::path dir = scratch("force");
  const std::string plan = write_search(dir, "ml.p6-b200.48xlarge", "1", "1e10");
  const fs::path out = dir / "out";
  fs::create_directories(out);
  std::ofstream(out / "keep.txt") << "mine";
  auto r = test::run_cli(base_args(plan, out));
  CHECK(r.status == 1);
  CHECK(r.err.find("--force") != std::string::npos);
  CHECK(fs::exists(out / "keep.txt"));
  CHECK_FALSE(fs::exists(out / "launch.py"));
  // --force replaces only what an emit wrote: a directory holding the user's file is refused
  auto args = base_args(plan, out);
  args.push_back("--force");
  r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK(r.err.find("'keep.txt', which bwplan does not write there") != std::string::npos);
  CHECK(fs::exists(out / "keep.txt"));
  fs::remove(out / "keep.txt");
  r = test::run_cli(args); // an empty directory, as an earlier emit's would be, is replaced
  CHECK(r.status == 0);
  CHECK(fs::exists(out / "launch.py"));
  // an earlier emit's source/ swapped for a link to the user's directory: refused by its own
  // name, and nothing written through the link
  const fs::path theirs = dir / "theirs";
  fs::create_directories(theirs);
  std::ofstream(theirs / "train.py") << "mine";
  fs::remove_all(out / "source");
  fs::create_directory_symlink(theirs, out / "source");
  r = test::run_cli(args);
  CHECK(r.status == 1);
  CHECK(r.err.find("holds 'source' (a symbolic link), which bwplan does not write there") !=
        std::string::npos);
  CHECK(fs::is_symlink(out / "source"));
  std::ifstream kept(theirs / "train.py");
  CHECK(std::string(std::istreambuf_iterator<char>(kept), {}) == "mine");
  fs::remove_all(dir);
}

TEST_CASE("emit from an estimate document, and plans it cannot emit", "[emit]") {
  const fs::path dir = scratch("estimate");
  auto e = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--format", "json"});
  REQUIRE(e.status == 0);
  std::ofstream(dir / "e.json") << e.out;
  auto r = test::run_cli(base_args((dir / "e.json").string(), dir / "out"));
  CHECK(r.status == 0);
  CHECK(fs::exists(dir / "out" / "README.md"));
  // --model gives the plan's own model again; another one's job on this plan's settings is
  // refused (it wrote a qwen3-1.7b job for an 8B plan), the same one is not
  r = test::run_cli(
      test::with(base_args((dir / "e.json").string(), dir / "other"), {"--model", "qwen3-1.7b"}));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("--model qwen3-1.7b: qwen3-1.7b, of another shape than the "
                                    "plan's model 'llama-3.1-8b'"));
  CHECK_FALSE(fs::exists(dir / "other"));
  r = test::run_cli(
      test::with(base_args((dir / "e.json").string(), dir / "same"), {"--model", "llama-3.1-8b"}));
  CHECK(r.status == 0);
  // the same shape under another name (a config.json is named after its folder) is the plan's
  nlohmann::json renamed =
      nlohmann::json::parse(read_text_file(test::source_path("configs/models/llama-3.1-8b.json")));
  renamed["name"] = "my-8b";
  std::ofstream(dir / "my-8b.json") << renamed.dump();
  r = test::run_cli(test::with(base_args((dir / "e.json").string(), dir / "renamed"),
                               {"--model", (dir / "my-8b.json").string()}));
  INFO(r.err);
  CHECK(r.status == 0);
  e = test::run_cli(
      {"estimate", "--model", "llama-3.1-8b", "--gpu", "b200", "--gpus", "8", "--format", "json"});
  std::ofstream(dir / "g.json") << e.out;
  r = test::run_cli(base_args((dir / "g.json").string(), dir / "out2"));
  CHECK(r.status == 1);
  CHECK(r.err.find("--instance") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out2"));
  // A mixture of experts under expert parallelism launches as torchtitan's own flavor (the
  // checkpoint size once divided by an expert-parallel shard group of 1 and crashed); one of no
  // torchtitan flavor is refused by name, nothing written.
  e = test::run_cli({"estimate", "--model", "qwen3-30b-a3b", "--ep", "8", "--instance",
                     "ml.p6-b200.48xlarge", "--format", "json"});
  REQUIRE(e.status == 0);
  std::ofstream(dir / "moe.json") << e.out;
  r = test::run_cli(base_args((dir / "moe.json").string(), dir / "out3"));
  REQUIRE(r.status == 0);
  const std::string toml = read_text_file(dir / "out3" / "source" / "torchtitan.toml");
  CHECK_THAT(toml, Catch::Contains("name = \"qwen3\""));
  CHECK_THAT(toml, Catch::Contains("flavor = \"30B-A3B\""));
  CHECK_THAT(toml, Catch::Contains("expert_parallel_degree = 8"));
  // Qwen3-235B-A22B is torchtitan 0.2.2's flavor of that shape (models/qwen3/__init__.py), with
  // a RoPE base of 5e6 where Qwen's config.json has 1e6: it launches, and emit says so.
  e = test::run_cli({"estimate", "--model", "qwen3-235b-a22b", "--ep", "8", "--instance",
                     "ml.p6-b300.48xlarge", "--nodes", "8", "--format", "json"});
  REQUIRE(e.status == 0);
  std::ofstream(dir / "big.json") << e.out;
  r = test::run_cli(base_args((dir / "big.json").string(), dir / "out5"));
  REQUIRE(r.status == 0);
  const std::string big = read_text_file(dir / "out5" / "source" / "torchtitan.toml");
  CHECK_THAT(big, Catch::Contains("flavor = \"235B-A22B\""));
  CHECK_THAT(r.out, Catch::Contains("its RoPE base is 5,000,000"));
  e = test::run_cli({"estimate", "--model", "mixtral-8x7b", "--ep", "8", "--instance",
                     "ml.p6-b200.48xlarge", "--format", "json"});
  REQUIRE(e.status == 0);
  std::ofstream(dir / "mixtral.json") << e.out;
  r = test::run_cli(base_args((dir / "mixtral.json").string(), dir / "out6"));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("mixtral-8x7b and its ep cannot be launched"));
  CHECK_THAT(r.err, Catch::Contains("bwplan launches qwen3 30B-A3B, qwen3 235B-A22B, deepseek_v3 "
                                    "671B, gpt_oss 20b, gpt_oss 120b"));
  CHECK_FALSE(fs::exists(dir / "out6"));
  // gpt-oss (sinks, sliding windows, biased experts) and DeepSeek-V3 (latent attention, shared
  // experts, 3 dense blocks) launch as torchtitan's own flavors; at fp8 the experts' grouped
  // GEMMs get their converter, and the router stays bf16 as in torchtitan's MoE configs (MXFP8
  // on a mixture is refused: test_emit_trainer.cpp).
  struct Native {
    std::vector<std::string> flags;
    std::string name, flavor;
  };
  const std::vector<Native> natives = {
      {{"--model", "gpt-oss-20b", "--ep", "8", "--instance", "ml.p6-b200.48xlarge"},
       "gpt_oss",
       "20b"},
      {{"--model", "gpt-oss-120b", "--ep", "8", "--instance", "ml.p6-b200.48xlarge", "--nodes",
        "2"},
       "gpt_oss",
       "120b"},
      {{"--model", "deepseek-v3", "--ep", "128", "--instance", "ml.p6-b300.48xlarge", "--nodes",
        "16"},
       "deepseek_v3",
       "671B"},
  };
  for (const Native& n : natives) {
    const std::string name = n.name + "-" + n.flavor;
    // gpt_oss's parallelize step compiles no block (refused under --compile: test_emit_trainer.cpp)
    const std::string plan = test::write_estimate(
        dir, name,
        test::with(n.flags,
                   n.name == "gpt_oss"
                       ? std::vector<std::string>{"--precision", "fp8-rowwise", "--loss", "unfused"}
                       : std::vector<std::string>{"--precision", "fp8-rowwise", "--loss", "fused",
                                                  "--compile"}));
    // DeepSeek-V3 on 16 B300 is at_risk: launched when asked (what is tested is its flavor)
    r = test::run_cli(test::with(base_args(plan, dir / name), {"--include-at-risk"}));
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto t = test::read_toml(dir / name);
    CHECK(t["model"]["name"] == n.name);
    CHECK(t["model"]["flavor"] == n.flavor);
    CHECK(t["model"]["converters"] ==
          nlohmann::json::array({"quantize.linear.float8", "quantize.grouped_mm.float8"}));
    CHECK(t["quantize"]["grouped_mm"]["float8"]["fqns"] == nlohmann::json::array({"experts"}));
    CHECK(t["quantize"]["linear"]["float8"]["filter_fqns"] ==
          nlohmann::json::array({"output", "router.gate"}));
    const auto model = read_json(dir / name / "source" / "model.json");
    CHECK(model["parameters"] == read_json(plan)["model"]["parameters"]);
    check_launch_dir(dir / name);
  }
  // Under fp8 the experts run torchao's float8 grouped GEMM, rowwise under either recipe.
  r = test::run_cli(
      base_args(test::write_estimate(dir, "fp8",
                                     {"--model", "gpt-oss-20b", "--ep", "8", "--instance",
                                      "ml.p6-b200.48xlarge", "--precision", "fp8-tensorwise"}),
                dir / "fp8"));
  REQUIRE(r.status == 0);
  const auto fp8 = test::read_toml(dir / "fp8");
  CHECK(fp8["model"]["converters"] ==
        nlohmann::json::array({"quantize.linear.float8", "quantize.grouped_mm.float8"}));
  CHECK(fp8["quantize"]["grouped_mm"]["float8"]["fqns"] == nlohmann::json::array({"experts"}));
  check_launch_dir(dir / "fp8");
  // What torchtitan 0.2.2 cannot run of them: context parallelism of FlexAttention models.
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--cp", "2", "--ep", "4"}, "cp '2' cannot be launched"},
  };
  for (const auto& [flags, message] : refused) {
    const std::string plan = test::write_estimate(
        dir, "oss",
        test::with({"--model", "gpt-oss-20b", "--instance", "ml.p6-b200.48xlarge"}, flags));
    r = test::run_cli(base_args(plan, dir / "out6"));
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains(message));
    CHECK_FALSE(fs::exists(dir / "out6"));
  }
  // A tensor-parallel plan checkpoints the whole model, not one rank's slice: 70.55e9
  // parameters x 12 bytes = 846.6 GB, 3 of them + 30 GB of volume.
  e = test::run_cli({"estimate", "--model", "llama-3.1-70b", "--tp", "4", "--instance",
                     "ml.p6-b200.48xlarge", "--nodes", "2", "--format", "json"});
  REQUIRE(e.status == 0);
  std::ofstream(dir / "tp.json") << e.out;
  r = test::run_cli(base_args((dir / "tp.json").string(), dir / "out4"));
  REQUIRE(r.status == 0);
  const auto req = read_json(dir / "out4" / "create-training-job.json");
  CHECK(req["ResourceConfig"]["VolumeSizeInGB"] == 30 + 2540);
  fs::remove_all(dir);
}

TEST_CASE("a search names the plans torchtitan cannot run and the first it can; emit points there",
          "[emit]") {
  const fs::path dir = scratch("first-launchable");
  // The default loss axis ranks torchtitan's 2026 ChunkedCELoss (chunked-head) first for 8B on
  // one B200 node; torchtitan 0.2.2 has no chunked loss, so plans 1 to 3 do not launch (with the
  // upper edge's base fraction at 0.06: 2026-12-06 and since blind18 on 2026-12-07; 1 and 2 at
  // 0.07 in between, when the fused plan now fourth ranked third).
  const std::vector<std::string> search = {
      "search", "--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge", "--top", "5"};
  auto s = test::run_cli(test::with(search, {"--format", "json"}));
  REQUIRE(s.status == 0);
  const auto doc = nlohmann::json::parse(s.out);
  REQUIRE(doc.contains("launch"));
  const auto& launch = doc["launch"];
  REQUIRE(launch["refused"].size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(launch["refused"][i]["rank"] == i + 1);
    CHECK(doc["plans"][i]["config"]["loss"] == "chunked-head");
    CHECK_THAT(launch["refused"][i]["reason"].get<std::string>(),
               Catch::Contains("loss 'chunked-head' cannot be launched with torchtitan 0.2.2"));
  }
  CHECK(launch["first_launchable_rank"] == 4);
  CHECK(doc["plans"][3]["config"]["loss"] == "fused");
  std::ofstream(dir / "s.json") << s.out;
  // emit of plan 1 fails naming plan 4, nothing written; plan 4 launches.
  auto r = test::run_cli(base_args((dir / "s.json").string(), dir / "out"));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("is the best-ranked one that launches (--rank 4)"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(dir / "out"));
  r = test::run_cli(test::with(base_args((dir / "s.json").string(), dir / "out"), {"--rank", "4"}));
  CHECK(r.status == 0);
  CHECK(fs::exists(dir / "out" / "source" / "torchtitan.toml"));
  // The table says the same under the plans; a search that launches its first plan says nothing.
  s = test::run_cli(search);
  CHECK_THAT(s.out, Catch::Contains("launch: plans 1, 2, 3: the plan's loss 'chunked-head'"));
  CHECK_THAT(s.out, Catch::Contains("launch: plan 4 is the best-ranked plan that launches "
                                    "(bwplan emit sagemaker --rank 4)"));
  // search --emit-sagemaker writes plan 1 (by default its loss axis leaves both chunked losses
  // out);
  // one the trainer cannot run is refused naming the first plan that launches, nothing written
  // (it failed inside the launch-file writer, never saying which plan could launch)
  std::vector<std::string> emit_args = base_args((dir / "s.json").string(), dir / "e");
  const auto aws = std::find(emit_args.begin(), emit_args.end(), "--role-arn");
  const auto search_emit = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> args = test::with(
        test::with({"search", "--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge"},
                   flags),
        {"--emit-sagemaker", (dir / "e").string()});
    args.insert(args.end(), aws, emit_args.end());
    return test::run_cli(args);
  };
  s = search_emit({"--loss", "chunked-head", "--compile", "--top", "5"});
  CHECK(s.status == 1);
  CHECK(s.out.empty());
  CHECK_THAT(s.err, Catch::Contains("plan 1: the plan's loss 'chunked-head' cannot be launched") &&
                        Catch::Contains("no plan listed launches"));
  CHECK(std::count(s.err.begin(), s.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(dir / "e"));
  // LoRA ranks above full fine-tuning; torchtitan 0.2.2 trains every parameter
  s = search_emit({"--seq-len", "8192", "--finetune", "full,lora", "--top", "200"});
  CHECK(s.status == 1);
  CHECK_THAT(s.err, Catch::Contains("plan 1: the plan's finetune 'lora' cannot be launched") &&
                        Catch::Matches(".*plan [1-9][0-9]+ is the best-ranked plan that "
                                       "launches: save the search with --format json.*\n"));
  CHECK_FALSE(fs::exists(dir / "e"));
  s = test::run_cli(test::with(search, {"--loss", "fused", "--compile"}));
  CHECK(s.out.find("launch:") == std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a plan that stands for several recipes launches in the first torchtitan runs",
          "[emit]") {
  const fs::path dir = scratch("alike-recipe");
  // 405B at 32k on 16 B200 nodes without context parallelism: 2-way tensor parallelism,
  // compiled, ranks first as "mxfp8 ~ fp8-tensorwise ~ fp8-rowwise"; torchtitan 0.2.2 asserts no
  // MXFP8 with tensor parallelism under compile (components/quantization/mx.py), and runs
  // fp8-tensorwise. (With context parallelism searched, a plan over cp 2 without tensor
  // parallelism ranks first since the upper edge's base fraction is 0.06, and launches.)
  const std::vector<std::string> search = {
      "search",  "--model",   "llama-3.1-405b", "--instance", "ml.p6-b200.48xlarge",
      "--nodes", "16",        "--seq-len",      "32768",      "--loss",
      "unfused", "--compile", "--cp",           "1",          "--top",
      "3"};
  auto s = test::run_cli(test::with(search, {"--format", "json"}));
  REQUIRE(s.status == 0);
  const auto doc = nlohmann::json::parse(s.out);
  REQUIRE(doc["plans"][0]["config"]["precision"] == "mxfp8");
  REQUIRE(doc["plans"][0]["alike_precisions"] ==
          nlohmann::json::array({"fp8-tensorwise", "fp8-rowwise"}));
  REQUIRE(doc.contains("launch"));
  CHECK(doc["launch"]["refused"].size() == 1);
  CHECK(doc["launch"]["first_launchable_rank"] == 1);
  CHECK(doc["launch"]["first_launchable_precision"] == "fp8-tensorwise");
  std::ofstream(dir / "s.json") << s.out;
  // emit as listed: refused, naming the recipe; with it: the float8 converter, and it runs.
  auto r = test::run_cli(base_args((dir / "s.json").string(), dir / "out"));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("plan 1 launches with --precision fp8-tensorwise"));
  CHECK_FALSE(fs::exists(dir / "out"));
  r = test::run_cli(test::with(base_args((dir / "s.json").string(), dir / "out"),
                               {"--precision", "fp8-tensorwise"}));
  REQUIRE(r.status == 0);
  const auto t = test::read_toml(dir / "out");
  CHECK(t["model"]["converters"] == nlohmann::json::array({"quantize.linear.float8"}));
  CHECK(t["parallelism"]["tensor_parallel_degree"] == 2);
  check_launch_dir(dir / "out");
  // a recipe the plan does not stand for is refused
  r = test::run_cli(
      test::with(base_args((dir / "s.json").string(), dir / "out2"), {"--precision", "bf16"}));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("allowed: mxfp8, fp8-tensorwise, fp8-rowwise"));
  CHECK_FALSE(fs::exists(dir / "out2"));
  // nor can an edit make it stand for one: a search groups only other low-precision recipes,
  // each once (bf16 there launched a plan no search had ranked)
  for (const nlohmann::json& edited : {nlohmann::json::array({"fp8-tensorwise", "bf16"}),
                                       nlohmann::json::array({"fp8-tensorwise", "fp8-tensorwise"}),
                                       nlohmann::json::array({"mxfp8"})}) {
    nlohmann::json e = doc;
    e["plans"][0]["alike_precisions"] = edited;
    std::ofstream(dir / "edited.json") << e.dump();
    r = test::run_cli(test::with(base_args((dir / "edited.json").string(), dir / "out2"),
                                 {"--precision", "fp8-tensorwise"}));
    INFO(edited.dump());
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("/plans/0/alike_precisions: \"") &&
                          Catch::Contains("is not a recipe a search groups with this mxfp8 plan"));
    CHECK_FALSE(fs::exists(dir / "out2"));
  }
  // the table says so, and --emit-sagemaker writes plan 1 in that recipe
  s = test::run_cli(search);
  CHECK_THAT(s.out, Catch::Contains("launch: plan 1 launches as fp8-tensorwise, a recipe it "
                                    "stands for (bwplan emit sagemaker --rank 1 --precision "
                                    "fp8-tensorwise)"));
  std::vector<std::string> emit_args = base_args((dir / "s.json").string(), dir / "e");
  const auto aws = std::find(emit_args.begin(), emit_args.end(), "--role-arn");
  std::vector<std::string> with_emit =
      test::with(search, {"--emit-sagemaker", (dir / "e").string()});
  with_emit.insert(with_emit.end(), aws, emit_args.end());
  s = test::run_cli(with_emit);
  INFO(s.err);
  REQUIRE(s.status == 0);
  CHECK_THAT(s.out, Catch::Contains("plan 1 is written as fp8-tensorwise"));
  CHECK(test::read_toml(dir / "e")["model"]["converters"] ==
        nlohmann::json::array({"quantize.linear.float8"}));
  fs::remove_all(dir);
}

TEST_CASE("a plan none of whose recipes launches says what stops the next recipe too", "[emit]") {
  // Qwen3-30B-A3B's first plan with op-level SAC: MXFP8 (grouped GEMMs the pinned torchao cannot
  // run) and chunked-head (no ChunkedCELoss in torchtitan 0.2.2), so fp8-tensorwise alone does
  // not launch it. (Searched over every checkpointing mode, a fully checkpointed plan listed as
  // fp8-tensorwise ranks first since the upper edge's base fraction is 0.06.)
  const auto s = test::run_cli({"search", "--model", "qwen3-30b-a3b", "--activation-checkpointing",
                                "selective-op", "--top", "3", "--format", "json"});
  REQUIRE(s.status == 0);
  const auto doc = nlohmann::json::parse(s.out);
  REQUIRE(doc["plans"][0]["config"]["precision"] == "mxfp8");
  REQUIRE(doc["plans"][0]["config"]["loss"] == "chunked-head");
  const std::string why = doc["launch"]["refused"][0]["reason"];
  CHECK_THAT(why, Catch::StartsWith("the plan's precision 'mxfp8' cannot be launched") &&
                      Catch::Contains("; as fp8-tensorwise, a recipe it stands for: the plan's "
                                      "loss 'chunked-head' cannot be launched"));
  // emit of that plan says the same (it named only the precision, so --precision fp8-tensorwise
  // read as the fix); nothing is written.
  const fs::path dir = scratch("recipes-refused");
  std::ofstream(dir / "s.json") << s.out;
  const auto e = test::run_cli(base_args((dir / "s.json").string(), dir / "out"));
  CHECK(e.status == 1);
  CHECK_THAT(e.err, Catch::StartsWith("bwplan: error: " + why + "; "));
  CHECK_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}

TEST_CASE("golden launch files", "[emit][golden]") {
  const fs::path golden = test::source_path("tests/golden-emit");
  const fs::path dir = scratch("golden");
  struct Case {
    std::string name, instance, nodes;
    std::vector<std::string> extra;
  };
  const Case cases[] = {
      {"b200-1node-v3", "ml.p6-b200.48xlarge", "1", {"--train-tokens", "1e10"}},
      {"b300-4node-plan-v2",
       "ml.p6-b300.48xlarge",
       "4",
       {"--train-tokens", "1e11", "--training-plan-arn",
        "arn:aws:sagemaker:eu-south-2:123456789012:training-plan/p6-plan-1", "--sdk", "v2",
        "--region", "eu-south-2"}},
  };
  for (const Case& c : cases) {
    const std::string plan = write_search(dir, c.instance, c.nodes, "1e10");
    const fs::path out = dir / c.name;
    auto args = base_args(plan, out);
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = test::run_cli(args);
    INFO(c.name << ": " << r.err);
    REQUIRE(r.status == 0);
    // the entry script is data/launch/train.py as it is
    CHECK(read_text_file(out / "source" / "train.py") ==
          read_text_file(test::source_path("data/launch/train.py")));
    // golden copies end in .golden, so that code-duplication tools do not read them as code
    for (const char* f :
         {"create-training-job.json", "launch.py", "submit.sh", "hyperparameters.json", "README.md",
          "source/torchtitan.toml", "source/requirements.txt", "source/model.json"}) {
      test::check_golden(golden / c.name / (std::string(f) + ".golden"), read_text_file(out / f));
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("a derived job name is cut where it still reads right", "[emit]") {
  // 405B over 16 P6-B200 nodes in fp8-tensorwise, chained: the base was cut to
  // "bwplan-llama-3-1-405b-16xp6-b200-fp8-te", which reads as Transformer Engine (launch review)
  const fs::path dir = scratch("names");
  const std::string plan = test::write_estimate(
      dir, "405b",
      {"--model", "llama-3.1-405b", "--instance", "ml.p6-b200.48xlarge", "--nodes", "16",
       "--precision", "fp8-tensorwise", "--activation-checkpointing", "full", "--loss", "fused",
       "--compile", "--train-tokens", "1e12"});
  const fs::path out = dir / "out";
  const auto r = test::run_cli(base_args(plan, out.string()));
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string name = read_json(out / "create-training-job.json").at("TrainingJobName");
  // chained (1e12 tokens, about 405 days, read back from the estimate document: it was lost and
  // the job ran the default 1000 steps): 45 characters for the base, so the instance type gives
  // way
  CHECK(name.starts_with("bwplan-llama-3-1-405b-16n-fp8tw-"));
  CHECK(name.size() <= 45);
}
