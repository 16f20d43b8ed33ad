// Hostile input: every malformed file or command line gives exit status 1 or 2, one line on
// stderr naming the problem, and nothing on stdout.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/json_reader.hpp"
#include "test_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;

namespace {

void check_one_line_error(const test::CliResult& r, int status) {
  CHECK(r.status == status);
  CHECK(r.out.empty());
  REQUIRE_FALSE(r.err.empty());
  CHECK(r.err.rfind("bwplan: error: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

struct Scratch {
  fs::path dir = fs::temp_directory_path() / "bwplan-hostile";
  Scratch() {
    fs::remove_all(dir);
    fs::create_directories(dir / "configs" / "gpus");
    fs::create_directories(dir / "empty");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0); // read, it would block forever
    std::ofstream(dir / "configs" / "gpus" / "bad.json") << "{";
    std::ofstream big(dir / "big.json", std::ios::binary);
    const std::string chunk(1 << 20, ' ');
    for (int i = 0; i < 100; ++i) {
      big << chunk;
    }
  }
  ~Scratch() { fs::remove_all(dir); }
};

std::string substitute(std::string arg, const Scratch& s) {
  if (arg == "{big}") {
    return (s.dir / "big.json").string();
  }
  if (arg == "{dir}") {
    return (s.dir / "configs").string();
  }
  if (arg == "{empty}") {
    return (s.dir / "empty").string();
  }
  if (arg == "{fifo}") {
    return (s.dir / "fifo").string();
  }
  if (arg == "{missing}") {
    return (s.dir / "missing.json").string();
  }
  return arg;
}

} // namespace

TEST_CASE("hostile model files are refused with one line and exit status 1", "[hostile]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(test::source_path("tests/hostile/model_files"))) {
    INFO(e.path().filename().string());
    const test::CliResult r = test::run_cli({"estimate", "--model", e.path().string()});
    INFO(r.err);
    check_one_line_error(r, 1);
    CHECK(r.err.find(e.path().string()) != std::string::npos); // names the file
    ++n;
  }
  CHECK(n >= 40);
}

TEST_CASE("a mixture's model file without experts_per_token says the key is missing", "[hostile]") {
  // It was read as 0 and blamed as a value: "experts_per_token = 0 is out of range (1..8)".
  const test::CliResult r = test::run_cli(
      {"estimate", "--model",
       test::source_path("tests/hostile/model_files/moe-without-experts-per-token.json")});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("/experts_per_token: is missing: a model with experts (8) "
                                    "needs it"));
}

TEST_CASE("hostile command lines are refused with one line and exit status 1 or 2", "[hostile]") {
  const Scratch scratch;
  std::istringstream lines(read_text_file(test::source_path("tests/hostile/args.txt")));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream words(line);
    int status = 0;
    words >> status;
    std::vector<std::string> args;
    for (std::string w; words >> w;) {
      args.push_back(substitute(w, scratch));
    }
    INFO(line);
    const test::CliResult r = test::run_cli(args);
    INFO(r.err);
    check_one_line_error(r, status);
    ++n;
  }
  CHECK(n >= 40);
}

TEST_CASE("a config.json's name comes from its folder, and a name bwplan could not keep is "
          "refused, escaped",
          "[hostile][hf_config]") {
  const fs::path dir = test::scratch_dir("hf-names");
  const std::string config = R"({"model_type": "llama", "hidden_size": 64,
      "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
      "vocab_size": 100})";
  fs::create_directories(dir / "Tiny");
  std::ofstream(dir / "Tiny" / "config.json") << config;
  // ./config.json is named after the folder it is in, not "."
  const fs::path cwd = fs::current_path();
  fs::current_path(dir / "Tiny");
  const test::CliResult here = test::run_cli({"estimate", "--model", "./config.json"});
  fs::current_path(cwd);
  CHECK(here.status == 0);
  CHECK(here.out.rfind("Tiny (", 0) == 0);
  // A control character would reach tables and plans that check refuses: refused here, and the
  // error line shows it escaped.
  const fs::path evil = dir / "evil\x1b[31m.json";
  std::ofstream(evil) << config;
  const test::CliResult e = test::run_cli({"estimate", "--model", evil.string()});
  check_one_line_error(e, 1);
  CHECK_THAT(e.err, Catch::Contains("'evil\\x1b[31m' from the file's name, has a control "
                                    "character"));
  CHECK(e.err.find('\x1b') == std::string::npos);
  const fs::path long_name = dir / (std::string(200, 'a') + ".json");
  std::ofstream(long_name) << config;
  check_one_line_error(test::run_cli({"estimate", "--model", long_name.string()}), 1);
  fs::remove_all(dir);
}

