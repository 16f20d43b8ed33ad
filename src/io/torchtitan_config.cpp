// The plan -> torchtitan mapping (one table: torchtitan_settings), the model choice, and the TOML
// and model.json writers. Facts about torchtitan are from the pinned tag
// (data/launch/trainer.json).
#include "torchtitan_config.hpp"

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/pipeline.hpp"
#include "bwplan/sagemaker.hpp"
#include "launch_data.hpp"

namespace bwplan::io {

namespace {

[[noreturn]] void cannot(std::string_view field, std::string_view value, std::string_view why) {
  const TrainerPin& t = launch_data().trainer;
  throw Error(fmt::format("the plan's {} '{}' cannot be launched with {} {}: {}", field, value,
                          t.name, t.version, why));
}

/// Llama-style attention at `seq_len` tokens: no latent projections, value heads as wide as the
/// query/key heads, no sinks and no local-attention layers (the native flavors bwplan launches and
/// train.py's custom model have none). A window as long as the sequence is full attention there
/// (Mistral-7B-v0.1's 4096 at 4096 tokens and fewer).
bool plain_attention(const ModelSpec& m, std::int64_t seq_len) {
  return !m.is_mla() && m.effective_v_head_dim() == m.effective_head_dim() && !m.attention_sinks &&
         (m.local_attention == LocalAttention::none || m.attention_window >= seq_len);
}

/// Every fact of the plan's model that changes what torchtitan builds matches the flavor's.
bool same_shape(const NativeModel& n, const ModelSpec& m) {
  const bool sliding = m.local_attention == LocalAttention::sliding;
  const bool blocks = m.mlp == MlpKind::swiglu && m.norm == NormKind::rmsnorm &&
                      m.position == PositionKind::rope && !m.linear_bias && !m.mlp_bias &&
                      m.local_attention != LocalAttention::chunked && !m.shared_expert_gate;
  return blocks && n.layers == m.layers && n.hidden == m.hidden && n.heads == m.heads &&
         n.kv_heads == m.kv_heads && n.ffn == m.ffn && n.vocab == m.vocab &&
         n.head_dim == m.effective_head_dim() &&
         (n.v_head_dim > 0 ? n.v_head_dim : n.head_dim) == m.effective_v_head_dim() &&
         n.q_lora_rank == m.q_lora_rank && n.kv_lora_rank == m.kv_lora_rank &&
         n.qk_rope_head_dim == (m.is_mla() ? m.qk_rope_head_dim : 0) &&
         n.tied_embeddings == m.tied_embeddings && n.qk_norm == m.qk_norm &&
         n.qkv_bias == m.qkv_bias && n.out_bias == m.out_bias &&
         n.attention_sinks == m.attention_sinks &&
         n.sliding_window == (sliding ? m.attention_window : 0) &&
         n.sliding_layers == (sliding ? m.local_attention_layers : 0) && n.experts == m.experts &&
         n.experts_per_token == m.experts_per_token && n.expert_ffn == m.expert_ffn &&
         n.shared_expert_ffn == m.shared_expert_ffn && n.dense_layers == m.dense_layers &&
         n.router_bias == m.router_bias && n.expert_bias == m.expert_bias;
}

std::string toml_value(const OrderedJson& v) {
  if (v.is_string()) {
    return toml_string_literal(v.get<std::string>());
  }
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      out += (i > 0 ? ", " : "") + toml_value(v[i]);
    }
    return out + "]";
  }
  return v.dump(); // booleans and integers are spelled alike in JSON and TOML
}

/// Appends settings in table order; `from` names the plan field.
struct Settings {
  std::vector<TrainerSetting> list;
  void add(std::string section, std::string key, OrderedJson value, std::string from) {
    list.push_back({std::move(section), std::move(key), std::move(value), std::move(from)});
  }
};

