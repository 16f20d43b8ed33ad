// JSON output contracts (docs/bwplan.md): every `--format json` document matches its schema in
// docs/schema/, carries units in its numeric keys' names, and is byte-identical for the same input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bwplan/config_fields.hpp"
#include "bwplan/render.hpp"
#include "json_schema.hpp"
#include "test_support.hpp"

using namespace bwplan;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string k_schema_base = "https://bwplan.dev/schema/";

/// Every docs/schema/*.schema.json, loaded once (unsupported keywords throw here).
const test::SchemaSet& schemas() {
  static const test::SchemaSet set = [] {
    test::SchemaSet s;
    for (const auto& e : fs::directory_iterator(test::source_path("docs/schema"))) {
      s.add(json::parse(read_text_file(e.path())));
    }
    s.check_refs();
    return s;
  }();
  return set;
}

std::string joined(const std::vector<std::string>& args) {
  std::string s = "bwplan";
  for (const std::string& a : args) {
    s += " " + a;
  }
  return s;
}

/// One `--format json` run: the schema its output must match and the exit status it must have.
struct Output {
  std::string schema; ///< docs/schema/<schema>.schema.json
  std::vector<std::string> args;
  int status = 0;
};

/// Plan files the check outputs read, written by search/estimate runs of this table.
fs::path plan_path(const std::string& name) {
  return fs::temp_directory_path() / ("bwplan-schema-" + name + ".json");
}

const std::vector<Output>& estimate_outputs() {
  static const std::vector<Output> v = {
      {"estimate", {"estimate"}},
      {"estimate",
       {"estimate", "--model", "llama-3.2-1b", "--instance", "ml.p5.48xlarge", "--precision",
        "fp8-rowwise", "--activation-checkpointing", "none", "--micro-batch", "2"}},
      {"estimate",
       {"estimate", "--model", "llama-3.1-8b", "--instance", "ml.p6-b300.48xlarge", "--nodes", "2",
        "--sharding", "hybrid", "--precision", "mxfp8", "--activation-checkpointing",
        "selective-layer", "--ac-every", "3", "--train-tokens", "1e10"}},
      {"estimate",
       {"estimate", "--model", "llama-3.1-70b", "--instance", "ml.p6-b200.48xlarge", "--nodes", "4",
        "--activation-checkpointing", "full", "--micro-batch", "2", "--train-tokens", "1e11"}},
      {"estimate",
       {"estimate", "--model", "qwen3-32b", "--instance", "ml.p6-b300.48xlarge", "--nodes", "2",
        "--precision", "fp8-tensorwise", "--fp8-all-gather", "--loss", "chunked", "--compile",
        "--optimizer", "adamw-8bit"}},
      {"estimate",
       {"estimate", "--model", "llama-3.1-8b", "--sharding", "grad-op", "--grad-accum", "4",
        "--no-sync", "--optimizer-impl", "foreach", "--norm-impl", "upcast", "--fsdp-wrap", "root",
        "--precision", "fp8-rowwise", "--fp8-backend", "te"}},
      {"estimate",
       {"estimate", "--model", "llama-3.2-1b", "--instance", "ml.p5.48xlarge", "--sharding", "none",
        "--precision", "fp32", "--optimizer", "sgd"}},
      {"estimate",
       {"estimate", "--model", "llama-3.2-1b", "--precision", "bf16-pure", "--optimizer", "lion",
        "--price-per-hour", "50", "--global-batch-tokens", "4e6", "--headroom", "10"}},
      {"estimate",
       {"estimate", "--model", "qwen3-32b", "--instance", "ml.p6-b300.48xlarge", "--precision",
        "nvfp4", "--optimizer", "adafactor", "--loss", "fused"}},
      {"estimate",
       {"estimate", "--model", "llama-3.1-8b", "--cpu-offload", "--instance", "ml.p5.48xlarge"}},
      // pipeline stages (interleaved, with tensor parallelism): the pipeline fields
      {"estimate",
       {"estimate", "--model", "llama-3.1-70b", "--instance", "ml.p6-b200.48xlarge", "--nodes", "4",
        "--tp", "4", "--pp", "4", "--pp-schedule", "interleaved-1f1b", "--grad-accum", "16"}},
      // a job given as GPUs: no instance (null), no price
      {"estimate",
       {"estimate", "--model", "llama-3.2-1b", "--gpu", "h100-sxm-80gb", "--gpus", "2"}},
      // a Hugging Face config.json: gelu, layernorm, biases
      {"estimate",
       {"estimate", "--model", test::source_path("tests/fixtures/hf/gpt-neox-20b.config.json"),
        "--instance", "ml.p5.48xlarge", "--seq-len", "2048"}},
      // does not fit: out of memory (with advice), precision unsupported, host memory exceeded
      {"estimate", {"estimate", "--model", "llama-3.1-8b", "--micro-batch", "12"}, 3},
      {"estimate",
       {"estimate", "--model", "llama-3.1-70b", "--instance", "ml.p5.48xlarge", "--sharding",
        "none"},
       3},
      {"estimate",
       {"estimate", "--gpu", "h100-sxm-80gb", "--gpus", "8", "--precision", "mxfp8"},
       3},
      {"estimate",
       {"estimate", "--model", "llama-3.1-405b", "--cpu-offload", "--instance", "ml.p5.48xlarge",
        "--activation-checkpointing", "full", "--seq-len", "1024"},
       3},
  };
  return v;
}

