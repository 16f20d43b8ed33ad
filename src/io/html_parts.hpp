/// \file
/// The pieces every HTML page bwplan writes shares: the page with its inline CSS and footer, and
/// table cells (text escaped).
#pragma once

#include <string>
#include <vector>

#include "bwplan/render.hpp"

namespace bwplan::io {

/// A complete self-contained page: `body` inside the document, the CSS inline, the footer.
[[nodiscard]] std::string page(const std::string& title, const std::string& body,
                               const ReportContext& ctx);
[[nodiscard]] std::string td(const std::string& text);
[[nodiscard]] std::string td_num(const std::string& text); ///< right-aligned, tabular figures
/// A table of `rows` (each a run of td()s) under `head`, with a caption for screen readers.
[[nodiscard]] std::string table(const std::vector<std::string>& head,
                                const std::vector<std::string>& rows, const std::string& caption);

} // namespace bwplan::io
