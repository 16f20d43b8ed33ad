/// \file
/// The resolved launch (names, image, runtime, environment) shared by the file writers of
/// `emit sagemaker`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bwplan/render.hpp"
#include "bwplan/sagemaker.hpp"

namespace bwplan::io {

struct Launch {
  const Estimate* plan = nullptr;
  const LaunchOptions* options = nullptr;
  std::string job_name;
  std::string image;
  std::string instance_type;
  std::string s3_checkpoints;
  std::string submit_directory; ///< S3 URI of sourcedir.tar.gz for the raw request
  std::int64_t max_runtime_s = 0;
  double train_tokens = 0;
  std::int64_t tokens_per_step = 0;
  std::int64_t steps = 0; ///< optimizer steps to train (1000 without train tokens)
  std::vector<std::pair<std::string, std::string>> environment;
  OrderedJson settings; ///< the plan's training settings, plain JSON values
};

[[nodiscard]] std::string launch_py(const Launch& l);
[[nodiscard]] std::string torchtitan_toml(const Launch& l);
[[nodiscard]] std::string hyperparameters_json(const Launch& l);
[[nodiscard]] std::string readme_md(const Launch& l);

} // namespace bwplan::io
