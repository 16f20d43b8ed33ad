/// \file
/// A fixed-width text table: columns sized to their widest cell, numbers right-aligned.
#pragma once

#include <string>
#include <vector>

namespace bwplan::io {

class TextTable {
public:
  enum class Align { left, right };
  struct Column {
    std::string header;
    Align align = Align::left;
  };

  explicit TextTable(std::vector<Column> columns) : m_columns(std::move(columns)) {}
  void add_row(std::vector<std::string> cells);
  /// Header, a rule, then the rows; each line indented by `indent` spaces and ending in '\n'.
  [[nodiscard]] std::string render(std::size_t indent = 0) const;

private:
  std::vector<Column> m_columns;
  std::vector<std::vector<std::string>> m_rows;
};

/// Display width of UTF-8 text (code points; bwplan's output uses no wide characters).
[[nodiscard]] std::size_t display_width(const std::string& s);

/// A proportional bar of `width` cells: `fraction` (clamped to 0..1) of them full blocks, the
/// rest blank, or light shade when `track` (so a bar of a whole reads as used/free).
[[nodiscard]] std::string text_bar(double fraction, std::size_t width, bool track = false);

} // namespace bwplan::io
