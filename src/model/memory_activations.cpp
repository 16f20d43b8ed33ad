// Activation and logits memory per GPU. The inventory below lists, op by op, what autograd
// keeps for backward in a Llama-style block as torchtitan writes it (RMSNorm, RoPE on q/k,
// grouped or repeated K/V, flash SDPA, SwiGLU); docs/model.md, "Activations", derives each line.
#include "bwplan/memory_model.hpp"

#include <algorithm>

namespace bwplan {

namespace {

/// Bytes per element of a GEMM input that Transformer Engine (or torchao NVFP4) keeps in the
/// quantized format instead of bf16 (data + block scales).
double quantized_input_bytes(Precision p) {
  switch (p) {
  case Precision::mxfp8: return 1.0 + 1.0 / 32; // E4M3 + one E8M0 scale per 32
  case Precision::nvfp4: return 0.5 + 1.0 / 16; // E2M1 + one E4M3 scale per 16
  default: return 1.0;                          // fp8 (per-tensor or per-row scale)
  }
}

/// Whether saved GEMM inputs are stored quantized: TE caches fp8/MXFP8/NVFP4 inputs; torchao's
/// float8 and MXFP8 linears save the bf16 input, its NVFP4 linear saves FP4 codes.
bool gemm_inputs_quantized(const TrainingConfig& c) {
  if (!is_low_precision(c.precision)) {
    return false;
  }
  return c.fp8_backend == Fp8Backend::te || c.precision == Precision::nvfp4;
}

struct Inventory {
  double all = 0; // saved with no checkpointing
  double sac = 0; // saved under per-op selective checkpointing
};

/// Tensor parallelism as torchtitan applies it (sequence parallel on the norms, column-wise
/// q/k/v and w1/w3, row-wise wo and w2; torchtitan/models/llama3/infra/parallelize.py): every
/// saved tensor is split over the tp ranks (by heads, MLP width or, between the linears, by
/// sequence) except the two inputs the column-wise linears all-gather, which autograd saves
/// whole. `gathered` is those inputs' bytes per token. Op-level SAC's save list has the
/// reduce-scatter, not the all-gather (torchtitan/distributed/activation_checkpoint.py), so
/// they would be recomputed; yet every published run with both reads as if they were kept
/// (docs/model.md §10: torchtitan from April 2024 to 2026, eager and compiled, tp 2 and 4, 21-36 %
/// low without them, -6 to +15 % with them), and the estimate counts them: what keeps them is not
/// identified in PyTorch's or torchtitan's source.
Inventory tensor_parallel(const Inventory& inv, double gathered, std::int64_t tp) {
  const double t = static_cast<double>(tp);
  return {gathered + (inv.all - gathered) / t, inv.sac / t + (tp > 1 ? gathered : 0.0)};
}

/// A SwiGLU MLP `f` wide: w1 output (silu input), silu output (compile recomputes it), w3 output
/// and the product (w2's input).
double swiglu_saved(double f, double ab, double gemm_in, bool eager) {
  return f * ab + (eager ? f * ab : 0.0) + f * ab + f * gemm_in;
}

/// Op-level SAC's share of a SwiGLU (w1, w3, w2) or two-matmul MLP `f` wide whose first matmul is
/// the block's `first_mm`-th counted one: torchtitan's policy saves every odd-numbered matmul's
/// output (torchtitan/distributed/activation_checkpoint.py, _custom_policy: "every second mm" is
/// recomputed; the router gate is force-recomputed and not counted). w2's h-wide output is kept
/// only eager: under torch.compile the partitioner drops saved outputs backward never reads.
double sac_mlp_saved(double f, double h, double ab, bool swiglu, int first_mm, bool eager) {
  const auto saved = [first_mm](int i) { return (first_mm + i) % 2 == 1; };
  const double w2_out = eager ? h * ab : 0.0;
  if (swiglu) {
    return (saved(0) ? f * ab : 0.0) + (saved(1) ? f * ab : 0.0) + (saved(2) ? w2_out : 0.0);
  }
  return (saved(0) ? f * ab : 0.0) + (saved(1) ? w2_out : 0.0);
}

/// The layer-weighted mean of a mixture's per-block bytes: its `dense_layers` leading blocks hold
/// `dense`, the others `sparse` (what the sum over the blocks divided by their count gives).
double mean_over_blocks(const ModelSpec& m, double sparse, double dense) {
  const double n = static_cast<double>(m.layers);
  const double d = static_cast<double>(m.dense_layers);
  return (d * dense + (n - d) * sparse) / n;
}

/// Bytes per token a mixture-of-experts MLP saves for backward beyond its norm (torchtitan's MoE,
/// torchtitan/models/moe/moe.py, eager): the router's fp32 softmax and its top-k scores and
/// indices; each token's k copies as the grouped GEMMs' input (after the all-to-all dispatch
/// under expert parallelism); per copy the SwiGLU's w1 and w3 outputs, the silu output (compile
/// recomputes it) and the product (w2's input); the fp32 copy of the routed outputs the score
/// combination (bmm) saves; and a shared expert as a dense SwiGLU. Routing is taken as balanced:
/// the busiest rank's excess is the band's (docs/model.md, "Mixtures of experts").
double moe_saved(const ModelSpec& m, const TrainingConfig& c, double ab, double gemm_in) {
  const bool eager = !c.compile;
  const double h = static_cast<double>(m.hidden);
  const double k = static_cast<double>(m.experts_per_token);
  const double fe = static_cast<double>(m.expert_ffn);
  const double router = 4.0 * static_cast<double>(m.experts) + k * (4.0 + 3.0 * 8.0);
  double routed = k * (h * gemm_in + swiglu_saved(fe, ab, gemm_in, eager));
  if (m.expert_bias && eager) {
    // gpt-oss's experts (torchtitan/models/gpt_oss/moe.py, swiglu): the gate and linear halves of
    // mlp1's 2f-wide output are clamped (both clamps keep that output), then the sigmoid's output,
    // the clamped gate, their product and the clamped linear half are kept: 7f per copy with
    // mlp2's input, where a plain SwiGLU keeps 4f.
    routed += k * 3.0 * fe * ab;
  }
  const double combine = 4.0 * k * h;
  const double shared = swiglu_saved(static_cast<double>(m.shared_expert_ffn), ab, gemm_in, eager);
  return router + routed + combine + shared;
}

/// Megatron-Core's fused SwiGLU MLP `f` wide behind a Transformer Engine linear (trainer
/// megatron; NVIDIA/Megatron-LM@2edffadb528ea07e261b0c02cdc42a7bb9c3197a, the commit
/// NVIDIA-NeMo/Megatron-Bridge v0.4.2 pins: megatron/core/fusions/fused_bias_swiglu.py,
/// SwiGLUFunction saves only its 2f-wide input): fc1's input and fc2's input (TE keeps each
/// linear's input, quantized when its GEMM is) and fc1's output.
double megatron_swiglu_saved(double f, double h, double ab, double gemm_in) {
  return h * gemm_in + 2.0 * f * ab + f * gemm_in;
}

/// Bytes per token a fused (DeepEP/HybridEP-class) mixture-of-experts layer saves beyond its norm:
/// Megatron-Core's (same commit: megatron/core/transformer/moe/router.py, moe_utils.py
/// RouterGatingLinearFunction, experts.py TEGroupedMLP, fused_bias_swiglu.py
/// WeightedSwiGLUFunction) and NeMo Automodel's DeepEP, HybridEP and Transformer Engine experts
/// (NVIDIA-NeMo/Automodel@77f1123997123e9e1198d7af6ac4b518b0ec141c:
/// nemo_automodel/components/moe/experts.py, GroupedExpertsDeepEP.forward and
/// GroupedExpertsTE.forward: grouped GEMMs, then Megatron's weighted_bias_swiglu_impl or a
/// torch.compile'd activation that multiplies by the routing probabilities). The router keeps the
/// norm's bf16 output and its fp32 scores, routing map and top-k probabilities; each of the k
/// routed copies keeps grouped fc1's input, the weighted activation's input (fc1's 2f-wide
/// output) and its probability, and grouped fc2's input. The probabilities are applied inside the
/// activation, so the combine keeps no copy of the routed outputs (torchtitan's fp32 one), and
/// the dispatch and combine (all-to-all, DeepEP or HybridEP) keep only routing metadata. A shared
/// expert is a fused SwiGLU on the same norm output.
double fused_moe_saved(const ModelSpec& m, double ab, double gemm_in) {
  const double h = static_cast<double>(m.hidden);
  const double k = static_cast<double>(m.experts_per_token);
  const double fe = static_cast<double>(m.expert_ffn);
  const double e = static_cast<double>(m.experts);
  const double router = h * ab + 5.0 * e + 4.0 * k;
  const double routed = k * (h * gemm_in + 2.0 * fe * ab + 4.0 + fe * gemm_in);
  const double fs = static_cast<double>(m.shared_expert_ffn);
  const double shared = fs > 0 ? megatron_swiglu_saved(fs, h, ab, gemm_in) : 0.0;
  return router + routed + shared;
}

/// Bytes per token a dense MLP saves: w1's input and what follows it. A two-matmul MLP keeps w1's
/// and the activation's outputs; a SwiGLU as torchtitan's (silu's output kept when `silu_saved`)
/// or Megatron's fused one.
double dense_mlp_saved(const ModelSpec& m, double ab, double gemm_in, bool silu_saved,
                       bool megatron) {
  const double h = static_cast<double>(m.hidden);
  const double f = static_cast<double>(m.ffn);
  if (m.mlp != MlpKind::swiglu) {
    return h * gemm_in + f * ab + f * gemm_in;
  }
  return megatron ? megatron_swiglu_saved(f, h, ab, gemm_in)
                  : h * gemm_in + swiglu_saved(f, ab, gemm_in, silu_saved);
}

Inventory block_inventory(const ModelSpec& m, const TrainingConfig& c) {
  const double ab = state_dtypes(c.precision).compute_bytes;
  const double gemm_in = gemm_inputs_quantized(c) ? quantized_input_bytes(c.precision) : ab;
  const bool eager = !c.compile;
  const bool megatron = c.trainer == Trainer::megatron;
  const double h = static_cast<double>(m.hidden);
  const double q = static_cast<double>(m.q_dim());
  const double kv = static_cast<double>(m.kv_dim());
  const double v = static_cast<double>(m.v_dim());
  const double out = static_cast<double>(m.attn_out_dim()); // SDPA's output, wo's input
  const double f = static_cast<double>(m.ffn);
  const double lse = 4.0 * static_cast<double>(m.heads); // fp32 logsumexp per head
  // Under autocast (no FSDP mixed-precision policy) the residual stream stays fp32: the fp32
  // embedding's output. A LoRA or QLoRA base, embedding included, is held in bf16, so its
  // residual stream and norms are bf16 and its base linears cast nothing. Megatron runs its own
  // bf16 modules, not autocast, with a bf16 residual (TransformerConfig's
  // fp32_residual_connection defaults to False in
  // NVIDIA/Megatron-LM@d2c5e8b4f4fa0062d8cd9cbe18a7fca7cf1f99a3:
  // megatron/core/transformer/transformer_config.py and in later releases).
  const bool autocast = runs_autocast(c) && !megatron;
  const bool fp32_stream = autocast && c.finetune == Finetune::full;
  const double residual = fp32_stream ? 4.0 : ab;
  // A norm saves its input (fused kernel); the hand-written upcast saves an fp32 copy and the
  // normalised value in the input's dtype (bf16, or fp32 under autocast) instead. torch.compile
  // fuses either into the fused form.
  const double norm_saved =
      eager && c.norm_impl == NormImpl::upcast ? 4.0 * h + h * residual : h * residual;
  // Under autocast a norm's output is fp32, and autocast caches only casts of fp32 leaves (the
  // weights): each linear that reads it casts it to bf16 again and saves its own copy
  // (pytorch/pytorch@cfed411fae0c18aa3d20351bc8dc8e1218db77ff:aten/src/ATen/autocast_mode.cpp,
  // cached_cast: can_try_cache needs arg.is_leaf() and arg.requires_grad(); any other fp32
  // argument is cast with arg.to(to_type) on every call). Beyond the one copy per norm counted,
  // wk and wv make two more, and SwiGLU's w3 one. Eager dense blocks with standard attention.
  const double extra_casts = fp32_stream && eager && !m.is_mla() && !m.is_moe()
                                 ? (2.0 + (m.mlp == MlpKind::swiglu ? 1.0 : 0.0)) * h * ab
                                 : 0.0;
  Inventory inv;
  // Attention half. RoPE multiplies by constant frequencies, so its fp32 copies are not saved;
  // SDPA returns its output already laid out for wo, so wo saves no copy.
  inv.all += norm_saved + h * gemm_in + extra_casts; // norm input, wq/wk/wv input
  if (m.qk_norm) {
    inv.all += (q + kv) * ab; // q/k norm inputs
  }
  // SDPA's q, k and v and logsumexp. K and V are saved at their own heads when attention reads
  // the groups (SDPA's enable_gqa, which torchtitan passes since pytorch/torchtitan@ff0829c1;
  // Transformer Engine under Megatron), else as repeat_kv's copies at the query heads.
  const double sdpa_kv = static_cast<double>(attention_kv_dim(m, c));
  inv.all += q * ab + sdpa_kv * ab + lse;
  inv.all += out * ab; // SDPA output (wo's input)
  if (m.attention_sinks && eager) {
    // gpt-oss rescales the attention output by sigmoid(lse - sink) per head
    // (torchtitan/models/gpt_oss/model.py): eager autograd keeps the raw output (attention's
    // backward reads it) beside the rescaled one wo reads, the fp32 sigmoid and its bf16 copy.
    inv.all += out * ab + (4.0 + ab) * static_cast<double>(m.heads);
  }
  if (gemm_inputs_quantized(c)) {
    inv.all += out * gemm_in; // TE keeps a quantized copy of wo's input beside SDPA's output
  }
  // Op-level SAC's attention half (the block input, the odd-numbered matmuls' outputs, SDPA's
  // output and logsumexp): Llama's wq and wv outputs (of wq, wk, wv, wo).
  double sac_attention = h * residual + q * ab + v * ab + out * ab + lse;
  int attention_mms = 4;
  if (m.is_mla()) {
    // Latent attention (torchtitan/models/deepseek_v3/model/model.py): q_norm's and kv_norm's
    // inputs and outputs (wq_b's and wkv_b's inputs) and the RoPE key before its rotation.
    const double ql = static_cast<double>(m.q_lora_rank);
    const double kl = static_cast<double>(m.kv_lora_rank);
    const double rope = static_cast<double>(m.qk_rope_head_dim);
    inv.all += (2.0 * ql + 2.0 * kl + rope) * ab;
    if (m.q_lora_rank > 0) {
      // wq_a, wq_b, wkv_a, wkv_b, wo: wq_a's, wkv_a's and (eager) wo's outputs are saved.
      sac_attention = h * residual + (ql + kl + rope + (eager ? h : 0.0)) * ab + out * ab + lse;
      attention_mms = 5;
    } else {
      // wq, wkv_a, wkv_b, wo: the queries and wkv_b's per-head no-RoPE keys and values.
      const double kv_b = static_cast<double>(m.heads) *
                          static_cast<double>(m.effective_head_dim() - m.qk_rope_head_dim +
                                              m.effective_v_head_dim());
      sac_attention = h * residual + (q + kv_b) * ab + out * ab + lse;
    }
  }
  // MLP half: residual into the norm, norm output, projections and activation.
  inv.all += norm_saved;
  // A fused SiLU-multiply (Liger Kernel's, linkedin/Liger-Kernel@06e2af7d:
  // src/liger_kernel/ops/swiglu.py, LigerSiLUMulFunction saves only its two inputs) keeps what
  // compile's fusion keeps.
  const bool silu_saved = eager && c.swiglu_impl == SwigluImpl::eager;
  const double dense_mlp = dense_mlp_saved(m, ab, gemm_in, silu_saved, megatron);
  if (m.is_moe()) {
    // With no checkpointing every block is counted as the larger of a sparse block and a leading
    // dense one (it is also the one block a checkpointed backward rematerialises; DeepSeek-V3's 3
    // dense blocks save less than its sparse ones: tests/test_moe_models.cpp).
    const double sparse = moe_layer_fused(c) ? fused_moe_saved(m, ab, gemm_in)
                                             : h * gemm_in + moe_saved(m, c, ab, gemm_in);
    inv.all += std::max(sparse, m.dense_layers > 0 ? dense_mlp : 0.0);
    // torchtitan's op-level SAC saves no grouped-GEMM output and force-recomputes the router
    // (per_op_sac_force_recompute_mm_shapes_by_fqns = ["moe.router.gate"]), so of a sparse block's
    // MLP only the shared expert's odd-numbered matmul outputs are kept, and under expert
    // parallelism the all-to-alls' outputs. What SAC keeps is summed over the blocks, so the
    // leading dense blocks count at their own size.
    const int first_mm = attention_mms + 1;
    double sac_sparse =
        m.shared_expert_ffn > 0
            ? sac_mlp_saved(static_cast<double>(m.shared_expert_ffn), h, ab, true, first_mm, eager)
            : 0.0;
    const double sac_dense = sac_mlp_saved(f, h, ab, true, first_mm, eager);
    if (c.ep > 1) {
      // Under expert parallelism op-level SAC saves what the all-to-all returns, so that the
      // recompute does not communicate again: the k copies the dispatch receives and the k the
      // combine brings back (torchtitan's comm_ops, all models since pytorch/torchtitan@114151ad4
      // (2026-03-23): torchtitan/distributed/activation_checkpoint.py; v0.2.2 for llama4 and
      // deepseek_v3: torchtitan/models/llama4/infra/parallelize.py _op_sac_save_list).
      sac_sparse += 2.0 * static_cast<double>(m.experts_per_token) * h * ab;
    }
    inv.sac = sac_attention + mean_over_blocks(m, sac_sparse, sac_dense);
    return inv; // no tensor parallelism under a mixture (expert_parallel_problem())
  }
  inv.all += dense_mlp;
  // torchtitan's op-level SAC saves the block input, the outputs of every other matmul
  // (wq, wv, w1, and w2 for SwiGLU) and SDPA's outputs; everything else is recomputed.
  inv.sac =
      sac_attention + sac_mlp_saved(f, h, ab, m.mlp == MlpKind::swiglu, attention_mms + 1, eager);
  if (c.finetune != Finetune::full) {
    // LoRA: each adapter's B saves A's rank-wide output; A saves the base linear's input, which
    // the block saves already (a frozen linear itself needs no input: counted as saved anyway),
    // unless A reads a tensor of its own. PEFT's LoRA layer runs lora_A on lora_dropout(x), its
    // own nn.Dropout per adapter (huggingface/peft@5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40:
    // src/peft/tuners/lora/layer.py lines 256 and 1063): a dropped copy and a one-byte mask.
    // And PEFT holds the adapters in fp32 (fp32_adapters(); src/peft/mapping_func.py line 110)
    // and casts each adapted linear's input to their dtype (layer.py line 1061): eager, without
    // a mixed-precision policy (bf16-pure) A runs in fp32 on that fp32 copy; under autocast it
    // casts the copy back to bf16 and saves that, except in bitsandbytes' 4-bit layer (QLoRA),
    // which skips the cast under autocast (src/peft/tuners/lora/bnb.py, requires_conversion =
    // not torch.is_autocast_enabled()). FSDP's mixed-precision policy gathers the adapters in
    // bf16: nothing is cast. torch.compile's partitioner saves the bf16 input and recomputes the
    // casts. NeMo Automodel's LinearLoRA (dropout on the output) casts nothing.
    const bool peft_layer = c.lora_dropout_position == LoraDropoutPosition::input;
    const bool pure = !is_mixed_precision(c.precision);
    const bool fp32 = fp32_adapters(c);
    const double rank_bytes = fp32 && pure ? 4.0 : ab;          // A's output, which B saves
    const double copy_bytes = fp32 && pure && eager ? 4.0 : ab; // A's own input, if any
    const bool cast_copy =
        fp32 && eager && peft_layer && (pure || (autocast && c.finetune == Finetune::lora));
    const bool dropped = c.lora_dropout > 0 && peft_layer;
    const auto adapted = static_cast<double>(lora_linears_per_block(m, c.lora_targets));
    const double in_width = static_cast<double>(lora_input_width_per_block(m, c.lora_targets));
    double lora = adapted * static_cast<double>(c.lora_rank) * rank_bytes;
    double originals = 0.0;
    if (dropped || cast_copy) {
      // A's own input (the dropped copy and its mask, or the cast copy) replaces the bf16
      // original, which nothing else keeps: a frozen linear's matmul saves no input, nor a norm
      // with a frozen weight its output; wo's input is SDPA's own saved output, kept. (Op-level
      // SAC recomputes those originals: they are not in its count.)
      lora += in_width * (copy_bytes + (dropped ? 1.0 : 0.0));
      const LoraInputsRead read = lora_inputs_read(m, c.lora_targets);
      originals =
          ((read.attention_hidden ? h : 0.0) + (read.mlp_hidden ? h : 0.0) + (read.ffn ? f : 0.0)) *
          gemm_in;
    }
    if (c.lora_dropout > 0 && !peft_layer) {
      // Automodel's default drops the adapter's output instead (LinearLoRA.forward,
      // dropout_position 'post': F.dropout(lora_res), NVIDIA-NeMo/Automodel@03bd7a9b:
      // nemo_automodel/components/_peft/lora.py): its backward needs only the one-byte mask of
      // that output.
      lora += static_cast<double>(lora_output_width_per_block(m, c.lora_targets));
    }
    // Counted under op-level SAC too (never low).
    inv.all += lora - originals;
    inv.sac += lora;
  }
  return tensor_parallel(inv, 2.0 * h * gemm_in, c.tp);
}

} // namespace

BlockActivations block_activations(const ModelSpec& m, const TrainingConfig& c,
                                   ActivationCheckpointing mode) {
  const double ab = state_dtypes(c.precision).compute_bytes;
  const Inventory inv = block_inventory(m, c);
  BlockActivations a;
  a.full_per_token = inv.all;
  switch (mode) {
  case ActivationCheckpointing::none: a.saved_per_token = inv.all; break;
  case ActivationCheckpointing::selective_op: a.saved_per_token = inv.sac; break;
  case ActivationCheckpointing::selective_layer: // this block is one of the checkpointed ones
  case ActivationCheckpointing::full: // the block input, sequence-sharded under tensor parallelism
    a.saved_per_token = static_cast<double>(m.hidden) * ab / static_cast<double>(c.tp);
    break;
  case ActivationCheckpointing::count_: break;
  }
  a.recompute_per_token = inv.all - a.saved_per_token;
  // Inside one block's backward: gradients w.r.t. the MLP's f-wide tensors (split over the tp
  // ranks) and two h-wide ones (whole: the gradients of the all-gathered inputs). A mixture's
  // MLP is k experts' f-wide tensors per token and their k h-wide inputs and (fp32) outputs.
  const double f = static_cast<double>(m.ffn) / static_cast<double>(c.tp);
  const double mlp_grads = m.mlp == MlpKind::swiglu ? 3.0 : 2.0;
  const double h = static_cast<double>(m.hidden);
  if (m.is_moe()) {
    const double k = static_cast<double>(m.experts_per_token);
    const double widths =
        k * static_cast<double>(m.expert_ffn) + static_cast<double>(m.shared_expert_ffn);
    a.grad_work_per_token = std::max((3.0 * widths + 2.0 * h + k * h) * ab + 4.0 * k * h,
                                     m.dense_layers > 0 ? (3.0 * f + 2.0 * h) * ab : 0.0);
  } else {
    // Liger Kernel's SiLU-multiply writes the two projections' gradients over its saved inputs
    // (_swiglu_backward_kernel stores da and db at a_ptr and b_ptr, and LigerSiLUMulFunction
    // returns those tensors: linkedin/Liger-Kernel@05b43a14913ced3776aa3fc50020089b8c0d63c1:
    // src/liger_kernel/ops/swiglu.py lines 56-57 and 114-116), so of its f-wide gradients only
    // w2's input's is new. Compile's fused kernel and Megatron's SwiGLU allocate theirs.
    const bool in_place = m.mlp == MlpKind::swiglu && c.swiglu_impl == SwigluImpl::fused &&
                          !c.compile && c.trainer != Trainer::megatron;
    a.grad_work_per_token = ((in_place ? 1.0 : mlp_grads) * f + 2.0 * h) * ab;
  }
  if (c.cp > 1) {
    // Context parallelism with all-gathered keys and values (torchtitan's default rotate method,
    // torch/distributed/tensor/experimental/_attention.py): the block's backward holds the whole
    // sequence's K and V (as attention receives them: grouped or repeated) and their fp32
    // gradients: cp times each local token's, split over the tp ranks by heads.
    const double kv = static_cast<double>(attention_kv_dim(m, c));
    a.grad_work_per_token +=
        kv * (ab + 4.0) * static_cast<double>(c.cp) / static_cast<double>(c.tp);
  }
  return a;
}

SavedActivationFactors saved_activation_factors(const ModelSpec& m, const TrainingConfig& c) {
  const double layers = static_cast<double>(m.layers);
  if (c.activation_checkpointing == ActivationCheckpointing::selective_layer) {
    const double wrapped = static_cast<double>(checkpointed_blocks(m, c));
    const double ckpt = block_activations(m, c, ActivationCheckpointing::full).saved_per_token;
    const double plain = block_activations(m, c, ActivationCheckpointing::none).saved_per_token;
    return {wrapped * ckpt + (layers - wrapped) * plain, 1.0};
  }
  return {layers, block_activations(m, c, c.activation_checkpointing).saved_per_token};
}

double local_tokens(const TrainingConfig& c) {
  return static_cast<double>(c.micro_batch) * static_cast<double>(c.seq_len) /
         static_cast<double>(c.cp);
}

double saved_activation_bytes(const ModelSpec& m, const TrainingConfig& c) {
  const double tokens = local_tokens(c);
  const SavedActivationFactors f = saved_activation_factors(m, c);
  return tokens * f.first * f.second;
}

LogitsMemory logits_per_element(const TrainingConfig& c) {
  // An fp32 head (CastLinear) writes fp32 logits: no bf16 logits, no upcast copy.
  const double ab = c.head_fp32 ? 4.0 : state_dtypes(c.precision).compute_bytes;
  const double chunks = 8;                  // torchtune CEWithChunkedOutputLoss
  const double upcast = ab < 4 ? 4.0 : 0.0; // eager .float() copy of bf16 logits
  LogitsMemory l;
  switch (c.loss) {
  case Loss::unfused: {
    if (c.trainer == Trainer::megatron) {
      // Megatron-Core's _VocabParallelCrossEntropy (NVIDIA/Megatron-LM@2edffadb:
      // megatron/core/tensor_parallel/cross_entropy.py) upcasts the logits once and then works in
      // place: max subtracted, exp, divided by the sum, saved as the softmax; its backward turns
      // that softmax into the gradient in place, which the upcast's backward casts to bf16.
      // forward: the logits and the fp32 copy; backward: the fp32 gradient and its bf16 cast.
      l.forward_bytes = ab + upcast;
      l.backward_bytes = 4.0 + (ab < 4 ? ab : 0.0);
      l.largest_tensor_bytes = 4.0;
      break;
    }
    // forward: logits, their fp32 copy and log_softmax's saved fp32 output; backward (logits
    // deleted): saved output, its gradient and the gradient of the input, all fp32.
    // Under tensor parallelism torchtitan runs the loss in loss_parallel(), whose DTensor
    // log_softmax holds the shifted fp32 logits beside its output, and whose fused nll/log_softmax
    // backward holds a zeroed gradient, exp(output) and their sum beside the product: one more
    // fp32 copy of the local logits in each (torch/distributed/tensor/parallel/loss.py,
    // _log_softmax and _nll_loss_and_log_softmax_backward, pytorch/pytorch#119877).
    const double dtensor_copy = loss_parallel(c) ? 4.0 : 0.0;
    l.forward_bytes = ab + upcast + 4.0 + dtensor_copy;
    l.backward_bytes = 12.0 + dtensor_copy;
    l.largest_tensor_bytes = 4.0;
    break;
  }
  case Loss::unfused_bf16:
    // F.cross_entropy on the bf16 logits with no .float() and no autocast, in a loop that binds
    // them to a name and never deletes it (KempnerForge@01b461a7:scripts/train.py, `logits =
    // model(input_ids)` then `F.cross_entropy(logits.view(-1, V), ...)`): log_softmax writes and
    // saves a bf16 output (ATen computes in fp32 inside the kernel). Forward: the logits and that
    // output (also the moment the head writes the next micro-batch's logits beside the previous
    // ones, still bound); backward: the logits, the saved output, nll_loss's dense gradient and
    // log_softmax's input gradient. The logits stay alive through the decoder's backward, the
    // optimizer step and the next forward, until the name is bound again.
    l.forward_bytes = 2.0 * ab;
    l.backward_bytes = 4.0 * ab;
    l.largest_tensor_bytes = ab;
    l.held_bytes = ab;
    break;
  case Loss::fused:
    // compiled loss: the upcast is fused; bf16 logits saved, bf16 gradient produced.
    l.forward_bytes = ab;
    l.backward_bytes = 2.0 * ab;
    l.largest_tensor_bytes = ab;
    break;
  case Loss::chunked:
    // all chunks' logits are kept in a list; each chunk's loss runs separately
    l.largest_tensor_bytes = 4.0 / chunks;
    if (c.compile) {
      // Each chunk's compiled loss is its own autograd node (torchtune compiles
      // compute_cross_entropy, not the loss), and the engine runs all of them before any head
      // backward (the later-created node first). Each frees its saved bf16 logits as it makes
      // their bf16 gradient, so the logits' ab become the gradients' ab, with one chunk in
      // flight: its logits, its gradient and an fp32 working copy (docs/model.md, section 4).
      l.forward_bytes = ab;
      l.backward_bytes = ab + (ab + 4.0) / chunks;
      // Freeing earlier moves no fewer bytes: the logits are written and read and their
      // gradient written, with one fp32 chunk, as when all were counted live at once.
      l.traffic_bytes = 3.0 * ab + 4.0 / chunks;
      return l;
    }
    // every chunk keeps its fp32 log_softmax output; one fp32 copy at a time
    l.forward_bytes = ab + 4.0 + upcast / chunks;
    l.backward_bytes = 4.0 + 8.0 / chunks;
    break;
  case Loss::chunked_head: {
    // torchtitan's ChunkedCELoss (pytorch/torchtitan@1690e0ae:torchtitan/components/loss.py,
    // 8 chunks): per chunk the head's bf16 logits and their gradient (eager adds the fp32 copy,
    // log_softmax's output and its gradient), freed before the next chunk and before the
    // decoder's backward, which starts from the accumulated hidden-state gradient.
    const double per_chunk = 2.0 * ab + (c.compile ? 0.0 : 8.0 + upcast); // fp32: no copy
    l.forward_bytes = per_chunk / chunks;
    l.backward_bytes = 0.0;
    l.largest_tensor_bytes = (c.compile ? ab : 4.0) / chunks;
    l.traffic_bytes = per_chunk;
    return l;
  }
  case Loss::fused_linear:
    // Liger Kernel's fused linear cross-entropy: its chunks' logits, the gradients it makes in
    // forward and their size depend on the model and the tokens (memory_model.cpp,
    // fused_linear_chunk_tokens). Per logit it moves what a compiled loss does: the head writes
    // the chunk, the kernel reads it and writes its gradient in place.
    l.traffic_bytes = 3.0 * ab;
    return l;
  case Loss::count_: break;
  }
  l.traffic_bytes = l.forward_bytes + l.backward_bytes;
  return l;
}

LogitsMemory logits_memory(const ModelSpec& m, const TrainingConfig& c) {
  // Loss parallel under tensor parallelism: each rank holds its vocabulary slice of the logits.
  const double tv = local_tokens(c) * logits_vocab(m, c);
  const LogitsMemory per = logits_per_element(c);
  return {tv * per.forward_bytes, tv * per.backward_bytes, tv * per.largest_tensor_bytes,
          tv * per.traffic_bytes, tv * per.held_bytes};
}

} // namespace bwplan
