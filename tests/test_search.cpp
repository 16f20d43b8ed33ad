// The search: feasibility, ranking, determinism, agreement with estimate.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/search.hpp"
#include "bwplan/units.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

SearchSpace space_for(std::initializer_list<const char*> instances) {
  SearchSpace s;
  for (const char* name : instances) {
    s.instances.push_back(test::catalog().instance(name));
    s.gpus.push_back(test::catalog().gpu(s.instances.back().gpu));
  }
  return s;
}

nlohmann::json search_json_for(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"search", "--format", "json"};
  a.insert(a.end(), args.begin(), args.end());
  const test::CliResult r = test::run_cli(a);
  INFO(r.err);
  REQUIRE((r.status == 0 || r.status == 3));
  auto j = nlohmann::json::parse(r.out);
  j["search"].erase("elapsed_seconds"); // the one field that differs between runs
  return j;
}

} // namespace

TEST_CASE("an amount over the memory is whole MiB below 1 GiB, never 0.00 GiB", "[search]") {
  // estimate said "0.00 GiB over" of a step 5 MiB over, and "needs 178.4 GiB of 178.3 GiB"
  CHECK(excess_text(4.2 * k_mib) == "5 MiB");
  CHECK(excess_text(1.0) == "1 MiB"); // rounded up: over is over
  CHECK(excess_text(1023.0 * k_mib) == "1023 MiB");
  CHECK(excess_text(1.25 * k_gib) == "1.25 GiB");
  // the default search's nearest out-of-memory miss, 28 MiB over, as estimate says it (8 MiB
  // at tp 4 and selective-layer:2, micro-batch 26, until a wrapped last block recomputed)
  const test::CliResult r =
      test::run_cli({"estimate", "--tp", "4", "--sharding", "none", "--activation-checkpointing",
                     "selective-layer", "--ac-every", "4", "--micro-batch", "9"});
  CHECK(r.status == 3);
  CHECK_THAT(r.out, Catch::Contains("needs 178.38 GiB of 178.35 GiB usable, 28 MiB over") &&
                        Catch::Contains("the step is 28 MiB over"));
  const test::CliResult s = test::run_cli({"search", "-q"});
  CHECK_THAT(s.out, Catch::Contains("micro-batch 9 would need 178.38 GiB of 178.35 GiB (28 MiB "
                                    "over)"));
}

TEST_CASE("every listed plan fits and no rejected-for-memory candidate is listed", "[search]") {
  SearchSpace s = space_for({"ml.p6-b200.48xlarge"});
  s.nodes = {1, 2};
  const SearchResult r =
      run_search(*test::catalog().find_model("llama-3.1-70b"), s, {}, Objective::throughput, 1000);
  REQUIRE_FALSE(r.plans.empty());
  for (const Candidate& c : r.plans) {
    CHECK(c.memory.fits());
    CHECK(c.time.tokens_per_s_job > 0);
  }
  CHECK(r.rejections[static_cast<std::size_t>(RejectReason::out_of_memory)] > 0);
  CHECK(r.candidates_evaluated == r.feasible + [&] {
    std::int64_t n = 0;
    for (auto v : r.rejections) {
      n += v;
    }
    return n;
  }());
}

TEST_CASE("plans are ranked by the objective with a total order", "[search]") {
  SearchSpace s = space_for({"ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge"});
  s.nodes = {1, 2, 4};
  for (Objective o : {Objective::throughput, Objective::cost}) {
    const SearchResult r = run_search(*test::catalog().find_model("llama-3.1-8b"), s, {}, o, 50);
    for (std::size_t i = 1; i < r.plans.size(); ++i) {
      const double m = r.low_precision_rank_margin;
      const double a = objective_score(r.plans[i - 1], o, m);
      const double b = objective_score(r.plans[i], o, m);
      CHECK(a >= b);
      CHECK(r.plans[i - 1].id != r.plans[i].id); // ties broken by the configuration, never equal
    }
  }
}

