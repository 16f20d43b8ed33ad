#include "text_table.hpp"

#include <algorithm>
#include <cmath>

namespace bwplan::io {

std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(m_columns.size());
  m_rows.push_back(std::move(cells));
}

std::string TextTable::render(std::size_t indent) const {
  std::vector<std::size_t> width(m_columns.size());
  for (std::size_t c = 0; c < m_columns.size(); ++c) {
    width[c] = display_width(m_columns[c].header);
    for (const auto& row : m_rows) {
      width[c] = std::max(width[c], display_width(row[c]));
    }
  }
  std::string out;
  const auto emit = [&](const std::vector<std::string>& cells) {
    std::string line(indent, ' ');
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - display_width(cells[c]), ' ');
      const bool last = c + 1 == cells.size();
      if (m_columns[c].align == Align::right) {
        line += pad + cells[c];
      } else {
        line += cells[c] + (last ? "" : pad);
      }
      if (!last) {
        line += "  ";
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  };
  std::vector<std::string> header;
  std::vector<std::string> rule;
  for (std::size_t c = 0; c < m_columns.size(); ++c) {
    header.push_back(m_columns[c].header);
    rule.push_back(std::string(width[c], '-'));
  }
  emit(header);
  emit(rule);
  for (const auto& row : m_rows) {
    emit(row);
  }
  return out;
}

std::string text_bar(double fraction, std::size_t width, bool track) {
  const auto n = static_cast<std::size_t>(
      std::lround(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(width)));
  std::string out;
  for (std::size_t i = 0; i < width; ++i) {
    if (i < n) {
      out += "\u2588";
    } else if (track) {
      out += "\u2591";
    }
  }
  return out;
}

} // namespace bwplan::io
