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

} // namespace

MemoryBand memory_band(const TrainingConfig& c, const GpuSpec& gpu, const MemoryConstants& k) {
  MemoryBand b;
  double wider = 0;
  const double seq = doublings_beyond(static_cast<double>(c.seq_len), k.band_measured_seq_len);
  if (seq > 0) {
    wider += seq * k.band_fraction_per_seq_doubling;
    b.widened |= bit(Widening::sequence);
  }
  if (!listed(k.band_measured_gpus, gpu.name)) {
    wider += k.band_unmeasured_gpu_fraction;
    b.widened |= bit(Widening::gpu);
  }
  if (c.loss == Loss::unfused && k.band_unfused_bytes_per_logit > 0) {
    b.high_bytes_per_logit = k.band_unfused_bytes_per_logit;
    b.widened |= bit(Widening::unfused_loss);
  }
  if (c.precision == Precision::bf16_pure && k.band_bf16_pure_bytes > 0) {
    b.high_bytes = k.band_bf16_pure_bytes;
    b.widened |= bit(Widening::bf16_pure);
  }
  b.low_fraction = std::min(k.band_low_fraction + wider, 0.9);
  b.high_fraction = k.band_high_fraction + wider;
  return b;
}

ThroughputBand throughput_band(const TrainingConfig& c, const GpuSpec& gpu,
                               const TimeConstants& k) {
  ThroughputBand b;
  double wider = 0;
  const double seq = doublings_beyond(static_cast<double>(c.seq_len), k.band_measured_seq_len);
  if (seq > 0) {
    wider += seq * k.band_fraction_per_seq_doubling;
    b.widened |= bit(Widening::sequence);
  }
  // The unmeasured-GPU term comes from rows that ran slower than predicted: it widens the lower
  // edge only (the prediction already assumes the datasheet peak).
  double slower = 0;
  if (!listed(k.band_measured_gpus, gpu.name)) {
    slower = k.band_unmeasured_gpu_fraction;
    b.widened |= bit(Widening::gpu);
  }
  const double scale = doublings_beyond(static_cast<double>(c.gpus), k.band_measured_gpu_count);
  if (scale > 0) {
    wider += scale * k.band_fraction_per_scale_doubling;
    b.widened |= bit(Widening::scale);
  }
  b.low_fraction = k.band_low_fraction + wider + slower; // low = estimate / (1 + this)
  b.high_fraction = k.band_high_fraction + wider;
  return b;
}

} // namespace bwplan
