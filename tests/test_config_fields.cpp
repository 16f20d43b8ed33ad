// The training-configuration field registry (bwplan/config_fields.hpp) is the one list of fields:
// plans write and read exactly its fields, the schema and the man page name exactly them, every
// value of every field reaches the trainer or is refused naming the field, and help texts list
// every spelling of an enum.
#include <catch2/catch.hpp>

#include <set>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/render.hpp"
#include "cli/config_flags.hpp"
#include "golden_support.hpp"
#include "io/config_docs.hpp"
#include "io/config_reader.hpp"
#include "io/render_common.hpp"
#include "io/torchtitan_config.hpp"
#include "test_support.hpp"
#include "trainer_settings.hpp"

using namespace bwplan;

namespace {

std::vector<std::string> registry_keys() {
  std::vector<std::string> keys;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) { keys.emplace_back(f.key); });
  return keys;
}

/// A plan's "config" keys: where it runs (model, GPU, instance, nodes), then the registry's.
std::vector<std::string> plan_config_keys() {
  std::vector<std::string> keys = {"model", "gpu", "instance", "nodes"};
  for (std::string& k : registry_keys()) {
    keys.push_back(std::move(k));
  }
  return keys;
}

/// A valid configuration whose every field differs from TrainingConfig's default.
TrainingConfig all_changed() {
  TrainingConfig c;
  c.gpus = 32;
  c.gpus_per_node = 4;
  c.sharding = Sharding::hybrid;
  c.shard_group = 4;
  c.tp = 2;
  c.cp = 2;
  c.pp = 2;
  c.pp_schedule = PipelineSchedule::gpipe;
  c.precision = Precision::fp8_tensorwise;
  c.fp8_all_gather = true;
  c.micro_batch = 3;
  c.seq_len = 4096;
  c.grad_accum = 5;
  c.activation_checkpointing = ActivationCheckpointing::selective_layer;
  c.ac_every = 4;
  c.optimizer = Optimizer::lion;
  c.compile = true;
  c.loss = Loss::chunked;
  c.head_fp32 = true;
  c.disable_loss_parallel = true;
  c.fp8_backend = Fp8Backend::te;
  c.grad_accum_mode = GradAccumMode::no_sync;
  c.offload = Offload::cpu;
  c.optimizer_impl = OptimizerImpl::foreach;
  c.norm_impl = NormImpl::upcast;
  c.swiglu_impl = SwigluImpl::fused;
  c.fsdp_wrap = FsdpWrap::root;
  c.ep = 2; // needs a mixture of experts, which excludes tp and pp: validated apart below
  c.finetune = Finetune::qlora; // LoRA excludes tp and pp too
  c.lora_rank = 8;
  c.lora_alpha = 16;
  c.lora_targets = LoraTargets::attention;
  c.lora_dropout = 0.05;
  c.lora_dropout_position = LoraDropoutPosition::output;
  c.lora_dtype = LoraDtype::base;
  c.nf4_quantizer = Nf4Quantizer::unchunked;
  c.attention_kernel = AttentionKernel::flash2;
  c.gqa_kv = GqaKv::repeat;
  c.trainer = Trainer::other;
  c.moe_impl = MoeImpl::fused;
  c.expert_fsdp = ExpertFsdp::sharded;
  c.alloc_segments = AllocSegments::fixed;
  c.reduce_dtype = ReduceDtype::bf16;
  return c;
}

template <class T> std::string spelled(T v) {
  if constexpr (k_is_config_enum<T>) {
    return std::string(name_of(v));
  } else if constexpr (std::is_same_v<T, double>) {
    return fmt::format("{}", v);
  } else {
    return std::to_string(v);
  }
}

} // namespace

