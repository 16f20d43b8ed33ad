/// \file
/// Time of one FSDP2 training step and the throughput it implies: FLOPs per token, compute,
/// collectives, optimizer. Formulas, constants, their sources and the per-case errors against
/// published runs: docs/time-model.md.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/enums.hpp"
#include "bwplan/hardware.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/model_spec.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan {

/// What limits a step: the GPU's compute, collectives inside a node or across nodes, or the
/// host issuing the micro-batch's kernels more slowly than the GPU runs them.
enum class Bottleneck : std::uint8_t { compute, intra_node, inter_node, host, count_ };
template <> struct EnumTraits<Bottleneck> {
  static constexpr std::string_view what = "bottleneck";
  static constexpr std::array<std::string_view, 4> names = {"compute", "intra-node", "inter-node",
                                                            "host"};
};
static_assert(k_enum_table_complete<Bottleneck>);

/// The links collectives run over. Bandwidths are link rates, one direction, bytes/s.
struct Network {
  std::int64_t gpus_per_node = 8;    ///< GPUs on one host: its network and its host memory
  double intra_node_bytes_per_s = 0; ///< NVLink (xGMI on AMD) per GPU
  /// Network per GPU, i.e. one NIC rail: node network bits/s / 8 / gpus_per_node. A collective
  /// spanning nodes gets one rail per rank of the group in each node (NCCL runs one ring per
  /// rail), so the node's whole network when the group covers the node.
  double inter_node_bytes_per_s = 0;
  /// GPUs one NVLink domain joins across nodes (GpuSpec::nvlink_domain_gpus: GB200 NVL72's 72);
  /// 0 where NVLink stops at the node.
  std::int64_t nvlink_domain_gpus = 0;

  /// GPUs that reach each other over NVLink: the node, or the wider domain. A collective group
  /// within them runs at intra_node's rate.
  [[nodiscard]] std::int64_t nvlink_gpus() const {
    return std::max<std::int64_t>(1, std::max(gpus_per_node, nvlink_domain_gpus));
  }
};

/// `gpu`'s NVLink inside nodes of `gpus_per_node` GPUs (or its wider NVLink domain) joined by
/// `node_network_bits_per_s` in total (an instance's EFA bandwidth, e.g. 3.2e12 for
/// ml.p5.48xlarge).
[[nodiscard]] Network make_network(const GpuSpec& gpu, std::int64_t gpus_per_node,
                                   double node_network_bits_per_s);

