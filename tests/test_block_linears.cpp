// The block linears against tests/data/block-linears-h200.json (30 measured low-precision /
// bf16 pairs on one H200), and the search's precision choice against the published fp8 / bf16
// pairs of tests/data/measurements.json (docs/time-model.md, "Precision choice").
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/measurements.hpp"
#include "bwplan/search.hpp"
#include "bwplan/time_model.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

Precision recipe_precision(const std::string& recipe) {
  if (recipe == "tensorwise") {
    return Precision::fp8_tensorwise;
  }
  return recipe == "rowwise" ? Precision::fp8_rowwise : Precision::bf16;
}

/// The model's seconds for one block's linears, forward + backward, on `tokens` tokens.
double predicted(const std::string& model, std::int64_t tokens, Precision p) {
  const ModelSpec& m = test::preset(model.c_str());
  TrainingConfig c = test::fsdp_config(1, ActivationCheckpointing::none);
  c.sharding = Sharding::none;
  c.precision = p;
  c.seq_len = tokens;
  c.compile = true;
  const GpuSpec& h200 = test::catalog().gpu("h200");
  const StepTerms t = step_terms(m, model_facts(m), c, h200, Network{1, 1e30, 1e30});
  return block_linears_seconds(t, 1);
}

struct Pair {
  std::string model;
  std::int64_t tokens = 0;
  std::string recipe;
  double measured = 0;  ///< bf16 seconds / low-precision seconds
  double predicted = 0; ///< the same from the model
};

std::vector<Pair> speedups() {
  const auto doc = nlohmann::json::parse(
      read_text_file(test::source_path("tests/data/block-linears-h200.json")));
  std::map<std::tuple<std::string, std::int64_t, std::string>, double> seconds;
  for (const auto& r : doc.at("records")) {
    seconds[{r.at("model"), r.at("tokens"), r.at("recipe")}] = r.at("seconds").get<double>();
  }
  std::vector<Pair> out;
  for (const auto& [key, s] : seconds) {
    const auto& [model, tokens, recipe] = key;
    const auto bf16 = seconds.find({model, tokens, "bf16"});
    if (recipe == "bf16" || bf16 == seconds.end()) {
      continue;
    }
    out.push_back({model, tokens, recipe, bf16->second / s,
                   predicted(model, tokens, Precision::bf16) /
                       predicted(model, tokens, recipe_precision(recipe))});
  }
  return out;
}

} // namespace

TEST_CASE("H200 block linears: fp8 speed-ups within 6% median, 20% max", "[time][validation]") {
  const std::vector<Pair> pairs = speedups();
  REQUIRE(pairs.size() == 30);
  std::vector<double> errors;
  for (const Pair& p : pairs) {
    INFO(p.model << " " << p.tokens << " " << p.recipe << ": measured " << p.measured
                 << ", predicted " << p.predicted);
    errors.push_back(std::abs(p.predicted / p.measured - 1.0));
    CHECK(errors.back() <= 0.20);
  }
  CHECK(test::median(errors) <= 0.06);
}

TEST_CASE("H200 block linears: the fp8 gain grows with the model, as measured", "[time]") {
  // At 16k and 64k tokens per micro-batch, tensorwise gains more on each larger Llama, measured
  // (1.31 < 1.49 < 1.55 < 1.67 at 16k) and predicted; and tensorwise beats rowwise everywhere.
  const std::vector<Pair> pairs = speedups();
  for (const std::int64_t tokens : {16384, 65536}) {
    std::vector<const Pair*> tw;
    for (const Pair& p : pairs) {
      if (p.tokens == tokens && p.recipe == "tensorwise") {
        tw.push_back(&p);
      }
    }
    REQUIRE(tw.size() == 4);
    std::sort(tw.begin(), tw.end(), [](const Pair* a, const Pair* b) {
      return test::preset(a->model.c_str()).hidden < test::preset(b->model.c_str()).hidden;
    });
    for (std::size_t i = 1; i < tw.size(); ++i) {
      INFO(tw[i]->model << " at " << tokens);
      CHECK(tw[i]->measured > tw[i - 1]->measured);
      CHECK(tw[i]->predicted > tw[i - 1]->predicted);
    }
  }
  for (const Pair& r : pairs) {
    if (r.recipe != "rowwise") {
      continue;
    }
    for (const Pair& t : pairs) {
      if (t.recipe == "tensorwise" && t.model == r.model && t.tokens == r.tokens) {
        INFO(r.model << " at " << r.tokens);
        CHECK(t.measured > r.measured);
        CHECK(t.predicted > r.predicted);
      }
    }
  }
}