void precision_settings(Settings& s, const TrainingConfig& c, const ModelSpec& m) {
  const std::string p(name_of(c.precision));
  switch (c.precision) {
  case Precision::fp32: s.add("training", "mixed_precision_param", "float32", "precision"); break;
  case Precision::bf16: s.add("training", "mixed_precision_param", "bfloat16", "precision"); break;
  case Precision::bf16_pure:
    // torchtitan's bf16 training builds the model in bf16 (train.py's set_default_dtype of
    // training.dtype), so parameters, gradients and AdamW states are bf16; FSDP2 still reduces in
    // mixed_precision_reduce (float32), as state_dtypes() reads torchtitan's default; the logits
    // it "still" keeps in fp32 (config/job_config.py) are the loss's .float() upcast, which the
    // memory model counts under every bf16-compute precision.
    s.add("training", "dtype", "bfloat16", "precision");
    s.add("training", "mixed_precision_param", "bfloat16", "precision");
    break;
  case Precision::nvfp4:
    cannot("precision", p, "it has no NVFP4 training converter; plan with --precision mxfp8");
  case Precision::fp8_tensorwise:
  case Precision::fp8_rowwise:
  case Precision::mxfp8: {
    if (c.fp8_backend != Fp8Backend::torchao) {
      cannot("fp8_backend", name_of(c.fp8_backend),
             "its low-precision training runs on torchao; plan with --fp8-backend torchao");
    }
    s.add("training", "mixed_precision_param", "bfloat16", "precision");
    const bool mx = c.precision == Precision::mxfp8;
    if (mx && m.is_moe()) {
      // torchtitan's MXFP8 grouped GEMMs (quantize.grouped_mm.mx) import torchao's
      // MoETrainingConfig, which torchao 0.17.0 no longer has, and quantize expert weights with
      // torchao's compiled mxfp8_quantize_3d kernel, which the pinned 0.16.0 does not load under
      // PyTorch 2.11 (data/launch/trainer.json).
      cannot("precision", p,
             "its MXFP8 grouped GEMMs need torchao's compiled mxfp8_quantize_3d kernel, which "
             "the pinned torchao (0.16.0, the last with the MoETrainingConfig torchtitan imports) "
             "does not load under PyTorch 2.11; plan with --precision fp8-rowwise or bf16");
    }
    if (mx && c.tp > 1 && c.compile) {
      cannot("precision", p,
             "its MXFP8 converter asserts \"TP not yet supported with torch.compile for mxfp8\" "
             "(torchtitan/components/quantization/mx.py); plan without --compile or with --tp 1");
    }
    // A mixture's experts are grouped GEMMs, not nn.Linear: the plan runs them in the low
    // precision too (its time model does), so their converter quantizes "experts". torchao's
    // float8 grouped GEMM is rowwise whichever recipe the linears use (MoETrainingConfig,
    // components/quantization/float8.py); the models treat the two fp8 recipes' GEMMs alike.
    const bool grouped = m.is_moe();
    if (grouped && (c.cp > 1 || c.pp > 1)) {
      cannot("precision", p,
             fmt::format("its float8 MoE training asserts \"Float8 MoE training prototype does "
                         "not yet support {} parallelism\" (components/quantization/float8.py "
                         "lines 193-198); plan with --precision bf16 or {}",
                         c.cp > 1 ? "context" : "pipeline", c.cp > 1 ? "--cp 1" : "--pp 1"));
    }
    // torchtitan converts a linear whose dims are multiples of 16 (components/quantization/
    // utils.py, module_filter_fn) and leaves the others in bf16, which the plan would run in low
    // precision; torchao's MXFP8 asserts its 32-wide blocks (pytorch/ao@v0.16.0:torchao/
    // prototype/mx_formats/mx_tensor.py lines 170-171: "must be divisible by block_size").
    const std::int64_t block = mx ? 32 : 16;
    const std::pair<const char*, std::int64_t> dims[] = {
        {"hidden", m.hidden},
        {"ffn", m.ffn},
        {"heads x head_dim", m.heads * m.effective_head_dim()},
        {"kv_heads x head_dim", m.kv_heads * m.effective_head_dim()},
        {"heads x v_head_dim", m.heads * m.effective_v_head_dim()}};
    for (const auto& [what, d] : dims) {
      if (d % block != 0) {
        cannot("precision", p,
               fmt::format("the model's {} ({}) is not a multiple of {}: {}; plan with --precision "
                           "bf16",
                           what, d, block,
                           mx ? "torchao's MXFP8 asserts 32-wide blocks in the first forward"
                              : "torchtitan leaves such linears in bf16, which the plan runs in "
                                "fp8"));
      }
    }
    OrderedJson converters =
        OrderedJson::array({mx ? "quantize.linear.mx" : "quantize.linear.float8"});
    if (grouped) {
      converters.push_back(mx ? "quantize.grouped_mm.mx" : "quantize.grouped_mm.float8");
    }
    s.add("model", "converters", converters, "precision");
    if (grouped) {
      s.add(mx ? "quantize.grouped_mm.mx" : "quantize.grouped_mm.float8", "fqns",
            OrderedJson::array({"experts"}),
            mx ? "precision, experts"
               : "precision, experts (rowwise: torchao's only fp8 grouped GEMM)");
    }
    const std::string table = mx ? "quantize.linear.mx" : "quantize.linear.float8";
    if (mx) {
      s.add(table, "recipe_name", "mxfp8_cublas", "precision");
    } else if (c.precision == Precision::fp8_rowwise) {
      s.add(table, "recipe_name", "rowwise", "precision");
    } else {
      // Tensorwise is torchao's default config; torchtitan refuses a recipe name together with
      // the fp8 all-gather (components/quantization/float8.py).
      s.add(table, "enable_fsdp_float8_all_gather", c.fp8_all_gather, "fp8_all_gather");
      s.add(table, "precompute_float8_dynamic_scale_for_fsdp", c.fp8_all_gather, "fp8_all_gather");
    }
    // The time model keeps the output head in bf16 (torchao converts block linears only); a
    // mixture's router stays bf16 as in torchtitan's own MoE configs (train_configs/*.toml).
    s.add(table, "filter_fqns",
          grouped ? OrderedJson::array({"output", "router.gate"}) : OrderedJson::array({"output"}),
          "precision");
    break;
  }
  default: cannot("precision", p, "it is not a precision bwplan can launch");
  }
  if (c.reduce_dtype == ReduceDtype::bf16) {
    cannot("reduce_dtype", name_of(c.reduce_dtype),
           "training.mixed_precision_reduce allows only \"float32\" (config/job_config.py); "
           "plan with --reduce-dtype default or fp32");
  }
  if (c.reduce_dtype == ReduceDtype::fp32) { // torchtitan's default, written as the plan set it
    s.add("training", "mixed_precision_reduce", "float32", "reduce_dtype");
  }
}

