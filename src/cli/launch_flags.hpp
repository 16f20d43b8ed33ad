/// \file
/// The AWS settings `emit sagemaker` and `search --emit-sagemaker` share, and the summary of
/// what they wrote.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bwplan/sagemaker.hpp"

namespace bwplan::cli {

/// --role-arn, --s3-output, --s3-train, --s3-tokenizer (required when `required`),
/// --s3-checkpoints, --region, --image, --pytorch-version, --training-plan-arn, --job-name,
/// --max-runtime, --checkpoint-interval, --volume-gb, --sdk, and --train-tokens unless the
/// command has its own (`train_tokens`).
void add_launch_options(CLI::App& cmd, LaunchOptions& l, bool required, bool train_tokens);

/// What was written and how to launch it, for people (a few lines).
[[nodiscard]] std::string launch_summary(const std::string& dir, const EmittedLaunch& l);

} // namespace bwplan::cli