TEST_CASE("plans write every registry field and read back the same configuration", "[fields]") {
  const TrainingConfig want = all_changed();
  const TrainingConfig defaults;
  std::size_t changed = 0;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    INFO(f.key);
    CHECK(want.*f.member != defaults.*f.member); // the round trip below tests every field
    ++changed;
  });
  REQUIRE(changed >= 24); // each field's CHECK above makes all_changed() cover it
  TrainingConfig dense = want;
  dense.ep = 1;
  dense.finetune = Finetune::full;
  lora_settings(dense) = lora_settings(defaults);
  dense.nf4_quantizer = TrainingConfig{}.nf4_quantizer;
  validate_config(dense, test::preset("llama-3.1-8b"));
  const OrderedJson j = io::config_json(want, io::ConfigWhere{"llama-3.1-8b", "b200", "", 8});
  std::vector<std::string> written;
  for (const auto& [key, value] : j.items()) {
    written.push_back(key);
  }
  const std::vector<std::string> expected = plan_config_keys();
  CHECK(written == expected);
  const nlohmann::json parsed = nlohmann::json::parse(j.dump());
  io::ObjectReader r(parsed, "plan.json", "/config");
  TrainingConfig got;
  io::read_config_fields(r, got, io::ConfigSource::plan);
  r.allow({"model", "gpu", "instance", "nodes"});
  r.finish();
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    INFO(f.key);
    CHECK(got.*f.member == want.*f.member);
  });
}

TEST_CASE("a plan's config missing a required field or holding an unknown one is refused; an "
          "optional one a plan lacks takes its default",
          "[fields]") {
  // Optional fields were added after plans were first written (ep, finetune, ...): an older
  // plan lacks them, and their defaults are what the bwplan that wrote it computed.
  const OrderedJson j = io::config_json(all_changed(), io::ConfigWhere{"m", "b200", "", 32});
  int optional = 0;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    const std::string key(f.key);
    nlohmann::json cut = nlohmann::json::parse(j.dump());
    cut.erase(key);
    io::ObjectReader r(cut, "plan.json", "/config");
    r.allow({"model", "gpu", "instance", "nodes"});
    TrainingConfig c;
    INFO(key);
    if (f.in_cases == InCases::optional) {
      io::read_config_fields(r, c, io::ConfigSource::plan);
      CHECK(c.*f.member == TrainingConfig{}.*f.member);
      ++optional;
    } else {
      CHECK_THROWS_WITH(io::read_config_fields(r, c, io::ConfigSource::plan),
                        Catch::Contains("/config/" + key));
    }
  });
  CHECK(optional >= 10);
  nlohmann::json extra = nlohmann::json::parse(j.dump());
  extra["expert_parallel"] = 2;
  io::ObjectReader r(extra, "plan.json", "/config");
  r.allow({"model", "gpu", "instance", "nodes"});
  TrainingConfig c;
  io::read_config_fields(r, c, io::ConfigSource::plan);
  CHECK_THROWS_WITH(r.finish(), Catch::Contains("expert_parallel"));
}

namespace {

/// The start of the line holding `needle` at or after `from` (npos when absent).
std::size_t line_with(const std::string& doc, std::string_view needle, std::size_t from = 0) {
  const std::size_t at = doc.find(needle, from);
  return at == std::string::npos ? at : doc.rfind('\n', at) + 1;
}

/// `doc` with the lines between the marker lines `<!-- generated: NAME ... -->` and
/// `<!-- end generated: NAME -->` replaced by `text`.
std::string with_generated(const std::string& doc, std::string_view name, const std::string& text) {
  const std::size_t open = doc.find(fmt::format("<!-- generated: {} ", name));
  REQUIRE(open != std::string::npos);
  const std::size_t body = doc.find('\n', open) + 1;
  const std::size_t close = doc.find(fmt::format("<!-- end generated: {} -->", name), body);
  REQUIRE(close != std::string::npos);
  return doc.substr(0, body) + text + (text.ends_with('\n') ? "" : "\n") + doc.substr(close);
}

} // namespace