void parallel_settings(Settings& s, const TrainingConfig& c) {
  // torchtitan's dense mesh is (pp, dp_replicate, fsdp, tp) with fsdp = dp_shard x cp
  // (torchtitan/distributed/parallel_dims.py): FSDP shards over the data- and context-parallel
  // ranks of one tensor-parallel slice, so bwplan's shard group is dp_shard x cp.
  const std::int64_t group = effective_shard_group(c);
  const std::int64_t dp = data_parallel_degree(c);
  std::int64_t shard = c.sharding == Sharding::none ? 1 : group / c.cp;
  const std::int64_t replicate = dp / shard;
  s.add("parallelism", "data_parallel_replicate_degree", replicate, "sharding, shard_group");
  s.add("parallelism", "data_parallel_shard_degree", shard, "sharding, shard_group");
  s.add("parallelism", "fsdp_reshard_after_forward",
        c.sharding == Sharding::grad_op ? "never" : "default", "sharding");
  s.add("parallelism", "tensor_parallel_degree", c.tp, "tp");
  // The head's output stays a vocabulary shard for loss_parallel(), or is gathered to every rank
  // (pytorch/torchtitan@73a0e697:torchtitan/models/llama3/infra/parallelize.py:182-186).
  s.add("parallelism", "disable_loss_parallel", c.disable_loss_parallel, "disable_loss_parallel");
  s.add("parallelism", "pipeline_parallel_degree", c.pp, "pp");
  if (c.pp > 1) {
    // Without pipeline_parallel_layers_per_stage torchtitan gives the multi-stage schedules 2
    // stages per rank.
    s.add("parallelism", "pipeline_parallel_schedule",
          std::string(torch_schedule_name(c.pp_schedule)), "pp_schedule");
    s.add("parallelism", "pipeline_parallel_microbatch_size", c.micro_batch, "micro_batch");
  }
  s.add("parallelism", "context_parallel_degree", c.cp, "cp");
  s.add("parallelism", "expert_parallel_degree", c.ep, "ep");
  if (c.fsdp_wrap != FsdpWrap::per_module) {
    cannot("fsdp_wrap", name_of(c.fsdp_wrap),
           "it wraps embeddings, each block and norm+output as FSDP units (per-module)");
  }
  if (c.grad_accum_mode != GradAccumMode::reduce_scatter) {
    cannot("grad_accum_mode", name_of(c.grad_accum_mode),
           "it reduce-scatters gradients after every micro-batch");
  }
  if (c.sharding == Sharding::none && (c.tp > 1 || c.pp > 1 || c.cp > 1 || c.ep > 1)) {
    cannot("sharding", name_of(c.sharding),
           "its DDP (data_parallel_replicate_degree alone) raises \"DDP has not supported > 1D "
           "parallelism\" beside tensor, pipeline, context or expert parallelism "
           "(torchtitan/models/llama3/infra/parallelize.py); plan with --sharding full or hybrid");
  }
  // One data-parallel shard and no context parallelism: torchtitan applies no FSDP
  // (ParallelDims.fsdp_enabled: dp_shard > 1 or cp > 1, torchtitan/distributed/parallel_dims.py).
  // Replicas then run its DDP, which raises beside tensor or pipeline parallelism; without
  // replicas either, its mixed precision is autocast, which maybe_enable_amp
  // (torchtitan/distributed/utils.py) turns off under tensor or pipeline parallelism ("Mixed
  // precision training with TP or PP is only supported when FSDP/HSDP/CP is enabled") and uses on
  // one GPU: a plan that computes in bf16 from fp32 weights would train otherwise.
  if (c.sharding != Sharding::none && shard == 1 && c.cp == 1) {
    const bool model_parallel = c.tp > 1 || c.pp > 1;
    const bool mixed = is_mixed_precision(c.precision);
    if (replicate > 1) {
      cannot("shard_group", std::to_string(group),
             model_parallel
                 ? "with one data-parallel shard it replicates with DDP, which raises \"DDP has "
                   "not supported > 1D parallelism\" beside tensor or pipeline parallelism "
                   "(torchtitan/models/llama3/infra/parallelize.py); plan with fewer tensor x "
                   "pipeline ranks (a shard group of 2 or more)"
                 : "with one data-parallel shard it runs DDP, not the FSDP the plan models; plan "
                   "with --sharding none");
    }
    if (mixed) {
      cannot("shard_group", std::to_string(group),
             model_parallel
                 ? "it applies FSDP only over 2 or more data-parallel shards (or context "
                   "parallelism), and without FSDP it trains in fp32 under tensor or pipeline "
                   "parallelism (maybe_enable_amp); plan with fewer tensor x pipeline ranks (a "
                   "shard group of 2 or more), or with --precision bf16-pure"
                 : "on one GPU it applies no FSDP and runs autocast, not the FSDP mixed "
                   "precision the plan models; plan with --sharding none");
    }
  }
  if (c.offload == Offload::cpu && c.sharding == Sharding::none) {
    cannot("offload", name_of(c.offload), "its CPU offload is FSDP's; shard the model");
  }
}

