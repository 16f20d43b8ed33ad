// The test-support JSON Schema validator (tests/json_schema.*) on small hand-written schemas.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "json_schema.hpp"

using bwplan::test::JsonSchema;
using bwplan::test::SchemaError;
using bwplan::test::SchemaSet;
using nlohmann::json;

namespace {

std::vector<SchemaError> errors_of(const json& schema, const json& instance) {
  return JsonSchema(schema).validate(instance);
}

/// The instance passes.
void passes(const json& schema, const json& instance) {
  const auto e = errors_of(schema, instance);
  INFO("schema " << schema.dump() << "\ninstance " << instance.dump() << "\n"
                 << bwplan::test::to_string(e));
  CHECK(e.empty());
}

/// The instance fails with exactly one error, at `pointer`, from `keyword`.
void fails_at(const json& schema, const json& instance, const std::string& pointer,
              const std::string& keyword) {
  const auto e = errors_of(schema, instance);
  INFO("schema " << schema.dump() << "\ninstance " << instance.dump() << "\n"
                 << bwplan::test::to_string(e));
  REQUIRE(e.size() == 1);
  CHECK(e[0].pointer == pointer);
  CHECK(e[0].keyword == keyword);
}

} // namespace

TEST_CASE("schema validator: type, integer versus number, type arrays", "[schema][validator]") {
  const json integer = {{"type", "integer"}};
  passes(integer, 3);
  passes(integer, -3);
  passes(integer, json(18446744073709551615ULL));
  fails_at(integer, 3.5, "", "type");
  fails_at(integer, 3.0, "", "type"); // stricter than the specification, on purpose
  fails_at(integer, "3", "", "type");
  const json number = {{"type", "number"}};
  passes(number, 3);
  passes(number, 3.5);
  fails_at(number, true, "", "type");
  fails_at(number, nullptr, "", "type");
  const json nullable = {{"type", {"string", "null"}}};
  passes(nullable, "x");
  passes(nullable, nullptr);
  fails_at(nullable, 1, "", "type");
  passes({{"type", "boolean"}}, false);
  fails_at({{"type", "boolean"}}, 0, "", "type");
  passes({{"type", "array"}}, json::array());
  fails_at({{"type", "object"}}, json::array(), "", "type");
}

TEST_CASE("schema validator: objects, required, additionalProperties, patternProperties",
          "[schema][validator]") {
  const json s = json::parse(R"({
    "type": "object",
    "required": ["a", "b"],
    "properties": {"a": {"type": "integer", "minimum": 0}, "b": {"type": "string"}},
    "additionalProperties": false
  })");
  passes(s, json::parse(R"({"a": 0, "b": ""})"));
  fails_at(s, json::parse(R"({"a": 0})"), "", "required");
  fails_at(s, json::parse(R"({"a": -1, "b": ""})"), "/a", "minimum");
  fails_at(s, json::parse(R"({"a": 1, "b": "", "c": 2})"), "/c", "additionalProperties");
  // keys are escaped in pointers: "~" as ~0, "/" as ~1
  fails_at(s, json::parse(R"({"a": 1, "b": "", "x/y~z": 2})"), "/x~1y~0z", "additionalProperties");

  const json typed_extra = json::parse(
      R"({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}})");
  passes(typed_extra, json::parse(R"({"p": 1, "q": 2})"));
  fails_at(typed_extra, json::parse(R"({"p": 1, "q": -2})"), "/q", "minimum");

  const json patterned = json::parse(R"({
    "type": "object",
    "patternProperties": {"_bytes$": {"type": "integer"}},
    "additionalProperties": false
  })");
  passes(patterned, json::parse(R"({"a_bytes": 1, "b_bytes": 2})"));
  fails_at(patterned, json::parse(R"({"a_bytes": 1.5})"), "/a_bytes", "type");
  fails_at(patterned, json::parse(R"({"a_seconds": 1})"), "/a_seconds", "additionalProperties");
}