TEST_CASE("docs/schema/estimate.schema.json's config object and its enums are the registry's",
          "[fields][schema]") {
  // The schema's text is checked, not only its meaning: the registry writes these parts, so a new
  // field reaches the contract by running the tests once with BWPLAN_UPDATE_GOLDEN=1.
  const auto path = test::source_path("docs/schema/estimate.schema.json");
  const std::string doc = read_text_file(path);
  std::string want = doc;
  const std::size_t def = want.find("\n    \"config\": {\n") + 1;
  REQUIRE(def != 0);
  const std::size_t def_end = want.find("\n    }", def);
  want.replace(def, def_end + 6 - def, io::config_schema_def_text());
  std::vector<std::string> enum_keys;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    if constexpr (k_is_config_enum<T>) {
      enum_keys.emplace_back(f.key);
    }
  });
  REQUIRE_FALSE(enum_keys.empty());
  std::size_t first = std::string::npos;
  std::size_t last = 0;
  for (const std::string& key : enum_keys) {
    const std::size_t at = line_with(want, fmt::format("\n    \"{}\": {{\"enum\"", key));
    if (at != std::string::npos) {
      first = std::min(first, at);
      last = std::max(last, want.find(",\n", at));
    }
  }
  REQUIRE(first != std::string::npos);
  // Only registry enums in between: nothing else is rewritten.
  const std::string span = want.substr(first, last - first);
  CHECK(static_cast<std::size_t>(std::count(span.begin(), span.end(), '\n')) + 1 <=
        enum_keys.size());
  want.replace(first, last - first, io::config_enum_defs_text());
  test::check_golden(path, want);
  // And the meaning: a plan's keys, required and typed as the registry types them.
  const auto schema = nlohmann::json::parse(doc);
  const nlohmann::json& config = schema.at("$defs").at("config");
  std::vector<std::string> required = config.at("required");
  CHECK(required == plan_config_keys());
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    INFO(f.key);
    const nlohmann::json& p = config.at("properties").at(std::string(f.key));
    if constexpr (std::is_same_v<T, bool>) {
      CHECK(p.at("type") == "boolean");
    } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
      CHECK(p.at("type") == (std::is_same_v<T, double> ? "number" : "integer"));
      CHECK(p.at("minimum") == f.min);
      CHECK(p.at("maximum") == f.max);
    } else {
      CHECK(schema.at("$defs").at(std::string(f.key)).at("enum") == enum_names<T>());
    }
  });
}

TEST_CASE("docs/bwplan.md's training flags and measurement keys are the registry's",
          "[fields][docs]") {
  const auto path = test::source_path("docs/bwplan.md");
  std::string want = read_text_file(path);
  want = with_generated(want, "estimate training flags",
                        io::config_flag_table(cli::k_estimate_fields_spelled_apart));
  want = with_generated(want, "measurement case keys", io::measurement_case_paragraph());
  test::check_golden(path, want);
}

TEST_CASE("docs/bwplan.md names a measurement case's required and optional fields as the "
          "registry does",
          "[fields][docs]") {
  const std::string doc = read_text_file(test::source_path("docs/bwplan.md"));
  const auto start = doc.find("Measurement files (`bwplan-measurements/1`)");
  REQUIRE(start != std::string::npos);
  const std::string para = doc.substr(start, doc.find("\n\n", start) - start);
  const auto split = para.find("optionally");
  REQUIRE(split != std::string::npos);
  const std::string required = para.substr(0, split);
  const std::string optional = para.substr(split);
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    const std::string quoted = "`" + std::string(f.key) + "`";
    INFO(f.key);
    switch (f.in_cases) {
    case InCases::required:
      CHECK(required.find(quoted) != std::string::npos);
      CHECK(optional.find(quoted) == std::string::npos);
      break;
    case InCases::optional:
      CHECK(optional.find(quoted) != std::string::npos);
      CHECK(required.find(quoted) == std::string::npos);
      break;
    case InCases::derived: CHECK(para.find(quoted) == std::string::npos); break;
    }
  });
}

