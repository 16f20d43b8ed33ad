#include "json_schema.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace bwplan::test {

namespace {

using nlohmann::json;

constexpr const char* k_draft = "https://json-schema.org/draft/2020-12/schema";
constexpr int k_max_depth = 512; // $ref chains deeper than this are a cycle

std::string escape_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string child(const std::string& pointer, const std::string& key) {
  return pointer + "/" + escape_token(key);
}

std::string child(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

std::string shown(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) {
    s = s.substr(0, 57) + "...";
  }
  return s;
}

std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_schema(const json& s) {
  return s.is_object() || s.is_boolean();
}

const std::set<std::string> k_types = {"null",   "boolean", "object", "array",
                                       "number", "string",  "integer"};

/// Checks one schema (and its subschemas): known keywords only, well-formed values.
class SchemaChecker {
public:
  SchemaChecker(std::string id, std::map<std::string, std::regex>& patterns,
                std::vector<std::pair<std::string, std::string>>& refs)
      : m_id(std::move(id)), m_patterns(patterns), m_refs(refs) {}

  void check(const json& s, const std::string& at, bool root) {
    if (s.is_boolean()) {
      return;
    }
    if (!s.is_object()) {
      fail(at, "a schema must be an object or a boolean");
    }
    for (const auto& [key, v] : s.items()) {
      const std::string here = child(at, key);
      if (key == "$schema") {
        if (!root || v != k_draft) {
          fail(here, std::string("only at the root, and only \"") + k_draft + "\"");
        }
      } else if (key == "$id") {
        if (!root || !v.is_string()) {
          fail(here, "a string, only at the root");
        }
      } else if (key == "$comment" || key == "title" || key == "description") {
        string_value(v, here);
      } else if (key == "$defs" || key == "properties") {
        schema_map(v, here);
      } else if (key == "patternProperties") {
        schema_map(v, here);
        for (const auto& [p, sub] : v.items()) {
          compile(p, here);
        }
      } else if (key == "type") {
        type_value(v, here);
      } else if (key == "enum") {
        if (!v.is_array() || v.empty()) {
          fail(here, "a non-empty array");
        }
      } else if (key == "const") {
        // any value
      } else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" ||
                 key == "exclusiveMaximum") {
        if (!v.is_number()) {
          fail(here, "a number");
        }
      } else if (key == "minLength" || key == "maxLength" || key == "minItems" ||
                 key == "maxItems") {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
          fail(here, "a non-negative integer");
        }
      } else if (key == "uniqueItems") {
        if (!v.is_boolean()) {
          fail(here, "a boolean");
        }
      } else if (key == "pattern") {
        string_value(v, here);
        compile(v.get<std::string>(), here);
      } else if (key == "items" || key == "additionalProperties") {
        if (!is_schema(v)) {
          fail(here, "one schema (an array of schemas is prefixItems in 2020-12)");
        }
        check(v, here, false);
      } else if (key == "prefixItems" || key == "allOf" || key == "anyOf" || key == "oneOf") {
        if (!v.is_array() || v.empty()) {
          fail(here, "a non-empty array of schemas");
        }
        for (std::size_t i = 0; i < v.size(); ++i) {
          check(v[i], child(here, i), false);
        }
      } else if (key == "required") {
        required_value(v, here);
      } else if (key == "$ref") {
        string_value(v, here);
        m_refs.emplace_back(m_id, v.get<std::string>());
      } else {
        fail(here, "unsupported keyword '" + key + "'");
      }
    }
    never_passes(s, at);
  }

