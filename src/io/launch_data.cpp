// Reads data/launch/*.json (compiled in) into LaunchData, strictly: unknown keys are errors.
#include "launch_data.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "bwplan/embedded_configs.hpp"
#include "bwplan/error.hpp"
#include "json_reader.hpp"

namespace bwplan::io {

namespace {

nlohmann::json load(std::string_view name) {
  for (const EmbeddedFile& f : embedded_data_files()) {
    if (f.path == name) {
      return parse_json(f.contents, fmt::format("data/{}", name));
    }
  }
  throw Error(fmt::format("data/{} is not built into this binary", name));
}

std::vector<TrainingImage> read_images(ObjectReader& r, std::map<std::string, std::string>& acc) {
  ObjectReader accounts = r.object("region_accounts");
  for (const auto& [region, account] : r.value("region_accounts").items()) {
    acc[region] = accounts.string(region);
  }
  accounts.finish();
  std::vector<TrainingImage> out;
  const nlohmann::json& list = r.value("images");
  for (std::size_t i = 0; i < list.size(); ++i) {
    ObjectReader e(list[i], "data/launch/images.json", fmt::format("/images/{}", i));
    TrainingImage im;
    im.pytorch_version = e.string("pytorch_version");
    im.repository = e.string("repository");
    im.tag = e.string("tag");
    im.cuda_version = std::stod(e.string("cuda_version"));
    im.end_of_patch_date = e.string("end_of_patch_date");
    im.source = e.string("source");
    e.allow({"python", "os", "ga_date"});
    e.finish();
    out.push_back(std::move(im));
  }
  std::sort(out.begin(), out.end(), [](const TrainingImage& a, const TrainingImage& b) {
    return version_less(a.pytorch_version, b.pytorch_version);
  });
  return out;
}

LrSchedule read_schedule(ObjectReader e) {
  LrSchedule s;
  s.lr = e.number("lr", 1e-8, 1);
  s.warmup_steps = e.integer("warmup_steps", 0, 1'000'000'000);
  s.decay_type = e.optional_string("decay_type");
  s.decay_ratio = e.optional_number("decay_ratio", 0, 1);
  s.min_lr_factor = e.optional_number("min_lr_factor", 0, 1);
  s.recipe = e.string("recipe");
  s.source = e.string("source");
  e.allow({"train_config"}); // the TOML it was read from (tests/test_launch_recipes.cpp checks it)
  e.finish();
  return s;
}

TrainerPin read_trainer(ObjectReader& r) {
  TrainerPin t;
  t.name = r.string("name");
  t.version = r.string("version");
  t.commit = r.string("commit");
  t.min_pytorch_version = r.string("min_pytorch_version");
  t.default_pytorch_version = r.string("default_pytorch_version");
  t.tied_embeddings_last_pytorch_version = r.string("tied_embeddings_last_pytorch_version");
  const nlohmann::json& reqs = r.value("requirements");
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    ObjectReader e(reqs[i], "data/launch/trainer.json", fmt::format("/requirements/{}", i));
    t.requirements.push_back({e.string("name"), e.string("version")});
    e.finish();
  }
  const nlohmann::json& models = r.value("native_models");
  for (std::size_t i = 0; i < models.size(); ++i) {
    ObjectReader e(models[i], "data/launch/trainer.json", fmt::format("/native_models/{}", i));
    NativeModel m;
    m.name = e.string("name");
    m.flavor = e.string("flavor");
    m.layers = e.integer("layers", 1, 1'000'000);
    m.hidden = e.integer("hidden", 1, 1'000'000);
    m.heads = e.integer("heads", 1, 1'000'000);
    m.kv_heads = e.integer("kv_heads", 1, 1'000'000);
    m.ffn = e.integer("ffn", 1, 10'000'000);
    m.vocab = e.integer("vocab", 1, 100'000'000);
    m.head_dim = e.integer("head_dim", 1, 100'000);
    m.tied_embeddings = e.boolean("tied_embeddings");
    m.qk_norm = e.boolean("qk_norm");
    m.experts = e.optional_integer("experts", 2, 4096).value_or(0);
    m.experts_per_token = e.optional_integer("experts_per_token", 1, 4096).value_or(0);
    m.expert_ffn = e.optional_integer("expert_ffn", 1, 10'000'000).value_or(0);
    m.shared_expert_ffn = e.optional_integer("shared_expert_ffn", 1, 10'000'000).value_or(0);
    m.dense_layers = e.optional_integer("dense_layers", 1, 1'000'000).value_or(0);
    m.router_bias = e.optional_boolean("router_bias").value_or(false);
    m.expert_bias = e.optional_boolean("expert_bias").value_or(false);
    m.q_lora_rank = e.optional_integer("q_lora_rank", 1, 1'000'000).value_or(0);
    m.kv_lora_rank = e.optional_integer("kv_lora_rank", 1, 1'000'000).value_or(0);
    m.qk_rope_head_dim = e.optional_integer("qk_rope_head_dim", 1, 100'000).value_or(0);
    m.v_head_dim = e.optional_integer("v_head_dim", 1, 100'000).value_or(0);
    m.qkv_bias = e.optional_boolean("qkv_bias").value_or(false);
    m.out_bias = e.optional_boolean("out_bias").value_or(false);
    m.attention_sinks = e.optional_boolean("attention_sinks").value_or(false);
    m.sliding_window = e.optional_integer("sliding_window", 1, 100'000'000).value_or(0);
    m.sliding_layers = e.optional_integer("sliding_layers", 1, 1'000'000).value_or(0);
    m.flex_attention = e.optional_boolean("flex_attention").value_or(false);
    m.compiles_blocks = e.optional_boolean("compiles_blocks").value_or(true);
    if (e.has("recipe")) {
      m.recipe = read_schedule(e.object("recipe"));
    }
    m.note = e.optional_string("note").value_or("");
    e.allow({"source"});
    e.finish();
    t.native_models.push_back(std::move(m));
  }
  t.default_schedule = read_schedule(r.object("default_schedule"));
  ObjectReader custom = r.object("custom_model");
  t.custom_model_name = custom.string("name");
  t.custom_model_flavor = custom.string("flavor");
  t.custom_model_family = custom.string("family");
  t.custom_rope_theta = custom.number("rope_theta", 1, 1e12);
  t.custom_norm_eps = custom.number("norm_eps", 1e-12, 1);
  custom.allow({"source"});
  custom.finish();
  r.allow({"released"});
  return t;
}

SageMakerPolicy read_policy(ObjectReader& r) {
  SageMakerPolicy p;
  p.max_runtime_s = r.integer("max_runtime_s", 1, 1'000'000'000);
  p.default_runtime_s = r.integer("default_runtime_s", 1, p.max_runtime_s);
  p.runtime_margin_factor = r.number("runtime_margin_factor", 1, 10);
  p.runtime_margin_s = r.integer("runtime_margin_s", 0, 86400);
  p.default_steps = r.integer("default_steps", 1, 1'000'000'000);
  p.max_chained_jobs = r.integer("max_chained_jobs", 1, 10'000);
  p.checkpoint_local_path = r.string("checkpoint_local_path");
  p.output_data_path = r.string("output_data_path");
  p.min_volume_gb = r.integer("min_volume_gb", 1, 16384);
  p.checkpoints_kept = r.integer("checkpoints_kept", 1, 100);
  p.checkpoint_interval_s = r.integer("checkpoint_interval_s", 60, 86400 * 7);
  for (const auto& n : r.value("training_plan_instance_counts")) {
    p.training_plan_instance_counts.push_back(n.get<std::int64_t>());
  }
  ObjectReader env = r.object("environment");
  for (const auto& [k, v] : r.value("environment").items()) {
    p.environment.emplace_back(k, env.string(k));
  }
  env.finish();
  for (const auto& [k, v] : r.value("launcher_sets").items()) {
    p.launcher_sets.push_back(k);
  }
  ObjectReader cuda = r.object("min_cuda_by_compute_capability");
  for (const auto& [cc, v] : r.value("min_cuda_by_compute_capability").items()) {
    p.min_cuda_by_compute_capability[std::stod(cc)] = std::stod(cuda.string(cc));
  }
  cuda.finish();
  return p;
}

LaunchData read_all() {
  LaunchData d;
  {
    const nlohmann::json j = load("launch/images.json");
    ObjectReader r(j, "data/launch/images.json");
    d.images = read_images(r, d.region_accounts);
    r.allow({"description", "sources"});
    r.finish();
  }
  {
    const nlohmann::json j = load("launch/trainer.json");
    ObjectReader r(j, "data/launch/trainer.json");
    d.trainer = read_trainer(r);
    r.allow({"description", "sources"});
    r.finish();
  }
  {
    const nlohmann::json j = load("launch/sagemaker.json");
    ObjectReader r(j, "data/launch/sagemaker.json");
    d.policy = read_policy(r);
    r.allow({"description", "sources"});
    r.finish();
  }
  return d;
}

} // namespace

bool version_less(std::string_view a, std::string_view b) {
  const auto parts = [](std::string_view v) {
    std::vector<int> out;
    while (!v.empty()) {
      int n = 0;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      out.push_back(ec == std::errc() ? n : -1);
      const auto dot = v.find('.');
      v = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
    }
    return out;
  };
  return parts(a) < parts(b);
}

const LaunchData& launch_data() {
  static const LaunchData d = read_all();
  return d;
}

} // namespace bwplan::io