TEST_CASE("schema validator: arrays, items, prefixItems, minItems, uniqueItems",
          "[schema][validator]") {
  const json s = json::parse(R"({"type": "array", "items": {"type": "string"}, "minItems": 1})");
  passes(s, json::parse(R"(["a", "b"])"));
  fails_at(s, json::array(), "", "minItems");
  fails_at(s, json::parse(R"(["a", 2, "c"])"), "/1", "type");
  const json prefix = json::parse(R"({
    "type": "array",
    "prefixItems": [{"const": "x"}, {"type": "integer"}],
    "items": {"type": "boolean"}
  })");
  passes(prefix, json::parse(R"(["x", 1, true, false])"));
  passes(prefix, json::parse(R"(["x"])"));
  fails_at(prefix, json::parse(R"(["y", 1])"), "/0", "const");
  fails_at(prefix, json::parse(R"(["x", 1, true, 3])"), "/3", "type");
  const json unique = json::parse(R"({"type": "array", "uniqueItems": true, "maxItems": 3})");
  passes(unique, json::parse(R"([1, 2, 3])"));
  fails_at(unique, json::parse(R"([1, 2, 1])"), "/2", "uniqueItems");
  fails_at(unique, json::parse(R"([1, 2, 3, 4])"), "", "maxItems");
  // nested pointers
  const json nested = json::parse(R"({
    "type": "object",
    "properties": {"plans": {"type": "array", "items": {
      "type": "object", "properties": {"gpus": {"type": "integer", "exclusiveMinimum": 0}}}}}
  })");
  fails_at(nested, json::parse(R"({"plans": [{"gpus": 8}, {"gpus": 0}]})"), "/plans/1/gpus",
           "exclusiveMinimum");
}

TEST_CASE("schema validator: enum, const, bounds, strings", "[schema][validator]") {
  const json e = json::parse(R"({"enum": ["full", "hybrid", null]})");
  passes(e, "full");
  passes(e, nullptr);
  fails_at(e, "fsdp", "", "enum");
  passes(json::parse(R"({"const": 1})"), 1);
  fails_at(json::parse(R"({"const": 1})"), 2, "", "const");
  const json bounded = json::parse(R"({"type": "number", "minimum": 0, "maximum": 1})");
  passes(bounded, 0);
  passes(bounded, 1.0);
  fails_at(bounded, -0.001, "", "minimum");
  fails_at(bounded, 1.5, "", "maximum");
  fails_at(json::parse(R"({"exclusiveMaximum": 1})"), 1, "", "exclusiveMaximum");
  // integer bounds keep their precision beyond 2^53
  fails_at(json::parse(R"({"maximum": 9007199254740992})"), json(9007199254740993LL), "",
           "maximum");
  const json str = json::parse(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  passes(str, "ab");
  passes(str, "\xc3\xa9\xc3\xa9"); // two code points, four bytes
  fails_at(str, "a", "", "minLength");
  fails_at(str, "abcd", "", "maxLength");
  const json pat =
      json::parse(R"({"type": "string", "pattern": "^ml\\.[a-z0-9-]+\\.\\d+xlarge$"})");
  passes(pat, "ml.p6-b200.48xlarge");
  fails_at(pat, "p6-b200.48xlarge", "", "pattern");
  passes(json::parse(R"({"pattern": "b2"})"), "ab200"); // unanchored, as the specification says
}

TEST_CASE("schema validator: $ref to $defs, anyOf, oneOf, allOf, boolean schemas",
          "[schema][validator]") {
  const json s = json::parse(R"({
    "$defs": {
      "bytes": {"type": "integer", "minimum": 0},
      "pair": {"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#/$defs/bytes"}}}
    },
    "type": "array",
    "items": {"$ref": "#/$defs/pair"}
  })");
  passes(s, json::parse(R"([{"a": 0}, {"a": 5}])"));
  fails_at(s, json::parse(R"([{"a": 0}, {"a": -5}])"), "/1/a", "minimum");
  fails_at(s, json::parse(R"([{"b": 0}])"), "/0", "required");

  const json any = json::parse(R"({"anyOf": [{"type": "integer"}, {"type": "string"}]})");
  passes(any, 1);
  passes(any, "x");
  fails_at(any, 1.5, "", "anyOf");
  const json one = json::parse(R"({"oneOf": [{"type": "integer"}, {"type": "number"}]})");
  passes(one, 1.5);
  fails_at(one, 1, "", "oneOf"); // both match
  fails_at(one, "x", "", "oneOf");
  const json all = json::parse(R"({"allOf": [{"minimum": 0}, {"maximum": 10}]})");
  passes(all, 5);
  fails_at(all, 11, "", "maximum");
  passes(true, json::parse(R"({"anything": [1]})"));
  fails_at(json::parse(R"({"properties": {"x": false}})"), json::parse(R"({"x": 1})"), "/x",
           "false");
  // every failure is reported, each with its own pointer
  const auto many =
      errors_of(json::parse(R"({"type": "object", "properties": {"a": {"type": "string"},
                      "b": {"type": "array", "items": {"type": "integer"}}}})"),
                json::parse(R"({"a": 1, "b": [1, "x", "y"]})"));
  REQUIRE(many.size() == 3);
  CHECK(many[0].pointer == "/a");
  CHECK(many[1].pointer == "/b/1");
  CHECK(many[2].pointer == "/b/2");
}