TEST_CASE("a bidirectional override in a model's display name is named as what it is",
          "[hostile]") {
  // U+202E (right-to-left override) is not a control character: it reorders what follows.
  const fs::path dir = test::scratch_dir("bidi-name");
  std::ofstream(dir / "m.json") << R"({"schema_version": 1, "name": "tiny",
      "display_name": "Tiny \u202egnp.exe", "layers": 2, "hidden": 64, "heads": 4,
      "kv_heads": 4, "ffn": 128, "vocab": 100, "mlp": "swiglu", "norm": "rmsnorm",
      "position": "rope", "tied_embeddings": false, "max_seq_len": 4096,
      "sources": ["a test"]})";
  const test::CliResult r = test::run_cli({"estimate", "--model", (dir / "m.json").string()});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("/display_name: has an invisible character that reorders or "
                                    "hides text (U+202E) (allowed: printable characters)"));
  // The other characters that render as nothing (Unicode's Default_Ignorable_Code_Point), and
  // the line separator: each named by its code point; a tag character's is above U+FFFF.
  for (const auto& [escape, shown] :
       std::vector<std::pair<std::string, std::string>>{{"\\u00ad", "U+00AD"},
                                                        {"\\u034f", "U+034F"},
                                                        {"\\u180e", "U+180E"},
                                                        {"\\u3164", "U+3164"},
                                                        {"\\u206f", "U+206F"},
                                                        {"\\ufff9", "U+FFF9"},
                                                        {"\\u2028", "U+2028"},
                                                        {"\\udb40\\udc41", "U+E0041"}}) {
    INFO(shown);
    std::ofstream(dir / "n.json") << R"({"schema_version": 1, "name": "tiny",
      "display_name": "Tiny )" << escape
                                  << R"(x", "layers": 2, "hidden": 64, "heads": 4,
      "kv_heads": 4, "ffn": 128, "vocab": 100, "mlp": "swiglu", "norm": "rmsnorm",
      "position": "rope", "tied_embeddings": false, "max_seq_len": 4096,
      "sources": ["a test"]})";
    const test::CliResult n = test::run_cli({"estimate", "--model", (dir / "n.json").string()});
    check_one_line_error(n, 1);
    CHECK_THAT(n.err, Catch::Contains("(" + shown + ")"));
  }
  fs::remove_all(dir);
}

TEST_CASE("a measurement case's inline model reads like a model file", "[hostile][validation]") {
  const fs::path dir = test::scratch_dir("inline-model");
  std::ofstream(dir / "m.json") << R"({"schema": "bwplan-measurements/1", "cases": [{"id": "a",
      "source": "hand-written", "model": {"schema_version": 1, "name": "tiny", "layers": 2,
      "hidden": 64, "heads": 4, "kv_heads": 4, "ffn": 128, "vocab": 100, "mlp": "swiglu",
      "norm": "rmsnorm", "position": "rope", "tied_embeddings": false, "max_seq_len": 4096,
      "sources": ["a test"]}, "gpu": "h100-sxm-80gb", "gpus": 8, "sharding": "full",
      "shard_group": 8,
      "precision": "bf16", "micro_batch": 1, "seq_len": 4096, "grad_accum": 1,
      "activation_checkpointing": "none", "optimizer": "adamw", "compile": false,
      "loss": "unfused", "measured": {"metric": "fits", "value": true}}]})";
  const test::CliResult r = test::run_cli({"validate", (dir / "m.json").string()});
  CHECK(r.err.empty());
  CHECK(r.status == 0);
  fs::remove_all(dir);
}

TEST_CASE("an id or a name with a character that reorders or hides text is refused, escaped",
          "[hostile][validation]") {
  // U+202E (right-to-left override) would print "abc<RLO>def" as "abcfed"; U+200B is invisible;
  // U+0085 is a C1 control. Each is refused where it enters, and the error shows it escaped.
  const fs::path dir = test::scratch_dir("format-controls");
  const std::string tail = R"(", "source": "hand-written", "model": "llama-3.2-1b",
      "gpu": "h100-sxm-80gb", "gpus": 8, "sharding": "full", "shard_group": 8,
      "precision": "bf16", "micro_batch": 1, "seq_len": 4096, "grad_accum": 1,
      "activation_checkpointing": "none", "optimizer": "adamw", "compile": false,
      "loss": "unfused", "measured": {"metric": "fits", "value": true}}]})";
  for (const auto& [raw, shown] : {std::pair<std::string, std::string>{"\xE2\x80\xAE", "\\u{202E}"},
                                   {"\xE2\x80\x8B", "\\u{200B}"},
                                   {"\xE2\x81\xA7", "\\u{2067}"},
                                   {"\xC2\x85", "\\u{0085}"}}) {
    const fs::path file = dir / "m.json";
    std::ofstream(file) << R"({"schema": "bwplan-measurements/1", "cases": [{"id": "abc)" + raw +
                               "def" + tail;
    const test::CliResult r = test::run_cli({"validate", file.string()});
    check_one_line_error(r, 1);
    INFO(r.err);
    CHECK_THAT(r.err, Catch::Contains("/cases/0/id") && Catch::Contains(shown));
    CHECK(r.err.find(raw) == std::string::npos);
    CHECK(r.out.empty());
  }
  // Accented letters and other scripts stay allowed.
  std::ofstream(dir / "ok.json") << R"({"schema": "bwplan-measurements/1", "cases": [{"id": ")"
                                 << "r\xC3\xA9sum\xC3\xA9-\xE6\xB8\xAC" << tail;
  const test::CliResult ok = test::run_cli({"validate", (dir / "ok.json").string()});
  CHECK(ok.err.empty());
  CHECK(ok.status == 0);
  fs::remove_all(dir);
}

