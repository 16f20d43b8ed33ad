// `emit sagemaker` and the pinned trainer: every plan setting reaches torchtitan 0.2.2's config
// (checked against the tag's config classes, tests/data/torchtitan-v0.2.2.json) or is refused in
// one line; any model bwplan can launch gets torchtitan's flavor of its shape or a registered one
// with the plan's parameter count; runs past SageMaker's 28-day limit are chained, never cut.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "emit_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;
using test::base_args;
using test::check_launch_dir;
using test::read_json;
using test::read_toml;
using test::with;
using test::write_estimate;

namespace {

const std::vector<std::string> k_b200 = {"--instance", "ml.p6-b200.48xlarge"};

/// Emits the plan `estimate <flags>` makes into dir/name; returns the CLI result.
test::CliResult emit(const fs::path& dir, const std::string& name, std::vector<std::string> flags,
                     const std::vector<std::string>& extra = {}) {
  const std::string plan = write_estimate(dir, name, std::move(flags));
  auto args = base_args(plan, dir / name);
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run_cli(args);
}

} // namespace

TEST_CASE("every plan setting reaches torchtitan's config, checked against the tag", "[emit]") {
  const fs::path dir = test::scratch_dir("emit-trainer-matrix");
  const std::vector<std::string> model = {"--model", "llama-3.1-8b", "--instance",
                                          "ml.p6-b200.48xlarge"};
  struct Case {
    std::string name;
    std::vector<std::string> flags;
    // expected values, as "section.key" -> JSON
    std::vector<std::pair<std::string, nlohmann::json>> want;
    std::vector<std::string> absent; ///< "section.key" that must not be written
  };
  const std::vector<Case> cases = {
      {"bf16-full-sel-op",
       {},
       {{"model.name", "llama3"},
        {"model.flavor", "8B"},
        {"training.mixed_precision_param", "bfloat16"},
        {"training.local_batch_size", 1},
        {"training.global_batch_size", 8},
        {"training.seq_len", 8192},
        {"parallelism.data_parallel_shard_degree", 8},
        {"parallelism.data_parallel_replicate_degree", 1},
        {"parallelism.fsdp_reshard_after_forward", "default"},
        {"activation_checkpoint.mode", "selective"},
        {"activation_checkpoint.selective_ac_option", "op"},
        {"compile.enable", false},
        {"optimizer.name", "AdamW"},
        {"optimizer.implementation", "fused"},
        {"training.enable_cpu_offload", false},
        {"checkpoint.enable", true},
        {"checkpoint.folder", "/opt/ml/checkpoints/torchtitan"}},
       {"model.converters", "compile.components"}},
      {"fp8-tensorwise-allgather",
       {"--precision", "fp8-tensorwise", "--fp8-all-gather"},
       {{"model.converters", {"quantize.linear.float8"}},
        {"quantize.linear.float8.enable_fsdp_float8_all_gather", true},
        {"quantize.linear.float8.precompute_float8_dynamic_scale_for_fsdp", true},
        {"quantize.linear.float8.filter_fqns", {"output"}}},
       // torchtitan asserts that a recipe name and the fp8 all-gather are not both given
       {"quantize.linear.float8.recipe_name"}},
      {"fp8-rowwise-grad-op",
       {"--precision", "fp8-rowwise", "--sharding", "grad-op"},
       {{"quantize.linear.float8.recipe_name", "rowwise"},
        {"parallelism.fsdp_reshard_after_forward", "never"}},
       {}},
      {"mxfp8-full-ac-compile-fused",
       {"--precision", "mxfp8", "--activation-checkpointing", "full", "--compile", "--loss",
        "fused", "--micro-batch", "2"},
       {{"model.converters", {"quantize.linear.mx"}},
        {"quantize.linear.mx.recipe_name", "mxfp8_cublas"},
        {"activation_checkpoint.mode", "full"},
        {"compile.enable", true},
        {"compile.components", {"model", "loss"}},
        {"training.local_batch_size", 2},
        {"training.global_batch_size", 16}},
       {}},
      // the fused loss the plan's memory rests on is compiled even when the model is not
      {"fused-loss-no-compile",
       {"--loss", "fused"},
       {{"compile.enable", true}, {"compile.components", {"loss"}}},
       {}},
      {"compile-unfused-loss",
       {"--compile"},
       {{"compile.enable", true}, {"compile.components", {"model"}}},
       {}},
      {"selective-layer-3",
       {"--activation-checkpointing", "selective-layer", "--ac-every", "3"},
       {{"activation_checkpoint.mode", "selective"},
        {"activation_checkpoint.selective_ac_option", "3"}},
       {}},
      {"none-ac-foreach-ga4",
       {"--activation-checkpointing", "none", "--optimizer-impl", "foreach", "--grad-accum", "4"},
       {{"activation_checkpoint.mode", "none"},
        {"optimizer.implementation", "foreach"},
        {"training.global_batch_size", 32}},
       {}},
      {"hybrid-2-nodes",
       {"--sharding", "hybrid", "--nodes", "2"},
       {{"parallelism.data_parallel_replicate_degree", 2},
        {"parallelism.data_parallel_shard_degree", 8}},
       {}},
      {"ddp-1b",
       {"--sharding", "none", "--model", "llama-3.2-1b"},
       {{"parallelism.data_parallel_replicate_degree", 8},
        {"parallelism.data_parallel_shard_degree", 1}},
       {}},
      {"cpu-offload", {"--cpu-offload"}, {{"training.enable_cpu_offload", true}}, {}},
      {"fp32-1b",
       {"--precision", "fp32", "--model", "llama-3.2-1b"},
       {{"training.mixed_precision_param", "float32"}},
       {}},
      // torchtitan's bf16 training: the model built in bf16 (train.py), FSDP2 gathering in bf16
      // and reducing in its fixed float32 (state_dtypes())
      {"bf16-pure",
       {"--precision", "bf16-pure"},
       {{"training.dtype", "bfloat16"}, {"training.mixed_precision_param", "bfloat16"}},
       {"training.mixed_precision_reduce"}},
      // bf16 weights need no mixed precision: tensor parallelism over every GPU launches
      {"bf16-pure-tp8",
       {"--precision", "bf16-pure", "--tp", "8"},
       {{"training.dtype", "bfloat16"},
        {"parallelism.data_parallel_shard_degree", 1},
        {"parallelism.tensor_parallel_degree", 8}},
       {}},
  };
  REQUIRE(cases.size() == 14);
  for (const Case& c : cases) {
    auto flags = with(model, c.flags);
    const auto r = emit(dir, c.name, flags, {"--train-tokens", "1e9"});
    INFO(c.name << ": " << r.err);
    REQUIRE(r.status == 0);
    const fs::path out = dir / c.name;
    check_launch_dir(out);
    const nlohmann::json toml = read_toml(out);
    REQUIRE_FALSE(c.want.empty());
    for (const auto& [path, value] : c.want) {
      const auto dot = path.rfind('.');
      nlohmann::json table = toml;
      std::string section = path.substr(0, dot);
      for (std::size_t at = 0; at != std::string::npos;) {
        const auto next = section.find('.', at);
        table = table.value(section.substr(at, next - at), nlohmann::json::object());
        at = next == std::string::npos ? next : next + 1;
      }
      INFO(path);
      CHECK(table.value(path.substr(dot + 1), nlohmann::json()) == value);
    }
    for (const std::string& path : c.absent) {
      const auto dot = path.rfind('.');
      nlohmann::json table = toml;
      const std::string section = path.substr(0, dot);
      for (std::size_t at = 0; at != std::string::npos;) {
        const auto next = section.find('.', at);
        table = table.value(section.substr(at, next - at), nlohmann::json::object());
        at = next == std::string::npos ? next : next + 1;
      }
      INFO(path);
      CHECK_FALSE(table.contains(path.substr(dot + 1)));
    }
    // steps from the tokens: ceil(1e9 / (micro-batch x seq x GPUs x grad-accum))
    const auto& t = toml["training"];
    const auto per_step = t["global_batch_size"].get<std::int64_t>() * 8192;
    CHECK(t["steps"].get<std::int64_t>() == (1'000'000'000 + per_step - 1) / per_step);
  }
  fs::remove_all(dir);
}

TEST_CASE("plan settings torchtitan cannot run are refused in one line, nothing written",
          "[emit]") {
  const fs::path dir = test::scratch_dir("emit-trainer-refuse");
  const std::vector<std::string> model = {"--model", "llama-3.1-8b", "--instance",
                                          "ml.p6-b200.48xlarge"};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--precision", "nvfp4"}, "precision 'nvfp4'"},
      {{"--loss", "chunked"}, "loss 'chunked'"},
      {{"--loss", "fused-linear"}, "loss 'fused-linear'"},
      {{"--optimizer", "adamw-8bit"}, "optimizer 'adamw-8bit'"},
      {{"--optimizer", "lion"}, "optimizer 'lion'"},
      {{"--precision", "mxfp8", "--fp8-backend", "te"}, "fp8_backend 'te'"},
      {{"--grad-accum", "2", "--no-sync"}, "grad_accum_mode 'no-sync'"},
      {{"--norm-impl", "upcast"}, "norm_impl 'upcast'"},
      {{"--swiglu-impl", "fused"}, "swiglu_impl 'fused'"},
      // 0.2.2's attention passes enable_gqa (models/attention.py): no repeat_kv to ask for
      {{"--gqa-kv", "repeat"}, "gqa_kv 'repeat'"},
      {{"--fsdp-wrap", "root"}, "fsdp_wrap 'root'"},
      {{"--attention-kernel", "flash2"}, "attention_kernel 'flash2'"},
      {{"--trainer", "other"}, "trainer 'other'"},
      // training.mixed_precision_reduce allows only "float32" (config/job_config.py)
      {{"--reduce-dtype", "bf16"}, "reduce_dtype 'bf16'"},
      {{"--model", test::source_path("tests/fixtures/hf/pythia-160m.config.json")}, "model "},
      // torchtitan's MXFP8 converter asserts no tensor parallelism under torch.compile
      // (components/quantization/mx.py lines 46-52)
      {{"--model", "qwen3-32b", "--precision", "mxfp8", "--tp", "2", "--compile"},
       "precision 'mxfp8'"},
      // torchtitan's DDP raises "DDP has not supported > 1D parallelism"
      // (models/llama3/infra/parallelize.py lines 148-151)
      {{"--sharding", "none", "--tp", "2"}, "sharding 'none'"},
      // the pinned torchao's MXFP8 grouped GEMMs need a kernel it does not load under PyTorch 2.11
      {{"--model", "qwen3-30b-a3b", "--ep", "8", "--precision", "mxfp8"}, "mxfp8_quantize_3d"},
      // one data-parallel shard: no FSDP (ParallelDims.fsdp_enabled), and maybe_enable_amp turns
      // mixed precision off under tensor parallelism
      {{"--tp", "8"}, "shard_group '1'"},
      {{"--tp", "4", "--pp", "2", "--precision", "fp8-rowwise"}, "maybe_enable_amp"},
      // one shard beside replicas: torchtitan's DDP, which raises beside tensor parallelism even
      // in bf16 weights, and is not FSDP without it
      {{"--sharding", "hybrid", "--nodes", "2", "--tp", "8", "--precision", "bf16-pure"},
       "DDP has not supported > 1D parallelism"},
      {{"--sharding", "hybrid", "--nodes", "2", "--shard-group", "1"}, "it runs DDP"},
      // every model's parallelize step asserts seq_len % (tp x 2 x cp) == 0
      // (distributed/parallel_dims.py, seq_len_divisor), context parallelism or not
      {{"--seq-len", "8191"}, "seq_len '8191'"},
      {{"--tp", "2", "--seq-len", "8194"}, "here 2 x 2 x 1 = 4"},
      // float8 MoE training asserts no context or pipeline parallelism
      // (components/quantization/float8.py lines 193-198)
      {{"--model", "qwen3-30b-a3b", "--cp", "2", "--precision", "fp8-rowwise", "--seq-len", "32768",
        "--activation-checkpointing", "full"},
       "does not yet support context parallelism"},
      // gpt_oss's parallelize step has no apply_compile: [compile] would compile the loss alone
      {{"--model", "gpt-oss-20b", "--compile", "--loss", "fused"}, "compile 'true'"},
      // torchao's MXFP8 asserts 32-wide blocks (mx_tensor.py lines 170-171); torchtitan leaves a
      // linear whose dims are not multiples of 16 in bf16 (components/quantization/utils.py)
      {{"--model", test::source_path("tests/fixtures/models/llama-1b-ffn-8208.json"), "--precision",
        "mxfp8"},
       "ffn (8208) is not a multiple of 32"},
      // a tied embedding split unevenly over two FSDP groups: PyTorch 2.11 never updates the last
      // rank's rows (pytorch/pytorch#176076); 151936 rows over 256 GPUs
      {{"--model", "qwen3-1.7b", "--nodes", "32"}, "151936 rows"},
  };
  REQUIRE(cases.size() == 28);
  int i = 0;
  for (const auto& [flags, field] : cases) {
    const std::string name = "refused-" + std::to_string(i++);
    // a plan made from a model file needs the file again (the plan holds its name only)
    const auto file = std::find(flags.begin(), flags.end(), "--model");
    const std::vector<std::string> extra = file != flags.end() && (file + 1)->ends_with(".json")
                                               ? std::vector<std::string>{"--model", *(file + 1)}
                                               : std::vector<std::string>{};
    const auto r = emit(dir, name, with(model, flags), extra);
    INFO(name << ": " << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find(field) != std::string::npos);
    CHECK(r.err.find("torchtitan 0.2.2") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(dir / name));
  }
  fs::remove_all(dir);
}

TEST_CASE("a tied embedding launches only on the PyTorch whose FSDP2 takes its two groups",
          "[emit]") {
  // torchtitan 0.2.2 shards the embedding and [norm, output] as two FSDP groups; PyTorch refuses
  // a parameter shared by two since pytorch/pytorch#176257 (after 2.11).
  const fs::path dir = test::scratch_dir("emit-trainer-tied");
  const std::vector<std::string> tied = {"--model", "qwen3-1.7b", "--instance",
                                         "ml.p6-b200.48xlarge"};
  auto r = emit(dir, "on-2.11", tied);
  INFO(r.err);
  CHECK(r.status == 0);
  for (const char* version : {"2.12", "2.13"}) {
    r = emit(dir, std::string("on-") + version, tied, {"--pytorch-version", version});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::StartsWith(std::string("bwplan: error: --pytorch-version ") + version +
                                        ": the plan's model qwen3-1.7b ties") &&
                          Catch::Contains("leave --pytorch-version at 2.11"));
    CHECK_FALSE(fs::exists(dir / (std::string("on-") + version)));
  }
  // an untied model runs on the newer images, and DDP shards nothing
  r = emit(dir, "untied", with(k_b200, {"--model", "llama-3.1-8b"}), {"--pytorch-version", "2.13"});
  CHECK(r.status == 0);
  r = emit(dir, "ddp", with(tied, {"--sharding", "none"}), {"--pytorch-version", "2.13"});
  INFO(r.err);
  CHECK(r.status == 0);
  // an image given whole: its PyTorch is the user's, and emit says which one the plan needs
  r = emit(dir, "image", tied,
           {"--image", "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:custom"});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("the --image given must run PyTorch 2.11"));
  fs::remove_all(dir);
}

