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

} // namespace bwplan::io
