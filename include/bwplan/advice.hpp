/// \file
/// "It does not fit: what do I change?" For an estimate over the memory budget, the component
/// that breaks it and the single changes that make it fit, each with its cost in throughput.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bwplan/estimate.hpp"

namespace bwplan {

/// The one setting a suggestion changes; the CLI spells it as its flag (io::change_text).
enum class Setting : std::uint8_t {
  activation_checkpointing,
  sharding,
  micro_batch,
  seq_len,
  loss,
  nodes,
  instance,
  count_
};

struct FitSuggestion {
  Setting setting = Setting::activation_checkpointing;
  std::string value; ///< the setting's new value as its flag takes it, e.g. "full", "4"
  EstimateRequest request;
  Estimate estimate;
  double throughput_ratio = 0; ///< job tokens/s relative to the original configuration
};

struct FitAdvice {
  std::string breaking_component; ///< the largest component at the peak phase
  double breaking_bytes = 0;
  double over_bytes = 0;                  ///< device memory required minus usable
  std::vector<FitSuggestion> suggestions; ///< each fits; ordered by throughput, best first
};

/// Tries, one at a time: stronger activation checkpointing, more sharding, the largest micro-batch
/// that fits, a shorter sequence, a chunked loss, more nodes, and each of `alternatives` (instance
/// types with more GPU memory, with their GPUs) — and keeps those that fit.
[[nodiscard]] FitAdvice
advise_fit(const EstimateRequest& r, const Estimate& e,
           const std::vector<std::pair<InstanceSpec, GpuSpec>>& alternatives,
           const MemoryConstants& mk = {}, const TimeConstants& tk = {});

} // namespace bwplan
