// One FSDP2 training step's time (docs/time-model.md): matmul and attention FLOPs at a modelled
// fraction of peak, elementwise and quantization work at HBM bandwidth, ring collectives over
// NVLink or the network, and the optimizer streaming its sharded states through HBM.
#include "bwplan/time_model.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "bwplan/memory_model.hpp"
#include "bwplan/pipeline.hpp"
#include "bwplan/pytorch_defaults.hpp"

namespace bwplan {

namespace {

double as_double(std::int64_t v) {
  return static_cast<double>(v);
}

/// The share of the forward that activation checkpointing runs again (full: 1, every N-th
/// block: 1 / N, none: 0).
double recomputed_share(const ModelSpec& m, const TrainingConfig& c) {
  return as_double(recomputed_blocks(m, c)) / as_double(m.layers);
}

/// Parameter sums the time model needs, in elements.
struct Weights {
  double blocks = 0;          ///< every block parameter
  double per_block = 0;       ///< one block's parameters
  double block_matrices = 0;  ///< every block matmul weight (quantized, fp8 all-gathered)
  double block_rows_cols = 0; ///< one block's sum of rows + cols over its matmul weights
  /// One block's weights whose matmuls op-level SAC recomputes: the 2nd, 4th, ... counted
  /// matmul and a mixture's router (its grouped experts: active_experts).
  double every_second = 0;
  double head = 0; ///< output projection, vocab x hidden (the embedding when tied)
  double total = 0;
  double experts = 0;       ///< every block's routed-expert weights held
  double active_blocks = 0; ///< block parameters one token runs (blocks less idle experts)
  double active_per_block = 0;
  double active_experts = 0; ///< routed-expert parameters one token runs, every block's
  double quantized = 0;      ///< QLoRA's NF4 block linears, every block's
  double trainable = 0;      ///< parameters with gradients (all but a fine-tuning run's base)
};

/// `facts` are the whole model's or one rank's (rank_facts()); the active figures are meaningful
/// for the whole model's only.
Weights weights_of(const ModelSpec& m, const ModelFacts& facts) {
  Weights w;
  int matmul = 0;
  for (const ParamTensor& t : facts.tensors) {
    if (t.group != ParamGroup::block || !t.is_matrix()) {
      continue;
    }
    const double n = as_double(t.numel());
    w.block_matrices += n * as_double(t.count);
    if (t.expert) {
      // Each routed copy of a token passes one expert's (expert_ffn x hidden) slice.
      w.block_rows_cols += as_double(m.experts_per_token * (m.expert_ffn + m.hidden));
      continue;
    }
    w.block_rows_cols += as_double(t.rows + t.cols);
    if (t.name == "router") {
      w.every_second += n; // force-recomputed and not counted (per_op_sac_force_recompute_...)
    } else if (++matmul % 2 == 0) {
      w.every_second += n;
    }
  }
  // A token runs routed_share() of each grouped expert weight; op-level SAC recomputes all it
  // runs (grouped GEMMs are not on torchtitan's save list).
  const double active = m.routed_share();
  const double idle_per_block = facts.block_experts * (1.0 - active);
  w.experts = facts.experts;
  const ParamCounts& p = facts.counts;
  w.quantized = facts.quantized_block * as_double(m.layers);
  w.trainable = facts.trainable;
  w.blocks = as_double(p.blocks);
  w.per_block = as_double(p.per_block);
  w.active_per_block = w.per_block - idle_per_block;
  w.active_experts = w.experts * active;
  w.active_blocks = w.blocks - (w.experts - w.active_experts);
  w.head = as_double(m.vocab) * as_double(m.hidden);
  w.total = as_double(p.total);
  return w;
}

/// Forward FLOPs per token activation checkpointing runs a second time.
struct Recompute {
  double linear = 0;
  double experts = 0;   ///< the routed experts' part of `linear`
  double attention = 0; ///< in the 12·L·q·s convention (no causal discount)
};

Recompute recompute_of(const ModelSpec& m, const TrainingConfig& c, const Weights& w,
                       double attention) {
  const double layers = as_double(m.layers);
  Recompute r;
  switch (c.activation_checkpointing) {
  case ActivationCheckpointing::none: break;
  case ActivationCheckpointing::selective_op:
    // torchtitan's policy saves every other matmul's output and recomputes the rest (wk, wo, w3
    // for SwiGLU; a mixture's grouped experts); SDPA's output is saved, so attention is not
    // recomputed.
    r.linear = 2.0 * (w.every_second * layers + w.active_experts);
    r.experts = 2.0 * w.active_experts;
    break;
  case ActivationCheckpointing::selective_layer: {
    const double n = as_double(checkpointed_blocks(m, c));
    r.linear = 2.0 * w.active_per_block * n;
    r.experts = 2.0 * w.active_experts * n / layers;
    r.attention = attention / 3.0 * n / layers;
    break;
  }
  case ActivationCheckpointing::full:
    r.linear = 2.0 * w.active_blocks;
    r.experts = 2.0 * w.active_experts;
    r.attention = attention / 3.0;
    break;
  case ActivationCheckpointing::count_: break;
  }
  return r;
}

/// Keys per query of a local-attention layer in attention_flops()' convention, which counts
/// every key of the sequence and leaves the causal mask's half to attention_executed_fraction:
/// twice the mean keys a query executes. A sliding window of w executes w - w^2 / (2s) on
/// average (the first w queries see fewer); a chunk of w executes w / 2 (causal inside it).
double local_keys(const ModelSpec& m, double s) {
  const double w = as_double(m.attention_window);
  switch (m.local_attention) {
  case LocalAttention::sliding: return s <= w ? s : 2.0 * w - w * w / s;
  case LocalAttention::chunked: return std::min(s, w);
  case LocalAttention::none:
  case LocalAttention::count_: break;
  }
  return s;
}

double attention_flops(const ModelSpec& m, const TrainingConfig& c) {
  // QK^T runs at the query/key head width, PV at the value head width (latent attention: 192
  // and 128): 12 FLOPs per key per unit of their mean, forward and backward.
  const double width =
      as_double(m.heads) * (as_double(m.effective_head_dim() + m.effective_v_head_dim())) / 2.0;
  const double s = as_double(c.seq_len);
  const double local = as_double(m.local_attention_layers);
  return 12.0 * width * ((as_double(m.layers) - local) * s + local * local_keys(m, s));
}

double peak_for(const GpuSpec& gpu, Precision p) {
  const PeakFlops& f = gpu.dense_flops_per_s;
  double peak = 0;
  switch (p) {
  // fp32 matmuls run on the CUDA cores: PyTorch leaves TF32 off for them by default
  // (torch.backends.cuda.matmul.allow_tf32 = False, docs.pytorch.org/docs/stable/notes/
  // cuda.html#tensorfloat-32-tf32-on-ampere-and-later-devices) and torchtitan does not turn it on.
  case Precision::fp32: peak = f.fp32; break; // the catalog's tf32 is the datasheet's, unused
  case Precision::bf16:
  case Precision::bf16_pure: peak = f.bf16; break;
  case Precision::fp8_tensorwise:
  case Precision::fp8_rowwise: peak = f.fp8; break;
  case Precision::mxfp8: peak = f.mxfp8; break;
  case Precision::nvfp4: peak = f.nvfp4; break;
  case Precision::count_: break;
  }
  return peak > 0 ? peak : f.bf16; // an unsupported format runs nothing faster than bf16
}

/// The share of its clock a GPU computes at under its power limit (1 at or above its TDP).
double clock_fraction(const GpuSpec& gpu, const TimeConstants& k) {
  if (gpu.power_limit_watts <= 0 || gpu.tdp_watts <= 0 || gpu.power_limit_watts >= gpu.tdp_watts) {
    return 1.0;
  }
  return std::pow(gpu.power_limit_watts / gpu.tdp_watts, k.power_clock_exponent);
}

/// HBM bytes per quantized element: {activation, weight} (docs/time-model.md, "Quantization").
std::pair<double, double> quant_bytes_per_element(const TrainingConfig& c, const TimeConstants& k) {
  std::pair<double, double> b;
  switch (c.precision) {
  case Precision::fp8_tensorwise:
    b = {k.quant_act_bytes_tensorwise, k.quant_weight_bytes_tensorwise};
    break;
  case Precision::fp8_rowwise: b = {k.quant_act_bytes_rowwise, k.quant_weight_bytes_rowwise}; break;
  case Precision::mxfp8:
  case Precision::nvfp4:
    b = {k.quant_act_bytes_block_scaled, k.quant_weight_bytes_block_scaled};
    break;
  default: return {0.0, 0.0};
  }
  if (c.fp8_all_gather) {
    b.second = k.quant_weight_bytes_fp8_all_gather;
  }
  return b;
}

/// Matmul efficiency for one micro-batch: saturates with the work per GEMM (tokens x hidden). A
/// GEMM `half_scale` times faster at full size reaches half of it at `half_scale` times the work.
double matmul_efficiency(const StepTerms& t, std::int64_t micro_batch, double half_scale = 1.0) {
  const double x = as_double(micro_batch) * t.seq_len * t.hidden;
  return t.efficiency_max * x / (x + t.half_work * half_scale);
}

/// Activation bytes per token every block writes, plus those checkpointing recomputes: the
/// elementwise work's HBM traffic is passes over these and over the loss's logits tensors.
double activation_bytes_per_token(const ModelSpec& m, const TrainingConfig& c) {
  const double layers = as_double(m.layers);
  const double full = block_activations(m, c, ActivationCheckpointing::none).full_per_token;
  const double recomputed =
      c.activation_checkpointing == ActivationCheckpointing::selective_op
          ? layers *
                block_activations(m, c, ActivationCheckpointing::selective_op).recompute_per_token
          : as_double(recomputed_blocks(m, c)) * full;
  return layers * full + recomputed;
}

/// GPU seconds of every block linear's GEMMs (forward, backward, recompute) in one micro-batch
/// and, in low precision, of their casts. A low-precision GEMM runs `low_peak_ratio` times
/// faster at full size but keeps a fixed per-GEMM cost in seconds, `low_fixed_cost_factor` times
/// bf16's with its cast kernels, so it reaches half of its maximum efficiency only at
/// `low_half_scale` = their product times the work (docs/time-model.md, "Quantization").
double linears_compute(const StepTerms& t, std::int64_t micro_batch) {
  const double tokens = as_double(micro_batch) * t.seq_len;
  const double eff = matmul_efficiency(t, micro_batch, t.low_half_scale);
  // Grouped expert GEMMs: the same curve at each expert's share of the rows.
  const double expert_eff =
      t.expert_s_per_token > 0
          ? t.grouped_gemm_efficiency *
                matmul_efficiency(t, micro_batch, t.low_half_scale / t.expert_rows_ratio)
          : 1.0;
  double quant_s = 0;
  if (t.quant_bytes_per_s > 0) {
    quant_s = (t.quant_act_bytes * tokens * t.layers * t.block_rows_cols + t.quant_weight_bytes) /
              t.quant_bytes_per_s;
  }
  return tokens * (t.linear_s_per_token - t.expert_s_per_token) / eff +
         tokens * t.expert_s_per_token / expert_eff + quant_s;
}

/// GPU seconds of one micro-batch's forward + backward + recompute: matmuls at the modelled
/// efficiency (the block linears by linears_compute()), elementwise traffic at HBM bandwidth.
double micro_batch_compute(const StepTerms& t, std::int64_t micro_batch) {
  const double tokens = as_double(micro_batch) * t.seq_len;
  const double eff = matmul_efficiency(t, micro_batch);
  const double matmul_s = tokens * (t.matmul_s_per_token - t.linear_s_per_token) / eff +
                          linears_compute(t, micro_batch) + tokens * t.attention_s_per_token;
  const double logit_elements = tokens * t.vocab;
  const double traffic = t.activation_passes * (tokens * t.activation_bytes_per_token +
                                                logit_elements * t.logits.traffic_bytes);
  return matmul_s + (traffic + t.dequant_bytes) / t.hbm_bytes_per_s;
}

/// HBM bytes of gradient clipping and one optimizer step over this GPU's states.
double optimizer_traffic(const ModelStates& s, const TrainingConfig& c, const TimeConstants& k) {
  // A fused kernel reads parameter, gradient and states and writes parameter and states (7
  // passes for AdamW); foreach runs ~8 list kernels, 20 passes (torch/optim/adam.py,
  // _multi_tensor_adam).
  // Only the trainable parameters step (a fine-tuning run's frozen base is not touched).
  const double fused =
      2.0 * (s.parameters_bytes - s.frozen_bytes) + s.gradients_bytes + 2.0 * s.optimizer_bytes;
  const double impl =
      c.optimizer_impl == OptimizerImpl::foreach ? k.foreach_optimizer_traffic_ratio : 1.0;
  const double clip = 3.0 * s.gradients_bytes; // norm (read), then scale (read + write)
  return fused * impl + clip;
}

/// Bandwidth a ring collective gets per rank, whether the network limits it, and the latency of
/// one call.
struct Link {
  double bytes_per_s = 0;
  bool inter_node = false;
  double latency_s = 0;
};

/// A group of `ranks` with `per_node` of them in each node it touches. `contention` divides the
/// NVLink bandwidth: FSDP's collectives share the GPU with compute kernels (TimeConstants::
/// collective_contention); the tensor- and context-parallel ones run alone on the critical path
/// (1). A ring across nodes runs at the slower of that and its NICs' bus bandwidth, which no SM
/// sharing slows (GPUDirect RDMA; docs/time-model.md section 3).
Link ring_link(std::int64_t ranks, std::int64_t per_node, const Network& net,
               const TimeConstants& k, double contention) {
  const double intra = net.intra_node_bytes_per_s * k.intra_node_bus_fraction;
  Link l{intra / contention, false, 0.0};
  if (ranks > per_node) {
    // One ring per NIC rail: the group's ranks in a node share that many rails.
    const double inter =
        as_double(per_node) * net.inter_node_bytes_per_s * k.inter_node_bus_fraction;
    if (inter < l.bytes_per_s) {
      l = {inter, true, 0.0};
    }
  }
  // NCCL's ring latency (its tuning model, Simple protocol as SageMaker sets it): a base, one
  // NVLink hop per step inside a node and one network hop per node boundary, ranks - 1 steps.
  if (ranks > 1) {
    const std::int64_t nodes =
        (ranks + std::max<std::int64_t>(1, per_node) - 1) / std::max<std::int64_t>(1, per_node);
    l.latency_s = k.nccl_base_latency_s +
                  as_double((ranks - 1) - (nodes - 1)) * k.nccl_nvlink_hop_latency_s +
                  as_double(nodes - 1) * k.nccl_network_hop_latency_s;
  }
  return l;
}

/// Seconds of `calls` ring all-gathers or reduce-scatters of `payload` bytes in all (all-reduce:
/// twice): bandwidth plus each call's latency.
double ring_seconds(double payload, std::int64_t ranks, const Link& l, double calls) {
  if (ranks <= 1 || payload <= 0) {
    return 0.0;
  }
  const double n = as_double(ranks);
  return payload * (n - 1.0) / n / l.bytes_per_s + calls * l.latency_s;
}

struct Collectives {
  double ag_fwd_s = 0, ag_bwd_s = 0, rs_s = 0, ar_s = 0; ///< per micro-batch (rs, ar: if synced)
  double ag_fwd_bytes = 0, ag_bwd_bytes = 0, rs_bytes = 0, ar_bytes = 0;
  bool shard_inter = false, replica_inter = false;
};

Collectives collectives_of(const TrainingConfig& c, const Network& net, const TimeConstants& k,
                           const Weights& w, double layers) {
  Collectives x;
  // FSDP2 issues one collective per unit: every block, and the root's units (counted as one).
  const double units = layers + 1.0;
  const StateDtypes dt = state_dtypes(c);
  const std::int64_t gpn = net.nvlink_gpus();
  // torchtitan's mesh puts the tp ranks innermost (torchtitan/distributed/parallel_dims.py): the
  // data-parallel groups' ranks sit tp apart, gpus_per_node / tp of them in a node.
  const std::int64_t dp_per_node = std::max<std::int64_t>(1, gpn / c.tp);
  if (c.sharding == Sharding::none) {
    const std::int64_t dp = data_parallel_degree(c);
    if (dp > 1) { // DDP: all-reduce of the full gradients
      const Link l = ring_link(dp, std::min(dp, dp_per_node), net, k, k.collective_contention);
      x.ar_bytes = w.trainable * dt.grad_bytes;
      // DDP buckets gradients: one all-reduce per bucket.
      x.ar_s = 2.0 * ring_seconds(x.ar_bytes, dp, l, std::ceil(x.ar_bytes / k_ddp_bucket_bytes));
      x.replica_inter = l.inter_node;
    }
    return x;
  }
  const std::int64_t n = effective_shard_group(c);
  const Link shard = ring_link(n, std::min(n, dp_per_node), net, k, k.collective_contention);
  x.shard_inter = shard.inter_node && n > 1;
  // fp8 all-gather sends the block matmul weights as 1-byte fp8 (torchao, tensorwise).
  const double matrices_bytes = c.fp8_all_gather ? 1.0 : dt.compute_bytes;
  // QLoRA gathers its NF4 base packed (torchao's NF4Tensor fsdp_pre_all_gather).
  const double nf4_saving = w.quantized * (matrices_bytes - k_nf4_bytes_per_element);
  x.ag_fwd_bytes = w.block_matrices * matrices_bytes +
                   (w.total - w.block_matrices) * dt.compute_bytes - nf4_saving;
  // Backward all-gathers the blocks again unless they stayed unsharded (grad-op, and pipeline
  // stages); the root unit(s) are kept unsharded from forward to backward.
  if (c.sharding != Sharding::grad_op && c.pp <= 1) {
    x.ag_bwd_bytes = w.block_matrices * matrices_bytes +
                     (w.blocks - w.block_matrices) * dt.compute_bytes - nf4_saving;
  }
  // Gradients exist for the trainable parameters only (a fine-tuning run's adapters).
  x.rs_bytes = w.trainable * dt.reduce_bytes;
  // Under expert parallelism the routed experts (this rank's) gather and reduce over their own
  // FSDP group, the shard group / ep ranks sitting ep apart (torchtitan's efsdp): none at all
  // when ep spans the shard group.
  const double apart = c.ep > 1 ? w.experts : 0.0;
  const std::int64_t efsdp = n / c.ep;
  const Link expert_link =
      ring_link(efsdp, std::max<std::int64_t>(1, std::min(efsdp, dp_per_node / c.ep)), net, k,
                k.collective_contention);
  const double ag_bwd_apart = x.ag_bwd_bytes > 0 ? apart * matrices_bytes : 0.0;
  // (rs_bytes holds every trainable parameter: a mixture's experts included.)
  x.ag_fwd_s = ring_seconds(x.ag_fwd_bytes - apart * matrices_bytes, n, shard, units) +
               ring_seconds(apart * matrices_bytes, efsdp, expert_link, layers);
  x.ag_bwd_s = ring_seconds(x.ag_bwd_bytes - ag_bwd_apart, n, shard, layers) +
               ring_seconds(ag_bwd_apart, efsdp, expert_link, layers);
  x.rs_s = ring_seconds(x.rs_bytes - apart * dt.reduce_bytes, n, shard, units) +
           ring_seconds(apart * dt.reduce_bytes, efsdp, expert_link, layers);
  const std::int64_t replicas = stage_slice_gpus(c) / std::max<std::int64_t>(1, n);
  if (replicas > 1) {
    // HSDP: rank i of every shard group all-reduces its shard; those ranks sit n apart.
    const std::int64_t per_node = n >= dp_per_node ? 1 : std::min(replicas, dp_per_node / n);
    const Link l = ring_link(replicas, per_node, net, k, k.collective_contention);
    x.ar_bytes =
        ((w.trainable - apart) / as_double(n) + apart / as_double(efsdp)) * dt.reduce_bytes;
    x.ar_s = 2.0 * ring_seconds(x.ar_bytes, replicas, l, units);
    x.replica_inter = l.inter_node;
  }
  return x;
}

/// Expert parallelism's all-to-alls of one micro-batch, per sequence of it: each MoE block sends
/// every routed copy of its tokens (experts_per_token x hidden per token) to the rank holding the
/// expert and back (dispatch and combine), in forward and again in backward; a recomputed block
/// dispatches again, and op-level SAC recomputes the dispatch too (all_to_all_single is not on
/// the save list of torchtitan/models/qwen3/infra/parallelize.py). The ep ranks are consecutive
/// (torchtitan/distributed/parallel_dims.py puts ep innermost): a rank keeps 1 / ep of its copies,
/// sends the rest over NVLink, and over the network the share bound for other nodes.
void expert_dispatch(const ModelSpec& m, const TrainingConfig& c, const Network& net,
                     const TimeConstants& k, StepTerms& t) {
  // Only the sparse blocks dispatch (a mixture's leading dense blocks do not). Op-level SAC saves
  // the all-to-alls' outputs (block_inventory), so only whole-block recompute communicates again.
  const double layers = as_double(m.moe_layers());
  const double recomputed = c.activation_checkpointing == ActivationCheckpointing::selective_op
                                ? 0.0
                                : as_double(recomputed_blocks(m, c)) * layers / as_double(m.layers);
  const double calls = 4.0 * layers + 2.0 * recomputed;
  const double ep = as_double(c.ep);
  const double gpn = as_double(net.nvlink_gpus());
  const double copies = as_double(c.seq_len) / as_double(c.cp) * as_double(m.experts_per_token) *
                        as_double(m.hidden) * state_dtypes(c.precision).compute_bytes;
  const double on_node = std::min(ep, gpn);
  const double intra_s =
      copies * (on_node - 1.0) / ep / (net.intra_node_bytes_per_s * k.intra_node_bus_fraction);
  const double inter_s = ep > gpn ? copies * (ep - on_node) / ep /
                                        (net.inter_node_bytes_per_s * k.inter_node_bus_fraction)
                                  : 0.0;
  t.ep_s_per_sequence = calls * std::max(intra_s, inter_s);
  t.ep_inter = inter_s > intra_s;
  t.ep_latency_s = calls * (k.nccl_base_latency_s + (ep > gpn ? k.nccl_network_hop_latency_s
                                                              : k.nccl_nvlink_hop_latency_s));
}

/// The collectives tensor and context parallelism add to one micro-batch, per sequence of it
/// (docs/time-model.md, "Tensor and context parallelism").
void model_parallel_collectives(const ModelSpec& m, const TrainingConfig& c, const Network& net,
                                const TimeConstants& k, StepTerms& t) {
  const double ab = state_dtypes(c.precision).compute_bytes;
  const double layers = as_double(m.layers);
  const double local = as_double(c.seq_len) / as_double(c.cp); // tokens per sequence per GPU
  const std::int64_t gpn = net.nvlink_gpus();
  // Blocks whose forward runs twice (its collectives with it).
  const double recomputed = as_double(recomputed_blocks(m, c));
  if (c.tp > 1) {
    // Sequence parallel: each block all-gathers its two norm outputs and reduce-scatters wo's and
    // w2's outputs in forward, the reverse in backward; op-level SAC re-gathers the two inputs
    // it does not save. Each moves the whole sequence's hidden states.
    const double calls =
        layers * 8.0 + recomputed * 4.0 +
        (c.activation_checkpointing == ActivationCheckpointing::selective_op ? 2.0 * layers : 0.0);
    // Without loss parallelism the head's output is all-gathered to every rank (its backward
    // takes the local slice of the gradient: no collective). t.vocab is then the whole
    // vocabulary on the head's rank, 0 elsewhere.
    const double gathered_logits = loss_parallel(c) ? 0.0 : t.vocab;
    const double gathers = gathered_logits > 0 ? 1.0 : 0.0;
    const Link l = ring_link(c.tp, std::min(c.tp, gpn), net, k, 1.0);
    const double logit_bytes = c.head_fp32 ? 4.0 : ab; // CastLinear writes fp32 logits
    t.tp_s_per_sequence = ring_seconds(
        (calls * as_double(m.hidden) * ab + gathered_logits * logit_bytes) * local, c.tp, l, 0.0);
    t.tp_latency_s = (calls + gathers) * l.latency_s;
    t.tp_inter = l.inter_node;
  }
  if (c.ep > 1) {
    expert_dispatch(m, c, net, k, t);
  }
  if (c.cp > 1) {
    // All-gathered keys and values (as attention receives them; this rank's heads): one gather
    // per block in forward and again in backward with a reduce-scatter of their gradients, one
    // more per recomputed block.
    const double kv = as_double(attention_kv_dim(m, c)) / 2.0 / as_double(c.tp); // K and V: 2 x kv
    const double calls = layers * 3.0 + recomputed;
    const std::int64_t per_node = std::max<std::int64_t>(1, gpn / c.tp);
    const Link l = ring_link(c.cp, std::min(c.cp, per_node), net, k, 1.0);
    t.cp_s_per_sequence = ring_seconds(calls * as_double(c.seq_len) * 2.0 * kv * ab, c.cp, l, 0.0);
    t.cp_latency_s = calls * l.latency_s;
    t.cp_inter = l.inter_node;
  }
}

/// The point-to-point sends of pipeline parallelism: each stage boundary passes one micro-batch's
/// hidden states forward and their gradients back, sequence-sharded over the tp ranks (torchtitan's
/// blocks leave the residual stream Shard(1)). The ranks of consecutive stages sit gpus / pp apart
/// (torchtitan's mesh puts pp outermost): another node once a stage spans a node. The sends of
/// the steady state overlap compute; the fill and drain wait for 2 x (stages - 1) of them.
void pipeline_sends(const ModelSpec& m, const TrainingConfig& c, const Network& net,
                    const TimeConstants& k, StepTerms& t) {
  const std::int64_t gpn = net.nvlink_gpus();
  const double bytes = as_double(c.seq_len) / as_double(c.cp) * as_double(m.hidden) /
                       as_double(c.tp) * state_dtypes(c.precision).compute_bytes;
  const bool inter = c.gpus > gpn && c.gpus / c.pp >= gpn;
  const double bandwidth = inter ? net.inter_node_bytes_per_s * k.inter_node_bus_fraction
                                 : net.intra_node_bytes_per_s * k.intra_node_bus_fraction;
  t.p2p_s_per_sequence = bytes / bandwidth;
  t.p2p_latency_s =
      k.nccl_base_latency_s + (inter ? k.nccl_network_hop_latency_s : k.nccl_nvlink_hop_latency_s);
  t.p2p_sends = 2.0 * as_double(c.pp * stages_per_rank(c.pp_schedule) - 1);
  t.p2p_inter = inter;
  t.bubble_micro_batches = pipeline_bubble_micro_batches(c, recomputed_share(m, c));
}

/// Collective time of one phase not hidden behind that phase's compute.
double exposed(double comm, double compute, double units, double overlap_fraction) {
  return std::max(comm / units, comm - overlap_fraction * compute);
}

FlopCounts flops_of(const ModelSpec& m, const ModelFacts& facts, const TrainingConfig& c,
                    const Weights& w) {
  const ParamCounts& p = facts.counts;
  // The output head's matmul runs per token even when it shares the embedding's weight; the
  // routed experts a token is not sent to do not.
  const double matmul_params =
      as_double(p.non_embedding()) - facts.inactive + (m.tied_embeddings ? w.head : 0.0);
  FlopCounts f;
  f.attention_flops_per_token = attention_flops(m, c);
  // Fine-tuning (`facts` with its adapters): a frozen matmul computes its input's gradient but
  // not its weight's, 4 FLOPs per parameter and token instead of 6; the adapters train.
  const double adapters = facts.adapters * as_double(m.layers);
  f.model_flops_per_token =
      (c.finetune == Finetune::full ? 6.0 * matmul_params : 4.0 * matmul_params + 2.0 * adapters) +
      f.attention_flops_per_token;
  const Recompute r = recompute_of(m, c, w, f.attention_flops_per_token);
  f.hardware_flops_per_token = f.model_flops_per_token + r.linear + r.attention;
  return f;
}

} // namespace

Network make_network(const GpuSpec& gpu, std::int64_t gpus_per_node,
                     double node_network_bits_per_s) {
  Network n;
  n.gpus_per_node = gpus_per_node;
  n.nvlink_domain_gpus = gpu.nvlink_domain_gpus;
  n.intra_node_bytes_per_s = gpu.nvlink_bandwidth_bytes_per_s;
  n.inter_node_bytes_per_s =
      node_network_bits_per_s / 8.0 / as_double(std::max<std::int64_t>(1, gpus_per_node));
  return n;
}

FlopCounts flops_per_token(const ModelSpec& m, const TrainingConfig& c) {
  return flops_per_token(
      m, c.finetune == Finetune::full ? model_facts(m) : rank_facts(m, 1, 1, finetune_of(c)), c);
}

FlopCounts flops_per_token(const ModelSpec& m, const ModelFacts& facts, const TrainingConfig& c) {
  return flops_of(m, facts, c, weights_of(m, facts));
}

StepTime estimate_step_time(const ModelSpec& m, const TrainingConfig& c, const GpuSpec& gpu,
                            const Network& net, const TimeConstants& k) {
  return estimate_step_time(m, model_facts(m), c, gpu, net, k);
}

StepTime estimate_step_time(const ModelSpec& m, const ModelFacts& facts, const TrainingConfig& c,
                            const GpuSpec& gpu, const Network& net, const TimeConstants& k) {
  return estimate_step_time(step_terms(m, facts, c, gpu, net, k), c.micro_batch, c.grad_accum);
}

StepTerms step_terms(const ModelSpec& m, const ModelFacts& facts, const TrainingConfig& c,
                     const GpuSpec& gpu, const Network& net, const TimeConstants& k) {
  return with_rank_slice(
      m, facts, c.tp, c.ep, finetune_of(c), [&](const ModelFacts& slice) { // states and terms alike
        return step_terms(m, facts, slice, c, gpu, net, k, estimate_model_states(slice, c));
      });
}

StepTerms step_terms(const ModelSpec& m, const ModelFacts& facts, const TrainingConfig& c,
                     const GpuSpec& gpu, const Network& net, const TimeConstants& k,
                     const ModelStates& states) {
  return with_rank_slice(m, facts, c.tp, c.ep, finetune_of(c), [&](const ModelFacts& slice) {
    return step_terms(m, facts, slice, c, gpu, net, k, states);
  });
}

StepTerms step_terms(const ModelSpec& m, const ModelFacts& facts, const ModelFacts& slice,
                     const TrainingConfig& c, const GpuSpec& gpu, const Network& net,
                     const TimeConstants& k, const ModelStates& states) {
  StepTerms t;
  // The model's FLOPs: the whole model's facts, or under fine-tuning the slice's, which holds
  // the adapters (fine-tuning runs with neither tensor nor expert parallelism).
  const bool tuning = c.finetune != Finetune::full;
  const ModelFacts& counted = tuning ? slice : facts;
  const Weights w = weights_of(m, counted);
  const FlopCounts& f = t.flops = flops_of(m, counted, c, w);
  // Pipeline parallelism: every micro-batch waits for the slowest rank, so the terms below are
  // that rank's: its blocks (share of the model's), and the output head and loss if it has them.
  const bool pipeline = c.pp > 1;
  const PipelineRank stage = pipeline_slowest_rank(m, c);
  const ModelSpec stage_model = pipeline ? pipeline_stage_model(m, stage) : m;
  const ModelFacts stage_facts = pipeline ? pipeline_stage_facts(m, slice, stage) : ModelFacts{};
  const ModelFacts& held = pipeline ? stage_facts : slice;
  const double share = as_double(stage.blocks) / as_double(m.layers);
  const double head_share = stage.head ? 1.0 : 0.0;
  // Tensor parallelism: each GPU runs 1/tp of every matmul (GEMMs 1/tp as wide), moves its
  // slice's weights and holds its vocabulary slice of the logits (all of them without loss
  // parallelism: the loss then runs on the whole vocabulary on every rank); context parallelism:
  // 1/cp of each sequence's tokens, each attending to the whole sequence (attention_flops()).
  const double tp = as_double(c.tp);
  const Weights local = c.tp > 1 || c.ep > 1 || pipeline ? weights_of(m, held) : w;
  if (c.finetune == Finetune::qlora) {
    // Each NF4 block linear is dequantized to bf16 before every forward and backward matmul
    // (and its recompute): read at 0.516 B, written at 2 B per element.
    const double passes = 2.0 + recomputed_share(m, c);
    t.dequant_bytes = passes * local.quantized * (k_nf4_bytes_per_element + 2.0) * share;
  }
  t.seq_len = as_double(c.seq_len) / as_double(c.cp);
  t.hidden = as_double(m.hidden) / tp;
  t.vocab = logits_vocab(m, c) * head_share;
  t.gpu_share = 1.0 / (tp * as_double(c.pp));
  t.layers = as_double(stage.blocks);
  t.no_sync = reduces_once_per_step(c);
  t.gathered_once = gathers_once_per_step(c);

  // One micro-batch's compute (micro_batch_compute()).
  // The GEMM curve's ceiling was fitted on Hopper- and Ampere-class parts; a part whose large
  // GEMMs reach a different fraction of its datasheet peak scales it (GpuSpec).
  t.efficiency_max = std::min(1.0, k.matmul_efficiency_max * gpu.gemm_efficiency_ratio);
  const Recompute r = recompute_of(m, c, w, f.attention_flops_per_token);
  const bool low = is_low_precision(c.precision);
  // torchao converts the block linears only: attention and the output head stay in bf16.
  const double high_peak = peak_for(gpu, low ? Precision::bf16 : c.precision);
  // Under a power limit the tensor cores run at a lower clock; HBM and links do not. MFU and HFU
  // stay against the datasheet peak (peak_s_per_token).
  const double clock = clock_fraction(gpu, k);
  // Half of the curve's maximum at the work whose fixed per-GEMM seconds are as large a share on
  // this part as matmul_half_work's were on the part it was fitted on.
  t.half_work = k.matmul_half_work * peak_for(gpu, Precision::bf16) * clock *
                gpu.gemm_efficiency_ratio / k.matmul_half_work_flops_per_s;
  const double head = (tuning ? 4.0 : 6.0) * w.head; // a frozen head: no weight gradient
  const double attention = f.attention_flops_per_token + r.attention;
  const double linear = f.hardware_flops_per_token - attention - head;
  const double linear_at_peak = linear / peak_for(gpu, c.precision); // seconds per token
  // An fp32 head (CastLinear) runs at fp32's peak, as fp32 training does (peak_for).
  const double head_at_peak = head / (c.head_fp32 ? peak_for(gpu, Precision::fp32) : high_peak);
  t.linear_s_per_token = linear_at_peak / clock / tp * share;
  if (m.is_moe()) {
    t.expert_s_per_token =
        (6.0 * w.active_experts + r.experts) / peak_for(gpu, c.precision) / clock / tp * share;
    t.expert_rows_ratio = as_double(m.experts_per_token);
    t.grouped_gemm_efficiency = k.grouped_gemm_efficiency;
  }
  t.matmul_s_per_token = t.linear_s_per_token + head_at_peak / clock / tp * head_share;
  // Causal flash attention at its own measured efficiency: forward (and its recompute) and a
  // backward of 2.5 forwards (flash attention recomputes QK^T; FlashAttention's FLOP count).
  const double forward = k.attention_executed_fraction * f.attention_flops_per_token / 3.0;
  const double recomputed = k.attention_executed_fraction * r.attention;
  // FlashAttention-2 runs the same FLOPs at the GPU's published fraction of the cuDNN-class speed.
  const double kernel =
      c.attention_kernel == AttentionKernel::flash2 ? gpu.flash2_attention_speed_ratio : 1.0;
  t.attention_s_per_token = ((forward + recomputed) / (high_peak * k.attention_forward_efficiency) +
                             2.5 * forward / (high_peak * k.attention_backward_efficiency)) /
                            kernel / clock / tp * share;
  // MFU's peak: the head at the precision's own (an fp32 head is slower work, not more of it).
  t.peak_s_per_token =
      linear_at_peak + head / high_peak + k.attention_executed_fraction * attention / high_peak;
  if (low) {
    t.low_half_scale = peak_for(gpu, c.precision) / high_peak * k.low_precision_fixed_cost_factor;
    const auto [act, weight] = quant_bytes_per_element(c, k);
    t.quant_act_bytes = act;
    t.quant_weight_bytes = weight * local.block_matrices;
    t.quant_bytes_per_s = gpu.hbm_bandwidth_bytes_per_s * k.quant_bandwidth_fraction;
  }
  t.block_rows_cols = local.block_rows_cols;
  t.activation_passes = c.compile ? k.compiled_activation_passes : k.eager_activation_passes;
  t.activation_bytes_per_token = activation_bytes_per_token(m, c) * share;
  t.logits = logits_per_element(c);
  t.hbm_bytes_per_s = gpu.hbm_bandwidth_bytes_per_s;
  t.cpu_s = as_double(stage.blocks) * k.eager_cpu_seconds_per_block *
            (c.compile ? k.compiled_cpu_fraction : 1.0);

  const Collectives x = collectives_of(c, net, k, local, as_double(stage.blocks));
  model_parallel_collectives(stage_model, c, net, k, t);
  if (pipeline) {
    pipeline_sends(m, c, net, k, t);
  }
  t.ag_fwd_s = x.ag_fwd_s;
  t.ag_bwd_s = x.ag_bwd_s;
  t.rs_s = x.rs_s;
  t.ar_s = x.ar_s;
  t.ag_fwd_bytes = x.ag_fwd_bytes;
  t.ag_bwd_bytes = x.ag_bwd_bytes;
  t.rs_bytes = x.rs_bytes;
  t.ar_bytes = x.ar_bytes;
  t.shard_inter = x.shard_inter;
  t.replica_inter = x.replica_inter;
  t.units = as_double(stage.blocks) + 1.0;
  t.overlap_fraction = k.overlap_fraction;
  t.forward_fraction = k.forward_compute_fraction;

  const ModelStates& held_states = pipeline ? estimate_model_states(stage_facts, c) : states;
  if (c.offload == Offload::cpu) {
    // Sharded parameters go to the GPU for every all-gather, gradients back after every
    // reduce-scatter; the optimizer steps on the host, whose memory all the node's GPUs share.
    t.offload = true;
    t.gathers = c.sharding == Sharding::grad_op || pipeline ? 1.0 : 2.0;
    t.parameters_bytes = held_states.parameters_bytes;
    t.gradients_bytes = held_states.gradients_bytes;
    t.pcie_bytes_per_s = k.pcie_bytes_per_s;
    const double on_node =
        as_double(std::min(c.gpus, std::max<std::int64_t>(1, net.gpus_per_node)));
    t.optimizer_s = optimizer_traffic(held_states, c, k) * on_node / k.host_memory_bytes_per_s;
  } else {
    t.optimizer_s = optimizer_traffic(held_states, c, k) / gpu.hbm_bandwidth_bytes_per_s;
  }
  t.gpus = as_double(c.gpus);
  t.bf16_peak = peak_for(gpu, Precision::bf16);
  const double skipped = 1.0 - k.attention_executed_fraction;
  const double model_executed = f.model_flops_per_token - skipped * f.attention_flops_per_token;
  const double hardware_executed = f.hardware_flops_per_token - skipped * attention;
  t.model_share = hardware_executed > 0 ? model_executed / hardware_executed : 1.0;
  t.band = throughput_band(c, gpu, k, m.is_moe());
  return t;
}

double block_linears_seconds(const StepTerms& t, std::int64_t micro_batch) {
  return linears_compute(t, micro_batch) / t.layers;
}

namespace {

/// The parts of a step that the search ranks by and estimate_step_time() reports: one
/// computation for both, so they agree bit for bit.
struct StepParts {
  double micro = 0;  ///< micro-batches per step
  double synced = 0; ///< micro-batches that reduce gradients
  double compute_s = 0, exposed_comm_s = 0, offload_s = 0, step_s = 0, tokens = 0;
  double tp_s = 0, cp_s = 0, ep_s = 0; ///< tensor-, context- and expert-parallel, all exposed
  double bubble_s = 0, p2p_s = 0;      ///< pipeline fill and drain, and the sends they wait for
};

StepParts step_parts(const StepTerms& s, std::int64_t micro_batch, std::int64_t grad_accum) {
  StepParts p;
  p.micro = as_double(std::max<std::int64_t>(1, grad_accum));
  p.synced = s.no_sync ? 1.0 : p.micro;
  const double gpu_mb = micro_batch_compute(s, micro_batch);
  p.compute_s = p.micro * std::max(gpu_mb, s.cpu_s);
  // Parameters that stay gathered all step (a pipeline stage's, Megatron's): one forward
  // all-gather per step, not per micro-batch (gathers_once_per_step()).
  const double gathered = s.gathered_once ? 1.0 : p.micro;
  // Collectives, phase by phase: forward all-gathers hide behind forward's share of the
  // micro-batch's compute, backward all-gathers and gradient reductions behind the rest.
  const double fwd_mb = s.forward_fraction * gpu_mb;
  const double bwd_mb = gpu_mb - fwd_mb;
  const double fwd = exposed(s.ag_fwd_s, fwd_mb, s.units, s.overlap_fraction);
  const double bwd_synced =
      exposed(s.ag_bwd_s + s.rs_s + s.ar_s, bwd_mb, s.units, s.overlap_fraction);
  const double bwd_local = exposed(s.ag_bwd_s, bwd_mb, s.units, s.overlap_fraction);
  const double sequences = as_double(micro_batch);
  const double tp_mb = sequences * s.tp_s_per_sequence + s.tp_latency_s;
  const double cp_mb = sequences * s.cp_s_per_sequence + s.cp_latency_s;
  p.tp_s = p.micro * tp_mb;
  p.cp_s = p.micro * cp_mb;
  p.ep_s = p.micro * (sequences * s.ep_s_per_sequence + s.ep_latency_s);
  p.bubble_s = s.bubble_micro_batches * (std::max(gpu_mb, s.cpu_s) + tp_mb + cp_mb);
  p.p2p_s = s.p2p_sends * (sequences * s.p2p_s_per_sequence + s.p2p_latency_s);
  p.exposed_comm_s = gathered * fwd + p.synced * bwd_synced + (p.micro - p.synced) * bwd_local +
                     p.tp_s + p.cp_s + p.ep_s + p.p2p_s;
  if (s.offload) {
    p.offload_s = (gathered * s.gathers * s.parameters_bytes + p.synced * s.gradients_bytes) /
                  s.pcie_bytes_per_s;
  }
  p.step_s = p.compute_s + p.bubble_s + p.exposed_comm_s + p.offload_s + s.optimizer_s;
  p.tokens = as_double(micro_batch) * s.seq_len * p.micro * s.gpu_share;
  return p;
}

} // namespace

StepTime estimate_step_time(const StepTerms& s, std::int64_t micro_batch, std::int64_t grad_accum) {
  const StepParts p = step_parts(s, micro_batch, grad_accum);
  const double micro = p.micro;
  const double synced = p.synced;
  StepTime t;
  t.compute_s = p.compute_s;
  t.achieved_efficiency = matmul_efficiency(s, micro_batch);
  t.exposed_comm_s = p.exposed_comm_s;
  t.allgather_s = (s.gathered_once ? 1.0 : micro) * s.ag_fwd_s + micro * s.ag_bwd_s;
  t.reduce_scatter_s = synced * s.rs_s;
  t.all_reduce_s = synced * s.ar_s;
  t.tensor_parallel_s = p.tp_s;
  t.context_parallel_s = p.cp_s;
  t.expert_parallel_s = p.ep_s;
  t.allgather_bytes = (s.gathered_once ? 1.0 : micro) * s.ag_fwd_bytes + micro * s.ag_bwd_bytes;
  t.pipeline_bubble_s = p.bubble_s;
  t.pipeline_send_s = p.p2p_s;
  t.reduce_scatter_bytes = synced * s.rs_bytes;
  t.all_reduce_bytes = synced * s.ar_bytes;
  t.offload_s = p.offload_s;
  t.optimizer_s = s.optimizer_s;
  t.step_s = p.step_s;
  t.tokens_per_s_per_gpu = p.tokens / t.step_s;
  t.tokens_per_s_job = t.tokens_per_s_per_gpu * s.gpus;
  t.tokens_per_s_per_gpu_low = t.tokens_per_s_per_gpu / (1.0 + s.band.low_fraction);
  t.tokens_per_s_per_gpu_high = t.tokens_per_s_per_gpu * (1.0 + s.band.high_fraction);
  t.band_widened = s.band.widened;
  t.hfu = s.peak_s_per_token * t.tokens_per_s_per_gpu;
  t.mfu = t.hfu * s.model_share;
  t.mfu_torchtitan = s.flops.model_flops_per_token * t.tokens_per_s_per_gpu / s.bf16_peak;

  double intra = 0, inter = 0;
  (s.shard_inter ? inter : intra) += t.allgather_s + t.reduce_scatter_s;
  (s.replica_inter ? inter : intra) += t.all_reduce_s;
  (s.tp_inter ? inter : intra) += t.tensor_parallel_s;
  (s.cp_inter ? inter : intra) += t.context_parallel_s;
  (s.ep_inter ? inter : intra) += t.expert_parallel_s;
  (s.p2p_inter ? inter : intra) += t.pipeline_send_s;
  // Under CPU offload the optimizer runs on the host and the states cross PCIe every step.
  const double host_side = s.offload ? t.offload_s + t.optimizer_s : 0.0;
  if (host_side > t.compute_s && host_side >= intra && host_side >= inter) {
    t.bottleneck = Bottleneck::host;
  } else if (intra > t.compute_s && intra >= inter) {
    t.bottleneck = Bottleneck::intra_node;
  } else if (inter > t.compute_s && inter > intra) {
    t.bottleneck = Bottleneck::inter_node;
  } else if (s.cpu_s > micro_batch_compute(s, micro_batch)) {
    t.bottleneck = Bottleneck::host; // compute_s is the host's issue time
  }
  return t;
}

StepRate step_rate(const StepTerms& s, std::int64_t micro_batch, std::int64_t grad_accum) {
  const StepParts p = step_parts(s, micro_batch, grad_accum);
  StepRate r;
  r.step_s = p.step_s;
  r.tokens_per_s_job = p.tokens / r.step_s * s.gpus;
  return r;
}

} // namespace bwplan
