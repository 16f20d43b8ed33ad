/// \file
/// Per-GPU memory of one FSDP training step, component by component and phase by phase.
/// Formulas, constants and their sources: docs/model.md, "Memory".
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/enums.hpp"
#include "bwplan/hardware.hpp"
#include "bwplan/model_spec.hpp"
#include "bwplan/training_config.hpp"

namespace bwplan {

// ---- Model states -------------------------------------------------------------------------

/// Bytes per element of QLoRA's NF4 base: 4 bits plus double-quantized block scales, 0.127 bits
/// (Dettmers et al. 2023, "QLoRA", section 3: 8-bit scales per 64 elements, fp32 per 256 scales).
inline constexpr double k_nf4_bytes_per_element = (4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0)) / 8.0;

/// The tokens in each chunk of Liger Kernel's fused linear cross-entropy over `tokens` tokens:
/// `next_power_of_2(ceil(tokens / ceil(vocab / hidden)))`, no more than `tokens`
/// (linkedin/Liger-Kernel@05b43a14913ced3776aa3fc50020089b8c0d63c1:
/// src/liger_kernel/ops/fused_linear_cross_entropy.py, fused_linear_cross_entropy_forward).
[[nodiscard]] double fused_linear_chunk_tokens(double tokens, double vocab, double hidden);

/// What quantizing one bf16 tensor of `elements` to NF4 holds at its peak, the tensor included
/// (docs/model.md, "Fine-tuning"): torchao's NF4Tensor.from_tensor keeps the bf16 input and its
/// block-scaled copy (2 + 2 bytes per element), then compares every element with the 16 NF4
/// levels in bf16: chunked, 2^20 elements at a time (2 × 32 bytes each) into a uint8 index
/// tensor (1 byte per element), then packs two indices per byte (2 × 0.5); unchunked (torchao 0.1),
/// the whole tensor at once (`(value - nf4).abs()`: 32 bytes per element, twice).
struct Nf4QuantizeBytes {
  double peak = 0;    ///< all of it at once
  double largest = 0; ///< its largest single tensor
};
[[nodiscard]] Nf4QuantizeBytes nf4_quantize_bytes(Nf4Quantizer q, double elements);

/// Bytes per element of the persistent (sharded) model states for a precision.
struct StateDtypes {
  double param_bytes = 4;   ///< sharded parameter (the fp32 master under mixed precision)
  double grad_bytes = 4;    ///< sharded gradient (same dtype as the parameter in FSDP2)
  double compute_bytes = 2; ///< unsharded parameters, activations (bf16 unless fp32)
  double reduce_bytes = 4;  ///< reduce-scatter / accumulation dtype (fp32 under mixed)
};
[[nodiscard]] StateDtypes state_dtypes(Precision p);
/// The same with the configuration's reduce dtype (its trainer's default, or as set).
[[nodiscard]] StateDtypes state_dtypes(const TrainingConfig& c);

/// Model states held by one GPU (the most loaded rank: FSDP2 pads dim 0 of every tensor to a
/// multiple of the shard group, so rank 0 holds ceil(rows / N) rows of each).
struct ModelStates {
  double parameters_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  std::int64_t sharded_params = 0; ///< trainable parameter elements on this GPU
  double frozen_bytes = 0;         ///< fine-tuning's frozen base on this GPU (in parameters_bytes)
  [[nodiscard]] double total_bytes() const {
    return parameters_bytes + gradients_bytes + optimizer_bytes;
  }
};

/// Parameters, gradients and optimizer states per GPU for `c` (validated beforehand): its
/// tensor- and expert-parallel slice of `m`, sharded over the shard group (routed experts over
/// the shard group / ep).
[[nodiscard]] ModelStates estimate_model_states(const ModelSpec& m, const TrainingConfig& c);
/// The same over the tensors of `f` as given: one rank's facts (rank_facts()) when c.tp or c.ep
/// is above 1.
[[nodiscard]] ModelStates estimate_model_states(const ModelFacts& f, const TrainingConfig& c);

/// Optimizer state bytes for one tensor shard of `rows` × `cols` elements whose parameter has
/// `param_bytes` bytes per element.
[[nodiscard]] double optimizer_state_bytes(Optimizer o, std::int64_t rows, std::int64_t cols,
                                           double param_bytes);

