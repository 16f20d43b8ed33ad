// The bands around the memory and tokens/s predictions (docs/model.md and docs/time-model.md,
// "Bands"): the model's error over the shipped measured runs, widened for each way a
// configuration lies outside what those runs cover.
#include <algorithm>
#include <cmath>

#include "bwplan/memory_model.hpp"
#include "bwplan/time_model.hpp"

namespace bwplan {

namespace {

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// Doublings of `value` beyond `measured` (0 inside).
double doublings_beyond(double value, double measured) {
  return value > measured && measured > 0 ? std::log2(value / measured) : 0.0;
}

/// Widening, one reason at a time: `amount` (0 adds nothing) and its reason's bit.
struct Widen {
  double total = 0;
  Widenings reasons = 0;
  void add(double amount, Widening why) {
    if (amount > 0) {
      total += amount;
      reasons |= bit(why);
    }
  }
};

/// The widening for a sequence beyond the longest measured one.
void widen_for_sequence(Widen& w, const TrainingConfig& c, double measured, double per_doubling) {
  w.add(doublings_beyond(static_cast<double>(c.seq_len), measured) * per_doubling,
        Widening::sequence);
}

/// Bytes per token and block a checkpointed mixture's measured runs held beyond the estimate
/// (docs/model.md, "Mixtures of experts"). Compiled with full checkpointing under expert
/// parallelism: what op-level SAC keeps beyond the block input (the only such runs measured, a
/// fork dispatching with DeepEP, read 45-68 % above the estimate; at ep 1 the 12 compiled, fully
/// checkpointed mixture runs measured are read from 9.2 % low to 2.5 % high and get nothing:
/// two lie 2-3 % above the upper edge, docs/model.md section 12). Eager with op-level
/// SAC: one routed copy's SwiGLU intermediate, experts_per_token x expert_ffn (LambdaLabs'
/// August runs, eager above compiled by about that). Neither saved tensor is identified; 0 for
/// anything else.
double mixture_checkpointing_bytes(const ModelSpec& m, const TrainingConfig& c) {
  if (!m.is_moe()) {
    return 0.0;
  }
  if (c.compile && c.activation_checkpointing == ActivationCheckpointing::full && c.ep > 1) {
    return block_activations(m, c, ActivationCheckpointing::selective_op).saved_per_token -
           block_activations(m, c, ActivationCheckpointing::full).saved_per_token;
  }
  if (!c.compile && c.activation_checkpointing == ActivationCheckpointing::selective_op) {
    return static_cast<double>(m.experts_per_token) * static_cast<double>(m.expert_ffn) *
           state_dtypes(c.precision).compute_bytes;
  }
  return 0.0;
}

} // namespace

MemoryBand memory_band(const ModelSpec& m, const TrainingConfig& c, const GpuSpec& gpu,
                       const MemoryConstants& k) {
  Widen w;
  widen_for_sequence(w, c, k.band_measured_seq_len, k.band_fraction_per_seq_doubling);
  if (!listed(k.band_measured_gpus, gpu.name)) {
    w.add(k.band_unmeasured_gpu_fraction, Widening::gpu);
  }
  MemoryBand b;
  // torchtitan's and Megatron-Core's eager losses are counted from their source; another
  // trainer's may hold one more fp32 copy of the logits (transformers' shifted copy).
  if (c.trainer == Trainer::other && c.loss == Loss::unfused &&
      k.band_unfused_bytes_per_logit > 0) {
    b.high_bytes_per_logit = k.band_unfused_bytes_per_logit;
    w.reasons |= bit(Widening::unfused_loss);
  }
  // A compiled loss under loss parallelism: whether torch.compile fuses loss_parallel()'s DTensor
  // log_softmax is not measured; the upper edge holds what the eager one does, the larger of its
  // forward and backward differences per local logit (12 bytes in bf16: 14 - 2 and 16 - 4).
  if (loss_parallel(c) && c.loss == Loss::fused) {
    TrainingConfig eager = c;
    eager.loss = Loss::unfused;
    const LogitsMemory e = logits_per_element(eager);
    const LogitsMemory f = logits_per_element(c);
    b.high_bytes_per_logit =
        std::max(e.forward_bytes - f.forward_bytes, e.backward_bytes - f.backward_bytes);
    w.reasons |= bit(Widening::tensor_parallel);
  }
  if (c.precision == Precision::bf16_pure && k.band_bf16_pure_bytes > 0) {
    b.high_bytes = k.band_bf16_pure_bytes;
    w.reasons |= bit(Widening::bf16_pure);
  }
  b.high_bytes_per_token_block = mixture_checkpointing_bytes(m, c);
  if (b.high_bytes_per_token_block > 0) {
    w.reasons |= bit(Widening::mixture_checkpointing);
  }
  // The measured tensor-parallel peak reads above the estimate: the upper edge only.
  Widen higher;
  if (c.tp > 1) {
    higher.add(k.band_tensor_parallel_fraction, Widening::tensor_parallel);
  }
  if (c.pp > 1) {
    higher.add(k.band_pipeline_parallel_fraction, Widening::pipeline_parallel);
  }
  // Expert parallelism (its dispatch buffers and routing imbalance): set on its 18 measured peaks.
  if (m.is_moe() && c.ep > 1) {
    higher.add(k.band_mixture_fraction, Widening::mixture);
  }
  b.low_fraction = std::min(k.band_low_fraction + w.total, 0.9);
  b.high_fraction = k.band_high_fraction + w.total + higher.total;
  b.widened = w.reasons | higher.reasons;
  return b;
}

ThroughputBand throughput_band(const TrainingConfig& c, const GpuSpec& gpu, const TimeConstants& k,
                               bool mixture) {
  Widen both;
  widen_for_sequence(both, c, k.band_measured_seq_len, k.band_fraction_per_seq_doubling);
  both.add(doublings_beyond(static_cast<double>(c.gpus), k.band_measured_gpu_count) *
               k.band_fraction_per_scale_doubling,
           Widening::scale);
  if (mixture) {
    both.add(k.band_mixture_fraction, Widening::mixture);
  }
  // The unmeasured-GPU term comes from rows that ran slower than predicted: it widens the lower
  // edge only (the prediction already assumes the datasheet peak).
  Widen slower;
  if (!listed(k.band_measured_gpus, gpu.name)) {
    slower.add(k.band_unmeasured_gpu_fraction, Widening::gpu);
  }
  // Measured context-parallel runs ran slower than predicted, the tensor-parallel one faster.
  slower.add(std::log2(static_cast<double>(c.cp)) * k.band_low_fraction_per_cp_doubling,
             Widening::context_parallel);
  Widen faster;
  if (c.tp > 1) {
    faster.add(k.band_tensor_parallel_fraction, Widening::tensor_parallel);
  }
  ThroughputBand b;
  b.low_fraction = k.band_low_fraction + both.total + slower.total; // low = estimate / (1 + this)
  b.high_fraction = k.band_high_fraction + both.total + faster.total;
  b.widened = both.reasons | slower.reasons | faster.reasons;
  return b;
}

} // namespace bwplan
