#include "cli/launch_flags.hpp"

#include <fstream>
#include <random>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "cli/context.hpp"

namespace bwplan::cli {

namespace fs = std::filesystem;

void add_launch_options(CLI::App& cmd, LaunchOptions& l, bool required, bool train_tokens) {
  cmd.add_option("--role-arn", l.role_arn, "IAM role ARN the job runs as")->required(required);
  cmd.add_option("--s3-output", l.s3_output, "S3 URI for the job's output")->required(required);
  cmd.add_option("--s3-train", l.s3_train, "S3 URI of the training data (channel 'train')")
      ->required(required);
  cmd.add_option("--s3-checkpoints", l.s3_checkpoints,
                 "S3 URI for checkpoints [<s3-output>/<job>/checkpoints/]");
  cmd.add_option("--region", l.region, "AWS region")->capture_default_str();
  cmd.add_option("--image", l.image, "training image URI [the DLC PyTorch image for the GPU]");
  cmd.add_option("--pytorch-version", l.pytorch_version,
                 "DLC PyTorch version: 2.7, 2.8, 2.9, 2.10 [2.8 for B200, 2.9 for B300]");
  cmd.add_option("--training-plan-arn", l.training_plan_arn,
                 "SageMaker Flexible Training Plan ARN (ResourceConfig.TrainingPlanArn)");
  cmd.add_option("--job-name", l.job_name, "training job name [derived from the plan + hash]");
  cmd.add_option("--max-runtime", l.max_runtime_s,
                 "MaxRuntimeInSeconds [time to train x 1.5 + 1 h, capped at 28 days; 24 h "
                 "without --train-tokens]")
      ->check(strict_integer());
  cmd.add_option("--entry-point", l.entry_point, "training script")->capture_default_str();
  cmd.add_option("--source-dir", l.source_dir, "directory holding the training script")
      ->capture_default_str();
  cmd.add_option("--sdk", l.sdk, "launch.py flavour: v3 (ModelTrainer) or v2 (PyTorch)")
      ->capture_default_str();
  if (train_tokens) {
    cmd.add_option("--train-tokens", l.train_tokens,
                   "tokens to train: sets steps and the runtime limit [none]");
  }
}

/// Writes every file into a temporary sibling directory, then renames it to `dir`.
void write_directory(const fs::path& dir, bool force, const std::vector<EmittedFile>& files) {
  std::error_code ec;
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) {
    throw Error(fmt::format("--out {}: the parent directory {} does not exist", dir.string(),
                            parent.string()));
  }
  const std::string tag = fmt::format("{:08x}", std::random_device{}());
  const fs::path tmp = parent / ("." + dir.filename().string() + ".bwplan-tmp-" + tag);
  const fs::path old = parent / ("." + dir.filename().string() + ".bwplan-old-" + tag);
  try {
    fs::create_directory(tmp);
    for (const EmittedFile& f : files) {
      std::ofstream s(tmp / f.name, std::ios::binary | std::ios::trunc);
      s << f.contents;
      s.flush();
      if (!s) {
        throw Error(fmt::format("--out {}: cannot write {}", dir.string(), f.name));
      }
    }
    if (fs::exists(dir, ec) || fs::is_symlink(dir, ec)) {
      if (!force) {
        throw Error(fmt::format("--out {}: exists; pass --force to replace it", dir.string()));
      }
      fs::rename(dir, old);
    }
    fs::rename(tmp, dir);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    if (fs::exists(old, ec) && !fs::exists(dir, ec)) {
      fs::rename(old, dir, ec);
    }
    throw Error(fmt::format("--out {}: cannot write: {}", dir.string(), e.code().message()));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(old, ec);
}

} // namespace bwplan::cli
