#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bwplan/calibration_profile.hpp"
#include "bwplan/config_fields.hpp"
#include "bwplan/suggest.hpp"
#include "bwplan/utf8.hpp"
#include "context.hpp"
#include "safe_write.hpp"

namespace bwplan::cli {

void Context::begin() {
  if (global->quiet) {
    log->set_level(spdlog::level::err);
  } else if (global->verbose) {
    log->set_level(spdlog::level::debug);
  }
}

const Catalog& Context::catalog() {
  if (!m_catalog) {
    if (global->configs_dir.empty()) {
      m_catalog = builtin_catalog();
    } else {
      std::vector<SourceFile> files = read_catalog_dir(global->configs_dir);
      for (const SourceFile& f : files) {
        note_input("a --configs catalog file", f.path);
      }
      m_catalog = load_catalog(files, global->configs_dir);
    }
    log->debug("catalog {}: {} GPUs, {} instance types, {} models", m_catalog->origin,
               m_catalog->gpus.size(), m_catalog->instances.size(), m_catalog->models.size());
  }
  return *m_catalog;
}

void Context::note_input(const std::string& role, const std::string& path) {
  if (!path.empty() && path != "-") {
    inputs.push_back({role, path});
  }
}

void Context::note_model_input(const std::string& model) {
  if (!model.empty() && catalog().find_model(model) == nullptr) {
    note_input("the --model file", model);
  }
}

std::string read_input_text(const std::string& path) {
  if (path == "-") {
    return read_stdin_text();
  }
  return read_text_file(path);
}

std::string read_input_text(Context& ctx, const std::string& role, const std::string& path) {
  ctx.note_input(role, path);
  return read_input_text(path);
}

PlanDocument read_plan(Context& ctx, const PlanSource& source) {
  ctx.note_model_input(source.model);
  PlanDocument doc =
      parse_plan(read_input_text(ctx, "the --plan file", source.plan), ctx.catalog(), source);
  // as estimate warns for --seq-len: a plan edited (or a --model given) to a shorter window
  const TrainingConfig& c = doc.request.config;
  warn_beyond_max_seq_len(ctx, source.plan + ": seq_len", c.seq_len, doc.request.model);
  warn_inert_settings(ctx, c, doc.request.model, Spelling::keys, source.plan + ": ");
  return doc;
}

namespace {

/// A field as a warning's source spells it: the registry's flag, or the plan's key (a switch set
/// in a plan followed by `on`, "true").
std::string field_named(Spelling spelling, std::string_view key, std::string_view on = {}) {
  if (spelling == Spelling::flags) {
    return io::config_flag(key);
  }
  return on.empty() ? std::string(key) : fmt::format("{} {}", key, on);
}

} // namespace

std::string loss_parallel_unused(Spelling spelling) {
  return fmt::format("{} has no effect with {} 1 (every rank holds the whole vocabulary's logits "
                     "either way)",
                     field_named(spelling, "disable_loss_parallel", "true"),
                     field_named(spelling, "tp"));
}

void warn_inert_settings(Context& ctx, const TrainingConfig& c, const ModelSpec& model,
                         Spelling spelling, std::string_view prefix) {
  if (c.disable_loss_parallel && c.tp == 1) {
    ctx.log->warn("{}{}", prefix, loss_parallel_unused(spelling));
  }
  if (c.grad_accum_mode == GradAccumMode::no_sync && c.grad_accum == 1) {
    // estimate spells the mode as a switch of its own (io::k_flags_spelled_apart)
    ctx.log->warn("{}{} has no effect with {} 1 (one micro-batch reduces its gradients once "
                  "either way)",
                  prefix, io::spell_fields("`grad_accum_mode` no-sync", spelling),
                  field_named(spelling, "grad_accum"));
  }
  if (c.fp8_all_gather && c.sharding == Sharding::none) {
    ctx.log->warn("{}{} has no effect with {} none (nothing is gathered)", prefix,
                  field_named(spelling, "fp8_all_gather", "true"),
                  field_named(spelling, "sharding"));
  }
  if (!model.is_moe()) {
    // both keys describe routed experts only: a dense model's layers are the same either way
    const auto inert = [&](std::string_view key, std::string_view value) {
      ctx.log->warn("{}{} has no effect on {}, which has no routed experts", prefix,
                    io::spell_fields(fmt::format("`{}` {}", key, value), spelling), model.name);
    };
    if (c.moe_impl != MoeImpl::trainer_default) {
      inert("moe_impl", name_of(c.moe_impl));
    }
    if (c.expert_fsdp == ExpertFsdp::sharded) {
      inert("expert_fsdp", name_of(c.expert_fsdp));
    }
  } else if (c.expert_fsdp == ExpertFsdp::sharded && !experts_outside_fsdp(c)) {
    // Automodel wraps experts in FSDP whenever an expert FSDP group of more than one rank is left
    ctx.log->warn("{}{} has no effect with {} {} over a shard group of {} (the routed experts are "
                  "an FSDP unit either way)",
                  prefix, io::spell_fields("`expert_fsdp` sharded", spelling),
                  field_named(spelling, "ep"), c.ep, effective_shard_group(c));
  }
  if (hybrid_replicates_nothing(c)) {
    const std::string sharding = field_named(spelling, "sharding");
    ctx.log->warn("{}{} hybrid over one shard group ({} GPUs) replicates nothing: {} full is the "
                  "same job",
                  prefix, sharding, effective_shard_group(c), sharding);
  }
}

void warn_beyond_max_seq_len(Context& ctx, std::string_view what, std::int64_t seq_len,
                             const ModelSpec& model) {
  if (seq_len > model.max_seq_len) {
    ctx.log->warn("{} {} is longer than {}'s max_seq_len {}", what, seq_len, model.name,
                  model.max_seq_len);
  }
}

/// The words a flag validator uses for a well-formed value outside what is allowed.
constexpr const char* k_out_of_range_words = "is out of range: allowed";

CLI::Validator strict_integer(std::optional<std::pair<std::int64_t, std::int64_t>> range,
                              bool enforce) {
  return CLI::Validator(
      [range, enforce](std::string& s) -> std::string {
        const std::string shown = controls_escaped(s); // a newline is \x0a, not a space
        std::int64_t v = 0;
        const NumberText read = read_number(s, v);
        if (read == NumberText::out_of_range) {
          // well formed but beyond 64 bits: out of range (status 1), as 2^63 - 1 is
          flag_value_out_of_range() = true;
          if (range) {
            return fmt::format("'{}' {} {}..{}", shown, k_out_of_range_words, range->first,
                               range->second);
          }
          return fmt::format("'{}' is out of range: beyond 64 bits, {} any value the flag allows",
                             shown, s.starts_with('-') ? "below" : "above");
        }
        if (read == NumberText::malformed) {
          return fmt::format("'{}' is not a 64-bit decimal integer", shown);
        }
        if (enforce && range && (v < range->first || v > range->second)) {
          flag_value_out_of_range() = true;
          return fmt::format("'{}' {} {}..{}", shown, k_out_of_range_words, range->first,
                             range->second);
        }
        s = std::to_string(v); // "010" is ten: CLI11 alone would read it as octal 8
        return {};
      },
      "");
}

bool& flag_value_out_of_range() {
  thread_local bool seen = false;
  return seen;
}

void check_distinct(const std::vector<std::string>& values, const char* flag) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (values[i] == values[j]) {
        throw UsageError(fmt::format("{} names '{}' twice", flag, values[i]));
      }
    }
  }
}