/// Physical and fitted constants (docs/time-model.md, "Constants", gives each one's source and
/// fit). Fitted ones were fitted jointly to every case of tests/data/measurements.json (the
/// MI300X and power-limited B200 rows through their fp8/bf16 ratios only) and of
/// tests/data/measurements-h100-fakepg.json, never to one.
struct TimeConstants {
  /// Largest fraction of the datasheet dense peak a transformer's matmuls reach (fitted: the
  /// H100 compute-only runs and the A100 torchtune runs).
  double matmul_efficiency_max = 0.80;
  /// Work per micro-batch (tokens x hidden) at which matmuls reach half of the maximum: small
  /// GEMMs leave SMs idle (fitted: 1B-70B compute-only runs, 2k-32k tokens per micro-batch).
  double matmul_half_work = 2.4e6;
  /// The dense bf16 rate matmul_half_work holds at: the H100 SXM's datasheet 989 TFLOP/s, where it
  /// was fitted. A GEMM's fixed costs (launch, prologue, tail) take the same seconds on any part,
  /// so a part computing r times as fast (peak x clock x GEMM ratio) reaches half of its maximum
  /// at r times the work, as a low-precision GEMM does (docs/time-model.md, section 2).
  double matmul_half_work_flops_per_s = 9.89e14;
  /// A grouped expert GEMM's efficiency relative to one dense GEMM of all its rows (the
  /// routing-dependent tile waste and the permutations around it): fitted to the mixture runs
  /// of tests/data/measurements-moe.json and the H200 compute-only steps of torchtitan's mixture
  /// code together (docs/time-model.md, "Mixtures of experts").
  double grouped_gemm_efficiency = 0.28;
  /// Share of the attention FLOPs (12·L·q·s) a causal flash kernel executes: it skips the
  /// masked upper triangle (FlashAttention-2 paper, causal mask; not fitted).
  double attention_executed_fraction = 0.5;
  /// Shares of the bf16 dense peak causal flash attention reaches, forward and backward (bf16,
  /// head dim 128, 8k-16k tokens; backward counted as 2.5 forwards): cuDNN on H100 runs the
  /// causal forward at 529-539 TFLOP/s of 989 and the backward at ~516 non-causal (FlashAttention-3
  /// paper, arXiv 2407.08608, Fig. 5 and 6), FlashAttention-4 on B200 at 1418 and 1208 of 2250
  /// (Dao-AILab/flash-attention PR 2280). cuDNN is PyTorch 2.11's default SDPA backend on both. Not
  /// fitted.
  double attention_forward_efficiency = 0.54;
  double attention_backward_efficiency = 0.46;
  /// HBM passes over one block's activation bytes (block_activations().full_per_token) for the
  /// elementwise work of forward + backward (norms, RoPE, SwiGLU, residuals, casts, loss), in
  /// eager mode and under torch.compile, which fuses it (fitted: eager on the H100 runs; compiled
  /// on the torchtitan and torchtune eager/compile pairs).
  double eager_activation_passes = 7.1;
  double compiled_activation_passes = 2.9;
  /// HBM traffic of a foreach optimizer step over a fused one: ~8 list kernels, 20 passes over
  /// the 7 a fused AdamW makes (torch/optim/adam.py, _multi_tensor_adam).
  double foreach_optimizer_traffic_ratio = 20.0 / 7.0;
  /// The share of a micro-batch's compute in forward (the rest is backward): what forward
  /// all-gathers can hide behind; backward's 2x forward FLOPs make it 1/3.
  double forward_compute_fraction = 1.0 / 3.0;
  /// HBM bytes moved per activation element a block linear quantizes (its input, per token, and
  /// its output gradient): amax, scale, cast and the transposed copy (torchao's float8 roofline,
  /// torchao/testing/training/roofline_utils.py; rowwise adds the rescale of its tensorwise
  /// backward GEMMs, pytorch/ao#2184). nvfp4 has no measurement and reuses mxfp8's.
  double quant_act_bytes_tensorwise = 6.0;
  double quant_act_bytes_rowwise = 10.0;
  double quant_act_bytes_block_scaled = 6.06;
  /// The same per weight element, once per micro-batch (forward and transposed backward copies);
  /// with fp8 all-gather the cast runs on the bf16 shard before the gather (same source).
  double quant_weight_bytes_tensorwise = 8.0;
  double quant_weight_bytes_rowwise = 14.0;
  double quant_weight_bytes_block_scaled = 6.06;
  double quant_weight_bytes_fp8_all_gather = 3.0;
  /// Fraction of HBM bandwidth the cast kernels reach inside a step (measured B200 MXFP8 casts:
  /// 53-61% of 8 TB/s, torchao moe_training README kernel table; fitted on the H100 fp8/bf16
  /// ratios of tests/data/measurements.json).
  double quant_bandwidth_fraction = 0.575;
  /// A low-precision GEMM's fixed per-GEMM seconds (launch, tail, the cast kernels' own) over a
  /// bf16 GEMM's: its linears reach half of their maximum efficiency at low/bf16 peak × this
  /// times bf16's half work (fitted: the 30 compiled H200 block-linear pairs of
  /// tests/data/block-linears-h200.json, least squares in the log of the speed-up).
  double low_precision_fixed_cost_factor = 1.6;
  /// A GPU run below its TDP computes at (limit / TDP)^this of its tensor rate: cuBLAS's BF16
  /// 8192^3 GEMM on the 500 W H100 runs at 585 of the 700 W part's 795 TFLOP/s
  /// (pytorch/FBGEMM#2546, pranjalssh/fast.cu's README), ln(585/795) / ln(500/700) = 0.91.
  double power_clock_exponent = 0.91;
  /// The search ranks a low-precision plan as if this fraction slower (dearer): the largest error
  /// of the model's low-precision / bf16 speed-up over the measured pairs of
  /// tests/data/measurements.json (test_time_model recomputes it). A predicted gain inside it is
  /// not one the model resolves, so bf16 keeps first place; 0 ranks by the prediction alone.
  double low_precision_rank_margin = 0.105;
  /// Host time to issue one block's forward + backward kernels per micro-batch in eager mode
  /// (~500 ops x ~16 us with FSDP2 hooks); the GPU cannot run faster (fitted: the 1B runs).
  double eager_cpu_seconds_per_block = 8.2e-3;
  double compiled_cpu_fraction = 0.3; ///< compiled regions issue fewer, larger kernels (assumed)
  /// NCCL bus bandwidth over the link rate in isolation (nccl-tests: ~0.8 on NVLink, ~0.7 on
  /// EFA; assumption, not fitted).
  double intra_node_bus_fraction = 0.8;
  double inter_node_bus_fraction = 0.7;
  /// How much slower FSDP2's collectives run inside a training step than in isolation: they share
  /// SMs and HBM with the compute kernels (fitted: soft-L1 in log tokens/s over the 53 dense
  /// tokens/s rows of tests/data, 8 to 128 GPUs; docs/time-model.md section 6).
  double collective_contention = 1.75;
  /// NCCL's latency of one ring collective, Simple protocol (SageMaker's torchrun driver sets
  /// NCCL_PROTO=simple): a base, then per step one NVLink hop or, at a node boundary, one network
  /// hop (NVIDIA/nccl v2.28.9-1, src/graph/tuning.cc: baseLat, hwLat, and the ring latency sum;
  /// the version the PyTorch 2.11 cu130 image loads). Not fitted.
  double nccl_base_latency_s = 8.4e-6;
  double nccl_nvlink_hop_latency_s = 3.4e-6;
  double nccl_network_hop_latency_s = 14.0e-6;
  /// Share of each phase's compute that hides that phase's collectives (fitted: 0; the published
  /// runs show no hidden communication). The first block's collective is never hidden.
  double overlap_fraction = 0.0;
  /// Host<->GPU copies of CPU offload per GPU (PCIe Gen4 x16 achievable; assumption).
  double pcie_bytes_per_s = 2.5e10;
  /// Network bits/s per node when the cluster is given as GPUs, not an instance type: the EFA
  /// of ml.p5.48xlarge and ml.p6-b200.48xlarge (configs/instances).
  double default_node_network_bits_per_s = 3.2e12;
  /// Host memory bandwidth per node the CPU optimizer streams at (assumption, not validated).
  double host_memory_bytes_per_s = 2.0e11;
  // The tokens/s band (docs/time-model.md, "Bands"): how far a real run may be from the estimate.
  /// The 5 % and 95 % quantiles of measured / predicted - 1 over the 46 dense tokens/s rows of
  /// tests/data on GPUs measured at full power, rounded up (tests/test_bands.cpp recomputes
  /// them). The lower edge is estimate / (1 + low), the upper estimate x (1 + high): both are
  /// factors, so widening never reaches zero.
  double band_low_fraction = 0.17;
  double band_high_fraction = 0.21;
  /// Longest sequence of a shipped throughput measurement; each doubling beyond widens both edges.
  double band_measured_seq_len = 8192;
  double band_fraction_per_seq_doubling = 0.15;
  /// A GPU no shipped run measured at full power: what the B200 rows (parts limited to 750 W,
  /// predicted at that limit) and the MI300X rows need beyond band_low_fraction (predicted /
  /// measured - 1 up to 99 %).
  double band_unmeasured_gpu_fraction = 0.82;
  /// Largest shipped job; each doubling of GPUs beyond widens both edges.
  double band_measured_gpu_count = 128;
  double band_fraction_per_scale_doubling = 0.05;
  /// Context parallelism: the measured context-parallel runs (tests/data/
  /// measurements-model-parallel.json, 8B at 64k-256k over cp 2-8) run slower than predicted
  /// beyond what the sequence widening covers; the lower edge widens by this per doubling of cp.
  double band_low_fraction_per_cp_doubling = 0.0;
  /// Tensor parallelism: the upper edge widens by this for tp > 1 beyond the other widenings;
  /// 0 since the 2026-12-02 refit, which put the measured tensor-parallel run inside the base.
  double band_tensor_parallel_fraction = 0.0;
  /// Mixtures of experts (grouped GEMMs, all-to-all dispatch, routing imbalance): both edges
  /// widen by this until measured mixture runs pin it down (docs/time-model.md, "Mixtures").
  double band_mixture_fraction = 0.25;
  /// GPUs whose throughput shipped runs measured at full power (by catalog name).
  std::vector<std::string> band_measured_gpus = {"a100-sxm-80gb", "h100-hbm2e-96gb",
                                                 "h100-sxm-80gb", "h200"};
};

