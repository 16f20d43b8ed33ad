// The step's memory as a maximum over phases (docs/model.md, "Phases"). Each phase lists which
// tensors are alive at that instant; the peak is the largest phase, never a sum of maxima.
#include "bwplan/memory_model.hpp"

#include <algorithm>
#include <cmath>

#include "bwplan/pipeline.hpp"
#include "bwplan/pytorch_defaults.hpp"

namespace bwplan {

namespace {

using C = MemoryComponent;

constexpr std::size_t idx(C c) {
  return static_cast<std::size_t>(c);
}
constexpr std::size_t idx(StepPhase p) {
  return static_cast<std::size_t>(p);
}

/// Parameter counts FSDP2 groups by: one unit per block, the rest in the root module.
struct Groups {
  double block = 0; ///< one block's parameters
  double blocks = 0;
  double root = 0;         ///< embeddings, final norm, output head
  double head = 0;         ///< final norm and output head (the embedding when tied)
  double block_linear = 0; ///< one block's matmul weights (quantizable)
  double total = 0;
  double largest_tensor = 0;
  // Fine-tuning: what has gradients (all of it for full training), and the NF4 base.
  double trainable_block = 0;
  double trainable = 0;
  double quantized_block = 0;
  double largest_quantized = 0;
};

Groups groups_of(const ModelFacts& f) {
  Groups g;
  g.trainable_block = f.trainable_block;
  g.trainable = f.trainable;
  g.quantized_block = f.quantized_block;
  g.largest_quantized = f.largest_quantized;
  g.block = static_cast<double>(f.counts.per_block);
  g.blocks = static_cast<double>(f.counts.blocks);
  g.root = f.root;
  g.head = f.head;
  g.block_linear = f.block_linear;
  g.total = static_cast<double>(f.counts.total);
  g.largest_tensor = f.largest_tensor;
  return g;
}

/// Extra bytes per block-weight element of a quantized weight copy kept from forward to
/// backward (Transformer Engine caches it; torchao re-quantizes per GEMM).
double cached_weight_bytes(Precision p, bool blackwell) {
  switch (p) {
  case Precision::fp8_tensorwise:
  case Precision::fp8_rowwise: return blackwell ? 1.0 : 2.0; // Hopper keeps a transpose too
  case Precision::mxfp8: return 2.0 * (1.0 + 1.0 / 32);      // row- and column-wise blocks
  case Precision::nvfp4: return 2.0 * (0.5 + 1.0 / 16);
  default: return 0.0;
  }
}

double optimizer_temp_bytes(const TrainingConfig& c, const ModelStates& s, const Groups& g,
                            double shard) {
  const double param_bytes = state_dtypes(c).param_bytes;
  if (c.optimizer_impl == OptimizerImpl::fused && c.optimizer != Optimizer::adamw_8bit) {
    return 0.0; // one kernel per tensor, no list-wide temporaries
  }
  switch (c.optimizer) {
  case Optimizer::adamw: // foreach: sqrt(exp_avg_sq) for every tensor at once
  case Optimizer::lion:  // sign(update) for every tensor
  case Optimizer::adafactor: return param_bytes * static_cast<double>(s.sharded_params);
  case Optimizer::adamw_8bit: return 3.0 * 4.0 * g.largest_tensor / shard; // per-tensor dequant
  case Optimizer::sgd: return 0.0; // in-place momentum update
  case Optimizer::count_: break;
  }
  return 0.0;
}

/// The allocator slack at a peak, split by what a pressed allocator can return (cap_reserved()).
struct Slack {
  double pools = 0; ///< stream pools and the gradients' pool: whole free segments at the peak
  double holes = 0; ///< the partly reused hole and the fixed-segments share: inside live segments
  [[nodiscard]] double total() const { return pools + holes; }
};

/// Memory the caching allocator holds beyond the live tensors at the peak (docs/model.md,
/// "Reserved memory"): FSDP2's reduce-scatter and all-gather streams keep their own pools (the
/// sharded gradients live in the reduce-scatter pool), so whatever those pools reached and do
/// not use at the peak stays reserved; and freeing the largest transient tensor leaves a hole
/// that later, differently sized allocations only partly reuse. Without expandable segments a
/// block freed inside a segment that still holds live ones cannot be merged with its neighbours
/// or returned, which holds a share of the allocated peak more.
Slack allocator_slack(const MemoryTerms& t, StepPhase peak_phase, double allocated,
                      double peak_gradients, double largest_logits) {
  const double fixed = t.fixed_segments_fraction * allocated;
  if (peak_phase == StepPhase::load) { // no stream pools, gradients or logits exist yet
    return {0.0, fixed + t.fragmentation_fraction * t.load_largest};
  }
  Slack slack;
  if (t.fsdp_streams) {
    const bool grads_live = peak_gradients > 0 && !t.no_sync;
    if (!grads_live) {
      slack.pools += t.gradients;
    }
    if (peak_phase != StepPhase::backward_block) {
      slack.pools += t.stream_pools;
    }
  }
  const double largest = std::max(largest_logits, t.rs_input);
  slack.holes = fixed + t.fragmentation_fraction * largest;
  return slack;
}

} // namespace

double fused_linear_chunk_tokens(double tokens, double vocab, double hidden) {
  if (!(tokens > 0) || !(vocab > 0) || !(hidden > 0)) {
    return 0.0;
  }
  const double inc = std::ceil(vocab / hidden);
  // triton.next_power_of_2: the smallest power of two at or above
  const double chunk = std::exp2(std::ceil(std::log2(std::ceil(tokens / inc))));
  return std::min(chunk, tokens);
}

Nf4QuantizeBytes nf4_quantize_bytes(Nf4Quantizer q, double elements) {
  constexpr double chunk_elements = 1024.0 * 1024.0; // torchao CHUNK_SIZE
  constexpr double compare_bytes = 2.0 * 16.0 * 2.0; // (value - nf4) and its abs, bf16 x 16 levels
  const double held = (2.0 + 2.0) * elements;        // bf16 input + block-scaled copy
  if (q == Nf4Quantizer::unchunked) {
    return {held + compare_bytes * elements, compare_bytes / 2.0 * elements};
  }
  // The loop fills a uint8 index per element; packing two per byte after it takes 2 x 0.5 bytes.
  const double chunk = std::min(elements, chunk_elements);
  return {held + std::max(elements + compare_bytes * chunk, 2.0 * elements), 2.0 * elements};
}

double phase_total(const ComponentBytes& c) {
  double t = 0;
  for (double v : c) {
    t += v;
  }
  return t;
}

MemoryEstimate estimate_memory(const ModelSpec& m, const TrainingConfig& c, const GpuSpec& gpu,
                               const MemoryConstants& k) {
  return estimate_memory(m, model_facts(m), c, gpu, k);
}

MemoryEstimate estimate_memory(const ModelSpec& m, const ModelFacts& f, const TrainingConfig& c,
                               const GpuSpec& gpu, const MemoryConstants& k) {
  return estimate_memory(memory_terms(m, f, c, gpu, k), c.micro_batch, c.grad_accum);
}

MemoryTerms memory_terms(const ModelSpec& m, const ModelFacts& f, const TrainingConfig& c,
                         const GpuSpec& gpu, const MemoryConstants& k) {
  return with_rank_slice(m, f, c.tp, c.ep, finetune_of(c), [&](const ModelFacts& slice) {
    return memory_terms_for_slice(m, slice, c, gpu, k);
  });
}

namespace {

/// One rank's terms: `m` and `local` are what it holds (the whole model, a tensor-parallel slice,
/// or a pipeline rank's blocks of either).
MemoryTerms rank_terms(const ModelSpec& m, const ModelFacts& local, const TrainingConfig& c,
                       const GpuSpec& gpu, const MemoryConstants& k, const PipelineRank& rank) {
  MemoryTerms t;
  // Pipeline parallelism: torchtitan does not reshard after forward under PP, and the schedule
  // turns off gradient sync and resharding after backward until the last micro-batch
  // (torch/distributed/pipelining/stage.py, backward_maybe_with_nosync): the stage's parameters
  // stay unsharded the whole step and its gradients accumulate unsharded, in the reduce dtype.
  const bool pipeline = c.pp > 1;
  const bool keep_unsharded = c.sharding == Sharding::grad_op || pipeline;
  const bool no_sync = reduces_once_per_step(c);
  t.pp = c.pp;
  t.pp_rank = rank.rank;
  t.pp_schedule = c.pp_schedule;
  const StateDtypes dt = state_dtypes(c);
  // Under tensor parallelism every figure below is one rank's slice of the model.
  const Groups g = groups_of(local);
  const double shard = static_cast<double>(effective_shard_group(c));
  const bool fsdp = c.sharding != Sharding::none;
  const bool offload = c.offload == Offload::cpu;
  // Tokens per sequence on this GPU, and the vocabulary its logits hold (a slice under loss
  // parallelism).
  t.seq_len = static_cast<double>(c.seq_len) / static_cast<double>(c.cp);
  t.vocab = rank.head ? logits_vocab(m, c) : 0.0;
  t.states = estimate_model_states(local, c);

  // Persistent states on the GPU (FSDP2 CPUOffloadPolicy moves all three to the host).
  t.parameters = offload ? 0.0 : t.states.parameters_bytes;
  t.optimizer_states = offload ? 0.0 : t.states.optimizer_bytes;
  t.gradients = offload ? 0.0 : t.states.gradients_bytes;
  // zero_grad(set_to_none) leaves no gradients during the first micro-batch's forward; later
  // micro-batches see them (sharded, or unsharded in reduce dtype with sync disabled).
  // With sync disabled FSDP2 accumulates unsharded gradients in the reduce dtype and
  // reduce-scatters them only after the last micro-batch.
  // Routed experts outside FSDP (expert_fsdp sharded with no expert FSDP group: NeMo Automodel's
  // MoE parallelizer passes them to fully_shard as ignored_params,
  // NVIDIA-NeMo/Automodel@77f1123997123e9e1198d7af6ac4b518b0ec141c:
  // nemo_automodel/components/moe/parallelizer.py apply_fsdp) are whole on their rank: never
  // gathered, so no copy when held in the compute dtype (else the forward's cast to it, which
  // the grouped GEMM saves, for every block); their gradients are autograd's, in the
  // parameters' dtype, accumulated in place and reduced by no FSDP collective.
  // They are trained: fine-tuning a mixture is refused (finetune_problem()).
  const bool outside = experts_outside_fsdp(c);
  const double experts_out = outside ? local.experts : 0.0;
  const double block_experts_out = outside ? local.block_experts : 0.0;
  const double expert_grads = dt.grad_bytes * experts_out;
  const double trainable_block_fsdp = g.trainable_block - block_experts_out;
  t.gradients_forward = {0.0, no_sync && fsdp
                                  ? dt.reduce_bytes * (g.trainable - experts_out) + expert_grads
                                  : t.gradients};
  const bool ddp = !fsdp && data_parallel_degree(c) > 1;
  if (ddp) {
    t.gradients_forward = {t.gradients, t.gradients}; // DDP allocates its buckets at construction
  }
  if (megatron_distributed_optimizer(c) && !offload) {
    // Megatron-Core's DDP under its distributed optimizer allocates one whole gradient buffer at
    // construction (megatron/core/distributed/distributed_data_parallel.py, its
    // param_and_grad_buffer) and accumulates into it: held from the first forward on.
    const double buffer = dt.reduce_bytes * g.trainable;
    t.gradients_forward = {buffer, buffer};
  }

  // FSDP working set (docs/model.md, "FSDP buffers").
  const double weight_bytes = dt.compute_bytes;
  // QLoRA gathers its base linears as NF4 and dequantizes one at a time for its matmul.
  const double nf4_saving = (weight_bytes - k_nf4_bytes_per_element) * g.quantized_block;
  const double block_unsharded =
      (c.fp8_all_gather ? (g.block - g.block_linear) * weight_bytes + g.block_linear
                        : g.block * weight_bytes) -
      nf4_saving - block_experts_out * (c.fp8_all_gather ? 1.0 : weight_bytes);
  const double expert_casts =
      dt.param_bytes == weight_bytes ? 0.0 : experts_out * weight_bytes; // outside FSDP only
  const double dequantized = weight_bytes * g.largest_quantized;
  const bool tuning = c.finetune != Finetune::full; // the head and embeddings are frozen
  double root = 0, kept_blocks = 0, bwd_buffers = 0, root_grads = 0;
  if (fsdp) {
    // Kept unsharded from forward to the end of backward: the root unit (2024 wrapping), or
    // norm + output (per-module wrapping, where the embeddings reshard after forward).
    const bool legacy = c.fsdp_wrap == FsdpWrap::root;
    root = weight_bytes * (legacy ? g.root : g.head);
    if (keep_unsharded) {
      // never resharded between forward and backward
      kept_blocks =
          (g.blocks - experts_out) * weight_bytes - nf4_saving * static_cast<double>(m.layers);
    } else if (legacy) {
      kept_blocks = block_unsharded; // torchtitan 2024 did not reshard the last block
    }
    kept_blocks += expert_casts;
    // Backward: current + prefetched block, the block's unsharded gradients, and the
    // reduce-scatter inputs of this block and the previous one.
    bwd_buffers = 2.0 * block_unsharded + trainable_block_fsdp * weight_bytes +
                  2.0 * dt.reduce_bytes * trainable_block_fsdp + dequantized;
    // A single micro-batch's backward adds each block's expert gradients as it frees that
    // block's gathered weights (or casts): past the phase's count only by what they outgrow.
    const double freed_in_backward = keep_unsharded ? kept_blocks : expert_casts;
    t.expert_grads_backward = std::max(0.0, expert_grads - freed_in_backward);
    // During backward only the output head's gradient exists; the embedding's comes last.
    root_grads = tuning ? 0.0 : weight_bytes * g.head;
  } else if (tuning) {
    bwd_buffers = dequantized; // the base is held in bf16 (or NF4) already: no autocast copies
  } else if (is_mixed_precision(c.precision)) {
    root = weight_bytes * g.total; // autocast's bf16 weight copies, saved for backward
  }
  if (ddp) {
    bwd_buffers += 2.0 * k_ddp_bucket_bytes; // two of DDP's gradient buckets in flight
  }
  t.fsdp_forward = root + kept_blocks;
  t.fsdp_backward_block = root + root_grads + (keep_unsharded ? kept_blocks : 0.0) + bwd_buffers;
  // End of backward: the root unit's unsharded gradients and their reduce-scatter input.
  t.fsdp_backward_end = fsdp && !tuning ? root + (weight_bytes + dt.reduce_bytes) * g.root : root;

  // Low-precision weight copies cached from forward to backward (TE only): a bf16 weight's
  // quantized workspace, kept for every block. FP8 primary weights (fp8_all_gather: Megatron's
  // fp8_param_gather) are their own workspace, gathered and freed with the block
  // (NVIDIA/TransformerEngine@v2.3:transformer_engine/pytorch/module/base.py,
  // get_weight_workspace).
  const bool fp8_primary_weights = c.fp8_all_gather && c.sharding != Sharding::none;
  if (is_low_precision(c.precision) && c.fp8_backend == Fp8Backend::te && !fp8_primary_weights) {
    // Blackwell's FP8 GEMMs take either orientation of one tensor; Hopper needs a transpose.
    const bool blackwell = gpu.dense_flops_per_s.mxfp8 > 0;
    t.low_precision = cached_weight_bytes(c.precision, blackwell) * g.block_linear *
                      static_cast<double>(m.layers);
  }

  t.saved = saved_activation_factors(m, c);
  t.saved.second *= k.activation_scale;
  // The backward starts at the last block; under selective-layer checkpointing block i (1-based)
  // is wrapped when i % ac_every == 0 (torchtitan's _apply_layer_sac), so the last one is
  // recomputed as under full checkpointing when L % ac_every == 0 (every block at ac_every 1).
  const bool last_wrapped = m.layers % std::max<std::int64_t>(1, c.ac_every) == 0;
  const BlockActivations first_block = block_activations(
      m, c,
      c.activation_checkpointing == ActivationCheckpointing::selective_layer
          ? (last_wrapped ? ActivationCheckpointing::full : ActivationCheckpointing::none)
          : c.activation_checkpointing);
  t.block_backward_per_token =
      (first_block.recompute_per_token + first_block.grad_work_per_token) * k.activation_scale;
  t.logits = logits_per_element(c);
  t.logits.forward_bytes += k.extra_logit_bytes;
  t.logits.backward_bytes += k.extra_logit_bytes;
  if (c.loss == Loss::chunked_head && c.trainer == Trainer::torchtitan && rank.head) {
    // ChunkedCELoss (pytorch/torchtitan@1690e0aeafa0a631251fd522b870112343d8bf77:
    // torchtitan/components/loss.py, unchanged through @3c1999e6) runs each chunk's backward
    // inside the loss. The head stays unsharded with its gradient sync off until the last chunk,
    // so FSDP2 keeps its unsharded gradient across the chunks in the reduce dtype
    // (FSDPParam.to_accumulated_grad_if_needed / accumulate_unsharded_grad_if_needed), beside
    // each chunk's new gradient in the compute dtype; the chunks' hidden-state gradients fill a
    // preallocated fp32 buffer (GradAccumulator); a micro-batch of more than one sequence copies
    // its chunks (.contiguous() on a strided split).
    const bool per_module_head = fsdp && c.fsdp_wrap == FsdpWrap::per_module && !tuning;
    t.loss_head_bytes = per_module_head ? (dt.reduce_bytes + weight_bytes) * g.head : 0.0;
    t.loss_hidden_per_token = 4.0 * static_cast<double>(m.hidden);
    t.loss_chunk_copy_per_token = weight_bytes * static_cast<double>(m.hidden);
  }
  if (c.loss == Loss::fused_linear && rank.head) {
    // Liger Kernel's fused linear cross-entropy
    // (linkedin/Liger-Kernel@05b43a14913ced3776aa3fc50020089b8c0d63c1:
    // src/liger_kernel/ops/fused_linear_cross_entropy.py) runs the head, the loss and the head's
    // backward in forward, chunk by chunk: it allocates its input's gradient (zeros_like(_input))
    // and the weight's (zeros_like(weight), none for a frozen head) and an fp32 per-token loss,
    // and per chunk the head's logits in the compute dtype, over which the kernel writes their
    // gradient in place (no fp32 copy). Its backward hands both gradients on (scaled in place).
    t.fused_linear_hidden = static_cast<double>(m.hidden);
    t.fused_linear_chunk_bytes = weight_bytes; // one chunk's logits: the largest transient
    t.fused_linear_held_per_token = weight_bytes * static_cast<double>(m.hidden) + 4.0;
    t.fused_linear_head_grad = tuning ? 0.0 : weight_bytes * g.head;
  }
  if (c.head_fp32 && rank.head && weight_bytes < 4.0) {
    // CastLinear (pytorch/torchtitan@55619bccdf6e73ee0d0b9c4333830cd1a18405d2:
    // torchtitan/experiments/rl/models/cast_linear.py) casts the weight in forward; F.linear saves
    // that fp32 copy for backward, whose weight gradient is fp32 before autograd casts it to the
    // parameter's dtype. A frozen head has no weight gradient. An fp32 weight is its own cast
    // (Tensor.to returns it): nothing more.
    t.head_fp32_copy = 4.0 * g.head;
    t.head_fp32_grad = tuning ? 0.0 : 4.0 * g.head;
    t.head_fp32_input_per_token = 4.0 * static_cast<double>(m.hidden);
    t.head_fp32_in_loss = c.loss == Loss::chunked_head;
  }
  const double optimizer_temp = optimizer_temp_bytes(c, t.states, g, shard);
  t.optimizer_temp = offload ? 0.0 : optimizer_temp;

  t.fsdp_streams = fsdp && !offload;
  t.no_sync = no_sync;
  t.rs_input = dt.reduce_bytes * trainable_block_fsdp;
  t.stream_pools = 2.0 * t.rs_input + 2.0 * block_unsharded;
  t.fragmentation_fraction = k.fragmentation_fraction;
  t.expandable_segments = c.alloc_segments == AllocSegments::expandable;
  t.fixed_segments_fraction = t.expandable_segments ? 0.0 : k.fixed_segments_fraction;
  // HSDP's replicate group is a second communicator, unless it replicates nothing (full sharding)
  const bool replicas = c.sharding == Sharding::hybrid && !hybrid_replicates_nothing(c);
  const double communicators = (fsdp || ddp ? (replicas ? 2.0 : 1.0) : 0.0) +
                               (c.tp > 1 ? 1.0 : 0.0) + (c.cp > 1 ? 1.0 : 0.0) +
                               (pipeline ? 1.0 : 0.0) +
                               // expert parallelism: the all-to-all group and, when the shard
                               // group is larger, the experts' own FSDP group (efsdp)
                               (c.ep > 1 ? (shard > static_cast<double>(c.ep) ? 2.0 : 1.0) : 0.0);
  t.runtime_bytes = k.cuda_context_bytes + communicators * k.nccl_bytes_per_communicator;
  t.stack_fixed = k.fixed_bytes;
  if (c.finetune == Finetune::qlora) {
    // Every rank quantizes each whole (unsharded) base linear as it loads, one at a time, beside
    // the states already loaded (torchtune's load_from_full_model_state_dict and single-device
    // load_state_dict both call to_nf4 on the GPU).
    const Nf4QuantizeBytes q = nf4_quantize_bytes(c.nf4_quantizer, g.largest_quantized);
    t.load_transient = q.peak;
    t.load_largest = q.largest;
  }
  t.capacity_bytes = gpu.allocatable_bytes(k.driver_reserved_bytes);
  t.usable_bytes = t.capacity_bytes * (1.0 - k.headroom_fraction);
  t.band = memory_band(m, c, gpu, k);
  if (offload) {
    // Pinned host copies of each GPU's states, plus the CPU optimizer's temporaries.
    t.host_bytes_per_node =
        static_cast<double>(c.gpus_per_node) * (t.states.total_bytes() + optimizer_temp);
  }
  return t;
}

} // namespace

MemoryTerms memory_terms_for_slice(const ModelSpec& m, const ModelFacts& local,
                                   const TrainingConfig& c, const GpuSpec& gpu,
                                   const MemoryConstants& k) {
  if (c.pp <= 1) {
    return rank_terms(m, local, c, gpu, k, pipeline_rank(m, c, 0));
  }
  MemoryTerms first;
  for (const PipelineRank& r : pipeline_peak_ranks(m, c)) {
    MemoryTerms t =
        rank_terms(pipeline_stage_model(m, r), pipeline_stage_facts(m, local, r), c, gpu, k, r);
    if (r.rank == 0) {
      first = std::move(t);
    } else {
      first.other_ranks.push_back(std::move(t));
    }
  }
  return first;
}

namespace {

using Phases = std::array<ComponentBytes, static_cast<std::size_t>(StepPhase::count_)>;

/// Token-blocks whose saved activations a rank holds at once: the micro-batch's `tokens` in
/// t.saved.first blocks, for every micro-batch a pipeline rank keeps in flight.
double held_token_blocks(const MemoryTerms& t, double tokens, std::int64_t grad_accum) {
  return tokens * t.saved.first *
         micro_batches_in_flight(t.pp_schedule, t.pp, t.pp_rank, grad_accum);
}

/// Logit elements in one chunk of Liger's fused linear cross-entropy over a micro-batch's
/// `tokens` (0 under another loss): the loss phase's one live chunk and the allocator's largest
/// transient.
double fused_linear_chunk_logits(const MemoryTerms& t, double tokens) {
  return t.fused_linear_hidden > 0
             ? fused_linear_chunk_tokens(tokens, t.vocab, t.fused_linear_hidden) * t.vocab
             : 0.0;
}

/// Each phase's live tensors for this micro-batch and grad-accum: the one place both the full
/// estimate and the search's fast path read them from. `logits_extra` bytes per logit element
/// are added where the logits are alive (the band's unfused-loss term; 0 for the estimate).
Phases phases_of(const MemoryTerms& t, double tokens, std::int64_t grad_accum,
                 double logits_extra) {
  const double grads_fwd = t.gradients_forward[grad_accum > 1 ? 1 : 0];
  const double grads_bwd = grads_fwd + (grad_accum > 1 ? 0.0 : t.expert_grads_backward);
  // Pipeline ranks hold several micro-batches' activations; GPipe's last stage their logits too.
  const double saved = held_token_blocks(t, tokens, grad_accum) * t.saved.second;
  // GPipe's last stage runs every micro-batch's forward, loss included, before any backward.
  const double loss_batches =
      t.pp > 1 && t.pp_schedule == PipelineSchedule::gpipe ? static_cast<double>(grad_accum) : 1.0;
  const double logit_elements = tokens * t.vocab * loss_batches;
  // An fp32 head's saved weight copy and input: each micro-batch's until its backward, or one
  // chunk's inside a chunked-head loss, beside the fp32 weight gradient there.
  const double head_saved =
      t.head_fp32_in_loss
          ? t.head_fp32_copy + t.head_fp32_grad + tokens / 8.0 * t.head_fp32_input_per_token
          : (t.head_fp32_copy + tokens * t.head_fp32_input_per_token) * loss_batches;
  const double head_fp32_fwd = head_saved;
  const double head_fp32_bwd = t.head_fp32_in_loss ? 0.0 : head_saved + t.head_fp32_grad;
  const double params = t.parameters, states = t.optimizer_states;
  const double chunk_loop =
      tokens * (t.loss_hidden_per_token + (tokens > t.seq_len ? t.loss_chunk_copy_per_token : 0.0));
  // Liger's fused linear cross-entropy: its gradients from the loss to the decoder's backward,
  // and one chunk's logits (the last) beside them in the loss.
  const double fused_linear_held =
      t.fused_linear_hidden > 0 ? tokens * t.fused_linear_held_per_token + t.fused_linear_head_grad
                                : 0.0;
  const double fused_linear_chunk =
      fused_linear_chunk_logits(t, tokens) * (t.fused_linear_chunk_bytes + logits_extra);
  const double logits_fwd = logit_elements * (t.logits.forward_bytes + logits_extra) + chunk_loop +
                            fused_linear_held + fused_linear_chunk;
  // The output head's gradient appears only after the logits' fp32 tensors are freed.
  const double logits_bwd =
      logit_elements * (t.logits.backward_bytes + logits_extra) + fused_linear_held;
  // A loop that keeps its logits holds the last micro-batch's (one name, bound again each
  // forward) from here to the next micro-batch's loss.
  const double held = tokens * t.vocab * t.logits.held_bytes;
  const double block_work = saved + tokens * t.block_backward_per_token;
  const double grads_end = std::max(grads_fwd, t.gradients);
  // Columns in MemoryComponent's order: parameters, gradients, optimizer states, FSDP buffers,
  // activations, logits, low precision, optimizer temporaries, the stack's fixed buffers.
  static_assert(idx(C::parameters) == 0 && idx(C::gradients) == 1 &&
                idx(C::optimizer_states) == 2 && idx(C::fsdp_buffers) == 3 &&
                idx(C::activations) == 4 && idx(C::logits) == 5 && idx(C::low_precision) == 6 &&
                idx(C::optimizer_temp) == 7 && idx(C::stack_fixed) == 8 && idx(C::count_) == 9);
  static_assert(idx(StepPhase::load) == 0 && idx(StepPhase::forward_end) == 1 &&
                idx(StepPhase::backward_start) == 2 && idx(StepPhase::backward_block) == 3 &&
                idx(StepPhase::backward_end) == 4 && idx(StepPhase::optimizer_step) == 5 &&
                idx(StepPhase::count_) == 6);
  const double fx = t.stack_fixed;
  // The load holds the parameters and, for QLoRA, the NF4 quantizer's working memory (counted
  // as low precision); the optimizer's states appear at its first step.
  return {{
      {params, 0.0, 0.0, 0.0, 0.0, 0.0, t.load_transient, 0.0, fx},
      {params, grads_fwd, states, t.fsdp_forward + t.loss_head_bytes, saved,
       logits_fwd + head_fp32_fwd, t.low_precision, 0.0, fx},
      {params, grads_fwd, states, t.fsdp_forward, saved, logits_bwd + head_fp32_bwd,
       t.low_precision, 0.0, fx},
      {params, grads_bwd, states, t.fsdp_backward_block, block_work, held, t.low_precision, 0.0,
       fx},
      {params, grads_end, states, t.fsdp_backward_end, 0.0, held, 0.0, 0.0, fx},
      {params, t.gradients, states, 0.0, 0.0, held, 0.0, t.optimizer_temp, fx},
  }};
}

/// The reserved peak the caching allocator reaches: `reserved` while the device has room for it.
/// Past that, when a cudaMalloc fails the allocator frees its cached blocks and retries
/// (pytorch/pytorch@001074d25084fdb87a799823e395a50f5ec044d3:c10/cuda/CUDACachingAllocator.cpp,
/// the allocator's header comment and Note [Expandable Segments]). With expandable segments every
/// free page goes back, so the reserved peak stops at what the device has left, never below
/// `allocated`. With fixed segments only cached blocks that are not split, whole free segments,
/// go back ("free all cached blocks that are not split and retry", the same header comment): the
/// stream pools' and the gradients' segments, free at the peak, do; the holes inside segments
/// that still hold live blocks may not, so the floor is `allocated` plus what stays of them:
/// `holes`, which peak_of() passes as 0 (the estimate: all go back) and band_peak() as the
/// estimate's holes scaled by the upper edge (none go back).
double cap_reserved(const MemoryTerms& t, double allocated, double holes, double reserved) {
  const double floor = t.expandable_segments ? allocated : allocated + holes;
  return std::min(reserved, std::max(floor, t.capacity_bytes - t.runtime_bytes));
}

/// The allocated peak over `ph`, its phase, and the reserved peak (allocated + allocator slack).
struct Peak {
  double allocated = 0;
  double reserved = 0;
  double uncapped_reserved = 0; ///< with room to spare (cap_reserved())
  double holes = 0;             ///< Slack::holes at the allocated peak
  StepPhase phase = StepPhase::forward_end;
  bool saved_bytes_added = false; ///< band_peak(): the per-token-block bytes raised the edge
};
Peak peak_of(const MemoryTerms& t, const Phases& ph, double tokens) {
  Peak k;
  // Liger's one chunk of logits is the largest transient at any micro-batch's tokens.
  const double largest_logits =
      t.fused_linear_hidden > 0 ? fused_linear_chunk_logits(t, tokens) * t.fused_linear_chunk_bytes
                                : tokens * t.vocab * t.logits.largest_tensor_bytes;
  for (std::size_t p = 0; p < ph.size(); ++p) {
    const double total = phase_total(ph[p]);
    const auto phase = static_cast<StepPhase>(p);
    // Nothing empties the cache within a step, so the reserved peak is the largest of every
    // phase's live bytes with the slack the allocator holds beside them then, not only the
    // allocated peak's: a backward peak, whose stream pools are live, can follow a forward end
    // that reserved more. The holes a pressed allocator cannot return are the allocated peak's.
    const Slack slack = allocator_slack(t, phase, total, ph[p][idx(C::gradients)], largest_logits);
    if (total > k.allocated) {
      k.allocated = total;
      k.phase = phase;
      k.holes = slack.holes;
    }
    k.uncapped_reserved = std::max(k.uncapped_reserved, total + slack.total());
  }
  // The estimate takes a pressed allocator returning its holes too: the holes are what an
  // unpressed one accumulates, and the only pressed fixed-segments runs measured kept about
  // 3 GiB of the 14.4 counted (docs/model.md section 7). The band's upper edge keeps them.
  k.reserved = cap_reserved(t, k.allocated, 0.0, k.uncapped_reserved);
  return k;
}

Peak peak_of(const MemoryTerms& t, std::int64_t micro_batch, std::int64_t grad_accum,
             double logits_extra) {
  const double tokens = static_cast<double>(micro_batch) * t.seq_len;
  return peak_of(t, phases_of(t, tokens, grad_accum, logits_extra), tokens);
}

/// The band's upper edges of the allocated and reserved peaks, from the `estimate`'s: the
/// unfused-loss bytes raise the allocated peak (if a logits phase becomes the peak, by the
/// difference), which the reserved peak takes on with the estimate's own slack; then the relative
/// edge, the bytes per saved token and block (every block's, for each micro-batch in flight: in
/// the phases that hold saved activations, so a peak after the backward, which holds none, gains
/// none) and the fixed bytes.
Peak band_peak(const MemoryTerms& t, std::int64_t micro_batch, std::int64_t grad_accum,
               const Peak& estimate) {
  const double scale = 1.0 + t.band.high_fraction;
  double allocated = estimate.allocated;
  double scaled = estimate.allocated * scale; // the largest phase's scaled total, extra included
  if (t.band.high_bytes_per_logit > 0 || t.band.high_bytes_per_token_block > 0) {
    const double tokens = static_cast<double>(micro_batch) * t.seq_len;
    const double held =
        held_token_blocks(t, tokens, grad_accum) * t.band.high_bytes_per_token_block;
    const Phases ph = phases_of(t, tokens, grad_accum, t.band.high_bytes_per_logit);
    allocated = 0;
    scaled = 0;
    for (const ComponentBytes& phase : ph) {
      const double total = phase_total(phase);
      allocated = std::max(allocated, total);
      scaled = std::max(scaled, total * scale + (phase[idx(C::activations)] > 0 ? held : 0.0));
    }
  }
  const double reserved = estimate.uncapped_reserved + (allocated - estimate.allocated);
  const double added = t.band.high_bytes;
  const double allocated_high = scaled + added;
  const double reserved_high = reserved * scale + (scaled - allocated * scale) + added;
  const double holes_high = estimate.holes * scale;
  return {allocated_high, cap_reserved(t, allocated_high, holes_high, reserved_high),
          reserved_high,  holes_high,
          estimate.phase, scaled > allocated * scale};
}

} // namespace

namespace {

/// The rank of `t` (itself or one of its other_ranks) with the highest upper edge, and its two
/// figures: the estimate and the search's fast path both choose with it.
struct FullestRank {
  const MemoryTerms* terms = nullptr;
  DeviceBytes bytes;
};

DeviceBytes rank_device_bytes(const MemoryTerms& t, std::int64_t micro_batch,
                              std::int64_t grad_accum) {
  const Peak estimate = peak_of(t, micro_batch, grad_accum, 0.0);
  return {estimate.reserved + t.runtime_bytes,
          band_peak(t, micro_batch, grad_accum, estimate).reserved + t.runtime_bytes};
}

FullestRank fullest_rank(const MemoryTerms& t, std::int64_t micro_batch, std::int64_t grad_accum) {
  FullestRank f{&t, rank_device_bytes(t, micro_batch, grad_accum)};
  for (const MemoryTerms& other : t.other_ranks) {
    const DeviceBytes b = rank_device_bytes(other, micro_batch, grad_accum);
    if (b.required_high > f.bytes.required_high) {
      f = {&other, b};
    }
  }
  return f;
}

MemoryEstimate rank_estimate(const MemoryTerms& t, std::int64_t micro_batch,
                             std::int64_t grad_accum) {
  MemoryEstimate e;
  e.states = t.states;
  e.pipeline_rank = t.pp_rank;
  const double tokens = static_cast<double>(micro_batch) * t.seq_len;
  e.phases = phases_of(t, tokens, grad_accum, 0.0);
  const Peak peak = peak_of(t, e.phases, tokens);
  e.peak_allocated_bytes = peak.allocated;
  e.peak_phase = peak.phase;
  e.peak_reserved_bytes = peak.reserved;
  e.runtime_bytes = t.runtime_bytes;
  e.device_bytes_required = e.peak_reserved_bytes + e.runtime_bytes;
  e.allocator_retries = peak.reserved < peak.uncapped_reserved;
  const Peak high = band_peak(t, micro_batch, grad_accum, peak);
  e.peak_allocated_low_bytes = e.peak_allocated_bytes * (1.0 - t.band.low_fraction);
  e.peak_allocated_high_bytes = high.allocated;
  e.peak_reserved_low_bytes = e.peak_reserved_bytes * (1.0 - t.band.low_fraction);
  e.peak_reserved_high_bytes = high.reserved;
  e.device_bytes_required_high = e.peak_reserved_high_bytes + e.runtime_bytes;
  e.allocator_retries_high = high.reserved < high.uncapped_reserved;
  e.band_widened = t.band.widened;
  if (!high.saved_bytes_added) { // a peak after the backward: the saved bytes did not widen it
    e.band_widened &= ~bit(Widening::mixture_checkpointing);
  }
  e.capacity_bytes = t.capacity_bytes;
  e.usable_bytes = t.usable_bytes;
  e.host_bytes_per_node = t.host_bytes_per_node;
  return e;
}

} // namespace

MemoryEstimate estimate_memory(const MemoryTerms& t, std::int64_t micro_batch,
                               std::int64_t grad_accum) {
  return rank_estimate(*fullest_rank(t, micro_batch, grad_accum).terms, micro_batch, grad_accum);
}

double device_bytes_required(const MemoryTerms& t, std::int64_t micro_batch,
                             std::int64_t grad_accum) {
  if (t.other_ranks.empty()) { // the bisection's probe: the estimate's peak only
    return peak_of(t, micro_batch, grad_accum, 0.0).reserved + t.runtime_bytes;
  }
  return device_bytes(t, micro_batch, grad_accum).required;
}

double device_bytes_required_high(const MemoryTerms& t, std::int64_t micro_batch,
                                  std::int64_t grad_accum) {
  return device_bytes(t, micro_batch, grad_accum).required_high;
}

DeviceBytes device_bytes(const MemoryTerms& t, std::int64_t micro_batch, std::int64_t grad_accum) {
  return fullest_rank(t, micro_batch, grad_accum).bytes;
}

} // namespace bwplan