TEST_CASE("a path with a control or reordering character is shown escaped in tables, warnings "
          "and notes, and kept exactly in JSON",
          "[hostile][cli]") {
  // A path is the user's to name, so it is not refused: a table, a warning or a "wrote" note that
  // quotes it writes ESC and U+202E as \u001B and \u202E (JSON's escapes), so the terminal shows
  // what the path is, and JSON text decodes to the same path.
  const fs::path dir = test::scratch_dir("path-controls");
  const fs::path sub = dir / "a\x1b[31m\xE2\x80\xAE"
                             "b";
  fs::create_directories(sub);
  const std::string plan = (sub / "plan.json").string();
  const test::CliResult saved =
      test::run_cli({"-v", "estimate", "--format", "json", "--output", plan});
  REQUIRE(saved.status == 0);
  CHECK_THAT(saved.err, Catch::Contains("a\\x1b[31m\\u{202E}b/plan.json"));
  const test::CliResult table = test::run_cli({"check", "--plan", plan});
  CHECK(table.status == 0);
  CHECK_THAT(table.out, Catch::StartsWith((dir / "a\\u001B[31m\\u202Eb").string() +
                                          "/plan.json: llama-3.1-8b"));
  CHECK(table.out.find('\x1b') == std::string::npos);
  CHECK(table.out.find("\xE2\x80\xAE") == std::string::npos);
  const test::CliResult json = test::run_cli({"check", "--plan", plan, "--format", "json"});
  CHECK(json.out.find('\x1b') == std::string::npos);
  CHECK(json.out.find("\xE2\x80\xAE") == std::string::npos);
  CHECK(nlohmann::json::parse(json.out).at("plan") == plan);
  fs::remove_all(dir);
}

TEST_CASE("an empty item of a comma-separated flag is refused, not dropped", "[hostile][cli]") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"search", "--sharding", "full,"},
        std::vector<std::string>{"search", "--precision=,bf16"},
        std::vector<std::string>{"search", "--activation-checkpointing", "full,,none"},
        std::vector<std::string>{"search", "--nodes", "1,,2"}}) {
    const test::CliResult r = test::run_cli(args);
    INFO(args.back());
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("empty value between commas"));
  }
  CHECK(test::run_cli({"search", "--sharding", "full,grad-op", "--top", "1"}).status == 0);
  // A parallel degree's list given empty names no value: it read as the default axis, while the
  // JSON's inputs said "command line".
  for (const char* flag : {"--tp", "--cp", "--pp", "--ep", "--nodes", "--seq-len"}) {
    const test::CliResult r = test::run_cli({"search", "--model", "llama-3.2-1b", flag, ""});
    INFO(flag);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains(std::string(flag) + " '' names no value"));
  }
}

TEST_CASE("a model whose bytes per GPU would pass 2^62 is refused with the inputs named",
          "[hostile][cli]") {
  const fs::path dir = test::scratch_dir("huge-model");
  // each field at or near its limit, the parameters under 2^50 (a larger model is refused first)
  std::ofstream(dir / "m.json") << R"({"name": "huge", "layers": 1024, "hidden": 262144,
      "heads": 16384, "kv_heads": 16384, "ffn": 1024, "vocab": 16777216,
      "mlp": "swiglu", "norm": "rmsnorm", "position": "rope", "tied_embeddings": false,
      "max_seq_len": 16777216})";
  const test::CliResult r =
      test::run_cli({"estimate", "--model", (dir / "m.json").string(), "--micro-batch", "128",
                     "--seq-len", "16777216", "--format", "json"});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: --micro-batch 128 x --seq-len 16777216 "
                                      "with model 'huge' needs") &&
                        Catch::Contains("(allowed below 2^62)"));
  fs::remove_all(dir);
}

TEST_CASE("an argument that is not UTF-8 is refused up front, naming it, bytes escaped",
          "[hostile][cli]") {
  const std::string aws_role = "arn:aws:iam::123456789012:role/R";
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{"check", "--plan", "p\xff.json", "--format", "json"}, "--plan 'p\\xff.json'"},
      {{"estimate", "--model=m\xe9.json", "--format", "json"}, "--model 'm\\xe9.json'"},
      {{"estimate", "--calibration", "c\xff.json"}, "--calibration 'c\\xff.json'"},
      {{"validate", "v\xff.json", "--format", "json"}, "argument 2 'v\\xff.json'"},
      {{"validate", "--format", "json", "x\xc3"}, "argument 4 'x\\xc3'"}, // cut short
      {{"emit", "sagemaker", "--plan", "p.json", "--out", "e", "--role-arn", aws_role,
        "--s3-output", "s3://bucket/o\xff\xfe", "--s3-train", "s3://b/t", "--s3-tokenizer",
        "s3://b/k"},
       "--s3-output 's3://bucket/o\\xff\\xfe'"},
      {{"estimate", "--model", "hf\xed\xa0\x80/config.json"}, // a surrogate's encoding
       "--model 'hf\\xed\\xa0\\x80/config.json'"},
  };
  for (const Case& c : cases) {
    const test::CliResult r = test::run_cli(c.args);
    INFO(c.named << ": " << r.err);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains(c.named + ": not UTF-8 text (allowed: UTF-8 paths and "
                                                "values)"));
    CHECK(r.err.find("internal error") == std::string::npos);
  }
  // UTF-8 beyond ASCII is text: a missing model file named in it is the usual error
  const test::CliResult ok = test::run_cli({"estimate", "--model", "mod\xc3\xa8le.json"});
  check_one_line_error(ok, 1);
  CHECK_THAT(ok.err, Catch::Contains("not a preset and no such file"));
}

