#include "bwplan/training_config.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/pipeline.hpp"

namespace bwplan {

std::int64_t effective_shard_group(const TrainingConfig& c) {
  switch (c.sharding) {
  case Sharding::none: return 1;
  case Sharding::grad_op:
  case Sharding::full: return c.shard_group > 0 ? c.shard_group : stage_slice_gpus(c);
  case Sharding::hybrid:
    return c.shard_group > 0
               ? c.shard_group
               : std::max(c.cp, std::min(c.gpus_per_node, stage_slice_gpus(c) * c.tp) /
                                    std::max<std::int64_t>(1, c.tp));
  case Sharding::count_: break;
  }
  return 1;
}

std::int64_t stage_slice_gpus(const TrainingConfig& c) {
  return std::max<std::int64_t>(1, c.gpus / std::max<std::int64_t>(1, c.tp * c.pp));
}

bool hybrid_replicates_nothing(const TrainingConfig& c) {
  return c.sharding == Sharding::hybrid && effective_shard_group(c) == stage_slice_gpus(c);
}

std::int64_t checkpointed_blocks(const ModelSpec& m, const TrainingConfig& c) {
  return m.layers / std::max<std::int64_t>(1, c.ac_every);
}

std::int64_t recomputed_blocks(const ModelSpec& m, const TrainingConfig& c) {
  switch (c.activation_checkpointing) {
  case ActivationCheckpointing::full: return m.layers;
  case ActivationCheckpointing::selective_layer: return checkpointed_blocks(m, c);
  default: return 0;
  }
}

std::int64_t data_parallel_degree(const TrainingConfig& c) {
  return std::max<std::int64_t>(1, c.gpus / std::max<std::int64_t>(1, c.tp * c.cp * c.pp));
}

bool megatron_distributed_optimizer(const TrainingConfig& c) {
  return c.trainer == Trainer::megatron && c.sharding == Sharding::grad_op;
}

bool reduces_once_per_step(const TrainingConfig& c) {
  // Megatron's FSDP (bwplan full, hybrid) reduce-scatters every micro-batch, as FSDP2 does
  const bool megatron_ddp = megatron_distributed_optimizer(c) ||
                            (c.trainer == Trainer::megatron && c.sharding == Sharding::none);
  return c.grad_accum_mode == GradAccumMode::no_sync || c.pp > 1 || megatron_ddp;
}

bool gathers_once_per_step(const TrainingConfig& c) {
  return c.pp > 1 || megatron_distributed_optimizer(c);
}

double tokens_per_micro_step(std::int64_t micro_batch, std::int64_t seq_len,
                             std::int64_t data_parallel) {
  return static_cast<double>(micro_batch * seq_len) * static_cast<double>(data_parallel);
}

std::int64_t loader_batch(const TrainingConfig& c) {
  return c.pp > 1 ? c.micro_batch * c.grad_accum : c.micro_batch;
}

std::int64_t outer_grad_accum(const TrainingConfig& c) {
  return c.pp > 1 ? 1 : c.grad_accum;
}

std::int64_t sequences_per_step(const TrainingConfig& c) {
  return c.micro_batch * c.grad_accum * data_parallel_degree(c);
}

std::int64_t tokens_per_step(const TrainingConfig& c) {
  return sequences_per_step(c) * c.seq_len;
}

std::int64_t grad_accum_for(double global_batch_tokens, std::int64_t micro_batch,
                            std::int64_t seq_len, std::int64_t data_parallel) {
  return std::max<std::int64_t>(
      1, std::llround(global_batch_tokens /
                      tokens_per_micro_step(micro_batch, seq_len, data_parallel)));
}

bool trainer_runs(Trainer trainer, ActivationCheckpointing ac, bool compile, Loss loss) {
  return trainer != Trainer::megatron || (!compile && ac != ActivationCheckpointing::selective_op &&
                                          (loss == Loss::unfused || loss == Loss::fused));
}

std::string trainer_runs_problem(Trainer trainer, ActivationCheckpointing ac, bool compile,
                                 Loss loss) {
  if (trainer_runs(trainer, ac, compile, loss)) {
    return {};
  }
  const auto none = ActivationCheckpointing::none;
  std::vector<std::string> asked;
  if (!trainer_runs(trainer, ac, false, Loss::unfused)) {
    asked.push_back(fmt::format("`activation_checkpointing` {}", name_of(ac)));
  }
  if (!trainer_runs(trainer, none, false, loss)) {
    asked.push_back(fmt::format("`loss` {}", name_of(loss)));
  }
  if (compile && !trainer_runs(trainer, none, true, Loss::unfused)) {
    asked.emplace_back("`compile`");
  }
  return fmt::format("`trainer` {} runs eagerly, recomputes whole layers and has no chunked "
                     "cross-entropy: `activation_checkpointing` none, full or selective-layer and "
                     "`loss` unfused or fused, without `compile`; not {}",
                     name_of(trainer), fmt::join(asked, ", "));
}

bool global_batch_reached(double step_tokens, double global_batch_tokens, double tolerance) {
  return std::abs(step_tokens - global_batch_tokens) <= tolerance * global_batch_tokens;
}

FieldRange config_field_range(std::int64_t TrainingConfig::*member) {
  FieldRange out{0, 0};
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (f.member == member) {
        out = {f.min, f.max};
      }
    }
  });
  return out;
}