private:
  [[noreturn]] void fail(const std::string& at, const std::string& what) const {
    throw std::invalid_argument("schema " + m_id + " at #" + at + ": " + what);
  }

  void string_value(const json& v, const std::string& at) const {
    if (!v.is_string()) {
      fail(at, "a string");
    }
  }

  void schema_map(const json& v, const std::string& at) {
    if (!v.is_object()) {
      fail(at, "an object of schemas");
    }
    for (const auto& [name, sub] : v.items()) {
      check(sub, child(at, name), false);
    }
  }

  void type_value(const json& v, const std::string& at) const {
    if (v.is_string()) {
      if (k_types.count(v.get<std::string>()) == 0) {
        fail(at, "unknown type " + v.dump());
      }
      return;
    }
    if (!v.is_array() || v.empty()) {
      fail(at, "a type name or a non-empty array of type names");
    }
    std::set<std::string> seen;
    for (const json& t : v) {
      if (!t.is_string() || k_types.count(t.get<std::string>()) == 0 ||
          !seen.insert(t.get<std::string>()).second) {
        fail(at, "unknown or repeated type " + t.dump());
      }
    }
  }

  void required_value(const json& v, const std::string& at) const {
    if (!v.is_array()) {
      fail(at, "an array of property names");
    }
    std::set<std::string> seen;
    for (const json& name : v) {
      if (!name.is_string() || !seen.insert(name.get<std::string>()).second) {
        fail(at, "property names must be unique strings: " + name.dump());
      }
    }
  }

  void compile(const std::string& pattern, const std::string& at) {
    if (m_patterns.count(pattern) != 0) {
      return;
    }
    try {
      m_patterns.emplace(pattern, std::regex(pattern, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      fail(at, "pattern " + json(pattern).dump() + " does not compile: " + e.what());
    }
  }

  /// "additionalProperties": false with a required key nothing defines can never pass.
  void never_passes(const json& s, const std::string& at) const {
    if (!s.contains("additionalProperties") || s.at("additionalProperties") != false ||
        !s.contains("required")) {
      return;
    }
    for (const json& name : s.at("required")) {
      const std::string n = name.get<std::string>();
      bool defined = s.contains("properties") && s.at("properties").contains(n);
      if (!defined && s.contains("patternProperties")) {
        for (const auto& [p, sub] : s.at("patternProperties").items()) {
          defined = defined || std::regex_search(n, m_patterns.at(p));
        }
      }
      if (!defined) {
        fail(at, "required property '" + n + "' is not allowed by additionalProperties: false");
      }
    }
  }

  std::string m_id;
  std::map<std::string, std::regex>& m_patterns;
  std::vector<std::pair<std::string, std::string>>& m_refs;
};

/// Validates an instance against a schema of a SchemaSet.
class Validator {
public:
  explicit Validator(const SchemaSet& set) : m_set(set) {}

  void validate(const json& s, const std::string& doc, const json& v, const std::string& at,
                std::vector<SchemaError>& errors, int depth) const {
    if (depth > k_max_depth) {
      throw std::invalid_argument("schema " + doc + ": $ref recursion deeper than " +
                                  std::to_string(k_max_depth) + " (a cycle?)");
    }
    if (s.is_boolean()) {
      if (!s.get<bool>()) {
        errors.push_back({at, "false", "no value is allowed here"});
      }
      return;
    }
    if (s.contains("$ref")) {
      const auto [target_doc, target] = m_set.resolve(doc, s.at("$ref").get<std::string>());
      validate(*target, target_doc, v, at, errors, depth + 1);
    }
    if (s.contains("type") && !type_ok(s.at("type"), v)) {
      errors.push_back(
          {at, "type", "expected " + s.at("type").dump() + ", got " + kind(v) + " " + shown(v)});
      return; // the other keywords would only repeat the type error
    }
    if (s.contains("enum")) {
      const json& e = s.at("enum");
      if (std::find(e.begin(), e.end(), v) == e.end()) {
        errors.push_back({at, "enum", shown(v) + " is not one of " + shown(e)});
      }
    }
    if (s.contains("const") && v != s.at("const")) {
      errors.push_back({at, "const", shown(v) + " is not " + shown(s.at("const"))});
    }
    if (v.is_number()) {
      numeric(s, v, at, errors);
    }
    if (v.is_string()) {
      string(s, v.get<std::string>(), at, errors);
    }
    if (v.is_array()) {
      array(s, doc, v, at, errors, depth);
    }
    if (v.is_object()) {
      object(s, doc, v, at, errors, depth);
    }
    combinators(s, doc, v, at, errors, depth);
  }

private:
  static std::string kind(const json& v) {
    if (v.is_number_integer()) {
      return "integer";
    }
    return v.type_name(); // "number" for a double
  }

  static bool type_is(const std::string& t, const json& v) {
    if (t == "integer") {
      return v.is_number_integer();
    }
    if (t == "number") {
      return v.is_number();
    }
    if (t == "null") {
      return v.is_null();
    }
    if (t == "boolean") {
      return v.is_boolean();
    }
    if (t == "string") {
      return v.is_string();
    }
    if (t == "array") {
      return v.is_array();
    }
    return v.is_object();
  }

  static bool type_ok(const json& t, const json& v) {
    if (t.is_string()) {
      return type_is(t.get<std::string>(), v);
    }
    return std::any_of(t.begin(), t.end(),
                       [&](const json& one) { return type_is(one.get<std::string>(), v); });
  }

  static long double number(const json& v) {
    if (v.is_number_unsigned()) {
      return static_cast<long double>(v.get<std::uint64_t>());
    }
    if (v.is_number_integer()) {
      return static_cast<long double>(v.get<std::int64_t>());
    }
    return static_cast<long double>(v.get<double>());
  }

  static void numeric(const json& s, const json& v, const std::string& at,
                      std::vector<SchemaError>& errors) {
    const long double x = number(v);
    const auto bound = [&](const char* key, auto ok, const char* relation) {
      if (s.contains(key) && !ok(x, number(s.at(key)))) {
        errors.push_back({at, key, shown(v) + " is not " + relation + " " + s.at(key).dump()});
      }
    };
    bound(
        "minimum", [](long double a, long double b) { return a >= b; }, ">=");
    bound(
        "maximum", [](long double a, long double b) { return a <= b; }, "<=");
    bound(
        "exclusiveMinimum", [](long double a, long double b) { return a > b; }, ">");
    bound(
        "exclusiveMaximum", [](long double a, long double b) { return a < b; }, "<");
  }

  void string(const json& s, const std::string& v, const std::string& at,
              std::vector<SchemaError>& errors) const {
    const std::size_t n = code_points(v);
    if (s.contains("minLength") && n < s.at("minLength").get<std::size_t>()) {
      errors.push_back({at, "minLength", "shorter than " + s.at("minLength").dump()});
    }
    if (s.contains("maxLength") && n > s.at("maxLength").get<std::size_t>()) {
      errors.push_back({at, "maxLength", "longer than " + s.at("maxLength").dump()});
    }
    if (s.contains("pattern")) {
      const std::string& p = s.at("pattern").get_ref<const std::string&>();
      if (!std::regex_search(v, m_set.regex(p))) {
        errors.push_back({at, "pattern", json(v).dump() + " does not match " + json(p).dump()});
      }
    }
  }

  void array(const json& s, const std::string& doc, const json& v, const std::string& at,
             std::vector<SchemaError>& errors, int depth) const {
    if (s.contains("minItems") && v.size() < s.at("minItems").get<std::size_t>()) {
      errors.push_back({at, "minItems", "fewer than " + s.at("minItems").dump() + " items"});
    }
    if (s.contains("maxItems") && v.size() > s.at("maxItems").get<std::size_t>()) {
      errors.push_back({at, "maxItems", "more than " + s.at("maxItems").dump() + " items"});
    }
    if (s.contains("uniqueItems") && s.at("uniqueItems") == true) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        for (std::size_t k = 0; k < i; ++k) {
          if (v[i] == v[k]) {
            errors.push_back({child(at, i), "uniqueItems", "repeats item " + std::to_string(k)});
          }
        }
      }
    }
    std::size_t first = 0;
    if (s.contains("prefixItems")) {
      const json& p = s.at("prefixItems");
      for (; first < p.size() && first < v.size(); ++first) {
        validate(p[first], doc, v[first], child(at, first), errors, depth + 1);
      }
      first = p.size();
    }
    if (s.contains("items")) {
      for (std::size_t i = first; i < v.size(); ++i) {
        validate(s.at("items"), doc, v[i], child(at, i), errors, depth + 1);
      }
    }
  }

  void object(const json& s, const std::string& doc, const json& v, const std::string& at,
              std::vector<SchemaError>& errors, int depth) const {
    if (s.contains("required")) {
      for (const json& name : s.at("required")) {
        if (!v.contains(name.get<std::string>())) {
          errors.push_back({at, "required", "missing property " + name.dump()});
        }
      }
    }
    for (const auto& [key, value] : v.items()) {
      bool matched = false;
      if (s.contains("properties") && s.at("properties").contains(key)) {
        matched = true;
        validate(s.at("properties").at(key), doc, value, child(at, key), errors, depth + 1);
      }
      if (s.contains("patternProperties")) {
        for (const auto& [p, sub] : s.at("patternProperties").items()) {
          if (std::regex_search(key, m_set.regex(p))) {
            matched = true;
            validate(sub, doc, value, child(at, key), errors, depth + 1);
          }
        }
      }
      if (!matched && s.contains("additionalProperties")) {
        const json& extra = s.at("additionalProperties");
        if (extra == false) {
          errors.push_back({child(at, key), "additionalProperties",
                            "property " + json(key).dump() + " is not allowed"});
        } else {
          validate(extra, doc, value, child(at, key), errors, depth + 1);
        }
      }
    }
  }

  void combinators(const json& s, const std::string& doc, const json& v, const std::string& at,
                   std::vector<SchemaError>& errors, int depth) const {
    if (s.contains("allOf")) {
      for (const json& sub : s.at("allOf")) {
        validate(sub, doc, v, at, errors, depth + 1);
      }
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) {
        continue;
      }
      std::size_t passed = 0;
      std::vector<SchemaError> closest;
      for (const json& sub : s.at(key)) {
        std::vector<SchemaError> e;
        validate(sub, doc, v, at, e, depth + 1);
        if (e.empty()) {
          ++passed;
        } else if (closest.empty() || e.size() < closest.size()) {
          closest = e;
        }
      }
      const std::string n = std::to_string(s.at(key).size());
      if (passed == 0) {
        const SchemaError& c = closest.front();
        errors.push_back({at, key,
                          "matches none of the " + n + " alternatives (closest: " + c.pointer +
                              ": " + c.keyword + ": " + c.message + ")"});
      } else if (passed > 1 && std::string(key) == "oneOf") {
        errors.push_back({at, key,
                          "matches " + std::to_string(passed) + " of the " + n +
                              " alternatives; exactly one must match"});
      }
    }
  }

  const SchemaSet& m_set;
};

} // namespace

