// The README's examples are what bwplan prints: every `$ build/bwplan ...` block is run and its
// output compared with the block (BWPLAN_UPDATE_GOLDEN=1 rewrites the README's blocks). A README
// once showed an error where its launch example should have been.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "golden_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> words_of(const std::string& command) {
  std::vector<std::string> out;
  std::istringstream in(command);
  for (std::string w; in >> w;) {
    if (w != "\\") {
      out.push_back(w);
    }
  }
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

} // namespace

TEST_CASE("every README example prints what the README shows", "[golden][readme]") {
  const fs::path readme = test::source_path("README.md");
  const std::vector<std::string> lines = lines_of(read_text_file(readme));
  const fs::path dir = test::scratch_dir("readme");
  std::string rewritten;
  int examples = 0;
  bool differs = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    rewritten += lines[i] + "\n";
    if (!lines[i].starts_with("$ build/bwplan ")) {
      continue;
    }
    std::string command = lines[i].substr(2);
    while (command.ends_with("\\") && i + 1 < lines.size()) {
      rewritten += lines[++i] + "\n";
      command += " " + lines[i];
    }
    std::vector<std::string> args = words_of(command);
    args.erase(args.begin()); // build/bwplan
    // An output directory named in the README is made in a scratch directory, and told back
    // under its README name.
    std::string out_name;
    for (std::size_t a = 0; a + 1 < args.size(); ++a) {
      if (args[a] == "--emit-sagemaker" || args[a] == "--out") {
        out_name = args[a + 1];
        args[a + 1] = (dir / out_name).string();
      }
    }
    const test::CliResult r = test::run_cli(args);
    std::string got = r.out;
    if (!out_name.empty()) {
      replace_all(got, (dir / out_name).string(), out_name);
      fs::remove_all(dir / out_name);
    }
    INFO(command << "\n" << r.err);
    CHECK(r.status == 0);
    ++examples;
    std::string shown;
    std::size_t end = i + 1;
    for (; end < lines.size() && !lines[end].starts_with("```"); ++end) {
      shown += lines[end] + "\n";
    }
    if (shown != got) {
      differs = true;
      CHECK(got == shown);
    }
    rewritten += got;
    i = end - 1;
  }
  CHECK(examples >= 5);
  if (differs && test::updating_golden()) {
    std::ofstream(readme, std::ios::binary) << rewritten;
    FAIL_CHECK("rewrote README.md: review the diff, then run without BWPLAN_UPDATE_GOLDEN");
  }
  fs::remove_all(dir);
}