/// The tokens/s band of a configuration: relative edges and why they are wider.
struct ThroughputBand {
  double low_fraction = 0; ///< lower edge = estimate / (1 + low_fraction)
  double high_fraction = 0;
  Widenings widened = 0;
};
/// `mixture`: the model is a mixture of experts (TimeConstants::band_mixture_fraction).
[[nodiscard]] ThroughputBand throughput_band(const TrainingConfig& c, const GpuSpec& gpu,
                                             const TimeConstants& k, bool mixture);

/// FLOPs per token of one training step (forward + backward).
struct FlopCounts {
  /// 6 x non-embedding parameters (the output head counts, tied or not) + attention, with no
  /// causal discount: torchtitan's get_num_flop_per_token, so MFU compares with torchtitan's.
  double model_flops_per_token = 0;
  /// Model FLOPs + the forward work activation checkpointing recomputes.
  double hardware_flops_per_token = 0;
  double attention_flops_per_token = 0; ///< 12·L·q_dim·s (attention_flops()), in the model's
};

[[nodiscard]] FlopCounts flops_per_token(const ModelSpec& m, const TrainingConfig& c);
[[nodiscard]] FlopCounts flops_per_token(const ModelSpec& m, const ModelFacts& facts,
                                         const TrainingConfig& c);

