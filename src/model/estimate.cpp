#include "bwplan/estimate.hpp"

#include <fmt/format.h>

#include "bwplan/units.hpp"

namespace bwplan {

Estimate evaluate(const EstimateRequest& r) {
  Estimate e;
  e.request = r;
  e.params = count_parameters(r.model);
  e.shard_group = effective_shard_group(r.config);
  e.states = estimate_model_states(r.model, r.config);
  e.capacity_bytes = r.gpu.memory_bytes;
  if (!r.gpu.supports(r.config.precision)) {
    e.infeasibility = Infeasibility::precision_unsupported;
    e.reason =
        fmt::format("{} does not support {} training", r.gpu.name, name_of(r.config.precision));
  } else if (e.states.total_bytes() > e.capacity_bytes) {
    e.infeasibility = Infeasibility::does_not_fit;
    e.reason = fmt::format("model states alone need {:.1f} GiB of {:.1f} GiB",
                           to_gib(e.states.total_bytes()), to_gib(e.capacity_bytes));
  }
  return e;
}

} // namespace bwplan