TEST_CASE("no rejected candidate dominates a Pareto plan; the top plan is on the front",
          "[search]") {
  SearchSpace s = space_for({"ml.p6-b200.48xlarge"});
  const SearchResult r =
      run_search(*test::catalog().find_model("llama-3.1-8b"), s, {}, Objective::throughput, 100000);
  REQUIRE_FALSE(r.plans.empty());
  CHECK(r.plans.front().pareto);
  for (const Candidate& a : r.plans) {
    if (!a.pareto) {
      continue;
    }
    for (const Candidate& b : r.plans) {
      const bool dominates = b.time.tokens_per_s_job >= a.time.tokens_per_s_job &&
                             b.cost.usd_per_million_tokens <= a.cost.usd_per_million_tokens &&
                             b.memory.headroom_bytes() >= a.memory.headroom_bytes() &&
                             (b.time.tokens_per_s_job > a.time.tokens_per_s_job ||
                              b.cost.usd_per_million_tokens < a.cost.usd_per_million_tokens ||
                              b.memory.headroom_bytes() > a.memory.headroom_bytes());
      INFO(a.id << " " << a.time.tokens_per_s_job << " " << a.cost.usd_per_million_tokens << " "
                << a.memory.headroom_bytes() << " | " << b.id << " " << b.time.tokens_per_s_job
                << " " << b.cost.usd_per_million_tokens << " " << b.memory.headroom_bytes());
      CHECK_FALSE(dominates);
    }
  }
}

TEST_CASE("the Pareto front is exactly the undominated plans (checked against all pairs)",
          "[search]") {
  SearchSpace s = space_for({"ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge"});
  s.nodes = {1, 2, 3, 4, 8};
  for (Objective o : {Objective::throughput, Objective::cost}) {
    const SearchResult r =
        run_search(*test::catalog().find_model("llama-3.1-8b"), s, {}, o, 1000000);
    REQUIRE(r.plans.size() > 500); // every feasible plan, so the front can be recomputed
    const auto dominates = [](const Candidate& b, const Candidate& a) {
      return b.time.tokens_per_s_job >= a.time.tokens_per_s_job &&
             b.cost.usd_per_million_tokens <= a.cost.usd_per_million_tokens &&
             b.memory.headroom_bytes() >= a.memory.headroom_bytes() &&
             (b.time.tokens_per_s_job > a.time.tokens_per_s_job ||
              b.cost.usd_per_million_tokens < a.cost.usd_per_million_tokens ||
              b.memory.headroom_bytes() > a.memory.headroom_bytes());
    };
    std::size_t front = 0;
    for (const Candidate& a : r.plans) {
      const bool dominated = std::any_of(r.plans.begin(), r.plans.end(),
                                         [&](const Candidate& b) { return dominates(b, a); });
      CHECK(a.pareto == !dominated);
      front += a.pareto ? 1 : 0;
    }
    CHECK(front >= 2);
  }
}

TEST_CASE("search output is identical across runs", "[search][cli]") {
  const auto a = search_json_for({"--model", "llama-3.1-8b", "--nodes", "1..2"});
  const auto b = search_json_for({"--model", "llama-3.1-8b", "--nodes", "1..2"});
  CHECK(a == b);
  CHECK(a.at("schema_version") == 1);
  CHECK(a.at("search").at("candidates_evaluated").get<std::int64_t>() > 100);
}

