#include "bwplan/advice.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bisect.hpp"
#include "bwplan/search.hpp"

namespace bwplan {

namespace {

struct Trial {
  const EstimateRequest& base;
  const Estimate& original;
  const MemoryConstants& mk;
  const TimeConstants& tk;
  FitAdvice& advice;

  /// Evaluates `r`; keeps it when it fits at the band's upper edge, the verdict `fits` that
  /// search keeps (and is otherwise valid): an at-risk change is no answer to running out.
  bool keep(Setting setting, const std::string& value, const EstimateRequest& r) {
    const Estimate e = evaluate(r, mk, tk);
    if (!e.feasible() || e.memory.verdict() != Verdict::fits) {
      return false;
    }
    const double before = original.time.tokens_per_s_job;
    advice.suggestions.push_back(
        {setting, value, r, e, before > 0 ? e.time.tokens_per_s_job / before : 0.0});
    return true;
  }
};

void try_checkpointing(Trial& t) {
  const std::pair<ActivationCheckpointing, std::int64_t> ladder[] = {
      {ActivationCheckpointing::selective_op, 2},
      {ActivationCheckpointing::selective_layer, 2},
      {ActivationCheckpointing::full, 2}};
  const auto rank = [](ActivationCheckpointing a) {
    switch (a) {
    case ActivationCheckpointing::none: return 0;
    case ActivationCheckpointing::selective_op: return 1;
    case ActivationCheckpointing::selective_layer: return 2;
    default: return 3;
    }
  };
  for (const auto& [mode, every] : ladder) {
    if (rank(mode) <= rank(t.base.config.activation_checkpointing)) {
      continue;
    }
    EstimateRequest r = t.base;
    r.config.activation_checkpointing = mode;
    r.config.ac_every = std::min<std::int64_t>(every, r.model.layers);
    if (t.keep(Setting::activation_checkpointing, std::string(name_of(mode)), r)) {
      return; // the lightest mode that fits
    }
  }
}

void try_sharding(Trial& t) {
  const Sharding s = t.base.config.sharding;
  for (Sharding next : {Sharding::grad_op, Sharding::full}) {
    if ((s == Sharding::none && next != Sharding::none) ||
        (s == Sharding::grad_op && next == Sharding::full) ||
        (s == Sharding::hybrid && next == Sharding::full)) {
      EstimateRequest r = t.base;
      r.config.sharding = next;
      r.config.shard_group = 0;
      if (t.keep(Setting::sharding, std::string(name_of(next)), r)) {
        return;
      }
    }
  }
}

void try_micro_batch(Trial& t) {
  // Memory grows with the micro-batch: bisect for the largest one below the current that fits
  // at the band's upper edge.
  const auto fits = [&](std::int64_t mb) {
    EstimateRequest r = t.base;
    r.config.micro_batch = mb;
    return evaluate(r, t.mk, t.tk).memory.verdict() == Verdict::fits;
  };
  // 0 stands for none; the current micro-batch does not fit.
  const std::int64_t lo = largest_fitting_in(0, t.base.config.micro_batch - 1, fits);
  if (lo >= 1) {
    EstimateRequest r = t.base;
    r.config.micro_batch = lo;
    t.keep(Setting::micro_batch, std::to_string(lo), r);
  }
}

void try_sequence(Trial& t) {
  for (std::int64_t s = t.base.config.seq_len / 2; s >= k_advice_min_seq_len; s /= 2) {
    EstimateRequest r = t.base;
    r.config.seq_len = s;
    if (t.keep(Setting::seq_len, std::to_string(s), r)) {
      return;
    }
  }
}

/// The smallest context- (then tensor-) parallel degree, doubling up to a node's GPUs, that fits
/// with the other degree kept.
void try_model_parallel(Trial& t, Setting setting, std::int64_t TrainingConfig::*degree,
                        std::int64_t limit) {
  for (std::int64_t d = t.base.config.*degree * 2; d <= limit; d *= 2) {
    EstimateRequest r = t.base;
    r.config.*degree = d;
    r.config.shard_group = 0;
    if (!parallel_degrees_problem(r.config, r.model).empty()) {
      continue;
    }
    if (t.keep(setting, std::to_string(d), r)) {
      return;
    }
  }
}

void try_loss(Trial& t) {
  if (t.base.config.loss != Loss::unfused && t.base.config.loss != Loss::unfused_bf16) {
    return;
  }
  EstimateRequest r = t.base;
  r.config.loss = Loss::chunked;
  t.keep(Setting::loss, std::string(name_of(Loss::chunked)), r);
}

/// QLoRA's load with torchao 0.1's whole-tensor quantizer: today's chunked one needs a tenth.
void try_nf4_quantizer(Trial& t) {
  if (t.base.config.finetune != Finetune::qlora ||
      t.base.config.nf4_quantizer != Nf4Quantizer::unchunked) {
    return;
  }
  EstimateRequest r = t.base;
  r.config.nf4_quantizer = Nf4Quantizer::chunked;
  t.keep(Setting::nf4_quantizer, std::string(name_of(Nf4Quantizer::chunked)), r);
}

/// LoRA with PEFT's fp32 adapters, where they run on copies of their inputs: adapters in the
/// base's dtype (torchtune's, NeMo Automodel's, or PEFT's get_peft_model with
/// autocast_adapter_dtype=False) read the block's own saved input.
void try_lora_dtype(Trial& t) {
  if (!fp32_adapters(t.base.config)) {
    return;
  }
  EstimateRequest r = t.base;
  r.config.lora_dtype = LoraDtype::base;
  t.keep(Setting::lora_dtype, std::string(name_of(LoraDtype::base)), r);
}

void try_nodes(Trial& t) {
  if (!t.base.instance || t.base.config.sharding == Sharding::none ||
      t.base.config.sharding == Sharding::hybrid) {
    return; // more replicas do not shrink per-GPU states
  }
  for (std::int64_t n = t.base.nodes * 2; n <= std::max(k_advice_max_nodes, t.base.nodes); n *= 2) {
    EstimateRequest r = t.base;
    r.nodes = n;
    r.config.gpus = n * r.config.gpus_per_node;
    r.config.shard_group = 0;
    if (t.keep(Setting::nodes, std::to_string(n), r)) {
      return;
    }
  }
}

void try_instances(Trial& t, const std::vector<std::pair<InstanceSpec, GpuSpec>>& alternatives) {
  for (const auto& [inst, gpu] : alternatives) {
    if (!t.base.instance || inst.name == t.base.instance->name ||
        gpu.memory_bytes <= t.base.gpu.memory_bytes || !gpu.supports(t.base.config.precision)) {
      continue;
    }
    EstimateRequest r = t.base;
    r.instance = inst;
    r.gpu = gpu;
    r.config.gpus_per_node = inst.gpus_per_node;
    r.config.gpus = r.nodes * inst.gpus_per_node;
    r.config.shard_group = 0;
    t.keep(Setting::instance, inst.name, r);
  }
}

} // namespace

FitAdvice advise_fit(const EstimateRequest& r, const Estimate& e,
                     const std::vector<std::pair<InstanceSpec, GpuSpec>>& alternatives,
                     const MemoryConstants& mk, const TimeConstants& tk) {
  FitAdvice advice;
  const ComponentBytes& peak = e.memory.at_peak();
  const auto largest = std::max_element(peak.begin(), peak.end());
  advice.breaking_component =
      k_memory_component_names[static_cast<std::size_t>(largest - peak.begin())];
  advice.breaking_bytes = *largest;
  advice.over_bytes = e.memory.device_bytes_required - e.memory.usable_bytes;
  if (e.infeasibility != RejectReason::out_of_memory) {
    return advice;
  }
  Trial t{r, e, mk, tk, advice};
  try_checkpointing(t);
  try_sharding(t);
  try_micro_batch(t);
  // Tensor and context parallelism inside a node's NVLink; pipeline stages across nodes.
  const TrainingConfig& c = t.base.config;
  try_model_parallel(t, Setting::cp, &TrainingConfig::cp, c.gpus_per_node);
  try_model_parallel(t, Setting::tp, &TrainingConfig::tp, c.gpus_per_node);
  try_model_parallel(t, Setting::pp, &TrainingConfig::pp,
                     std::min(k_default_max_model_parallel, c.gpus / c.gpus_per_node));
  try_loss(t);
  try_nf4_quantizer(t);
  try_lora_dtype(t);
  try_nodes(t);
  try_instances(t, alternatives);
  try_sequence(t);
  // A shorter sequence trains something else: it follows every change that keeps the sequence.
  std::stable_sort(advice.suggestions.begin(), advice.suggestions.end(),
                   [](const FitSuggestion& a, const FitSuggestion& b) {
                     const bool a_short = a.setting == Setting::seq_len;
                     const bool b_short = b.setting == Setting::seq_len;
                     return a_short != b_short ? b_short : a.throughput_ratio > b.throughput_ratio;
                   });
  return advice;
}

} // namespace bwplan