namespace {

void check_range(std::string_view key, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi) {
    throw Error(fmt::format("`{}` {} is out of range (allowed {}..{})", key, v, lo, hi));
  }
}

} // namespace

std::string tensor_parallel_problem(std::int64_t tp, const ModelSpec& m) {
  if (tp > 1 && m.is_mla()) {
    return fmt::format("`tp` {} with latent attention (kv_lora_rank) is not modelled: its "
                       "projections' split is not torchtitan's Llama plan; use `tp` 1",
                       tp);
  }
  const std::pair<const char*, std::int64_t> split[] = {
      {"attention heads", m.heads}, {"key/value heads", m.kv_heads}, {"MLP width", m.ffn}};
  for (const auto& [what, n] : split) {
    if (tp > 1 && n % tp != 0) {
      return fmt::format("`tp` {} must divide the model's {} {} (tensor parallelism splits them "
                         "evenly)",
                         tp, n, what);
    }
  }
  return {};
}

bool runs_autocast(const TrainingConfig& c) {
  return c.sharding == Sharding::none && is_mixed_precision(c.precision);
}

std::string head_fp32_problem(const TrainingConfig& c) {
  if (!c.head_fp32 || !runs_autocast(c)) {
    return {};
  }
  // Autocast runs F.linear in bf16 whatever CastLinear casts its inputs to: the head would not
  // run in fp32.
  return fmt::format("`head_fp32` with `sharding` none and `precision` {}: autocast runs the head "
                     "in bf16 there (allowed: `head_fp32` with FSDP sharding, or with `precision` "
                     "fp32 or bf16-pure)",
                     name_of(c.precision));
}

std::string cp_sharding_problem(const TrainingConfig& c) {
  if (cp_allowed_with(c.sharding, c.cp)) {
    return {};
  }
  return fmt::format("`cp` {} needs FSDP (`sharding` full, grad-op or hybrid): torchtitan shards "
                     "parameters over the context-parallel ranks",
                     c.cp);
}

