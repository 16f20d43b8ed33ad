#include "bwplan/measurements.hpp"

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/field_names.hpp"
#include "bwplan/units.hpp"
#include "config_reader.hpp"
#include "json_reader.hpp"
#include "model_file.hpp"

namespace bwplan {

namespace {

using io::ObjectReader;

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
  return io::read_model_object(mr, r.at("model")); // as a model file reads it
}

// A reading of device memory above what CUDA can allocate on the GPU (its published CUDA total,
// else the driver's): no run holds more than its GPU has.
double device_reading_bytes(ObjectReader& m, const char* key, double min_gib, const GpuSpec& gpu) {
  const double gib = m.number(key, min_gib, 1e6);
  const bool cuda = gpu.cuda_total_bytes > 0;
  const double most = cuda ? gpu.cuda_total_bytes : gpu.memory_bytes;
  if (gib * k_gib > most) {
    throw Error(fmt::format("{}: {:g} GiB is more than the {}'s {:.2f} GiB{} (allowed: up to the "
                            "GPU's memory; is the gpu right?)",
                            m.at(key), gib, gpu.name, most / k_gib,
                            cuda ? " that CUDA can allocate" : ""));
  }
  return gib * k_gib;
}

void read_measured(ObjectReader& r, MeasurementCase& mc, const GpuSpec& gpu) {
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
    mc.value_bytes = device_reading_bytes(m, "value", 1e-3, gpu);
  }
  // Positive: the throughput error divides by it.
  // A run that ran out of memory may have run steps first (at a long batch, an evaluation, a
  // checkpoint save): their tokens/s is a measurement too.
  if (const auto t = m.optional_number("tokens_per_second_per_gpu", 1e-3, 1e9)) {
    mc.tokens_per_second_per_gpu = *t;
  }
  // Secondary readings some cases carry alongside the metric.
  for (const char* extra : {"peak_reserved_gib", "peak_allocated_gib", "peak_active_gib"}) {
    if (m.has(extra)) {
      (void)device_reading_bytes(m, extra, 0, gpu);
    }
  }
  (void)m.optional_number("step_seconds", 0, 1e6);
  m.finish();
}

MeasurementCase read_case(ObjectReader& r, const Catalog& catalog, const std::string& where) {
  // Every key a case may hold is known before any is read: a missing one is then said to be
  // missing, not blamed on a valid neighbour read later ('gpus' beside a missing 'gpu').
  r.allow({"id", "source", "model", "gpu", "gpu_power_limit_watts", "measured", "notes"});
  io::allow_config_fields(r, io::ConfigSource::measurement_case);
  MeasurementCase mc;
  mc.id = r.string("id");
  mc.source = r.string("source");
  EstimateRequest& q = mc.request;
  q.model = read_case_model(r, catalog);
  const std::string gpu = r.string("gpu"); // its own errors name the key already
  q.gpu = io::in_context(r.at("gpu"), [&] { return catalog.gpu(gpu); });
  q.gpu.power_limit_watts =
      r.optional_number("gpu_power_limit_watts", k_min_gpu_watts, q.gpu.tdp_watts)
          .value_or(q.gpu.power_limit_watts);
  TrainingConfig& c = q.config;
  // A run that does not say which trainer it ran is an unnamed one (its band widens for that).
  c.trainer = Trainer::other;
  // Nor with which allocator segments: PyTorch's default.
  c.alloc_segments = AllocSegments::fixed;
  // Nor how its attention took grouped K and V: copied to the query heads (the larger), unless
  // Megatron-Core's Transformer Engine attention, which reads the groups.
  c.gqa_kv = GqaKv::repeat;
  const bool gqa_kv_named = r.has("gqa_kv");
  io::read_config_fields(r, c, io::ConfigSource::measurement_case);
  if (!gqa_kv_named && c.trainer == Trainer::megatron) {
    c.gqa_kv = GqaKv::native;
  }
  // A run's file names no node size: more than 8 GPUs are read as nodes of 8 (the GPUs bwplan
  // plans on come 8 to a node), so a count that is not a multiple of 8 is refused here, in the
  // file's own words, rather than as a `gpus_per_node` the file never wrote.
  constexpr std::int64_t k_node_gpus = 8;
  if (c.gpus > k_node_gpus && c.gpus % k_node_gpus != 0) {
    throw Error(fmt::format("{0}: gpus {1} is not a whole number of {2}-GPU nodes (a run over "
                            "more than {2} GPUs is read as nodes of {2}: allowed 1 to {2} or a "
                            "multiple of {2})",
                            r.at("gpus"), c.gpus, k_node_gpus));
  }
  c.gpus_per_node = std::min(c.gpus, k_node_gpus);
  if (c.sharding == Sharding::none) {
    // 1 (or none given) is how the data writes "no sharding"; more contradicts it, as --shard-group
    // does on the command line.
    if (c.shard_group > 1) {
      throw Error(fmt::format("{}: shard_group {} contradicts sharding none (which shards nothing; "
                              "allowed 1)",
                              r.at("shard_group"), c.shard_group));
    }
    c.shard_group = 0;
  }
  q.nodes = (c.gpus + c.gpus_per_node - 1) / c.gpus_per_node;
  read_measured(r, mc, q.gpu);
  (void)r.optional_string("notes"); // free text for people: any string, nothing else
  r.finish();
  try {
    validate_config(c, q.model);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: case '{}': {}", where, mc.id,
                            io::spell_fields(e.what(), io::Spelling::keys)));
  }
  // A reading no run could make is refused, as estimate refuses the configuration (a measured
  // fit would score a call no GPU can be asked).
  if (!q.gpu.supports(c.precision)) {
    throw Error(fmt::format("{}: case '{}': precision {}: {} (allowed: a precision it runs)", where,
                            mc.id, name_of(c.precision), q.gpu.unsupported_reason(c.precision)));
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
    const std::string& id = out.back().id;
    if (id.empty() || io::has_control(id)) {
      // the id as JSON: a control character is shown escaped, not sent to the terminal
      throw Error(fmt::format("{}: /cases/{}/id: {} is not an id (allowed: a non-empty name "
                              "without control characters)",
                              where, i, nlohmann::json(id).dump()));
    }
    for (std::size_t earlier = 0; earlier + 1 < out.size(); ++earlier) {
      if (out[earlier].id == id) {
        throw Error(fmt::format("{}: /cases/{}/id: '{}' is the id of /cases/{} too (each run once)",
                                where, i, id, earlier));
      }
    }
  }
  return out;
}

} // namespace bwplan