TEST_CASE("a config.json in a folder whose name is not UTF-8 is refused, the name escaped",
          "[hostile][hf_config]") {
  const fs::path dir = test::scratch_dir("hf-latin1");
  fs::create_directories(dir / "hf\xff\xfe");
  std::ofstream(dir / "hf\xff\xfe" / "config.json") << R"({"model_type": "llama",
      "hidden_size": 64, "intermediate_size": 32, "num_hidden_layers": 2,
      "num_attention_heads": 4, "vocab_size": 100})";
  const fs::path cwd = fs::current_path();
  fs::current_path(dir / "hf\xff\xfe");
  const test::CliResult r = test::run_cli({"estimate", "--model", "config.json"});
  fs::current_path(cwd);
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("'hf\\xff\\xfe' from the file's folder, is not UTF-8 text"));
  fs::remove_all(dir);
}

TEST_CASE("a model's name is held to 128 characters, not bytes", "[hostile][hf_config]") {
  const fs::path dir = test::scratch_dir("name-chars");
  std::string e64, e65;
  for (int i = 0; i < 64; ++i) {
    e64 += "\u00e9"; // é: one character, two bytes
  }
  e65 = e64 + "\u00e9";
  const std::string config = R"({"model_type": "llama", "hidden_size": 64,
      "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
      "vocab_size": 100})";
  for (const std::string& folder : {e64, e65}) {
    fs::create_directories(dir / folder);
    std::ofstream(dir / folder / "config.json") << config;
    CHECK(test::run_cli({"estimate", "--model", (dir / folder / "config.json").string(), "-q"})
              .status == 0);
  }
  // a model file's name: 129 two-byte characters are refused, with the count
  std::string e129 = e65;
  for (int i = 0; i < 64; ++i) {
    e129 += "\u00e9";
  }
  std::ofstream(dir / "m.json") << R"({"name": ")" << e129 << R"(", "layers": 2, "hidden": 64,
      "heads": 4, "kv_heads": 4, "ffn": 32, "vocab": 100, "mlp": "swiglu", "norm": "rmsnorm",
      "position": "rope", "tied_embeddings": false, "max_seq_len": 4096})";
  const test::CliResult r = test::run_cli({"estimate", "--model", (dir / "m.json").string()});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::EndsWith("/name: must be 1..128 characters (it has 129)\n"));
  fs::remove_all(dir);
}

TEST_CASE("a NUL in a quoted value does not cut the error line", "[hostile][cli]") {
  const test::CliResult m = test::run_cli(
      {"estimate", "--model", test::source_path("tests/hostile/model_files/nul-in-value.json")});
  check_one_line_error(m, 1);
  INFO(m.err);
  CHECK_THAT(m.err, Catch::Contains("'swi\\x00glu'") && Catch::Contains("allowed"));
  CHECK(m.err.find('\0') == std::string::npos);
  // a measurement case's GPU, and a plan's kind, with a NUL inside
  const fs::path dir = test::scratch_dir("nul-values");
  const nlohmann::json cases =
      nlohmann::json::parse(read_text_file(test::source_path("tests/data/measurements.json")));
  nlohmann::json one = cases;
  one["cases"] = nlohmann::json::array({cases["cases"][0]});
  one["cases"][0]["gpu"] = std::string("b2\0"
                                       "00",
                                       5);
  std::ofstream(dir / "m.json") << one.dump();
  const test::CliResult v = test::run_cli({"validate", (dir / "m.json").string()});
  check_one_line_error(v, 1);
  INFO(v.err);
  CHECK_THAT(v.err, Catch::Contains("'b2\\x0000'"));
  REQUIRE(test::run_cli({"estimate", "--format", "json", "--output", (dir / "p.json").string()})
              .status == 0);
  nlohmann::json plan = nlohmann::json::parse(read_text_file(dir / "p.json"));
  plan["kind"] = std::string("estimate\0", 9);
  std::ofstream(dir / "p.json", std::ios::trunc) << plan.dump();
  const test::CliResult p = test::run_cli({"check", "--plan", (dir / "p.json").string()});
  check_one_line_error(p, 1);
  INFO(p.err);
  CHECK_THAT(p.err, Catch::Contains("'estimate\\x00'"));
  fs::remove_all(dir);
}