std::string parallel_degrees_problem(const TrainingConfig& c, const ModelSpec& m) {
  if (c.tp < 1 || c.cp < 1 || c.pp < 1 || c.gpus % (c.tp * c.cp * c.pp) != 0) {
    return fmt::format("`tp` {} x `cp` {}{} = {} must divide `gpus` {}", c.tp, c.cp,
                       c.pp != 1 ? fmt::format(" x `pp` {}", c.pp) : std::string(),
                       c.tp * c.cp * c.pp, c.gpus);
  }
  if (std::string problem = tensor_parallel_problem(c.tp, m); !problem.empty()) {
    return problem;
  }
  if (!cp_splits_sequence(c.seq_len, c.cp)) {
    return fmt::format("`seq_len` {} must be a multiple of 2 x `cp` {} = {} (load-balanced causal "
                       "context parallelism cuts each sequence into 2 x cp chunks)",
                       c.seq_len, c.cp, 2 * c.cp);
  }
  if (std::string problem = cp_sharding_problem(c); !problem.empty()) {
    return problem;
  }
  if (std::string problem = expert_parallel_problem(c, m); !problem.empty()) {
    return problem;
  }
  if (std::string problem = finetune_problem(c, m); !problem.empty()) {
    return problem;
  }
  return pipeline_problem(c, m);
}

namespace {

/// "tp N" or "pp N": the model-parallel degree that rules out what the caller refuses.
std::string tp_or_pp(const TrainingConfig& c) {
  return c.tp > 1 ? fmt::format("`tp` {}", c.tp) : fmt::format("`pp` {}", c.pp);
}

} // namespace

std::string trainer_layers_problem(const TrainingConfig& c) {
  if (c.trainer == Trainer::megatron && c.gqa_kv == GqaKv::repeat) {
    return "`gqa_kv` repeat with `trainer` megatron: Megatron-Core passes the K/V groups to "
           "Transformer Engine's attention, which reads them unrepeated (allowed: `gqa_kv` "
           "native)";
  }
  if (c.trainer == Trainer::megatron && c.moe_impl == MoeImpl::eager) {
    return "`moe_impl` eager with `trainer` megatron: Megatron-Core's mixture-of-experts layer "
           "applies the routing probabilities inside its fused activation (allowed: `moe_impl` "
           "default or fused)";
  }
  return {};
}

bool moe_layer_fused(const TrainingConfig& c) {
  return c.moe_impl == MoeImpl::fused ||
         (c.moe_impl == MoeImpl::trainer_default && c.trainer == Trainer::megatron);
}

bool experts_outside_fsdp(const TrainingConfig& c) {
  return c.expert_fsdp == ExpertFsdp::sharded && c.ep > 1 && c.sharding != Sharding::none &&
         effective_shard_group(c) <= c.ep;
}

bool fp32_adapters(const TrainingConfig& c) {
  return c.finetune != Finetune::full && c.lora_dtype == LoraDtype::fp32 &&
         c.trainer != Trainer::megatron;
}

std::string finetune_problem(const TrainingConfig& c, const ModelSpec& m) {
  const TrainingConfig defaults;
  if (c.finetune == Finetune::full) {
    if (lora_settings(c) != lora_settings(defaults)) {
      return "`lora_rank`, `lora_alpha`, `lora_targets`, `lora_dropout`, "
             "`lora_dropout_position` and `lora_dtype` need `finetune` lora or qlora";
    }
  }
  if (c.finetune != Finetune::qlora && c.nf4_quantizer != defaults.nf4_quantizer) {
    return fmt::format("`nf4_quantizer` {} needs `finetune` qlora (only QLoRA quantizes its base)",
                       name_of(c.nf4_quantizer));
  }
  if (c.finetune == Finetune::full) {
    return {};
  }
  const std::string_view mode = name_of(c.finetune);
  if (m.is_moe()) {
    return fmt::format("`finetune` {} of a mixture of experts is not modelled", mode);
  }
  if (m.is_mla()) {
    // Its projections are wq_a/wq_b and wkv_a/wkv_b, not the wq, wk, wv its adapters are
    // counted on (model_spec.cpp, k_lora_linears).
    return fmt::format("`finetune` {} of latent attention is not modelled", mode);
  }
  if (c.tp > 1 || c.pp > 1) {
    return fmt::format("`finetune` {} with {} is not modelled (adapters under tensor or "
                       "pipeline parallelism)",
                       mode, tp_or_pp(c));
  }
  if (c.precision != Precision::bf16 && c.precision != Precision::bf16_pure) {
    return fmt::format("`finetune` {} needs `precision` bf16 or bf16-pure (a frozen base in bf16, "
                       "or in NF4 computing in bf16), not {}",
                       mode, name_of(c.precision));
  }
  if (c.offload != Offload::none) {
    return fmt::format("`finetune` {} with `offload` cpu is not modelled", mode);
  }
  if (trainable_parameters(m, c.finetune, c.lora_targets, c.lora_rank) == 0) {
    // A 1-wide linear (a model of hidden or ffn 1) is a vector: it takes no adapter.
    return fmt::format("`finetune` {} would train nothing: `lora_targets` {} name no linear of {} "
                       "with a matrix to adapt (a linear 1 wide takes no adapter)",
                       mode, name_of(c.lora_targets), m.name);
  }
  return {};
}

