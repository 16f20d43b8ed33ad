// Hostile input: every malformed file or command line gives exit status 1 or 2, one line on
// stderr naming the problem, and nothing on stdout.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

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
