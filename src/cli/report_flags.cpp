#include "report_flags.hpp"

#include "context.hpp"
#include "safe_write.hpp"

namespace bwplan::cli {

void add_report_option(CLI::App& cmd, std::string& path) {
  cmd.add_option("--report", path,
                 "also write a self-contained HTML report (memory bars, trade-off charts, "
                 "tables) to this file; an existing file is kept unless --force")
      ->check(not_empty(ValueKind::path))
      ->group("Output");
}

void check_destinations(const Context& ctx, const OutputOptions& output,
                        const std::string& report) {
  if (!report.empty()) {
    check_target(ctx, "--report", report, output.force);
  }
  if (!output.output.empty()) {
    check_target(ctx, "--output", output.output, output.force);
  }
}

std::vector<InputRow> input_rows(const CLI::App& cmd) {
  std::vector<InputRow> rows;
  for (const CLI::Option* opt : cmd.get_options()) {
    const std::string& name = opt->get_name();
    if (name.empty() || name == "--help") {
      continue;
    }
    InputRow row{name, {}, opt->count() > 0 ? "command line" : "default"};
    if (opt->count() > 0) {
      for (const std::string& v : opt->results()) {
        row.value += (row.value.empty() ? "" : " ") + v;
      }
    } else {
      row.value = opt->get_default_str();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

ReportContext report_context(const Context& ctx, const CLI::App& cmd) {
  ReportContext r;
  r.version = ctx.version;
  r.command_line = ctx.command_line;
  r.inputs = input_rows(cmd);
  return r;
}

} // namespace bwplan::cli
