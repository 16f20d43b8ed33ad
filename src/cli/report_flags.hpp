/// \file
/// `--report FILE.html` on estimate and search: the flag, the inputs table a report shows, and
/// the report's context (docs/bwplan.md, "Reports").
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bwplan/render.hpp"
#include "context.hpp"

namespace bwplan::cli {

/// Adds `--report FILE.html` to `cmd`.
void add_report_option(CLI::App& cmd, std::string& path);

/// Throws unless --output and --report (each when given) may be written, before any work is done,
/// so that a refused file leaves nothing written; neither may be a file the command read
/// (ctx.inputs, recorded by then).
void check_destinations(const Context& ctx, const OutputOptions& output, const std::string& report);

/// Every option of `cmd` (but --help) with its value as given, or its default, and its origin.
[[nodiscard]] std::vector<InputRow> input_rows(const CLI::App& cmd);

/// What a report shows besides the result: version, command line, inputs.
[[nodiscard]] ReportContext report_context(const Context& ctx, const CLI::App& cmd);

} // namespace bwplan::cli
