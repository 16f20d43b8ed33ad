#include "app.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <set>

#include "bwplan/sagemaker.hpp"
#include "bwplan/utf8.hpp"
#include "context.hpp"

#ifndef BWPLAN_VERSION
#define BWPLAN_VERSION "0.0.0"
#endif

namespace bwplan::cli {

namespace {

/// An ostream sink that writes each message with its control and format characters escaped as
/// error lines are (controls_escaped): a warning that quotes a path stays one line and cannot
/// drive the terminal or reorder the line. Warnings are held until the command has run
/// (release()): a refused command prints its one error line and nothing else, not the warnings
/// of a run that did not go ahead.
class EscapingSink : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit EscapingSink(std::ostream& out) : out_(out) {}
  /// Writes the warnings held so far, and from now on writes each as it comes.
  void release() {
    const std::lock_guard<std::mutex> lock(mutex_);
    holding_ = false;
    out_.write(held_.data(), static_cast<std::streamsize>(held_.size()));
    out_.flush();
    held_.clear();
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string payload =
        controls_escaped(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg escaped = msg;
    escaped.payload = payload;
    spdlog::memory_buf_t line;
    formatter_->format(escaped, line);
    if (holding_ && msg.level >= spdlog::level::warn) {
      held_.append(line.data(), line.size());
      return;
    }
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.flush();
  }
  void flush_() override { out_.flush(); }

private:
  std::ostream& out_;
  bool holding_ = true;
  std::string held_;
};

std::shared_ptr<spdlog::logger> make_logger(const std::shared_ptr<EscapingSink>& sink) {
  auto log = std::make_shared<spdlog::logger>("bwplan", sink);
  log->set_pattern("bwplan: %l: %v");
  log->set_level(spdlog::level::warn);
  return log;
}

// bwplan promises one line per error, and a control character a value brought into it (an
// escape sequence in a path or a file's string) must not drive the terminal: it is written as
// \xNN, a newline in a value too (\x0a: a space would name another file). CLI11's own messages
// span lines: `joined` makes their line breaks spaces.
std::string one_line(const std::string& in, bool joined = false) {
  std::string text = in;
  if (joined) {
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  std::string s = controls_escaped(text);
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  // A value echoed whole could make a line of megabytes: keep its start (the field) and its end
  // (what is allowed), cut at character boundaries.
  constexpr std::size_t k_head = 1200;
  constexpr std::size_t k_tail = 600;
  if (s.size() > k_head + k_tail + 200) {
    const auto boundary = [&s](std::size_t i) {
      while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
        --i;
      }
      return i;
    };
    const std::size_t head = boundary(k_head);
    const std::size_t tail = boundary(s.size() - k_tail);
    s = fmt::format("{} ...({} bytes left out)... {}", s.substr(0, head), tail - head,
                    s.substr(tail));
  }
  return s;
}

/// The names of `app`'s subcommands, as the help lists them.
std::string subcommand_names(const CLI::App& app) {
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

/// "--seq-len needs an integer and was given none": an option written without its value, by its
/// CLI11 type name (INT, FLOAT, TEXT).
std::string missing_value(const std::string& name, const std::string& type) {
  const char* what = type == "INT" ? "an integer" : type == "FLOAT" ? "a number" : "a value";
  return fmt::format("{} needs {} and was given none", name, what);
}

/// CLI11's words for a usage error, in bwplan's: the extra arguments whole and in the order given
/// (CLI11 parses a reversed list and joins with spaces), a repeated flag said as such, and a
/// missing or unknown subcommand named with the ones allowed where it was expected.
std::string usage_message(const CLI::ParseError& e, const CLI::App& app,
                          const std::vector<std::string>& args) {
  std::string msg = one_line(e.what(), true);
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const std::string listed = msg.substr(msg.find(": ") + 2);
    // CLI11 lists them space-separated: a plain argument is matched as a whole word (a substring
    // match named the valid --micro-batch beside an unknown --micro-batchx), each listed once.
    std::multiset<std::string> words;
    for (std::size_t at = 0; at <= listed.size();) {
      const std::size_t end = std::min(listed.find(' ', at), listed.size());
      words.insert(listed.substr(at, end - at));
      at = end + 1;
    }
    std::string given;
    for (const std::string& a : args) { // those of the user's arguments CLI11 listed, in order
      const bool plain = a.find(' ') == std::string::npos;
      bool named = false;
      if (!plain) {
        named = listed.find(a) != std::string::npos;
      } else if (const auto w = words.find(a); !a.empty() && w != words.end()) {
        words.erase(w);
        named = true;
      }
      if (named) {
        given += (given.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
      }
    }
    return "unexpected arguments: " + given;
  }
  static const std::string at_most = ": At Most 1 required but received ";
  if (const std::size_t p = msg.find(at_most); p != std::string::npos) {
    return fmt::format("{} is given {} times (allowed once)", msg.substr(0, p),
                       msg.substr(p + at_most.size()));
  }
  // "--seq-len: 1 required INT missing": an option given without its value ("--seq-len" last,
  // or "--seq-len=").
  static const std::string required = ": 1 required ";
  static const std::string missing = " missing";
  if (const std::size_t p = msg.find(required);
      p != std::string::npos && msg.size() > missing.size() &&
      msg.compare(msg.size() - missing.size(), missing.size(), missing) == 0) {
    return missing_value(
        msg.substr(0, p),
        msg.substr(p + required.size(), msg.size() - missing.size() - p - required.size()));
  }
  if (msg != "A subcommand is required") {
    return msg;
  }
  // Walk the words as CLI11 did: into each subcommand named, up to the first that is none (an
  // option's value cannot be told from a word, so an option ends the walk).
  const CLI::App* at = &app;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--configs") {
      ++i; // its directory
      continue;
    }
    if (a.empty() || a[0] == '-') {
      break;
    }
    const auto subs = at->get_subcommands({});
    const auto it = std::find_if(subs.begin(), subs.end(),
                                 [&](const CLI::App* sub) { return sub->get_name() == a; });
    if (it == subs.end()) {
      return fmt::format("'{}' is not a subcommand{} (allowed: {})", a,
                         at == &app ? "" : " of '" + at->get_name() + "'", subcommand_names(*at));
    }
    at = *it;
  }
  return fmt::format("{} (allowed: {})",
                     at == &app ? "a subcommand is required"
                                : "'" + at->get_name() + "' needs a subcommand",
                     subcommand_names(*at));
}

/// Values CLI11 would change silently: it drops the empty items of a comma-separated value
/// ("full," reads as "full"), so a list option's value with an empty item is refused, as the
/// integer lists refuse it; and it reads a flag's `--flag=2` as on and `--flag=-1` as off.
/// True when `name` is an option of `app` or of one of its subcommands that takes a value.
bool takes_value(const CLI::App& app, const std::string& name) {
  if (const CLI::Option* opt = app.get_option_no_throw(name)) {
    return opt->get_expected_max() != 0;
  }
  const auto subs = app.get_subcommands({});
  return std::any_of(subs.begin(), subs.end(),
                     [&](const CLI::App* sub) { return takes_value(*sub, name); });
}

/// One of the words CLI11 reads as on or off, in any case.
bool is_flag_word(std::string_view value) {
  static constexpr std::array<std::string_view, 10> k_flag_words = {
      "true", "false", "yes", "no", "on", "off", "enable", "disable", "1", "0"};
  return std::any_of(k_flag_words.begin(), k_flag_words.end(), [&](std::string_view w) {
    return std::equal(w.begin(), w.end(), value.begin(), value.end(), [](char a, char b) {
      return a == std::tolower(static_cast<unsigned char>(b));
    });
  });
}

void refuse_changed_values(const CLI::App& app, const std::vector<std::string>& args) {
  // the subcommand given (the first argument naming one, then the first after it naming one of
  // its own: emit sagemaker); its options, then its parents'
  std::vector<const CLI::App*> chain = {&app};
  for (const std::string& a : args) {
    for (const CLI::App* s : chain.back()->get_subcommands({})) {
      if (s->get_name() == a) {
        chain.push_back(s);
        break;
      }
    }
  }
  if (chain.size() == 1) {
    return;
  }
  std::set<const CLI::Option*> given; // flags and comma-separated lists seen
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-' && a[2] == '=' &&
        (i == 0 || !takes_value(app, args[i - 1]))) {
      // "-v=1": CLI11 said only "unexpected arguments: " with nothing named
      throw UsageError(fmt::format("{}: a short flag takes no value (allowed: {} alone)",
                                   controls_escaped(a), a.substr(0, 2)));
    }
    // an option's long name, or a short one (-v, -q: the same options as --verbose, --quiet)
    if (!a.starts_with("--") && !(a.size() == 2 && a[0] == '-')) {
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const std::string value =
        eq != std::string::npos ? a.substr(eq + 1) : (i + 1 < args.size() ? args[i + 1] : "");
    const CLI::Option* opt = nullptr;
    for (auto s = chain.rbegin(); s != chain.rend() && opt == nullptr; ++s) {
      opt = (*s)->get_option_no_throw(name); // the subcommand's, then --verbose, --quiet
    }
    // A flag given a value: CLI11 reads any number, -1 as off and 2 as on; only the words for on
    // and off are taken, in any case, as CLI11 reads them.
    if (opt != nullptr && opt->get_expected_max() == 0 && eq != std::string::npos &&
        !is_flag_word(value)) {
      throw UsageError(fmt::format("{} '{}': a flag is on or off (allowed: {} alone, or {}=true, "
                                   "false, yes, no, on, off, enable, disable, 1 or 0)",
                                   name, value, name, name));
    }
    // Given twice, a flag's last value won and a list's values were merged (--compile
    // --compile=false read as off; CLI11 refused other options in its own words): each option
    // is given once, but --instance, whose help says "repeat or comma-list", and --set and
    // --run, which repeat.
    const bool list = opt != nullptr && opt->get_delimiter() == ',';
    static constexpr std::array<std::string_view, 3> k_repeatable = {"--instance", "--set",
                                                                     "--run"};
    if (opt != nullptr &&
        std::find(k_repeatable.begin(), k_repeatable.end(), name) == k_repeatable.end() &&
        !given.insert(opt).second) {
      throw UsageError(fmt::format("{} is given twice (allowed: once{})", opt->get_name(),
                                   list ? ", with a comma-separated list" : ""));
    }
    // "--seq-len= --tp 2": CLI11 took the next word as the value (or left it over)
    if (opt != nullptr && opt->get_expected_max() > 0 && eq != std::string::npos && value.empty() &&
        !list) {
      throw UsageError(missing_value(name, opt->get_type_name()));
    }
    if (list && value.empty() && (eq != std::string::npos || i + 1 < args.size())) {
      throw UsageError(fmt::format("{} '': the value is empty (leave the flag out for its default)",
                                   name)); // --instance '' was "unknown instance type ''", 1
    }
    if (list && !value.empty() &&
        (value.front() == ',' || value.back() == ',' || value.find(",,") != std::string::npos)) {
      throw UsageError(
          fmt::format("{} '{}': an empty value between commas or at either end", name, value));
    }
  }
}

