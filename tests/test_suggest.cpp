#include <catch2/catch.hpp>

#include "bwplan/suggest.hpp"

using namespace bwplan;

TEST_CASE("edit distance counts insertions, deletions and substitutions", "[util]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("b200", "b300") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("abc", "") == 3);
}

TEST_CASE("suggest_closest finds plausible typos only", "[util]") {
  const std::vector<std::string> names = {"h100-sxm-80gb", "b200", "b300", "mi300x"};
  CHECK(suggest_closest("b20", names) == "b200");
  CHECK(suggest_closest("h100-sxm", names) == "h100-sxm-80gb");
  CHECK(suggest_closest("completely-different", names).empty());
  CHECK(did_you_mean("b2000", names) == " (did you mean 'b200'?)");
}
