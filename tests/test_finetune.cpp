// LoRA and QLoRA fine-tuning: trainable counts as PEFT and torchtune print them, the frozen base's
// states, FLOPs, and the settings that are refused (docs/model.md and docs/time-model.md,
// "Fine-tuning").
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "bwplan/memory_model.hpp"
#include "bwplan/time_model.hpp"
#include "bwplan/training_config.hpp"
#include "test_support.hpp"

using namespace bwplan;
using test::at;

namespace {

TrainingConfig tuned(Finetune how, LoraTargets targets = LoraTargets::all, std::int64_t rank = 16) {
  TrainingConfig c;
  c.gpus = 1;
  c.sharding = Sharding::none;
  c.finetune = how;
  c.lora_targets = targets;
  c.lora_rank = rank;
  return c;
}

} // namespace

TEST_CASE("LoRA's trainable parameters are PEFT's and torchtune's counts", "[finetune]") {
  // Llama-3.1-8B, rank 16 on all seven: per block 16 x ((4096 + 4096) x 2 + (1024 + 4096) x 2 +
  // (14336 + 4096) x 3) = 1,310,720; x 32 = 41,943,040 (the PEFT figure).
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  CHECK(trainable_parameters(m8, Finetune::lora, LoraTargets::all, 16) == 41'943'040);
  CHECK(trainable_parameters(m8, Finetune::qlora, LoraTargets::all, 16) == 41'943'040);
  // attention only: 16 x (8192 x 2 + 5120 x 2) x 32 = 13,631,488
  CHECK(trainable_parameters(m8, Finetune::lora, LoraTargets::attention, 16) == 13'631'488);
  CHECK(trainable_parameters(m8, Finetune::full, LoraTargets::all, 16) ==
        count_parameters(m8).total);
  // torchtune's LoRA tutorial prints "4194304 trainable params" for Llama-2-7B, rank 8 on q and v
  // (pytorch/torchtune@ff594c231:docs/source/tutorials/lora_finetune.rst): 8 x 8192 x 2 x 32.
  CHECK(trainable_parameters(test::preset("llama-2-7b"), Finetune::lora, LoraTargets::qv, 8) ==
        4'194'304);
}