TEST_CASE("the top plan's estimate agrees with the search exactly", "[search][cli]") {
  const auto j = search_json_for({"--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge"});
  REQUIRE_FALSE(j.at("plans").empty());
  const auto& plan = j.at("plans").at(0);
  const auto& c = plan.at("config");
  std::vector<std::string> args = {
      "estimate",       "--format",    "json",
      "--model",        c.at("model"), "--instance",
      c.at("instance"), "--nodes",     std::to_string(c.at("nodes").get<int>())};
  for (const char* key : {"sharding", "precision", "activation_checkpointing", "optimizer", "loss",
                          "fp8_backend", "optimizer_impl", "norm_impl", "fsdp_wrap"}) {
    std::string flag = std::string("--") + key;
    for (char& ch : flag) {
      ch = ch == '_' ? '-' : ch;
    }
    args.push_back(flag);
    args.push_back(c.at(key).get<std::string>());
  }
  for (const char* key : {"micro_batch", "seq_len", "grad_accum", "ac_every"}) {
    std::string flag = std::string("--") + key;
    for (char& ch : flag) {
      ch = ch == '_' ? '-' : ch;
    }
    args.push_back(flag);
    args.push_back(std::to_string(c.at(key).get<std::int64_t>()));
  }
  if (c.at("compile").get<bool>()) {
    args.push_back("--compile");
  }
  const test::CliResult e = test::run_cli(args);
  INFO(e.err);
  REQUIRE(e.status == 0);
  const auto est = nlohmann::json::parse(e.out);
  CHECK(est.at("memory") == plan.at("memory"));
  CHECK(est.at("throughput").at("tokens_per_second_per_gpu") ==
        plan.at("throughput").at("tokens_per_second_per_gpu"));
}

TEST_CASE("search plans for the allocator it is given: fixed segments keep their holes",
          "[search][cli][allocator]") {
  const std::vector<std::string> base = {
      "--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge", "--top", "50"};
  auto fixed_args = base;
  fixed_args.insert(fixed_args.end(), {"--alloc-segments", "fixed"});
  const auto fixed = search_json_for(fixed_args);
  const auto expandable = search_json_for(base);
  REQUIRE_FALSE(fixed.at("plans").empty());
  for (const auto& p : fixed.at("plans")) {
    CHECK(p.at("config").at("alloc_segments") == "fixed");
    const auto& m = p.at("memory");
    const double usable = m.at("usable_bytes").get<double>();
    const double runtime = m.at("runtime_bytes").get<double>();
    CHECK(m.at("device_bytes_required_high").get<double>() <= usable);
    // Where the reserved upper edge is over the room, the pressed allocator returns its free
    // pools; what stays is the allocated upper edge and its holes, at least
    // memory.fixed_segments_fraction (0.04) of it, which must fit.
    if (m.at("allocator_retries_high").get<bool>()) {
      CHECK(m.at("peak_allocated_high_bytes").get<double>() * 1.04 + runtime <= usable);
    } else {
      CHECK(m.at("peak_reserved_high_bytes").get<double>() + runtime <= usable);
    }
  }
  // Expandable segments let the best plan take one more sequence (9 against 8): its allocated
  // upper edge fits where its reserved one does not.
  CHECK(expandable.at("plans").at(0).at("config").at("micro_batch").get<int>() >
        fixed.at("plans").at(0).at("config").at("micro_batch").get<int>());
  bool retries = false;
  for (const auto& p : expandable.at("plans")) {
    retries = retries || p.at("memory").at("allocator_retries_high").get<bool>();
  }
  CHECK(retries);
}

TEST_CASE("nothing fits: exit status 3 and the nearest miss is named", "[search][cli]") {
  const test::CliResult r =
      test::run_cli({"search", "--model", "llama-3.1-405b", "--instance", "ml.p4d.24xlarge",
                     "--nodes", "1", "--sharding", "full"});
  CHECK(r.status == 3);
  CHECK_THAT(r.out,
             Catch::Contains("no feasible plan") && Catch::Contains("nearest out_of_memory"));
  CHECK_THAT(r.out, Catch::Contains("For the nearest miss"));
  // under a budget every plan is over, memory fixes make nothing fit: no such advice (it
  // offered a dearer instance type)
  const test::CliResult budget = test::run_cli({"search", "--max-usd-per-hour", "100"});
  CHECK(budget.status == 3);
  CHECK_THAT(budget.out, Catch::Contains("nearest over_budget"));
  CHECK_THAT(budget.out, !Catch::Contains("For the nearest miss"));
}