TEST_CASE("each enum field's help names every spelling; docs/launch.md maps every field",
          "[fields][docs]") {
  const std::string launch = read_text_file(test::source_path("docs/launch.md"));
  const auto table = launch.find("| plan field | torchtitan 0.2.2 | refused |");
  REQUIRE(table != std::string::npos);
  const std::string rows = launch.substr(table, launch.find("\n\n", table) - table);
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    INFO(f.key);
    CHECK(rows.find("`" + std::string(f.key) + "`") != std::string::npos);
    if constexpr (k_is_config_enum<T>) {
      for (const std::string_view name : EnumTraits<T>::names) {
        INFO(name);
        CHECK(f.help.find(name) != std::string_view::npos);
      }
    }
  });
}

TEST_CASE("every value of every field reaches torchtitan's config or is refused naming the field",
          "[fields][emit]") {
  // A value is "reached" on a base plan when the trainer settings differ from the base's, and
  // "refused" when torchtitan_settings throws naming the field. Each non-default value must be
  // one of the two on at least one base where it is a valid configuration: never silently
  // dropped. gpus_per_node reaches the launch as the instance type (SageMaker's InstanceType).
  const ModelSpec& m = test::preset("llama-3.1-8b");
  std::vector<TrainingConfig> bases(6);
  bases[1].precision = Precision::fp8_tensorwise;
  bases[2].activation_checkpointing = ActivationCheckpointing::selective_layer;
  bases[3].gpus = 16; // two nodes: hybrid differs from full only here
  bases[4].gpus = 16;
  bases[4].sharding = Sharding::hybrid;
  bases[5].gpus = 16; // pipeline stages: the schedule shows only here
  bases[5].pp = 2;
  int values = 0;
  for_each_config_field([&]<class T>(const ConfigField<T>& f) {
    // Expert parallelism needs a mixture of experts.
    const ModelSpec& model = f.key == "ep" ? test::preset("qwen3-30b-a3b") : m;
    const auto settings = [&](const TrainingConfig& c) { return test::trainer_settings(model, c); };
    std::vector<T> tries;
    if constexpr (k_is_config_enum<T>) {
      for (std::size_t i = 0; i < EnumTraits<T>::names.size(); ++i) {
        tries.push_back(static_cast<T>(i));
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      tries = {true};
    } else if constexpr (std::is_same_v<T, double>) {
      tries = {0.1};
    } else if (f.key == "tp" || f.key == "cp" || f.key == "pp" || f.key == "ep" ||
               f.key.starts_with("lora_")) {
      tries = {2, 4}; // degrees the 8B's 8 KV heads and the bases' GPUs divide
    } else {
      tries = {4, 16};
    }
    for (const T value : tries) {
      if (f.key == "gpus_per_node" || value == TrainingConfig{}.*f.member) {
        continue;
      }
      if constexpr (std::is_same_v<T, MoeImpl>) {
        if (value == MoeImpl::eager) {
          continue; // torchtitan's own layer: what `default` means for it, nothing to set
        }
      }
      bool shown = false;
      bool tried = false;
      for (const TrainingConfig& base : bases) {
        TrainingConfig c = base;
        if (c.*f.member == value) {
          continue;
        }
        c.*f.member = value;
        if (f.key.starts_with("lora_")) {
          c.finetune = Finetune::lora; // the LoRA settings go with LoRA
        } else if (f.key == "nf4_quantizer") {
          c.finetune = Finetune::qlora; // and the quantizer with QLoRA
        }
        try {
          validate_config(c, model);
        } catch (const Error&) {
          continue; // not a configuration on this base
        }
        tried = true;
        try {
          shown = shown || settings(c) != settings(base);
        } catch (const Error& e) {
          shown = shown || std::string(e.what()).find(std::string(f.key)) != std::string::npos;
        }
      }
      INFO(f.key << " = " << spelled(value));
      CHECK(tried);
      CHECK(shown);
      ++values;
    }
  });
  CHECK(values >= 57); // the non-default values of the 30 fields tried (gpus_per_node aside)
}