/// Every argument must be UTF-8 text: a path or value that is not (a Latin-1 file name) cannot
/// be written into a JSON document or a launch file. Refused here, for all flags at once, naming
/// the flag (or the argument's position) with the bytes shown as \xNN.
void refuse_non_utf8(const CLI::App& app, const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (is_utf8(a)) {
      continue;
    }
    std::string what = fmt::format("argument {} '{}'", i + 1, utf8_escaped(a));
    const std::size_t eq = a.find('=');
    if (a.starts_with("-") && eq != std::string::npos && is_utf8(a.substr(0, eq))) {
      what = fmt::format("{} '{}'", a.substr(0, eq), utf8_escaped(a.substr(eq + 1)));
    } else if (!a.starts_with("-") && i > 0 && args[i - 1].starts_with("-") &&
               takes_value(app, args[i - 1])) {
      what = fmt::format("{} '{}'", args[i - 1], utf8_escaped(a));
    }
    throw UsageError(
        fmt::format("{}: not UTF-8 text (allowed: UTF-8 paths and values)", one_line(what)));
  }
}

/// Help and version text on standard output: exit status 4 when it cannot be written, as for
/// every other output.
int print_or_fail(std::ostream& out, std::ostream& err, const std::string& text) {
  out << text;
  out.flush();
  if (!out) {
    err << "bwplan: error: cannot write standard output\n";
    return exit_code::write_failed;
  }
  return exit_code::ok;
}

} // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  GlobalOptions global;
  Context ctx;
  ctx.global = &global;
  ctx.out = &out;
  ctx.err = &err;
  const auto log_sink = std::make_shared<EscapingSink>(err);
  ctx.log = make_logger(log_sink);
  ctx.version = BWPLAN_VERSION;
  ctx.command_line = "bwplan";
  for (const std::string& a : args) {
    ctx.command_line += " " + shell_word(a); // the report shows it to be pasted
  }

  CLI::App app{"bwplan: plan LLM training on NVIDIA Blackwell GPUs with Amazon SageMaker AI "
               "(memory, throughput, cost, launch files)",
               "bwplan"};
  app.set_version_flag("--version", "bwplan " BWPLAN_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--configs", global.configs_dir,
                 "load catalogs (gpus/, instances/, models/) from this directory instead of the "
                 "built-in copy")
      ->check(not_empty(
          ValueKind::path)); // a missing one is bad input (status 1), read_catalog_dir says so
  CLI::Option* verbose = app.add_flag("-v,--verbose", global.verbose, "log more to stderr");
  app.add_flag("-q,--quiet", global.quiet, "log only errors to stderr")->excludes(verbose);

  try {
    setup_search(app, ctx);
    setup_list_commands(app, ctx);
    setup_estimate(app, ctx);
    setup_validate(app, ctx);
    setup_calibrate(app, ctx);
    setup_check(app, ctx);
    setup_emit(app, ctx);
    flag_value_out_of_range() = false;
    refuse_non_utf8(app, args);
    refuse_changed_values(app, args);
    std::vector<std::string> reversed(args.rbegin(), args.rend()); // CLI11 parses a reversed list
    app.parse(reversed);
    log_sink->release(); // the command ran: its warnings (an error above drops them)
    out.flush();
    if (!out) {
      throw WriteError("cannot write standard output");
    }
    return ctx.status;
  } catch (const CLI::CallForHelp&) {
    return print_or_fail(out, err, app.help());
  } catch (const CLI::CallForAllHelp&) {
    return print_or_fail(out, err, app.help("", CLI::AppFormatMode::All));
  } catch (const CLI::CallForVersion& e) {
    if (args.size() != 1) { // "--version extra" printed the version and dropped the rest
      const auto other = std::find_if(args.begin(), args.end(),
                                      [](const std::string& a) { return a != "--version"; });
      err << "bwplan: error: --version takes nothing else (got '"
          << one_line(utf8_escaped(other == args.end() ? args[1] : *other))
          << "'; allowed: bwplan --version alone)\n";
      return exit_code::usage;
    }
    return print_or_fail(out, err, std::string(e.what()) + "\n");
  } catch (const CLI::ParseError& e) {
    err << "bwplan: error: " << usage_message(e, app, args) << " (see 'bwplan --help')\n";
    return flag_value_out_of_range() ? exit_code::error : exit_code::usage;
  } catch (const WriteError& e) {
    err << "bwplan: error: " << one_line(e.what()) << "\n";
    return exit_code::write_failed;
  } catch (const UsageError& e) {
    err << "bwplan: error: " << one_line(io::spell_fields(e.what(), io::Spelling::flags)) << "\n";
    return exit_code::usage;
  } catch (const Error& e) {
    // the model library names a field `key`: here it was a flag (a file's reader has spelled
    // the fields read from it as their keys before)
    err << "bwplan: error: " << one_line(io::spell_fields(e.what(), io::Spelling::flags)) << "\n";
    return exit_code::error;
  } catch (const std::bad_alloc&) {
    err << "bwplan: error: out of memory\n";
    return exit_code::error;
  } catch (const std::exception& e) {
    err << "bwplan: internal error: " << one_line(e.what()) << "\n";
    return exit_code::error;
  }
}

} // namespace bwplan::cli
