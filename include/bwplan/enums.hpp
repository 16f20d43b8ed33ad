/// \file
/// The closed sets of choices bwplan knows (sharding, precision, checkpointing, ...), each with
/// the exact spelling used on the command line, in JSON files and in output.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bwplan {

enum class MlpKind : std::uint8_t { swiglu, gelu, count_ };
enum class NormKind : std::uint8_t { rmsnorm, layernorm, count_ };
enum class PositionKind : std::uint8_t { rope, alibi, learned, count_ };
/// Attention that some layers restrict to nearby keys: none; a sliding window of the last
/// `attention_window` tokens (gpt-oss); or chunks of `attention_window` tokens attending only
/// inside their chunk (Llama 4's chunked attention).
enum class LocalAttention : std::uint8_t { none, sliding, chunked, count_ };

/// How FSDP shards model states (docs/bwplan.md, FILES: measurement cases, `sharding`).
enum class Sharding : std::uint8_t {
  none,    ///< DDP / single GPU: every GPU holds full states
  grad_op, ///< SHARD_GRAD_OP / ZeRO-2: params stay unsharded from forward to backward
  full,    ///< FULL_SHARD / ZeRO-3
  hybrid,  ///< HSDP: shard inside a shard group, replicate across groups
  count_
};

/// Training precision (docs/bwplan.md, FILES: measurement cases, `precision`).
enum class Precision : std::uint8_t {
  fp32,
  bf16,      ///< mixed: fp32 sharded master params/grads/states, bf16 compute and all-gather
  bf16_pure, ///< everything bf16, optimizer states included
  fp8_tensorwise,
  fp8_rowwise,
  mxfp8,
  nvfp4,
  count_
};