// ---- Activations and logits ---------------------------------------------------------------

/// Bytes per token that one transformer block keeps for backward, and the transient working
/// set its backward needs (docs/model.md, "Activations").
struct BlockActivations {
  double saved_per_token = 0;     ///< kept from forward to backward (per AC mode)
  double full_per_token = 0;      ///< everything autograd saves with no checkpointing
  double recompute_per_token = 0; ///< rematerialised in backward (full - saved)
  double grad_work_per_token = 0; ///< activation gradients alive inside one block's backward
};

/// Per-token activation bytes of one block for `c`'s precision, compile flag and backend.
/// `checkpointed` selects the block's AC treatment (the mode itself, or for selective-layer
/// whether this block is one of the checkpointed ones).
[[nodiscard]] BlockActivations block_activations(const ModelSpec& m, const TrainingConfig& c,
                                                 ActivationCheckpointing mode);

/// Tokens of one micro-batch on one GPU: micro-batch x sequence / cp (context parallelism splits
/// each sequence; tensor-parallel ranks see all of it).
[[nodiscard]] double local_tokens(const TrainingConfig& c);

/// Saved activation bytes of all blocks for one micro-batch.
[[nodiscard]] double saved_activation_bytes(const ModelSpec& m, const TrainingConfig& c);

/// saved_activation_bytes() = (tokens × first) × second, the product in the order it is rounded
/// (selective-layer sums its checkpointed and plain blocks into `first`).
struct SavedActivationFactors {
  double first = 0;
  double second = 1;
};
[[nodiscard]] SavedActivationFactors saved_activation_factors(const ModelSpec& m,
                                                              const TrainingConfig& c);

/// Logits and cross-entropy bytes live at the end of forward and at the start of backward.
struct LogitsMemory {
  double forward_bytes = 0;
  double backward_bytes = 0;
  double largest_tensor_bytes = 0; ///< the biggest single allocation (allocator fragmentation)
  /// Bytes per element the loss writes and reads over the step (HBM traffic): forward +
  /// backward, or every chunk's when only one chunk is alive at a time.
  double traffic_bytes = 0;
  /// Bytes per element still alive after the loss's backward, through the decoder's backward,
  /// the optimizer step and the next micro-batch's forward (a loop that keeps its logits).
  double held_bytes = 0;
};
[[nodiscard]] LogitsMemory logits_memory(const ModelSpec& m, const TrainingConfig& c);
/// logits_memory() per element of the micro-batch's tokens × vocab logits.
[[nodiscard]] LogitsMemory logits_per_element(const TrainingConfig& c);

// ---- The step -----------------------------------------------------------------------------

enum class MemoryComponent : std::uint8_t {
  parameters, ///< sharded parameters (master copy)
  gradients,  ///< sharded gradients (or unsharded, accumulating with sync disabled)
  optimizer_states,
  fsdp_buffers,   ///< unsharded params/grads of working blocks, root group, reduce-scatter
  activations,    ///< saved for backward + one block's backward working set
  logits,         ///< output logits and cross-entropy
  low_precision,  ///< quantized weight copies and scales
  optimizer_temp, ///< foreach optimizer temporaries during the step
  stack_fixed,    ///< a stack's fixed buffers (MemoryConstants::fixed_bytes; 0 shipped)
  count_
};
inline constexpr std::array<std::string_view, 9> k_memory_component_names = {
    "parameters", "gradients",     "optimizer_states", "fsdp_buffers", "activations",
    "logits",     "low_precision", "optimizer_temp",   "stack_fixed"};
static_assert(k_memory_component_names.size() == static_cast<std::size_t>(MemoryComponent::count_));

enum class StepPhase : std::uint8_t {
  load,           ///< the weights load before the first step (QLoRA quantizes its base here)
  forward_end,    ///< loss computed: all activations and the forward logits live
  backward_start, ///< loss backward: logits gradients at their largest
  backward_block, ///< first block's backward: recompute and FSDP backward buffers
  backward_end,   ///< all gradients produced, root group reducing
  optimizer_step,
  count_
};
inline constexpr std::array<std::string_view, 6> k_step_phase_names = {
    "load", "forward_end", "backward_start", "backward_block", "backward_end", "optimizer_step"};
