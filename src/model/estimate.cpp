#include "bwplan/estimate.hpp"

#include <fmt/format.h>

#include "bwplan/units.hpp"

namespace bwplan {

std::string_view name_of(Infeasibility i) {
  switch (i) {
  case Infeasibility::none: return "none";
  case Infeasibility::precision_unsupported: return "precision_unsupported";
  case Infeasibility::out_of_memory: return "out_of_memory";
  case Infeasibility::host_memory_exceeded: return "host_memory_exceeded";
  }
  return "unknown";
}

Estimate evaluate(const EstimateRequest& r, const MemoryConstants& k) {
  Estimate e;
  e.request = r;
  e.params = count_parameters(r.model);
  e.shard_group = effective_shard_group(r.config);
  e.memory = estimate_memory(r.model, r.config, r.gpu, k);
  const MemoryEstimate& m = e.memory;
  if (!r.gpu.supports(r.config.precision)) {
    e.infeasibility = Infeasibility::precision_unsupported;
    e.reason = fmt::format("{} has no {} support", r.gpu.name, name_of(r.config.precision));
  } else if (!m.fits()) {
    e.infeasibility = Infeasibility::out_of_memory;
    e.reason = fmt::format("needs {:.1f} GiB of {:.1f} GiB usable (peak at {})",
                           to_gib(m.device_bytes_required), to_gib(m.usable_bytes),
                           k_step_phase_names[static_cast<std::size_t>(m.peak_phase)]);
  } else if (r.instance && m.host_bytes_per_node > r.instance->host_memory_bytes) {
    e.infeasibility = Infeasibility::host_memory_exceeded;
    e.reason = fmt::format(
        "CPU offload needs {:.0f} GiB of host memory per node, {} has {:.0f} GiB",
        to_gib(m.host_bytes_per_node), r.instance->name, to_gib(r.instance->host_memory_bytes));
  }
  return e;
}

} // namespace bwplan
