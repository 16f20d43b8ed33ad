// The trimmed botocore model (data/aws/create-training-job-shapes.json) and the checker.
#include "bwplan/aws_shapes.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "bwplan/embedded_configs.hpp"
#include "bwplan/error.hpp"
#include "json_reader.hpp"

namespace bwplan {

namespace {

constexpr std::string_view k_file = "aws/create-training-job-shapes.json";

/// A botocore pattern in ECMAScript form; nullopt when it cannot be expressed.
struct Translated {
  std::string regex;
  bool no_trailing_hyphen = false; ///< the Java suffix (?<!-), checked separately
};

std::optional<Translated> translate(std::string p) {
  Translated t;
  const std::string lookbehind = "(?<!-)";
  if (p.size() >= lookbehind.size() && p.ends_with(lookbehind)) {
    p.resize(p.size() - lookbehind.size());
    t.no_trailing_hyphen = true;
  }
  // \p{Alnum} is ASCII [A-Za-z0-9] in Java; the other Unicode classes have no ECMAScript form.
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      if (p.compare(i, 9, "\\p{Alnum}") == 0) {
        out += in_class ? "A-Za-z0-9" : "[A-Za-z0-9]";
        i += 8;
        continue;
      }
      if (p[i + 1] == 'p' || p[i + 1] == 'P') {
        return std::nullopt;
      }
      out += p.substr(i, 2);
      ++i;
      continue;
    }
    if (p[i] == '[') {
      in_class = true;
    } else if (p[i] == ']') {
      in_class = false;
    }
    out += p[i];
  }
  if (out.find("(?<") != std::string::npos) {
    return std::nullopt;
  }
  t.regex = std::move(out);
  return t;
}

struct Pattern {
  std::string source;              ///< botocore's text
  std::optional<std::regex> regex; ///< nullopt: unchecked
  bool no_trailing_hyphen = false;
};

struct Shape {
  std::string name;
  std::string type;
  std::vector<std::pair<std::string, std::string>> members; ///< name, shape
  std::vector<std::string> required;
  std::vector<std::string> enums;
  std::optional<double> min, max;
  std::shared_ptr<Pattern> pattern;
  std::string member, key, value; ///< list/map element shapes
};

struct Model {
  std::map<std::string, Shape, std::less<>> shapes;
  PatternCoverage coverage;
};

std::string ref_of(const nlohmann::json& s, const char* k) {
  return s.contains(k) ? s.at(k).at("shape").get<std::string>() : std::string();
}

Model load() {
  std::string_view text;
  for (const EmbeddedFile& f : embedded_data_files()) {
    if (f.path == k_file) {
      text = f.contents;
    }
  }
  if (text.empty()) {
    throw Error(fmt::format("data/{} is not built into this binary", k_file));
  }
  const nlohmann::json doc = io::parse_json(text, std::string("data/") + std::string(k_file));
  Model m;
  std::map<std::string, std::shared_ptr<Pattern>> patterns;
  for (const auto& [name, s] : doc.at("shapes").items()) {
    Shape sh;
    sh.name = name;
    sh.type = s.at("type").get<std::string>();
    if (s.contains("members")) {
      for (const auto& [mn, mr] : s.at("members").items()) {
        sh.members.emplace_back(mn, mr.at("shape").get<std::string>());
      }
    }
    if (s.contains("required")) {
      sh.required = s.at("required").get<std::vector<std::string>>();
    }
    if (s.contains("enum")) {
      sh.enums = s.at("enum").get<std::vector<std::string>>();
    }
    if (s.contains("min")) {
      sh.min = s.at("min").get<double>();
    }
    if (s.contains("max")) {
      sh.max = s.at("max").get<double>();
    }
    if (s.contains("pattern")) {
      const auto src = s.at("pattern").get<std::string>();
      auto& p = patterns[src];
      if (!p) {
        p = std::make_shared<Pattern>();
        p->source = src;
        if (auto t = translate(src)) {
          try {
            p->regex.emplace(t->regex, std::regex::ECMAScript);
            p->no_trailing_hyphen = t->no_trailing_hyphen;
          } catch (const std::regex_error&) {
            p->regex.reset();
          }
        }
        ++m.coverage.total;
        if (!p->regex) {
          m.coverage.unchecked.push_back(src);
        }
      }
      sh.pattern = p;
    }
    sh.member = ref_of(s, "member");
    sh.key = ref_of(s, "key");
    sh.value = ref_of(s, "value");
    m.shapes.emplace(name, std::move(sh));
  }
  return m;
}

const Model& model() {
  static const Model m = load();
  return m;
}

const Shape& shape(std::string_view name) {
  const auto& shapes = model().shapes;
  const auto it = shapes.find(name);
  if (it == shapes.end()) {
    throw Error(fmt::format("no AWS API shape named '{}' in data/{}", name, k_file));
  }
  return it->second;
}