void checkpointing_settings(Settings& s, const TrainingConfig& c) {
  const char* from = "activation_checkpointing";
  switch (c.activation_checkpointing) {
  case ActivationCheckpointing::none: s.add("activation_checkpoint", "mode", "none", from); break;
  case ActivationCheckpointing::full: s.add("activation_checkpoint", "mode", "full", from); break;
  case ActivationCheckpointing::selective_op:
    s.add("activation_checkpoint", "mode", "selective", from);
    s.add("activation_checkpoint", "selective_ac_option", "op", from);
    break;
  case ActivationCheckpointing::selective_layer:
    s.add("activation_checkpoint", "mode", "selective", from);
    s.add("activation_checkpoint", "selective_ac_option", std::to_string(c.ac_every), "ac_every");
    break;
  default: throw Error("activation_checkpointing: not a mode bwplan knows");
  }
}

void compile_settings(Settings& s, const TrainingConfig& c) {
  // torchtitan compiles the loss only when compile is on and "loss" is a component
  // (components/loss.py), so the fused loss the plan's memory rests on turns compile on.
  if (c.loss == Loss::chunked || c.loss == Loss::chunked_head) {
    cannot("loss", name_of(c.loss),
           "it has no chunked cross-entropy (ChunkedCELoss came after 0.2.2); plan with --loss "
           "fused (compiled) or unfused");
  }
  if (c.loss == Loss::unfused_bf16) {
    cannot("loss", name_of(c.loss),
           "its cross-entropy upcasts the logits to fp32 (components/loss.py, .float()); plan with "
           "--loss unfused");
  }
  if (c.loss == Loss::fused_linear) {
    cannot("loss", name_of(c.loss),
           "it has no Liger Kernel fused linear cross-entropy; plan with --loss fused (compiled) "
           "or unfused");
  }
  OrderedJson components = OrderedJson::array();
  if (c.compile) {
    components.push_back("model");
  }
  if (c.loss == Loss::fused) {
    components.push_back("loss");
  }
  s.add("compile", "enable", !components.empty(), "compile, loss");
  if (!components.empty()) {
    s.add("compile", "components", components, "compile, loss");
  }
}