const std::vector<Output>& search_outputs() {
  static const std::vector<Output> v = {
      {"search", {"search"}},
      {"search",
       {"search", "--model", "llama-3.1-405b", "--nodes", "16", "--seq-len", "32768", "--loss",
        "unfused", "--compile", "--top", "3"}},
      {"search",
       {"search", "--model", "llama-3.1-70b", "--instance",
        "ml.p6-b200.48xlarge,ml.p6-b300.48xlarge,ml.p5.48xlarge", "--nodes", "1,2", "--top", "5",
        "--objective", "cost", "--train-tokens", "1e11"}},
      {"search",
       {"search",
        "--model",
        "qwen3-32b",
        "--instance",
        "ml.p6-b300.48xlarge",
        "--nodes",
        "1..2",
        "--precision",
        "bf16,mxfp8",
        "--activation-checkpointing",
        "full,selective-layer:2",
        "--seq-len",
        "4096,8192",
        "--objective",
        "time",
        "--train-tokens",
        "1e10",
        "--global-batch-tokens",
        "4e6",
        "--max-usd-per-hour",
        "200"}},
      {"search",
       {"search", "--model", "llama-3.2-1b", "--instance", "ml.p5.48xlarge", "--price-per-hour",
        "40", "--headroom", "10", "--explore-seq", "--top", "3"}},
      // nothing fits: exit 3, the JSON still printed, with advice for the nearest miss
      {"search",
       {"search", "--model", "llama-3.1-405b", "--instance", "ml.p5.48xlarge", "--sharding",
        "none"},
       3},
      // nothing within budget
      {"search", {"search", "--model", "llama-3.1-8b", "--max-usd-per-hour", "1"}, 3},
      // bf16 ranks first and the faster fp8 plan is reported as passed over
      {"search", {"search", "--model", "llama-3.2-1b", "--instance", "ml.p6-b200.48xlarge"}},
      // every candidate fits: nothing rejected, best_rejected an empty object (was null)
      {"search",
       {"search", "--model", "llama-3.2-1b", "--seq-len", "128", "--max-micro-batch", "1"}},
  };
  return v;
}

