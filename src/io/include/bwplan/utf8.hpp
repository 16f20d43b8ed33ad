/// \file
/// UTF-8 checks for text that reaches JSON documents and messages: a path or a name that is not
/// UTF-8 (a Latin-1 file name) cannot be written into a JSON document, and is refused where it
/// enters, naming it, with its bytes shown as \xNN.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace bwplan {

/// A C0 control character or DEL: the bytes a message, a JSON string, a shell line or an HTML
/// page writes escaped.
[[nodiscard]] constexpr bool is_control_byte(unsigned char u) {
  return u < 0x20 || u == 0x7f;
}

/// The length of the well-formed UTF-8 sequence at the start of `s` (1..4), or 0 when it is not
/// one (a stray continuation byte, an overlong form, a surrogate, a code point above U+10FFFF, a
/// sequence cut short).
[[nodiscard]] inline std::size_t utf8_sequence_length(std::string_view s) {
  if (s.empty()) {
    return 0;
  }
  const auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) {
    return 1;
  }
  std::size_t n = 0;
  unsigned char lo = 0x80; // the allowed range of the second byte (RFC 3629, table 3-7)
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) {
    return 0;
  }
  for (std::size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) {
      return 0;
    }
  }
  return n;
}

/// True when all of `s` is well-formed UTF-8.
[[nodiscard]] inline bool is_utf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = utf8_sequence_length(s);
    if (n == 0) {
      return false;
    }
    s.remove_prefix(n);
  }
  return true;
}

/// The characters of `s`: its code points, each byte that is not well-formed UTF-8 counted as one.
/// A name's limit is in these, not in bytes ("é" is one character and two bytes).
[[nodiscard]] inline std::size_t utf8_characters(std::string_view s) {
  std::size_t n = 0;
  while (!s.empty()) {
    s.remove_prefix(std::max<std::size_t>(1, utf8_sequence_length(s)));
    ++n;
  }
  return n;
}