void optimizer_settings(Settings& s, const TrainingConfig& c) {
  if (c.optimizer != Optimizer::adamw) {
    cannot("optimizer", name_of(c.optimizer),
           "its optimizers are Adam and AdamW (components/optimizer.py); plan with "
           "--optimizer adamw");
  }
  s.add("optimizer", "name", "AdamW", "optimizer");
  s.add("optimizer", "implementation", name_of(c.optimizer_impl), "optimizer_impl");
  if (c.norm_impl != NormImpl::fused) {
    cannot("norm_impl", name_of(c.norm_impl), "its RMSNorm is torch.nn.RMSNorm (fused)");
  }
  if (c.swiglu_impl != SwigluImpl::eager) {
    cannot("swiglu_impl", name_of(c.swiglu_impl),
           "its feed-forward runs silu and the product as two eager ops (or compiled); plan with "
           "--swiglu-impl eager");
  }
  if (c.trainer != Trainer::torchtitan) {
    cannot("trainer", name_of(c.trainer),
           "these files run torchtitan; plan with --trainer torchtitan");
  }
  if (c.moe_impl == MoeImpl::fused) {
    cannot("moe_impl", name_of(c.moe_impl),
           "its mixture-of-experts layer is torchtitan's own; plan with --moe-impl default");
  }
  if (c.expert_fsdp != ExpertFsdp::always) {
    cannot("expert_fsdp", name_of(c.expert_fsdp),
           "torchtitan wraps the routed experts in FSDP over its efsdp mesh, even of one rank; "
           "plan with --expert-fsdp always");
  }
  if (c.alloc_segments != AllocSegments::expandable) {
    cannot("alloc_segments", name_of(c.alloc_segments),
           "the job sets PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True; plan with "
           "--alloc-segments expandable");
  }
  if (c.gqa_kv != GqaKv::native) {
    cannot("gqa_kv", name_of(c.gqa_kv),
           "its attention passes K and V to SDPA at their own heads with enable_gqa "
           "(models/attention.py); plan with --gqa-kv native");
  }
  if (c.attention_kernel != AttentionKernel::cudnn) {
    cannot("attention_kernel", name_of(c.attention_kernel),
           "its SDPA tries cuDNN attention first (models/attention.py); plan with "
           "--attention-kernel cudnn");
  }
}

} // namespace