const std::vector<Output>& catalog_and_validate_outputs() {
  static const std::vector<Output> v = {
      {"models", {"models"}},
      {"gpus", {"gpus"}},
      {"instances", {"instances"}},
      {"models", {"--configs", test::source_path("configs"), "models"}},
      {"validation", {"validate", test::source_path("tests/data/measurements.json")}},
      {"validation", {"validate", test::source_path("tests/data/measurements-h100-fakepg.json")}},
      {"validation",
       {"validate", test::source_path("tests/data/measurements-h100-fakepg-holdout.json")}},
  };
  return v;
}

/// `calibrate` writes its profile to --output (and prints it with --format json).
const std::vector<Output>& calibration_outputs() {
  static const std::vector<Output> v = {
      {"calibration",
       {"calibrate", test::source_path("tests/data/measurements.json"), "--output",
        (fs::temp_directory_path() / "bwplan-schema-calibration.json").string(), "--force"}},
  };
  return v;
}

/// Check outputs, reading the plans `plan_sources(tag)` writes (a tag per test case: ctest runs
/// test cases in parallel processes).
std::vector<Output> check_outputs(const std::string& tag) {
  const std::string search = plan_path(tag + "-search").string();
  const std::string estimate = plan_path(tag + "-estimate").string();
  return {
      {"check", {"check", "--plan", search}},
      {"check", {"check", "--plan", search, "--rank", "2"}},
      {"check", {"check", "--plan", estimate}},
      {"check", {"check", "--plan", search, "--set", "memory.cuda_context_bytes=5e10"}, 3},
      {"check", {"check", "--plan", estimate, "--model", "llama-3.1-405b"}, 3},
  };
}

std::vector<Output> plan_sources(const std::string& tag) {
  return {
      {"search",
       {"search", "--model", "llama-3.1-70b", "--instance",
        "ml.p6-b200.48xlarge,ml.p6-b300.48xlarge", "--nodes", "1,2", "--output",
        plan_path(tag + "-search").string(), "--force"}},
      {"estimate",
       {"estimate", "--model", "llama-3.1-8b", "--instance", "ml.p6-b300.48xlarge", "--output",
        plan_path(tag + "-estimate").string(), "--force"}},
  };
}

std::vector<Output> all_outputs() {
  std::vector<Output> all;
  for (const auto& t : {estimate_outputs(), search_outputs(), catalog_and_validate_outputs(),
                        calibration_outputs(), check_outputs("all"), plan_sources("all")}) {
    all.insert(all.end(), t.begin(), t.end());
  }
  return all;
}

/// Runs `o` with --format json; checks its exit status and returns the document it printed
/// (or, with --output, wrote).
json run_json(const Output& o) {
  std::vector<std::string> args = o.args;
  args.insert(args.end(), {"--format", "json"});
  const test::CliResult r = test::run_cli(args);
  INFO(joined(args) << "\nstderr: " << r.err);
  REQUIRE(r.status == o.status);
  const auto out = std::find(args.begin(), args.end(), "--output");
  const std::string text = out == args.end() ? r.out : read_text_file(*(out + 1));
  REQUIRE_FALSE(text.empty());
  return json::parse(text);
}

void check_against_schema(const Output& o) {
  const json doc = run_json(o);
  const auto errors = schemas().validate(k_schema_base + o.schema + ".schema.json", doc);
  INFO(joined(o.args) << " --format json\n" << test::to_string(errors));
  CHECK(errors.empty());
}

/// Writes the plan files `check_outputs(tag)` reads (checking them against their schemas).
void write_plans(const std::string& tag) {
  for (const Output& o : plan_sources(tag)) {
    check_against_schema(o);
  }
}

void remove_plans(const std::string& tag) {
  for (const Output& o : plan_sources(tag)) {
    fs::remove(*(std::find(o.args.begin(), o.args.end(), "--output") + 1));
  }
}

} // namespace

TEST_CASE("calibrate's profile matches docs/schema/calibration.schema.json", "[schema]") {
  for (const Output& o : calibration_outputs()) {
    check_against_schema(o);
  }
}