TEST_CASE("what a plan could not record is refused when estimated, not when read back",
          "[hostile][cli]") {
  const fs::path dir = test::scratch_dir("unrecordable");
  // every field in range, 1.46e16 parameters: a plan records at most 2^50
  std::ofstream(dir / "m.json") << R"({"name": "wide", "layers": 4096, "hidden": 262144,
      "heads": 16384, "kv_heads": 16384, "ffn": 4194304, "vocab": 16777216, "mlp": "swiglu",
      "norm": "rmsnorm", "position": "rope", "tied_embeddings": false, "max_seq_len": 8192})";
  const test::CliResult big = test::run_cli({"estimate", "--model", (dir / "m.json").string()});
  check_one_line_error(big, 1);
  CHECK_THAT(big.err, Catch::Contains("the fields make 14645497029722112 parameters (allowed up to "
                                      "2^50 = 1125899906842624)"));
  // 131072 nodes of 8: a plan's nodes are 1..4096
  const test::CliResult nodes = test::run_cli({"estimate", "--gpu", "b200", "--gpus", "1048576"});
  check_one_line_error(nodes, 1);
  CHECK_THAT(nodes.err, Catch::Contains("--gpus 1048576 over --gpus-per-node 8 is 131072 nodes "
                                        "(allowed up to 4096)"));
  // a fraction of a token written out is no whole count (it was rounded from 1e9 on)
  for (const char* tokens : {"1000000000.5", "123456789012.5", "1.0000000005B"}) {
    INFO(tokens);
    const test::CliResult r = test::run_cli({"estimate", "--train-tokens", tokens});
    check_one_line_error(r, 1);
    CHECK_THAT(r.err, Catch::Contains("is not a whole count of tokens"));
  }
  CHECK(test::run_cli({"estimate", "--train-tokens", "4.1M", "-q"}).status == 0);
  // an exponent and a suffix together are a slip: 5e10k read as 5e13 tokens
  for (const char* tokens : {"5e10k", "1E3M", "2e1B"}) {
    INFO(tokens);
    const test::CliResult r = test::run_cli({"estimate", "--train-tokens", tokens});
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("has both an exponent and a suffix"));
  }
  // a range with an end left out names the range (it read as "--nodes '' is not an integer")
  for (const char* range : {"1..", "..4", "1,2.."}) {
    INFO(range);
    const test::CliResult r = test::run_cli({"search", "--nodes", range});
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("a range needs both ends (allowed: A..B, each in 1..4096)"));
  }
  // a value that is no integer says what a list holds; one out of range is named as typed
  for (const auto& [nodes, item] : {std::pair{"1-4", "1-4"}, {"1..x", "1..x"}, {"2,y", "y"}}) {
    INFO(nodes);
    const test::CliResult r = test::run_cli({"search", "--nodes", nodes});
    check_one_line_error(r, 2);
    CHECK(r.err == fmt::format("bwplan: error: --nodes '{}' is not an integer or a range (allowed "
                               "integers in 1..4096, ranges A..B and comma lists of them, e.g. "
                               "1..16 or 1,2,4,8)\n",
                               item));
  }
  CHECK(test::run_cli({"search", "--nodes", "-0"}).err ==
        "bwplan: error: --nodes -0 is out of range (allowed 1..4096)\n");
  // a flag or a list given twice: the last flag won (--compile --compile=false read as off) and
  // lists merged; --instance (documented "repeat or comma-list"), --set and --run repeat
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"estimate", "--compile", "--compile=false"},
        {"estimate", "--head-fp32=on", "--head-fp32=off"},
        {"search", "--precision", "bf16", "--precision", "mxfp8"},
        {"search", "--sharding=full", "--sharding", "hybrid"}}) {
    INFO(args[1] << " " << args[2]);
    const test::CliResult r = test::run_cli(args);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains(" is given twice (allowed: once"));
  }
  // -v and --verbose are one flag; a value option twice is refused in the same words as a flag
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-v", "estimate", "--verbose=false"},
        {"estimate", "-q", "--quiet"},
        {"estimate", "--loss", "fused", "--loss", "unfused"}}) {
    const test::CliResult r = test::run_cli(args);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains(" is given twice (allowed: once)"));
  }
  // --head-fp32 without FSDP under a mixed precision: autocast would run the head in bf16
  const test::CliResult ddp = test::run_cli({"estimate", "--sharding", "none", "--head-fp32"});
  check_one_line_error(ddp, 1);
  CHECK_THAT(ddp.err, Catch::Contains("--head-fp32 with --sharding none and --precision bf16"));
  // and a --global-batch-tokens error not about grad-accum is not blamed on it
  const test::CliResult tp3 =
      test::run_cli({"estimate", "--global-batch-tokens", "1M", "--tp", "3"});
  check_one_line_error(tp3, 1);
  CHECK_THAT(tp3.err, Catch::StartsWith("bwplan: error: --tp 3"));
  CHECK(test::run_cli({"search", "--instance", "ml.p6-b200.48xlarge", "--instance",
                       "ml.p5.48xlarge", "--top", "1", "-q"})
            .status == 0);
  // an empty list is no list (--instance '' exited 1 as "unknown instance type ''")
  const test::CliResult empty = test::run_cli({"search", "--instance", ""});
  check_one_line_error(empty, 2);
  CHECK_THAT(empty.err, Catch::Contains("--instance '': the value is empty"));
  check_one_line_error(test::run_cli({"validate", ""}), 2);
  // an unknown flag that begins with a given one's name named the given one too ("unexpected
  // arguments: --micro-batch --micro-batchx 3"; red team, 2026-12-08)
  const test::CliResult longer =
      test::run_cli({"estimate", "--micro-batch", "2", "--micro-batchx", "3"});
  check_one_line_error(longer, 2);
  CHECK(longer.err ==
        "bwplan: error: unexpected arguments: --micro-batchx 3 (see 'bwplan --help')\n");
  // "-v=1" said "unexpected arguments: " and named nothing
  const test::CliResult short_value = test::run_cli({"estimate", "-v=1"});
  check_one_line_error(short_value, 2);
  CHECK(short_value.err ==
        "bwplan: error: -v=1: a short flag takes no value (allowed: -v alone)\n");
  // a grad-accum derived from --global-batch-tokens is named with it
  const test::CliResult derived =
      test::run_cli({"estimate", "--model", "llama-3.1-70b", "--nodes", "2", "--pp", "2",
                     "--pp-schedule", "interleaved-1f1b", "--global-batch-tokens", "327680"});
  check_one_line_error(derived, 1);
  CHECK_THAT(derived.err, Catch::StartsWith("bwplan: error: --global-batch-tokens 327680 "
                                            "(grad-accum 5): --grad-accum 5"));
  // --version printed the version and dropped what followed it
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--version", "extra"},
                                               {"search", "--version"},
                                               {"--version", "--version"}}) {
    const test::CliResult r = test::run_cli(args);
    check_one_line_error(r, 2);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("--version takes nothing else"));
  }
  // an empty name is no request for the default
  for (const char* flag : {"--gpu", "--instance"}) {
    INFO(flag);
    const test::CliResult r = test::run_cli({"estimate", flag, ""});
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("the value is empty"));
  }
  // emit's settings: an empty one is a usage error, not "is required" (exit 1), nor (for
  // --s3-checkpoints and --region) silently the default
  const std::vector<std::string> aws = {"--role-arn",     "arn:aws:iam::123456789012:role/R",
                                        "--s3-output",    "s3://b/o/",
                                        "--s3-train",     "s3://b/t/",
                                        "--s3-tokenizer", "s3://b/k/"};
  for (const char* flag : {"--role-arn", "--s3-output", "--s3-train", "--s3-tokenizer",
                           "--s3-checkpoints", "--region"}) {
    INFO(flag);
    std::vector<std::string> args = {"search", "--top", "1", "--emit-sagemaker",
                                     (dir / "never").string()};
    for (std::size_t i = 0; i < aws.size(); i += 2) {
      if (aws[i] != flag) {
        args.insert(args.end(), {aws[i], aws[i + 1]});
      }
    }
    args.insert(args.end(), {flag, ""});
    const test::CliResult r = test::run_cli(args);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains(std::string(flag) + ": the value is empty"));
    CHECK_FALSE(fs::exists(dir / "never"));
  }
  const test::CliResult offload =
      test::run_cli({"estimate", "--cpu-offload", "--sharding", "none"});
  check_one_line_error(offload, 1);
  CHECK_THAT(offload.err, Catch::Contains("CPU offload is FSDP2's CPUOffloadPolicy"));
  fs::remove_all(dir);
}