TrainerModel trainer_model(const ModelSpec& m, std::int64_t parameters, std::int64_t seq_len) {
  const TrainerPin& t = launch_data().trainer;
  TrainerModel out;
  out.parameters = parameters;
  for (const NativeModel& n : t.native_models) {
    if (same_shape(n, m)) {
      out.name = n.name;
      out.flavor = n.flavor;
      out.flex_attention = n.flex_attention;
      out.compiles_blocks = n.compiles_blocks;
      out.note = n.note;
      return out;
    }
  }
  if (m.is_moe()) { // the custom model train.py registers is dense
    std::vector<std::string> mixtures;
    for (const NativeModel& n : t.native_models) {
      if (n.experts > 0) {
        mixtures.push_back(n.name + " " + n.flavor);
      }
    }
    throw Error(fmt::format("the plan's model {} and its ep cannot be launched with {} {}: it is a "
                            "mixture of experts of no flavor {} has (bwplan launches {})",
                            m.name, t.name, t.version, t.name, fmt::join(mixtures, ", ")));
  }
  const auto refuse = [&](std::string_view what) {
    throw Error(fmt::format("the plan's model {} cannot be launched with {} {}: {}", m.name, t.name,
                            t.version, what));
  };
  if (m.mlp != MlpKind::swiglu || m.norm != NormKind::rmsnorm || m.position != PositionKind::rope) {
    refuse("its blocks are SwiGLU + RMSNorm + RoPE only");
  }
  if (m.linear_bias || m.out_bias || m.mlp_bias) {
    refuse("its MLP and output projections have no bias (GPT-NeoX has)");
  }
  if (!plain_attention(m, seq_len)) {
    refuse(m.local_attention != LocalAttention::none && plain_attention(m, m.attention_window)
               ? fmt::format("its attention is Llama's (full attention), and the model's {} "
                             "window of {} tokens is shorter than the plan's {}",
                             name_of(m.local_attention), m.attention_window, seq_len)
               : std::string("its attention is Llama's (no latent attention, separate value head "
                             "width, sinks or local-attention layers)"));
  }
  out.qkv_bias = m.qkv_bias; // train.py adds the q, k, v biases to the registered model
  out.name = t.custom_model_name;
  out.flavor = t.custom_model_flavor;
  out.custom = OrderedJson{{"dim", m.hidden},
                           {"n_layers", m.layers},
                           {"n_heads", m.heads},
                           {"n_kv_heads", m.kv_heads},
                           {"head_dim", m.effective_head_dim()},
                           {"hidden_dim", m.ffn},
                           {"vocab_size", m.vocab},
                           {"qk_norm", m.qk_norm},
                           {"enable_weight_tying", m.tied_embeddings},
                           {"max_seq_len", seq_len}};
  return out;
}

std::int64_t tied_embedding_ranks(const TrainingConfig& c, const ModelSpec& m) {
  if (!m.tied_embeddings || c.sharding == Sharding::none || effective_shard_group(c) <= 1) {
    return 0;
  }
  return effective_shard_group(c) * c.tp;
}