std::string escape_pointer(const std::string& key) {
  std::string s;
  for (char c : key) {
    s += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return s;
}

std::string where(const std::string& ptr) {
  return ptr.empty() ? "/" : ptr;
}

bool pattern_ok(const Pattern& p, std::string_view v) {
  if (!p.regex) {
    return true;
  }
  if (p.no_trailing_hyphen && !v.empty() && v.back() == '-') {
    return false;
  }
  return std::regex_match(v.begin(), v.end(), *p.regex);
}

std::string bounds(const Shape& s, const char* unit) {
  const auto n = [](double d) { return fmt::format("{}", static_cast<long long>(d)); };
  const std::string u = *unit ? std::string(" ") + unit : std::string();
  if (s.min && s.max) {
    return fmt::format("{}..{}{}", n(*s.min), n(*s.max), u);
  }
  return s.min ? fmt::format("at least {}{}", n(*s.min), u)
               : fmt::format("at most {}{}", n(*s.max), u);
}

void check_count(const Shape& s, double count, const char* unit, const std::string& ptr,
                 std::vector<std::string>& out) {
  if ((s.min && count < *s.min) || (s.max && count > *s.max)) {
    out.push_back(fmt::format("{}: has {} {}; {} allows {}", where(ptr),
                              static_cast<long long>(count), unit, s.name, bounds(s, unit)));
  }
}

void check(const nlohmann::json& v, const Shape& s, const std::string& ptr,
           std::vector<std::string>& out, int depth) {
  if (depth > 32) {
    out.push_back(fmt::format("{}: nested too deeply", where(ptr)));
    return;
  }
  const auto wrong_type = [&](const char* expected) {
    out.push_back(fmt::format("{}: expected {} ({}), got {}", where(ptr), expected, s.name,
                              io::json_type_name(v)));
  };
  if (s.type == "structure") {
    if (!v.is_object()) {
      return wrong_type("an object");
    }
    for (const std::string& r : s.required) {
      if (!v.contains(r)) {
        out.push_back(fmt::format("{}: missing required member '{}' ({})", where(ptr), r, s.name));
      }
    }
    for (const auto& [k, mv] : v.items()) {
      const auto it = std::find_if(s.members.begin(), s.members.end(),
                                   [&k = k](const auto& m) { return m.first == k; });
      if (it == s.members.end()) {
        out.push_back(
            fmt::format("{}: unknown member '{}' ({} has no such member)", where(ptr), k, s.name));
        continue;
      }
      check(mv, shape(it->second), ptr + "/" + escape_pointer(k), out, depth + 1);
    }
  } else if (s.type == "list") {
    if (!v.is_array()) {
      return wrong_type("an array");
    }
    check_count(s, static_cast<double>(v.size()), "items", ptr, out);
    for (std::size_t i = 0; i < v.size(); ++i) {
      check(v[i], shape(s.member), fmt::format("{}/{}", ptr, i), out, depth + 1);
    }
  } else if (s.type == "map") {
    if (!v.is_object()) {
      return wrong_type("an object");
    }
    check_count(s, static_cast<double>(v.size()), "entries", ptr, out);
    const Shape& ks = shape(s.key);
    for (const auto& [k, mv] : v.items()) {
      const std::string p = ptr + "/" + escape_pointer(k);
      check(nlohmann::json(k), ks, p + " (key)", out, depth + 1);
      check(mv, shape(s.value), p, out, depth + 1);
    }
  } else if (s.type == "string") {
    if (!v.is_string()) {
      return wrong_type("a string");
    }
    const auto& str = v.get_ref<const std::string&>();
    check_count(s, static_cast<double>(str.size()), "characters", ptr, out);
    if (!s.enums.empty() && std::find(s.enums.begin(), s.enums.end(), str) == s.enums.end()) {
      out.push_back(fmt::format("{}: \"{}\" is not one of the {} values of {}", where(ptr), str,
                                s.enums.size(), s.name));
    } else if (s.pattern && !pattern_ok(*s.pattern, str)) {
      out.push_back(fmt::format("{}: \"{}\" does not match {}'s pattern {}", where(ptr), str,
                                s.name, s.pattern->source));
    }
  } else if (s.type == "integer" || s.type == "long") {
    if (!v.is_number_integer()) {
      return wrong_type("an integer");
    }
    const double d = v.get<double>();
    if ((s.min && d < *s.min) || (s.max && d > *s.max)) {
      out.push_back(fmt::format("{}: {} is out of range for {} (allowed {})", where(ptr), v.dump(),
                                s.name, bounds(s, "")));
    }
  } else if (s.type == "float" || s.type == "double") {
    if (!v.is_number()) {
      return wrong_type("a number");
    }
  } else if (s.type == "boolean") {
    if (!v.is_boolean()) {
      return wrong_type("a boolean");
    }
  } else if (s.type == "timestamp") {
    if (!v.is_string() && !v.is_number()) {
      return wrong_type("a timestamp");
    }
  } else {
    out.push_back(fmt::format("{}: shape {} has unsupported type {}", where(ptr), s.name, s.type));
  }
}

} // namespace

std::vector<std::string> validate_against_shape(const nlohmann::json& value,
                                                std::string_view shape_name) {
  std::vector<std::string> out;
  check(value, shape(shape_name), "", out, 0);
  return out;
}

std::vector<std::string> aws_shape_enum(std::string_view shape_name) {
  return shape(shape_name).enums;
}

std::string aws_shape_pattern(std::string_view shape_name) {
  const Shape& s = shape(shape_name);
  return s.pattern ? s.pattern->source : std::string();
}

ShapeLength aws_shape_length(std::string_view shape_name) {
  const Shape& s = shape(shape_name);
  return {s.min ? static_cast<std::size_t>(*s.min) : 0,
          s.max ? static_cast<std::size_t>(*s.max) : static_cast<std::size_t>(-1)};
}

bool matches_shape_pattern(std::string_view value, std::string_view shape_name) {
  const Shape& s = shape(shape_name);
  return !s.pattern || pattern_ok(*s.pattern, value);
}

PatternCoverage aws_pattern_coverage() {
  return model().coverage;
}

} // namespace bwplan