enum class ActivationCheckpointing : std::uint8_t {
  none,
  selective_op,
  selective_layer,
  full,
  count_
};
enum class Optimizer : std::uint8_t { adamw, adamw_8bit, sgd, adafactor, lion, count_ };
/// Cross-entropy as trainers run it: unfused (eager, fp32 copies), fused (compiled), chunked
/// (torchtune's: every chunk's logits kept), chunked-head (torchtitan's 2026 ChunkedCELoss: 8
/// chunks, each runs the output head, the loss and their backward before the next, so one
/// chunk's logits exist at a time), unfused-bf16 (a plain loop's loss on bf16 logits) or
/// fused-linear (Liger Kernel's fused linear cross-entropy: chunks of about h/V of the tokens,
/// each chunk's gradient written in place over its logits, the head's gradients made in forward).
enum class Loss : std::uint8_t {
  unfused,
  fused,
  chunked,
  chunked_head,
  unfused_bf16,
  fused_linear,
  count_
};
/// Which library runs the low-precision matmuls (they save different tensors).
enum class Fp8Backend : std::uint8_t { torchao, te, count_ };
/// Gradient accumulation: reduce-scatter every micro-batch (FSDP2 default), or keep unsharded
/// gradients with sync disabled until the last micro-batch.
enum class GradAccumMode : std::uint8_t { reduce_scatter, no_sync, count_ };
/// FSDP2 CPUOffloadPolicy: parameters, gradients and optimizer states live in host memory.
enum class Offload : std::uint8_t { none, cpu, count_ };
/// How the optimizer steps: one fused kernel per tensor (torchtitan and torchtune default), or
/// foreach kernels that materialise a temporary the size of a state for all tensors at once.
enum class OptimizerImpl : std::uint8_t { fused, foreach, count_ };
/// How RMSNorm/LayerNorm runs in eager mode: fused (nn.RMSNorm in recent PyTorch, saves its
/// input) or upcast (hand-written `x.float()` norm, saves an fp32 copy: torchtune, torchtitan
/// until early 2025).
enum class NormImpl : std::uint8_t { fused, upcast, count_ };
/// How a dense SwiGLU MLP runs in eager mode: eager (silu, then the product: autograd keeps the
/// gate and up projections and silu's output) or fused (one kernel that keeps the two projections
/// and recomputes silu in backward: Liger Kernel's LigerSiLUMulFunction). torch.compile fuses
/// either into the fused form.
enum class SwigluImpl : std::uint8_t { eager, fused, count_ };
/// How QLoRA's base is quantized to NF4 when the weights load (torchao's NF4Tensor.from_tensor):
/// chunked (torchao 0.2 onwards compares 2^20 elements at a time with the 16 NF4 levels) or
/// unchunked (torchao 0.1 compares the whole tensor at once, 32 bytes per element twice).
enum class Nf4Quantizer : std::uint8_t { chunked, unchunked, count_ };
/// Where LoRA's dropout falls: on each adapter's input (PEFT, torchtune) or on its output (NeMo
/// Automodel's default, dropout_position 'post').
enum class LoraDropoutPosition : std::uint8_t { input, output, count_ };
/// The dtype LoRA's adapters are held and run in: fp32 (PEFT's default, get_peft_model's
/// autocast_adapter_dtype=True, which casts each adapted linear's input to fp32) or base (the
/// base's dtype: torchtune, NeMo Automodel).
enum class LoraDtype : std::uint8_t { fp32, base, count_ };
/// The attention kernel the step runs: cudnn (cuDNN / FlashAttention-3 class, which the time
/// model's attention efficiencies describe) or flash2 (FlashAttention-2, PyTorch SDPA's flash
/// backend: what SDPA picks first unless cuDNN is preferred; slower by the GPU's
/// flash2_attention_speed_ratio).
enum class AttentionKernel : std::uint8_t { cudnn, flash2, count_ };
/// How attention receives K and V under grouped-query attention: native (the kernel reads each
/// K/V head for its group of query heads: SDPA's enable_gqa, FlashAttention, FlexAttention,
/// Transformer Engine) or repeat (repeat_kv copies K and V to every query head first, and
/// attention's backward keeps the copies).
enum class GqaKv : std::uint8_t { native, repeat, count_ };
/// How FSDP2 units are cut. per-module (torchtitan since mid-2025): embeddings, each block, and
/// norm+output are units; embeddings and blocks reshard after forward, norm+output stay
/// unsharded. root (torchtitan 2024): embeddings, final norm and output sit in the root unit,
/// unsharded from forward to backward, and the last block is not resharded either.
enum class FsdpWrap : std::uint8_t { per_module, root, count_ };
/// The trainer whose choices the estimate describes: torchtitan (what bwplan's launch files run,
/// and what its loss, norm and wrapping terms model), another FSDP2 trainer whose choices bwplan
/// cannot see (its memory band widens for them: docs/model.md, "Bands"), or Megatron-Core with
/// Transformer Engine, whose attention, SwiGLU and mixture-of-experts layers save what its source
/// does (docs/model.md, "Megatron-Core").
enum class Trainer : std::uint8_t { torchtitan, other, megatron, count_ };
/// What a mixture-of-experts layer saves for backward: default (the trainer's: fused under
/// Megatron-Core, eager otherwise); eager (torchtitan's MoE module: the router's fp32 scores,
/// every routed copy's SwiGLU tensors, an fp32 copy of the routed outputs for the score
/// combination); or fused (DeepEP/HybridEP-class layers: grouped GEMMs that keep their inputs,
/// the routing probabilities applied inside one fused activation that keeps only its input, and
/// a dispatch and combine that keep only routing metadata: Megatron-Core's, NeMo Automodel's
/// GroupedExpertsDeepEP and GroupedExpertsTE).
enum class MoeImpl : std::uint8_t { trainer_default, eager, fused, count_ };
/// When the routed experts are an FSDP unit of their own: always (torchtitan: over its efsdp
/// mesh even of one rank, so gathered into a copy and reduced by FSDP), or sharded (only when
/// the shard group is larger than the expert-parallel degree; otherwise they stay outside FSDP,
/// whole on their rank: NeMo Automodel's MoE parallelizer, ep_shard_enabled).
enum class ExpertFsdp : std::uint8_t { always, sharded, count_ };
/// How PyTorch's caching allocator gets device memory (PYTORCH_CUDA_ALLOC_CONF). expandable: one
/// segment per stream that grows by mapping pages (expandable_segments:True), so under memory
/// pressure every free cached page returns to CUDA; fixed: PyTorch's default, one cudaMalloc per
/// segment, of which only segments with no live block can be returned.
enum class AllocSegments : std::uint8_t { expandable, fixed, count_ };
/// The dtype gradients are reduced in, and accumulated unsharded in across micro-batches:
/// the trainer's default (fp32: FSDP2's MixedPrecisionPolicy as torchtitan sets it, Megatron-LM's
/// under bf16; bf16 for bf16-pure outside torchtitan, which runs without a mixed-precision policy
/// as torchtune does), or fp32 or bf16 as set (FSDP2's reduce_dtype, Megatron's
/// grad_reduce_in_fp32).
enum class ReduceDtype : std::uint8_t { trainer_default, fp32, bf16, count_ };
/// The order pipeline stages run their micro-batches in (torch.distributed.pipelining, as
/// torchtitan names them: 1F1B, Interleaved1F1B, GPipe, ZBVZeroBubble, InterleavedZeroBubble).
/// 1F1B holds at most as many
/// micro-batches as there are stages after its own; interleaved 1F1B puts two stages on every rank
/// to shrink the bubble; GPipe runs every forward before any backward; zbv (zero bubble, V shape)
/// puts stages r and 2 pp - 1 - r on rank r and splits each backward into its input and weight
/// gradients, filling the bubble with the latter; interleaved-zb (ZB1P) does the same over
/// interleaved 1F1B's looped stages.
enum class PipelineSchedule : std::uint8_t {
  one_f_one_b,
  interleaved_1f1b,
  gpipe,
  zbv,
  interleaved_zb,
  count_
};
/// What is trained: every parameter (full), low-rank adapters beside frozen block linears (lora,
/// Hu et al. 2021), or adapters beside a 4-bit NF4 base (qlora, Dettmers et al. 2023).
enum class Finetune : std::uint8_t { full, lora, qlora, count_ };
/// The block linears that get adapters: all seven, attention (wq, wk, wv, wo), mlp (w1, w2, w3)
/// or qv (wq and wv: PEFT's default for Llama and torchtune's for Llama 2).
enum class LoraTargets : std::uint8_t { all, attention, mlp, qv, count_ };

