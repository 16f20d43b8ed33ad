#include "bwplan/enums.hpp"

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/suggest.hpp"

namespace bwplan {

void throw_unknown_name(std::string_view s, std::string_view field,
                        const std::vector<std::string>& allowed) {
  throw Error(fmt::format("{} '{}' is not known: allowed {}{}", field, s, join_names(allowed),
                          did_you_mean(s, allowed)));
}

} // namespace bwplan