TEST_CASE("estimate JSON matches docs/schema/estimate.schema.json", "[schema]") {
  for (const Output& o : estimate_outputs()) {
    check_against_schema(o);
  }
}

TEST_CASE("search JSON matches docs/schema/search.schema.json, with and without plans",
          "[schema]") {
  for (const Output& o : search_outputs()) {
    check_against_schema(o);
  }
  // the no-plan search still prints a whole document, with the nearest miss and advice
  const json none = run_json(search_outputs()[5]);
  CHECK(none.at("plans").empty());
  CHECK(none.at("rejections").at("out_of_memory").get<std::int64_t>() > 0);
  CHECK(none.contains("advice"));
}

TEST_CASE("catalog and validate JSON match their schemas", "[schema]") {
  for (const Output& o : catalog_and_validate_outputs()) {
    check_against_schema(o);
  }
}

TEST_CASE("check JSON matches docs/schema/check.schema.json, fitting or not", "[schema]") {
  write_plans("check");
  for (const Output& o : check_outputs("check")) {
    check_against_schema(o);
  }
  remove_plans("check");
}

TEST_CASE("the schemas reject a renamed key, an added key, a float byte count and an unknown "
          "enum value",
          "[schema]") {
  const json good = run_json(estimate_outputs()[0]);
  const std::string id = k_schema_base + "estimate.schema.json";
  REQUIRE(schemas().validate(id, good).empty());
  const auto single_error = [&](const json& bad, const std::string& pointer,
                                const std::string& keyword) {
    const auto e = schemas().validate(id, bad);
    INFO(test::to_string(e));
    REQUIRE_FALSE(e.empty());
    CHECK(e[0].pointer == pointer);
    CHECK(e[0].keyword == keyword);
  };
  json renamed = good;
  renamed["memory"]["peak_reserved"] = renamed["memory"]["peak_reserved_bytes"];
  renamed["memory"].erase("peak_reserved_bytes");
  const auto e = schemas().validate(id, renamed);
  INFO(test::to_string(e));
  REQUIRE(e.size() == 2); // the old key is missing, the new one is not allowed
  CHECK(e[0].pointer + e[0].keyword + e[1].pointer + e[1].keyword ==
        "/memoryrequired/memory/peak_reservedadditionalProperties");

  json added = good;
  added["throughput"]["tokens_per_step"] = 1;
  single_error(added, "/throughput/tokens_per_step", "additionalProperties");
  json fractional = good;
  fractional["memory"]["components"]["activations_bytes"] = 1.5;
  single_error(fractional, "/memory/components/activations_bytes", "type");
  json unknown = good;
  unknown["config"]["sharding"] = "zero3";
  single_error(unknown, "/config/sharding", "enum");
  json negative = good;
  negative["throughput"]["step_seconds"] = -1.0;
  single_error(negative, "/throughput/step_seconds", "minimum");
  json version = good;
  version["schema_version"] = 2;
  single_error(version, "/schema_version", "const");
  json nan = good;
  nan["throughput"]["mfu"] = nullptr; // what nlohmann writes for NaN
  single_error(nan, "/throughput/mfu", "type");

  // a search plan and a check's estimate are checked as deeply (through $ref across files)
  json search = run_json(search_outputs()[0]);
  REQUIRE_FALSE(search.at("plans").empty());
  search["plans"][0]["config"]["precision"] = "fp16";
  const auto s = schemas().validate(k_schema_base + "search.schema.json", search);
  REQUIRE(s.size() == 1);
  CHECK(s[0].pointer == "/plans/0/config/precision");
}