TEST_CASE("search writes the top plan's launch files, all or nothing", "[search][emit]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "bwplan-search-emit";
  fs::remove_all(dir);
  const std::vector<std::string> aws = {
      "--role-arn",     "arn:aws:iam::123456789012:role/SageMaker",
      "--s3-output",    "s3://my-bucket/out/",
      "--s3-train",     "s3://my-bucket/train/",
      "--s3-tokenizer", "s3://my-bucket/tokenizer/"};
  std::vector<std::string> args = {"search", "--format", "json", "--emit-sagemaker", dir.string()};
  args.insert(args.end(), aws.begin(), aws.end());
  const test::CliResult r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto top = nlohmann::json::parse(r.out).at("plans").at(0).at("config");
  const auto request = nlohmann::json::parse(read_text_file(dir / "create-training-job.json"));
  CHECK(request.at("ResourceConfig").at("InstanceType") == top.at("instance"));
  CHECK(request.at("HyperParameters").at("micro_batch") ==
        std::to_string(top.at("micro_batch").get<int>()));
  // An existing directory is kept without --force; a bad ARN writes nothing.
  CHECK(test::run_cli(args).status == 1);
  fs::remove_all(dir);
  args[args.size() - 7] = "arn:aws:iam::123:role/x";
  CHECK(test::run_cli(args).status == 1);
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("a report's sample keeps the ranked plans, the whole front and a bounded rest",
          "[search]") {
  SearchSpace s = space_for({"ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge"});
  s.nodes = {1, 2, 3, 4, 8};
  const ModelSpec& m = *test::catalog().find_model("llama-3.1-8b");
  const SearchResult all = run_search(m, s, {}, Objective::throughput, 1000000);
  const SearchResult sampled = run_search(m, s, {}, Objective::throughput, 5, {}, {}, 100);
  REQUIRE(all.plans.size() > 500);
  std::size_t front = 0;
  for (const Candidate& c : all.plans) {
    front += c.pareto ? 1 : 0;
  }
  // the first 5 are the same plans, in the same order
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(sampled.plans[i].id == all.plans[i].id);
  }
  std::size_t sampled_front = 0;
  for (const Candidate& c : sampled.plans) {
    sampled_front += c.pareto ? 1 : 0;
  }
  CHECK(sampled_front == front);
  CHECK(sampled.plans.size() <= 5 + std::max<std::size_t>(100, front) + 1);
  CHECK(sampled.plans.size() >= 5 + 90);
  CHECK(sampled.feasible == all.feasible);
}

TEST_CASE("loss and compile are search axes unless a flag fixes them", "[search][cli]") {
  // Qwen2.5-32B at 128k tokens on 1-8 B300 nodes, data parallel only: nothing fits with the
  // eager unfused loss (its fp32 logits copies), while a fused or chunked loss does.
  const std::vector<std::string> base = {
      "--model", "qwen2.5-32b", "--instance", "ml.p6-b300.48xlarge",
      "--nodes", "1..8",        "--seq-len",  "131072",
      "--tp",    "1",           "--cp",       "1"};
  const auto axis = search_json_for(base);
  const auto& losses = axis.at("inputs").at("axes").at("loss");
  // unfused eager/compiled, fused compiled, chunked and chunked-head compiled
  CHECK(losses.size() == 5);
  REQUIRE_FALSE(axis.at("plans").empty());
  CHECK(axis.at("plans").at(0).at("config").at("loss") != "unfused");
  auto fixed = base;
  fixed.insert(fixed.end(), {"--loss", "unfused"});
  const auto unfused = search_json_for(fixed);
  CHECK(unfused.at("inputs").at("axes").at("loss").size() == 1);
  CHECK(unfused.at("plans").empty());
  // Plan ids name the loss and compile, so plans differing only there stay apart.
  const std::string id = axis.at("plans").at(0).at("id");
  CHECK((id.find("-compiled-") != std::string::npos || id.find("-eager-") != std::string::npos));
}

