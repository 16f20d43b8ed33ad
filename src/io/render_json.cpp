#include <array>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/render.hpp"
#include "render_common.hpp"

namespace bwplan {

using io::config_json;
using io::envelope;
using io::memory_json;
using io::whole;

namespace {

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

OrderedJson gpu_json(const GpuSpec& g) {
  OrderedJson j;
  j["name"] = g.name;
  j["display_name"] = g.display_name;
  j["memory_bytes"] = whole(g.memory_bytes);
  if (g.cuda_total_bytes > 0) {
    j["cuda_total_bytes"] = whole(g.cuda_total_bytes);
  }
  j["hbm_bandwidth_bytes_per_s"] = g.hbm_bandwidth_bytes_per_s;
  j["dense_flops_per_s"] = flops_json(g.dense_flops_per_s);
  j["nvlink_bandwidth_bytes_per_s"] = g.nvlink_bandwidth_bytes_per_s;
  if (g.nvlink_domain_gpus > 0) {
    j["nvlink_domain_gpus"] = g.nvlink_domain_gpus;
  }
  j["compute_capability"] = g.compute_capability;
  j["tdp_watts"] = g.tdp_watts;
  if (g.power_limit_watts > 0) {
    j["power_limit_watts"] = g.power_limit_watts;
  }
  j["flash2_attention_speed_ratio"] = g.flash2_attention_speed_ratio;
  j["gemm_efficiency_ratio"] = g.gemm_efficiency_ratio;
  j["supported_precisions"] = io::names_json(g.supported_precisions);
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
  j["gpu_power_limit_watts"] = s.gpu_power_limit_watts;
  j["price"] = price_json(s.price);
  j["sources"] = s.sources;
  if (!s.notes.empty()) {
    j["notes"] = s.notes;
  }
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

} // namespace

namespace io {

OrderedJson model_json(const ModelSpec& m) {
  const ParamCounts c = count_parameters(m);
  OrderedJson j;
  j["name"] = m.name;
  j["display_name"] = m.display_name;
  j["parameters"] = c.total;
  j["non_embedding_parameters"] = c.non_embedding();
  j["active_parameters"] = active_parameters(m);
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
  j["attention_out_bias"] = m.out_bias;
  j["mlp_bias"] = m.mlp_bias;
  if (m.is_moe()) { // dense models leave them out (docs/schema/models.schema.json)
    j["experts"] = m.experts;
    j["experts_per_token"] = m.experts_per_token;
    j["expert_ffn"] = m.expert_ffn;
    j["shared_expert_ffn"] = m.shared_expert_ffn;
    j["shared_expert_gate"] = m.shared_expert_gate;
    j["dense_layers"] = m.dense_layers;
    j["router_bias"] = m.router_bias;
    j["expert_bias"] = m.expert_bias;
  }
  // Attention variants, written only where a model has them (Llama-style models leave them out).
  if (m.effective_v_head_dim() != m.effective_head_dim()) {
    j["v_head_dim"] = m.v_head_dim;
  }
  if (m.is_mla()) {
    j["kv_lora_rank"] = m.kv_lora_rank;
    j["q_lora_rank"] = m.q_lora_rank;
    j["qk_rope_head_dim"] = m.qk_rope_head_dim;
  }
  if (m.attention_sinks) {
    j["attention_sinks"] = true;
  }
  if (m.local_attention != LocalAttention::none) {
    j["local_attention"] = name_of(m.local_attention);
    j["attention_window"] = m.attention_window;
    j["local_attention_layers"] = m.local_attention_layers;
  }
  j["max_seq_len"] = m.max_seq_len;
  j["sources"] = m.sources;
  return j;
}

// Byte counts and other whole quantities are written as integers so outputs diff cleanly.
std::int64_t whole(double v) {
  return static_cast<std::int64_t>(std::llround(v));
}

OrderedJson envelope(const char* kind) {
  OrderedJson j;
  j["schema_version"] = k_output_schema_version;
  j["kind"] = kind;
  return j;
}

const char* fits_cell(const MemoryEstimate& m) {
  return m.verdict() == Verdict::fits ? "yes" : "at risk";
}

std::string usd_per_million_text(double usd) {
  // Three significant figures, trailing zeros kept (1.20, 10.4, 0.0312): the decimals come from
  // the value rounded to three figures, so 0.09996 reads 0.100, not 0.1000.
  if (!(usd > 0)) {
    return "0.00";
  }
  const int exponent = static_cast<int>(std::floor(std::log10(usd)));
  const double scale = std::pow(10.0, 2 - exponent);
  const double rounded = std::round(usd * scale) / scale;
  const int digits = std::max(0, 2 - static_cast<int>(std::floor(std::log10(rounded))));
  return fmt::format("{:.{}f}", rounded, digits);
}

std::string ac_label(const TrainingConfig& c) {
  std::string s(name_of(c.activation_checkpointing));
  if (c.activation_checkpointing == ActivationCheckpointing::selective_layer) {
    s += fmt::format(":{}", c.ac_every);
  }
  return s;
}

std::string loss_label(const TrainingConfig& c) {
  return fmt::format("{}{}{}{}", name_of(c.loss), c.compile ? "+compile" : "",
                     c.head_fp32 ? "+fp32-head" : "",
                     c.tp > 1 && c.disable_loss_parallel ? "+gathered-logits" : "");
}

OrderedJson config_json(const TrainingConfig& c, const ConfigWhere& w) {
  OrderedJson j;
  j["model"] = w.model;
  j["gpu"] = w.gpu;
  j["instance"] = w.instance.empty() ? OrderedJson(nullptr) : OrderedJson(w.instance);
  j["nodes"] = w.nodes;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (k_is_config_enum<T>) {
      j[std::string(f.key)] = name_of(c.*f.member);
    } else {
      j[std::string(f.key)] = c.*f.member;
    }
  });
  j["shard_group"] = effective_shard_group(c); // the group the plan ran with, never "default"
  return j;
}

OrderedJson widenings_json(Widenings w) {
  OrderedJson list = OrderedJson::array();
  for (std::size_t i = 0; i < k_widening_names.size(); ++i) {
    if ((w & bit(static_cast<Widening>(i))) != 0) {
      list.push_back(k_widening_names[i]);
    }
  }
  return list;
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
  j["pipeline_rank"] = m.pipeline_rank;
  j["peak_allocated_bytes"] = whole(m.peak_allocated_bytes);
  j["peak_reserved_bytes"] = whole(m.peak_reserved_bytes);
  j["allocator_slack_bytes"] = whole(m.peak_reserved_bytes - m.peak_allocated_bytes);
  j["runtime_bytes"] = whole(m.runtime_bytes);
  j["device_bytes_required"] = whole(m.device_bytes_required);
  j["allocator_retries"] = m.allocator_retries;
  j["allocator_retries_high"] = m.allocator_retries_high;
  j["peak_allocated_low_bytes"] = whole(m.peak_allocated_low_bytes);
  j["peak_allocated_high_bytes"] = whole(m.peak_allocated_high_bytes);
  j["peak_reserved_low_bytes"] = whole(m.peak_reserved_low_bytes);
  j["peak_reserved_high_bytes"] = whole(m.peak_reserved_high_bytes);
  j["device_bytes_required_high"] = whole(m.device_bytes_required_high);
  j["band_widened_for"] = widenings_json(m.band_widened);
  j["capacity_bytes"] = whole(m.capacity_bytes);
  j["usable_bytes"] = whole(m.usable_bytes);
  j["headroom_bytes"] = whole(m.headroom_bytes());
  j["fits"] = m.fits();
  j["verdict"] = name_of(m.verdict());
  j["host_bytes_per_node"] = whole(m.host_bytes_per_node);
  OrderedJson states;
  states["parameters_bytes"] = whole(m.states.parameters_bytes);
  states["gradients_bytes"] = whole(m.states.gradients_bytes);
  states["optimizer_bytes"] = whole(m.states.optimizer_bytes);
  states["sharded_parameters"] = m.states.sharded_params;
  j["model_states"] = states;
  return j;
}

OrderedJson throughput_json(const StepTime& t) {
  OrderedJson j;
  j["step_seconds"] = t.step_s;
  j["compute_seconds"] = t.compute_s;
  j["allgather_seconds"] = t.allgather_s;
  j["reduce_scatter_seconds"] = t.reduce_scatter_s;
  j["all_reduce_seconds"] = t.all_reduce_s;
  j["tensor_parallel_seconds"] = t.tensor_parallel_s;
  j["context_parallel_seconds"] = t.context_parallel_s;
  j["expert_parallel_seconds"] = t.expert_parallel_s;
  j["pipeline_bubble_seconds"] = t.pipeline_bubble_s;
  j["pipeline_send_seconds"] = t.pipeline_send_s;
  j["exposed_comm_seconds"] = t.exposed_comm_s;
  j["offload_seconds"] = t.offload_s;
  j["optimizer_seconds"] = t.optimizer_s;
  j["tokens_per_second_per_gpu"] = t.tokens_per_s_per_gpu;
  j["tokens_per_second_job"] = t.tokens_per_s_job;
  j["tokens_per_second_per_gpu_low"] = t.tokens_per_s_per_gpu_low;
  j["tokens_per_second_per_gpu_high"] = t.tokens_per_s_per_gpu_high;
  j["band_widened_for"] = widenings_json(t.band_widened);
  j["mfu"] = t.mfu;
  j["hfu"] = t.hfu;
  j["mfu_torchtitan_fraction"] = t.mfu_torchtitan;
  j["bottleneck"] = name_of(t.bottleneck);
  return j;
}

std::string change_text(const FitSuggestion& s) {
  static constexpr std::array<std::string_view, static_cast<std::size_t>(Setting::count_)> flags = {
      "--activation-checkpointing",
      "--sharding",
      "--micro-batch",
      "--seq-len",
      "--loss",
      "--nodes",
      "--instance",
      "--cp",
      "--tp",
      "--pp",
      "--nf4-quantizer",
      "--lora-dtype"};
  return fmt::format("{} {}", flags[static_cast<std::size_t>(s.setting)], s.value);
}

std::string price_basis_text(const PriceBasis& b) {
  if (b.overridden) {
    return "--price-per-hour";
  }
  return b.instance.empty() ? std::string()
                            : fmt::format("{} {}, {}, {}", b.instance, b.price.kind, b.price.region,
                                          b.price.as_of);
}

OrderedJson cost_json(const Cost& c) {
  OrderedJson j;
  j["usd_per_hour"] = c.usd_per_hour;
  j["price_basis"] = price_basis_text(c.price_basis);
  j["usd_per_million_tokens"] = c.usd_per_million_tokens;
  j["hours_to_train"] = c.hours_to_train;
  j["usd_to_train"] = c.usd_to_train;
  return j;
}

} // namespace io

