/// \file
/// The one error type for bad input, and the process exit codes documented in docs/bwplan.md.
#pragma once

#include <stdexcept>
#include <string>

namespace bwplan {

/// Thrown for bad input: an unreadable or invalid file, an unknown name, an out-of-range or
/// contradictory option. Never thrown for "this configuration does not fit": that is a value.
/// The message is one line that names the file or field, the value and what is allowed. The model
/// library names a field as its key in backticks (`seq_len`); the edge spells it as the flag or
/// the file's key it came from (src/io/include/bwplan/field_names.hpp).
/// A NUL a value brought into the message (a JSON string's \u0000) is kept as the four characters
/// \x00: what() is a C string, and would end the line there, losing the rest (what is allowed).
class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(escape_nul(message)) {}
  explicit Error(const char* message) : std::runtime_error(message) {}

private:
  static std::string escape_nul(const std::string& s) {
    if (s.find('\0') == std::string::npos) {
      return s;
    }
    std::string out;
    out.reserve(s.size() + 8);
    for (const char c : s) {
      if (c == '\0') {
        out += "\\x00";
      } else {
        out += c;
      }
    }
    return out;
  }
};

/// Exit status of the `bwplan` executable (docs/bwplan.md, EXIT STATUS).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int error = 1;        ///< bad input: files, names, values
inline constexpr int usage = 2;        ///< command-line syntax: unknown flag, missing argument
inline constexpr int does_not_fit = 3; ///< the configuration does not fit / no feasible plan
inline constexpr int write_failed =
    4; ///< an output (a file or standard output) could not be written
} // namespace exit_code

} // namespace bwplan