static_assert(k_step_phase_names.size() == static_cast<std::size_t>(StepPhase::count_));

using ComponentBytes = std::array<double, static_cast<std::size_t>(MemoryComponent::count_)>;

/// Physical constants of the allocator and runtime (docs/model.md, "Constants").
struct MemoryConstants {
  /// Share of the largest transient tensor the caching allocator cannot reuse after it is freed
  /// (fitted to the 22 H100 runs in tests/data/measurements-h100-fakepg.json).
  double fragmentation_fraction = 0.6;
  /// Share of the allocated peak that PyTorch's default fixed-size segments hold beyond
  /// expandable ones (fitted to the 13 H200 FSDP2 runs in
  /// tests/data/measurements-h200-fixed-segments.json and their expandable twins).
  double fixed_segments_fraction = 0.04;
  double cuda_context_bytes = 0.75e9; ///< CUDA context + cuBLAS/cuDNN handles
  /// What the driver keeps of a GPU's memory_bytes where its CUDA total is not published.
  double driver_reserved_bytes = 0.82e9;
  double nccl_bytes_per_communicator = 0.7e9;
  double headroom_fraction = 0.0; ///< capacity kept free for safety
  /// Saved activations and a block's backward working set relative to the model's count: 1 for
  /// the trainers docs/model.md derives; `bwplan calibrate` fits it to a stack that saves more
  /// (or less) per token.
  double activation_scale = 1.0;
  /// Bytes per logit element (tokens x vocab) a stack's loss holds beyond the model's count,
  /// where the logits are alive: 0 shipped; `bwplan calibrate` fits it (e.g. an fp32 upcast and a
  /// shifted copy, 8 bytes).
  double extra_logit_bytes = 0.0;
  /// Bytes per GPU a stack holds whatever the batch, beyond the CUDA context and the NCCL
  /// communicators: a communication library's registered buffers (DeepEP's NVSHMEM pool),
  /// bucket pools. 0 shipped (torchtitan over NCCL holds none); `bwplan calibrate` fits it.
  double fixed_bytes = 0.0;
  // The band (docs/model.md, "Bands"): how far a real run's peak may be from the estimate.
  /// The smallest fractions, in steps of 0.01, that hold 95 % of every measured peak in
  /// tests/data (345 of 361 under the upper edge, 343 above the lower) each edge with its
  /// widenings, the upper one no more than a median 12 % above the estimate: tests/test_bands.cpp
  /// recomputes them.
  double band_low_fraction = 0.15;
  double band_high_fraction = 0.06;
  /// Longest sequence of a shipped memory measurement; each doubling beyond widens both edges.
  double band_measured_seq_len = 16384;
  double band_fraction_per_seq_doubling = 0.03;
  /// A GPU no shipped run measured: the spread of one configuration's error across measured GPUs.
  double band_unmeasured_gpu_fraction = 0.04;
  /// An unfused loss as trainers other than torchtitan write it may hold one more fp32 copy of
  /// the logits (transformers' ForCausalLMLoss: .float() then a .contiguous() shifted copy): added
  /// to the phases the logits are alive in.
  double band_unfused_bytes_per_logit = 4;
  /// bf16-pure is what ZeRO stacks run; DeepSpeed's default reduce and all-gather buckets
  /// (5e8 elements each, bf16) are not in an FSDP2 model.
  double band_bf16_pure_bytes = 2e9;
  /// Tensor parallelism: the one measured tensor-parallel peak (tests/data/
  /// measurements-model-parallel.json, 70B over FSDP 32 x TP 8) reads 16 % above its estimate
  /// (32.7 % before loss parallelism's fp32 copy was counted); the upper edge widens by that,
  /// rounded up, for tp > 1 until more runs pin the cause down.
  double band_tensor_parallel_fraction = 0.16;
  /// Pipeline parallelism: the measured pipeline-parallel peaks (tests/data/
  /// measurements-pipeline-parallel.json, 405B over PP 8) read up to 11.6 % above their estimates;
  /// the upper edge widens by that, rounded up, for pp > 1.
  double band_pipeline_parallel_fraction = 0.12;
  /// Mixtures of experts under expert parallelism (routing taken as balanced): the upper edge
  /// widens by this, the smallest that holds every measured peak under ep (24 in tests/data;
  /// docs/model.md, "Mixtures of experts").
  double band_mixture_fraction = 0.12;
  /// GPUs that shipped memory measurements cover (by catalog name).
  std::vector<std::string> band_measured_gpus = {"a100-sxm-80gb", "b200", "h100-hbm2e-96gb",
                                                 "h100-sxm-80gb", "mi300x"};
};

