// Mixtures of experts under FSDP and expert parallelism: model states, the FSDP working set,
// activations, FLOPs and the all-to-all, against hand-computed values for Qwen3-30B-A3B
// (docs/model.md and docs/time-model.md, "Mixtures of experts").
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bwplan/memory_model.hpp"
#include "bwplan/search.hpp"
#include "bwplan/time_model.hpp"
#include "bwplan/training_config.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

// Qwen3-30B-A3B: 48 blocks of hidden 2048, 32 query heads and 4 KV heads of 128, QK-norm, 128
// experts of width 768 (8 per token), vocabulary 151,936, untied.
const ModelSpec& a3b() {
  return test::preset("qwen3-30b-a3b");
}

TrainingConfig on_one_node(std::int64_t ep) {
  TrainingConfig c = test::fsdp_config(8, ActivationCheckpointing::none);
  c.ep = ep;
  return c;
}

} // namespace

TEST_CASE("expert parallelism shards the experts over ep x the shard group / ep", "[moe]") {
  // Every tensor's rows divide by 8 (experts 128 x 768 and 128 x 2048 rows, vocabulary 151,936),
  // so each GPU holds exactly 1/8 of the 30,532,122,624 parameters, with or without ep: the
  // experts over ep x (8 / ep) ranks, the rest over 8.
  for (const std::int64_t ep : {1, 2, 8}) {
    const ModelStates s = estimate_model_states(a3b(), on_one_node(ep));
    INFO("ep " << ep);
    CHECK(s.sharded_params == 30'532'122'624LL / 8);
    CHECK(s.parameters_bytes == 4.0 * 3'816'515'328.0);
    CHECK(s.optimizer_bytes == 8.0 * 3'816'515'328.0);
  }
  // One block: 623,120,640 parameters, of which the experts 3 x 128 x 768 x 2048 = 603,979,776.
  // Under ep 8 a rank gathers only its 16 experts: 623,120,640 - 7/8 x 603,979,776 = 94,638,336,
  // which FSDP's reduce-scatter input holds in fp32.
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const MemoryConstants k;
  const ModelFacts f = model_facts(a3b());
  CHECK(memory_terms(a3b(), f, on_one_node(1), b200, k).rs_input == 4.0 * 623'120'640.0);
  CHECK(memory_terms(a3b(), f, on_one_node(8), b200, k).rs_input == 4.0 * 94'638'336.0);
}

TEST_CASE("a mixture's block saves its router, routed copies and combine per token", "[moe]") {
  // bf16, eager, FSDP (bf16 residual), per token of one block:
  //  attention: norm input + wq/wk/wv input 2 x 4096, q/k norm inputs (4096 + 512) x 2,
  //    SDPA q + k, v at their 4 heads (4096 + 2 x 512) x 2 + logsumexp 32 x 4, SDPA output
  //    8192: 35,968 (repeat_kv's copies at the 32 query heads, (3 x 4096) x 2, 14,336 more);
  //  MLP: norm input + router/expert input 8,192; router softmax 128 x 4 + top-k scores and
  //    indices 8 x (4 + 24) = 736; 8 routed copies x (2048 x 2 + 768 x 4 x 2) = 81,920; the
  //    combine's fp32 copies 8 x 2048 x 4 = 65,536: 156,384. All: 192,352.
  //  op-level SAC keeps the attention's block input 4096, q 8192, v 1024, SDPA output 8192 and
  //    logsumexp 128 = 21,632 (no grouped-GEMM output is on torchtitan's save list).
  //  backward working set: 3 x 8 x 768 + 2 x 2048 + 8 x 2048 wide gradients in bf16 (77,824)
  //    and the combine's fp32 gradient 65,536: 143,360.
  TrainingConfig c = on_one_node(1);
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::none).full_per_token == 192'352.0);
  c.gqa_kv = GqaKv::repeat;
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::none).full_per_token ==
        192'352.0 + 14'336.0);
  c.gqa_kv = GqaKv::native;
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::selective_op).saved_per_token ==
        21'632.0);
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::none).grad_work_per_token ==
        143'360.0);
  CHECK(block_activations(a3b(), c, ActivationCheckpointing::full).saved_per_token == 4096.0);
}

