// `bwplan models`, `bwplan gpus`, `bwplan instances`: the catalogs as a table or JSON.
#include "bwplan/render.hpp"
#include "context.hpp"

namespace bwplan::cli {

namespace {

struct ListCommand {
  const char* name;
  const char* summary;
  std::string (*table)(const Catalog&);
  OrderedJson (*json)(const Catalog&);
};

constexpr ListCommand k_list_commands[] = {
    {"models", "list model presets with exact parameter counts", &models_table, &models_json},
    {"gpus", "list GPUs: memory, bandwidth, peak FLOP/s, with sources", &gpus_table, &gpus_json},
    {"instances", "list SageMaker instance types with prices and sources", &instances_table,
     &instances_json},
};

} // namespace

void setup_list_commands(CLI::App& app, Context& ctx) {
  for (const ListCommand& lc : k_list_commands) {
    CLI::App* cmd = app.add_subcommand(lc.name, lc.summary);
    auto opts = std::make_shared<OutputOptions>();
    add_output_options(*cmd, *opts);
    cmd->callback([&ctx, &lc, opts] {
      ctx.begin();
      const Catalog& c = ctx.catalog();
      const std::string text = wants_json(*opts) ? lc.json(c).dump(2) + "\n" : lc.table(c);
      write_output(ctx, *opts, text);
    });
  }
}

} // namespace bwplan::cli
