// Two ways trainers build a mixture of experts (moe_impl, expert_fsdp): what a fused
// DeepEP/HybridEP-class layer saves, and routed experts kept outside FSDP (NeMo Automodel's MoE
// parallelizer), against hand-computed values for Qwen3-30B-A3B (docs/model.md, "Mixtures of
// experts").
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bwplan/error.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/training_config.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

// Qwen3-30B-A3B: 48 blocks of hidden 2048, 128 experts of width 768 (8 per token). One block
// holds 623,120,640 parameters, 603,979,776 of them routed experts (3 x 128 x 768 x 2048) and
// 19,140,864 not (attention 18,874,368, norms 4,352, router 262,144); under ep 8 a rank holds 16
// experts, 75,497,472 per block. The embedding and the untied output are 151,936 x 2048 =
// 311,164,928 each; the head unit is the final norm and the output, 311,166,976.
const ModelSpec& a3b() {
  return test::preset("qwen3-30b-a3b");
}

// Automodel's Qwen3-30B-A3B benchmark shape: 8 GPUs, ep 8, parameters kept gathered from forward
// to backward (grad-op), bf16 parameters and states, fp32 reductions.
TrainingConfig automodel_like(ExpertFsdp wrap) {
  TrainingConfig c = test::fsdp_config(8, ActivationCheckpointing::full);
  c.sharding = Sharding::grad_op;
  c.precision = Precision::bf16_pure;
  c.reduce_dtype = ReduceDtype::fp32;
  c.trainer = Trainer::other;
  c.ep = 8;
  c.expert_fsdp = wrap;
  return c;
}

MemoryTerms terms(const TrainingConfig& c) {
  return memory_terms(a3b(), model_facts(a3b()), c, test::catalog().gpu("b200"), MemoryConstants{});
}

constexpr double k_blocks = 48;
constexpr double k_block_dense = 19'140'864;   // a block's parameters other than routed experts
constexpr double k_block_experts = 75'497'472; // one rank's 16 experts of one block
constexpr double k_embedding = 311'164'928;
constexpr double k_head = k_embedding + 2048;

} // namespace

TEST_CASE("a fused mixture layer keeps the grouped GEMMs' inputs and no fp32 combine", "[moe]") {
  // bf16, eager, FSDP, per token of one block with no checkpointing (test_moe.cpp: 192,352 under
  // moe_impl eager, of which the router/expert input and torchtitan's MoE 152,288). Fused: the
  // router keeps the norm output 4,096, fp32 scores 5 x 128 and top-k 4 x 8 = 4,768; each of the
  // 8 copies grouped fc1's input 4,096, the activation's 2 x 768-wide input 3,072, its
  // probability 4 and grouped fc2's input 1,536 = 69,664: 74,432, so 192,352 - 152,288 + 74,432.
  TrainingConfig c = test::fsdp_config(8, ActivationCheckpointing::none);
  c.ep = 1;
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::none).full_per_token == 192'352.0);
  c.moe_impl = MoeImpl::fused;
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::none).full_per_token == 114'496.0);
  // Megatron-Core's layer is the fused one by default, and cannot be asked to be eager.
  TrainingConfig m = c;
  m.trainer = Trainer::megatron;
  m.moe_impl = MoeImpl::trainer_default;
  CHECK(moe_layer_fused(m));
  CHECK_FALSE(moe_layer_fused(test::fsdp_config(8, ActivationCheckpointing::none)));
  m.moe_impl = MoeImpl::eager;
  CHECK_THROWS_WITH(validate_config(m, a3b()),
                    Catch::Contains("`moe_impl` eager with `trainer` megatron"));
}

