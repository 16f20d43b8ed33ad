/// \file
/// The AWS settings `emit sagemaker` and `search --emit-sagemaker` share, and the summary of
/// what they wrote.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bwplan/constants.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/sagemaker.hpp"

namespace bwplan::cli {

/// --role-arn, --s3-output, --s3-train, --s3-tokenizer (required when `required`),
/// --s3-checkpoints, --region, --image, --pytorch-version, --training-plan-arn, --job-name,
/// --max-runtime, --checkpoint-interval, --volume-gb, --sdk, and --train-tokens unless the
/// command has its own (`train_tokens`).
void add_launch_options(CLI::App& cmd, LaunchOptions& l, bool required, bool train_tokens);

/// The precision `plan` launches with: its own when the pinned trainer runs it, else the first of
/// `alike` (the recipes a search grouped with the plan: the same plan with them is predicted
/// within the rank margin) that it runs; none when neither does.
[[nodiscard]] std::optional<Precision>
launchable_recipe(const Estimate& plan, std::span<const Precision> alike, const ModelConstants& k);

/// `why` (the reason `plan` cannot launch) when none of `alike` launches either, gone on to what
/// stops the first of them that clears it ("; as mxfp8, a recipe it stands for: ..."), so that
/// "--precision <it>" is not taken for the whole fix.
[[nodiscard]] std::string reason_past_recipes(const Estimate& plan, std::string why,
                                              std::span<const Precision> alike,
                                              const ModelConstants& k);

/// `plan` re-evaluated in `precision`.
[[nodiscard]] Estimate with_recipe(const Estimate& plan, Precision precision,
                                   const ModelConstants& k);

/// What was written and how to launch it, for people (a few lines).
[[nodiscard]] std::string launch_summary(const std::string& dir, const EmittedLaunch& l);

} // namespace bwplan::cli
