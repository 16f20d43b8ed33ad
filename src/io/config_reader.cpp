#include "config_reader.hpp"

#include <algorithm>
#include <optional>

#include "bwplan/config_fields.hpp"

namespace bwplan::io {

void allow_config_fields(ObjectReader& r, ConfigSource source) {
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if (source != ConfigSource::measurement_case || f.in_cases != InCases::derived) {
      r.allow(std::string(f.key));
    }
  });
}

void read_config_fields(ObjectReader& r, TrainingConfig& c, ConfigSource source) {
  // Every field's key is known before any is read, so a missing one is reported as missing, not
  // as a misspelling of a field read later ("tp" is one edit from "cp").
  allow_config_fields(r, source);
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if (source == ConfigSource::measurement_case && f.in_cases == InCases::derived) {
      return;
    }
    const std::string key(f.key);
    // A plan carries the required and derived fields; an optional one it lacks was written by a
    // bwplan from before that field, and its default is what that bwplan computed (ep 1, full
    // fine-tuning, ...), so a saved plan stays checkable across upgrades.
    const bool required = f.in_cases == InCases::required ||
                          (source == ConfigSource::plan && f.in_cases == InCases::derived);
    if (!required && !r.has(key)) {
      return; // TrainingConfig's default
    }
    if constexpr (std::is_same_v<T, std::int64_t>) {
      const std::int64_t hi =
          f.member == &TrainingConfig::shard_group ? std::min(f.max, c.gpus) : f.max;
      c.*f.member = r.integer(key, f.min, hi);
    } else if constexpr (std::is_same_v<T, double>) {
      c.*f.member = r.number(key, f.min, f.max);
    } else if constexpr (std::is_same_v<T, bool>) {
      c.*f.member = r.boolean(key);
    } else {
      c.*f.member = parse_enum_or_throw<T>(r.string(key), r.at(key));
    }
  });
}

} // namespace bwplan::io
