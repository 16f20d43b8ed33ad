/// \file
/// The command line: builds the CLI11 app from the command table, runs the chosen command,
/// and maps every error to one line on stderr and an exit code (docs/bwplan.md, EXIT STATUS).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace bwplan::cli {

/// Runs bwplan with `args` (without the program name). Output goes to `out`, logs and errors
/// to `err`. Returns the exit status. Never throws.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace bwplan::cli