std::string expert_count_problem(std::int64_t ep, const ModelSpec& m) {
  if (!m.is_moe()) {
    return ep > 1 ? fmt::format("`ep` {} needs a mixture of experts; {} has none", ep, m.name)
                  : std::string();
  }
  if (ep < 1 || m.experts % ep != 0) {
    return fmt::format("`ep` {} must divide the model's {} experts (each rank holds whole experts)",
                       ep, m.experts);
  }
  return {};
}

std::string expert_parallel_problem(const TrainingConfig& c, const ModelSpec& m) {
  if (!m.is_moe()) {
    return expert_count_problem(c.ep, m);
  }
  if (c.tp > 1 || c.pp > 1) {
    return fmt::format("{} with a mixture of experts is not modelled (torchtitan then splits "
                       "the experts by expert-tensor parallelism or cuts them into stages); use "
                       "`ep` and FSDP",
                       tp_or_pp(c));
  }
  if (std::string problem = expert_count_problem(c.ep, m); !problem.empty()) {
    return problem;
  }
  if (const std::int64_t n = effective_shard_group(c); n % c.ep != 0) {
    return fmt::format("`ep` {} must divide the shard group of {} GPUs (torchtitan's experts take "
                       "their ranks from the data- and context-parallel ones)",
                       c.ep, n);
  }
  return {};
}

std::int64_t max_ac_every(const ModelSpec& m) {
  return std::min(config_field_range(&TrainingConfig::ac_every).max, m.layers);
}

namespace {

/// A numeric field's value against its table range (a zero that means the default passes).
template <class T> void check_field_range(const TrainingConfig& c, const ConfigField<T>& f) {
  if constexpr (std::is_same_v<T, std::int64_t>) {
    const std::int64_t v = c.*f.member;
    if (!(f.zero_means_default && v == 0)) {
      check_range(f.key, v, f.min, f.max);
    }
  } else if constexpr (std::is_same_v<T, double>) {
    const double v = c.*f.member;
    if (!(v >= f.min && v <= f.max)) { // NaN too
      throw Error(fmt::format("`{}` {} is out of range (allowed {}..{})", f.key, v, f.min, f.max));
    }
  }
}

} // namespace

void check_config_range(const TrainingConfig& c, std::int64_t TrainingConfig::*member) {
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (f.member == member) {
        check_field_range(c, f);
      }
    }
  });
}

void validate_field_ranges(const TrainingConfig& c, std::span<const std::string_view> keys) {
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if (std::find(keys.begin(), keys.end(), f.key) != keys.end()) {
      check_field_range(c, f);
    }
  });
}