TEST_CASE("any launchable model: torchtitan's flavor of its shape, else a registered one",
          "[emit]") {
  const fs::path dir = test::scratch_dir("emit-trainer-models");
  struct Case {
    std::string model, name, flavor;
    std::int64_t parameters; ///< bwplan's count (test_model_spec checks it against published)
    bool tied, qk_norm;
  };
  const std::vector<Case> cases = {
      {"llama-3.1-8b", "llama3", "8B", 8030261248, false, false},
      {"llama-3.1-70b", "llama3", "70B", 70553706496, false, false},
      {"qwen3-8b", "qwen3", "8B", 8190735360, false, true},
      {"qwen3-1.7b", "qwen3", "1.7B", 1720574976, true, true},
      // shapes torchtitan has no flavor of: the entry script registers the plan's shape
      {"llama-3.2-1b", "bwplan_qwen3", "plan", 1235814400, true, false},
      {"llama-3.2-3b", "bwplan_qwen3", "plan", 3212749824, true, false},
      {"mistral-7b-v0.3", "bwplan_qwen3", "plan", 7248023552, false, false},
      {"mistral-nemo-12b", "bwplan_qwen3", "plan", 12247782400, false, false},
      {"llama-2-7b", "bwplan_qwen3", "plan", 6738415616, false, false},
      // Qwen2.5: Qwen3's blocks without QK-norm, with q, k, v biases added by train.py
      {"qwen2.5-7b", "bwplan_qwen3", "plan", 7615616512, false, false},
      {"qwen2.5-1.5b", "bwplan_qwen3", "plan", 1543714304, true, false},
  };
  REQUIRE(cases.size() == 11);
  for (const Case& c : cases) {
    std::vector<std::string> flags = {
        "--model", c.model, "--instance", "ml.p6-b200.48xlarge", "--activation-checkpointing",
        "full"};
    if (c.model == "llama-3.1-70b") {
      flags.insert(flags.end(), {"--nodes", "2"});
    }
    const auto r = emit(dir, c.model, flags);
    INFO(c.model << ": " << r.err);
    REQUIRE(r.status == 0);
    const fs::path out = dir / c.model;
    const nlohmann::json m = read_json(out / "source" / "model.json");
    CHECK(m["name"] == c.name);
    CHECK(m["flavor"] == c.flavor);
    CHECK(m["parameters"] == c.parameters);
    CHECK(m.contains("custom") == (c.name == "bwplan_qwen3"));
    CHECK(m.value("qkv_bias", false) == c.model.starts_with("qwen2.5"));
    // a registered shape takes Qwen3's RoPE base and norm epsilon: said before launch
    const std::string readme = read_text_file(out / "README.md");
    CHECK((readme.find("RoPE base (1000000) and RMSNorm epsilon (1e-06)") != std::string::npos) ==
          m.contains("custom"));
    CHECK((r.out.find("has no flavor of " + c.model) != std::string::npos) == m.contains("custom"));
    // llama-2-7b's context is 4096 tokens: the 8192-token plan is flagged
    CHECK((readme.find("longer than llama-2-7b's context (4096 tokens)") != std::string::npos) ==
          (c.model == "llama-2-7b"));
    if (m.contains("custom")) {
      CHECK(m["custom"]["enable_weight_tying"] == c.tied);
      CHECK(m["custom"]["qk_norm"] == c.qk_norm);
      CHECK(m["custom"]["max_seq_len"] == 8192);
    }
    const nlohmann::json toml = read_toml(out);
    CHECK(toml["model"]["name"] == c.name);
    CHECK(toml["model"]["flavor"] == c.flavor);
    check_launch_dir(out);
  }
  // Hugging Face config.json files: the same choice, by shape
  for (const auto& [file, name] : std::vector<std::pair<std::string, std::string>>{
           {"llama-3.1-8b.config.json", "llama3"}, {"qwen2.5-14b.config.json", "bwplan_qwen3"}}) {
    const std::string path = test::source_path("tests/fixtures/hf/" + file);
    const auto r = emit(dir, file,
                        {"--model", path, "--instance", "ml.p6-b200.48xlarge",
                         "--activation-checkpointing", "full"},
                        {"--model", path});
    INFO(file << ": " << r.err);
    REQUIRE(r.status == 0);
    CHECK(read_json(dir / file / "source" / "model.json")["name"] == name);
    check_launch_dir(dir / file);
  }
  // a model file whose name has no ASCII letter or digit: its tag is its name's hash, not empty
  {
    nlohmann::json model = read_json(test::source_path("configs/models/llama-3.2-1b.json"));
    model["name"] = "\xe6\xa8\xa1\xe5\x9e\x8b"; // UTF-8 "model" in Chinese
    const fs::path file = dir / "unicode-model.json";
    std::ofstream(file) << model.dump();
    const auto r = emit(dir, "unicode",
                        {"--model", file.string(), "--instance", "ml.p6-b200.48xlarge",
                         "--activation-checkpointing", "full"},
                        {"--model", file.string()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::string tag;
    const nlohmann::json request = read_json(dir / "unicode" / "create-training-job.json");
    for (const auto& t : request["Tags"]) {
      if (t["Key"] == "bwplan:model") {
        tag = t["Value"];
      }
    }
    CHECK(tag.size() == 14);
    CHECK(tag.starts_with("model-"));
    CHECK(tag.find_first_not_of("0123456789abcdef", 6) == std::string::npos);
  }
  // Mistral-Nemo's head_dim (128) is not hidden / heads (160): written explicitly
  CHECK(read_json(dir / "mistral-nemo-12b" / "source" / "model.json")["custom"]["head_dim"] == 128);
  fs::remove_all(dir);
}

TEST_CASE("the step count's comment says where it came from", "[emit]") {
  const fs::path dir = test::scratch_dir("emit-trainer-steps");
  REQUIRE(emit(dir, "default", k_b200).status == 0);
  REQUIRE(emit(dir, "tokens", k_b200, {"--train-tokens", "1e9"}).status == 0);
  const std::string no_tokens = read_text_file(dir / "default" / "source" / "torchtitan.toml");
  const std::string tokens = read_text_file(dir / "tokens" / "source" / "torchtitan.toml");
  CHECK(no_tokens.find("  # no --train-tokens: the default step count\n") != std::string::npos);
  CHECK(tokens.find("  # train tokens / tokens per step\n") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("runs past SageMaker's 28-day limit become chained jobs, said on stdout", "[emit]") {
  const fs::path dir = test::scratch_dir("emit-trainer-chain");
  const std::string plan =
      write_estimate(dir, "plan", {"--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge"});
  auto args = base_args(plan, dir / "out");
  args.erase(std::find(args.begin(), args.end(), "-q"));
  args.insert(args.end(), {"--train-tokens", "1e12"});
  const auto r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto req = read_json(dir / "out" / "create-training-job.json");
  // The jobs by hand from the plan's predicted rate: the run takes tokens / rate x 1.5 + 1 h;
  // each of k jobs runs at most 28 days, and each after the first restarts (1 h) and redoes up
  // to one checkpoint interval (about 1 h of steps).
  const auto est = read_json(plan);
  const double rate = est["throughput"]["tokens_per_second_job"].get<double>();
  const double step_s = est["throughput"]["step_seconds"].get<double>();
  const double needed = 1e12 / rate * 1.5 + 3600;
  const double restart = 3600 + std::floor(3600 / step_s) * step_s;
  int jobs = 1;
  while (needed + (jobs - 1) * restart > jobs * 2419200.0) {
    ++jobs;
  }
  REQUIRE(jobs > 1);
  const std::string name = req["TrainingJobName"];
  CHECK(name.ends_with("-p1"));
  CHECK(name.size() <= 63 - 15);
  CHECK(req["StoppingCondition"]["MaxRuntimeInSeconds"] == 2419200);
  const std::string launch = read_text_file(dir / "out" / "launch.py");
  const std::string chained = std::to_string(jobs) + " chained jobs";
  CHECK(launch.find("JOBS = " + std::to_string(jobs) + " ") != std::string::npos);
  CHECK(r.out.find(chained) != std::string::npos);
  CHECK(r.out.find("launch: python3 ") != std::string::npos);
  CHECK(read_text_file(dir / "out" / "README.md").find(chained) != std::string::npos);
  // a run that would need more than the chain allows is refused
  args = base_args(plan, dir / "out2");
  args.insert(args.end(), {"--train-tokens", "9e15"});
  const auto big = test::run_cli(args);
  CHECK(big.status == 1);
  CHECK(big.err.find("--train-tokens") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "out2"));
  fs::remove_all(dir);
}

TEST_CASE("search --emit-sagemaker says what it wrote and how to launch it", "[emit]") {
  const fs::path dir = test::scratch_dir("emit-trainer-search");
  const std::vector<std::string> search = {
      "search",      "--model",    "llama-3.1-8b", "--instance",     "ml.p6-b200.48xlarge",
      "--top",       "2",          "--role-arn",   test::k_role,     "--s3-output",
      "s3://bkt/o/", "--s3-train", "s3://bkt/t/",  "--s3-tokenizer", "s3://bkt/k/"};
  auto args = with(search, {"--emit-sagemaker", (dir / "table").string()});
  auto r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("wrote " + (dir / "table").string() + "/") != std::string::npos);
  CHECK(r.out.find("launch: python3 " + (dir / "table" / "launch.py").string()) !=
        std::string::npos);
  check_launch_dir(dir / "table");
  // with the plans as JSON on stdout, the note goes to stderr and stdout stays one document
  args = with(search, {"--emit-sagemaker", (dir / "json").string(), "--format", "json"});
  r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_NOTHROW(nlohmann::json::parse(r.out));
  CHECK(r.err.find("launch: python3 ") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("Flexible Training Plan sizes: search keeps them, emit says when a plan must be bigger",
          "[emit]") {
  auto r = test::run_cli({"search", "--model", "llama-3.2-1b", "--instance", "ml.p6-b200.48xlarge",
                          "--nodes", "1..9", "--plan-sizes", "--format", "json", "--top", "1"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["inputs"]["nodes"] == nlohmann::json({1, 2, 4, 8}));
  r = test::run_cli({"search", "--model", "llama-3.2-1b", "--instance", "ml.p6-b200.48xlarge",
                     "--nodes", "3,5..7", "--plan-sizes"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--plan-sizes") != std::string::npos);

  const fs::path dir = test::scratch_dir("emit-trainer-plan-sizes");
  const std::string plan = write_estimate(
      dir, "plan",
      {"--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge", "--nodes", "3"});
  auto args = base_args(plan, dir / "out");
  args.erase(std::find(args.begin(), args.end(), "-q"));
  args.insert(args.end(), {"--training-plan-arn", test::k_plan_arn});
  r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string note = "3 instances is not a size training plans are sold in (1, 2, 4, 8, 16, "
                           "32, 64): the plan must have 4 instances, 1 of them idle";
  CHECK(r.out.find("note: " + note) != std::string::npos);
  CHECK(read_text_file(dir / "out" / "README.md").find(note) != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("docs/launch.md maps every field a plan carries", "[emit][docs]") {
  // The plan's configuration object is every field a plan has (render_json config_json).
  const fs::path dir = test::scratch_dir("emit-trainer-docs");
  const auto plan = read_json(write_estimate(dir, "plan", {"--instance", "ml.p6-b200.48xlarge"}));
  const std::string doc = read_text_file(test::source_path("docs/launch.md"));
  const auto table = doc.find("| plan field | torchtitan 0.2.2 | refused |");
  REQUIRE(table != std::string::npos);
  const std::string rows = doc.substr(table, doc.find("\n\n", table) - table);
  REQUIRE(plan["config"].size() >= 20);
  for (const auto& [field, value] : plan["config"].items()) {
    if (field == "gpu" || field == "instance") {
      continue; // the instance type is the request's, not a trainer setting
    }
    INFO(field);
    CHECK(rows.find("`" + field + "`") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("the learning rate: torchtitan's train config for the flavor, else its defaults, or "
          "the flags",
          "[emit]") {
  // The data: each recipe equals the train config it names, as tools/launch/torchtitan_schema.py
  // read it from the tag; the defaults equal job_config.py's.
  const nlohmann::json trainer = read_json(test::source_path("data/launch/trainer.json"));
  const nlohmann::json tag = read_json(test::source_path("tests/data/torchtitan-v0.2.2.json"));
  int recipes = 0;
  for (const nlohmann::json& m : trainer["native_models"]) {
    if (!m.contains("recipe")) {
      continue;
    }
    ++recipes;
    const nlohmann::json& r = m["recipe"];
    INFO(m["name"] << " " << m["flavor"]);
    const nlohmann::json& toml = tag["train_configs"].at(r["train_config"].get<std::string>());
    CHECK(r["lr"] == toml["optimizer"]["lr"]);
    CHECK(r["warmup_steps"] == toml["lr_scheduler"]["warmup_steps"]);
    for (const char* key : {"decay_type", "decay_ratio", "min_lr_factor"}) {
      CHECK(r.value(key, nlohmann::json()) == toml["lr_scheduler"].value(key, nlohmann::json()));
    }
  }
  CHECK(recipes == 5); // llama3 8B, 70B, 405B; qwen3 32B; deepseek_v3 671B
  CHECK(trainer["default_schedule"]["lr"] == tag["sections"]["optimizer"]["lr"]["default"]);
  CHECK(trainer["default_schedule"]["warmup_steps"] ==
        tag["sections"]["lr_scheduler"]["warmup_steps"]["default"]);

  // The launch: the 8B flavor's recipe; a shape torchtitan has no config for gets its defaults,
  // said so; the flags win, and each TOML line names where its value came from.
  const fs::path dir = test::scratch_dir("emit-trainer-lr");
  struct Case {
    std::string name, model;
    std::vector<std::string> extra;
    double lr;
    std::int64_t warmup;
    std::string lr_from, warmup_from, stdout_line;
  };
  const std::vector<Case> cases = {
      {"recipe",
       "llama-3.1-8b",
       {},
       3e-4,
       200,
       "(torchtitan's llama3_8b.toml)",
       "(torchtitan's llama3_8b.toml)",
       "learning rate 0.0003, warm-up 200 steps (torchtitan's llama3_8b.toml; --lr and "
       "--warmup-steps set others)"},
      {"default",
       "llama-3.2-1b",
       {},
       8e-4,
       200,
       "(torchtitan's defaults (it ships no train config for this model))",
       "(torchtitan's defaults (it ships no train config for this model))",
       "learning rate 0.0008, warm-up 200 steps (torchtitan's defaults"},
      {"flags",
       "llama-3.1-8b",
       {"--lr", "1.2e-4", "--warmup-steps", "500"},
       1.2e-4,
       500,
       "(--lr)",
       "(--warmup-steps)",
       "learning rate 0.00012 (--lr), warm-up 500 steps (--warmup-steps)"},
      {"one-flag",
       "llama-3.1-8b",
       {"--warmup-steps", "0"},
       3e-4,
       0,
       "(torchtitan's llama3_8b.toml)",
       "(--warmup-steps)",
       "learning rate 0.0003 (torchtitan's llama3_8b.toml), warm-up 0 steps (--warmup-steps)"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const auto r = emit(dir, c.name,
                        {"--model", c.model, "--instance", "ml.p6-b200.48xlarge",
                         "--activation-checkpointing", "full"},
                        c.extra);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains(c.stdout_line));
    const nlohmann::json toml = read_toml(dir / c.name);
    CHECK(toml["optimizer"]["lr"].get<double>() == Approx(c.lr));
    CHECK(toml["lr_scheduler"]["warmup_steps"] == c.warmup);
    const std::string text = read_text_file(dir / c.name / "source" / "torchtitan.toml");
    CHECK_THAT(text, Catch::Contains("  # " + c.lr_from));
    CHECK_THAT(text, Catch::Contains("  # " + c.warmup_from));
    check_launch_dir(dir / c.name);
  }
  // another rate is another run: another job name, so another checkpoint folder (a resumed
  // checkpoint would bring back its scheduler's state)
  const auto name_of_job = [&](const std::string& name) {
    return read_json(dir / name / "create-training-job.json")["TrainingJobName"];
  };
  CHECK(name_of_job("recipe") != name_of_job("flags"));
  // a run shorter than five times the recipe's warm-up warms up for a fifth of it (torchtitan's
  // own rule); a --warmup-steps longer than the run is refused
  const auto short_run =
      emit(dir, "short", {"--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge"},
           {"--train-tokens", "2e7"});
  INFO(short_run.err);
  REQUIRE(short_run.status == 0);
  const nlohmann::json toml = read_toml(dir / "short");
  const std::int64_t steps = toml["training"]["steps"];
  CHECK(steps < 1000);
  CHECK(toml["lr_scheduler"]["warmup_steps"] == steps / 5);
  CHECK_THAT(short_run.out, Catch::Contains("cut to a fifth of the run's steps"));
  const auto too_long =
      emit(dir, "too-long", {"--model", "llama-3.1-8b", "--instance", "ml.p6-b200.48xlarge"},
           {"--train-tokens", "2e7", "--warmup-steps", std::to_string(steps + 1)});
  CHECK(too_long.status == 1);
  CHECK_THAT(too_long.err, Catch::Contains("--warmup-steps " + std::to_string(steps + 1) +
                                           " is more than the run's"));
  CHECK_FALSE(fs::exists(dir / "too-long"));
  fs::remove_all(dir);
}

TEST_CASE("a plan written before a field existed launches under the same job name", "[emit]") {
  // The job name hashes what makes the run; a training-config field at its default is left out
  // of it, so a field added later (gqa_kv and swiglu_impl on 2026-12-06, at the defaults the
  // launch files accept) does not rename an unchanged plan's job, which would start it from
  // scratch instead of resuming its checkpoints. A field off its default still renames it.
  const fs::path dir = test::scratch_dir("emit-trainer-job-name");
  const std::string plan = write_estimate(dir, "plan", {"--instance", "ml.p6-b200.48xlarge"});
  nlohmann::json older = read_json(plan);
  REQUIRE(older["config"].erase("gqa_kv") == 1);
  REQUIRE(older["config"].erase("swiglu_impl") == 1);
  const fs::path older_plan = dir / "older.json";
  std::ofstream(older_plan) << older.dump();
  nlohmann::json foreach = read_json(plan);
  foreach
    ["config"]["optimizer_impl"] = "foreach"; // torchtitan's optimizer.implementation
  const fs::path foreach_plan = dir / "foreach.json";
  std::ofstream(foreach_plan) << foreach.dump();
  const auto job = [&](const std::string& from, const std::string& name) {
    const auto r = test::run_cli(base_args(from, dir / name));
    INFO(r.err);
    REQUIRE(r.status == 0);
    return read_json(dir / name / "create-training-job.json")["TrainingJobName"];
  };
  const auto now = job(plan, "now");
  CHECK(job(older_plan.string(), "older") == now);
  CHECK(job(foreach_plan.string(), "foreach") != now);
  fs::remove_all(dir);
}

TEST_CASE("a sliding window as long as the sequence launches as full attention", "[emit]") {
  // Mistral-7B-v0.1's config.json slides every layer over 4096 tokens: at 4096 and fewer that is
  // full attention, which torchtitan's Llama-style model runs; longer, the refusal names the
  // window (it said only "its attention is Llama's").
  const fs::path dir = test::scratch_dir("emit-sliding");
  nlohmann::json config =
      nlohmann::json::parse(read_text_file(test::source_path("tests/fixtures/hf/"
                                                             "mistral-7b-v0.3.config.json")));
  config.erase("sliding_window"); // v0.1: MistralConfig's default, 4096
  fs::create_directories(dir / "mistral-v0.1");
  std::ofstream(dir / "mistral-v0.1" / "config.json") << config.dump();
  const std::string model = (dir / "mistral-v0.1" / "config.json").string();
  const std::string short_plan = test::write_estimate(
      dir, "short", {"--model", model, "--instance", "ml.p6-b200.48xlarge", "--seq-len", "4096"});
  auto r = test::run_cli(base_args(short_plan, dir / "out"));
  INFO(r.err);
  CHECK(r.status == 0);
  const std::string long_plan = test::write_estimate(
      dir, "long", {"--model", model, "--instance", "ml.p6-b200.48xlarge", "--seq-len", "8192"});
  r = test::run_cli(base_args(long_plan, dir / "out2"));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("the model's sliding window of 4096 tokens is shorter than "
                                    "the plan's 8192"));
  CHECK_FALSE(fs::exists(dir / "out2"));
  fs::remove_all(dir);
}