/// One optimizer step on one GPU. Seconds are per step (all micro-batches); collective seconds
/// are what the collective takes, exposed or not; bytes are each collective's unsharded payload
/// per step, before the ring's (N-1)/N.
struct StepTime {
  double compute_s = 0; ///< forward + backward + recompute (or the host issue time if longer)
  double allgather_s = 0;
  double reduce_scatter_s = 0;
  double all_reduce_s = 0; ///< HSDP replica all-reduce, or DDP's gradient all-reduce
  /// Tensor parallelism's all-gathers and reduce-scatters of activations (sequence parallel),
  /// and context parallelism's all-gathers of keys and values with the reduce-scatters of their
  /// gradients: on the critical path, never hidden.
  double tensor_parallel_s = 0;
  double context_parallel_s = 0;
  /// Expert parallelism's all-to-all dispatch and combine of routed tokens: on the critical
  /// path, never hidden (torchtitan's standard MoE waits for them).
  double expert_parallel_s = 0;
  /// Pipeline parallelism: the fill and drain's idle micro-batch times ((pp - 1) / stages per
  /// rank of the slowest rank's), and the point-to-point sends they wait for (in exposed_comm_s).
  double pipeline_bubble_s = 0;
  double pipeline_send_s = 0;
  double exposed_comm_s = 0; ///< collective time not hidden behind compute
  double offload_s = 0;      ///< CPU offload's host<->GPU copies
  double optimizer_s = 0;    ///< gradient clipping + optimizer step
  double step_s = 0;         ///< compute + pipeline bubble + exposed comm + offload + optimizer
  double allgather_bytes = 0;
  double reduce_scatter_bytes = 0;
  double all_reduce_bytes = 0;
  double tokens_per_s_per_gpu = 0;
  double tokens_per_s_job = 0;
  /// The band's edges of tokens_per_s_per_gpu (docs/time-model.md, "Bands").
  double tokens_per_s_per_gpu_low = 0, tokens_per_s_per_gpu_high = 0;
  Widenings band_widened = 0;
  /// Hardware (model) utilisation: the share of the step the tensor cores would need at the
  /// dense peak of the precision each matmul runs in, for the FLOPs executed (causal attention
  /// counted as the half a causal kernel computes; HFU adds recompute). Never above 1.
  double mfu = 0;
  double hfu = 0;
  /// torchtitan's MFU convention: model FLOPs with non-causal attention over the bf16 dense peak,
  /// for every precision (comparable with torchtitan's logs; can exceed 1 at long sequences).
  double mfu_torchtitan = 0;
  double achieved_efficiency = 0; ///< modelled fraction of peak the matmuls reach
  Bottleneck bottleneck = Bottleneck::compute;
};

