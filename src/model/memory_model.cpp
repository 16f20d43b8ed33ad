// The step's memory as a maximum over phases (docs/model.md, "Phases"). Each phase lists which
// tensors are alive at that instant; the peak is the largest phase, never a sum of maxima.
#include "bwplan/memory_model.hpp"

#include <algorithm>

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
};

Groups groups_of(const ModelFacts& f) {
  Groups g;
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
  const double param_bytes = state_dtypes(c.precision).param_bytes;
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

/// Memory the caching allocator holds beyond the live tensors at the peak (docs/model.md,
/// "Reserved memory"): FSDP2's reduce-scatter and all-gather streams keep their own pools (the
/// sharded gradients live in the reduce-scatter pool), so whatever those pools reached and do
/// not use at the peak stays reserved; and freeing the largest transient tensor leaves a hole
/// that later, differently sized allocations only partly reuse.
double allocator_slack(const MemoryEstimate& e, const TrainingConfig& c, const MemoryConstants& k,
                       bool fsdp_streams, double sharded_grads, double block_unsharded,
                       const LogitsMemory& logits, double rs_input) {
  double slack = 0;
  if (fsdp_streams) {
    const ComponentBytes& peak = e.at_peak();
    const bool grads_live =
        peak[idx(C::gradients)] > 0 && c.grad_accum_mode != GradAccumMode::no_sync;
    if (!grads_live) {
      slack += sharded_grads;
    }
    if (e.peak_phase != StepPhase::backward_block) {
      slack += 2.0 * rs_input + 2.0 * block_unsharded;
    }
  }
  const double largest = std::max(logits.largest_tensor_bytes, rs_input);
  return slack + k.fragmentation_fraction * largest;
}

} // namespace

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
  const double capacity_bytes = gpu.memory_bytes;
  MemoryEstimate e;
  const StateDtypes dt = state_dtypes(c.precision);
  const Groups g = groups_of(f);
  const double shard = static_cast<double>(effective_shard_group(c));
  const bool fsdp = c.sharding != Sharding::none;
  const bool offload = c.offload == Offload::cpu;
  const double tokens = static_cast<double>(c.micro_batch) * static_cast<double>(c.seq_len);
  e.states = estimate_model_states(f, c);

  // Persistent states on the GPU (FSDP2 CPUOffloadPolicy moves all three to the host).
  const double params = offload ? 0.0 : e.states.parameters_bytes;
  const double optim = offload ? 0.0 : e.states.optimizer_bytes;
  const double grads_full = offload ? 0.0 : e.states.gradients_bytes;
  // zero_grad(set_to_none) leaves no gradients during the first micro-batch's forward; later
  // micro-batches see them (sharded, or unsharded in reduce dtype with sync disabled).
  double grads_fwd = 0;
  if (c.grad_accum > 1) {
    // With sync disabled FSDP2 accumulates unsharded gradients in the reduce dtype and
    // reduce-scatters them only after the last micro-batch.
    grads_fwd = c.grad_accum_mode == GradAccumMode::no_sync && fsdp ? dt.reduce_bytes * g.total
                                                                    : grads_full;
  }
  const bool ddp = !fsdp && c.gpus > 1;
  if (ddp) {
    grads_fwd = grads_full; // DDP allocates its gradient buckets at construction
  }

  // FSDP working set (docs/model.md, "FSDP buffers").
  const double weight_bytes = dt.compute_bytes;
  const double block_unsharded = c.fp8_all_gather
                                     ? (g.block - g.block_linear) * weight_bytes + g.block_linear
                                     : g.block * weight_bytes;
  double root = 0, kept_blocks = 0, bwd_buffers = 0, root_grads = 0;
  if (fsdp) {
    // Kept unsharded from forward to the end of backward: the root unit (2024 wrapping), or
    // norm + output (per-module wrapping, where the embeddings reshard after forward).
    const bool legacy = c.fsdp_wrap == FsdpWrap::root;
    root = weight_bytes * (legacy ? g.root : g.head);
    if (c.sharding == Sharding::grad_op) {
      kept_blocks = g.blocks * weight_bytes; // never resharded between forward and backward
    } else if (legacy) {
      kept_blocks = block_unsharded; // torchtitan 2024 did not reshard the last block
    }
    // Backward: current + prefetched block, the block's unsharded gradients, and the
    // reduce-scatter inputs of this block and the previous one.
    bwd_buffers = 2.0 * block_unsharded + g.block * weight_bytes + 2.0 * dt.reduce_bytes * g.block;
    // During backward only the output head's gradient exists; the embedding's comes last.
    root_grads = weight_bytes * g.head;
  } else if (c.precision != Precision::fp32 && c.precision != Precision::bf16_pure) {
    root = weight_bytes * g.total; // autocast's bf16 weight copies, saved for backward
  }
  if (ddp) {
    bwd_buffers += 2.0 * 25e6; // DDP's 25 MB gradient buckets in flight (bucket_cap_mb)
  }

  // Low-precision weight copies cached from forward to backward (TE only).
  double low_precision = 0;
  if (is_low_precision(c.precision) && c.fp8_backend == Fp8Backend::te) {
    // Blackwell's FP8 GEMMs take either orientation of one tensor; Hopper needs a transpose.
    const bool blackwell = gpu.dense_flops_per_s.mxfp8 > 0;
    low_precision = cached_weight_bytes(c.precision, blackwell) * g.block_linear *
                    static_cast<double>(m.layers);
  }

  const double saved = saved_activation_bytes(m, c);
  const BlockActivations first_block = block_activations(
      m, c,
      c.activation_checkpointing == ActivationCheckpointing::selective_layer
          ? ActivationCheckpointing::none // the last block is not wrapped unless L % N == 0
          : c.activation_checkpointing);
  const double block_backward =
      tokens * (first_block.recompute_per_token + first_block.grad_work_per_token);
  const LogitsMemory logits = logits_memory(m, c);

  auto& fe = e.phases[idx(StepPhase::forward_end)];
  fe[idx(C::parameters)] = params;
  fe[idx(C::optimizer_states)] = optim;
  fe[idx(C::gradients)] = grads_fwd;
  fe[idx(C::fsdp_buffers)] = root + kept_blocks;
  fe[idx(C::activations)] = saved;
  fe[idx(C::logits)] = logits.forward_bytes;
  fe[idx(C::low_precision)] = low_precision;

  auto& bs = e.phases[idx(StepPhase::backward_start)];
  bs = fe;
  bs[idx(C::logits)] = logits.backward_bytes;
  // The output head's gradient appears only after the logits' fp32 tensors are freed.

  auto& bb = e.phases[idx(StepPhase::backward_block)];
  bb = fe;
  bb[idx(C::logits)] = 0;
  bb[idx(C::fsdp_buffers)] =
      root + root_grads + (c.sharding == Sharding::grad_op ? kept_blocks : 0.0) + bwd_buffers;
  bb[idx(C::activations)] = saved + block_backward;

  auto& be = e.phases[idx(StepPhase::backward_end)];
  be[idx(C::parameters)] = params;
  be[idx(C::optimizer_states)] = optim;
  be[idx(C::gradients)] = std::max(grads_fwd, grads_full);
  // End of backward: the root unit's unsharded gradients and their reduce-scatter input.
  be[idx(C::fsdp_buffers)] = fsdp ? root + (weight_bytes + dt.reduce_bytes) * g.root : root;
  be[idx(C::low_precision)] = 0;

  auto& op = e.phases[idx(StepPhase::optimizer_step)];
  op[idx(C::parameters)] = params;
  op[idx(C::optimizer_states)] = optim;
  op[idx(C::gradients)] = grads_full;
  op[idx(C::optimizer_temp)] = offload ? 0.0 : optimizer_temp_bytes(c, e.states, g, shard);

  for (std::size_t p = 0; p < e.phases.size(); ++p) {
    const double t = phase_total(e.phases[p]);
    if (t > e.peak_allocated_bytes) {
      e.peak_allocated_bytes = t;
      e.peak_phase = static_cast<StepPhase>(p);
    }
  }
  e.peak_reserved_bytes =
      e.peak_allocated_bytes + allocator_slack(e, c, k, fsdp && !offload, grads_full,
                                               block_unsharded, logits, dt.reduce_bytes * g.block);
  const double communicators = fsdp || ddp ? (c.sharding == Sharding::hybrid ? 2.0 : 1.0) : 0.0;
  e.runtime_bytes = k.cuda_context_bytes + communicators * k.nccl_bytes_per_communicator;
  e.device_bytes_required = e.peak_reserved_bytes + e.runtime_bytes;
  e.capacity_bytes = capacity_bytes;
  e.usable_bytes = capacity_bytes * (1.0 - k.headroom_fraction);
  if (offload) {
    // Pinned host copies of each GPU's states, plus the CPU optimizer's temporaries.
    e.host_bytes_per_node = static_cast<double>(c.gpus_per_node) *
                            (e.states.total_bytes() + optimizer_temp_bytes(c, e.states, g, shard));
  }
  return e;
}

} // namespace bwplan