/// Spellings, in enum order. `count_` must stay last in every enum.
template <class E> struct EnumTraits;
template <> struct EnumTraits<MlpKind> {
  static constexpr std::string_view what = "mlp";
  static constexpr std::array<std::string_view, 2> names = {"swiglu", "gelu"};
};
template <> struct EnumTraits<NormKind> {
  static constexpr std::string_view what = "norm";
  static constexpr std::array<std::string_view, 2> names = {"rmsnorm", "layernorm"};
};
template <> struct EnumTraits<PositionKind> {
  static constexpr std::string_view what = "position";
  static constexpr std::array<std::string_view, 3> names = {"rope", "alibi", "learned"};
};
template <> struct EnumTraits<LocalAttention> {
  static constexpr std::string_view what = "local_attention";
  static constexpr std::array<std::string_view, 3> names = {"none", "sliding", "chunked"};
};
template <> struct EnumTraits<Sharding> {
  static constexpr std::string_view what = "sharding";
  static constexpr std::array<std::string_view, 4> names = {"none", "grad-op", "full", "hybrid"};
};
template <> struct EnumTraits<Precision> {
  static constexpr std::string_view what = "precision";
  static constexpr std::array<std::string_view, 7> names = {
      "fp32", "bf16", "bf16-pure", "fp8-tensorwise", "fp8-rowwise", "mxfp8", "nvfp4"};
};
template <> struct EnumTraits<ActivationCheckpointing> {
  static constexpr std::string_view what = "activation checkpointing";
  static constexpr std::array<std::string_view, 4> names = {"none", "selective-op",
                                                            "selective-layer", "full"};
};
template <> struct EnumTraits<Optimizer> {
  static constexpr std::string_view what = "optimizer";
  static constexpr std::array<std::string_view, 5> names = {"adamw", "adamw-8bit", "sgd",
                                                            "adafactor", "lion"};
};
template <> struct EnumTraits<Loss> {
  static constexpr std::string_view what = "loss";
  static constexpr std::array<std::string_view, 6> names = {
      "unfused", "fused", "chunked", "chunked-head", "unfused-bf16", "fused-linear"};
};