TEST_CASE("schema validator: $ref across documents of a set, relative to $id",
          "[schema][validator]") {
  SchemaSet set;
  set.add(json::parse(R"({"$id": "https://x.test/s/common.schema.json",
                          "$defs": {"n": {"type": "integer", "minimum": 0}}})"));
  set.add(json::parse(R"({"$id": "https://x.test/s/main.schema.json", "type": "object",
                          "properties": {"n": {"$ref": "common.schema.json#/$defs/n"}}})"));
  set.check_refs();
  CHECK(set.validate("https://x.test/s/main.schema.json", json::parse(R"({"n": 3})")).empty());
  const auto e = set.validate("https://x.test/s/main.schema.json", json::parse(R"({"n": -3})"));
  REQUIRE(e.size() == 1);
  CHECK(e[0].pointer == "/n");
  CHECK(e[0].keyword == "minimum");
  SchemaSet broken;
  broken.add(json::parse(R"({"$id": "https://x.test/a.json", "$ref": "b.json"})"));
  CHECK_THROWS_WITH(broken.check_refs(), Catch::Contains("no schema https://x.test/b.json"));
}

TEST_CASE("schema validator: unsupported keywords and malformed schemas fail loudly",
          "[schema][validator]") {
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"type": "string", "format": "date"})")),
                    Catch::Contains("unsupported keyword 'format'"));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"properties": {"a": {"minProperties": 1}}})")),
                    Catch::Contains("unsupported keyword 'minProperties'") &&
                        Catch::Contains("#/properties/a"));
  // a property name is not a keyword; a misspelt keyword is
  CHECK_NOTHROW(JsonSchema(json::parse(R"({"properties": {"format": {"type": "string"}}})")));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"additionalproperties": false})")),
                    Catch::Contains("'additionalproperties'"));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"type": "int"})")), Catch::Contains("unknown type"));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"items": [{"type": "string"}]})")),
                    Catch::Contains("prefixItems"));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"required": "a"})")),
                    Catch::Contains("array of property names"));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"pattern": "(unclosed"})")),
                    Catch::Contains("does not compile"));
  CHECK_THROWS_WITH(JsonSchema(json::parse(R"({"$ref": "#/$defs/missing"})")),
                    Catch::Contains("is not in"));
  CHECK_THROWS_WITH(
      JsonSchema(json::parse(R"({"$schema": "http://json-schema.org/draft-07/schema#"})")),
      Catch::Contains("2020-12"));
  CHECK_THROWS_WITH(
      JsonSchema(json::parse(
          R"({"required": ["a"], "properties": {"b": true}, "additionalProperties": false})")),
      Catch::Contains("required property 'a'"));
  const JsonSchema cycle(
      json::parse(R"({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})"));
  CHECK_THROWS_WITH(cycle.validate(1), Catch::Contains("cycle"));
}