TEST_CASE("a fine-tuning run holds its base frozen: no gradients or optimizer states",
          "[finetune]") {
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  // LoRA under bf16 mixed precision: the 8,030,261,248 base parameters in bf16; the adapters with
  // an fp32 master, fp32 gradients and two fp32 AdamW states.
  const ModelStates lora = estimate_model_states(m8, tuned(Finetune::lora));
  CHECK(lora.sharded_params == 41'943'040);
  CHECK(lora.frozen_bytes == 2.0 * 8'030'261'248.0);
  CHECK(lora.parameters_bytes == 2.0 * 8'030'261'248.0 + 4.0 * 41'943'040);
  CHECK(lora.gradients_bytes == 4.0 * 41'943'040);
  CHECK(lora.optimizer_bytes == 8.0 * 41'943'040);
  // QLoRA: the block linears (32 x 218,103,808 = 6,979,321,856) in NF4, 4 bits + an 8-bit scale
  // per 64 + an fp32 scale per 256 scales (4.127 bits), the rest (embeddings, head and norms,
  // 1,050,939,392) in bf16.
  const ModelStates q = estimate_model_states(m8, tuned(Finetune::qlora));
  const double nf4 = (4.0 + 8.0 / 64 + 32.0 / (64 * 256)) / 8;
  CHECK(q.frozen_bytes == Approx(6'979'321'856.0 * nf4 + 2.0 * 1'050'939'392.0).epsilon(1e-12));
  CHECK(k_nf4_bytes_per_element == Approx(4.127 / 8.0).epsilon(1e-3));
  // Peaks, same configuration otherwise: full > LoRA > QLoRA.
  const GpuSpec& a100 = test::catalog().gpu("a100-sxm-80gb");
  TrainingConfig full = tuned(Finetune::full);
  full.seq_len = 2048;
  TrainingConfig l = tuned(Finetune::lora);
  l.seq_len = 2048;
  TrainingConfig ql = tuned(Finetune::qlora);
  ql.seq_len = 2048;
  const double f_peak = estimate_memory(m8, full, a100).peak_allocated_bytes;
  const double l_peak = estimate_memory(m8, l, a100).peak_allocated_bytes;
  const double q_peak = estimate_memory(m8, ql, a100).peak_allocated_bytes;
  CHECK(f_peak > l_peak);
  CHECK(l_peak > q_peak);
}

TEST_CASE("a frozen base computes input gradients only", "[finetune]") {
  // 4 FLOPs per frozen matmul parameter and token (forward and input gradient), 6 per adapter:
  // Llama-3.1-8B's 7,504,924,672 non-embedding parameters and 41,943,040 adapter parameters.
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  TrainingConfig full = tuned(Finetune::full);
  const FlopCounts f = flops_per_token(m8, full);
  const FlopCounts l = flops_per_token(m8, tuned(Finetune::lora));
  CHECK(f.model_flops_per_token - f.attention_flops_per_token == 6.0 * 7'504'924'672.0);
  CHECK(l.model_flops_per_token - l.attention_flops_per_token ==
        4.0 * 7'504'924'672.0 + 6.0 * 41'943'040.0);
}

TEST_CASE("LoRA dropout saves each adapter's dropped input and its mask", "[finetune]") {
  // Llama-3.1-8B, all seven targets: wq, wk, wv and w1, w3 read the 4096-wide hidden state, wo
  // attention's 32 x 128 output, w2 the 14336-wide MLP product: 38,912 elements per token, each
  // a bf16 copy and a one-byte mask (PEFT: one nn.Dropout per adapter) = 116,736 bytes. The
  // copies replace the bf16 originals nothing else keeps (the frozen linears save no input): the
  // two normed hidden states and the product, (4096 + 4096 + 14336) x 2 = 45,056 bytes, which
  // the block's count without checkpointing holds and op-level SAC's does not.
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  CHECK(lora_input_width_per_block(m8, LoraTargets::all) == 38'912);
  CHECK(lora_input_width_per_block(m8, LoraTargets::qv) == 8'192);
  CHECK(lora_input_width_per_block(m8, LoraTargets::mlp) == 4'096 * 2 + 14'336);
  const LoraInputsRead all = lora_inputs_read(m8, LoraTargets::all);
  CHECK((all.attention_hidden && all.mlp_hidden && all.ffn));
  const LoraInputsRead qv = lora_inputs_read(m8, LoraTargets::qv);
  CHECK((qv.attention_hidden && !qv.mlp_hidden && !qv.ffn));
  const LoraInputsRead mlp = lora_inputs_read(m8, LoraTargets::mlp);
  CHECK((!mlp.attention_hidden && mlp.mlp_hidden && mlp.ffn));
  TrainingConfig c = tuned(Finetune::lora);
  c.precision = Precision::bf16_pure; // torchtune: adapters in the base's dtype, no autocast
  c.lora_dtype = LoraDtype::base;
  TrainingConfig wet = c;
  wet.lora_dropout = 0.1;
  const auto none = ActivationCheckpointing::none;
  const auto sac = ActivationCheckpointing::selective_op;
  CHECK(block_activations(m8, wet, none).saved_per_token -
            block_activations(m8, c, none).saved_per_token ==
        Approx(116'736 - 45'056).epsilon(1e-12));
  CHECK(block_activations(m8, wet, sac).saved_per_token -
            block_activations(m8, c, sac).saved_per_token ==
        Approx(116'736).epsilon(1e-12));
  // The plan carries it, and the CLI reads it as a probability.
  auto r = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--finetune", "lora",
                          "--lora-dropout", "0.05", "--format", "json"});
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["config"]["lora_dropout"] == 0.05);
  r = test::run_cli(
      {"estimate", "--model", "llama-3.1-8b", "--finetune", "lora", "--lora-dropout", "1.5"});
  CHECK(r.status == 1); // out of range: bad input (docs/bwplan.md, EXIT STATUS)
  CHECK_THAT(r.err, Catch::Contains("--lora-dropout"));
}

TEST_CASE("PEFT's fp32 adapters run on a copy of each adapted linear's input, fp32 without a "
          "mixed-precision policy and bf16 under autocast",
          "[finetune]") {
  // PEFT holds the adapters in fp32 (lora_dtype fp32) and casts a LoRA linear's input to fp32.
  // Llama-3.1-8B, all seven targets: 38,912 input elements per token and block. Under autocast
  // (bf16 without FSDP) lora_A casts that copy back to bf16 and saves it: 77,824 bytes beyond
  // adapters in the base's dtype (lora_dtype base: torchtune, NeMo Automodel), which read the
  // block's own saved input. Under bf16-pure A runs in fp32: the fp32 copy (155,648 bytes) and
  // its fp32 rank-wide output (7 adapters x rank 16 x 2 more bytes = 224). Without checkpointing
  // the copies replace the bf16 originals no other op keeps, 45,056 bytes (test above): 32,768
  // and 110,816 net; op-level SAC never counted those originals.
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  const auto none = ActivationCheckpointing::none;
  const auto sac = ActivationCheckpointing::selective_op;
  const auto extra = [&](const TrainingConfig& c, ActivationCheckpointing mode) {
    TrainingConfig base = c;
    base.lora_dtype = LoraDtype::base;
    return block_activations(m8, c, mode).saved_per_token -
           block_activations(m8, base, mode).saved_per_token;
  };
  const TrainingConfig autocast = tuned(Finetune::lora);
  REQUIRE(autocast.precision == Precision::bf16);
  REQUIRE(autocast.lora_dtype == LoraDtype::fp32); // PEFT's, the default
  CHECK(extra(autocast, none) == Approx(77'824 - 45'056).epsilon(1e-12));
  CHECK(extra(autocast, sac) == Approx(77'824).epsilon(1e-12));
  // Input-side dropout's dropped copy is that copy: only its one-byte mask is added.
  TrainingConfig wet = autocast;
  wet.lora_dropout = 0.1;
  CHECK(block_activations(m8, wet, none).saved_per_token -
            block_activations(m8, autocast, none).saved_per_token ==
        Approx(38'912).epsilon(1e-12));
  // q and v only: 2 x 4096 elements, 16,384 bytes, replacing attention's normed input (8,192).
  TrainingConfig qv = autocast;
  qv.lora_targets = LoraTargets::qv;
  CHECK(extra(qv, none) == Approx(16'384 - 8'192).epsilon(1e-12));
  CHECK(extra(qv, sac) == Approx(16'384).epsilon(1e-12));
  // bf16-pure: the copy and A's output in fp32; with dropout an fp32 dropped copy (4 + 1 bytes
  // per element where bf16 adapters save 2 + 1, both replacing the originals).
  TrainingConfig pure = autocast;
  pure.precision = Precision::bf16_pure;
  CHECK(extra(pure, none) == Approx(155'648 + 224 - 45'056).epsilon(1e-12));
  CHECK(extra(pure, sac) == Approx(155'648 + 224).epsilon(1e-12));
  pure.lora_dropout = 0.1;
  CHECK(extra(pure, none) == Approx(77'824 + 224).epsilon(1e-12));
  // torch.compile saves the bf16 input and recomputes the casts: only A's fp32 output remains.
  TrainingConfig compiled = autocast;
  compiled.precision = Precision::bf16_pure;
  compiled.compile = true;
  CHECK(extra(compiled, none) == Approx(224).epsilon(1e-12));
  // Not where nothing is cast: FSDP's mixed-precision policy gathers the adapters in bf16;
  // bitsandbytes' 4-bit layer (QLoRA) skips the cast under autocast; Megatron's adapters are
  // its own modules; NeMo Automodel's LinearLoRA (output-side dropout) casts no input.
  TrainingConfig fsdp = tuned(Finetune::lora);
  fsdp.gpus = 8;
  fsdp.sharding = Sharding::full;
  CHECK(extra(fsdp, none) == 0);
  CHECK(extra(tuned(Finetune::qlora), none) == 0);
  TrainingConfig megatron = tuned(Finetune::lora);
  megatron.trainer = Trainer::megatron;
  CHECK(extra(megatron, none) == 0);
  TrainingConfig post = tuned(Finetune::lora);
  post.lora_dropout = 0.1;
  post.lora_dropout_position = LoraDropoutPosition::output;
  CHECK(extra(post, none) == 0);
  // QLoRA without autocast casts (requires_conversion): bf16-pure QLoRA runs its adapters in
  // fp32 as LoRA does.
  TrainingConfig qlora_pure = tuned(Finetune::qlora);
  qlora_pure.precision = Precision::bf16_pure;
  CHECK(extra(qlora_pure, none) == Approx(155'648 + 224 - 45'056).epsilon(1e-12));
  // States: under bf16-pure the adapters' parameters, gradients and AdamW states are fp32
  // (4 + 4 + 8 bytes per adapter parameter) instead of bf16 (2 + 2 + 4); under bf16 mixed they
  // are fp32 either way.
  TrainingConfig states = tuned(Finetune::lora);
  states.precision = Precision::bf16_pure;
  TrainingConfig states_base = states;
  states_base.lora_dtype = LoraDtype::base;
  const ModelStates fp32 = estimate_model_states(m8, states);
  const ModelStates base = estimate_model_states(m8, states_base);
  const auto adapters = static_cast<double>(fp32.sharded_params);
  CHECK(adapters == 41'943'040); // PEFT's count for rank 16 on all seven, 32 blocks
  CHECK(fp32.total_bytes() - base.total_bytes() == Approx(8.0 * adapters).epsilon(1e-12));
  const TrainingConfig mixed = tuned(Finetune::lora);
  TrainingConfig mixed_base = mixed;
  mixed_base.lora_dtype = LoraDtype::base;
  CHECK(estimate_model_states(m8, mixed).total_bytes() ==
        estimate_model_states(m8, mixed_base).total_bytes());
}

TEST_CASE("QLoRA's load holds the NF4 quantizer's working memory for the largest base linear",
          "[finetune]") {
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  const GpuSpec& b200 = test::catalog().gpu("b200");
  // Llama-3.1-8B's largest block linear: w1, w2 and w3, 14336 x 4096 = 58,720,256 elements.
  constexpr double n = 14336.0 * 4096.0;
  // torchao 0.1: bf16 input + scaled copy (4 bytes) + (value - nf4) and its abs (2 x 32).
  const Nf4QuantizeBytes old = nf4_quantize_bytes(Nf4Quantizer::unchunked, n);
  CHECK(old.peak == 68.0 * n); // 3,992,977,408
  CHECK(old.largest == 32.0 * n);
  // torchao 0.2+: 4 bytes + the uint8 indices (1) + one 2^20-element chunk compared (64 bytes
  // each): 234,881,024 + 58,720,256 + 67,108,864 = 360,710,144.
  const Nf4QuantizeBytes now = nf4_quantize_bytes(Nf4Quantizer::chunked, n);
  CHECK(now.peak == 360'710'144.0);
  CHECK(now.largest == 2.0 * n);
  // A small tensor's chunk is the tensor: 4 + max(1 + 64, 2) = 69 bytes per element.
  CHECK(nf4_quantize_bytes(Nf4Quantizer::chunked, 4096.0).peak == 69.0 * 4096.0);

  for (const Sharding s : {Sharding::none, Sharding::full}) {
    TrainingConfig c = tuned(Finetune::qlora);
    c.sharding = s;
    c.gpus = s == Sharding::none ? 1 : 8;
    c.nf4_quantizer = Nf4Quantizer::unchunked;
    INFO(name_of(s));
    const MemoryEstimate e = estimate_memory(m8, c, b200);
    // Each rank quantizes the whole tensor, beside the states it has loaded so far (all of its
    // sharded parameters; no gradients or optimizer states yet).
    CHECK(at(e, StepPhase::load, MemoryComponent::low_precision) == 68.0 * n);
    CHECK(at(e, StepPhase::load, MemoryComponent::parameters) == e.states.parameters_bytes);
    CHECK(at(e, StepPhase::load, MemoryComponent::optimizer_states) == 0);
    CHECK(at(e, StepPhase::load, MemoryComponent::gradients) == 0);
  }
  // LoRA's bf16 base needs no quantizing, and the quantizer is QLoRA's setting only.
  CHECK(at(estimate_memory(m8, tuned(Finetune::lora), b200), StepPhase::load,
           MemoryComponent::low_precision) == 0);
  TrainingConfig lora = tuned(Finetune::lora);
  lora.nf4_quantizer = Nf4Quantizer::unchunked;
  CHECK_THROWS_WITH(validate_config(lora, m8),
                    "`nf4_quantizer` unchunked needs `finetune` qlora (only QLoRA quantizes its "
                    "base)");
}

TEST_CASE("a QLoRA run that runs out of memory loading its base is told to chunk the quantizer",
          "[finetune][advice]") {
  // 405B over 8 H100s: 26 GiB of NF4 states per GPU, and torchao 0.1 quantizing w1 (53248 x 16384
  // elements) at 68 bytes each, 55.25 GiB at once: the load is the peak and does not fit.
  const auto r = test::run_cli({"estimate", "--model", "llama-3.1-405b", "--instance",
                                "ml.p5.48xlarge", "--finetune", "qlora", "--nf4-quantizer",
                                "unchunked", "--seq-len", "1024", "--format", "json"});
  REQUIRE(r.status == 3);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("memory").at("peak_phase") == "load");
  CHECK(j.at("advice").at("breaking_component") == "low_precision");
  CHECK(j.at("advice").at("breaking_bytes").get<double>() == 68.0 * 53248 * 16384);
  bool chunked = false;
  for (const auto& s : j.at("advice").at("suggestions")) {
    if (s.at("change") == "--nf4-quantizer chunked") {
      chunked = true;
      CHECK(s.at("config").at("nf4_quantizer") == "chunked");
    }
  }
  CHECK(chunked);
}

TEST_CASE("a PEFT LoRA run without checkpointing that does not fit is told adapters in the base's "
          "dtype would",
          "[finetune][advice]") {
  // Llama-3.1-8B, LoRA on all seven at rank 16, bf16-pure, 2 x 4096 tokens on one H100: PEFT's
  // fp32 adapters save an fp32 copy of every adapted input in place of the bf16 originals,
  // 110,816 bytes per token and block net (test above) x 8192 tokens x 32 blocks = 27.06 GiB
  // more than torchtune's bf16 adapters.
  const std::vector<std::string> args = {
      "estimate",   "--model",       "llama-3.1-8b",
      "--gpu",      "h100-sxm-80gb", "--gpus",
      "1",          "--sharding",    "none",
      "--finetune", "lora",          "--precision",
      "bf16-pure",  "--micro-batch", "2",
      "--seq-len",  "4096",          "--activation-checkpointing",
      "none",       "--format",      "json"};
  const auto r = test::run_cli(args);
  REQUIRE(r.status == 3);
  const auto j = nlohmann::json::parse(r.out);
  bool base = false;
  for (const auto& s : j.at("advice").at("suggestions")) {
    if (s.at("change") == "--lora-dtype base") {
      base = true;
      CHECK(s.at("config").at("lora_dtype") == "base");
      CHECK(s.at("device_bytes_required_high").get<double>() <=
            j.at("memory").at("usable_bytes").get<double>());
    }
  }
  CHECK(base);
  std::vector<std::string> torchtune = args;
  torchtune.insert(torchtune.end() - 2, {"--lora-dtype", "base"});
  const auto t = test::run_cli(torchtune);
  REQUIRE(t.status == 0);
  const double fp32_activations =
      j.at("memory").at("components").at("activations_bytes").get<double>();
  const double base_activations = nlohmann::json::parse(t.out)
                                      .at("memory")
                                      .at("components")
                                      .at("activations_bytes")
                                      .get<double>();
  CHECK(fp32_activations - base_activations == Approx(110'816.0 * 8192 * 32).epsilon(1e-9));
}

TEST_CASE("fine-tuning settings that are not modelled are refused by name", "[finetune]") {
  const ModelSpec& m8 = test::preset("llama-3.1-8b");
  TrainingConfig c;
  c.lora_rank = 8;
  CHECK_THROWS_WITH(validate_config(c, m8),
                    "`lora_rank`, `lora_alpha`, `lora_targets`, `lora_dropout`, "
                    "`lora_dropout_position` and `lora_dtype` need `finetune` lora or qlora");
  c = TrainingConfig{};
  c.lora_dropout = 0.05;
  CHECK_THROWS_WITH(validate_config(c, m8), Catch::Contains("`lora_dropout`,"));
  c = TrainingConfig{};
  c.lora_dropout_position = LoraDropoutPosition::output;
  CHECK_THROWS_WITH(validate_config(c, m8), Catch::Contains("`lora_dropout_position` and"));
  c = TrainingConfig{};
  c.lora_dtype = LoraDtype::base;
  CHECK_THROWS_WITH(validate_config(c, m8), Catch::Contains("`lora_dtype` need"));
  for (const double p : {-0.1, 0.95, std::numeric_limits<double>::quiet_NaN()}) {
    c = tuned(Finetune::lora);
    c.lora_dropout = p;
    CHECK_THROWS_WITH(validate_config(c, m8), Catch::Contains("`lora_dropout`") &&
                                                  Catch::Contains("out of range (allowed 0..0.9)"));
  }
  c = tuned(Finetune::qlora);
  c.precision = Precision::fp8_rowwise;
  CHECK_THROWS_WITH(validate_config(c, m8),
                    Catch::StartsWith("`finetune` qlora needs `precision` bf16 or bf16-pure"));
  c = tuned(Finetune::lora);
  c.gpus = 8;
  c.sharding = Sharding::full;
  c.tp = 2;
  CHECK_THROWS_WITH(validate_config(c, m8),
                    Catch::StartsWith("`finetune` lora with `tp` 2 is not modelled"));
  CHECK_THROWS_WITH(validate_config(tuned(Finetune::lora), test::preset("qwen3-30b-a3b")),
                    "`finetune` lora of a mixture of experts is not modelled");
  // A model whose linears are all 1 wide has no matrix to adapt: LoRA would train nothing (it
  // was planned, with 0 trainable parameters, against the schema's minimum of 1).
  ModelSpec tiny = m8;
  tiny.name = "tiny";
  tiny.hidden = tiny.ffn = tiny.heads = tiny.kv_heads = tiny.head_dim = 1;
  CHECK(trainable_parameters(tiny, Finetune::lora, LoraTargets::all, 8) == 0);
  CHECK_THROWS_WITH(validate_config(tuned(Finetune::qlora), tiny),
                    "`finetune` qlora would train nothing: `lora_targets` all name no linear of "
                    "tiny with a matrix to adapt (a linear 1 wide takes no adapter)");
  tiny.hidden = 2; // wq, wk, wv, w1 and w3 read 2 columns: each takes an adapter
  CHECK(trainable_parameters(tiny, Finetune::lora, LoraTargets::all, 8) > 0);
  CHECK_NOTHROW(validate_config(tuned(Finetune::lora), tiny));
  // A dense model with latent attention has no wq, wk or wv for its adapters to be counted on.
  ModelSpec latent = m8;
  latent.name = "latent";
  latent.kv_lora_rank = 512;
  latent.q_lora_rank = 1536;
  CHECK_THROWS_WITH(validate_config(tuned(Finetune::lora), latent),
                    "`finetune` lora of latent attention is not modelled");
}

TEST_CASE("search plans QLoRA of a 70B model on one B200 node", "[finetune][search]") {
  // The target: search --model llama-3.1-70b --finetune qlora --instance ml.p6-b200.
  const auto r =
      test::run_cli({"search", "--model", "llama-3.1-70b", "--finetune", "qlora", "--instance",
                     "ml.p6-b200.48xlarge", "--nodes", "1", "--format", "json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(!j["plans"].empty());
  for (const auto& p : j["plans"]) {
    CHECK(p["config"]["finetune"] == "qlora");
  }
  // Side by side: the search ranks plans of the three modes together.
  const auto all = test::run_cli({"search", "--model", "llama-3.1-70b", "--finetune",
                                  "full,lora,qlora", "--instance", "ml.p6-b200.48xlarge", "--nodes",
                                  "1", "--format", "json", "--top", "200"});
  REQUIRE(all.status == 0);
  std::set<std::string> modes;
  const auto plans = nlohmann::json::parse(all.out).at("plans");
  for (const auto& p : plans) {
    modes.insert(p["config"]["finetune"].get<std::string>());
  }
  CHECK(modes == std::set<std::string>{"full", "lora", "qlora"});
  // Each mode's best, in the order asked, by the ranking (tokens/s): QLoRA (no sharding, NF4 base)
  // beats LoRA (bf16 base), which beats full training, on this node.
  const auto bests = nlohmann::json::parse(all.out).at("best_per_finetune");
  REQUIRE(bests.size() == 3);
  CHECK(bests[0]["config"]["finetune"] == "full");
  CHECK(bests[1]["config"]["finetune"] == "lora");
  CHECK(bests[2]["config"]["finetune"] == "qlora");
  const auto tps = [&](int i) {
    return bests[i]["throughput"]["tokens_per_second_per_gpu"].get<double>();
  };
  CHECK(tps(0) < tps(1));
  CHECK(tps(1) < tps(2));
  CHECK(bests[2]["id"] == plans[0]["id"]); // the best mode's best is the top plan
  // The table and the report show them side by side.
  const auto text =
      test::run_cli({"search", "--model", "llama-3.1-70b", "--finetune", "full,lora,qlora",
                     "--instance", "ml.p6-b200.48xlarge", "--nodes", "1"});
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("best per fine-tuning mode:\n  full: ") &&
                           Catch::Contains("\n  lora: ") && Catch::Contains("\n  qlora: "));
  const auto one =
      test::run_cli({"search", "--model", "llama-3.1-70b", "--finetune", "lora", "--instance",
                     "ml.p6-b200.48xlarge", "--nodes", "1", "--format", "json"});
  CHECK_FALSE(nlohmann::json::parse(one.out).contains("best_per_finetune")); // one mode: no list
}

TEST_CASE("a plan from before the expert-parallel and fine-tuning fields is still checked",
          "[finetune][plan]") {
  // Plans written before ep, finetune and lora_* existed lack them; their defaults are what that
  // bwplan computed, so the plan reads back the same configuration and checks the same.
  auto e = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--instance",
                          "ml.p6-b200.48xlarge", "--format", "json"});
  REQUIRE(e.status == 0);
  auto doc = nlohmann::json::parse(e.out);
  for (const char* key : {"ep", "finetune", "lora_rank", "lora_alpha", "lora_targets"}) {
    REQUIRE(doc["config"].erase(key) == 1);
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / "bwplan-old-plan.json").string();
  std::ofstream(path) << doc.dump();
  const auto r = test::run_cli({"check", "--plan", path, "--format", "json"});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["estimate"]["config"]["ep"] == 1);
  // A required field is still required.
  doc["config"].erase("seq_len");
  std::ofstream(path) << doc.dump();
  const auto bad = test::run_cli({"check", "--plan", path});
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Catch::Contains("/config/seq_len: missing required key"));
  std::filesystem::remove(path);
}

TEST_CASE("LoRA dropout on the adapters' outputs saves a mask of each output, on their inputs a "
          "dropped copy and a mask of each input",
          "[finetune]") {
  // Llama 3.1 8B, bf16 (2-byte activations), adapters on all seven block linears. Per token and
  // block: inputs hidden x 5 (wq, wk, wv, w1, w3) + attention's output (wo, 4096) + ffn (w2):
  // 4096 x 6 + 14336 = 38912 elements, each a bf16 copy and a 1-byte mask (PEFT, torchtune);
  // outputs q 4096 + k 1024 + v 1024 + wo 4096 + w1, w3 2 x 14336 + w2 4096 = 43008 one-byte mask
  // elements (NeMo Automodel's dropout_position 'post').
  const ModelSpec& m = test::preset("llama-3.1-8b");
  TrainingConfig c = tuned(Finetune::lora);
  c.lora_targets = LoraTargets::all;
  c.precision = Precision::bf16_pure;
  c.lora_dtype = LoraDtype::base; // torchtune's bf16 adapters
  CHECK(lora_input_width_per_block(m, c.lora_targets) == 38912);
  CHECK(lora_output_width_per_block(m, c.lora_targets) == 43008);
  const double none = block_activations(m, c, ActivationCheckpointing::none).saved_per_token;
  c.lora_dropout = 0.1;
  const double input = block_activations(m, c, ActivationCheckpointing::none).saved_per_token;
  c.lora_dropout_position = LoraDropoutPosition::output;
  const double output = block_activations(m, c, ActivationCheckpointing::none).saved_per_token;
  CHECK(input - none == 38912.0 * 3.0 - 45056.0); // the copies replace the bf16 originals
  CHECK(output - none == 43008.0);
  // q and v only: inputs 2 x 4096; outputs 4096 + 1024
  CHECK(lora_output_width_per_block(m, LoraTargets::qv) == 5120);
  // the dropout probability itself sets no size: 0 saves nothing either way
  c.lora_dropout = 0;
  CHECK(block_activations(m, c, ActivationCheckpointing::none).saved_per_token == none);
}