template <> struct EnumTraits<Fp8Backend> {
  static constexpr std::string_view what = "fp8 backend";
  static constexpr std::array<std::string_view, 2> names = {"torchao", "te"};
};
template <> struct EnumTraits<GradAccumMode> {
  static constexpr std::string_view what = "grad accumulation mode";
  static constexpr std::array<std::string_view, 2> names = {"reduce-scatter", "no-sync"};
};
template <> struct EnumTraits<Offload> {
  static constexpr std::string_view what = "offload";
  static constexpr std::array<std::string_view, 2> names = {"none", "cpu"};
};

template <> struct EnumTraits<OptimizerImpl> {
  static constexpr std::string_view what = "optimizer implementation";
  static constexpr std::array<std::string_view, 2> names = {"fused", "foreach"};
};
template <> struct EnumTraits<NormImpl> {
  static constexpr std::string_view what = "norm implementation";
  static constexpr std::array<std::string_view, 2> names = {"fused", "upcast"};
};
template <> struct EnumTraits<SwigluImpl> {
  static constexpr std::string_view what = "SwiGLU implementation";
  static constexpr std::array<std::string_view, 2> names = {"eager", "fused"};
};

template <> struct EnumTraits<Nf4Quantizer> {
  static constexpr std::string_view what = "NF4 quantizer";
  static constexpr std::array<std::string_view, 2> names = {"chunked", "unchunked"};
};

template <> struct EnumTraits<LoraDropoutPosition> {
  static constexpr std::string_view what = "LoRA dropout position";
  static constexpr std::array<std::string_view, 2> names = {"input", "output"};
};

template <> struct EnumTraits<LoraDtype> {
  static constexpr std::string_view what = "LoRA adapter dtype";
  static constexpr std::array<std::string_view, 2> names = {"fp32", "base"};
};

template <> struct EnumTraits<AttentionKernel> {
  static constexpr std::string_view what = "attention kernel";
  static constexpr std::array<std::string_view, 2> names = {"cudnn", "flash2"};
};

template <> struct EnumTraits<GqaKv> {
  static constexpr std::string_view what = "grouped-query K/V handling";
  static constexpr std::array<std::string_view, 2> names = {"native", "repeat"};
};

template <> struct EnumTraits<FsdpWrap> {
  static constexpr std::string_view what = "FSDP wrapping";
  static constexpr std::array<std::string_view, 2> names = {"per-module", "root"};
};

template <> struct EnumTraits<Finetune> {
  static constexpr std::string_view what = "fine-tuning";
  static constexpr std::array<std::string_view, 3> names = {"full", "lora", "qlora"};
};
template <> struct EnumTraits<LoraTargets> {
  static constexpr std::string_view what = "LoRA targets";
  static constexpr std::array<std::string_view, 4> names = {"all", "attention", "mlp", "qv"};
};

template <> struct EnumTraits<Trainer> {
  static constexpr std::string_view what = "trainer";
  static constexpr std::array<std::string_view, 3> names = {"torchtitan", "other", "megatron"};
};

template <> struct EnumTraits<MoeImpl> {
  static constexpr std::string_view what = "mixture-of-experts implementation";
  static constexpr std::array<std::string_view, 3> names = {"default", "eager", "fused"};
};
template <> struct EnumTraits<ExpertFsdp> {
  static constexpr std::string_view what = "expert FSDP wrapping";
  static constexpr std::array<std::string_view, 2> names = {"always", "sharded"};
};

template <> struct EnumTraits<AllocSegments> {
  static constexpr std::string_view what = "allocator segments";
  static constexpr std::array<std::string_view, 2> names = {"expandable", "fixed"};
};

