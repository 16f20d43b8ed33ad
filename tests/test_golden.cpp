// Golden outputs: tests/golden/<case>.args runs in process and must print <case>.out exactly
// (after removing the elapsed time). BWPLAN_UPDATE_GOLDEN=1 rewrites the .out files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "golden_support.hpp"
#include "test_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;

namespace {

std::string normalise(const std::string& s) {
  static const std::regex ms(R"( \([0-9.]+ ms\))");
  static const std::regex elapsed(R"("elapsed_seconds": [0-9.e+-]+)");
  return std::regex_replace(std::regex_replace(s, ms, ""), elapsed, R"("elapsed_seconds": 0)");
}

} // namespace

TEST_CASE("golden outputs of search, estimate and advice", "[golden]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(test::source_path("tests/golden"))) {
    if (e.path().extension() != ".args") {
      continue;
    }
    std::istringstream words(read_text_file(e.path()));
    std::vector<std::string> args;
    for (std::string w; words >> w;) {
      args.push_back(w);
    }
    const test::CliResult r = test::run_cli(args);
    const std::string got = normalise(r.out);
    fs::path out = e.path();
    out.replace_extension(".out");
    test::check_golden(out, got);
    ++n;
  }
  CHECK(n >= 5);
}
