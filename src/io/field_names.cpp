#include "bwplan/field_names.hpp"

#include <algorithm>

namespace bwplan::io {

std::string config_flag(std::string_view key) {
  std::string flag = "--";
  for (const char ch : key) {
    flag += ch == '_' ? '-' : ch;
  }
  return flag;
}

namespace {

/// The length of the `key` at the start of `s` (both backticks counted), or 0 if none is there.
std::size_t key_at(std::string_view s) {
  if (s.size() < 3 || s[0] != '`' || !(s[1] >= 'a' && s[1] <= 'z')) {
    return 0;
  }
  for (std::size_t i = 2; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '`') {
      return i + 1;
    }
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
      return 0;
    }
  }
  return 0;
}

} // namespace

std::string spell_fields(std::string_view text, Spelling spelling) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    const std::size_t n = key_at(rest);
    if (n == 0) {
      out += text[i++];
      continue;
    }
    const auto* apart =
        std::find_if(k_flags_spelled_apart.begin(), k_flags_spelled_apart.end(),
                     [&](const FlagSpelledApart& a) { return rest.starts_with(a.named); });
    if (spelling == Spelling::flags && apart != k_flags_spelled_apart.end()) {
      out += apart->flag;
      i += apart->named.size();
      continue;
    }
    const std::string_view key = rest.substr(1, n - 2);
    out += spelling == Spelling::flags ? config_flag(key) : std::string(key);
    i += n;
  }
  return out;
}

} // namespace bwplan::io