/// `s` with every byte that is not part of well-formed UTF-8 written as \xNN (as messages show
/// control characters), so that a message can quote it.
[[nodiscard]] inline std::string utf8_escaped(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const std::size_t n = utf8_sequence_length(s);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s.front()));
      s.remove_prefix(1);
    } else {
      out.append(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
  return out;
}

/// The length of the UTF-8 sequence at the start of `s` when it encodes a C1 control
/// (U+0080-U+009F) or an invisible format character that reorders or hides text, else 0: the
/// Arabic letter mark U+061C, zero-width and directional marks U+200B-U+200F, embeddings and
/// overrides U+202A-U+202E, word joiner and isolates U+2060-U+2069, and U+FEFF (Unicode Standard
/// Annex #9, "Explicit Directional Formatting Characters"; the "Trojan Source" attack,
/// CVE-2021-42574); and the other characters Unicode's Default_Ignorable_Code_Point property
/// lists that render as nothing: the soft hyphen U+00AD, the combining grapheme joiner U+034F, the
/// Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the Mongolian selectors U+180B-U+180F, the
/// deprecated format characters U+206A-U+206F, the interlinear annotation marks U+FFF9-U+FFFB
/// and the tags U+E0000-U+E007F; with the line and paragraph separators U+2028 and U+2029, which
/// break a line. Shown as written, such a character makes a name, an id or an error line read
/// as something else.
[[nodiscard]] inline std::size_t format_control_length(std::string_view s) {
  const auto b = [&s](std::size_t i) {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0U;
  };
  const auto in = [](unsigned v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; };
  switch (b(0)) {
  case 0xC2: return in(b(1), 0x80, 0x9F) || b(1) == 0xAD ? 2 : 0;
  case 0xCD: return b(1) == 0x8F ? 2 : 0;
  case 0xD8: return b(1) == 0x9C ? 2 : 0;
  case 0xE1:
    return (b(1) == 0x85 && in(b(2), 0x9F, 0xA0)) || (b(1) == 0xA0 && in(b(2), 0x8B, 0x8F)) ? 3 : 0;
  case 0xE2:
    return (b(1) == 0x80 && (in(b(2), 0x8B, 0x8F) || in(b(2), 0xA8, 0xAE))) ||
                   (b(1) == 0x81 && in(b(2), 0xA0, 0xAF))
               ? 3
               : 0;
  case 0xE3: return b(1) == 0x85 && b(2) == 0xA4 ? 3 : 0;
  case 0xEF:
    return (b(1) == 0xBB && b(2) == 0xBF) || (b(1) == 0xBE && b(2) == 0xA0) ||
                   (b(1) == 0xBF && in(b(2), 0xB9, 0xBB))
               ? 3
               : 0;
  case 0xF3: return b(1) == 0xA0 && in(b(2), 0x80, 0x81) && in(b(3), 0x80, 0xBF) ? 4 : 0;
  default: return 0;
  }
}

/// The code point of `seq`, one well-formed UTF-8 sequence of two to four bytes (a
/// format_control_length() match).
[[nodiscard]] inline unsigned code_point_of(std::string_view seq) {
  const auto b = [&seq](std::size_t i) { return static_cast<unsigned char>(seq[i]) & 0x3FU; };
  const auto lead = static_cast<unsigned char>(seq[0]);
  switch (seq.size()) {
  case 2: return ((lead & 0x1FU) << 6U) | b(1);
  case 3: return ((lead & 0x0FU) << 12U) | (b(1) << 6U) | b(2);
  default: return ((lead & 0x07U) << 18U) | (b(1) << 12U) | (b(2) << 6U) | b(3);
  }
}

/// How escaped_as() writes what it escapes.
enum class EscapeStyle : std::uint8_t {
  message,   ///< controls (newlines too) as \xNN, format characters as \u{XXXX}
  json,      ///< controls but the newline, and format characters, as \uXXXX
  json_line, ///< as json, the newline too
};

/// `s` with its control characters and the format characters of format_control_length()
/// escaped in `style`.
[[nodiscard]] inline std::string escaped_as(std::string_view s, EscapeStyle style) {
  const bool json = style != EscapeStyle::message;
  const bool keep_newline = style == EscapeStyle::json;
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const auto u = static_cast<unsigned char>(s.front());
    const std::size_t n = format_control_length(s);
    if (n != 0) {
      const unsigned cp = code_point_of(s.substr(0, n));
      if (json && cp > 0xFFFF) { // JSON writes it as a UTF-16 surrogate pair (RFC 8259, 7)
        out += fmt::format("\\u{:04X}\\u{:04X}", 0xD800 + ((cp - 0x10000) >> 10U),
                           0xDC00 + ((cp - 0x10000) & 0x3FFU));
      } else {
        out += json ? fmt::format("\\u{:04X}", cp) : fmt::format("\\u{{{:04X}}}", cp);
      }
    } else if (is_control_byte(u) && !(keep_newline && u == '\n')) {
      out += json ? fmt::format("\\u{:04X}", u) : fmt::format("\\x{:02x}", u);
    } else {
      out += s.front();
    }
    s.remove_prefix(std::max<std::size_t>(n, 1));
  }
  return out;
}

/// `s` with its control characters (newlines too) written as \xNN, and the format characters of
/// format_control_length() as \u{XXXX}, as a one-line message quotes a value: the error then
/// shows what was typed, not a space where a newline was or text reordered.
[[nodiscard]] inline std::string controls_escaped(std::string_view s) {
  return escaped_as(s, EscapeStyle::message);
}

/// `s` for a terminal: every control character but the newline, and every format character of
/// format_control_length(), written as the JSON escape \uXXXX. A path or name in a table then
/// cannot move the cursor, recolour the terminal or reorder the line around it (Trojan Source,
/// CVE-2021-42574), and JSON text keeps its meaning: inside a string the escape decodes to the
/// same character, and outside strings JSON text holds neither.
[[nodiscard]] inline std::string display_safe(std::string_view s) {
  return escaped_as(s, EscapeStyle::json);
}

/// `s` as display_safe() writes it, its newlines escaped too: a path or name placed in a line of
/// text output keeps that line one line (a file name cannot forge another line of the output).
[[nodiscard]] inline std::string display_one_line(std::string_view s) {
  return escaped_as(s, EscapeStyle::json_line);
}

} // namespace bwplan