void validate_config(const TrainingConfig& c, const ModelSpec& m) {
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (f.member == &TrainingConfig::ac_every) {
        check_field_range(c, f); // a plan carries it whatever the mode
        if (c.activation_checkpointing == ActivationCheckpointing::selective_layer) {
          check_range(f.key, c.*f.member, f.min, max_ac_every(m)); // only then is it used
        }
        return;
      }
    }
    check_field_range(c, f);
  });
  if (c.gpus > c.gpus_per_node && c.gpus % c.gpus_per_node != 0) {
    throw Error(fmt::format("`gpus` {} is not a whole number of nodes of `gpus_per_node` {}",
                            c.gpus, c.gpus_per_node));
  }
  if (c.micro_batch * c.seq_len > (std::int64_t{1} << 31)) {
    throw Error(fmt::format("`micro_batch` {} x `seq_len` {} = {} tokens per micro-batch is out of "
                            "range (allowed up to 2^31)",
                            c.micro_batch, c.seq_len, c.micro_batch * c.seq_len));
  }
  if (const std::string problem = parallel_degrees_problem(c, m); !problem.empty()) {
    throw Error(problem);
  }
  const std::int64_t n = effective_shard_group(c);
  const std::int64_t slice = stage_slice_gpus(c); // GPUs holding one tensor-parallel slice
  if (c.offload == Offload::cpu && c.sharding == Sharding::none) {
    throw Error("`offload` cpu with `sharding` none: CPU offload is FSDP2's CPUOffloadPolicy, "
                "which needs sharding (allowed: `sharding` full, grad-op or hybrid)");
  }
  if (c.sharding == Sharding::none && c.shard_group > 1) {
    throw Error(fmt::format("`shard_group` {} contradicts `sharding` none (which shards nothing); "
                            "use `sharding` hybrid",
                            c.shard_group));
  }
  if ((c.sharding == Sharding::full || c.sharding == Sharding::grad_op) && n != slice) {
    throw Error(fmt::format("`shard_group` {} contradicts `sharding` {} over {} GPUs (it shards "
                            "over all {} that hold one tensor-parallel slice); use `sharding` "
                            "hybrid",
                            n, name_of(c.sharding), c.gpus, slice));
  }
  if (n < 1 || n > slice || slice % n != 0) {
    throw Error(
        c.tp * c.pp > 1
            ? fmt::format("`shard_group` {} must divide the {} GPUs of one "
                          "tensor-parallel slice of a stage (`gpus` {} / `tp` {} / `pp` {})",
                          n, slice, c.gpus, c.tp, c.pp)
            : fmt::format("`shard_group` {} must divide the job's {} GPUs", n, c.gpus));
  }
  if (c.sharding != Sharding::none && n % c.cp != 0) {
    throw Error(fmt::format("`shard_group` {} must be a multiple of `cp` {} (FSDP shards over the "
                            "data- and context-parallel ranks together)",
                            n, c.cp));
  }
  if (const std::string problem =
          trainer_runs_problem(c.trainer, c.activation_checkpointing, c.compile, c.loss);
      !problem.empty()) {
    throw Error(problem);
  }
  if (const std::string why = head_fp32_problem(c); !why.empty()) {
    throw Error(why);
  }
  if (const std::string why = trainer_layers_problem(c); !why.empty()) {
    throw Error(why);
  }
  if (experts_outside_fsdp(c) && c.offload == Offload::cpu) {
    // FSDP2's CPUOffloadPolicy moves only what FSDP manages: never silently low.
    throw Error("`expert_fsdp` sharded with `offload` cpu: experts outside FSDP keep their "
                "parameters, gradients and optimizer states on the GPU, which the offloaded "
                "estimate does not count (allowed: `expert_fsdp` always, or `offload` none)");
  }
  if (c.fp8_all_gather && c.precision != Precision::fp8_tensorwise) {
    throw Error(fmt::format("`fp8_all_gather` needs `precision` fp8-tensorwise (torchao supports "
                            "fp8 all-gather only for tensorwise scaling), not {}",
                            name_of(c.precision)));
  }
}

} // namespace bwplan
