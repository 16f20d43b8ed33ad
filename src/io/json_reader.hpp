/// \file
/// Strict reading of JSON input: every key checked for type and range, unknown keys rejected
/// with a "did you mean", every error naming the file and the JSON pointer of the value.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bwplan/error.hpp"

namespace bwplan::io {

/// Deepest nesting accepted in any input file (bwplan's own formats nest 3 levels).
inline constexpr int k_max_json_depth = 64;

/// Parses `text`; throws bwplan::Error "<where>: invalid JSON: ..." on syntax errors, invalid
/// UTF-8, or nesting deeper than k_max_json_depth.
[[nodiscard]] nlohmann::json parse_json(std::string_view text, const std::string& where);

/// Reads the members of one JSON object. Call `finish()` after the last member: it rejects any
/// key that no accessor asked for.
class ObjectReader {
public:
  /// Throws if `j` is not an object.
  ObjectReader(const nlohmann::json& j, std::string where, std::string pointer = "");

  [[nodiscard]] bool has(const std::string& key);
  [[nodiscard]] std::string string(const std::string& key);
  [[nodiscard]] std::optional<std::string> optional_string(const std::string& key);
  [[nodiscard]] std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi);
  [[nodiscard]] std::optional<std::int64_t> optional_integer(const std::string& key,
                                                             std::int64_t lo, std::int64_t hi);
  [[nodiscard]] double number(const std::string& key, double lo, double hi);
  [[nodiscard]] std::optional<double> optional_number(const std::string& key, double lo, double hi);
  [[nodiscard]] bool boolean(const std::string& key);
  [[nodiscard]] std::optional<bool> optional_boolean(const std::string& key);
  [[nodiscard]] std::vector<std::string> string_list(const std::string& key);
  /// A string with no control character (has_control()): for names and text that reach tables,
  /// terminals and the HTML report as written.
  [[nodiscard]] std::string printable_string(const std::string& key);
  [[nodiscard]] std::optional<std::string> optional_printable_string(const std::string& key);
  /// The same, each string printable (no control character): for lists that reach tables and
  /// the HTML report as written, such as `sources`.
  [[nodiscard]] std::vector<std::string> printable_string_list(const std::string& key);
  [[nodiscard]] ObjectReader object(const std::string& key);
  /// The raw value (for members read by another reader). Marks the key as known.
  [[nodiscard]] const nlohmann::json& value(const std::string& key);
  /// Marks keys as allowed without reading them.
  void allow(std::initializer_list<const char*> keys);
  /// Marks `key` as one the object may hold (read later or not at all): a missing key is then
  /// never blamed on it as a misspelling.
  void allow(const std::string& key);
  /// For objects whose unknown keys are ignored (a Hugging Face config.json): a missing key is
  /// then said to be missing, never blamed on a neighbouring key the object may well hold.
  void tolerate_unknown() { m_tolerant = true; }
  void finish();

  /// "file: /pointer/key" — for error messages about a member.
  [[nodiscard]] std::string at(const std::string& key) const;

private:
  const nlohmann::json* find(const std::string& key);
  [[noreturn]] void type_error(const std::string& key, const char* expected) const;

  const nlohmann::json& m_json;
  std::string m_where;
  std::string m_pointer;
  std::set<std::string> m_known;
  bool m_tolerant = false;
};

/// The JSON type of `j` as users know it ("string", "number", ...), for error messages.
[[nodiscard]] std::string_view json_type_name(const nlohmann::json& j);

/// True when `s` holds a control character (a byte below 0x20, DEL, or a C1 control) or an
/// invisible format character that reorders or hides text (format_control_length() in
/// bwplan/utf8.hpp): such a name would break a line of output, drive the terminal, or read as
/// another name.
[[nodiscard]] bool has_control(std::string_view s);
/// What has_control() found, in words for an error ("has a control character", "has an invisible
/// character that reorders or hides text (U+202E)"); empty when it finds nothing.
[[nodiscard]] std::string control_problem(std::string_view s);

/// Runs `f`; an Error it throws is thrown again after `where` (the file and field the value
/// came from), so that a lookup's message says where the name was read.
template <class F> decltype(auto) in_context(const std::string& where, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

} // namespace bwplan::io