/// What a band is wider for: the reasons a configuration lies outside what the measured runs
/// cover (the names are JSON values).
enum class Widening : std::uint8_t {
  sequence,          ///< longer sequences than any measured run
  gpu,               ///< a GPU no measured run used
  scale,             ///< more GPUs than any measured run
  unfused_loss,      ///< trainers' unfused losses hold different numbers of logits copies
  bf16_pure,         ///< pure-bf16 (ZeRO-style) stacks hold buffers FSDP2 does not
  tensor_parallel,   ///< tensor parallelism: few measured runs
  context_parallel,  ///< context parallelism: few measured runs
  pipeline_parallel, ///< pipeline parallelism: few measured runs
  mixture, ///< a mixture of experts (memory: under expert parallelism, few measured peaks)
  mixture_checkpointing, ///< a checkpointed mixture that measured runs held more than estimated
  count_
};
inline constexpr std::array<std::string_view, 10> k_widening_names = {
    "sequence_beyond_measured",
    "gpu_not_measured",
    "scale_beyond_measured",
    "unfused_loss_varies",
    "bf16_pure_stack",
    "tensor_parallel_sparsely_measured",
    "context_parallel_sparsely_measured",
    "pipeline_parallel_sparsely_measured",
    "mixture_of_experts_not_measured",
    "mixture_checkpointing_held_more"};
static_assert(k_widening_names.size() == static_cast<std::size_t>(Widening::count_));
/// A set of Widening reasons, one bit each.
using Widenings = std::uint32_t;
[[nodiscard]] constexpr Widenings bit(Widening w) {
  return Widenings{1} << static_cast<unsigned>(w);
}

/// What the memory band adds for a configuration: relative edges on the peaks, and bytes the
/// upper edge adds (per logit element, per saved token and block, and fixed).
struct MemoryBand {
  double low_fraction = 0;
  double high_fraction = 0;
  double high_bytes_per_logit = 0;
  double high_bytes_per_token_block = 0;
  double high_bytes = 0;
  Widenings widened = 0;
};
/// The band of `c` training `m` (a mixture of experts widens by
/// MemoryConstants::band_mixture_fraction under expert parallelism and, checkpointed, by what its
/// runs held beyond the estimate: docs/model.md, "Mixtures of experts").
[[nodiscard]] MemoryBand memory_band(const ModelSpec& m, const TrainingConfig& c,
                                     const GpuSpec& gpu, const MemoryConstants& k);

/// Whether a plan fits: with the band's upper edge, only as estimated, or not at all.
enum class Verdict : std::uint8_t { fits, at_risk, out_of_memory, count_ };
template <> struct EnumTraits<Verdict> {
  static constexpr std::string_view what = "verdict";
  static constexpr std::array<std::string_view, 3> names = {"fits", "at_risk", "out_of_memory"};
};
static_assert(k_enum_table_complete<Verdict>);

/// Usable less required memory, in whole bytes of the whole bytes each is written as (JSON's
/// usable_bytes less device_bytes_required, to the byte): an estimate's and a search candidate's.
[[nodiscard]] inline double whole_headroom_bytes(double usable, double required) {
  return std::round(usable) - std::round(required);
}

