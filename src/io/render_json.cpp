#include <cmath>

#include "bwplan/render.hpp"

namespace bwplan {

namespace {

// Byte counts and other whole quantities are written as integers so outputs diff cleanly.
std::int64_t whole(double v) {
  return static_cast<std::int64_t>(std::llround(v));
}

OrderedJson flops_json(const PeakFlops& f) {
  OrderedJson j = OrderedJson::object();
  const std::pair<const char*, double> entries[] = {{"fp32", f.fp32},   {"tf32", f.tf32},
                                                    {"bf16", f.bf16},   {"fp8", f.fp8},
                                                    {"mxfp8", f.mxfp8}, {"nvfp4", f.nvfp4}};
  for (const auto& [k, v] : entries) {
    if (v > 0) {
      j[k] = v;
    }
  }
  return j;
}

OrderedJson model_json(const ModelSpec& m) {
  const ParamCounts c = count_parameters(m);
  OrderedJson j;
  j["name"] = m.name;
  j["display_name"] = m.display_name;
  j["parameters"] = c.total;
  j["non_embedding_parameters"] = c.non_embedding();
  j["layers"] = m.layers;
  j["hidden"] = m.hidden;
  j["heads"] = m.heads;
  j["kv_heads"] = m.kv_heads;
  j["head_dim"] = m.effective_head_dim();
  j["ffn"] = m.ffn;
  j["vocab"] = m.vocab;
  j["mlp"] = name_of(m.mlp);
  j["norm"] = name_of(m.norm);
  j["position"] = name_of(m.position);
  j["tied_embeddings"] = m.tied_embeddings;
  j["qk_norm"] = m.qk_norm;
  j["qkv_bias"] = m.qkv_bias;
  j["linear_bias"] = m.linear_bias;
  j["max_seq_len"] = m.max_seq_len;
  j["sources"] = m.sources;
  return j;
}

OrderedJson gpu_json(const GpuSpec& g) {
  OrderedJson j;
  j["name"] = g.name;
  j["display_name"] = g.display_name;
  j["memory_bytes"] = whole(g.memory_bytes);
  j["hbm_bandwidth_bytes_per_s"] = g.hbm_bandwidth_bytes_per_s;
  j["dense_flops_per_s"] = flops_json(g.dense_flops_per_s);
  j["nvlink_bandwidth_bytes_per_s"] = g.nvlink_bandwidth_bytes_per_s;
  j["compute_capability"] = g.compute_capability;
  j["tdp_watts"] = g.tdp_watts;
  OrderedJson precisions = OrderedJson::array();
  for (Precision p : g.supported_precisions) {
    precisions.push_back(name_of(p));
  }
  j["supported_precisions"] = precisions;
  j["sources"] = g.sources;
  if (!g.notes.empty()) {
    j["notes"] = g.notes;
  }
  return j;
}

OrderedJson price_json(const Price& p) {
  OrderedJson j;
  j["usd_per_hour"] = p.usd_per_hour;
  j["kind"] = p.kind;
  j["region"] = p.region;
  j["as_of"] = p.as_of;
  j["source"] = p.source;
  return j;
}

OrderedJson instance_json(const InstanceSpec& s) {
  OrderedJson j;
  j["name"] = s.name;
  j["gpu"] = s.gpu;
  j["gpus_per_node"] = s.gpus_per_node;
  j["efa_bandwidth_bits_per_s"] = s.efa_bandwidth_bits_per_s;
  j["efa_generation"] = s.efa_generation;
  j["host_memory_bytes"] = whole(s.host_memory_bytes);
  j["vcpus"] = s.vcpus;
  j["local_nvme_bytes"] = whole(s.local_nvme_bytes);
  j["price"] = price_json(s.price);
  j["sources"] = s.sources;
  if (!s.notes.empty()) {
    j["notes"] = s.notes;
  }
  return j;
}

OrderedJson envelope(const char* kind) {
  OrderedJson j;
  j["schema_version"] = k_output_schema_version;
  j["kind"] = kind;
  return j;
}

template <class T, class F>
OrderedJson list_json(const char* kind, const char* key, const std::vector<T>& v, F each) {
  OrderedJson j = envelope(kind);
  OrderedJson items = OrderedJson::array();
  for (const T& x : v) {
    items.push_back(each(x));
  }
  j[key] = items;
  return j;
}

OrderedJson config_json(const EstimateRequest& r, std::int64_t shard_group) {
  const TrainingConfig& c = r.config;
  OrderedJson j;
  j["model"] = r.model.name;
  j["gpu"] = r.gpu.name;
  j["instance"] = r.instance ? OrderedJson(r.instance->name) : OrderedJson(nullptr);
  j["nodes"] = r.nodes;
  j["gpus"] = c.gpus;
  j["gpus_per_node"] = c.gpus_per_node;
  j["sharding"] = name_of(c.sharding);
  j["shard_group"] = shard_group;
  j["precision"] = name_of(c.precision);
  j["fp8_all_gather"] = c.fp8_all_gather;
  j["micro_batch"] = c.micro_batch;
  j["seq_len"] = c.seq_len;
  j["grad_accum"] = c.grad_accum;
  j["activation_checkpointing"] = name_of(c.activation_checkpointing);
  j["ac_every"] = c.ac_every;
  j["optimizer"] = name_of(c.optimizer);
  j["compile"] = c.compile;
  j["loss"] = name_of(c.loss);
  j["fp8_backend"] = name_of(c.fp8_backend);
  j["grad_accum_mode"] = name_of(c.grad_accum_mode);
  j["offload"] = name_of(c.offload);
  j["optimizer_impl"] = name_of(c.optimizer_impl);
  j["norm_impl"] = name_of(c.norm_impl);
  j["fsdp_wrap"] = name_of(c.fsdp_wrap);
  return j;
}

OrderedJson memory_json(const MemoryEstimate& m) {
  OrderedJson j;
  OrderedJson comps;
  const ComponentBytes& peak = m.at_peak();
  for (std::size_t i = 0; i < peak.size(); ++i) {
    comps[std::string(k_memory_component_names[i]) + "_bytes"] = whole(peak[i]);
  }
  j["components"] = comps;
  OrderedJson phases;
  for (std::size_t p = 0; p < m.phases.size(); ++p) {
    phases[std::string(k_step_phase_names[p]) + "_bytes"] = whole(phase_total(m.phases[p]));
  }
  j["phases"] = phases;
  j["peak_phase"] = k_step_phase_names[static_cast<std::size_t>(m.peak_phase)];
  j["peak_allocated_bytes"] = whole(m.peak_allocated_bytes);
  j["peak_reserved_bytes"] = whole(m.peak_reserved_bytes);
  j["allocator_slack_bytes"] = whole(m.peak_reserved_bytes - m.peak_allocated_bytes);
  j["runtime_bytes"] = whole(m.runtime_bytes);
  j["device_bytes_required"] = whole(m.device_bytes_required);
  j["capacity_bytes"] = whole(m.capacity_bytes);
  j["usable_bytes"] = whole(m.usable_bytes);
  j["headroom_bytes"] = whole(m.headroom_bytes());
  j["fits"] = m.fits();
  j["host_bytes_per_node"] = whole(m.host_bytes_per_node);
  OrderedJson states;
  states["parameters_bytes"] = whole(m.states.parameters_bytes);
  states["gradients_bytes"] = whole(m.states.gradients_bytes);
  states["optimizer_bytes"] = whole(m.states.optimizer_bytes);
  states["sharded_parameters"] = m.states.sharded_params;
  j["model_states"] = states;
  return j;
}

} // namespace

OrderedJson gpus_json(const Catalog& c) {
  return list_json("gpus", "gpus", c.gpus, gpu_json);
}
OrderedJson instances_json(const Catalog& c) {
  return list_json("instances", "instances", c.instances, instance_json);
}
OrderedJson models_json(const Catalog& c) {
  return list_json("models", "models", c.models, model_json);
}

OrderedJson estimate_json(const Estimate& e) {
  OrderedJson j = envelope("estimate");
  j["config"] = config_json(e.request, e.shard_group);
  j["model"] = model_json(e.request.model);
  j["memory"] = memory_json(e.memory);
  OrderedJson verdict;
  verdict["feasible"] = e.feasible();
  verdict["reason"] = name_of(e.infeasibility);
  verdict["detail"] = e.reason;
  j["verdict"] = verdict;
  return j;
}

} // namespace bwplan