TEST_CASE("JSON output is byte-identical for the same input (search's time only with --timing)",
          "[schema][determinism]") {
  // Runs `o` twice: the same bytes, and no wall-clock time. Returns its arguments.
  const auto twice_identical = [](const Output& o) {
    std::vector<std::string> args = o.args;
    args.insert(args.end(), {"--format", "json"});
    const test::CliResult a = test::run_cli(args);
    const test::CliResult b = test::run_cli(args);
    INFO(joined(args));
    REQUIRE(a.status == o.status);
    CHECK(a.out == b.out);
    CHECK(a.out.find("elapsed") == std::string::npos);
    return args;
  };
  for (const auto* t : {&estimate_outputs(), &catalog_and_validate_outputs()}) {
    for (const Output& o : *t) {
      twice_identical(o);
    }
  }
  // search: byte-identical too; its wall-clock time is written only with --timing
  static const std::regex elapsed(R"("elapsed_seconds": [0-9.e+-]+)");
  for (const Output& o : search_outputs()) {
    std::vector<std::string> args = twice_identical(o);
    args.push_back("--timing");
    INFO(joined(args));
    const test::CliResult t = test::run_cli(args);
    REQUIRE(t.status == o.status);
    std::ptrdiff_t n = std::distance(std::sregex_iterator(t.out.begin(), t.out.end(), elapsed),
                                     std::sregex_iterator());
    CHECK(n == 1);
    CHECK(schemas()
              .validate(k_schema_base + "search.schema.json", nlohmann::json::parse(t.out))
              .empty());
  }
}

TEST_CASE("numeric keys of JSON outputs carry their unit in the name", "[schema][units]") {
  // A key whose words include one of these carries its unit ("per_s" counts as a unit).
  static const std::set<std::string> units = {"bytes", "seconds", "second",   "tokens",
                                              "usd",   "pct",     "fraction", "watts",
                                              "hours", "gib",     "bits"};
  // Dimensionless: counts of things, shape sizes, ranks, versions, ratios named as such.
  static const std::set<std::string> dimensionless = {"schema_version",
                                                      "nodes",
                                                      "pipeline_rank",
                                                      "rank",
                                                      "layers",
                                                      "hidden",
                                                      "heads",
                                                      "kv_heads",
                                                      "head_dim",
                                                      "ffn",
                                                      "vocab",
                                                      "parameters",
                                                      "vcpus",
                                                      "nvlink_domain_gpus",
                                                      "non_embedding_parameters",
                                                      "active_parameters",
                                                      "trainable_parameters",
                                                      "experts",
                                                      "experts_per_token",
                                                      "expert_ffn",
                                                      "shared_expert_ffn",
                                                      "dense_layers",
                                                      "v_head_dim",
                                                      "kv_lora_rank",
                                                      "q_lora_rank",
                                                      "qk_rope_head_dim",
                                                      "attention_window",
                                                      "local_attention_layers",
                                                      "sharded_parameters",
                                                      "candidates_evaluated",
                                                      "candidates_computed",
                                                      "candidates_pruned",
                                                      "memory_probes",
                                                      "feasible",
                                                      "numeric_cases",
                                                      "fit_cases",
                                                      "oom_cases",
                                                      "throughput_cases",
                                                      "max_micro_batch",
                                                      "throughput_ratio",
                                                      "flash2_attention_speed_ratio",
                                                      "gemm_efficiency_ratio",
                                                      "band_coverage",
                                                      "throughput_band_coverage",
                                                      "upper_edge_coverage",
                                                      "ran_called_out_of_memory",
                                                      "listed_rank",
                                                      "first_launchable_rank",
                                                      "lora_dropout"}; // a probability (PEFT's)
  // Known exceptions where a unit applies but the key does not say it (renaming them is an
  // incompatible change: docs/bwplan.md, JSON output contracts). Do not add to this list.
  static const std::set<std::string> known_unitless = {
      "max_seq_len",            // tokens
      "min_seq_len",            // tokens
      "price_per_hour",         // USD per instance-hour (null: catalog prices)
      "global_batch_tolerance", // a fraction
      "fit_accuracy",           // a fraction (its siblings are _pct)
      "mfu",                    // a fraction
      "hfu",                    // a fraction
      "was", // check: unit in the sibling "unit" (GiB, or "" for tokens/s per GPU)
      "now"};
  // The registry's integer fields: counts and degrees, or a quantity whose unit it names.
  std::set<std::string> registry_counts;
  std::set<std::string> registry_unitless;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (std::is_same_v<T, std::int64_t>) {
      (f.unit.empty() ? registry_counts : registry_unitless).emplace(f.key);
    }
  });
  REQUIRE(registry_unitless.count("seq_len") == 1);
  std::set<std::string> offending;
  std::set<std::string> used_exceptions;
  const auto has_unit = [&](const std::string& key) {
    std::vector<std::string> words;
    std::stringstream ss(key);
    for (std::string w; std::getline(ss, w, '_');) {
      words.push_back(w);
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (units.count(words[i]) != 0 || (words[i] == "s" && i > 0 && words[i - 1] == "per")) {
        return true;
      }
    }
    return false;
  };
  const std::function<void(const json&, const std::string&)> walk = [&](const json& j,
                                                                        const std::string& at) {
    if (j.is_array()) {
      for (const json& x : j) {
        walk(x, at);
      }
      return;
    }
    if (!j.is_object()) {
      return;
    }
    for (const auto& [key, v] : j.items()) {
      const bool numeric =
          v.is_number() ||
          (v.is_array() && !v.empty() &&
           std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); }));
      if (has_unit(key) || key == "rejections") {
        continue; // the unit (or, for rejections, "a count") covers what is inside
      }
      if (numeric && dimensionless.count(key) == 0 && registry_counts.count(key) == 0) {
        if (known_unitless.count(key) != 0 || registry_unitless.count(key) != 0) {
          used_exceptions.insert(key);
        } else {
          offending.insert(at + "/" + key);
        }
      }
      walk(v, at + "/" + key);
    }
  };
  for (const auto* t : {&estimate_outputs(), &search_outputs(), &catalog_and_validate_outputs()}) {
    for (const Output& o : *t) {
      walk(run_json(o), "");
    }
  }
  write_plans("units");
  for (const Output& o : check_outputs("units")) {
    walk(run_json(o), "");
  }
  remove_plans("units");
  CHECK(offending.empty());
  for (const std::string& k : offending) {
    UNSCOPED_INFO("numeric key without a unit: " << k);
  }
  // the exceptions are real (each one occurs), so the list cannot silently go stale
  for (const std::string& k : known_unitless) {
    INFO(k);
    CHECK(used_exceptions.count(k) == 1);
  }
}