TEST_CASE("a saved search's train_tokens below one token or a price below a cent is refused",
          "[hostile][cli]") {
  const fs::path dir = test::scratch_dir("plan-tiny-values");
  const std::string path = (dir / "s.json").string();
  REQUIRE(test::run_cli({"search", "--top", "1", "--train-tokens", "1e9", "--format", "json",
                         "--output", path})
              .status == 0);
  const nlohmann::json saved = nlohmann::json::parse(read_text_file(path));
  for (const auto& [key, value, words] :
       {std::tuple<const char*, double, const char*>{
            "train_tokens", 0.5, "allowed 0 for none, or a whole count 1..1e+16"},
        {"price_per_hour", 1e-320, "is out of range (allowed 0.01.."}}) {
    nlohmann::json plan = saved;
    plan["inputs"]["constraints"][key] = value;
    std::ofstream(path, std::ios::trunc) << plan.dump();
    const test::CliResult r = test::run_cli({"check", "--plan", path});
    INFO(key << ": " << r.err);
    check_one_line_error(r, 1);
    CHECK_THAT(r.err, Catch::Contains(std::string("/inputs/constraints/") + key) &&
                          Catch::Contains(words));
  }
  fs::remove_all(dir);
}

TEST_CASE("a JSON file: a key twice in one object and nesting past 64 levels are refused; the "
          "same key in sibling objects and 64 levels are not",
          "[hostile]") {
  using bwplan::io::parse_json;
  CHECK(parse_json(R"([{"a": 1}, {"a": 2, "b": {"a": 3}}])", "f.json").size() == 2);
  CHECK_THROWS_WITH(parse_json(R"([{"a": 1}, {"b": {"a": 1, "a": 2}}])", "f.json"),
                    "f.json: invalid JSON: key 'a' appears twice in one object");
  // Depth: the open containers around a value, a container counting itself.
  const auto nested = [](int levels) {
    return std::string(static_cast<std::size_t>(levels), '[') + "1" +
           std::string(static_cast<std::size_t>(levels), ']');
  };
  CHECK(parse_json(nested(64), "f.json").is_array());
  CHECK_THROWS_WITH(parse_json(nested(65), "f.json"),
                    "f.json: invalid JSON: nested deeper than 64 levels");
  // An empty innermost container counts as its level too (65 empty arrays passed).
  const auto empty = [](int levels) {
    return std::string(static_cast<std::size_t>(levels), '[') +
           std::string(static_cast<std::size_t>(levels), ']');
  };
  CHECK(parse_json(empty(64), "f.json").is_array());
  CHECK_THROWS_WITH(parse_json(empty(65), "f.json"),
                    "f.json: invalid JSON: nested deeper than 64 levels");
  CHECK_THROWS_WITH(parse_json("{\"a\": " + empty(64) + "}", "f.json"),
                    "f.json: invalid JSON: nested deeper than 64 levels");
  CHECK_THROWS_WITH(parse_json(std::string(100000, '['), "f.json"),
                    "f.json: invalid JSON: nested deeper than 64 levels");
  // A syntax error is still the parser's own message, with its position.
  CHECK_THROWS_WITH(parse_json(R"({"a": [1,})", "f.json"),
                    Catch::StartsWith("f.json: invalid JSON: parse error at line 1, column 10"));
  // Many small objects parse (nlohmann's callback parser rescanned the parent at each object's
  // end: minutes for 2 million; bench/bench_evaluate prints the rate).
  std::string many = "[";
  for (int i = 0; i < 20000; ++i) {
    many += i > 0 ? ",{}" : "{}";
  }
  CHECK(parse_json(many + "]", "f.json").size() == 20000);
}