TEST_CASE("routed experts outside FSDP are never gathered and keep their own-dtype gradients",
          "[moe]") {
  const TrainingConfig always = automodel_like(ExpertFsdp::always);
  const TrainingConfig outside = automodel_like(ExpertFsdp::sharded);
  REQUIRE_FALSE(experts_outside_fsdp(always));
  REQUIRE(experts_outside_fsdp(outside));
  const MemoryTerms a = terms(always), o = terms(outside);
  // Gathered from forward to backward: the head unit and every block, in bf16; outside FSDP the
  // experts are not gathered: 2 x (311,166,976 + 48 x 19,140,864) = 2,459,856,896 bytes.
  CHECK(a.fsdp_forward == 2.0 * (k_head + k_blocks * (k_block_dense + k_block_experts)));
  CHECK(o.fsdp_forward == 2.0 * (k_head + k_blocks * k_block_dense));
  CHECK(o.fsdp_forward == 2'459'856'896.0);
  // FSDP's reduce-scatter input holds only the block's own parameters in fp32.
  CHECK(a.rs_input == 4.0 * (k_block_dense + k_block_experts));
  CHECK(o.rs_input == 4.0 * k_block_dense);
  // Sync off over micro-batches: FSDP accumulates gathered gradients in the fp32 reduce dtype,
  // autograd the experts' own in bf16: 4 x (embedding + head + 48 x 19,140,864) + 2 x 48 x
  // 75,497,472 instead of 4 x everything a rank holds.
  TrainingConfig a_nosync = always, o_nosync = outside;
  a_nosync.grad_accum_mode = o_nosync.grad_accum_mode = GradAccumMode::no_sync;
  CHECK(terms(a_nosync).gradients_forward[1] ==
        4.0 * (k_embedding + k_head + k_blocks * (k_block_dense + k_block_experts)));
  CHECK(terms(o_nosync).gradients_forward[1] ==
        4.0 * (k_embedding + k_head + k_blocks * k_block_dense) + 2.0 * k_blocks * k_block_experts);
  // One micro-batch: the experts' bf16 gradients (7,247,757,312 bytes) grow as the blocks'
  // gathered weights (1,837,522,944) go; the phase already counts those, so the difference.
  CHECK(a.expert_grads_backward == 0.0);
  CHECK(o.expert_grads_backward ==
        2.0 * k_blocks * k_block_experts - 2.0 * k_blocks * k_block_dense);
  CHECK(estimate_memory(a3b(), outside, test::catalog().gpu("b200"), MemoryConstants{})
            .peak_allocated_bytes <
        estimate_memory(a3b(), always, test::catalog().gpu("b200"), MemoryConstants{})
            .peak_allocated_bytes);
}

TEST_CASE("experts outside FSDP need ep to span the shard group and bf16 weights to skip copies",
          "[moe]") {
  // ep 4 of 8: each expert still has a 2-rank FSDP group, so Automodel wraps it as torchtitan does.
  TrainingConfig half = automodel_like(ExpertFsdp::sharded);
  half.ep = 4;
  CHECK_FALSE(experts_outside_fsdp(half));
  TrainingConfig half_always = half;
  half_always.expert_fsdp = ExpertFsdp::always;
  CHECK(terms(half).fsdp_forward == terms(half_always).fsdp_forward);
  // fp32 parameters (bwplan bf16): the forward casts each block's experts to bf16 and the grouped
  // GEMM saves the cast, so as much is held as FSDP's gathered copies; the gradients are fp32.
  TrainingConfig mixed = automodel_like(ExpertFsdp::sharded);
  mixed.precision = Precision::bf16;
  TrainingConfig mixed_always = mixed;
  mixed_always.expert_fsdp = ExpertFsdp::always;
  CHECK(terms(mixed).fsdp_forward == terms(mixed_always).fsdp_forward);
  // FSDP2's CPU offload moves only what FSDP manages: refused rather than counted low.
  TrainingConfig offloaded = automodel_like(ExpertFsdp::sharded);
  offloaded.offload = Offload::cpu;
  CHECK_THROWS_WITH(validate_config(offloaded, a3b()),
                    Catch::Contains("`expert_fsdp` sharded with `offload` cpu"));
  offloaded.expert_fsdp = ExpertFsdp::always;
  CHECK_NOTHROW(validate_config(offloaded, a3b()));
  CHECK(terms(mixed).expert_grads_backward ==
        4.0 * k_blocks * k_block_experts - 2.0 * k_blocks * (k_block_dense + k_block_experts));
}

TEST_CASE("a single micro-batch's backward holds the gradients its stack already held, plus the "
          "experts' own outside FSDP",
          "[moe]") {
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const auto at = [](const MemoryEstimate& e, StepPhase p, MemoryComponent m) {
    return e.phases[static_cast<std::size_t>(p)][static_cast<std::size_t>(m)];
  };
  // DDP allocates its gradient buckets at construction: the backward holds every gradient.
  TrainingConfig ddp = test::fsdp_config(8, ActivationCheckpointing::full);
  ddp.sharding = Sharding::none;
  const ModelSpec& dense = test::preset("llama-3.2-1b");
  const MemoryEstimate d = estimate_memory(dense, ddp, b200, MemoryConstants{});
  CHECK(at(d, StepPhase::backward_block, MemoryComponent::gradients) ==
        estimate_model_states(dense, ddp).gradients_bytes);
  // FSDP: none yet in the backward of a single micro-batch; outside FSDP the experts' bf16
  // gradients past the gathered weights they replace (the second test case's figure).
  const MemoryEstimate a =
      estimate_memory(a3b(), automodel_like(ExpertFsdp::always), b200, MemoryConstants{});
  const MemoryEstimate o =
      estimate_memory(a3b(), automodel_like(ExpertFsdp::sharded), b200, MemoryConstants{});
  CHECK(at(a, StepPhase::backward_block, MemoryComponent::gradients) == 0.0);
  CHECK(at(o, StepPhase::backward_block, MemoryComponent::gradients) ==
        2.0 * k_blocks * (k_block_experts - k_block_dense));
}

TEST_CASE("estimate and search refuse layers Megatron-Core does not run, naming the flags",
          "[moe][cli]") {
  for (const char* cmd : {"estimate", "search"}) {
    INFO(cmd);
    const test::CliResult eager =
        test::run_cli({cmd, "--model", "qwen3-30b-a3b", "--ep", "8", "--trainer", "megatron",
                       "--moe-impl", "eager", "--activation-checkpointing", "full"});
    CHECK(eager.status == 1);
    CHECK(eager.out.empty());
    CHECK_THAT(eager.err, Catch::Contains("--moe-impl eager with --trainer megatron") &&
                              Catch::Contains("(allowed: --moe-impl default or fused)"));
    const test::CliResult repeat =
        test::run_cli({cmd, "--model", "qwen3-30b-a3b", "--ep", "8", "--trainer", "megatron",
                       "--gqa-kv", "repeat", "--activation-checkpointing", "full"});
    CHECK(repeat.status == 1);
    CHECK_THAT(repeat.err, Catch::Contains("--gqa-kv repeat with --trainer megatron"));
  }
  // A fused layer and experts outside FSDP plan; torchtitan's launch files refuse them.
  const test::CliResult fused = test::run_cli(
      {"estimate", "--model", "qwen3-30b-a3b", "--ep", "8", "--sharding", "grad-op", "--precision",
       "bf16-pure", "--moe-impl", "fused", "--expert-fsdp", "sharded", "--format", "json"});
  REQUIRE(fused.status == 0);
  const auto plan = nlohmann::json::parse(fused.out);
  CHECK(plan.at("config").at("moe_impl") == "fused");
  CHECK(plan.at("config").at("expert_fsdp") == "sharded");
  CHECK(fused.err.empty());
  // ep 4 of 8 leaves each expert a 2-rank FSDP group: the setting changes nothing, and says so.
  const test::CliResult half = test::run_cli({"estimate", "--model", "qwen3-30b-a3b", "--ep", "4",
                                              "--expert-fsdp", "sharded", "--format", "json"});
  REQUIRE(half.status == 0);
  CHECK(half.err == "bwplan: warning: --expert-fsdp sharded has no effect with --ep 4 over a shard "
                    "group of 8 (the routed experts are an FSDP unit either way)\n");
}

TEST_CASE("a mixture's layer or expert wrapping set on a dense model is named as doing nothing",
          "[moe][cli]") {
  // Both keys describe routed experts; a dense model's estimate is the same with or without them.
  const test::CliResult dense =
      test::run_cli({"estimate", "--model", "llama-3.1-8b", "--moe-impl", "fused", "--expert-fsdp",
                     "sharded", "--format", "json"});
  REQUIRE(dense.status == 0);
  CHECK(dense.err == "bwplan: warning: --moe-impl fused has no effect on llama-3.1-8b, which has "
                     "no routed experts\n"
                     "bwplan: warning: --expert-fsdp sharded has no effect on llama-3.1-8b, "
                     "which has no routed experts\n");
  const test::CliResult plain =
      test::run_cli({"estimate", "--model", "llama-3.1-8b", "--format", "json"});
  REQUIRE(plain.status == 0);
  CHECK(plain.err.empty());
  auto with = nlohmann::json::parse(dense.out);
  auto without = nlohmann::json::parse(plain.out);
  CHECK(with.at("memory") == without.at("memory"));
  CHECK(with.at("throughput") == without.at("throughput"));
  // check reads a plan's keys and says the same in their spelling
  const std::filesystem::path dir = test::scratch_dir("moe-keys-dense");
  const std::string plan = (dir / "dense.json").string();
  std::ofstream(plan, std::ios::binary) << dense.out;
  const test::CliResult r = test::run_cli({"check", "--plan", plan});
  CHECK(r.status == 0);
  CHECK(r.err == "bwplan: warning: " + plan +
                     ": moe_impl fused has no effect on llama-3.1-8b, which has no routed "
                     "experts\n"
                     "bwplan: warning: " +
                     plan +
                     ": expert_fsdp sharded has no effect on llama-3.1-8b, which has no routed "
                     "experts\n");
  std::filesystem::remove_all(dir);
}