bool same_model_facts(const ModelSpec& a, const ModelSpec& b) {
  OrderedJson x = io::model_json(a);
  OrderedJson y = io::model_json(b);
  for (const char* name : {"name", "display_name"}) {
    x.erase(name);
    y.erase(name);
  }
  return x == y;
}

OrderedJson gpus_json(const Catalog& c) {
  return list_json("gpus", "gpus", c.gpus, gpu_json);
}
OrderedJson instances_json(const Catalog& c) {
  return list_json("instances", "instances", c.instances, instance_json);
}
OrderedJson models_json(const Catalog& c) {
  return list_json("models", "models", c.models, io::model_json);
}

OrderedJson estimate_json(const Estimate& e) {
  OrderedJson j = envelope("estimate");
  const EstimateRequest& r = e.request;
  j["config"] = config_json(
      r.config, {r.model.name, r.gpu.name, r.instance ? r.instance->name : std::string(), r.nodes});
  j["model"] = io::model_json(e.request.model);
  j["model"]["trainable_parameters"] =
      trainable_parameters(r.model, r.config.finetune, r.config.lora_targets, r.config.lora_rank);
  j["memory"] = memory_json(e.memory);
  j["throughput"] = io::throughput_json(e.time);
  j["cost"] = io::cost_json(e.cost);
  // what hours_to_train is for: emit and check read it back as a search's inputs carry it
  j["cost"]["train_tokens"] = r.train_tokens;
  OrderedJson verdict;
  verdict["feasible"] = e.feasible();
  verdict["reason"] = (e.infeasibility ? name_of(*e.infeasibility) : "none");
  verdict["detail"] = e.reason;
  j["verdict"] = verdict;
  return j;
}

OrderedJson advice_json(const FitAdvice& a) {
  OrderedJson j;
  j["breaking_component"] = a.breaking_component;
  j["breaking_bytes"] = whole(a.breaking_bytes);
  j["over_bytes"] = whole(a.over_bytes);
  OrderedJson list = OrderedJson::array();
  for (const FitSuggestion& s : a.suggestions) {
    OrderedJson o;
    o["change"] = io::change_text(s);
    o["device_bytes_required"] = whole(s.estimate.memory.device_bytes_required);
    o["device_bytes_required_high"] = whole(s.estimate.memory.device_bytes_required_high);
    o["tokens_per_second_per_gpu"] = s.estimate.time.tokens_per_s_per_gpu;
    o["throughput_ratio"] = s.throughput_ratio;
    const EstimateRequest& r = s.request;
    o["config"] = config_json(r.config, {r.model.name, r.gpu.name,
                                         r.instance ? r.instance->name : std::string(), r.nodes});
    list.push_back(o);
  }
  j["suggestions"] = list;
  return j;
}

} // namespace bwplan
