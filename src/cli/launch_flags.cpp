#include "launch_flags.hpp"

#include <algorithm>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/sagemaker.hpp"
#include "bwplan/utf8.hpp"
#include "context.hpp"

namespace bwplan::cli {

namespace fs = std::filesystem;

namespace {

/// A flag whose absence derives its value takes 1 or more when given: 0 would read as absent.
CLI::Validator given_positive() {
  return {[](const std::string& s) -> std::string {
            if (!s.starts_with('-') && s != "0") {
              return {};
            }
            flag_value_out_of_range() = true; // a bad value (status 1), not bad usage
            return fmt::format("'{}' is out of range: allowed 1 or more (leave the flag "
                               "out to derive it)",
                               s);
          },
          ""};
}

} // namespace

Estimate with_recipe(const Estimate& plan, Precision precision, const ModelConstants& k) {
  EstimateRequest q = plan.request;
  q.config.precision = precision;
  return evaluate(q, k.memory, k.time);
}

std::optional<Precision> launchable_recipe(const Estimate& plan, std::span<const Precision> alike,
                                           const ModelConstants& k) {
  if (!launch_refusal(plan)) {
    return plan.request.config.precision;
  }
  for (const Precision p : alike) {
    if (!launch_refusal(with_recipe(plan, p, k))) {
      return p;
    }
  }
  return std::nullopt;
}

std::string reason_past_recipes(const Estimate& plan, std::string why,
                                std::span<const Precision> alike, const ModelConstants& k) {
  for (const Precision p : alike) {
    const std::optional<std::string> also = launch_refusal(with_recipe(plan, p, k));
    if (also && *also != why) {
      return why + fmt::format("; as {}, a recipe it stands for: {}", name_of(p), *also);
    }
  }
  return why;
}

void add_launch_options(CLI::App& cmd, LaunchOptions& l, bool required, bool train_tokens) {
  const std::size_t before = cmd.get_options().size();
  cmd.add_option("--role-arn", l.role_arn, "IAM role ARN the job runs as")
      ->required(required)
      ->check(not_empty(ValueKind::required));
  cmd.add_option("--s3-output", l.s3_output, "S3 URI for the job's output")
      ->required(required)
      ->check(not_empty(ValueKind::required));
  cmd.add_option("--s3-train", l.s3_train,
                 "S3 URI of the text to train on (channel 'train': JSON Lines, Parquet or .txt)")
      ->required(required)
      ->check(not_empty(ValueKind::required));
  cmd.add_option("--s3-tokenizer", l.s3_tokenizer,
                 "S3 URI of a Hugging Face tokenizer directory (channel 'tokenizer')")
      ->required(required)
      ->check(not_empty(ValueKind::required));
  cmd.add_option("--s3-checkpoints", l.s3_checkpoints,
                 "S3 URI for checkpoints [<s3-output>/<job>/checkpoints/]")
      ->check(not_empty());
  cmd.add_option("--region", l.region, "AWS region")->capture_default_str()->check(not_empty());
  cmd.add_option("--image", l.image, "training image URI [the DLC PyTorch image for the GPU]")
      ->check(not_empty());
  cmd.add_option("--pytorch-version", l.pytorch_version,
                 "DLC PyTorch image version: one the catalog lists for the GPU, 2.11 or newer "
                 "[2.11, the trainer's]")
      ->check(not_empty());
  cmd.add_option("--training-plan-arn", l.training_plan_arn,
                 "SageMaker Flexible Training Plan ARN (ResourceConfig.TrainingPlanArn)")
      ->check(not_empty());
  cmd.add_option("--job-name", l.job_name, "training job name [derived from the plan + hash]")
      ->check(not_empty());
  cmd.add_option("--max-runtime", l.max_runtime_s,
                 "MaxRuntimeInSeconds of each job [time to train x 1.5 + 1 h, at most 28 days, "
                 "longer runs as chained jobs; 24 h without --train-tokens]")
      ->transform(strict_integer())
      ->check(given_positive());
  // 1 or more for these three: leaving a flag out derives its value (0 was read as that), and
  // emit checks AWS's limits (28 days, 16384 GB) where the policy data defines them.
  cmd.add_option("--checkpoint-interval", l.checkpoint_interval_steps,
                 "steps between checkpoints [about one hour of predicted step time]")
      ->transform(strict_integer())
      ->check(given_positive());
  cmd.add_option(
         "--volume-gb", l.volume_gb,
         "ML storage volume per instance, GB [30 + the checkpoints a node keeps and the one being "
         "written]")
      ->transform(strict_integer())
      ->check(given_positive());
  cmd.add_option("--lr", l.lr,
                 "peak learning rate [torchtitan's train config for the model's flavor, else "
                 "torchtitan's default]")
      ->transform(number_in(k_min_lr, k_max_lr));
  cmd.add_option("--warmup-steps", l.warmup_steps, "learning-rate warm-up steps [as --lr]")
      ->transform(strict_integer());
  cmd.add_option("--sdk", l.sdk, "launch.py flavour: v3 (ModelTrainer) or v2 (PyTorch)")
      ->check(CLI::Validator( // a value the flag does not take: status 2, as other names
          [](std::string& s) -> std::string { return sdk_problem(s); }, ""))
      ->capture_default_str();
  if (train_tokens) {
    cmd.add_option(
           "--train-tokens", l.train_tokens,
           "tokens to train (5e10, 50B, 4M, 32k): sets steps and the runtime limit [none: the "
           "launch policy's default step count]")
        ->transform(number_in(k_min_train_tokens, k_max_train_tokens, false, true));
  }
  if (!required) { // beside another command's own flags (search): under its "Launch files"
    const std::vector<CLI::Option*> all = cmd.get_options();
    for (std::size_t i = before; i < all.size(); ++i) {
      all[i]->group("Launch files");
    }
  }
}

namespace {

/// A path to paste into bash or zsh on one line: shell_word(), or, when it holds a control
/// character (a newline), ANSI-C quoted with that character as \xNN, so the line stays one line
/// and still names the path.
std::string pasteable_path(std::string_view s) {
  if (std::none_of(s.begin(), s.end(),
                   [](char c) { return is_control_byte(static_cast<unsigned char>(c)); })) {
    return shell_word(s);
  }
  std::string out = "$'";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (is_control_byte(u)) {
      out += fmt::format("\\x{:02x}", u);
    } else if (c == '\'' || c == '\\') {
      out += std::string("\\") + c;
    } else {
      out += c;
    }
  }
  return out + "'";
}

} // namespace

