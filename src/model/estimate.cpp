#include "bwplan/estimate.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/units.hpp"

namespace bwplan {

JobPrice job_price(const InstanceSpec* instance, std::int64_t nodes,
                   std::optional<double> usd_per_instance_hour) {
  JobPrice p;
  p.basis.overridden = usd_per_instance_hour.has_value();
  if (instance != nullptr && !p.basis.overridden) {
    p.basis.instance = instance->name;
    p.basis.price = instance->price;
  }
  const double hourly =
      usd_per_instance_hour.value_or(instance != nullptr ? instance->price.usd_per_hour : 0.0);
  p.usd_per_hour = hourly * static_cast<double>(nodes);
  return p;
}

Cost cost_of(const JobPrice& price, double tokens_per_s_job, double train_tokens) {
  Cost c;
  static_cast<CostRates&>(c) = cost_rates(price.usd_per_hour, tokens_per_s_job, train_tokens);
  c.price_basis = price.basis;
  return c;
}

CostRates cost_rates(double job_usd_per_hour, double tokens_per_s_job, double train_tokens) {
  CostRates c;
  c.usd_per_hour = job_usd_per_hour;
  if (tokens_per_s_job > 0) {
    c.usd_per_million_tokens = job_usd_per_hour / (tokens_per_s_job * 3600.0) * 1e6;
    if (train_tokens > 0) {
      c.hours_to_train = train_tokens / tokens_per_s_job / 3600.0;
      c.usd_to_train = c.hours_to_train * job_usd_per_hour;
    }
  }
  return c;
}

Network job_network(const EstimateRequest& r, const TimeConstants& tk) {
  // Between nodes: the instance's EFA, else the constants' default.
  return make_network(r.gpu, r.config.gpus_per_node,
                      r.instance ? r.instance->efa_bandwidth_bits_per_s
                                 : tk.default_node_network_bits_per_s);
}

Estimate evaluate(const EstimateRequest& r, const MemoryConstants& k, const TimeConstants& tk) {
  Estimate e;
  e.request = r;
  e.params = count_parameters(r.model);
  e.shard_group = effective_shard_group(r.config);
  e.memory = estimate_memory(r.model, r.config, r.gpu, k);
  e.time = estimate_step_time(r.model, r.config, r.gpu, job_network(r, tk), tk);
  // Without a price the rates are 0 but the hours to train are still known.
  e.cost = cost_of(job_price(r.instance ? &*r.instance : nullptr, r.nodes, r.price_per_hour),
                   e.time.tokens_per_s_job, r.train_tokens);
  const MemoryEstimate& m = e.memory;
  // Byte counts are written as 64-bit integers: a model at the edge of validate_model's limits
  // with 2^31 tokens per micro-batch can pass 2^62 bytes, which is refused, not wrapped.
  if (!(m.device_bytes_required_high < 0x1p62 && e.time.step_s > 0)) {
    throw Error(fmt::format("`micro_batch` {} x `seq_len` {} with model '{}' needs {:.3g} bytes "
                            "per GPU, past what bwplan computes (allowed below 2^62)",
                            r.config.micro_batch, r.config.seq_len, r.model.name,
                            m.device_bytes_required_high));
  }
  if (!r.gpu.supports(r.config.precision)) {
    e.infeasibility = RejectReason::precision_unsupported;
    e.reason = r.gpu.unsupported_reason(r.config.precision);
  } else if (!m.fits()) {
    e.infeasibility = RejectReason::out_of_memory;
    e.reason = fmt::format("needs {:.2f} GiB of {:.2f} GiB usable, {} over (peak at {})",
                           to_gib(m.device_bytes_required), to_gib(m.usable_bytes),
                           excess_text(m.device_bytes_required - m.usable_bytes),
                           k_step_phase_names[static_cast<std::size_t>(m.peak_phase)]);
  } else if (r.instance && m.host_bytes_per_node > r.instance->host_memory_bytes) {
    e.infeasibility = RejectReason::host_memory_exceeded;
    e.reason = fmt::format(
        "CPU offload needs {:.0f} GiB of host memory per node, {} has {:.0f} GiB",
        to_gib(m.host_bytes_per_node), r.instance->name, to_gib(r.instance->host_memory_bytes));
  }
  return e;
}

std::string excess_text(double bytes) {
  const double mib = std::ceil(bytes / k_mib);
  return mib < 1024 ? fmt::format("{:.0f} MiB", mib) : fmt::format("{:.2f} GiB", to_gib(bytes));
}

} // namespace bwplan