TEST_CASE("H200 block linears: bf16 seconds within 15% from 8k tokens up", "[time][validation]") {
  // From 16k tokens the model is 1-7% slower than measured, at 8k 2-13% (1B the most). Below 8k
  // the model, fitted on whole steps, is up to 45% slower than the bare GEMMs: small
  // micro-batches lose time outside the linears that it books against them.
  const auto doc = nlohmann::json::parse(
      read_text_file(test::source_path("tests/data/block-linears-h200.json")));
  int checked = 0;
  for (const auto& r : doc.at("records")) {
    if (r.at("recipe") != "bf16" || r.at("tokens").get<std::int64_t>() < 8192) {
      continue;
    }
    const std::string model = r.at("model");
    const double p = predicted(model, r.at("tokens"), Precision::bf16);
    INFO(model << " at " << r.at("tokens"));
    CHECK(std::abs(p / r.at("seconds").get<double>() - 1.0) <= 0.15);
    ++checked;
  }
  CHECK(checked == 11);
}

TEST_CASE("H200 Llama-3.2-1B forward + backward: the fp8 step speed-up within 3%",
          "[time][validation]") {
  // One GPU, no FSDP or optimizer, micro-batch 2 x 8192, compiled: measured 0.3027 s bf16 and
  // 0.2647 s tensorwise (1.144x); the model's compute seconds give 1.140x, both 14-15% faster
  // than measured (the H200's 700 W part runs its fp8 GEMMs at 1.87x bf16, not 2x).
  const auto doc = nlohmann::json::parse(
      read_text_file(test::source_path("tests/data/block-linears-h200.json")));
  std::map<std::string, double> measured;
  for (const auto& r : doc.at("steps")) {
    measured[r.at("recipe")] = r.at("seconds").get<double>();
  }
  REQUIRE(measured.size() == 2);
  const ModelSpec& m = test::preset("llama-3.2-1b");
  const auto compute_s = [&](Precision p) {
    TrainingConfig c = test::fsdp_config(1, ActivationCheckpointing::none);
    c.sharding = Sharding::none;
    c.precision = p;
    c.micro_batch = 2;
    c.compile = true;
    return estimate_step_time(m, c, test::catalog().gpu("h200"), Network{1, 1e30, 1e30}).compute_s;
  };
  const double bf16 = compute_s(Precision::bf16);
  const double fp8 = compute_s(Precision::fp8_tensorwise);
  const double measured_ratio = measured.at("bf16") / measured.at("tensorwise");
  CHECK(std::abs((bf16 / fp8) / measured_ratio - 1.0) <= 0.03);
  CHECK(std::abs(bf16 / measured.at("bf16") - 1.0) <= 0.20);
  CHECK(std::abs(fp8 / measured.at("tensorwise") - 1.0) <= 0.20);
}

namespace {

/// Whether two measured runs differ only in precision (same source setup otherwise).
bool same_but_precision(const MeasurementCase& a, const MeasurementCase& b) {
  const TrainingConfig& x = a.request.config;
  const TrainingConfig& y = b.request.config;
  return a.request.model.name == b.request.model.name && a.request.gpu.name == b.request.gpu.name &&
         x.gpus == y.gpus && x.seq_len == y.seq_len && x.micro_batch == y.micro_batch &&
         x.compile == y.compile && x.sharding == y.sharding &&
         x.activation_checkpointing == y.activation_checkpointing;
}

} // namespace