TEST_CASE("a mixture's FLOPs count the experts a token runs", "[moe]") {
  // Non-embedding 30,532,122,624 - 311,164,928 = 30,220,957,696, less the 120 of 128 experts a
  // token skips, 48 x 603,979,776 x 120 / 128 = 27,179,089,920: 3,041,867,776 (= the 3.35B active
  // less the input embedding). Attention 12 x 48 x 4096 x 8192 = 19,327,352,832.
  const FlopCounts f = flops_per_token(a3b(), on_one_node(1));
  CHECK(f.model_flops_per_token == 6.0 * 3'041'867'776.0 + 19'327'352'832.0);
  CHECK(f.model_flops_per_token == 37'578'559'488.0);
}

TEST_CASE("expert parallelism's all-to-all is exposed and counted by hand", "[moe]") {
  // ep 8 on one node, no checkpointing, one sequence of 8192: 48 blocks x (dispatch + combine)
  // x (forward + backward) = 192 calls, each sending 7/8 of 8192 x 8 x 2048 bf16 copies over
  // NVLink at 900 GB/s x 0.8, plus NCCL's base and one NVLink hop per call.
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const TimeConstants k;
  const Network net = make_network(b200, 8, 3.2e12);
  const double copies = 8192.0 * 8 * 2048 * 2;
  const double want = 192.0 * copies * 7.0 / 8.0 / (9.0e11 * k.intra_node_bus_fraction) +
                      192.0 * (k.nccl_base_latency_s + k.nccl_nvlink_hop_latency_s);
  const StepTime t8 = estimate_step_time(a3b(), on_one_node(8), b200, net, k);
  CHECK(t8.expert_parallel_s == Approx(want).epsilon(1e-12));
  CHECK(estimate_step_time(a3b(), on_one_node(1), b200, net, k).expert_parallel_s == 0.0);
}

TEST_CASE("GB200's NVLink domain keeps expert parallelism over 32 GPUs on NVLink", "[moe]") {
  // ep 16 over 32 GPUs, the same sequence: on B200 nodes of 8 half of each all-to-all's 15/16
  // leaves the node (the 8 of 16 peers on other nodes) at one NIC rail per GPU, 3.2 Tbit/s / 8
  // = 50 GB/s x 0.7; in a GB200 NVL72 rack all 16 peers are NVLink peers at 900 GB/s x 0.8
  // (configs/gpus/gb200.json nvlink_domain_gpus 72), one NVLink hop per call.
  const GpuSpec& gb200 = test::catalog().gpu("gb200");
  const GpuSpec& b200 = test::catalog().gpu("b200");
  REQUIRE(gb200.nvlink_domain_gpus == 72);
  REQUIRE(b200.nvlink_domain_gpus == 0);
  const TimeConstants k;
  TrainingConfig c = on_one_node(16);
  c.gpus = 32;
  c.shard_group = 32;
  const double copies = 8192.0 * 8 * 2048 * 2;
  const Network rack = make_network(gb200, 8, 3.2e12);
  CHECK(rack.gpus_per_node == 8); // the host's: its network rails and its memory
  CHECK(rack.nvlink_gpus() == 72);
  const double nvlink = 192.0 * copies * 15.0 / 16.0 / (9.0e11 * k.intra_node_bus_fraction) +
                        192.0 * (k.nccl_base_latency_s + k.nccl_nvlink_hop_latency_s);
  CHECK(estimate_step_time(a3b(), c, gb200, rack, k).expert_parallel_s ==
        Approx(nvlink).epsilon(1e-12));
  const double network =
      192.0 * copies * 8.0 / 16.0 / (3.2e12 / 8 / 8 * k.inter_node_bus_fraction) +
      192.0 * (k.nccl_base_latency_s + k.nccl_network_hop_latency_s);
  CHECK(estimate_step_time(a3b(), c, b200, make_network(b200, 8, 3.2e12), k).expert_parallel_s ==
        Approx(network).epsilon(1e-12));
}

TEST_CASE("expert parallelism never raises the peak and the band widens under it", "[moe]") {
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const MemoryConstants k;
  double previous = 1e300;
  for (const std::int64_t ep : {1, 2, 4, 8}) {
    TrainingConfig c = on_one_node(ep);
    c.activation_checkpointing = ActivationCheckpointing::full;
    c.micro_batch = 4;
    const MemoryEstimate e = estimate_memory(a3b(), c, b200, k);
    INFO("ep " << ep);
    CHECK(e.device_bytes_required <= previous);
    previous = e.device_bytes_required;
    // No measured peak under expert parallelism; LambdaLabs' ep 1 runs hold without it.
    CHECK(((e.band_widened & bit(Widening::mixture)) != 0) == (ep > 1));
  }
  CHECK((estimate_memory(test::preset("llama-3.1-8b"), on_one_node(8), b200, k).band_widened &
         bit(Widening::mixture)) == 0);
}

TEST_CASE("a checkpointed mixture's band holds what its measured runs kept beyond the estimate",
          "[moe]") {
  // docs/model.md, "Mixtures of experts". Per token and block, bf16 (2 bytes), A3B:
  // compiled full checkpointing under expert parallelism -> op-level SAC's set less the block
  // input: block input 2048, wq 4096, wv 512 and SDPA's output 4096 at 2 bytes, its fp32
  // logsumexp 4 x 32 heads = 21,632, plus the all-to-alls' outputs kept under ep, 2 x 8 copies
  // x 2048 x 2 = 65,536, less 2048 x 2 = 83,072; at ep 1 nothing (the compiled, fully
  // checkpointed mixtures measured there need none); eager op-level SAC -> one routed copy's
  // SwiGLU intermediate, 8 experts x 768 x 2 = 12,288 at either ep; anything else (and any dense
  // model) 0.
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const MemoryConstants k;
  struct Want {
    ActivationCheckpointing ac;
    bool compile;
    std::int64_t ep;
    double bytes;
  };
  for (const Want w : {Want{ActivationCheckpointing::full, true, 8, 83072.0},
                       Want{ActivationCheckpointing::full, true, 1, 0.0},
                       Want{ActivationCheckpointing::selective_op, false, 1, 12288.0},
                       Want{ActivationCheckpointing::selective_op, false, 8, 12288.0},
                       Want{ActivationCheckpointing::full, false, 8, 0.0},
                       Want{ActivationCheckpointing::selective_op, true, 8, 0.0},
                       Want{ActivationCheckpointing::none, false, 1, 0.0}}) {
    TrainingConfig c = on_one_node(w.ep);
    c.activation_checkpointing = w.ac;
    c.compile = w.compile;
    c.micro_batch = 1; // at 2, ep 8's eager SAC edge reaches the reserved cap of docs/model.md §7
    c.loss = Loss::chunked_head; // no unfused-loss term in the band
    INFO(name_of(w.ac) << " compile " << w.compile << " ep " << w.ep);
    const MemoryBand b = memory_band(a3b(), c, b200, k);
    CHECK(b.high_bytes_per_token_block == w.bytes);
    CHECK(((b.widened & bit(Widening::mixture_checkpointing)) != 0) == (w.bytes > 0));
    // The upper edge adds those bytes for every token of the micro-batch in each of 48 blocks,
    // to the phases that hold saved activations: beyond the relative edge of the peak, by what
    // the largest of those phases then exceeds it.
    const MemoryEstimate e = estimate_memory(a3b(), c, b200, k);
    const double scale = 1.0 + b.high_fraction;
    const double held = static_cast<double>(c.micro_batch * c.seq_len) * 48.0 * w.bytes;
    double saving = 0; // the largest total of a phase holding activations
    for (const ComponentBytes& phase : e.phases) {
      if (phase[static_cast<std::size_t>(MemoryComponent::activations)] > 0) {
        saving = std::max(saving, phase_total(phase));
      }
    }
    const double beyond = std::max(0.0, saving * scale + held - e.peak_allocated_bytes * scale);
    CHECK(e.peak_reserved_high_bytes ==
          Approx(e.peak_reserved_bytes * scale + beyond).epsilon(1e-12));
    TrainingConfig dense = c;
    dense.ep = 1;
    CHECK(memory_band(test::preset("llama-3.1-8b"), dense, b200, k).high_bytes_per_token_block ==
          0.0);
  }
  // Those bytes are saved activations: a step whose peak is after the backward (where none is
  // held) gains none of them. Llama 4 Scout over 16 B200 with ep 8, compiled, chunked-head loss,
  // 1 x 8192 tokens, fixed segments: both checkpointing modes peak at backward_end with the same
  // 113.86 GiB (the optimizer's states and gradients), so full checkpointing's edge is not above
  // op-level SAC's (it was 182.06 GiB against 166.75, and called at_risk, while full checkpointing
  // held less in every phase), nor said to be widened by them. (The reserved edge holds each
  // phase's slack, so op-level SAC's larger forward end can put its edge above full's.)
  const auto edge = [](const char* ac) {
    const auto r = test::run_cli({"estimate", "--model", "llama-4-scout", "--nodes", "2", "--ep",
                                  "8", "--loss", "chunked-head", "--compile", "--alloc-segments",
                                  "fixed", "--activation-checkpointing", ac, "--format", "json"});
    REQUIRE(r.status == 0);
    const auto memory = nlohmann::json::parse(r.out).at("memory");
    CHECK(memory.at("peak_phase") == "backward_end");
    CHECK(memory.at("verdict") == "fits");
    for (const auto& why : memory.at("band_widened_for")) { // nor said to widen it
      CHECK(why != "mixture_checkpointing_held_more");
    }
    return memory.at("device_bytes_required_high").get<double>();
  };
  CHECK(edge("full") <= edge("selective-op"));
}

TEST_CASE("expert-parallel degrees that cannot split the experts are refused by name", "[moe]") {
  TrainingConfig c = on_one_node(2);
  CHECK_THROWS_WITH(validate_config(c, test::preset("llama-3.1-8b")),
                    "`ep` 2 needs a mixture of experts; llama-3.1-8b has none");
  c.ep = 3;
  CHECK_THROWS_WITH(validate_config(c, a3b()),
                    Catch::StartsWith("`ep` 3 must divide the model's 128 experts"));
  c.ep = 16;
  CHECK_THROWS_WITH(validate_config(c, a3b()),
                    Catch::StartsWith("`ep` 16 must divide the shard group of 8 GPUs"));
  c.ep = 2;
  c.tp = 2;
  CHECK_THROWS_WITH(validate_config(c, a3b()),
                    Catch::StartsWith("`tp` 2 with a mixture of experts is not modelled"));
  const auto bad = test::run_cli({"estimate", "--model", "qwen3-30b-a3b", "--ep", "5"});
  CHECK(bad.status == 1); // an invalid configuration (docs/bwplan.md, EXIT STATUS)
  CHECK_THAT(bad.err, Catch::Contains("--ep 5 must divide the model's 128 experts"));
}

TEST_CASE("search plans a mixture on one B200 node with expert parallelism", "[moe][search]") {
  // The target: search --model qwen3-30b-a3b --instance ml.p6-b200.48xlarge.
  const auto r = test::run_cli({"search", "--model", "qwen3-30b-a3b", "--instance",
                                "ml.p6-b200.48xlarge", "--format", "json", "--top", "20"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(!j["plans"].empty());
  int with_ep = 0;
  for (const auto& p : j["plans"]) {
    with_ep += p["config"]["ep"].get<int>() > 1 ? 1 : 0;
  }
  CHECK(with_ep > 0);
}

TEST_CASE("op-level SAC under expert parallelism keeps the all-to-alls' outputs", "[moe]") {
  // torchtitan saves _c10d_functional.all_to_all_single's outputs under op-level SAC
  // (torchtitan/distributed/activation_checkpoint.py comm_ops): per token and sparse block the
  // k = 8 copies the dispatch receives and the 8 the combine returns, hidden 2048 in bf16:
  // 2 x 8 x 2048 x 2 = 65,536 bytes more than at ep 1; nothing changes for full checkpointing.
  TrainingConfig one = on_one_node(1);
  TrainingConfig eight = on_one_node(8);
  for (TrainingConfig* c : {&one, &eight}) {
    c->activation_checkpointing = ActivationCheckpointing::selective_op;
  }
  const auto saved = [](const TrainingConfig& c, ActivationCheckpointing mode) {
    return block_activations(a3b(), c, mode).saved_per_token;
  };
  CHECK(saved(eight, ActivationCheckpointing::selective_op) -
            saved(one, ActivationCheckpointing::selective_op) ==
        65536.0);
  CHECK(saved(eight, ActivationCheckpointing::full) == saved(one, ActivationCheckpointing::full));
  // So its recompute does not communicate again: 4 all-to-alls per sparse block (dispatch and
  // combine, forward and backward), as with no checkpointing.
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const Network net = make_network(b200, 8, 3.2e12);
  const TimeConstants k;
  const double per_call = k.nccl_base_latency_s + k.nccl_nvlink_hop_latency_s;
  CHECK(estimate_step_time(a3b(), eight, b200, net, k).expert_parallel_s ==
        Approx(estimate_step_time(a3b(), on_one_node(8), b200, net, k).expert_parallel_s)
            .epsilon(1e-12));
  CHECK(estimate_step_time(a3b(), eight, b200, net, k).expert_parallel_s > 192.0 * per_call);
}

TEST_CASE("expert parallelism does not speed up the grouped GEMMs", "[moe][time]") {
  // docs/time-model.md, "Mixtures of experts": one torch._grouped_mm runs every routed copy on a
  // rank's experts, k x the micro-batch's tokens under any ep (balanced routing), so a rank's
  // compute is the same at ep 1 and ep 8; only the collectives differ.
  const GpuSpec& b200 = test::catalog().gpu("b200");
  const Network net = make_network(b200, 8, 3.2e12);
  const TimeConstants k;
  for (const std::int64_t mb : {1, 8}) {
    TrainingConfig one = on_one_node(1);
    TrainingConfig eight = on_one_node(8);
    one.micro_batch = eight.micro_batch = mb;
    INFO("micro-batch " << mb);
    CHECK(estimate_step_time(a3b(), eight, b200, net, k).compute_s ==
          Approx(estimate_step_time(a3b(), one, b200, net, k).compute_s).epsilon(1e-12));
  }
}