struct MemoryEstimate {
  std::array<ComponentBytes, static_cast<std::size_t>(StepPhase::count_)> phases{};
  StepPhase peak_phase = StepPhase::forward_end;
  double peak_allocated_bytes = 0;
  double peak_reserved_bytes = 0;
  double runtime_bytes = 0;         ///< CUDA context + NCCL communicators
  double device_bytes_required = 0; ///< reserved + runtime
  /// The reserved peak the step reaches with room to spare does not fit beside the runtime: the
  /// caching allocator returns cached memory to CUDA and retries (expandable segments only), so
  /// the reserved peak is what the device has left. Each retry synchronizes the device.
  bool allocator_retries = false;
  /// The same at the band's upper edge (device_bytes_required_high is then the whole capacity).
  bool allocator_retries_high = false;
  /// The band's edges (docs/model.md, "Bands").
  double peak_allocated_low_bytes = 0, peak_allocated_high_bytes = 0;
  double peak_reserved_low_bytes = 0, peak_reserved_high_bytes = 0;
  double device_bytes_required_high = 0; ///< reserved's upper edge + runtime
  Widenings band_widened = 0;
  double capacity_bytes = 0;
  double usable_bytes = 0;        ///< capacity less the safety headroom
  double host_bytes_per_node = 0; ///< pinned host memory for CPU offload (0 without)
  std::int64_t pipeline_rank = 0; ///< the pipeline rank these figures are for (the fullest)
  ModelStates states;
  [[nodiscard]] const ComponentBytes& at_peak() const {
    return phases[static_cast<std::size_t>(peak_phase)];
  }
  [[nodiscard]] double headroom_bytes() const {
    return whole_headroom_bytes(usable_bytes, device_bytes_required);
  }
  /// What the estimate leaves beside its allocated peak and the runtime: the memory to spare when
  /// the allocator has returned its cache (allocator_retries).
  [[nodiscard]] double allocated_headroom_bytes() const {
    return usable_bytes - peak_allocated_bytes - runtime_bytes;
  }
  /// The same at the band's upper edge (allocator_retries_high).
  [[nodiscard]] double allocated_headroom_high_bytes() const {
    return usable_bytes - peak_allocated_high_bytes - runtime_bytes;
  }
  [[nodiscard]] bool fits() const { return device_bytes_required <= usable_bytes; }
  [[nodiscard]] Verdict verdict() const {
    return device_bytes_required_high <= usable_bytes ? Verdict::fits
           : fits()                                   ? Verdict::at_risk
                                                      : Verdict::out_of_memory;
  }
};

[[nodiscard]] double phase_total(const ComponentBytes& c);

/// The whole step for `c` on `gpu` (validated beforehand).
[[nodiscard]] MemoryEstimate estimate_memory(const ModelSpec& m, const TrainingConfig& c,
                                             const GpuSpec& gpu, const MemoryConstants& k = {});
/// The same with the model's facts computed once.
[[nodiscard]] MemoryEstimate estimate_memory(const ModelSpec& m, const ModelFacts& f,
                                             const TrainingConfig& c, const GpuSpec& gpu,
                                             const MemoryConstants& k = {});

