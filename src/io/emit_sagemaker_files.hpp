/// \file
/// The resolved launch (names, image, runtime, chain, environment, trainer settings) shared by
/// the file writers of `emit sagemaker`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bwplan/render.hpp"
#include "bwplan/sagemaker.hpp"
#include "torchtitan_config.hpp"

namespace bwplan::io {

/// The entry script inside the uploaded source directory.
inline constexpr const char* k_entry_script = "train.py";

struct Launch {
  const Estimate* plan = nullptr;
  const LaunchOptions* options = nullptr;
  std::string job_name; ///< the base name: launchers add "-p<k>" (chains) and a timestamp
  std::string image;
  std::string instance_type;
  std::string s3_checkpoints;
  std::string submit_directory;   ///< S3 URI of sourcedir.tar.gz for the raw request
  std::int64_t max_runtime_s = 0; ///< each job's
  std::int64_t jobs = 1;          ///< chained jobs, each resuming from the last checkpoint
  std::int64_t volume_gb = 0;
  std::int64_t nvme_gb = 0; ///< the instance's NVMe storage, which holds the checkpoints; 0: EBS
  double checkpoint_gb = 0; ///< one checkpoint (a node restores all of it)
  double train_tokens = 0;
  std::int64_t tokens_per_step = 0;
  std::int64_t steps = 0; ///< optimizer steps to train (the policy's default without tokens)
  std::int64_t checkpoint_interval_steps = 0;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::pair<std::string, std::string>> tags;
  OrderedJson settings; ///< the plan's training settings, plain JSON values (hyperparameters)
  TrainerModel model;
  ChosenSchedule schedule; ///< the learning rate the job trains with
  std::vector<TrainerSetting> trainer_settings;
  std::vector<std::string> notes; ///< what to know before launching, one line each

  /// The name of chained job `k` (1-based) as the raw request spells it.
  [[nodiscard]] std::string job_name_of(std::int64_t k) const {
    return jobs > 1 ? job_name + "-p" + std::to_string(k) : job_name;
  }
};

/// Every file of the launch directory; `request` is the CreateTrainingJob JSON text.
[[nodiscard]] std::vector<EmittedFile> launch_files(const Launch& l, const std::string& request);

} // namespace bwplan::io
