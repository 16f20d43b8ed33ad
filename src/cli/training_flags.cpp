#include "cli/training_flags.hpp"

namespace bwplan::cli {

void TrainingFlags::add_to(CLI::App& cmd, const char* group) {
  cmd.add_option("--optimizer", optimizer, "adamw, adamw-8bit, sgd, adafactor or lion")
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--optimizer-impl", optimizer_impl,
                 "fused (one kernel per tensor) or foreach (a state-sized temporary)")
      ->capture_default_str()
      ->group(group);
  cmd.add_flag("--compile", compile, "torch.compile the model")->group(group);
  cmd.add_option("--loss", loss, "unfused, fused or chunked cross-entropy")
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--fp8-backend", fp8_backend,
                 "torchao (saves bf16 inputs) or te (Transformer Engine: caches quantized inputs "
                 "and weights)")
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--norm-impl", norm_impl,
                 "fused (nn.RMSNorm) or upcast (hand-written fp32 norm, saves an fp32 copy)")
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--fsdp-wrap", fsdp_wrap,
                 "per-module (torchtitan 2025+: embeddings, blocks, norm+output) or root "
                 "(torchtitan 2024: embeddings and output in the root unit)")
      ->capture_default_str()
      ->group(group);
}

void TrainingFlags::apply(TrainingConfig& c) const {
  c.optimizer = parse_flag<Optimizer>(optimizer, "--optimizer");
  c.optimizer_impl = parse_flag<OptimizerImpl>(optimizer_impl, "--optimizer-impl");
  c.compile = compile;
  c.loss = parse_flag<Loss>(loss, "--loss");
  c.fp8_backend = parse_flag<Fp8Backend>(fp8_backend, "--fp8-backend");
  c.norm_impl = parse_flag<NormImpl>(norm_impl, "--norm-impl");
  c.fsdp_wrap = parse_flag<FsdpWrap>(fsdp_wrap, "--fsdp-wrap");
}

std::vector<std::pair<InstanceSpec, GpuSpec>> instance_alternatives(Context& ctx) {
  std::vector<std::pair<InstanceSpec, GpuSpec>> out;
  for (const InstanceSpec& inst : ctx.catalog().instances) {
    out.emplace_back(inst, ctx.catalog().gpu_of(inst));
  }
  return out;
}

} // namespace bwplan::cli
