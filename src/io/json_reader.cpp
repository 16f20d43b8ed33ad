#include "json_reader.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/suggest.hpp"
#include "bwplan/utf8.hpp"

namespace bwplan::io {

namespace {

std::string first_line(std::string_view s) {
  const std::size_t nl = s.find('\n');
  return std::string(s.substr(0, nl));
}

// JSON pointer escaping (RFC 6901) so odd keys stay unambiguous in messages.
std::string escape_key(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

/// The SAX pass of parse_json: a depth (the open containers around a value, a container
/// counting itself), and each object's keys. Throws bwplan::Error; returns false at a
/// syntax error, which the plain parse then reports.
struct JsonGuard {
  const std::string& where;
  int open = 0;
  std::vector<std::set<std::string>> keys;

  bool at(int depth) const {
    if (depth > k_max_json_depth) {
      throw Error(
          fmt::format("{}: invalid JSON: nested deeper than {} levels", where, k_max_json_depth));
    }
    return true;
  }
  bool null() { return at(open); }
  bool boolean(bool /*value*/) { return at(open); }
  bool number_integer(nlohmann::json::number_integer_t /*value*/) { return at(open); }
  bool number_unsigned(nlohmann::json::number_unsigned_t /*value*/) { return at(open); }
  bool number_float(nlohmann::json::number_float_t /*value*/, const std::string& /*text*/) {
    return at(open);
  }
  bool string(std::string& /*value*/) { return at(open); }
  bool binary(nlohmann::json::binary_t& /*value*/) { return at(open); }
  // A container opened is one level deeper: 64 levels hold a value or an empty container, the
  // 65th container is refused whether or not it holds anything.
  bool start_object(std::size_t /*elements*/) {
    at(++open);
    keys.emplace_back();
    return true;
  }
  bool key(std::string& k) {
    at(open);
    if (!keys.back().insert(k).second) {
      throw Error(fmt::format("{}: invalid JSON: key '{}' appears twice in one object", where, k));
    }
    return true;
  }
  bool end_object() {
    keys.pop_back();
    return at(--open);
  }
  bool start_array(std::size_t /*elements*/) { return at(++open); }
  bool end_array() { return at(--open); }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return false;
  }
};

} // namespace

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  // nlohmann's lexer reads a NUL byte as the end of input, so "{...}\0garbage" would parse.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    throw Error(fmt::format("{}: invalid JSON: a NUL byte at offset {} (JSON text holds none)",
                            where, nul));
  }
  try {
    // Depth limit, and no key twice in one object (nlohmann alone keeps the last silently),
    // checked by a SAX pass that builds nothing: nlohmann's callback parser rescans the parent
    // container at every object's end, which took minutes on a few MB of small objects.
    JsonGuard guard{where};
    // false at a syntax error: the plain parse below throws it, worded as before
    static_cast<void>(nlohmann::json::sax_parse(text.begin(), text.end(), &guard));
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    // The library's "; last read: '…'" echoes the file's bytes: dropped (the position names it).
    std::string msg = e.what();
    const std::size_t p = msg.find("parse error");
    if (p != std::string::npos) {
      msg = msg.substr(p);
    }
    const std::size_t echo = msg.find("; last read");
    if (echo != std::string::npos) {
      msg.resize(echo);
    }
    throw Error(fmt::format("{}: invalid JSON: {}", where, first_line(msg)));
  } catch (const nlohmann::json::exception& e) {
    // "[json.exception.out_of_range.406] number overflow parsing '1e400'": the bracketed id is the
    // library's, not the user's.
    std::string msg = e.what();
    const std::size_t close = msg.find("] ");
    if (msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
      msg = msg.substr(close + 2);
    }
    if (msg.find("number overflow") != std::string::npos) {
      msg += " (numbers must fit a double)";
    }
    throw Error(fmt::format("{}: invalid JSON: {}", where, first_line(msg)));
  }
}

bool has_control(std::string_view s) {
  return !control_problem(s).empty();
}

std::string control_problem(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_control_byte(c)) {
      return "has a control character";
    }
    if (const std::size_t n = c >= 0x80 ? format_control_length(s.substr(i)) : 0; n > 0) {
      const unsigned cp = code_point_of(s.substr(i, n));
      if (cp >= 0x80 && cp <= 0x9F) {
        return "has a control character"; // C1
      }
      return fmt::format("has an invisible character that reorders or hides text (U+{:04X})", cp);
    }
  }
  return {};
}

std::string_view json_type_name(const nlohmann::json& j) {
  switch (j.type()) {
  case nlohmann::json::value_t::null: return "null";
  case nlohmann::json::value_t::object: return "object";
  case nlohmann::json::value_t::array: return "array";
  case nlohmann::json::value_t::string: return "string";
  case nlohmann::json::value_t::boolean: return "boolean";
  case nlohmann::json::value_t::number_integer:
  case nlohmann::json::value_t::number_unsigned:
  case nlohmann::json::value_t::number_float: return "number";
  case nlohmann::json::value_t::binary: return "binary";
  case nlohmann::json::value_t::discarded: return "nothing";
  }
  return "unknown";
}

