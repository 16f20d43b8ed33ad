/// \file
/// The AWS settings `emit sagemaker` and `search --emit-sagemaker` share, and the all-or-nothing
/// writing of a directory of launch files.
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

/// Writes every file into a temporary sibling directory, then renames it to `dir` (an existing
/// `dir` is replaced only with `force`). Nothing is left behind on failure.
void write_directory(const std::filesystem::path& dir, bool force,
                     const std::vector<EmittedFile>& files);

/// What was written and how to launch it, for people (a few lines).
[[nodiscard]] std::string launch_summary(const std::string& dir, const EmittedLaunch& l);

} // namespace bwplan::cli
