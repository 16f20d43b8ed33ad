#include "config_flags.hpp"

#include <algorithm>
#include <stdexcept>

#include "bwplan/config_fields.hpp"

namespace bwplan::cli {

void ConfigFlags::add_to(CLI::App& cmd, const char* group, Pick pick,
                         std::span<const std::string_view> keys) {
  const auto add = [&]<class T>(const ConfigField<T>& f) {
    const std::string flag = io::config_flag(f.key);
    std::string help = io::spell_fields(f.help, io::Spelling::flags);
    if (f.zero_means_default) { // CLI11 shows other defaults as "=VALUE" after the type
      help += " [" + std::string(f.default_text) + "]";
    }
    m_added.emplace(f.key);
    CLI::Option* opt = nullptr;
    if constexpr (std::is_same_v<T, bool>) {
      opt = cmd.add_flag(flag, m_values.*f.member, help);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      // A field whose 0 stands for a default is range-checked here: later, a 0 given is that
      // default.
      opt = cmd.add_option(flag, m_values.*f.member, help)
                ->transform(strict_integer(std::pair{f.min, f.max}, f.zero_means_default));
      if (!f.zero_means_default) {
        opt->capture_default_str();
      }
    } else if constexpr (std::is_same_v<T, double>) {
      opt = cmd.add_option(flag, m_values.*f.member, help)
                ->transform(number_in(f.min, f.max))
                ->capture_default_str();
    } else {
      std::string& value = m_choices[std::string(f.key)];
      value = name_of(m_values.*f.member);
      opt = cmd.add_option(flag, value, help)->capture_default_str();
    }
    opt->group(group)->each(
        [this, key = std::string(f.key)](const std::string&) { m_given.insert(key); });
  };
  if (pick == Pick::only) {
    for (const std::string_view key : keys) { // in the caller's order: --help lists them so
      bool found = false;
      for_each_config_field([&]<class T>(const ConfigField<T>& f) {
        if (f.key == key) {
          add(f);
          found = true;
        }
      });
      if (!found) {
        throw std::logic_error("ConfigFlags: no field " + std::string(key));
      }
    }
    return;
  }
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if (std::find(keys.begin(), keys.end(), f.key) == keys.end()) {
      add(f);
    }
  });
}

void ConfigFlags::apply(TrainingConfig& c) const {
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if (m_added.count(f.key) == 0) {
      return;
    }
    if constexpr (k_is_config_enum<T>) {
      c.*f.member = parse_flag<T>(m_choices.find(f.key)->second, io::config_flag(f.key).c_str());
    } else {
      c.*f.member = m_values.*f.member;
    }
  });
}

std::vector<std::pair<InstanceSpec, GpuSpec>> instance_alternatives(Context& ctx) {
  std::vector<std::pair<InstanceSpec, GpuSpec>> out;
  for (const InstanceSpec& inst : ctx.catalog().instances) {
    out.emplace_back(inst, ctx.catalog().gpu_of(inst));
  }
  return out;
}

} // namespace bwplan::cli