std::string to_string(const std::vector<SchemaError>& errors) {
  std::string out;
  for (const SchemaError& e : errors) {
    out += (e.pointer.empty() ? std::string("(root)") : e.pointer) + ": " + e.keyword + ": " +
           e.message + "\n";
  }
  return out;
}

std::string SchemaSet::add(json schema) {
  if (!schema.is_object() || !schema.contains("$id") || !schema.at("$id").is_string()) {
    throw std::invalid_argument("a schema document must be an object with a string $id");
  }
  const std::string id = schema.at("$id").get<std::string>();
  if (m_docs.count(id) != 0) {
    throw std::invalid_argument("schema " + id + " is added twice");
  }
  std::vector<std::pair<std::string, std::string>> refs;
  std::map<std::string, std::regex> patterns = m_patterns;
  SchemaChecker(id, patterns, refs).check(schema, "", true);
  m_patterns = std::move(patterns);
  m_refs.insert(m_refs.end(), refs.begin(), refs.end());
  m_docs.emplace(id, std::move(schema));
  return id;
}

std::pair<std::string, const json*> SchemaSet::resolve(const std::string& from_id,
                                                       const std::string& ref) const {
  const std::size_t hash = ref.find('#');
  std::string doc = ref.substr(0, hash);
  const std::string fragment = hash == std::string::npos ? "" : ref.substr(hash + 1);
  if (doc.empty()) {
    doc = from_id;
  } else if (doc.find("://") == std::string::npos && doc.rfind("urn:", 0) != 0) {
    const std::size_t slash = from_id.rfind('/');
    doc = (slash == std::string::npos ? std::string() : from_id.substr(0, slash + 1)) + doc;
  }
  const auto it = m_docs.find(doc);
  if (it == m_docs.end()) {
    throw std::invalid_argument("$ref " + ref + " in " + from_id + ": no schema " + doc);
  }
  if (fragment.empty()) {
    return {doc, &it->second};
  }
  if (fragment.front() != '/') {
    throw std::invalid_argument("$ref " + ref + " in " + from_id +
                                ": only JSON-pointer fragments are supported");
  }
  const json::json_pointer ptr(fragment);
  if (!it->second.contains(ptr)) {
    throw std::invalid_argument("$ref " + ref + " in " + from_id + ": #" + fragment +
                                " is not in " + doc);
  }
  const json& target = it->second.at(ptr);
  if (!is_schema(target)) {
    throw std::invalid_argument("$ref " + ref + " in " + from_id + ": not a schema");
  }
  return {doc, &target};
}

const std::regex& SchemaSet::regex(const std::string& pattern) const {
  return m_patterns.at(pattern);
}

void SchemaSet::check_refs() const {
  for (const auto& [id, ref] : m_refs) {
    (void)resolve(id, ref);
  }
}

std::vector<SchemaError> SchemaSet::validate(const std::string& id, const json& instance) const {
  const auto it = m_docs.find(id);
  if (it == m_docs.end()) {
    throw std::invalid_argument("no schema " + id);
  }
  std::vector<SchemaError> errors;
  Validator(*this).validate(it->second, id, instance, "", errors, 0);
  return errors;
}

JsonSchema::JsonSchema(json schema) {
  if (schema.is_boolean()) {
    schema = json{{"allOf", json::array({schema})}}; // a document must be an object
  }
  if (schema.is_object() && !schema.contains("$id")) {
    schema["$id"] = "urn:bwplan-test:schema";
  }
  m_id = m_set.add(std::move(schema));
  m_set.check_refs();
}

std::vector<SchemaError> JsonSchema::validate(const json& instance) const {
  return m_set.validate(m_id, instance);
}

} // namespace bwplan::test
