/// \file
/// The training-configuration field registry: every TrainingConfig field declared once, with its
/// key, allowed range, help text and whether measurement cases must give it. The JSON writer and
/// readers (plans, measurement cases), the command-line flags, the range checks, and the tests that
/// hold the schema, the man page and the launch mapping to it are all driven from
/// for_each_config_field(); defaults are TrainingConfig's initialisers.
///
/// Adding a field: a member in TrainingConfig, one entry here, and the models that use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "bwplan/training_config.hpp"

namespace bwplan {

/// Whether a measurement case (docs/bwplan.md, FILES) must give the field.
enum class InCases : std::uint8_t {
  required,
  optional, ///< absent: TrainingConfig's default
  derived,  ///< not read: follows from other fields (gpus_per_node = min(gpus, 8))
};

/// One field. `T` is std::int64_t, double, bool or one of the enums of enums.hpp.
template <class T> struct ConfigField {
  /// A number's bounds have its type (a fraction's are fractions).
  using Bound = std::conditional_t<std::is_same_v<T, double>, double, std::int64_t>;
  std::string_view key;      ///< JSON key (plans, measurement cases); flag: io::config_flag()
  T TrainingConfig::*member; ///< where the value lives
  std::string_view help;     ///< one line, for --help and the docs; fields named `key`
  InCases in_cases = InCases::required;
  Bound min = 0;                      ///< numbers: allowed range
  Bound max = 0;                      ///<
  bool zero_means_default = false;    ///< integers: 0 stands for "the mode's default"
  std::string_view default_text = {}; ///< that default, in words (zero_means_default fields)
  std::string_view unit = {}; ///< integers: the unit of a quantity; empty for counts and degrees
};

template <class T>
inline constexpr bool k_is_config_enum = std::is_enum_v<T>; // spelled through EnumTraits

/// Limits of the request around a configuration, shared by the flags, plan files and the search.
inline constexpr std::int64_t k_max_nodes = 4096;
/// Tokens to train: whole tokens, so at least one (a fraction or 1e-320 would print as nothing).
inline constexpr double k_min_train_tokens = 1;
/// Below 2^53, so every whole count up to it is a double exactly (9007199254740993 would read as
/// ...992, a silently changed value).
inline constexpr double k_max_train_tokens = 9e15;
/// USD per instance-hour: at least a cent, the catalog's own minimum (a smaller price prints as
/// 0.00 everywhere).
inline constexpr double k_min_price_per_hour = 0.01;
inline constexpr double k_max_price_per_hour = 1e7;

/// The allowed range of an integer field (its registry entry's min and max).
struct FieldRange {
  std::int64_t min;
  std::int64_t max;
};
[[nodiscard]] FieldRange config_field_range(std::int64_t TrainingConfig::*member);
/// Throws bwplan::Error "`key` V is out of range (allowed MIN..MAX)" when the integer field is
/// outside its registry range (validate_config's own check, for one field).
void check_config_range(const TrainingConfig& c, std::int64_t TrainingConfig::*member);

/// Calls `f(ConfigField<T>{...})` for every field, in the order plans write them. How each
/// reaches the trainer is docs/launch.md's table (tests/test_config_fields.cpp holds both to this).
/// The most GPUs, micro-batches or steps a field may hold (grad_accum's range among them).
inline constexpr std::int64_t k_max_config_count = std::int64_t{1} << 20;

template <class F> constexpr void for_each_config_field(F&& f) {
  using C = TrainingConfig;
  using I = std::int64_t;
  constexpr I k_count = k_max_config_count; // GPUs, micro-batches, steps
  constexpr InCases req = InCases::required;
  constexpr InCases opt = InCases::optional;
  f(ConfigField<I>{"gpus", &C::gpus, "GPUs in the job", req, 1, k_count});
  f(ConfigField<I>{"gpus_per_node", &C::gpus_per_node,
                   "GPUs per node (the hybrid default shard group; the network model)",
                   InCases::derived, 1, 1024});
  f(ConfigField<Sharding>{"sharding", &C::sharding,
                          "none (DDP), grad-op (ZeRO-2), full (ZeRO-3) or hybrid (HSDP)"});
  f(ConfigField<I>{"shard_group", &C::shard_group,
                   "GPUs one parameter is sharded over (the data- and context-parallel ranks, "
                   "torchtitan's fsdp dimension)",
                   req, 1, k_count, true, "gpus / (tp x pp); hybrid: a node's, at least cp"});
  f(ConfigField<I>{"tp", &C::tp,
                   "tensor-parallel degree: heads, KV heads and MLP width split over tp GPUs "
                   "(sequence and loss parallel)",
                   opt, 1, 1024});
  f(ConfigField<I>{"cp", &C::cp,
                   "context-parallel degree: each sequence split over cp GPUs (load-balanced "
                   "causal, all-gathered keys and values; a multiple of 2 x cp tokens; needs FSDP)",
                   opt, 1, 1024});
  f(ConfigField<I>{"pp", &C::pp,
                   "pipeline-parallel degree: the blocks split into pp stages as torchtitan cuts "
                   "them (embedding and head count a layer each); grad_accum then counts the "
                   "pipeline's micro-batches; needs FSDP",
                   opt, 1, 1024});
  f(ConfigField<I>{"ep", &C::ep,
                   "expert-parallel degree (mixtures of experts): the routed experts split over "
                   "ep GPUs of the shard group, tokens dispatched to them all-to-all; FSDP shards "
                   "each expert over the shard group / ep left",
                   opt, 1, 4096});
  f(ConfigField<PipelineSchedule>{
      "pp_schedule", &C::pp_schedule,
      "1f1b, interleaved-1f1b (2 stages per rank; at most layers + 2 stages in "
      "all), gpipe, zbv (zero bubble, V-shaped: 2 stages per rank, backward split into input "
      "and weight gradients; no `compile`) or interleaved-zb (zero bubble over interleaved "
      "1f1b's stages; no `compile`); the zero-bubble two over at most 256 pipeline ranks",
      opt});
  f(ConfigField<Precision>{"precision", &C::precision,
                           "fp32, bf16 (fp32 master weights, bf16 compute), bf16-pure, "
                           "fp8-tensorwise, fp8-rowwise, mxfp8 or nvfp4"});
  f(ConfigField<bool>{"fp8_all_gather", &C::fp8_all_gather,
                      "all-gather fp8 weights (fp8-tensorwise only)", opt});
  f(ConfigField<I>{"micro_batch", &C::micro_batch, "sequences per GPU per micro-step", req, 1,
                   k_count});
  f(ConfigField<I>{"seq_len",
                   &C::seq_len,
                   "tokens per sequence (a warning above the model's max)",
                   req,
                   1,
                   I{1} << 24,
                   false,
                   {},
                   "tokens"});
  f(ConfigField<I>{"grad_accum", &C::grad_accum, "micro-batches per optimizer step", req, 1,
                   k_count});
  f(ConfigField<ActivationCheckpointing>{
      "activation_checkpointing", &C::activation_checkpointing,
      "torchtitan's modes: none, selective-op, selective-layer or "
      "full"});
  f(ConfigField<I>{"ac_every", &C::ac_every, "selective-layer: checkpoint every N-th block", opt, 1,
                   k_count});
  f(ConfigField<Optimizer>{"optimizer", &C::optimizer,
                           "adamw, adamw-8bit, sgd, adafactor or lion"});
  f(ConfigField<bool>{"compile", &C::compile, "torch.compile each block"});
  f(ConfigField<Loss>{"loss", &C::loss,
                      "cross-entropy: unfused (eager, fp32), fused (compiled), chunked "
                      "(all chunks' logits kept), chunked-head (one chunk at a time) or "
                      "unfused-bf16 (eager on the bf16 logits, no fp32 upcast, the logits kept "
                      "until the next forward: a plain loop's F.cross_entropy, not torchtitan's) "
                      "or fused-linear (Liger Kernel's fused linear cross-entropy, which Hugging "
                      "Face-based trainers apply: chunks of about h/V of the tokens, gradients "
                      "made in forward, no fp32 copy)"});
  f(ConfigField<bool>{"head_fp32", &C::head_fp32,
                      "run the output head's matmul in fp32, as torchtitan's RL trainers do "
                      "(CastLinear): fp32 logits, an fp32 copy of the head weight and its fp32 "
                      "gradient while the head runs",
                      opt});
  f(ConfigField<bool>{"disable_loss_parallel", &C::disable_loss_parallel,
                      "tp > 1: all-gather the logits to every tensor-parallel rank and run the "
                      "loss on the whole vocabulary there (torchtitan's "
                      "parallelism.disable_loss_parallel), not on each rank's vocabulary slice",
                      opt});
  f(ConfigField<Fp8Backend>{"fp8_backend", &C::fp8_backend,
                            "torchao (saves bf16 inputs) or te (Transformer Engine: caches "
                            "quantized inputs and weights)",
                            opt});
  f(ConfigField<GradAccumMode>{"grad_accum_mode", &C::grad_accum_mode,
                               "reduce-scatter (every micro-batch) or no-sync (accumulate "
                               "unsharded gradients with sync disabled)",
                               opt});
  f(ConfigField<Offload>{"offload", &C::offload,
                         "none or cpu (FSDP2 CPUOffloadPolicy: parameters, gradients and optimizer "
                         "states in host memory)",
                         opt});
  f(ConfigField<OptimizerImpl>{"optimizer_impl", &C::optimizer_impl,
                               "fused (one kernel per tensor) or foreach (a state-sized temporary)",
                               opt});
  f(ConfigField<NormImpl>{
      "norm_impl", &C::norm_impl,
      "fused (nn.RMSNorm) or upcast (hand-written fp32 norm, saves an fp32 copy)", opt});
  f(ConfigField<SwigluImpl>{
      "swiglu_impl", &C::swiglu_impl,
      "the dense SwiGLU MLP in eager mode: eager (silu, then the product: silu's output is saved "
      "too) or fused (Liger Kernel's SiLU-multiply, which Hugging Face-based trainers apply: it "
      "saves the two projections and recomputes silu); `compile` fuses either, and Megatron's "
      "SwiGLU is its own fused one",
      opt});
  f(ConfigField<FsdpWrap>{"fsdp_wrap", &C::fsdp_wrap,
                          "per-module (torchtitan 2025+: embeddings, blocks, norm+output) or root "
                          "(torchtitan 2024: embeddings and output in the root unit)",
                          opt});
  f(ConfigField<Finetune>{"finetune", &C::finetune,
                          "full (train every parameter), lora (adapters beside frozen block "
                          "linears) or qlora (adapters beside a 4-bit NF4 base)",
                          opt});
  f(ConfigField<I>{"lora_rank", &C::lora_rank, "lora/qlora: the adapters' rank", opt, 1, 65536});
  f(ConfigField<I>{"lora_alpha", &C::lora_alpha,
                   "lora/qlora: the adapters' scale numerator (alpha / rank; no memory or time "
                   "effect, carried to the trainer)",
                   opt, 1, 65536});
  f(ConfigField<LoraTargets>{"lora_targets", &C::lora_targets,
                             "lora/qlora: the block linears with adapters: all (wq, wk, wv, wo, "
                             "w1, w2, w3), attention (wq, wk, wv, wo), mlp (w1, w2, w3) or qv "
                             "(wq, wv)",
                             opt});
  f(ConfigField<double>{"lora_dropout", &C::lora_dropout,
                        "lora/qlora: the adapters' input dropout probability (above 0 it saves a "
                        "dropped copy of each adapted linear's input and its mask)",
                        opt, 0.0, 0.9});
  f(ConfigField<LoraDropoutPosition>{
      "lora_dropout_position", &C::lora_dropout_position,
      "lora/qlora with `lora_dropout`: where the dropout falls: input (PEFT and torchtune: a "
      "dropped copy of each adapted linear's input and its mask are saved) or output (NeMo "
      "Automodel's default: a mask of each adapter's output)",
      opt});
  f(ConfigField<LoraDtype>{
      "lora_dtype", &C::lora_dtype,
      "lora/qlora: the dtype the adapters are held in: fp32 (PEFT's default: fp32 states, and "
      "eager each adapted linear's input is cast to fp32 and saved, as bf16 under autocast, "
      "unless FSDP's mixed precision gathers the adapters in bf16 or QLoRA's bitsandbytes layer "
      "runs under autocast) or base (the base's dtype, so bf16 states under bf16-pure: "
      "torchtune, NeMo Automodel)",
      opt});
  f(ConfigField<Nf4Quantizer>{"nf4_quantizer", &C::nf4_quantizer,
                              "qlora: how the base is quantized to NF4 as it loads: chunked "
                              "(torchao 0.2+, 2^20 elements at a time) or unchunked (torchao 0.1, "
                              "68 bytes per element of the largest linear at once)",
                              opt});
  f(ConfigField<AttentionKernel>{
      "attention_kernel", &C::attention_kernel,
      "cudnn (cuDNN or FlashAttention-3 class: torchtitan since October 2025, PyTorch SDPA with "
      "cuDNN 9.15+) or flash2 (FlashAttention-2: SDPA's flash backend, which SDPA picks first "
      "with an older cuDNN; torchtitan on H100 until October 2025)",
      opt});
  f(ConfigField<GqaKv>{
      "gqa_kv", &C::gqa_kv,
      "how attention receives K and V under grouped-query attention: native (the kernel reads "
      "each K/V head for its group of query heads: SDPA's enable_gqa, as torchtitan since "
      "2026-01-27 and the 0.2.2 the launch files run; FlashAttention; Transformer Engine) or "
      "repeat (repeat_kv copies them to every query head and backward keeps the copies: "
      "torchtitan before 2026-01-27, Hugging Face's eager attention); measurement cases without "
      "it read repeat, Megatron's native",
      opt});
  f(ConfigField<Trainer>{"trainer", &C::trainer,
                         "torchtitan (what the launch files run; the estimate models its loss), "
                         "other (another FSDP2 trainer: the memory band's upper edge adds what "
                         "bwplan cannot see, e.g. an unfused loss's shifted fp32 logits copy) or "
                         "megatron (Megatron-Core with Transformer Engine, as NVIDIA's "
                         "Megatron-Bridge recipes run it: its attention, fused SwiGLU and "
                         "mixture-of-experts layers and its unfused loss save what its source "
                         "does; eager, with no op-level SAC and an unfused or fused loss); "
                         "measurement cases without it read other",
                         opt});
  f(ConfigField<MoeImpl>{
      "moe_impl", &C::moe_impl,
      "a mixture's layer, for what it saves for backward: default (the trainer's: fused under "
      "megatron, eager otherwise), eager (torchtitan's MoE: the router's fp32 scores, each "
      "routed copy's SwiGLU tensors, an fp32 copy of the routed outputs for the combination) or "
      "fused (DeepEP/HybridEP-class layers that apply the routing probabilities inside one fused "
      "activation and keep only routing metadata in the dispatch and combine: Megatron-Core's, "
      "NeMo Automodel's DeepEP, HybridEP and Transformer Engine experts)",
      opt});
  f(ConfigField<ExpertFsdp>{
      "expert_fsdp", &C::expert_fsdp,
      "when a mixture's routed experts are an FSDP unit of their own: always (torchtitan: over "
      "the shard group's ranks per expert-parallel rank, even one, so gathered into a copy and "
      "reduced by FSDP) or sharded (only when `shard_group` exceeds `ep`; otherwise they stay "
      "outside FSDP, whole on their rank, with gradients in their own dtype: NeMo Automodel)",
      opt});
  f(ConfigField<AllocSegments>{
      "alloc_segments", &C::alloc_segments,
      "PyTorch's caching allocator: expandable (PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, "
      "which the launch files and torchtitan's run_train.sh set: when memory runs short, every "
      "free cached page returns to CUDA, so a step needs its allocated peak, not its reserved "
      "one) or fixed (PyTorch's default: whole free segments only); measurement cases without "
      "it read fixed",
      opt});
  f(ConfigField<ReduceDtype>{
      "reduce_dtype", &C::reduce_dtype,
      "the dtype gradients are reduced in and accumulated unsharded in: default (the trainer's: "
      "fp32, as torchtitan sets FSDP2's MixedPrecisionPolicy and as Megatron-LM does under bf16; "
      "bf16 for bf16-pure outside torchtitan, which runs without a mixed-precision policy as "
      "torchtune does), fp32, or bf16 (FSDP2's reduce_dtype=torch.bfloat16; Megatron's "
      "grad_reduce_in_fp32=False, as NVIDIA's Megatron-Bridge recipes set it)",
      opt});
}

} // namespace bwplan