std::vector<TrainerSetting> torchtitan_settings(const Estimate& plan, const TrainerModel& model,
                                                const TrainerRun& run) {
  const TrainingConfig& c = plan.request.config;
  if (c.finetune != Finetune::full) {
    cannot("finetune", name_of(c.finetune),
           "it trains every parameter (no LoRA or QLoRA adapters), so launch files for a "
           "fine-tuning plan and its lora_rank, lora_alpha, lora_targets, lora_dropout, "
           "lora_dropout_position, lora_dtype and nf4_quantizer are not emitted yet");
  }
  Settings s;
  s.add("job", "description", run.description, "(job name)");
  s.add("job", "dump_folder", run.dump_folder, "(SageMaker output path)");
  s.add("model", "name", model.name, "model");
  s.add("model", "flavor", model.flavor, "model");
  precision_settings(s, c, plan.request.model);
  s.add("training", "dataset", "bwplan_text", "(train channel, registered by train.py)");
  // Under pipeline parallelism grad_accum is the pipeline's micro-batches: a local batch of
  // micro_batch x grad_accum that torchtitan splits into grad_accum of micro_batch.
  s.add("training", "local_batch_size", loader_batch(c),
        c.pp > 1 ? "micro_batch x grad_accum" : "micro_batch");
  s.add("training", "global_batch_size", sequences_per_step(c),
        "micro_batch x grad_accum x data-parallel GPUs");
  s.add("training", "seq_len", c.seq_len, "seq_len");
  s.add("training", "steps", run.steps,
        run.default_steps ? "no --train-tokens: the default step count"
                          : "train tokens / tokens per step");
  s.add("training", "enable_cpu_offload", c.offload == Offload::cpu, "offload");
  parallel_settings(s, c);
  if (c.cp > 1 && model.flex_attention) {
    cannot("cp", std::to_string(c.cp),
           fmt::format("its {} {} runs FlexAttention, which this model's parallelize step does not "
                       "shard for context parallelism (models/{}/infra/parallelize.py: deepseek_v3 "
                       "refuses it, gpt_oss never applies it)",
                       model.name, model.flavor, model.name));
  }
  if (c.pp > 1 && model.name != "llama3") {
    // Only llama3's train spec has a pipelining_fn (pipeline_llm); qwen3's, which registered
    // models reuse, has none (torchtitan/models/{llama3,qwen3}/__init__.py at v0.2.2).
    cannot("pp", std::to_string(c.pp),
           fmt::format("its {} model has no pipeline split (only llama3 has one)", model.name));
  }
  // A tied embedding lies in two FSDP groups (tok_embeddings; norm and output): under PyTorch 2.11
  // a weight split unevenly over them never updates the last rank's rows (pytorch/pytorch#176076;
  // newer PyTorch refuses the two groups, emit_sagemaker).
  const ModelSpec& m = plan.request.model;
  const std::int64_t tied_ranks = tied_embedding_ranks(c, m);
  if (tied_ranks > 0 && m.vocab % tied_ranks != 0) {
    cannot("shard_group", std::to_string(effective_shard_group(c)),
           fmt::format("the model's tied embedding ({} rows) does not split evenly over its {} "
                       "FSDP x tensor-parallel ranks, and {} shards the embedding and the output "
                       "head that shares it as two FSDP groups, where PyTorch 2.11's FSDP2 never "
                       "updates the last rank's rows (pytorch/pytorch#176076); plan with a shard "
                       "group whose product with tp divides {}",
                       m.vocab, tied_ranks, launch_data().trainer.name, m.vocab));
  }
  // Every model's parallelize step asserts seq_len % (tp x 2 x cp) == 0, with context
  // parallelism or without (ParallelDims.seq_len_divisor, distributed/parallel_dims.py lines
  // 364-372; models/{llama3,qwen3,deepseek_v3,gpt_oss}/infra/parallelize.py).
  const std::int64_t seq_divisor = c.tp * 2 * c.cp;
  if (c.seq_len % seq_divisor != 0) {
    cannot("seq_len", std::to_string(c.seq_len),
           fmt::format("every model's parallelize step asserts that it is divisible by tp x 2 x "
                       "cp, here {} x 2 x {} = {} (distributed/parallel_dims.py, "
                       "seq_len_divisor), context parallelism or not; plan with --seq-len a "
                       "multiple of {}",
                       c.tp, c.cp, seq_divisor, seq_divisor));
  }
  if (c.compile && !model.compiles_blocks) {
    cannot("compile", "true",
           fmt::format("its {} parallelize step compiles no block (models/{}/infra/parallelize.py "
                       "has no apply_compile; [compile] would compile the loss alone), so the "
                       "plan's compiled memory and speed would not hold; plan without --compile",
                       model.name, model.name));
  }
  if (c.head_fp32) {
    cannot("head_fp32", "true",
           "its output head runs in the compute dtype (CastLinear, the fp32 head, is in "
           "torchtitan's RL experiments after 0.2.2); plan without --head-fp32");
  }
  checkpointing_settings(s, c);
  compile_settings(s, c);
  optimizer_settings(s, c);
  const LrSchedule& lr = run.schedule.values;
  s.add("optimizer", "lr", lr.lr, "(" + run.schedule.lr_from + ")");
  s.add("lr_scheduler", "warmup_steps", lr.warmup_steps, "(" + run.schedule.warmup_from + ")");
  if (lr.decay_type) {
    s.add("lr_scheduler", "decay_type", *lr.decay_type, "(" + lr.recipe + ")");
  }
  if (lr.decay_ratio) {
    s.add("lr_scheduler", "decay_ratio", *lr.decay_ratio, "(" + lr.recipe + ")");
  }
  if (lr.min_lr_factor) {
    s.add("lr_scheduler", "min_lr_factor", *lr.min_lr_factor, "(" + lr.recipe + ")");
  }
  s.add("checkpoint", "enable", true, "(resume after a restart or chained job)");
  s.add("checkpoint", "folder", run.checkpoint_folder, "(SageMaker checkpoint path)");
  s.add("checkpoint", "interval", run.checkpoint_interval_steps, "(checkpoint interval)");
  s.add("checkpoint", "keep_latest_k", run.checkpoints_kept, "(checkpoints kept)");
  // torchtitan's default saves the last step's model alone, which its own resume cannot load
  // (it loads everything from any step but 0: checkpoint.py lines 636, 781-787 at v0.2.2).
  s.add("checkpoint", "last_save_model_only", false,
        "(the last checkpoint keeps the training state: a restart resumes from it)");
  // Sort into tables, keeping the order in which each table and key first appears.
  std::vector<TrainerSetting> out;
  std::vector<std::string> tables;
  for (const TrainerSetting& t : s.list) {
    if (std::find(tables.begin(), tables.end(), t.section) == tables.end()) {
      tables.push_back(t.section);
    }
  }
  for (const std::string& table : tables) {
    for (const TrainerSetting& t : s.list) {
      if (t.section == table) {
        out.push_back(t);
      }
    }
  }
  return out;
}

std::string torchtitan_toml(const std::vector<TrainerSetting>& settings, std::string_view header) {
  std::string out(header);
  std::string table;
  for (const TrainerSetting& t : settings) {
    if (t.section != table) {
      out += fmt::format("{}[{}]\n", table.empty() ? "" : "\n", t.section);
      table = t.section;
    }
    out += fmt::format("{} = {}  # {}\n", t.key, toml_value(t.value), t.from);
  }
  return out;
}

std::string model_json(const TrainerModel& m) {
  OrderedJson j;
  j["name"] = m.name;
  j["flavor"] = m.flavor;
  j["parameters"] = m.parameters;
  if (!m.custom.is_null()) {
    j["custom"] = m.custom;
  }
  if (m.qkv_bias) {
    j["qkv_bias"] = true;
  }
  return j.dump(2) + "\n";
}

} // namespace bwplan::io
