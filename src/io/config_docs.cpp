#include "config_docs.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/field_names.hpp"
#include "bwplan/render.hpp"

namespace bwplan::io {

namespace {

/// One line of JSON in the schemas' hand layout: ", " between items, ": " after keys.
std::string inline_json(const OrderedJson& j) {
  if (j.is_object()) {
    std::string s = "{";
    for (const auto& [key, value] : j.items()) {
      s += (s.size() > 1 ? ", " : "") + OrderedJson(key).dump() + ": " + inline_json(value);
    }
    return s + "}";
  }
  if (j.is_array()) {
    std::string s = "[";
    for (const OrderedJson& v : j) {
      s += (s.size() > 1 ? ", " : "") + inline_json(v);
    }
    return s + "]";
  }
  return j.dump();
}

/// `words` joined by `sep` into lines of at most `width` characters, each starting `indent`.
std::string wrapped(const std::vector<std::string>& words, std::string_view sep, std::size_t width,
                    std::string_view indent) {
  std::string out;
  std::string line(indent);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string word = words[i] + (i + 1 < words.size() ? std::string(sep) : "");
    const std::string_view trimmed =
        std::string_view(word).substr(0, word.find_last_not_of(' ') + 1);
    if (line.size() > indent.size() && line.size() + trimmed.size() > width) {
      out += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
      line = indent;
    }
    line += word;
  }
  return out + line.substr(0, line.find_last_not_of(' ') + 1);
}

/// The keys a plan's config has before the registry's: where it runs.
OrderedJson where_properties() {
  OrderedJson p;
  p["model"] = {{"type", "string"}, {"minLength", 1}};
  p["gpu"] = {{"type", "string"}, {"minLength", 1}};
  p["instance"] = {{"description", "null when the job was given as GPUs (--gpu)"},
                   {"type", {"string", "null"}},
                   {"minLength", 1}};
  p["nodes"] = {{"type", "integer"}, {"minimum", 1}};
  return p;
}

template <class T> OrderedJson field_schema(const ConfigField<T>& f) {
  OrderedJson p;
  if constexpr (std::is_same_v<T, bool>) {
    p["type"] = "boolean";
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    p["type"] = "integer";
    p["minimum"] = f.min;
    p["maximum"] = f.max;
  } else if constexpr (std::is_same_v<T, double>) {
    p["type"] = "number";
    p["minimum"] = f.min;
    p["maximum"] = f.max;
  } else {
    p["$ref"] = "#/$defs/" + std::string(f.key);
  }
  p["description"] = spell_fields(f.help, Spelling::keys);
  return p;
}

template <class T> std::string flag_default(const ConfigField<T>& f) {
  const T value = TrainingConfig{}.*f.member;
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "on" : "off";
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return f.zero_means_default ? std::string(f.default_text) : std::to_string(value);
  } else if constexpr (std::is_same_v<T, double>) {
    return fmt::format("{}", value);
  } else {
    return fmt::format("`{}`", name_of(value));
  }
}

template <class T> std::string flag_spelling(const ConfigField<T>& f) {
  std::string s = config_flag(f.key);
  if constexpr (std::is_same_v<T, std::int64_t>) {
    s += " N";
  } else if constexpr (std::is_same_v<T, double>) {
    s += " P";
  } else if constexpr (k_is_config_enum<T>) {
    s += " " + fmt::format("{}", fmt::join(EnumTraits<T>::names, "\\|"));
  }
  return s;
}

} // namespace

std::string config_schema_def_text() {
  OrderedJson props = where_properties();
  for_each_config_field(
      [&]<class T>(const ConfigField<T>& f) { props[std::string(f.key)] = field_schema(f); });
  std::vector<std::string> keys;
  std::vector<std::string> lines;
  for (const auto& [key, value] : props.items()) {
    keys.push_back(OrderedJson(key).dump());
    lines.push_back("        " + OrderedJson(key).dump() + ": " + inline_json(value));
  }
  std::string s = "    \"config\": {\n";
  s += "      \"description\": \"every setting of one training configuration: enough to re-run "
       "`estimate` (read back by `check` and `emit`); written from the field registry, "
       "include/bwplan/config_fields.hpp\",\n";
  s += "      \"type\": \"object\",\n";
  s += "      \"required\": [\n" + wrapped(keys, ", ", 100, "        ") + "\n      ],\n";
  s += "      \"properties\": {\n";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    s += lines[i] + (i + 1 < lines.size() ? ",\n" : "\n");
  }
  s += "      },\n      \"additionalProperties\": false\n    }";
  return s;
}

std::string config_enum_defs_text() {
  std::vector<std::string> lines;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (k_is_config_enum<T>) {
      lines.push_back("    " + OrderedJson(f.key).dump() + ": " +
                      inline_json(OrderedJson{{"enum", enum_names<T>()}}));
    }
  });
  return fmt::format("{}", fmt::join(lines, ",\n"));
}

std::string config_flag_table(std::span<const std::string_view> except) {
  std::string s = "| option | default | meaning |\n|---|---|---|\n";
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if (std::find(except.begin(), except.end(), f.key) == except.end()) {
      s += fmt::format("| `{}` | {} | {} |\n", flag_spelling(f), flag_default(f),
                       spell_fields(f.help, Spelling::flags));
    }
  });
  return s;
}

std::string measurement_case_paragraph() {
  std::vector<std::string> required = {"`id`", "`source`", "`model` (preset or model object)",
                                       "`gpu`"};
  std::vector<std::string> optional;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    const std::string quoted = fmt::format("`{}`", f.key);
    if (f.in_cases == InCases::required) {
      required.push_back(quoted);
    } else if (f.in_cases == InCases::optional) {
      optional.push_back(quoted);
    }
  });
  std::vector<std::string> words = {"Measurement",
                                    "files",
                                    "(`bwplan-measurements/1`):",
                                    "`{\"schema\",",
                                    "\"about\",",
                                    "\"cases\":",
                                    "[...]}`;",
                                    "a",
                                    "case",
                                    "has"};
  const auto add = [&](const std::string& item) {
    std::size_t start = 0;
    while (start <= item.size()) {
      const std::size_t end = std::min(item.find(' ', start), item.size());
      words.push_back(item.substr(start, end - start));
      start = end + 1;
    }
  };
  for (const std::string& k : required) {
    add(k + ",");
  }
  add("`measured {metric, value, …}`, and optionally");
  for (const std::string& k : optional) {
    add(k + ",");
  }
  add("`gpu_power_limit_watts` (the run's GPUs were capped below their TDP), `notes`.");
  return wrapped(words, " ", 100, "");
}

} // namespace bwplan::io