template <> struct EnumTraits<ReduceDtype> {
  static constexpr std::string_view what = "reduce dtype";
  static constexpr std::array<std::string_view, 3> names = {"default", "fp32", "bf16"};
};

template <> struct EnumTraits<PipelineSchedule> {
  static constexpr std::string_view what = "pipeline schedule";
  static constexpr std::array<std::string_view, 5> names = {"1f1b", "interleaved-1f1b", "gpipe",
                                                            "zbv", "interleaved-zb"};
};

template <class E>
inline constexpr bool k_enum_table_complete = EnumTraits<E>::names.size() ==
                                              static_cast<std::size_t>(E::count_);
static_assert(k_enum_table_complete<MlpKind> && k_enum_table_complete<NormKind> &&
              k_enum_table_complete<PositionKind> && k_enum_table_complete<LocalAttention> &&
              k_enum_table_complete<Sharding> && k_enum_table_complete<Precision> &&
              k_enum_table_complete<ActivationCheckpointing> && k_enum_table_complete<Optimizer> &&
              k_enum_table_complete<Loss> && k_enum_table_complete<Fp8Backend> &&
              k_enum_table_complete<GradAccumMode> && k_enum_table_complete<Offload> &&
              k_enum_table_complete<OptimizerImpl> && k_enum_table_complete<NormImpl> &&
              k_enum_table_complete<Nf4Quantizer> && k_enum_table_complete<AttentionKernel> &&
              k_enum_table_complete<FsdpWrap> && k_enum_table_complete<PipelineSchedule> &&
              k_enum_table_complete<Trainer> && k_enum_table_complete<AllocSegments> &&
              k_enum_table_complete<ReduceDtype> && k_enum_table_complete<LoraDropoutPosition> &&
              k_enum_table_complete<GqaKv> && k_enum_table_complete<SwigluImpl> &&
              k_enum_table_complete<LoraDtype> && k_enum_table_complete<MoeImpl> &&
              k_enum_table_complete<ExpertFsdp>);

template <class E> [[nodiscard]] constexpr std::string_view name_of(E e) {
  return EnumTraits<E>::names[static_cast<std::size_t>(e)];
}

template <class E> [[nodiscard]] constexpr std::optional<E> parse_enum(std::string_view s) {
  for (std::size_t i = 0; i < EnumTraits<E>::names.size(); ++i) {
    if (EnumTraits<E>::names[i] == s) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

template <class E> [[nodiscard]] std::vector<std::string> enum_names() {
  return {EnumTraits<E>::names.begin(), EnumTraits<E>::names.end()};
}

/// Throws bwplan::Error "<field> '<s>' is not known: allowed a, b, c (did you mean 'b'?)".
[[noreturn]] void throw_unknown_name(std::string_view s, std::string_view field,
                                     const std::vector<std::string>& allowed);

/// Parses `s` or throws bwplan::Error naming `field`, the value, the allowed spellings and the
/// closest one ("precision 'bf61': allowed fp32, bf16, ... (did you mean 'bf16'?)").
template <class E> [[nodiscard]] E parse_enum_or_throw(std::string_view s, std::string_view field) {
  if (const std::optional<E> e = parse_enum<E>(s)) {
    return *e;
  }
  throw_unknown_name(s, field, enum_names<E>());
}

/// True for the precisions that keep fp32 master weights and compute in bf16 or below (bf16 and
/// the low-precision recipes): FSDP2's mixed-precision policy, or autocast without FSDP.
[[nodiscard]] constexpr bool is_mixed_precision(Precision p) {
  return p != Precision::fp32 && p != Precision::bf16_pure;
}

/// True for the precisions whose matmuls run in a low-precision format on top of bf16 mixed
/// precision (torchao float8/MXFP8/NVFP4 linears).
[[nodiscard]] constexpr bool is_low_precision(Precision p) {
  return p == Precision::fp8_tensorwise || p == Precision::fp8_rowwise || p == Precision::mxfp8 ||
         p == Precision::nvfp4;
}

} // namespace bwplan
