#include "bwplan/measurements.hpp"

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/units.hpp"
#include "io/json_reader.hpp"
#include "io/model_file.hpp"

namespace bwplan {

namespace {

using io::ObjectReader;

template <class E> E read_enum(ObjectReader& r, const std::string& key) {
  return parse_enum_or_throw<E>(r.string(key), r.at(key));
}

template <class E> E read_enum_or(ObjectReader& r, const std::string& key, E fallback) {
  if (const auto s = r.optional_string(key)) {
    return parse_enum_or_throw<E>(*s, r.at(key));
  }
  return fallback;
}

ModelSpec read_case_model(ObjectReader& r, const Catalog& catalog) {
  const nlohmann::json& v = r.value("model");
  if (v.is_string()) {
    const std::string name = v.get<std::string>();
    if (const ModelSpec* m = catalog.find_model(name)) {
      return *m;
    }
    throw Error(fmt::format("{}: unknown model preset '{}'", r.at("model"), name));
  }
  ObjectReader mr = r.object("model");
  ModelSpec m = io::read_model_fields(mr);
  mr.finish();
  validate_model(m, r.at("model"));
  return m;
}

void read_measured(ObjectReader& r, MeasurementCase& mc) {
  ObjectReader m = r.object("measured");
  const std::string metric = m.string("metric");
  if (metric == "fits") {
    mc.metric = Metric::fits;
    mc.fits = m.boolean("value");
  } else {
    if (metric == "peak_reserved_gib") {
      mc.metric = Metric::peak_reserved;
    } else if (metric == "peak_allocated_gib") {
      mc.metric = Metric::peak_allocated;
    } else if (metric == "peak_active_gib") {
      mc.metric = Metric::peak_active;
    } else {
      throw Error(fmt::format("{}: '{}' is not known: allowed peak_reserved_gib, "
                              "peak_allocated_gib, peak_active_gib, fits",
                              m.at("metric"), metric));
    }
    mc.value_bytes = m.number("value", 1e-3, 1e6) * k_gib;
  }
  // Positive: the throughput error divides by it.
  if (const auto t = m.optional_number("tokens_per_second_per_gpu", 1e-3, 1e9)) {
    mc.tokens_per_second_per_gpu = *t;
  }
  // Secondary readings some cases carry alongside the metric.
  for (const char* extra : {"peak_reserved_gib", "peak_allocated_gib", "peak_active_gib"}) {
    (void)m.optional_number(extra, 0, 1e6);
  }
  (void)m.optional_number("step_seconds", 0, 1e6);
  m.finish();
}

MeasurementCase read_case(ObjectReader& r, const Catalog& catalog, const std::string& where) {
  MeasurementCase mc;
  mc.id = r.string("id");
  mc.source = r.string("source");
  EstimateRequest& q = mc.request;
  q.model = read_case_model(r, catalog);
  q.gpu = catalog.gpu(r.string("gpu"));
  q.gpu.power_limit_watts =
      r.optional_number("gpu_power_limit_watts", 1, q.gpu.tdp_watts).value_or(0);
  TrainingConfig& c = q.config;
  c.gpus = r.integer("gpus", 1, 1 << 20);
  c.gpus_per_node = std::min<std::int64_t>(c.gpus, 8);
  c.sharding = read_enum<Sharding>(r, "sharding");
  c.shard_group = r.integer("shard_group", 1, c.gpus);
  if (c.sharding == Sharding::none) {
    c.shard_group = 0;
  }
  c.precision = read_enum<Precision>(r, "precision");
  c.fp8_all_gather = r.optional_boolean("fp8_all_gather").value_or(false);
  c.micro_batch = r.integer("micro_batch", 1, 1 << 20);
  c.seq_len = r.integer("seq_len", 1, 1 << 24);
  c.grad_accum = r.integer("grad_accum", 1, 1 << 20);
  c.grad_accum_mode = read_enum_or(r, "grad_accum_mode", GradAccumMode::reduce_scatter);
  c.activation_checkpointing = read_enum<ActivationCheckpointing>(r, "activation_checkpointing");
  c.ac_every = r.optional_integer("ac_every", 1, 1 << 20).value_or(2);
  c.optimizer = read_enum<Optimizer>(r, "optimizer");
  c.compile = r.boolean("compile");
  c.loss = read_enum<Loss>(r, "loss");
  c.fp8_backend = read_enum_or(r, "fp8_backend", Fp8Backend::torchao);
  c.offload = read_enum_or(r, "offload", Offload::none);
  c.optimizer_impl = read_enum_or(r, "optimizer_impl", OptimizerImpl::fused);
  c.norm_impl = read_enum_or(r, "norm_impl", NormImpl::fused);
  c.fsdp_wrap = read_enum_or(r, "fsdp_wrap", FsdpWrap::per_module);
  q.nodes = (c.gpus + c.gpus_per_node - 1) / c.gpus_per_node;
  read_measured(r, mc);
  r.allow({"notes"});
  r.finish();
  try {
    validate_config(c, q.model);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: case '{}': {}", where, mc.id, e.what()));
  }
  return mc;
}

} // namespace

std::vector<MeasurementCase> parse_measurements(std::string_view text, const std::string& where,
                                                const Catalog& catalog) {
  const nlohmann::json j = io::parse_json(text, where);
  ObjectReader top(j, where);
  const std::string schema = top.string("schema");
  if (schema != "bwplan-measurements/1") {
    throw Error(fmt::format("{}: /schema: '{}' is not known (allowed bwplan-measurements/1)", where,
                            schema));
  }
  (void)top.optional_string("about");
  const nlohmann::json& cases = top.value("cases");
  top.finish();
  if (!cases.is_array()) {
    throw Error(
        fmt::format("{}: /cases: expected an array, got {}", where, io::json_type_name(cases)));
  }
  std::vector<MeasurementCase> out;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ObjectReader r(cases[i], where, fmt::format("/cases/{}", i));
    out.push_back(read_case(r, catalog, where));
  }
  return out;
}

} // namespace bwplan