CLI::Validator not_empty(ValueKind kind) {
  return CLI::Validator(
      [kind](std::string& s) -> std::string {
        if (kind == ValueKind::path && s == "-") {
          return "'-' names no file here (allowed: a path)";
        }
        if (!s.empty()) {
          return {};
        }
        switch (kind) {
        case ValueKind::path: return "the path is empty";
        case ValueKind::input_path:
          return "the path is empty (allowed: a path, or - for standard input)";
        case ValueKind::required: return "the value is empty (it has no default: give one)";
        case ValueKind::value: break;
        }
        return "the value is empty (leave the flag out for its default)";
      },
      "");
}

/// An end of an allowed range as a person writes it: integers whole (1048576, not 1.04858e+06).
std::string range_bound(double v) {
  if (std::abs(v) < 1e15 && v == std::floor(v)) {
    return fmt::format("{}", static_cast<std::int64_t>(v));
  }
  return fmt::format("{:g}", v);
}

CLI::Validator number_in(double lo, double hi, bool lo_open, bool tokens) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        const std::string shown = controls_escaped(s); // a newline is \x0a, not a space
        static constexpr std::pair<char, double> k_suffixes[] = {
            {'k', 1e3}, {'K', 1e3}, {'M', 1e6}, {'B', 1e9}, {'G', 1e9}, {'T', 1e12}};
        double scale = 1;
        std::string_view digits = s;
        if (tokens && !digits.empty()) {
          for (const auto& [c, f] : k_suffixes) {
            if (digits.back() == c) {
              scale = f;
              digits.remove_suffix(1);
            }
          }
        }
        double v = 0;
        // "5e10k" is not 5e13: an exponent and a suffix together are a slip, not a count
        const bool both = scale != 1 && digits.find_first_of("eE") != std::string_view::npos;
        const NumberText read = both ? NumberText::malformed : read_number(digits, v);
        const std::string allowed =
            fmt::format("{}{}{}{}", lo_open ? "above " : "", range_bound(lo),
                        (lo_open ? ", up to " : "..") + range_bound(hi),
                        tokens ? " (a whole count like 5e10, 50B, 4M, 32k)" : "");
        // A number too large or too small for a double (1e400, 1e-400) is out of range, not
        // malformed; both read as a bad value (status 1: app.cpp).
        if (read == NumberText::out_of_range) {
          flag_value_out_of_range() = true;
          return fmt::format("'{}' {} {}", shown, k_out_of_range_words, allowed);
        }
        if (both) {
          return fmt::format("'{}' has both an exponent and a suffix: allowed {}", shown, allowed);
        }
        if (read == NumberText::malformed) {
          return fmt::format("'{}' is not a finite number: allowed {}", shown, allowed);
        }
        v *= scale;
        if (tokens) {
          // A count of tokens is whole (1.5 was kept as 1.5, 0.5 read as "cannot be reached");
          // 4.1M is 4.1 x 1e6 in doubles, a hair off whole, and is 4100000: a suffix's product
          // may be off by rounding (a few parts in 1e16), a number written out may not.
          const double whole = std::round(v);
          const double slack = scale == 1 ? 0.0 : 1e-15 * std::abs(v); // about 4 ulps
          if (std::abs(v - whole) > slack) {
            flag_value_out_of_range() = true;
            return fmt::format("'{}' is not a whole count of tokens: allowed {}", shown, allowed);
          }
          v = whole;
        }
        if (v < lo || v > hi || (lo_open && v <= lo)) {
          flag_value_out_of_range() = true;
          return fmt::format("'{}' {} {}", shown, k_out_of_range_words, allowed);
        }
        s = fmt::format("{:.17g}", v + 0.0); // -0 is 0: no "-0.0" in a plan
        return {};
      },
      "");
}