/// The step for `c` (validated beforehand) on GPUs `gpu` joined by `net`. A single GPU, or a
/// job whose collectives should cost nothing (a fake process group), may pass a Network with
/// huge bandwidths.
[[nodiscard]] StepTime estimate_step_time(const ModelSpec& m, const TrainingConfig& c,
                                          const GpuSpec& gpu, const Network& net,
                                          const TimeConstants& k = {});
/// The same with the model's facts computed once.
[[nodiscard]] StepTime estimate_step_time(const ModelSpec& m, const ModelFacts& facts,
                                          const TrainingConfig& c, const GpuSpec& gpu,
                                          const Network& net, const TimeConstants& k = {});

/// What estimate_step_time() computes for a configuration that does not depend on its
/// micro-batch or grad-accum (the search's per-combination part; docs/architecture.md, "Search
/// speed"). Seconds of collectives are per micro-batch.
struct StepTerms {
  FlopCounts flops;
  double seq_len = 0;
  double hidden = 0;
  double vocab = 0;
  double layers = 0;
  double efficiency_max = 0, half_work = 0; ///< matmul efficiency = max × x / (x + half_work)
  double matmul_s_per_token = 0; ///< GEMMs (block linears + output head) at full efficiency
  double linear_s_per_token = 0; ///< the block linears' part, in the run precision
  /// The routed experts' part of linear_s_per_token: grouped GEMMs over expert_rows_ratio x the
  /// micro-batch's tokens rows (experts_per_token: one kernel runs every routed copy on the
  /// rank's experts), so they reach the matmul efficiency of that much work.
  double expert_s_per_token = 0;
  double expert_rows_ratio = 1;
  double grouped_gemm_efficiency = 1; ///< TimeConstants::grouped_gemm_efficiency
  double attention_s_per_token = 0;   ///< causal attention at its kernels' efficiency
  /// Every executed matmul FLOP (attention included) at the dense peak: HFU's numerator.
  double peak_s_per_token = 0;
  /// Where the block linears reach half of their maximum efficiency, in units of half_work: 1 in
  /// bf16; low-precision peak over bf16's × low_precision_fixed_cost_factor otherwise.
  double low_half_scale = 1;
  double quant_act_bytes = 0;    ///< quantization traffic per activation element
  double quant_weight_bytes = 0; ///< per micro-batch, every block weight's cast
  double quant_bytes_per_s = 0;  ///< HBM bandwidth the cast kernels reach
  double dequant_bytes = 0; ///< QLoRA: HBM traffic of dequantizing the NF4 base, per micro-batch
  double block_rows_cols = 0;
  double activation_passes = 0;
  double activation_bytes_per_token = 0; ///< every block's (and the recomputed) activation bytes
  LogitsMemory logits;                   ///< per logit element (tokens × vocab)
  double hbm_bytes_per_s = 0;
  double cpu_s = 0;           ///< host issue time of one micro-batch
  bool no_sync = false;       ///< gradients reduce once per step (reduces_once_per_step())
  bool gathered_once = false; ///< parameters gather once per step (gathers_once_per_step())
  double ag_fwd_s = 0, ag_bwd_s = 0, rs_s = 0, ar_s = 0;
  double ag_fwd_bytes = 0, ag_bwd_bytes = 0, rs_bytes = 0, ar_bytes = 0;
  /// Tensor- and context-parallel collectives of one micro-batch: seconds per sequence of the
  /// micro-batch (bandwidth) plus a fixed part (each call's latency).
  double tp_s_per_sequence = 0, tp_latency_s = 0;
  double cp_s_per_sequence = 0, cp_latency_s = 0;
  bool tp_inter = false, cp_inter = false;
  /// Expert parallelism's all-to-alls of one micro-batch, likewise.
  double ep_s_per_sequence = 0, ep_latency_s = 0;
  bool ep_inter = false;
  /// Pipeline parallelism: idle micro-batch times per step, and the sends on its critical path.
  double bubble_micro_batches = 0;
  double p2p_s_per_sequence = 0, p2p_latency_s = 0, p2p_sends = 0;
  bool p2p_inter = false;
  /// The share of a sequence's tokens one GPU is credited with: 1 / (tp x pp)
  double gpu_share = 1;
  bool shard_inter = false, replica_inter = false;
  double units = 0; ///< FSDP units: blocks + root
  double overlap_fraction = 0;
  double forward_fraction = 1.0 / 3.0; ///< TimeConstants::forward_compute_fraction
  bool offload = false;
  double gathers = 0; ///< parameter uploads per micro-batch under CPU offload
  double parameters_bytes = 0, gradients_bytes = 0, pcie_bytes_per_s = 0;
  double optimizer_s = 0;
  double gpus = 0;
  double bf16_peak = 0;
  /// The executed share of the hardware FLOPs that is model work (not recompute), counting
  /// causal attention as executed: MFU = HFU × this.
  double model_share = 1;
  ThroughputBand band;
};
[[nodiscard]] StepTerms step_terms(const ModelSpec& m, const ModelFacts& facts,
                                   const TrainingConfig& c, const GpuSpec& gpu, const Network& net,
                                   const TimeConstants& k = {});
