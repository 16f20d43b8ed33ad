/// \file
/// One training configuration: how a model is trained on a set of GPUs. Field names follow
/// the measurement cases of docs/bwplan.md (FILES), so a case and a configuration read alike.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "bwplan/enums.hpp"
#include "bwplan/model_spec.hpp"

namespace bwplan {

struct TrainingConfig {
  std::int64_t gpus = 8;          ///< GPUs in the job
  std::int64_t gpus_per_node = 8; ///< for the hybrid default shard group and the network model
  Sharding sharding = Sharding::full;
  std::int64_t shard_group = 0; ///< GPUs one parameter is sharded over; 0 = the mode's default
  std::int64_t tp = 1;          ///< tensor-parallel degree: each block's matmuls split over tp GPUs
  std::int64_t cp = 1;          ///< context-parallel degree: each sequence split over cp GPUs
  std::int64_t pp = 1;          ///< pipeline-parallel degree: the blocks split into pp stages
  /// expert-parallel degree: a mixture's routed experts split over ep GPUs of the shard group
  std::int64_t ep = 1;
  PipelineSchedule pp_schedule = PipelineSchedule::one_f_one_b;
  Precision precision = Precision::bf16;
  bool fp8_all_gather = false;  ///< FSDP all-gathers fp8 weights (torchao, tensorwise only)
  std::int64_t micro_batch = 1; ///< sequences per GPU per micro-step
  std::int64_t seq_len = 8192;
  /// micro-batches per optimizer step; with pp > 1 the pipeline's micro-batches (torchtitan's
  /// n_microbatches = local_batch_size / pipeline_parallel_microbatch_size)
  std::int64_t grad_accum = 1;
  ActivationCheckpointing activation_checkpointing = ActivationCheckpointing::selective_op;
  std::int64_t ac_every = 2; ///< selective-layer: checkpoint every N-th block
  Optimizer optimizer = Optimizer::adamw;
  bool compile = false; ///< torch.compile on the model
  Loss loss = Loss::unfused;
  /// The output head's matmul in fp32 (torchtitan's RL CastLinear): fp32 logits, and while the
  /// head runs an fp32 copy of its weight and an fp32 weight gradient; fp32 without TF32.
  bool head_fp32 = false;
  /// Under tensor parallelism, the head's logits all-gathered to every tp rank and the loss run
  /// there on the whole vocabulary (torchtitan's parallelism.disable_loss_parallel), not on each
  /// rank's vocabulary slice.
  bool disable_loss_parallel = false;
  Fp8Backend fp8_backend = Fp8Backend::torchao;
  GradAccumMode grad_accum_mode = GradAccumMode::reduce_scatter;
  Offload offload = Offload::none;
  OptimizerImpl optimizer_impl = OptimizerImpl::fused;
  NormImpl norm_impl = NormImpl::fused;
  SwigluImpl swiglu_impl = SwigluImpl::eager;
  FsdpWrap fsdp_wrap = FsdpWrap::per_module;
  /// What is trained (docs/model.md, "Fine-tuning"): everything, or low-rank adapters of rank
  /// lora_rank on lora_targets; lora_alpha scales them (no effect on memory or time);
  /// lora_dropout > 0 saves a dropped copy of each adapted linear's input and its mask, or with
  /// lora_dropout_position output a mask of each adapter's output; lora_dtype fp32 (PEFT) holds
  /// the adapters in fp32 and, outside FSDP's mixed precision, runs them on an fp32 copy of the
  /// input.
  Finetune finetune = Finetune::full;
  std::int64_t lora_rank = 16;
  std::int64_t lora_alpha = 32;
  LoraTargets lora_targets = LoraTargets::all;
  double lora_dropout = 0;
  LoraDropoutPosition lora_dropout_position = LoraDropoutPosition::input;
  LoraDtype lora_dtype = LoraDtype::fp32;
  /// QLoRA: how the base is quantized to NF4 at load (the load phase's working memory).
  Nf4Quantizer nf4_quantizer = Nf4Quantizer::chunked;
  /// The attention kernel (time only: both keep the same tensors).
  AttentionKernel attention_kernel = AttentionKernel::cudnn;
  /// K and V as attention receives them under GQA: native (torchtitan since
  /// pytorch/torchtitan@ff0829c1, 2026-01-27, so the launch files' 0.2.2) or repeated to the
  /// query heads (torchtitan before it). Measurement cases that do not name it read `repeat`
  /// (the larger), except Megatron's, whose Transformer Engine attention reads the groups.
  GqaKv gqa_kv = GqaKv::native;
  /// Whose choices the estimate describes (the memory band only). Measurement cases that do
  /// not name it read `other`: an unnamed trainer.
  Trainer trainer = Trainer::torchtitan;
  /// A mixture's layer (what it saves for backward) and when its routed experts are an FSDP unit.
  MoeImpl moe_impl = MoeImpl::trainer_default;
  ExpertFsdp expert_fsdp = ExpertFsdp::always;
  /// The caching allocator's segments (the reserved peak under memory pressure): what bwplan's
  /// launch sets. Measurement cases that do not name it read `fixed`, PyTorch's default.
  AllocSegments alloc_segments = AllocSegments::expandable;
  /// The dtype gradients are reduced and accumulated in (state_dtypes(const TrainingConfig&)).
  ReduceDtype reduce_dtype = ReduceDtype::trainer_default;
};

/// Keys plus values per token as this configuration's attention receives them: at their own
/// heads, or repeat_kv's copies at the query heads under gqa_kv repeat.
[[nodiscard]] inline std::int64_t attention_kv_dim(const ModelSpec& m, const TrainingConfig& c) {
  return m.attention_kv_dim(c.gqa_kv == GqaKv::repeat);
}

/// Whether each tensor-parallel rank keeps its vocabulary slice of the logits and runs the loss
/// on it (torchtitan's loss_parallel(), its default under tp); otherwise every rank holds the
/// whole vocabulary's logits.
[[nodiscard]] inline bool loss_parallel(const TrainingConfig& c) {
  return c.tp > 1 && !c.disable_loss_parallel;
}
/// The vocabulary columns of the logits one rank holds (its slice under loss parallelism).
[[nodiscard]] inline double logits_vocab(const ModelSpec& m, const TrainingConfig& c) {
  return static_cast<double>(m.vocab) / (loss_parallel(c) ? static_cast<double>(c.tp) : 1.0);
}

/// The fine-tuning settings the models read the tensors a rank holds with (rank_facts()).
[[nodiscard]] inline FinetuneChoice finetune_of(const TrainingConfig& c) {
  return {c.finetune, c.lora_targets, c.lora_rank};
}

/// The GPUs one parameter is sharded over, after defaults: 1 for `none`; for `grad-op` and
/// `full` every GPU holding the same tensor-parallel slice of the same pipeline stage
/// (gpus / (tp x pp): the data-parallel and context-parallel ranks, torchtitan's `fsdp` mesh
/// dimension); for `hybrid` the node's share of those (at least cp) unless set.
[[nodiscard]] std::int64_t effective_shard_group(const TrainingConfig& c);

/// GPUs holding the same tensor-parallel slice of the same pipeline stage: gpus / (tp x pp), the
/// data- and context-parallel ranks.
[[nodiscard]] std::int64_t stage_slice_gpus(const TrainingConfig& c);

/// Hybrid sharding whose one shard group is every GPU of its stage slice: it replicates nothing
/// and is full sharding under another name.
[[nodiscard]] bool hybrid_replicates_nothing(const TrainingConfig& c);

/// GPUs that train on different data: gpus / (tp x cp x pp). Tensor-, context- and
/// pipeline-parallel ranks share their micro-batch.
[[nodiscard]] std::int64_t data_parallel_degree(const TrainingConfig& c);

/// Gradients reduce once per step, after the last micro-batch, instead of after each: with
/// --no-sync; under pipeline stages (torchtitan's schedule disables sync until the last
/// micro-batch, torch/distributed/pipelining/stage.py backward_maybe_with_nosync); and in
/// Megatron-Core's DDP (bwplan none, and grad-op for its distributed optimizer), whose schedules
/// run every micro-batch but the last under no_sync
/// (NVIDIA/Megatron-LM@2edffadb528ea07e261b0c02cdc42a7bb9c3197a:megatron/core/pipeline_parallel/
/// schedules.py lines 684-685; Megatron-FSDP still reduce-scatters sharded gradients each time).
[[nodiscard]] bool reduces_once_per_step(const TrainingConfig& c);
/// Megatron-Core's distributed optimizer: bwplan's grad-op under --trainer megatron (whole
/// parameters and one whole gradient buffer on every rank, optimizer states sharded).
[[nodiscard]] bool megatron_distributed_optimizer(const TrainingConfig& c);
/// Parameters are all-gathered once per step, not once per micro-batch: a pipeline stage's stay
/// gathered the whole step, and Megatron-Core's distributed optimizer (bwplan's grad-op under
/// --trainer megatron) keeps whole parameters on every rank and gathers the updated ones once,
/// after the optimizer step (megatron/core/optimizer/distrib_optimizer.py step_with_ready_grads
/// -> start_param_sync, at the same commit).
[[nodiscard]] bool gathers_once_per_step(const TrainingConfig& c);

/// Sequences one rank's data loader takes per optimizer step: micro_batch, or under pp > 1 the
/// pipeline's whole batch, micro_batch x grad_accum, which the schedule splits into grad_accum
/// micro-batches (torchtitan's local_batch_size, Megatron's micro-batches per pipeline).
[[nodiscard]] std::int64_t loader_batch(const TrainingConfig& c);
/// Accumulation steps outside the pipeline: grad_accum, or 1 under pp > 1 (its micro-batches run
/// inside one schedule step).
[[nodiscard]] std::int64_t outer_grad_accum(const TrainingConfig& c);
/// Sequences per optimizer step over the job: micro_batch x grad_accum x data_parallel_degree().
[[nodiscard]] std::int64_t sequences_per_step(const TrainingConfig& c);

/// The blocks selective-layer checkpointing wraps: torchtitan wraps block i (1-based) when
/// i % ac_every == 0, so layers / ac_every of them.
[[nodiscard]] std::int64_t checkpointed_blocks(const ModelSpec& m, const TrainingConfig& c);

/// The blocks whose whole forward runs a second time in backward: every block under full
/// checkpointing, checkpointed_blocks() under selective-layer, none otherwise (op-level SAC
/// recomputes parts of every block: block_activations()).
[[nodiscard]] std::int64_t recomputed_blocks(const ModelSpec& m, const TrainingConfig& c);

/// Tokens one micro-step trains over the job: micro-batch x sequence x the GPUs that hold
/// different data (data_parallel_degree()).
[[nodiscard]] double tokens_per_micro_step(std::int64_t micro_batch, std::int64_t seq_len,
                                           std::int64_t data_parallel);

/// Tokens one optimizer step trains: tokens_per_micro_step() x grad-accum.
[[nodiscard]] std::int64_t tokens_per_step(const TrainingConfig& c);

/// The grad-accum that brings an optimizer step closest to `global_batch_tokens`: the global
/// batch over tokens_per_micro_step(), rounded, at least 1.
[[nodiscard]] std::int64_t grad_accum_for(double global_batch_tokens, std::int64_t micro_batch,
                                          std::int64_t seq_len, std::int64_t data_parallel);

/// The largest `ac_every` selective-layer checkpointing takes for `m`: every block at most.
[[nodiscard]] std::int64_t max_ac_every(const ModelSpec& m);

/// How far a step may miss a global-batch target and still count as it (a fraction of the
/// target): what `search` accepts by default and `estimate` holds --global-batch-tokens to.
inline constexpr double k_global_batch_tolerance = 0.25;

/// Whether `trainer` runs this checkpointing mode, compile setting and loss as bwplan models it:
/// Megatron-Core runs eagerly, its recompute is of whole layers (no op-level SAC) and its
/// cross-entropy is unfused or fused, never chunked.
[[nodiscard]] bool trainer_runs(Trainer trainer, ActivationCheckpointing ac, bool compile,
                                Loss loss);
/// Empty when `trainer` runs these; else one line saying what it runs and naming the flags asked
/// that it does not: the error of estimate and of a search none of whose choices it runs.
[[nodiscard]] std::string trainer_runs_problem(Trainer trainer, ActivationCheckpointing ac,
                                               bool compile, Loss loss);

/// Whether a step of `step_tokens` is within `tolerance` (a fraction) of `global_batch_tokens`.
[[nodiscard]] bool global_batch_reached(double step_tokens, double global_batch_tokens,
                                        double tolerance = k_global_batch_tolerance);

/// Whether context parallelism of degree `cp` can take a sequence of `seq_len` tokens: the
/// load-balanced causal split cuts it into 2 x cp chunks
/// (torch/distributed/tensor/experimental/_attention.py).
[[nodiscard]] constexpr bool cp_splits_sequence(std::int64_t seq_len, std::int64_t cp) {
  return cp <= 1 || seq_len % (2 * cp) == 0;
}

/// Whether `s` can run context parallelism of degree `cp`: torchtitan shards parameters over the
/// context-parallel ranks, so cp > 1 needs FSDP.
[[nodiscard]] constexpr bool cp_allowed_with(Sharding s, std::int64_t cp) {
  return cp <= 1 || s != Sharding::none;
}

/// What keeps `m` from being split over `tp` tensor-parallel GPUs (heads, KV heads, MLP width), as
/// the one-line error; empty when it can be.
[[nodiscard]] std::string tensor_parallel_problem(std::int64_t tp, const ModelSpec& m);

/// What keeps `m` from running expert parallelism of degree c.ep under `c` (experts split evenly
/// over ep ranks of the shard group, torchtitan/distributed/parallel_dims.py; a mixture under
/// tensor or pipeline parallelism is not modelled), as the one-line error; empty when it can.
[[nodiscard]] std::string expert_parallel_problem(const TrainingConfig& c, const ModelSpec& m);
/// The part of it that depends on the degree alone: a dense model, or experts `ep` does not
/// divide (the search checks its --ep list with it before any job exists).
[[nodiscard]] std::string expert_count_problem(std::int64_t ep, const ModelSpec& m);

/// Why --head-fp32 cannot run as the model counts it (autocast's bf16 head without FSDP), or "".
[[nodiscard]] std::string head_fp32_problem(const TrainingConfig& c);

/// What makes the tensor- and context-parallel degrees impossible for `m` (torchtitan splits
/// heads, KV heads and the MLP width over the tp ranks, torchtitan/models/llama3/infra/
/// parallelize.py; the load-balanced causal split cuts a sequence into 2 x cp chunks,
/// torch/distributed/tensor/experimental/_attention.py; FSDP shards over the cp ranks), as the
/// one-line error; empty when they are possible. The search skips such combinations.
[[nodiscard]] std::string parallel_degrees_problem(const TrainingConfig& c, const ModelSpec& m);
/// Why `c`'s sharding cannot run its context parallelism (cp_allowed_with()); empty when it can.
[[nodiscard]] std::string cp_sharding_problem(const TrainingConfig& c);

/// What keeps `c`'s fine-tuning from being planned for `m` (LoRA settings without LoRA, adapters
/// on a mixture of experts or under tensor or pipeline parallelism, QLoRA outside bf16), as the
/// one-line error; empty when it can be.
[[nodiscard]] std::string finetune_problem(const TrainingConfig& c, const ModelSpec& m);
/// The adapters' settings (rank, alpha, targets, dropout and its position, dtype) as one tuple of
/// references: compared with the defaults, or assigned from another configuration's, together.
template <class Config> [[nodiscard]] auto lora_settings(Config& c) {
  return std::tie(c.lora_rank, c.lora_alpha, c.lora_targets, c.lora_dropout,
                  c.lora_dropout_position, c.lora_dtype);
}

/// Whether the step's mixed precision is torch.autocast's: a mixed precision without FSDP, whose
/// MixedPrecisionPolicy it would otherwise be (fp32 leaves cast per call, linears in bf16).
[[nodiscard]] bool runs_autocast(const TrainingConfig& c);

/// Whether the adapters are held in fp32 (lora_dtype fp32, PEFT's: get_peft_model's
/// autocast_adapter_dtype=True): a LoRA or QLoRA run outside Megatron, whose adapters are its
/// own modules in the model's dtype. Their parameters, gradients and optimizer states are fp32.
[[nodiscard]] bool fp32_adapters(const TrainingConfig& c);

/// Why `c`'s trainer cannot run the layers it names (Megatron-Core's attention reads the K/V
/// groups unrepeated and its mixture-of-experts layer is fused), as the one-line error; empty
/// when it can. validate_config() checks it, and the search before any candidate.
[[nodiscard]] std::string trainer_layers_problem(const TrainingConfig& c);
/// Whether a mixture's layer saves what a fused (DeepEP/HybridEP-class) layer does: moe_impl
/// fused, or its default under Megatron-Core.
[[nodiscard]] bool moe_layer_fused(const TrainingConfig& c);
/// Whether the routed experts stay outside FSDP, whole on their rank: expert_fsdp sharded under
/// expert parallelism whose degree is the whole shard group (no expert FSDP group to shard over).
[[nodiscard]] bool experts_outside_fsdp(const TrainingConfig& c);

/// Throws bwplan::Error for values out of range or contradictory combinations (the message names
/// the flag). Whether the configuration fits a GPU is not checked here: that is a result.
void validate_config(const TrainingConfig& c, const ModelSpec& m);
/// The table ranges (config_fields.hpp) of the numeric fields named in `keys` (search's fixed
/// fields; validate_config checks them all).
void validate_field_ranges(const TrainingConfig& c, std::span<const std::string_view> keys);

} // namespace bwplan
