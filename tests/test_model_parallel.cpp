// Tensor and context parallelism (docs/model.md and docs/time-model.md, "Tensor and context
// parallelism"): each rank's slice of the model, the divisibility rules, the activations and
// logits one rank holds, the collectives on the critical path and the trainer's degrees.
#include <utility>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "bwplan/error.hpp"
#include "bwplan/estimate.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/time_model.hpp"
#include "io/torchtitan_config.hpp"
#include "test_support.hpp"
#include "trainer_settings.hpp"

using namespace bwplan;
using Catch::Matchers::WithinRel;
using test::at;

namespace {

TrainingConfig parallel(std::int64_t gpus, std::int64_t tp, std::int64_t cp) {
  TrainingConfig c;
  c.gpus = gpus;
  c.gpus_per_node = std::min<std::int64_t>(gpus, 8);
  c.tp = tp;
  c.cp = cp;
  c.seq_len = 8192;
  return c;
}

std::string settings_of(const TrainingConfig& c) {
  return test::trainer_settings(test::preset("llama-3.1-8b"), c);
}

/// Llama 3.1 70B over 64 B200s with `ac`: without tensor parallelism, and at tp 8.
std::pair<MemoryEstimate, MemoryEstimate> llama70b_tp1_tp8(ActivationCheckpointing ac) {
  const ModelSpec& m = test::preset("llama-3.1-70b");
  const GpuSpec& gpu = test::catalog().gpu("b200");
  TrainingConfig one = parallel(64, 1, 1);
  one.activation_checkpointing = ac;
  TrainingConfig eight = one;
  eight.tp = 8;
  return {estimate_memory(m, one, gpu), estimate_memory(m, eight, gpu)};
}

} // namespace

