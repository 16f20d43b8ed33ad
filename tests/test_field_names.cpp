// The model library names a field as its key in backticks; the edge spells it as a flag on the
// command line and as the key where it was read from a file (bwplan/field_names.hpp).
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/field_names.hpp"
#include "bwplan/training_config.hpp"
#include "test_support.hpp"

using namespace bwplan;
using io::spell_fields;
using io::Spelling;

TEST_CASE("spell_fields writes `key` as its flag or as the bare key", "[fields]") {
  CHECK(io::config_flag("micro_batch") == "--micro-batch");
  const std::string msg = "`seq_len` 8196 must be a multiple of 2 x `cp` 4 = 8";
  CHECK(spell_fields(msg, Spelling::flags) ==
        "--seq-len 8196 must be a multiple of 2 x --cp 4 = 8");
  CHECK(spell_fields(msg, Spelling::keys) == "seq_len 8196 must be a multiple of 2 x cp 4 = 8");
  // estimate's switch for CPU offload is spelled apart, with or without its value
  CHECK(spell_fields("`offload` cpu with `sharding` none", Spelling::flags) ==
        "--cpu-offload with --sharding none");
  CHECK(spell_fields("with `offload` cpu is", Spelling::keys) == "with offload cpu is");
  CHECK(spell_fields("`grad_accum_mode` no-sync has", Spelling::flags) == "--no-sync has");
  CHECK(spell_fields("`grad_accum_mode` no-sync has", Spelling::keys) ==
        "grad_accum_mode no-sync has");
  // only a backticked lower_snake_case name is a field: anything else is left as it is
  for (const char* kept : {"no backticks", "`Seq_len`", "`seq len`", "`seq-len`", "``", "`", "a`",
                           "`seq_len", "`_x`", "`9a`"}) {
    CHECK(spell_fields(kept, Spelling::flags) == kept);
    CHECK(spell_fields(kept, Spelling::keys) == kept);
  }
  CHECK(spell_fields("`tp``pp`", Spelling::flags) == "--tp--pp");
}

TEST_CASE("every field the model library names in a message is a flag of estimate or search",
          "[fields]") {
  // Read from the library's sources: each `key` in a string literal, spelled as a flag, must be
  // an option the command line has (or a flag spelled apart).
  std::set<std::string> named;
  const std::regex literal(R"re("((?:[^"\\]|\\.)*)")re");
  const std::regex field("`([a-z][a-z0-9_]*)`");
  for (const char* file :
       {"src/model/training_config.cpp", "src/model/pipeline.cpp", "src/model/search_kernel.cpp",
        "src/model/estimate.cpp", "include/bwplan/config_fields.hpp"}) {
    std::ifstream in(test::source_path(file));
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("//") != std::string::npos &&
          line.find("//") < line.find('"')) { // a comment, not a message
        continue;
      }
      for (std::sregex_iterator l(line.begin(), line.end(), literal), end; l != end; ++l) {
        const std::string text = (*l)[1];
        for (std::sregex_iterator f(text.begin(), text.end(), field); f != end; ++f) {
          named.insert((*f)[1]);
        }
      }
    }
  }
  REQUIRE(named.size() > 25);
  const std::string help =
      test::run_cli({"estimate", "--help"}).out + test::run_cli({"search", "--help"}).out;
  for (const std::string& key : named) {
    const std::string flag = spell_fields("`" + key + "`", Spelling::flags);
    INFO(key << " -> " << flag);
    CHECK(flag.starts_with("--"));
    CHECK(help.find(flag + " ") != std::string::npos);
  }
}

TEST_CASE("a library error reaches the command line in flags and a file's reader in its keys",
          "[fields][hostile]") {
  TrainingConfig c;
  c.tp = 3;
  CHECK_THROWS_WITH(validate_config(c, test::preset("llama-3.1-8b")),
                    Catch::Equals("`tp` 3 x `cp` 1 = 3 must divide `gpus` 8"));
  const test::CliResult r = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--gpu",
                                           "h100-sxm-80gb", "--gpus", "8", "--tp", "3"});
  CHECK(r.status == exit_code::error);
  CHECK(r.err == "bwplan: error: --tp 3 x --cp 1 = 3 must divide --gpus 8\n");
  CHECK(r.err.find('`') == std::string::npos);
  const test::CliResult off =
      test::run_cli({"estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--gpus", "8",
                     "--sharding", "none", "--cpu-offload"});
  CHECK(off.status == exit_code::error);
  CHECK_THAT(off.err, Catch::StartsWith("bwplan: error: --cpu-offload with --sharding none:"));
}
