/// \file
/// A JSON Schema (draft 2020-12) validator for the subset docs/schema/*.schema.json use, as test
/// support code. Supported keywords: type (incl. type arrays), enum, const, minimum, maximum,
/// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, minItems, maxItems,
/// uniqueItems, items, prefixItems, properties, required, additionalProperties,
/// patternProperties, allOf, anyOf, oneOf, $ref; the annotations $schema, $id, $comment, title,
/// description, $defs. Boolean schemas (true/false) are accepted anywhere a schema is.
///
/// Any other keyword makes loading the schema fail (std::invalid_argument naming it), so a schema
/// cannot silently rely on an unsupported keyword.
///
/// Deliberate differences from the specification:
/// - "integer" accepts only numbers written without a fraction or exponent (nlohmann's integer
///   types): 1.0 is a "number" but not an "integer" (the specification accepts it). bwplan writes
///   whole quantities as integers, and this catches a count that becomes a double.
/// - $ref resolves "#<json-pointer>" within the document, and "<file>#<json-pointer>" against
///   another document of the same SchemaSet, relative to the current document's $id.
/// - pattern uses std::regex (ECMAScript), searched unanchored as the specification says.
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bwplan::test {

/// One failed check: where in the instance (a JSON pointer, "" = the root), which keyword, why.
struct SchemaError {
  std::string pointer;
  std::string keyword;
  std::string message;
};

/// "pointer: keyword: message" per error, one per line (for test failure messages).
[[nodiscard]] std::string to_string(const std::vector<SchemaError>& errors);

/// Schema documents by $id; $ref may point from one to another.
class SchemaSet {
public:
  /// Adds a schema document. Throws std::invalid_argument when it uses an unsupported keyword,
  /// has a malformed keyword value, lacks a $id or repeats one already added, or declares
  /// "additionalProperties": false next to a required key it does not define (it could never
  /// pass). Returns the document's $id.
  std::string add(nlohmann::json schema);

  /// Checks that every $ref of every document added so far resolves (call after the last add).
  /// Throws std::invalid_argument naming the first that does not.
  void check_refs() const;

  /// Validates `instance` against the document with `id`. Throws std::invalid_argument when the
  /// id is unknown or a $ref cannot be resolved.
  [[nodiscard]] std::vector<SchemaError> validate(const std::string& id,
                                                  const nlohmann::json& instance) const;

  /// Where `ref`, written in the document `from_id`, points: {document id, schema}. Throws
  /// std::invalid_argument when it does not resolve.
  [[nodiscard]] std::pair<std::string, const nlohmann::json*> resolve(const std::string& from_id,
                                                                      const std::string& ref) const;

  /// The compiled form of a pattern of an added document.
  [[nodiscard]] const std::regex& regex(const std::string& pattern) const;

  /// Every $ref of every added document, as {document id, ref}.
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& refs() const {
    return m_refs;
  }

private:
  std::map<std::string, nlohmann::json> m_docs;
  std::vector<std::pair<std::string, std::string>> m_refs;
  std::map<std::string, std::regex> m_patterns; ///< compiled once per distinct pattern
};

/// A single schema document on its own: $ref only within it. Throws like SchemaSet::add; a
/// document without $id is accepted (it gets a placeholder id).
class JsonSchema {
public:
  explicit JsonSchema(nlohmann::json schema);
  [[nodiscard]] std::vector<SchemaError> validate(const nlohmann::json& instance) const;

private:
  SchemaSet m_set;
  std::string m_id;
};

} // namespace bwplan::test