TEST_CASE("a catalog directory (--configs) is read as DIR/<kind>/*.json and no deeper: a link to "
          "a large tree, a stray catalog file or a folder inside a kind is named, not walked",
          "[hostile][catalog]") {
  const fs::path dir = test::scratch_dir("configs-walk");
  const auto copy = [&](const std::string& name) {
    const fs::path to = dir / name;
    fs::copy(test::source_path("configs"), to, fs::copy_options::recursive);
    return to;
  };
  // The copy reads as the built-in catalog does.
  const fs::path good = copy("good");
  const test::CliResult ok = test::run_cli({"--configs", good.string(), "gpus"});
  CHECK(ok.status == 0);
  CHECK(ok.out == test::run_cli({"gpus"}).out);
  // A link to / inside gpus/ was followed to any depth (minutes): now refused at once.
  const fs::path linked = copy("linked");
  fs::create_directory_symlink("/", linked / "gpus" / "root");
  test::CliResult r = test::run_cli({"--configs", linked.string(), "gpus"});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("gpus/root: a folder inside gpus/"));
  // A .json beside the kinds, or in a folder of no kind, is named (never skipped).
  const fs::path stray = copy("stray");
  std::ofstream(stray / "extra.json") << "{}";
  r = test::run_cli({"--configs", stray.string(), "gpus"});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("extra.json: not in a catalog folder"));
  const fs::path misspelt = copy("misspelt");
  fs::create_directory(misspelt / "model");
  fs::copy(misspelt / "models" / "llama-3.1-8b.json", misspelt / "model" / "mine.json");
  r = test::run_cli({"--configs", misspelt.string(), "models"});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("model/mine.json: not in a catalog folder"));
  // A catalog one level down is named, not skipped (its files were read before).
  const fs::path nested = copy("nested");
  fs::create_directories(nested / "extra" / "gpus");
  r = test::run_cli({"--configs", nested.string(), "gpus"});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::Contains("extra/gpus: a catalog folder one level down"));
  // Other files and folders (a README, a docs/ folder without .json) are left alone.
  std::ofstream(good / "README.md") << "mine";
  fs::create_directory(good / "notes");
  std::ofstream(good / "notes" / "a.txt") << "x";
  CHECK(test::run_cli({"--configs", good.string(), "gpus"}).status == 0);
  fs::remove_all(dir);
}

TEST_CASE("a value CLI11 would read otherwise is refused: a flag's number, a whole count as a "
          "decimal, an empty model, tokens past 2^53",
          "[hostile][cli]") {
  // --compile=-1 planned without compile and --compile=2 with it, exit 0.
  for (const char* arg : {"--compile=-1", "--compile=2", "--no-sync=maybe", "--cpu-offload=1.0"}) {
    const test::CliResult r = test::run_cli({"estimate", arg});
    INFO(arg);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("a flag is on or off"));
  }
  // emit sagemaker's flags are its nested subcommand's: they were not looked at.
  for (const char* arg : {"--force=2", "--include-at-risk=-1"}) {
    const test::CliResult r =
        test::run_cli({"emit", "sagemaker", "--plan", "p.json", "--out", "o", arg});
    INFO(arg);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("a flag is on or off"));
  }
  for (const char* arg : {"-q", "--quiet=true", "--verbose=false", "--quiet=True"}) {
    const test::CliResult r =
        test::run_cli({arg, "estimate", "--compile=true", "--format", "json"});
    INFO(arg);
    CHECK(r.status == 0);
  }
  const auto compiled = [](const char* arg) {
    const test::CliResult r = test::run_cli({"estimate", arg, "--format", "json", "-q"});
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out).at("config").at("compile").get<bool>();
  };
  CHECK(compiled("--compile=on"));
  CHECK(compiled("--compile=TRUE")); // in any case, as CLI11 read it
  CHECK_FALSE(compiled("--compile=off"));
  CHECK_FALSE(compiled("--compile=Disable"));
  // --shard-group 8.0 read as 8 where --seq-len 4096.0 is refused; 0 given is not the default.
  for (const auto& [value, status, words] :
       {std::tuple<const char*, int, const char*>{"8.0", 2, "is not a 64-bit decimal integer"},
        {"8e0", 2, "is not a 64-bit decimal integer"},
        {"0", 1, "'0' is out of range: allowed 1.."}}) {
    const test::CliResult r = test::run_cli({"estimate", "--shard-group", value});
    INFO(value);
    check_one_line_error(r, status);
    CHECK_THAT(r.err, Catch::Contains(words));
  }
  CHECK(test::run_cli({"estimate", "--shard-group", "8", "-q"}).status == 0);
  // An empty --model exits 2 as an empty --gpu does (it said "not a preset", exit 1).
  for (const char* cmd : {"estimate", "search"}) {
    const test::CliResult r = test::run_cli({cmd, "--model", ""});
    INFO(cmd);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("--model: the value is empty"));
  }
  // 2^53 + 1 tokens read as 2^53; the limit is below 2^53, so every count allowed is exact.
  const test::CliResult big = test::run_cli({"estimate", "--train-tokens", "9007199254740993"});
  check_one_line_error(big, 1);
  CHECK_THAT(big.err, Catch::Contains("is out of range: allowed 1..9e+15"));
  CHECK(test::run_cli({"estimate", "--train-tokens", "9e15", "-q"}).status == 0);
}