std::string launch_summary(const std::string& dir, const EmittedLaunch& l) {
  std::string names;
  for (const EmittedFile& f : l.files) {
    names += (names.empty() ? "" : ", ") + f.name;
  }
  const fs::path d(dir);
  std::string s =
      fmt::format("wrote {}{}: {}\n", display_one_line(dir), dir.ends_with('/') ? "" : "/", names);
  s += fmt::format("launch: python3 {}   (or: sh {})\n", pasteable_path((d / "launch.py").string()),
                   pasteable_path((d / "submit.sh").string()));
  s += fmt::format("job {}: {} steps, MaxRuntimeInSeconds {} ({:.1f} h)", l.job_name, l.steps,
                   l.max_runtime_s, static_cast<double>(l.max_runtime_s) / 3600);
  if (l.default_steps) {
    s += " (no --train-tokens: the default step count)";
  }
  s += "\n";
  if (l.jobs > 1) {
    s += fmt::format("the run is longer than one job's MaxRuntimeInSeconds ({}): launch.py runs "
                     "it as {} chained jobs, each resuming from the last checkpoint\n",
                     l.runtime_from_flag ? "--max-runtime" : "SageMaker's 28-day limit", l.jobs);
  }
  if (l.lr_from == l.warmup_from) { // one recipe gave both
    s += fmt::format("learning rate {}, warm-up {} steps ({}; --lr and --warmup-steps set "
                     "others)\n",
                     l.lr, l.warmup_steps, l.lr_from);
  } else {
    s += fmt::format("learning rate {} ({}), warm-up {} steps ({})\n", l.lr, l.lr_from,
                     l.warmup_steps, l.warmup_from);
  }
  for (const std::string& n : l.notes) {
    s += "note: " + n + "\n";
  }
  return s;
}

} // namespace bwplan::cli