TEST_CASE("the default loss axis: eager chunked never needs less than compiled; compiled chunked "
          "can need less than chunked-head, never runs faster",
          "[search]") {
  // The default axis tries compiled chunked beside chunked-head: chunked-head holds one chunk's
  // logits but keeps the head's unsharded gradient through the loss, and the reserved peak holds
  // every phase's slack, so at one sequence chunked-head's device bytes can exceed chunked's (up
  // to 3 % here). Eager chunked is left out: compiled chunked needs no more memory and runs no
  // slower. Checked over models, precisions, checkpointing, parallelism and micro-batches.
  int compared = 0, chunked_less = 0;
  for (const char* model : {"llama-3.2-1b", "llama-3.1-8b", "llama-3.1-70b", "qwen3-30b-a3b"}) {
    for (const Precision p : {Precision::bf16, Precision::mxfp8}) {
      for (const ActivationCheckpointing ac :
           {ActivationCheckpointing::none, ActivationCheckpointing::selective_op,
            ActivationCheckpointing::full}) {
        for (const std::int64_t tp : {1, 2}) {
          for (const std::int64_t mb : {1, 4}) {
            EstimateRequest r;
            r.model = test::preset(model);
            r.instance = test::catalog().instance("ml.p6-b200.48xlarge");
            r.gpu = test::catalog().gpu(r.instance->gpu);
            r.nodes = 2;
            r.config = test::fsdp_config(16, ac);
            r.config.precision = p;
            r.config.micro_batch = mb;
            r.config.tp = r.model.experts > 0 ? 1 : tp;
            r.config.loss = Loss::chunked;
            r.config.compile = true;
            const Estimate compiled = evaluate(r);
            r.config.compile = false;
            const Estimate eager = evaluate(r);
            r.config.loss = Loss::chunked_head;
            r.config.compile = true;
            const Estimate head = evaluate(r);
            INFO(model << " " << name_of(p) << " " << name_of(ac) << " tp " << tp << " mb " << mb);
            CHECK(compiled.memory.device_bytes_required <= eager.memory.device_bytes_required);
            CHECK(compiled.memory.device_bytes_required_high <=
                  eager.memory.device_bytes_required_high);
            CHECK(compiled.time.tokens_per_s_job >= eager.time.tokens_per_s_job);
            CHECK(head.time.tokens_per_s_job >= compiled.time.tokens_per_s_job);
            // chunked-head's extra is the head's gradient: never past 3 % of chunked's
            CHECK(head.memory.device_bytes_required <=
                  1.03 * compiled.memory.device_bytes_required);
            chunked_less +=
                compiled.memory.device_bytes_required_high < head.memory.device_bytes_required_high;
            ++compared;
          }
        }
      }
    }
  }
  CHECK(compared == 96);
  CHECK(chunked_less > 0); // why compiled chunked is in the axis
  const auto count = [](const std::vector<LossChoice>& v, LossChoice l) {
    return std::count(v.begin(), v.end(), l);
  };
  for (const bool mixture : {false, true}) {
    const std::vector<LossChoice> v = default_loss_choices(mixture, Trainer::torchtitan);
    CHECK(count(v, {Loss::chunked, true}) == 1);
    CHECK(count(v, {Loss::chunked, false}) == 0);
    // Eager chunked-head is in the axis for a mixture only.
    CHECK(count(v, {Loss::chunked_head, false}) == (mixture ? 1 : 0));
  }
}

TEST_CASE("the top list shows distinct choices: recipes the model cannot tell apart are grouped",
          "[search][cli]") {
  const auto j = search_json_for({"--model", "llama-3.1-70b", "--instance", "ml.p6-b200.48xlarge",
                                  "--nodes", "1,2", "--top", "10"});
  const auto& plans = j.at("plans");
  REQUIRE(plans.size() == 10);
  std::set<std::string> seen;
  bool grouped = false;
  for (const auto& p : plans) {
    auto c = p.at("config");
    const bool low = c.at("precision") != "bf16";
    c.erase("precision");
    // two plans that differ only by a low-precision recipe never both appear
    const std::string key = c.dump() + (low ? "low" : "bf16");
    CHECK(seen.insert(key).second);
    for (const auto& alike : p.at("alike_precisions")) {
      CHECK(alike != "bf16");
      CHECK(alike != p.at("config").at("precision"));
      grouped = true;
    }
  }
  CHECK(grouped);
}