/// What estimate_memory() computes for a configuration that does not depend on its micro-batch
/// or grad-accum. The search computes it once per combination of the other axes, then evaluates
/// each micro-batch in a few dozen operations (docs/architecture.md, "Search speed").
struct MemoryTerms {
  double seq_len = 0;
  double vocab = 0;
  SavedActivationFactors saved;        ///< saved activations = tokens × first × second
  double block_backward_per_token = 0; ///< the first block's recompute + gradient working set
  LogitsMemory logits;                 ///< per logit element (tokens × vocab)
  /// torchtitan's chunked-head loss (ChunkedCELoss): what its chunk loop holds beside the chunk's
  /// logits: the output head's gradient accumulating unsharded (and one chunk's new one), and per
  /// local token its fp32 hidden-state gradient buffer (plus the chunks' copies when a micro-batch
  /// holds more than one sequence).
  double loss_head_bytes = 0, loss_hidden_per_token = 0, loss_chunk_copy_per_token = 0;
  /// Liger's fused linear cross-entropy (Loss::fused_linear): its chunks are
  /// fused_linear_chunk_tokens(tokens, vocab, `fused_linear_hidden`) of a micro-batch's tokens
  /// (`fused_linear_hidden` 0: another loss); each chunk's logits, `fused_linear_chunk_bytes` per
  /// element, exist one at a time (one is the allocator's largest transient); from the loss to the
  /// decoder's backward it holds its input's gradient and the fp32 per-token loss,
  /// `fused_linear_held_per_token`, and the head's weight gradient, `fused_linear_head_grad`.
  double fused_linear_hidden = 0, fused_linear_chunk_bytes = 0, fused_linear_held_per_token = 0,
         fused_linear_head_grad = 0;
  /// An fp32 head (TrainingConfig::head_fp32): the fp32 weight copy F.linear saves from the
  /// head's forward to its backward (one per micro-batch in flight), the fp32 weight gradient its
  /// backward makes, and per local token the fp32 copy of its input it saves; at the end of
  /// forward and the start of backward, or all in the loss phase when the loss runs each chunk's
  /// backward inside it (chunked-head: one chunk's input at a time).
  double head_fp32_copy = 0, head_fp32_grad = 0, head_fp32_input_per_token = 0;
  bool head_fp32_in_loss = false;
  double parameters = 0, optimizer_states = 0, gradients = 0; ///< on the GPU (0 when offloaded)
  std::array<double, 2> gradients_forward{}; ///< live during forward, by [grad_accum > 1]
  /// One micro-batch's backward: routed experts outside FSDP (experts_outside_fsdp()) gain their
  /// gradients block by block as the gathered weights go; what they outgrow those by.
  double expert_grads_backward = 0;
  double fsdp_forward = 0, fsdp_backward_block = 0, fsdp_backward_end = 0;
  double low_precision = 0;
  double optimizer_temp = 0;
  double stack_fixed = 0; ///< MemoryConstants::fixed_bytes, held in every phase
  /// QLoRA: the NF4 quantizer's working memory for the largest base linear as the weights load,
  /// and the largest single tensor of it (the allocator's hole after it is freed).
  double load_transient = 0, load_largest = 0;
  bool fsdp_streams = false; ///< FSDP2's all-gather and reduce-scatter pools (not offloaded)
  bool no_sync = false;      ///< grad-accum mode no-sync
  double rs_input = 0;       ///< one block's reduce-scatter input
  double stream_pools = 0;   ///< 2 × rs_input + 2 × one block unsharded
  double fragmentation_fraction = 0;
  double fixed_segments_fraction = 0; ///< applies without expandable segments
  /// Expandable segments: the reserved peak stops at what the device has left (cap_reserved()).
  bool expandable_segments = false;
  double runtime_bytes = 0;
  double capacity_bytes = 0;
  double usable_bytes = 0;
  double host_bytes_per_node = 0;
  MemoryBand band;
  ModelStates states;
  /// Pipeline parallelism: this rank, the schedule that sets its micro-batches in flight, and the
  /// other ranks whose peak may be higher (pipeline_peak_ranks()); every estimate takes the one
  /// with the highest upper edge.
  std::int64_t pp = 1, pp_rank = 0;
  PipelineSchedule pp_schedule = PipelineSchedule::one_f_one_b;
  std::vector<MemoryTerms> other_ranks;
};
[[nodiscard]] MemoryTerms memory_terms(const ModelSpec& m, const ModelFacts& f,
                                       const TrainingConfig& c, const GpuSpec& gpu,
                                       const MemoryConstants& k = {});
/// The same given `slice` = tensor_parallel_facts(m, c.tp) (or model_facts(m) for tp 1), which
/// the search keeps one of per degree instead of slicing the model per combination.
[[nodiscard]] MemoryTerms memory_terms_for_slice(const ModelSpec& m, const ModelFacts& slice,
                                                 const TrainingConfig& c, const GpuSpec& gpu,
                                                 const MemoryConstants& k = {});
/// estimate_memory() for `t`'s configuration with this micro-batch and grad-accum.
[[nodiscard]] MemoryEstimate estimate_memory(const MemoryTerms& t, std::int64_t micro_batch,
                                             std::int64_t grad_accum);
/// Only estimate_memory(t, micro_batch, grad_accum).device_bytes_required: the same phases and
/// peak (one function builds both), without the estimate's other fields.
[[nodiscard]] double device_bytes_required(const MemoryTerms& t, std::int64_t micro_batch,
                                           std::int64_t grad_accum);
/// Only estimate_memory(t, micro_batch, grad_accum).device_bytes_required_high, bit for bit.
[[nodiscard]] double device_bytes_required_high(const MemoryTerms& t, std::int64_t micro_batch,
                                                std::int64_t grad_accum);
/// Both, with the estimate's peak computed once (the search's candidate evaluation).
struct DeviceBytes {
  double required = 0;      ///< device_bytes_required()
  double required_high = 0; ///< device_bytes_required_high()
};
[[nodiscard]] DeviceBytes device_bytes(const MemoryTerms& t, std::int64_t micro_batch,
                                       std::int64_t grad_accum);

} // namespace bwplan