double headroom_fraction(double pct) {
  if (!(pct >= 0 && pct < 100)) {
    throw Error(fmt::format("--headroom {} is out of range (allowed 0..<100 percent)", pct));
  }
  return pct / 100.0;
}

void add_calibration_ref(const Context& ctx, nlohmann::ordered_json& doc) {
  if (ctx.calibration) {
    doc["calibration"] = {{"file", ctx.calibration->file}, {"sha256", ctx.calibration->sha256}};
  }
}

void add_constants_options(CLI::App& cmd, ConstantsOptions& o) {
  cmd.add_option("--calibration", o.calibration,
                 "a profile `bwplan calibrate` wrote: its fitted constants and bands replace the "
                 "shipped ones")
      ->check(not_empty())
      ->group("Model constants");
  cmd.add_option("--set", o.sets,
                 "override a model constant, e.g. --set time.matmul_efficiency_max=0.6 (keys in "
                 "configs/constants/model.json); repeatable")
      ->group("Model constants");
}

ModelConstants resolve_constants(Context& ctx, const ConstantsOptions& o) {
  ModelConstants k = ctx.catalog().constants;
  if (!o.calibration.empty()) {
    ctx.note_input("the --calibration profile", o.calibration);
    std::string text;
    try {
      text = read_text_file(o.calibration);
    } catch (const Error& e) { // "x: cannot open file" named no flag
      throw Error(fmt::format("--calibration {}", e.what()));
    }
    const CalibrationProfile profile =
        parse_calibration_profile(text, o.calibration, ctx.catalog());
    apply_calibration_profile(profile, k);
    ctx.calibration = ProfileRef{profile.file, profile.sha256};
    ctx.log->info("--calibration {}: {} constants (sha256 {})", o.calibration,
                  profile.constants.size(), profile.sha256.substr(0, 12));
  }
  std::vector<std::string> keys_set;
  for (const std::string& s : o.sets) {
    const std::size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError(fmt::format("--set '{}': expected KEY=VALUE", s));
    }
    const std::string key = s.substr(0, eq);
    keys_set.push_back(key);
    if (const std::vector<std::string> lists = constant_list_keys();
        std::find(lists.begin(), lists.end(), key) != lists.end()) {
      throw UsageError(fmt::format("--set {}: a list of GPU names, which --set cannot set "
                                   "(allowed: number-valued keys; a --configs copy of "
                                   "constants/model.json sets the list)",
                                   key));
    }
    try {
      (void)get_constant(k, key); // an unknown key is said before its value is read
    } catch (const Error& e) {
      throw Error(fmt::format("--set: {}", e.what()));
    }
    const std::string value = s.substr(eq + 1);
    double v = 0;
    const NumberText read = read_number(value, v);
    if (read == NumberText::out_of_range) {
      throw Error(fmt::format("--set {}: '{}' is out of range", s.substr(0, eq), value));
    }
    if (read == NumberText::malformed) {
      throw UsageError(
          fmt::format("--set {}: '{}' is not a finite number", s.substr(0, eq), value));
    }
    try {
      set_constant(k, s.substr(0, eq), v);
    } catch (const Error& e) {
      throw Error(fmt::format("--set: {}", e.what()));
    }
    ctx.log->info("--set {} = {}", s.substr(0, eq), v);
  }
  check_distinct(keys_set, "--set");
  return k;
}

