// Golden-file comparison shared by the golden tests. BWPLAN_UPDATE_GOLDEN=1 rewrites a golden
// file that differs, and that run fails saying so: an update never passes as the check.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bwplan/error.hpp"
#include "test_support.hpp"

namespace bwplan::test {

inline bool updating_golden() {
  return std::getenv("BWPLAN_UPDATE_GOLDEN") != nullptr;
}

/// Checks `got` against the golden file `want`. When it differs (or is missing) and the update
/// mode is on, rewrites it and fails with "rewrote": run again without the variable to check.
inline void check_golden(const std::filesystem::path& want, const std::string& got) {
  INFO(want.string());
  const bool present = std::filesystem::exists(want);
  if (present && read_text_file(want) == got) {
    SUCCEED();
    return;
  }
  if (updating_golden()) {
    std::filesystem::create_directories(want.parent_path());
    std::ofstream(want, std::ios::binary) << got;
    FAIL_CHECK("rewrote " << want.string()
                          << ": review the diff, then run without BWPLAN_UPDATE_GOLDEN");
    return;
  }
  REQUIRE(present);
  CHECK(got == read_text_file(want));
}

} // namespace bwplan::test