TEST_CASE("every schema in docs/schema is valid, uses only supported keywords, and is tested",
          "[schema]") {
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(test::source_path("docs/schema"))) {
    const std::string name = e.path().filename().string();
    INFO(name);
    REQUIRE(name.size() > 12);
    REQUIRE(name.substr(name.size() - 12) == ".schema.json");
    const std::string stem = name.substr(0, name.size() - 12);
    files.insert(stem);
    const json s = json::parse(read_text_file(e.path())); // valid JSON
    test::SchemaSet alone;
    CHECK_NOTHROW(alone.add(s)); // only supported keywords, well-formed values
    CHECK(s.at("$schema") == "https://json-schema.org/draft/2020-12/schema");
    CHECK(s.at("$id") == k_schema_base + name);
    CHECK_FALSE(s.at("title").get<std::string>().empty());
    CHECK_FALSE(s.at("description").get<std::string>().empty());
    // the document's kind and the version bwplan writes
    CHECK(s.at("properties").at("kind").at("const") == stem);
    CHECK(s.at("properties").at("schema_version").at("const") == k_output_schema_version);
    CHECK(s.at("additionalProperties") == false);
  }
  CHECK(files.size() >= 7);
  // every cross-file $ref resolves, and every schema is the schema of a tested output
  CHECK_NOTHROW(schemas().check_refs());
  std::set<std::string> tested;
  for (const Output& o : all_outputs()) {
    tested.insert(o.schema);
  }
  CHECK(tested == files);
}