/// The same with `c`'s model states already computed (estimate_model_states of its slice).
[[nodiscard]] StepTerms step_terms(const ModelSpec& m, const ModelFacts& facts,
                                   const TrainingConfig& c, const GpuSpec& gpu, const Network& net,
                                   const TimeConstants& k, const ModelStates& states);
/// The same given `slice` = tensor_parallel_facts(m, c.tp) as well (memory_terms_for_slice()).
[[nodiscard]] StepTerms step_terms(const ModelSpec& m, const ModelFacts& facts,
                                   const ModelFacts& slice, const TrainingConfig& c,
                                   const GpuSpec& gpu, const Network& net, const TimeConstants& k,
                                   const ModelStates& states);
/// GPU seconds of one block's linears (forward + backward GEMMs, recompute, and in low precision
/// their casts) for one micro-batch: the part tests/data/block-linears-h200.json measures.
[[nodiscard]] double block_linears_seconds(const StepTerms& t, std::int64_t micro_batch);
/// estimate_step_time() for `t`'s configuration with this micro-batch and grad-accum.
[[nodiscard]] StepTime estimate_step_time(const StepTerms& t, std::int64_t micro_batch,
                                          std::int64_t grad_accum);

/// The figures the search ranks by: estimate_step_time(t, ...)'s, bit for bit.
struct StepRate {
  double step_s = 0;
  double tokens_per_s_job = 0;
};
/// Only the step and the job's tokens/s of estimate_step_time(t, micro_batch, grad_accum): the
/// search's inner loop (tests/test_search_fast.cpp checks the two).
[[nodiscard]] StepRate step_rate(const StepTerms& t, std::int64_t micro_batch,
                                 std::int64_t grad_accum);

} // namespace bwplan
