/// \file
/// Launch files for a plan as an Amazon SageMaker AI training job that runs the plan with the
/// pinned torchtitan release: the `CreateTrainingJob` request (checked against AWS's API model
/// before it is returned), a SageMaker Python SDK launcher that chains jobs past SageMaker's
/// runtime limit, a submit script, and the job's source directory (entry script, torchtitan
/// config, requirements, model). Pure: returns file contents; the CLI writes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bwplan/estimate.hpp"

namespace bwplan {

/// The user's AWS settings (the flags of `bwplan emit sagemaker`).
// --lr and --warmup-steps: any rate a run could use, any warm-up up to the longest run's steps
constexpr double k_min_lr = 1e-8;
constexpr double k_max_lr = 1;
constexpr std::int64_t k_max_warmup_steps = 1'000'000'000;

struct LaunchOptions {
  std::string role_arn;       ///< --role-arn (required)
  std::string s3_output;      ///< --s3-output (required)
  std::string s3_train;       ///< --s3-train (required): text to train on (channel "train")
  std::string s3_tokenizer;   ///< --s3-tokenizer (required): a Hugging Face tokenizer directory
  std::string s3_checkpoints; ///< --s3-checkpoints; empty = <s3-output>/<job>/checkpoints/
  std::string region = "us-west-2";
  std::string image;              ///< --image: a full image URI (overrides pytorch_version)
  std::string pytorch_version;    ///< --pytorch-version; empty = the trainer's default
  std::string training_plan_arn;  ///< --training-plan-arn
  std::string job_name;           ///< empty = derived from the plan, with a hash suffix
  std::int64_t max_runtime_s = 0; ///< per job; 0 = from the time to train (or 24 h without it)
  std::int64_t checkpoint_interval_steps = 0; ///< 0 = about once an hour of predicted time
  std::int64_t volume_gb = 0;                 ///< 0 = from the checkpoints kept on a node
  std::string sdk = "v3";                     ///< v3 (ModelTrainer) or v2 (PyTorch estimator)
  double train_tokens = 0;                    ///< 0 = the plan's own train tokens
  std::optional<double> lr;                   ///< --lr; none = the model's recipe
  std::optional<std::int64_t> warmup_steps;   ///< --warmup-steps; none = the model's recipe
};

struct EmittedFile {
  std::string name; ///< path inside the output directory, e.g. "source/train.py"
  std::string contents;
  bool executable = false;
};

/// What `emit_sagemaker` wrote, for the CLI to tell the user.
struct EmittedLaunch {
  std::vector<EmittedFile> files;
  std::string job_name;           ///< the request's TrainingJobName (the SDK adds a timestamp)
  std::int64_t jobs = 1;          ///< chained jobs needed to train the tokens
  std::int64_t max_runtime_s = 0; ///< each job's MaxRuntimeInSeconds
  std::int64_t steps = 0;
  bool default_steps = false;     ///< no train tokens: the policy's default step count
  bool runtime_from_flag = false; ///< max_runtime_s is --max-runtime's, not SageMaker's limit
  std::vector<std::string> notes; ///< what to know before launching, one line each
  double lr = 0;                  ///< the learning rate written into torchtitan.toml
  std::int64_t warmup_steps = 0;
  std::string lr_from, warmup_from; ///< where each came from: a recipe, or the flag
};

/// Checks the user's settings against AWS's constraints; throws bwplan::Error naming the flag.
/// Then runs check_plan_launchable.
void check_launch_options(const LaunchOptions& o, const Estimate& plan);

/// Checks that the plan itself can be launched, whatever the flags: a SageMaker instance type
/// with the plan's GPU, a plan that fits, and nothing the pinned torchtitan cannot run (its
/// model, loss, parallelism, fine-tuning mode); throws bwplan::Error naming the plan setting.
void check_plan_launchable(const Estimate& plan);

/// check_plan_launchable's refusal as a value: none when the plan launches.
[[nodiscard]] std::optional<std::string> launch_refusal(const Estimate& plan);

/// Every launch file for `plan`; runs check_launch_options and validates the request against
/// AWS's `CreateTrainingJobRequest` shape (any problem: bwplan::Error naming the field).
[[nodiscard]] EmittedLaunch emit_sagemaker(const Estimate& plan, const LaunchOptions& o);

/// The DLC PyTorch training image for the region and GPU (or --image / --pytorch-version):
/// by default the image of the PyTorch the pinned trainer was built against.
[[nodiscard]] std::string training_image_uri(const LaunchOptions& o, const GpuSpec& gpu);

/// The instance counts SageMaker Flexible Training Plans are sold in (data/launch/sagemaker.json).
[[nodiscard]] std::vector<std::int64_t> training_plan_instance_counts();

/// Regions with a known DLC account (data/launch/images.json).
[[nodiscard]] std::vector<std::string> sagemaker_regions();

/// A Python string literal for `s` (double quotes; \\, ", newlines and control characters
/// escaped; UTF-8 passed through).
[[nodiscard]] std::string python_string_literal(std::string_view s);

/// A TOML basic string for `s`.
[[nodiscard]] std::string toml_string_literal(std::string_view s);

/// Empty when `sdk` is a launch.py flavour bwplan writes (LaunchOptions::sdk), else why not: the
/// value quoted and what is allowed.
[[nodiscard]] std::string sdk_problem(std::string_view sdk);

/// A POSIX shell word for `s` (single-quoted).
[[nodiscard]] std::string shell_quote(std::string_view s);

/// `s` as it would be typed in a POSIX shell: as it is when every character is plain (letters,
/// digits and -_./:=@%+,), else single-quoted; pasted, it is one word and runs nothing.
[[nodiscard]] std::string shell_word(std::string_view s);

} // namespace bwplan