TEST_CASE("a plan's grouped recipes do not depend on how many plans are listed", "[search][cli]") {
  // 8B on one B200 node: plan 1 (mxfp8) stands for fp8-tensorwise and fp8-rowwise. The rowwise
  // twin ranks past 5 x 3 plans, so --top 3 labelled it "mxfp8 ~ fp8-tensorwise" only.
  const auto ten = search_json_for({"--top", "10"});
  const auto three = search_json_for({"--top", "3"});
  const auto one = search_json_for({"--top", "1"});
  const auto& first = ten.at("plans").at(0);
  CHECK(first.at("alike_precisions") == nlohmann::json::array({"fp8-tensorwise", "fp8-rowwise"}));
  for (const auto* j : {&three, &one}) {
    CHECK(j->at("plans").at(0).at("id") == first.at("id"));
    CHECK(j->at("plans").at(0).at("alike_precisions") == first.at("alike_precisions"));
  }
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(three.at("plans").at(i) == ten.at("plans").at(i));
  }
}

TEST_CASE("each instance type's best is its first plan in the full ranking; types with none are "
          "absent",
          "[search]") {
  SearchSpace s = space_for({"ml.p4d.24xlarge", "ml.p6-b200.48xlarge", "ml.p5en.48xlarge"});
  s.nodes = {2};
  const ModelSpec& m = *test::catalog().find_model("llama-3.1-70b");
  for (Objective o : {Objective::throughput, Objective::cost}) {
    // Every feasible plan listed, so the first of each type in `plans` is its best.
    const SearchResult all = run_search(m, s, {}, o, 1000000);
    REQUIRE(static_cast<std::int64_t>(all.plans.size()) == all.feasible);
    const SearchResult top = run_search(m, s, {}, o, 3);
    std::vector<std::string> firsts;
    for (std::size_t i = 0; i < s.instances.size(); ++i) {
      const auto f = std::find_if(all.plans.begin(), all.plans.end(),
                                  [&](const Candidate& c) { return c.instance == i; });
      if (f != all.plans.end()) {
        firsts.push_back(f->id);
      }
    }
    REQUIRE(firsts.size() == 2); // 70B's states alone need more than two A100-40GB nodes
    std::vector<std::string> bests;
    for (const Candidate& c : top.best_per_instance) {
      bests.push_back(c.id);
      CHECK(c.instance != 0);
    }
    CHECK(bests == firsts);
    CHECK(top.best_per_instance.front().id == top.plans.front().id);
  }
}

