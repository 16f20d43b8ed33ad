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
  cp,
  tp,
  pp,
  nf4_quantizer,
  lora_dtype,
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

/// The most nodes a suggestion proposes: more nodes are tried by doubling up to this (or the
/// request's own count). 64 P6-B200 nodes are 512 GPUs; past that a plan needs the parallelism
/// axes and a capacity reservation, which advice does not propose.
inline constexpr std::int64_t k_advice_max_nodes = 64;
/// The shortest sequence a suggestion proposes (tokens): the sequence is halved down to this.
/// Below it training on the user's data is a different task, not a memory fix.
inline constexpr std::int64_t k_advice_min_seq_len = 256;

/// Tries, one at a time: stronger activation checkpointing, more sharding, the largest micro-batch
/// that fits, context and tensor parallelism (the smallest degree up to a node's GPUs), a chunked
/// loss, more nodes, each of `alternatives` (instance types with more GPU memory, with their GPUs)
/// and, last, a shorter sequence — and keeps those that fit. Suggestions are ordered by
/// throughput, best first, but a shorter sequence comes after every change that keeps the
/// user's sequence.
[[nodiscard]] FitAdvice
advise_fit(const EstimateRequest& r, const Estimate& e,
           const std::vector<std::pair<InstanceSpec, GpuSpec>>& alternatives,
           const MemoryConstants& mk = {}, const TimeConstants& tk = {});

} // namespace bwplan