TEST_CASE("an empty input path, an unknown --sdk and a missing --configs directory get the status "
          "their kind has; a newline in a quoted value or a path stays escaped",
          "[hostile][cli]") {
  const fs::path dir = test::scratch_dir("hostile-kinds");
  // --plan '' exited 1 where --out '' exits 2; --sdk v4 exited 1 where other names a flag does
  // not take exit 2; --configs of no directory exited 2 with the path unquoted.
  for (const char* cmd : {"check", "emit"}) {
    std::vector<std::string> args = {cmd, "--plan", ""};
    if (std::string(cmd) == "emit") {
      args = {"emit", "sagemaker", "--plan", "", "--out", (dir / "o").string()};
    }
    const test::CliResult r = test::run_cli(args);
    INFO(cmd);
    check_one_line_error(r, 2);
    CHECK_THAT(r.err, Catch::Contains("--plan: the path is empty"));
  }
  const std::string plan = (dir / "e.json").string();
  std::ofstream(plan) << test::run_cli({"estimate", "--format", "json", "-q"}).out;
  const test::CliResult sdk = test::run_cli(
      {"emit", "sagemaker", "--plan", plan, "--out", (dir / "o").string(), "--role-arn",
       "arn:aws:iam::123456789012:role/x", "--s3-output", "s3://bkt/o/", "--s3-train",
       "s3://bkt/train/", "--s3-tokenizer", "s3://bkt/tok/", "--sdk", "v4"});
  check_one_line_error(sdk, 2);
  CHECK_THAT(sdk.err, Catch::Contains("--sdk: 'v4' is not known: allowed v3, v2"));
  CHECK_FALSE(fs::exists(dir / "o"));
  const test::CliResult configs = test::run_cli({"--configs", (dir / "none").string(), "models"});
  check_one_line_error(configs, 1);
  CHECK_THAT(configs.err, Catch::Contains("--configs '" + (dir / "none").string() +
                                          "': not a directory (allowed: a directory holding"));
  // A newline in a number read as a space ('81 92'): now \x0a, as in other values.
  const test::CliResult nl = test::run_cli({"estimate", "--seq-len", "81\n92"});
  check_one_line_error(nl, 2);
  CHECK_THAT(nl.err, Catch::Contains("'81\\x0a92' is not a 64-bit decimal integer"));
  // A plan file whose name holds a newline: check's first line stays one line (a name could
  // forge a 'still fits' line for a CI grep).
  const std::string odd = (dir / "e\nstill fits.json").string();
  fs::copy_file(plan, odd);
  const test::CliResult r = test::run_cli({"check", "--plan", odd});
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind((dir / "e\\u000Astill fits.json").string() + ": ", 0) == 0);
  // emit's launch line stays one line and still names the directory (bash's $'...' quoting)
  const test::CliResult e =
      test::run_cli({"emit", "sagemaker", "--plan", plan, "--out", (dir / "o\nx").string(),
                     "--role-arn", "arn:aws:iam::123456789012:role/x", "--s3-output", "s3://bkt/o/",
                     "--s3-train", "s3://bkt/train/", "--s3-tokenizer", "s3://bkt/tok/"});
  REQUIRE(e.status == 0);
  CHECK_THAT(e.out, Catch::Contains("launch: python3 $'" + dir.string() + "/o\\x0ax/launch.py'"));
  CHECK_THAT(e.out, Catch::Contains("wrote " + dir.string() + "/o\\u000Ax/: "));
  fs::remove_all(dir);
}

TEST_CASE("a number flag given as -0 reads as 0, not -0.0 in a plan", "[hostile][cli]") {
  const test::CliResult r = test::run_cli(
      {"estimate", "--finetune", "lora", "--lora-dropout", "-0", "--format", "json", "-q"});
  REQUIRE(r.status == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK_FALSE(std::signbit(j.at("config").at("lora_dropout").get<double>()));
  CHECK(r.out.find("-0.0") == std::string::npos);
}

TEST_CASE("a newline in a value is shown as \\x0a in the error line, not as a space",
          "[hostile][cli]") {
  // "no such.json" may exist: the line must name the file given.
  const test::CliResult r = test::run_cli({"check", "--plan", "no\nsuch.json"});
  check_one_line_error(r, 1);
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: no\\x0asuch.json: cannot open file"));
  // a profile that cannot be read names its flag
  const test::CliResult c = test::run_cli({"estimate", "--calibration", "no-such-profile.json"});
  check_one_line_error(c, 1);
  CHECK_THAT(c.err,
             Catch::StartsWith("bwplan: error: --calibration no-such-profile.json: cannot open"));
}
