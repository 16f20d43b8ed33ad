// Helpers for the `emit sagemaker` tests: plans to emit, the emit command line, and the check of
// a launch directory against the pinned upstream sources (tests/launch/check_launch.py).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace bwplan::test {

inline const std::string k_role = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";
inline const std::string k_plan_arn =
    "arn:aws:sagemaker:us-west-2:123456789012:training-plan/p6-plan-1";

/// `a` with the flags of `b` added; a flag `a` already has takes `b`'s value.
inline std::vector<std::string> with(std::vector<std::string> a,
                                     const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    const auto it = std::find(a.begin(), a.end(), b[i]);
    if (b[i].starts_with("--") && it != a.end() && i + 1 < b.size() && it + 1 != a.end() &&
        !(it + 1)->starts_with("--")) {
      *(it + 1) = b[++i];
    } else {
      a.push_back(b[i]);
    }
  }
  return a;
}

/// A search document for Llama-3.1-8B on `nodes` x `instance`, written into `dir`.
inline std::string write_search(const std::filesystem::path& dir, const std::string& instance,
                                const std::string& nodes, const std::string& tokens) {
  // The losses torchtitan can launch (the default loss axis includes chunked cross-entropy).
  std::vector<std::string> args = {"search",  "--model", "llama-3.1-8b", "--instance", instance,
                                   "--nodes", nodes,     "--loss",       "fused",      "--compile",
                                   "--top",   "3",       "--format",     "json",       "-q"};
  if (!tokens.empty()) { // "": no --train-tokens
    args.insert(args.end(), {"--train-tokens", tokens});
  }
  const auto r = run_cli(args);
  REQUIRE(r.status == 0);
  const std::filesystem::path p = dir / ("search-" + instance + "-" + nodes + ".json");
  std::ofstream(p, std::ios::binary) << r.out;
  return p.string();
}

/// An estimate document for `flags` (model, instance and training flags), written into `dir`.
inline std::string write_estimate(const std::filesystem::path& dir, const std::string& name,
                                  std::vector<std::string> flags) {
  flags.insert(flags.begin(), "estimate");
  flags.insert(flags.end(), {"--format", "json", "-q"});
  const auto r = run_cli(flags);
  INFO(name << ": " << r.err);
  REQUIRE(r.status == 0);
  const std::filesystem::path p = dir / (name + ".json");
  std::ofstream(p, std::ios::binary) << r.out;
  return p.string();
}

inline std::vector<std::string> base_args(const std::string& plan,
                                          const std::filesystem::path& out) {
  return {"emit",
          "sagemaker",
          "--plan",
          plan,
          "--out",
          out.string(),
          "--role-arn",
          k_role,
          "--s3-output",
          "s3://my-bucket/output/",
          "--s3-train",
          "s3://my-bucket/data/train/",
          "--s3-tokenizer",
          "s3://my-bucket/tokenizers/llama3/",
          "-q"};
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(read_text_file(p));
}

/// Runs a Python one-liner or script; true when it exits 0. Output goes to `log`.
inline bool run_python(const std::string& args, const std::filesystem::path& log) {
  const std::string cmd = "python3 " + args + " > '" + log.string() + "' 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// tests/launch/check_launch.py on a launch directory: every Python file compiles, the TOML
/// loads against the pinned torchtitan's config classes, launch.py's SDK calls match the SDK's
/// source, requirements are pinned (tests/data/*.json hold those upstream facts).
inline void check_launch_dir(const std::filesystem::path& out) {
  const std::filesystem::path log = out.parent_path() / (out.filename().string() + ".check.log");
  const bool ok =
      run_python("'" + source_path("tests/launch/check_launch.py") + "' '" + out.string() +
                     "' --torchtitan '" + source_path("tests/data/torchtitan-v0.2.2.json") +
                     "' --sdk '" + source_path("tests/data/sagemaker-sdk-v3.20.0.json") + "'",
                 log);
  INFO(read_text_file(log));
  CHECK(ok);
  CHECK(read_text_file(log).starts_with("ok "));
  // train.py run as SageMaker runs it, against stand-ins for torchtitan: torchtitan's parser
  // must read the plan's torchtitan.toml, not the job's hyperparameters
  const std::filesystem::path ran = out.parent_path() / (out.filename().string() + ".run.log");
  const bool runs = run_python(
      "'" + source_path("tests/launch/run_train_stub.py") + "' '" + out.string() + "'", ran);
  INFO(read_text_file(ran));
  CHECK(runs);
  // launch.py and submit.sh run against stand-ins for the SDK and the AWS CLI: dry run, a chain
  // of jobs, a job never created, a failed one, a chain cut short; submit.sh's job name
  const std::filesystem::path chain = out.parent_path() / (out.filename().string() + ".launch.log");
  const bool launches = run_python(
      "'" + source_path("tests/launch/run_launch_stub.py") + "' '" + out.string() + "'", chain);
  INFO(read_text_file(chain));
  CHECK(launches);
}

/// The launch directory's torchtitan.toml as JSON (read by Python's tomllib).
inline nlohmann::json read_toml(const std::filesystem::path& out) {
  const std::filesystem::path toml = out / "source" / "torchtitan.toml";
  const std::filesystem::path js = out.parent_path() / (out.filename().string() + ".toml.json");
  REQUIRE(
      run_python("-c 'import json,sys,tomllib; json.dump(tomllib.load(open(sys.argv[1],\"rb\")),"
                 "sys.stdout)' '" +
                     toml.string() + "'",
                 js));
  return read_json(js);
}

} // namespace bwplan::test
