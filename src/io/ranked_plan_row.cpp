#include "ranked_plan_row.hpp"

#include <fmt/format.h>

#include "bwplan/units.hpp"
#include "render_common.hpp"

namespace bwplan::io {

namespace {

/// "mxfp8", or "mxfp8 ~ fp8-tensorwise" when the plan stands for recipes the model cannot tell
/// apart; then its fine-tuning mode when not full ("bf16 lora r16").
std::string precision_label(const Candidate& c) {
  std::string out(name_of(c.config.precision));
  for (Precision p : c.alike_precisions) {
    out += fmt::format(" ~ {}", name_of(p));
  }
  if (c.config.finetune != Finetune::full) {
    out += fmt::format(" {} r{}", name_of(c.config.finetune), c.config.lora_rank);
  }
  return out;
}

} // namespace

std::string parallel_label(const TrainingConfig& k) {
  return fmt::format("{}x{}x{}{}{}", k.tp, k.cp, k.pp,
                     k.pp > 1 ? " " + std::string(name_of(k.pp_schedule)) : std::string(),
                     k.ep > 1 ? fmt::format(" ep{}", k.ep) : std::string());
}

RankedRow ranked_plan_row(const SearchReport& r, std::size_t i) {
  const Candidate& c = r.result.plans[i];
  const TrainingConfig& k = c.config;
  const bool trains = c.cost.hours_to_train > 0;
  return {{fmt::format("{}", i + 1),
           r.space.instances[c.instance].name,
           fmt::format("{}", c.nodes),
           std::string(name_of(k.sharding)),
           parallel_label(k),
           precision_label(c),
           loss_label(k),
           ac_label(k),
           fmt::format("{}", k.seq_len),
           fmt::format("{}", k.micro_batch),
           fmt::format("{}", k.grad_accum),
           fmt::format("{:.1f} {}", to_gib(c.memory.device_bytes_required),
                       k_step_phase_names[static_cast<std::size_t>(c.memory.peak_phase)]),
           fmt::format("{:.1f}", to_gib(c.memory.device_bytes_required_high)),
           fmt::format("{}{}", fits_cell(c.memory), c.memory.allocator_retries ? "*" : ""),
           fmt::format("{:.1f}", to_gib(c.memory.headroom_bytes())),
           std::string(),
           fmt::format("{:.2f}", c.time.step_s),
           fmt::format("{:.0f}", c.time.tokens_per_s_per_gpu),
           fmt::format("{:.0f}-{:.0f}", c.time.tokens_per_s_per_gpu_low,
                       c.time.tokens_per_s_per_gpu_high),
           fmt::format("{:.0f}%", 100 * c.time.mfu),
           usd_per_million_text(c.cost.usd_per_million_tokens),
           std::string(name_of(c.time.bottleneck)),
           c.pareto ? "yes" : "", // "*" marks allocator retries
           trains ? fmt::format("{:.1f}", c.cost.hours_to_train) : "",
           trains ? fmt::format("{:.0f}", c.cost.usd_to_train) : ""},
          c.memory.device_bytes_required / c.memory.usable_bytes};
}

} // namespace bwplan::io
