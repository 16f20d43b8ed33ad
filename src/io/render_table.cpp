#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/units.hpp"
#include "io/text_table.hpp"

namespace bwplan {

namespace {

using io::TextTable;
using A = TextTable::Align;

std::string gib(double bytes) {
  return fmt::format("{:.2f}", to_gib(bytes));
}

std::string tflops(double flops) {
  return flops > 0 ? fmt::format("{:.0f}", flops / 1e12) : "-";
}

std::string sources_block(const std::vector<std::pair<std::string, std::vector<std::string>>>& s) {
  std::string out = "\nsources:\n";
  for (const auto& [name, list] : s) {
    for (const std::string& src : list) {
      out += fmt::format("  {}: {}\n", name, src);
    }
  }
  return out;
}

} // namespace

std::string format_params(std::int64_t n) {
  const double d = static_cast<double>(n);
  if (d >= 1e9) {
    return fmt::format("{:.2f}B", d / 1e9);
  }
  if (d >= 1e6) {
    return fmt::format("{:.1f}M", d / 1e6);
  }
  return fmt::format("{}", n);
}

std::string models_table(const Catalog& c) {
  TextTable t({{"model"},
               {"params", A::right},
               {"exact", A::right},
               {"layers", A::right},
               {"hidden", A::right},
               {"heads", A::right},
               {"kv", A::right},
               {"ffn", A::right},
               {"vocab", A::right},
               {"tied"},
               {"max seq", A::right}});
  for (const ModelSpec& m : c.models) {
    const ParamCounts p = count_parameters(m);
    t.add_row({m.name, format_params(p.total), fmt::format("{}", p.total),
               fmt::format("{}", m.layers), fmt::format("{}", m.hidden), fmt::format("{}", m.heads),
               fmt::format("{}", m.kv_heads), fmt::format("{}", m.ffn), fmt::format("{}", m.vocab),
               m.tied_embeddings ? "yes" : "no", fmt::format("{}", m.max_seq_len)});
  }
  return t.render();
}

std::string gpus_table(const Catalog& c) {
  TextTable t({{"gpu"},
               {"memory GiB", A::right},
               {"HBM TB/s", A::right},
               {"bf16 TF", A::right},
               {"fp8 TF", A::right},
               {"mxfp8 TF", A::right},
               {"nvfp4 TF", A::right},
               {"NVLink GB/s", A::right},
               {"cc"}});
  std::vector<std::pair<std::string, std::vector<std::string>>> src;
  for (const GpuSpec& g : c.gpus) {
    const PeakFlops& f = g.dense_flops_per_s;
    t.add_row({g.name, gib(g.memory_bytes),
               fmt::format("{:.2f}", g.hbm_bandwidth_bytes_per_s / 1e12), tflops(f.bf16),
               tflops(f.fp8), tflops(f.mxfp8), tflops(f.nvfp4),
               fmt::format("{:.0f}", g.nvlink_bandwidth_bytes_per_s / 1e9), g.compute_capability});
    src.emplace_back(g.name, g.sources);
  }
  return t.render() + "\nTF = dense TFLOP/s per GPU; NVLink per GPU, one direction.\n" +
         sources_block(src);
}

std::string instances_table(const Catalog& c) {
  TextTable t({{"instance"},
               {"gpus"},
               {"EFA Gb/s", A::right},
               {"host GiB", A::right},
               {"vCPU", A::right},
               {"$/hour", A::right},
               {"price basis"}});
  std::vector<std::pair<std::string, std::vector<std::string>>> src;
  for (const InstanceSpec& s : c.instances) {
    t.add_row({s.name, fmt::format("{} x {}", s.gpus_per_node, s.gpu),
               fmt::format("{:.0f}", s.efa_bandwidth_bits_per_s / 1e9), gib(s.host_memory_bytes),
               fmt::format("{}", s.vcpus), fmt::format("{:.2f}", s.price.usd_per_hour),
               fmt::format("{}, {}, {}", s.price.kind, s.price.region, s.price.as_of)});
    std::vector<std::string> list = s.sources;
    list.push_back("price: " + s.price.source);
    src.emplace_back(s.name, list);
  }
  return t.render() + sources_block(src);
}

std::string estimate_table(const Estimate& e) {
  const EstimateRequest& r = e.request;
  const TrainingConfig& c = r.config;
  std::string where =
      r.instance ? fmt::format("{} x {} ({} x {})", r.nodes, r.instance->name, c.gpus, r.gpu.name)
                 : fmt::format("{} x {}", c.gpus, r.gpu.name);
  std::string out =
      fmt::format("{} ({} parameters) on {}\n", r.model.name, format_params(e.params.total), where);
  out += fmt::format("  sharding {} over {} GPUs, precision {}, micro-batch {} x seq {}, "
                     "grad-accum {}, checkpointing {}, optimizer {}\n\n",
                     name_of(c.sharding), e.shard_group, name_of(c.precision), c.micro_batch,
                     c.seq_len, c.grad_accum, name_of(c.activation_checkpointing),
                     name_of(c.optimizer));
  TextTable t({{"memory per GPU"}, {"GiB", A::right}});
  t.add_row({"parameters", gib(e.states.parameters_bytes)});
  t.add_row({"gradients", gib(e.states.gradients_bytes)});
  t.add_row({"optimizer states", gib(e.states.optimizer_bytes)});
  t.add_row({"model states", gib(e.states.total_bytes())});
  t.add_row({"GPU capacity", gib(e.capacity_bytes)});
  out += t.render(2);
  out += e.feasible() ? "\nverdict: model states fit\n"
                      : fmt::format("\nverdict: does not fit: {}\n", e.reason);
  return out;
}

} // namespace bwplan
