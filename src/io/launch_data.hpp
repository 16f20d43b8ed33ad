/// \file
/// The launch facts bwplan keeps as data (data/launch/*.json, compiled in): AWS Deep Learning
/// Container images and their ECR accounts, the pinned trainer, and SageMaker's limits and
/// bwplan's launch policy. Read once, on first use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bwplan::io {

struct TrainingImage {
  std::string pytorch_version; ///< "2.11"
  std::string repository;      ///< ECR repository: "pytorch-training" (<= 2.10) or "pytorch"
  std::string tag;
  double cuda_version = 0;
  std::string end_of_patch_date; ///< YYYY-MM-DD
  std::string source;
};

struct Requirement {
  std::string name;
  std::string version;
};

/// A learning-rate schedule the launch writes into torchtitan's [optimizer] and [lr_scheduler].
struct LrSchedule {
  double lr = 0;
  std::int64_t warmup_steps = 0;
  std::optional<std::string> decay_type; ///< torchtitan's default (linear) when unset
  std::optional<double> decay_ratio;     ///< unset: decay starts right after the warm-up
  std::optional<double> min_lr_factor;   ///< unset: decays to 0
  std::string recipe; ///< where it is from, in words: "torchtitan's llama3_8b.toml"
  std::string source;
};

/// A torchtitan flavor and the shape it builds.
struct NativeModel {
  std::string name;
  std::string flavor;
  std::int64_t layers = 0, hidden = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0, head_dim = 0;
  bool tied_embeddings = false;
  bool qk_norm = false;
  /// A mixture-of-experts flavor (0 experts: dense): its routed experts, per token, and width;
  /// its shared experts' width and leading dense blocks.
  std::int64_t experts = 0, experts_per_token = 0, expert_ffn = 0;
  std::int64_t shared_expert_ffn = 0, dense_layers = 0;
  bool router_bias = false, expert_bias = false;
  /// Latent attention (DeepSeek): ranks and head widths; 0 where the flavor has none.
  std::int64_t q_lora_rank = 0, kv_lora_rank = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  /// What the flavor builds differently from the published model, in facts bwplan's model does
  /// not carry (e.g. its RoPE base); emit notes it. Empty where nothing differs.
  std::string note;
  /// gpt-oss: q/k/v and output biases, a sink per head, and sliding-window layers.
  bool qkv_bias = false, out_bias = false, attention_sinks = false;
  std::int64_t sliding_window = 0, sliding_layers = 0;
  /// The flavor runs FlexAttention, which torchtitan's context parallelism does not take.
  bool flex_attention = false;
  /// Its parallelize step compiles the blocks when [compile] names "model" (gpt_oss's does not).
  bool compiles_blocks = true;
  std::optional<LrSchedule> recipe; ///< torchtitan's own train config for this flavor, if any
};

struct TrainerPin {
  std::string name;    ///< "torchtitan"
  std::string version; ///< "0.2.2"
  std::string commit;
  std::vector<Requirement> requirements;
  std::string min_pytorch_version;
  std::string default_pytorch_version;
  /// The newest PyTorch under which its FSDP2 wrapping of a tied embedding (two FSDP groups
  /// share the weight) runs; newer ones refuse it.
  std::string tied_embeddings_last_pytorch_version;
  std::vector<NativeModel> native_models;
  LrSchedule default_schedule;     ///< torchtitan's own defaults, for a model with no recipe
  std::string custom_model_name;   ///< the name train.py registers for other shapes
  std::string custom_model_flavor; ///< and its one flavor
  std::string custom_model_family; ///< the torchtitan model whose arguments it takes
  double custom_rope_theta = 0;    ///< the RoPE base its architecture (Qwen3ModelArgs) sets
  double custom_norm_eps = 0;      ///< and its RMSNorm epsilon
};

struct SageMakerPolicy {
  std::int64_t max_runtime_s = 0;
  std::int64_t default_runtime_s = 0;
  double runtime_margin_factor = 1;
  std::int64_t runtime_margin_s = 0;
  std::int64_t default_steps = 0;
  std::int64_t max_chained_jobs = 1;
  std::string checkpoint_local_path;
  std::string output_data_path;
  std::int64_t min_volume_gb = 0;
  std::int64_t checkpoints_kept = 0;
  std::int64_t checkpoint_interval_s = 0;
  std::vector<std::int64_t> training_plan_instance_counts;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> launcher_sets; ///< variables SageMaker's launchers overwrite
  std::map<double, double> min_cuda_by_compute_capability; ///< compute capability -> CUDA
};

struct LaunchData {
  std::vector<TrainingImage> images; ///< oldest PyTorch first
  std::map<std::string, std::string> region_accounts;
  TrainerPin trainer;
  SageMakerPolicy policy;
};

/// The compiled-in launch data (throws bwplan::Error if a file is missing or malformed).
[[nodiscard]] const LaunchData& launch_data();

/// Orders "2.9" < "2.10" < "2.11".
[[nodiscard]] bool version_less(std::string_view a, std::string_view b);

} // namespace bwplan::io