ObjectReader::ObjectReader(const nlohmann::json& j, std::string where, std::string pointer)
    : m_json(j), m_where(std::move(where)), m_pointer(std::move(pointer)) {
  if (!m_json.is_object()) {
    throw Error(fmt::format("{}: {}: expected an object, got {}", m_where,
                            m_pointer.empty() ? "/" : m_pointer, json_type_name(m_json)));
  }
}

std::string ObjectReader::at(const std::string& key) const {
  return fmt::format("{}: {}/{}", m_where, m_pointer, escape_key(key));
}

const nlohmann::json* ObjectReader::find(const std::string& key) {
  m_known.insert(key);
  const auto it = m_json.find(key);
  return it == m_json.end() ? nullptr : &*it;
}

void ObjectReader::type_error(const std::string& key, const char* expected) const {
  throw Error(
      fmt::format("{}: expected {}, got {}", at(key), expected, json_type_name(m_json.at(key))));
}

bool ObjectReader::has(const std::string& key) {
  return find(key) != nullptr;
}

const nlohmann::json& ObjectReader::value(const std::string& key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) {
    // A misspelt key is the likelier mistake than a forgotten one: name it instead.
    for (const auto& [k, unused] : m_json.items()) {
      const std::string wanted[] = {key};
      if (!m_tolerant && m_known.count(k) == 0 && !suggest_closest(k, wanted).empty()) {
        throw Error(fmt::format("{}: unknown key (did you mean '{}'?)", at(k), key));
      }
    }
    throw Error(fmt::format("{}: missing required key", at(key)));
  }
  return *v;
}

void ObjectReader::allow(std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    m_known.insert(k);
  }
}

void ObjectReader::allow(const std::string& key) {
  m_known.insert(key);
}

std::optional<std::string> ObjectReader::optional_string(const std::string& key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    type_error(key, "a string");
  }
  return v->get<std::string>();
}

std::string ObjectReader::string(const std::string& key) {
  (void)value(key);
  return *optional_string(key);
}

std::optional<std::string> ObjectReader::optional_printable_string(const std::string& key) {
  std::optional<std::string> s = optional_string(key);
  if (s) {
    if (const std::string why = control_problem(*s); !why.empty()) {
      throw Error(fmt::format("{}: {} (allowed: printable characters)", at(key), why));
    }
  }
  return s;
}

std::string ObjectReader::printable_string(const std::string& key) {
  (void)value(key);
  return *optional_printable_string(key);
}

std::optional<double> ObjectReader::optional_number(const std::string& key, double lo, double hi) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_number()) {
    type_error(key, "a number");
  }
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    throw Error(
        fmt::format("{}: {} is out of range (allowed {:g}..{:g})", at(key), v->dump(), lo, hi));
  }
  return d;
}

double ObjectReader::number(const std::string& key, double lo, double hi) {
  (void)value(key);
  return *optional_number(key, lo, hi);
}

std::optional<std::int64_t> ObjectReader::optional_integer(const std::string& key, std::int64_t lo,
                                                           std::int64_t hi) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  const auto out_of_range = [&] {
    return Error(fmt::format("{}: {} is out of range (allowed integers {}..{})", at(key), v->dump(),
                             lo, hi));
  };
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) {
      throw out_of_range();
    }
  } else if (v->is_number_float()) {
    const double d = v->get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) {
      type_error(key, "an integer");
    }
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      throw out_of_range();
    }
    return static_cast<std::int64_t>(d);
  } else if (!v->is_number_integer()) {
    type_error(key, "an integer");
  }
  const auto i = v->get<std::int64_t>();
  if (i < lo || i > hi) {
    throw out_of_range();
  }
  return i;
}

std::int64_t ObjectReader::integer(const std::string& key, std::int64_t lo, std::int64_t hi) {
  (void)value(key);
  return *optional_integer(key, lo, hi);
}

std::optional<bool> ObjectReader::optional_boolean(const std::string& key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    type_error(key, "true or false");
  }
  return v->get<bool>();
}

bool ObjectReader::boolean(const std::string& key) {
  (void)value(key);
  return *optional_boolean(key);
}

std::vector<std::string> ObjectReader::string_list(const std::string& key) {
  const nlohmann::json& v = value(key);
  if (!v.is_array()) {
    type_error(key, "an array of strings");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      throw Error(
          fmt::format("{}/{}: expected a string, got {}", at(key), i, json_type_name(v[i])));
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

std::vector<std::string> ObjectReader::printable_string_list(const std::string& key) {
  std::vector<std::string> out = string_list(key);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (const std::string why = control_problem(out[i]); !why.empty()) {
      throw Error(fmt::format("{}/{}: {} (allowed: printable characters)", at(key), i, why));
    }
  }
  return out;
}

ObjectReader ObjectReader::object(const std::string& key) {
  return ObjectReader(value(key), m_where, m_pointer + "/" + escape_key(key));
}

void ObjectReader::finish() {
  const std::vector<std::string> known(m_known.begin(), m_known.end());
  for (const auto& [key, v] : m_json.items()) {
    if (m_known.count(key) == 0) {
      throw Error(fmt::format("{}: unknown key{}", at(key), did_you_mean(key, known)));
    }
  }
}

} // namespace bwplan::io