TEST_CASE("a search whose flags leave no combination says why, as estimate does",
          "[search][cli][hostile]") {
  // Each printed "0 candidates, 0 feasible, rejected: none" and exited 3, as if nothing fitted.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--pp", "2", "--nodes", "2", "--pp-schedule", "zbv", "--compile"},
       "--pp-schedule zbv runs no compiled stage"},
      {{"--finetune", "qlora", "--precision", "fp8-tensorwise"},
       "--finetune qlora needs --precision bf16 or bf16-pure"},
      {{"--finetune", "qlora", "--tp", "2"}, "--finetune qlora with --tp 2 is not modelled"},
      {{"--min-seq-len", "9000"}, "--seq-len 8192 is below --min-seq-len 9000"},
      {{"--sharding", "hybrid"}, "--sharding hybrid over one node is full sharding"},
      {{"--sharding", "grad-op", "--pp", "2", "--nodes", "2"},
       "--sharding grad-op with --pp above 1 is full sharding"},
      // the refusal, not the twin of a sharding searched anyway, nor a default degree
      {{"--sharding", "hybrid,full", "--finetune", "qlora", "--tp", "2"},
       "--finetune qlora with --tp 2 is not modelled"},
      {{"--sharding", "none", "--cp", "2", "--seq-len", "32768"},
       "--cp 2 needs FSDP (--sharding full, grad-op or hybrid)"},
  };
  for (const auto& [flags, why] : cases) {
    std::vector<std::string> args = {"search"};
    args.insert(args.end(), flags.begin(), flags.end());
    INFO(why);
    const auto r = test::run_cli(args);
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("bwplan: error: no combination of the axes searched can "
                                        "be planned: " +
                                        why));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  // --explore-seq over a model shorter than its first length (2048), and a --min-seq-len above
  // every length it tries: said as such (they read as "0 candidates", exit 3, or named a
  // --seq-len never given)
  const std::filesystem::path dir = test::scratch_dir("explore-short");
  nlohmann::json model =
      nlohmann::json::parse(read_text_file(test::source_path("configs/models/llama-3.2-1b.json")));
  model["name"] = "short";
  model["max_seq_len"] = 1024;
  std::ofstream(dir / "short.json") << model.dump();
  auto r = test::run_cli({"search", "--model", (dir / "short.json").string(), "--explore-seq"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("--explore-seq tries powers of two from 2048 up to the "
                                    "model's max_seq_len, and short's is 1024"));
  r = test::run_cli(
      {"search", "--model", "llama-3.2-1b", "--explore-seq", "--min-seq-len", "999999"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("--min-seq-len 999999 is longer than every length "
                                    "--explore-seq tries (2048 to 131072)"));
  // One combination left out among others that are searched is no error.
  CHECK(test::run_cli({"search", "--sharding", "hybrid,full", "--top", "1"}).status == 0);
}

TEST_CASE("search holds --loss unfused-bf16 and --disable-loss-parallel fixed; its default loss "
          "axis tries neither",
          "[search]") {
  // A plain loop's bf16-logit loss and gathered tensor-parallel logits are descriptions of
  // another trainer's run, not choices torchtitan offers: given, every plan keeps them.
  const test::CliResult given =
      test::run_cli({"search", "--format", "json", "--loss", "unfused-bf16", "--tp", "4",
                     "--disable-loss-parallel", "--top", "3"});
  INFO(given.err);
  REQUIRE(given.status == 0);
  const auto plans = nlohmann::json::parse(given.out).at("plans");
  REQUIRE(!plans.empty());
  for (const auto& p : plans) {
    CHECK(p.at("config").at("loss") == "unfused-bf16");
    CHECK(p.at("config").at("disable_loss_parallel") == true);
    CHECK(p.at("config").at("tp") == 4);
  }
  const test::CliResult axis = test::run_cli({"search", "--format", "json", "--top", "50"});
  REQUIRE(axis.status == 0);
  for (const auto& p : nlohmann::json::parse(axis.out).at("plans")) {
    CHECK(p.at("config").at("loss") != "unfused-bf16");
    CHECK(p.at("config").at("disable_loss_parallel") == false);
  }
}

TEST_CASE("a one-block model's search and estimate name the checkpointing the user gave",
          "[search][hostile]") {
  // search --activation-checkpointing full was refused as "selective-layer:2 is out of range",
  // a mode the user never asked for; estimate's selective-layer named a --ac-every 2 never given
  // (red team, 2026-12-08).
  const std::string model = test::source_path("tests/fixtures/models/one-block.json");
  for (const char* ac : {"full", "none", "none,full"}) {
    INFO(ac);
    const auto r = test::run_cli({"search", "--model", model, "--activation-checkpointing", ac});
    CHECK(r.status == 0);
  }
  const auto refused = test::run_cli(
      {"search", "--model", model, "--activation-checkpointing", "selective-layer:2"});
  CHECK(refused.status == 1);
  CHECK_THAT(refused.err, Catch::Contains("selective-layer:2: 2 is out of range (allowed 1..1"));
  const auto est = test::run_cli(
      {"estimate", "--model", model, "--activation-checkpointing", "selective-layer"});
  CHECK(est.status == 1);
  CHECK(est.err == "bwplan: error: --activation-checkpointing selective-layer checkpoints every 2 "
                   "blocks by default, and one-block has 1 (give --ac-every 1..1)\n");
  CHECK(test::run_cli({"estimate", "--model", model, "--activation-checkpointing",
                       "selective-layer", "--ac-every", "1"})
            .status == 0);
}