TEST_CASE("a tensor-parallel rank holds its slice of every matrix and whole norms", "[parallel]") {
  const ModelSpec m = test::llama3_8b();
  const ModelFacts f = tensor_parallel_facts(m, 8);
  // One Llama-3.1-8B block: wq 4096², wk and wv 1024 x 4096, wo 4096², w1, w3, w2 14336 x 4096
  // = 218,103,808 matrix elements, split 8 ways exactly; two 4096-wide norms stay whole.
  CHECK(f.counts.per_block == 218'103'808 / 8 + 2 * 4096);
  CHECK(f.block_linear == 218'103'808.0 / 8);
  // Vocab-parallel embedding and column-wise output head: 128256 / 8 = 16032 rows each.
  CHECK(f.counts.embedding == 16'032LL * 4096);
  CHECK(f.counts.output == 16'032LL * 4096);
  CHECK(f.counts.final_norm == 4096);
  CHECK(tensor_parallel_facts(m, 1).counts.total == model_facts(m).counts.total);
  // wo and w2 split their columns: a row-wise split keeps dim 0 (FSDP's shard dim) whole.
  for (const ParamTensor& t : f.tensors) {
    if (t.name == "wo" || t.name == "w2") {
      CHECK(t.rows == 4096);
    }
  }
}

TEST_CASE("model-parallel degrees that do not divide are refused naming what fails",
          "[parallel][errors]") {
  const ModelSpec& m = test::preset("llama-3.1-8b");
  TrainingConfig c = parallel(8, 3, 1);
  c.gpus = 6;
  c.gpus_per_node = 6;
  CHECK_THROWS_WITH(validate_config(c, m),
                    Catch::Contains("`tp` 3 must divide the model's 32 attention heads"));
  c = parallel(16, 16, 1);
  CHECK_THROWS_WITH(validate_config(c, m),
                    Catch::Contains("`tp` 16 must divide the model's 8 key/value heads"));
  c = parallel(8, 4, 4);
  CHECK_THROWS_WITH(validate_config(c, m), Catch::Contains("`tp` 4 x `cp` 4 = 16 must divide "
                                                           "`gpus` 8"));
  c = parallel(8, 1, 4);
  c.seq_len = 8196;
  CHECK_THROWS_WITH(validate_config(c, m),
                    Catch::Contains("`seq_len` 8196 must be a multiple of 2 x `cp` 4 = 8"));
  c = parallel(8, 1, 2);
  c.sharding = Sharding::none;
  CHECK_THROWS_WITH(validate_config(c, m), Catch::Contains("`cp` 2 needs FSDP"));
  c = parallel(16, 2, 2);
  c.sharding = Sharding::hybrid;
  c.shard_group = 3;
  CHECK_THROWS_WITH(validate_config(c, m), Catch::Contains("`shard_group` 3 must divide the 8 "
                                                           "GPUs of one tensor-parallel slice"));
  c.shard_group = 2;
  CHECK_NOTHROW(validate_config(c, m));
  c.shard_group = 1; // FSDP must span the context-parallel ranks
  CHECK_THROWS_WITH(validate_config(c, m), Catch::Contains("multiple of `cp` 2"));
}

TEST_CASE("tensor and context parallelism divide the data-parallel degree and the shard group",
          "[parallel]") {
  TrainingConfig c = parallel(16, 2, 2);
  c.micro_batch = 3;
  c.grad_accum = 5;
  CHECK(data_parallel_degree(c) == 4);
  CHECK(effective_shard_group(c) == 8); // full: the dp x cp ranks of one TP slice
  CHECK(tokens_per_step(c) == 3 * 8192 * 4 * 5);
  CHECK(grad_accum_for(3.0 * 8192 * 4 * 5, 3, 8192, data_parallel_degree(c)) == 5);
  c.sharding = Sharding::hybrid; // default: the node's 8 GPUs / tp = 4 (a multiple of cp)
  CHECK(effective_shard_group(c) == 4);
  c.tp = 8; // 8 / 8 = 1 is below cp: the group spans the context-parallel ranks
  c.gpus = 32;
  CHECK(effective_shard_group(c) == 2);
}

TEST_CASE("a tensor-parallel rank holds a tp-th of the states, activations and logits",
          "[parallel][memory]") {
  const auto [a, b] = llama70b_tp1_tp8(ActivationCheckpointing::full);
  // States: 64-way either way (64 FSDP ranks, or 8 TP x 8 FSDP), but the norms (80 layers x 2
  // x 8192 + 8192 elements) are whole on every TP rank: 8-way instead of 64-way.
  const double norms = (80.0 * 2 + 1) * 8192;
  CHECK(static_cast<double>(b.states.sharded_params - a.states.sharded_params) ==
        norms / 8 - norms / 64);
  // Full checkpointing saves each block's input, sequence-sharded: 8192 tokens x 8192 x 2 bytes
  // x 80 blocks, an eighth of it per rank.
  CHECK_THAT(at(a, StepPhase::forward_end, MemoryComponent::activations),
             WithinRel(8192.0 * 8192 * 2 * 80, 1e-12));
  CHECK_THAT(at(b, StepPhase::forward_end, MemoryComponent::activations),
             WithinRel(8192.0 * 8192 * 2 * 80 / 8, 1e-12));
  // Loss parallel: each rank's logits are its vocabulary slice, and the unfused loss's DTensor
  // log_softmax and fused backward hold one more fp32 copy of it: the loss backward's 12 bytes
  // per logit become 16.
  CHECK_THAT(
      at(b, StepPhase::backward_start, MemoryComponent::logits),
      WithinRel(at(a, StepPhase::backward_start, MemoryComponent::logits) / 8 * 16 / 12, 1e-12));
  // The band's upper edge widens for tensor parallelism (one measured run).
  CHECK((b.band_widened & bit(Widening::tensor_parallel)) != 0);
  CHECK((a.band_widened & bit(Widening::tensor_parallel)) == 0);
}

TEST_CASE("context parallelism holds 1/cp of each sequence, plus the gathered keys and values",
          "[parallel][memory]") {
  const ModelSpec m = test::llama3_8b();
  const GpuSpec& gpu = test::catalog().gpu("b200");
  TrainingConfig whole = parallel(8, 1, 1);
  whole.seq_len = 32768;
  whole.activation_checkpointing = ActivationCheckpointing::full;
  TrainingConfig split = whole;
  split.seq_len = 65536;
  split.cp = 2;
  const MemoryEstimate a = estimate_memory(m, whole, gpu);
  const MemoryEstimate b = estimate_memory(m, split, gpu);
  // 32768 tokens on each GPU either way: the same saved activations and logits.
  CHECK(at(a, StepPhase::forward_end, MemoryComponent::activations) ==
        at(b, StepPhase::forward_end, MemoryComponent::activations));
  CHECK(at(a, StepPhase::backward_start, MemoryComponent::logits) ==
        at(b, StepPhase::backward_start, MemoryComponent::logits));
  // In the first block's backward, the whole 65536-token sequence's K and V (at their 8 heads:
  // 1024 wide) in bf16 and their fp32 gradients: 65536 x 1024 x 2 x (2 + 4) bytes; repeated to
  // the 32 query heads (4096 wide) under repeat_kv.
  CHECK_THAT(at(b, StepPhase::backward_block, MemoryComponent::activations) -
                 at(a, StepPhase::backward_block, MemoryComponent::activations),
             WithinRel(65536.0 * 1024 * 2 * 6, 1e-12));
  whole.gqa_kv = GqaKv::repeat;
  split.gqa_kv = GqaKv::repeat;
  const MemoryEstimate ar = estimate_memory(m, whole, gpu);
  const MemoryEstimate br = estimate_memory(m, split, gpu);
  CHECK_THAT(at(br, StepPhase::backward_block, MemoryComponent::activations) -
                 at(ar, StepPhase::backward_block, MemoryComponent::activations),
             WithinRel(65536.0 * 4096 * 2 * 6, 1e-12));
}

namespace {

/// Two GPUs over tp 2 at one 4096-token sequence, no checkpointing: the collectives' tests.
TrainingConfig tp2_sequence_4k() {
  TrainingConfig c = parallel(2, 2, 1);
  c.seq_len = 4096;
  c.activation_checkpointing = ActivationCheckpointing::none;
  return c;
}

} // namespace

TEST_CASE("tensor-parallel collectives: eight per block, the sequence's hidden states each",
          "[parallel][time]") {
  const ModelSpec m = test::llama3_8b();
  const GpuSpec& gpu = test::catalog().gpu("b200");
  TrainingConfig c = tp2_sequence_4k();
  const Network net = make_network(gpu, 8, 3.2e12);
  const TimeConstants k;
  const StepTime t = estimate_step_time(m, c, gpu, net, k);
  // 32 blocks x 8 calls of 4096 tokens x 4096 x 2 bytes, a ring of 2 moving half of each over
  // NVLink at its bus fraction (critical path: no contention); each call NCCL's base latency and
  // one NVLink hop.
  const double calls = 32.0 * 8;
  const double bytes = calls * 4096.0 * 4096 * 2;
  const double expect =
      bytes * 0.5 / (gpu.nvlink_bandwidth_bytes_per_s * k.intra_node_bus_fraction) +
      calls * (k.nccl_base_latency_s + k.nccl_nvlink_hop_latency_s);
  CHECK_THAT(t.tensor_parallel_s, WithinRel(expect, 1e-12));
  CHECK(t.context_parallel_s == 0.0);
  // Tokens per GPU: the pair shares one sequence of 4096 tokens per step.
  CHECK_THAT(t.tokens_per_s_per_gpu * t.step_s, WithinRel(4096.0 / 2, 1e-12));
  // MFU counts the model's FLOPs per token: at most 1 however the work is split.
  CHECK(t.mfu <= 1.0);
  CHECK(t.hfu <= 1.0);
}

TEST_CASE("without loss parallelism the logits are all-gathered once per micro-batch and the "
          "loss runs on the whole vocabulary",
          "[parallel][time]") {
  const ModelSpec m = test::llama3_8b();
  const GpuSpec& gpu = test::catalog().gpu("b200");
  TrainingConfig c = tp2_sequence_4k();
  const Network net = make_network(gpu, 8, 3.2e12);
  const TimeConstants k;
  const StepTime lp = estimate_step_time(m, c, gpu, net, k);
  c.disable_loss_parallel = true;
  const StepTime gathered = estimate_step_time(m, c, gpu, net, k);
  // One more ring all-gather of the 4096 x 128256 bf16 logits, half of it moving, and its call's
  // latency; its backward takes the local slice of the gradient (no collective).
  const double bytes = 4096.0 * 128256 * 2;
  const double expect =
      bytes * 0.5 / (gpu.nvlink_bandwidth_bytes_per_s * k.intra_node_bus_fraction) +
      (k.nccl_base_latency_s + k.nccl_nvlink_hop_latency_s);
  CHECK_THAT(gathered.tensor_parallel_s - lp.tensor_parallel_s, WithinRel(expect, 1e-9));
  // Each rank's loss reads and writes the whole vocabulary's logits: slower, never faster.
  CHECK(gathered.tokens_per_s_per_gpu < lp.tokens_per_s_per_gpu);
  CHECK(gathered.mfu < lp.mfu);
  // The setting reaches torchtitan (on 4 GPUs: FSDP over 2 shards, which it launches).
  TrainingConfig launched = parallel(4, 2, 1);
  launched.disable_loss_parallel = true;
  CHECK_THAT(settings_of(launched), Catch::Contains("parallelism.disable_loss_parallel=true\n"));
}

TEST_CASE("the trainer gets the degrees, the FSDP shard degree and the data-parallel batch",
          "[parallel][emit]") {
  TrainingConfig c = parallel(16, 2, 2);
  c.micro_batch = 2;
  c.grad_accum = 3;
  const std::string s = settings_of(c);
  CHECK_THAT(s, Catch::Contains("parallelism.tensor_parallel_degree=2\n"));
  CHECK_THAT(s, Catch::Contains("parallelism.context_parallel_degree=2\n"));
  // torchtitan's FSDP dimension is dp_shard x cp: 8 / 2 = 4 shards, no replicas.
  CHECK_THAT(s, Catch::Contains("parallelism.data_parallel_shard_degree=4\n"));
  CHECK_THAT(s, Catch::Contains("parallelism.data_parallel_replicate_degree=1\n"));
  CHECK_THAT(s, Catch::Contains("training.global_batch_size=24\n")); // 2 x 3 x 4 data ranks
  c.sharding = Sharding::hybrid; // shard group 4 = 2 dp_shard x 2 cp; 2 replicas
  const std::string h = settings_of(c);
  CHECK_THAT(h, Catch::Contains("parallelism.data_parallel_shard_degree=2\n"));
  CHECK_THAT(h, Catch::Contains("parallelism.data_parallel_replicate_degree=2\n"));
}

TEST_CASE("an 8B at 131072 tokens on one P6-B200 node: model parallelism keeps the sequence and "
          "beats data parallelism alone",
          "[parallel][search][cli]") {
  const auto best = [](std::vector<std::string> extra) {
    std::vector<std::string> a = {"search", "--model",  "llama-3.1-8b", "--seq-len",
                                  "131072", "--format", "json"};
    a.insert(a.end(), extra.begin(), extra.end());
    const test::CliResult r = test::run_cli(a);
    REQUIRE(r.status == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    REQUIRE_FALSE(j.at("plans").empty());
    for (const nlohmann::json& p : j.at("plans")) {
      CHECK(p.at("config").at("seq_len") == 131072);
    }
    return j.at("plans").at(0);
  };
  const nlohmann::json parallel = best({});
  const nlohmann::json data = best({"--tp", "1", "--cp", "1"});
  CHECK(parallel.at("config").at("tp").get<int>() * parallel.at("config").at("cp").get<int>() > 1);
  CHECK(parallel.at("throughput").at("tokens_per_second_per_gpu").get<double>() >
        data.at("throughput").at("tokens_per_second_per_gpu").get<double>());
}

TEST_CASE("search refuses degrees the model or the sequence lengths cannot take, naming them",
          "[parallel][search][cli][errors]") {
  const test::CliResult tp = test::run_cli({"search", "--model", "llama-3.1-8b", "--tp", "3"});
  CHECK(tp.status == 1);
  CHECK_THAT(tp.err, Catch::Contains("--tp 3 must divide the model's 32 attention heads"));
  const test::CliResult cp =
      test::run_cli({"search", "--model", "llama-3.1-8b", "--cp", "3", "--seq-len", "8191"});
  CHECK(cp.status == 1);
  CHECK_THAT(cp.err, Catch::Contains("--cp 3: no --seq-len is a multiple of 2 x 3 = 6"));
}

TEST_CASE("op-level SAC under tensor parallelism keeps the column-wise linears' gathered inputs",
          "[parallel][memory]") {
  // Each block keeps its op-level SAC share split over the tp ranks plus the two inputs the
  // column-wise linears all-gather (attention's and the MLP's), whole: 8192 tokens x 2 x 8192
  // x 2 bytes per block, over 80 blocks (docs/model.md section 10: the published runs with both
  // read 21-36 % low without them). Full checkpointing keeps none whole (the case above).
  const auto [a, b] = llama70b_tp1_tp8(ActivationCheckpointing::selective_op);
  const double gathered = 8192.0 * 2 * 8192 * 2 * 80;
  CHECK_THAT(
      at(b, StepPhase::forward_end, MemoryComponent::activations),
      WithinRel(at(a, StepPhase::forward_end, MemoryComponent::activations) / 8 + gathered, 1e-9));
}
