#include <catch2/catch.hpp>

#include "bwplan/memory_model.hpp"
#include "test_support.hpp"

using namespace bwplan;
using Catch::Matchers::WithinRel;

namespace {

TrainingConfig cfg(Sharding s, std::int64_t gpus, Precision p = Precision::bf16) {
  TrainingConfig c;
  c.gpus = gpus;
  c.sharding = s;
  c.precision = p;
  return c;
}

} // namespace

TEST_CASE("mixed-precision AdamW states are 16 bytes per parameter over the shard group",
          "[memory]") {
  const ModelStates s = estimate_model_states(test::llama3_8b(), cfg(Sharding::full, 8));
  // Every Llama-3.1-8B dimension divides by 8, so there is no padding: P / 8 each.
  CHECK(s.sharded_params == 8'030'261'248LL / 8);
  CHECK_THAT(s.parameters_bytes, WithinRel(4.0 * 1'003'782'656, 1e-12));
  CHECK_THAT(s.gradients_bytes, WithinRel(4.0 * 1'003'782'656, 1e-12));
  CHECK_THAT(s.optimizer_bytes, WithinRel(8.0 * 1'003'782'656, 1e-12));
  CHECK_THAT(s.total_bytes(), WithinRel(16.0 * 8'030'261'248 / 8, 1e-12));
}

TEST_CASE("bf16-pure halves every state; DDP keeps them whole", "[memory]") {
  const ModelStates pure =
      estimate_model_states(test::llama3_8b(), cfg(Sharding::none, 1, Precision::bf16_pure));
  CHECK_THAT(pure.total_bytes(), WithinRel(8.0 * 8'030'261'248, 1e-12));
  const ModelStates ddp = estimate_model_states(test::llama3_8b(), cfg(Sharding::none, 8));
  CHECK_THAT(ddp.total_bytes(), WithinRel(16.0 * 8'030'261'248, 1e-12));
}

TEST_CASE("hybrid sharding divides by the shard group, not the job", "[memory]") {
  TrainingConfig c = cfg(Sharding::hybrid, 32);
  c.gpus_per_node = 8;
  CHECK(effective_shard_group(c) == 8);
  CHECK_THAT(estimate_model_states(test::llama3_8b(), c).total_bytes(),
             WithinRel(16.0 * 8'030'261'248 / 8, 1e-12));
}

TEST_CASE("FSDP2 pads dim 0 of every tensor to the shard group", "[memory]") {
  ModelSpec m;
  m.name = "tiny";
  m.layers = 1;
  m.hidden = 10;
  m.heads = 2;
  m.kv_heads = 1;
  m.ffn = 7;
  m.vocab = 11;
  m.max_seq_len = 16;
  // Rows per rank over 4 GPUs: embedding ceil(11/4)=3 x10, norm 3, wq 3x10, wk 2x10, wv 2x10,
  // wo 3x10, norm 3, w1 2x10, w3 2x10, w2 3x7, final norm 3, output 3x10 -> 230 elements.
  const ModelStates s = estimate_model_states(m, cfg(Sharding::full, 4, Precision::fp32));
  CHECK(s.sharded_params == 230);
  CHECK_THAT(s.parameters_bytes, WithinRel(920.0, 1e-12));
}

TEST_CASE("optimizer state sizes per element", "[memory]") {
  CHECK_THAT(optimizer_state_bytes(Optimizer::adamw, 1000, 1000, 4), WithinRel(8e6, 1e-12));
  // torchao 8-bit: 2 states x (1 byte + a 4-byte scale per 256 elements).
  CHECK_THAT(optimizer_state_bytes(Optimizer::adamw_8bit, 1000, 1000, 4),
             WithinRel(2e6 * (1 + 4.0 / 256), 1e-12));
  CHECK_THAT(optimizer_state_bytes(Optimizer::adamw_8bit, 10, 100, 4), WithinRel(8000.0, 1e-12));
  CHECK_THAT(optimizer_state_bytes(Optimizer::sgd, 1000, 1000, 4), WithinRel(4e6, 1e-12));
  CHECK_THAT(optimizer_state_bytes(Optimizer::lion, 1000, 1000, 2), WithinRel(2e6, 1e-12));
  CHECK_THAT(optimizer_state_bytes(Optimizer::adafactor, 1000, 500, 4), WithinRel(6000.0, 1e-12));
  CHECK_THAT(optimizer_state_bytes(Optimizer::adafactor, 1000, 1, 4), WithinRel(4000.0, 1e-12));
}

TEST_CASE("the reduce dtype: the trainer's default, or as set", "[memory]") {
  TrainingConfig c = cfg(Sharding::full, 8, Precision::bf16_pure);
  // torchtitan reduces in fp32 whatever the training dtype (mixed_precision_reduce "float32");
  // a trainer without a mixed-precision policy reduces bf16-pure gradients in bf16.
  CHECK(state_dtypes(c).reduce_bytes == 4);
  c.trainer = Trainer::other;
  CHECK(state_dtypes(c).reduce_bytes == 2);
  c.trainer = Trainer::megatron;
  CHECK(state_dtypes(c).reduce_bytes == 2);
  c.precision = Precision::bf16;
  CHECK(state_dtypes(c).reduce_bytes == 4); // Megatron-LM's default under bf16
  c.reduce_dtype = ReduceDtype::bf16;       // grad_reduce_in_fp32=False
  CHECK(state_dtypes(c).reduce_bytes == 2);
  c.precision = Precision::bf16_pure;
  c.reduce_dtype = ReduceDtype::fp32;
  CHECK(state_dtypes(c).reduce_bytes == 4);
  // Only the reduce dtype: the states keep the precision's.
  CHECK(state_dtypes(c).param_bytes == 2);
  CHECK(state_dtypes(c).grad_bytes == 2);
  // PEFT's fp32 adapters (lora_dtype fp32) are fp32 states; their reduction is fp32 by default,
  // and a reduce dtype set explicitly is kept (MixedPrecisionPolicy.reduce_dtype casts them).
  c.finetune = Finetune::lora;
  c.trainer = Trainer::other;
  c.reduce_dtype = ReduceDtype::trainer_default;
  CHECK(state_dtypes(c).param_bytes == 4);
  CHECK(state_dtypes(c).grad_bytes == 4);
  CHECK(state_dtypes(c).reduce_bytes == 4);
  c.reduce_dtype = ReduceDtype::bf16;
  CHECK(state_dtypes(c).reduce_bytes == 2);
  CHECK(state_dtypes(c).grad_bytes == 4);
  c.lora_dtype = LoraDtype::base; // torchtune's bf16 adapters under bf16-pure
  c.reduce_dtype = ReduceDtype::trainer_default;
  CHECK(state_dtypes(c).reduce_bytes == 2);
  CHECK(state_dtypes(c).grad_bytes == 2);
}

TEST_CASE("a bf16 reduce halves the reduce-scatter inputs and Megatron's gradient buffer, not the "
          "sharded gradients",
          "[memory]") {
  const ModelSpec& m = test::preset("llama-3.1-8b");
  const GpuSpec& gpu = test::catalog().gpu("b200");
  TrainingConfig c = cfg(Sharding::full, 8);
  const MemoryTerms fp32 = memory_terms(m, model_facts(m), c, gpu);
  c.reduce_dtype = ReduceDtype::bf16;
  const MemoryTerms bf16 = memory_terms(m, model_facts(m), c, gpu);
  // one block: 4 x 4096^2 (attention, 8 KV heads of 128: wk, wv a quarter) and 3 x 4096 x 14336,
  // two norms
  const double block = 4096.0 * 4096 * 2 + 2 * 4096.0 * 1024 + 3 * 4096.0 * 14336 + 2 * 4096;
  CHECK_THAT(fp32.rs_input, WithinRel(4.0 * block, 1e-12));
  CHECK_THAT(bf16.rs_input, WithinRel(2.0 * block, 1e-12));
  CHECK(bf16.gradients == fp32.gradients);
  // Megatron's distributed optimizer holds its whole gradient buffer in the reduce dtype.
  c.trainer = Trainer::megatron;
  c.sharding = Sharding::grad_op;
  const double buffer = memory_terms(m, model_facts(m), c, gpu).gradients_forward[0];
  c.reduce_dtype = ReduceDtype::trainer_default;
  CHECK_THAT(memory_terms(m, model_facts(m), c, gpu).gradients_forward[0],
             WithinRel(2.0 * buffer, 1e-12));
  CHECK_THAT(buffer, WithinRel(2.0 * 8'030'261'248, 1e-12));
}
