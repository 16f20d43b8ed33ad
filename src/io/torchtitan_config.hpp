/// \file
/// The plan as the pinned torchtitan release runs it: which model (one of torchtitan's flavors,
/// or the plan's shape registered by the entry script) and every setting of its job config, each
/// traced to the plan field it comes from. A plan setting torchtitan cannot honour is refused with
/// one line naming it: never a silently different run (docs/launch.md has the table).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/estimate.hpp"
#include "bwplan/render.hpp"
#include "launch_data.hpp"

namespace bwplan::io {

struct TrainerModel {
  std::string name;      ///< torchtitan's model name ("llama3", "qwen3") or the registered one
  std::string flavor;    ///< "8B", or the registered flavor
  OrderedJson custom;    ///< Qwen3ModelArgs fields when the entry script registers it; else null
  bool qkv_bias = false; ///< the registered model gets q, k, v biases (Qwen2/Qwen2.5)
  bool flex_attention = false; ///< the flavor runs FlexAttention (no context parallelism)
  bool compiles_blocks = true; ///< its parallelize step compiles the blocks under [compile]
  std::string note;            ///< how the flavor differs from the published model, if it does
  std::int64_t parameters = 0;
};

/// torchtitan's flavor with exactly the plan's shape, else the plan's shape as a custom flavor;
/// throws bwplan::Error when torchtitan has no block of that kind (MLP biases, GELU, LayerNorm...).
[[nodiscard]] TrainerModel trainer_model(const ModelSpec& m, std::int64_t parameters,
                                         std::int64_t seq_len);

/// The learning-rate schedule a job trains with, and where its rate and warm-up came from, in
/// words (a recipe, or the flag that set it).
struct ChosenSchedule {
  LrSchedule values;
  std::string lr_from, warmup_from;
};

/// What the launch adds to the plan: steps and checkpointing.
struct TrainerRun {
  std::string description;
  std::int64_t steps = 0;
  bool default_steps = false; ///< no train tokens: the launch policy's default step count
  std::int64_t checkpoint_interval_steps = 0;
  std::int64_t checkpoints_kept = 0;
  std::string checkpoint_folder;
  std::string dump_folder;
  ChosenSchedule schedule; ///< the learning rate and its warm-up and decay
};

/// One key of torchtitan's job config and the plan field it carries.
struct TrainerSetting {
  std::string section; ///< dotted table path, e.g. "quantize.linear.float8"
  std::string key;
  OrderedJson value;
  std::string from; ///< the plan field (or launch setting) it comes from
};

/// The FSDP x tensor-parallel ranks the plan's tied embedding is split over, which torchtitan
/// shards with the output head that shares it as two FSDP groups; 0 when the model is untied or
/// no FSDP applies (no sharding, a shard group of one).
[[nodiscard]] std::int64_t tied_embedding_ranks(const TrainingConfig& c, const ModelSpec& m);

/// Every setting the plan needs; throws bwplan::Error naming a plan setting torchtitan cannot do.
[[nodiscard]] std::vector<TrainerSetting>
torchtitan_settings(const Estimate& plan, const TrainerModel& model, const TrainerRun& run);

/// The settings as a TOML document, one table per section in order of first appearance.
[[nodiscard]] std::string torchtitan_toml(const std::vector<TrainerSetting>& settings,
                                          std::string_view header);

/// The entry script's model file: torchtitan name, flavor, parameter count, custom args.
[[nodiscard]] std::string model_json(const TrainerModel& m);

} // namespace bwplan::io