void add_output_options(CLI::App& cmd, OutputOptions& o) {
  cmd.add_option("--format", o.format, "output format: table or json")
      ->capture_default_str()
      ->group("Output");
  cmd.add_option("--output", o.output,
                 "write to this file (atomically) instead of stdout; an existing file is kept "
                 "unless --force")
      ->check(not_empty(ValueKind::path))
      ->group("Output");
  cmd.add_flag("--force", o.force, "let --output replace an existing file")->group("Output");
}

bool wants_json(const OutputOptions& o) {
  if (o.format == "json") {
    return true;
  }
  if (o.format == "table") {
    return false;
  }
  const std::vector<std::string> allowed = {"table", "json"};
  throw UsageError(fmt::format("--format '{}' is not known: allowed table, json{}", o.format,
                               did_you_mean(o.format, allowed)));
}

namespace {

/// Writes and flushes `text` to `out` (`what`: "standard output"); a failure throws WriteError.
void write_stream(std::ostream& out, const std::string& text, const char* what) {
  errno = 0;
  out << text;
  out.flush();
  if (!out) {
    const int e = errno;
    throw WriteError(fmt::format("cannot write {}{}", what,
                                 e != 0 ? std::string(": ") + std::strerror(e) : std::string()));
  }
}

} // namespace

void write_stdout(Context& ctx, const std::string& text) {
  write_stream(*ctx.out, display_safe(text), "standard output");
}

void write_output(Context& ctx, const OutputOptions& o, const std::string& raw, OutputSet& others,
                  const std::string& raw_note, bool note_on_stderr) {
  // a path or name a table quotes cannot drive the terminal, on screen or in the file
  const std::string text = display_safe(raw);
  const std::string note = display_safe(raw_note);
  if (!o.output.empty()) {
    others.add_file("--output", o.output, o.force, text);
  }
  others.commit();
  // Everything for the terminal is written before the files are kept: a failure here undoes
  // them (others is not finished), so that exit status 4 leaves none of the outputs.
  const std::string for_stdout =
      (o.output.empty() ? text : std::string()) + (note_on_stderr ? std::string() : note);
  if (o.output.empty() || !for_stdout.empty()) {
    write_stdout(ctx, for_stdout);
  }
  if (note_on_stderr && !note.empty()) {
    write_stream(*ctx.err, note, "standard error");
  }
  if (!o.output.empty()) {
    ctx.log->info("wrote {}", o.output);
  }
  others.finish();
}

void write_output(Context& ctx, const OutputOptions& o, const std::string& text) {
  OutputSet none(ctx);
  write_output(ctx, o, text, none);
}

} // namespace bwplan::cli