TEST_CASE("the rank margin is the model's largest error on measured fp8 / bf16 speed-ups",
          "[time][search]") {
  // Every low-precision run of tests/data/measurements.json with a bf16 twin: torchtitan H100 at
  // 8 and 128 GPUs, torchao H100, MI300X and B200 (9 pairs).
  const std::string path = test::source_path("tests/data/measurements.json");
  const auto cases = parse_measurements(read_text_file(path), path, test::catalog());
  const auto tokens = [](const MeasurementCase& mc) {
    const EstimateRequest& r = mc.request;
    return estimate_step_time(r.model, r.config, r.gpu,
                              make_network(r.gpu, r.config.gpus_per_node, 3.2e12))
        .tokens_per_s_per_gpu;
  };
  double largest = 0;
  int pairs = 0;
  for (const MeasurementCase& low : cases) {
    if (!low.tokens_per_second_per_gpu || !is_low_precision(low.request.config.precision)) {
      continue;
    }
    for (const MeasurementCase& high : cases) {
      if (high.tokens_per_second_per_gpu && high.request.config.precision == Precision::bf16 &&
          same_but_precision(low, high)) {
        const double measured = *low.tokens_per_second_per_gpu / *high.tokens_per_second_per_gpu;
        const double error = std::abs(tokens(low) / tokens(high) / measured - 1.0);
        INFO(low.id << ": measured " << measured << ", error " << error);
        largest = std::max(largest, error);
        ++pairs;
      }
    }
  }
  CHECK(pairs == 9);
  // The constant is that error rounded up to half a percent: it moves when the model does.
  const double margin = TimeConstants{}.low_precision_rank_margin;
  CHECK(margin >= largest);
  CHECK(margin < largest + 0.005);
}

namespace {

nlohmann::json search_json(const char* model, const std::vector<std::string>& extra = {},
                           const char* instance = "ml.p6-b200.48xlarge") {
  std::vector<std::string> args = {"search", "--model", model,      "--instance", instance,
                                   "--top",  "3",       "--format", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const test::CliResult r = test::run_cli(args);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

} // namespace

TEST_CASE("the search keeps bf16 for small models and takes fp8 as they grow", "[search]") {
  // Default axes: low precision is predicted 9.0 % faster for 1B on H100 (inside the 10.5 %
  // margin; on B200, whose GEMMs reach less of their peak, 15 %, outside it), and well outside
  // the margin for 8B and 70B on B200.
  const auto small = search_json("llama-3.2-1b", {}, "ml.p5.48xlarge");
  CHECK(small.at("plans").at(0).at("config").at("precision") == "bf16");
  const auto& passed = small.at("search").at("passed_over");
  // a low-precision plan (which recipe depends on which micro-batches fit within the band)
  CHECK(passed.at("precision") != "bf16");
  CHECK(passed.at("gain_fraction").get<double>() > 0.0);
  CHECK(passed.at("gain_fraction").get<double>() < 0.105);

  const auto raw =
      search_json("llama-3.2-1b", {"--set", "time.low_precision_rank_margin=0"}, "ml.p5.48xlarge");
  CHECK(raw.at("plans").at(0).at("id") == passed.at("id"));
  CHECK_FALSE(raw.at("search").contains("passed_over"));

  for (const char* large : {"llama-3.1-8b", "llama-3.1-70b"}) {
    const auto j = search_json(large);
    INFO(large);
    const std::string p = j.at("plans").at(0).at("config").at("precision");
    CHECK(is_low_precision(parse_enum_or_throw<Precision>(p, "precision")));
    CHECK_FALSE(j.at("search").contains("passed_over"));
  }
}
