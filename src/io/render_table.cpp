#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/render.hpp"
#include "bwplan/units.hpp"
#include "render_common.hpp"
#include "text_table.hpp"

namespace bwplan {

namespace {

using io::TextTable;
using A = TextTable::Align;

std::string gib(double bytes) {
  const double g = to_gib(bytes);
  return fmt::format("{:.2f}", std::abs(g) < 0.005 ? 0.0 : g); // no "-0.00" of headroom
}

std::string tflops(double flops) {
  return flops > 0 ? fmt::format("{:.0f}", flops / 1e12) : "-";
}

std::string sources_block(const std::vector<std::pair<std::string, std::vector<std::string>>>& s) {
  std::string out = "\nsources:\n";
  for (const auto& [name, list] : s) {
    for (const std::string& src : list) {
      out += fmt::format("  {}: {}\n", name, src);
    }
  }
  return out;
}

} // namespace

namespace io {

std::string band_note(Widenings memory, Widenings tokens) {
  // Words for each Widening, in its order.
  static constexpr std::array<std::string_view, 10> k_words = {
      "a longer sequence than any measured run",
      "a GPU no measured run used (at full power)",
      "more GPUs than any measured run",
      "trainers' unfused losses keep different logits copies",
      "pure-bf16 (ZeRO-style) stacks hold buffers FSDP2 does not",
      "tensor parallelism (few measured runs)",
      "context parallelism (three measured runs, slower than predicted)",
      "pipeline parallelism (three measured runs)",
      "a mixture of experts (its routing and, under expert parallelism, its dispatch)",
      "a checkpointed mixture of experts that measured runs held more than estimated"};
  static_assert(k_words.size() == k_widening_names.size());
  const auto line = [](const char* band, Widenings w) {
    std::string out;
    for (std::size_t i = 0; i < k_words.size(); ++i) {
      if ((w & bit(static_cast<Widening>(i))) != 0) {
        out += out.empty() ? fmt::format("  {} band widened for: ", band) : "; ";
        out += k_words[i];
      }
    }
    return out.empty() ? out : out + "\n";
  };
  return line("memory", memory) + line("tokens/s", tokens);
}

} // namespace io

std::string signed_pct(double pct, int decimals) {
  // formatted once, as {:+.Nf} rounds; a negative that shows as zero is zero
  std::string out = fmt::format("{:+.{}f}", pct, decimals);
  if (out[0] == '-' && out.find_first_not_of("0.", 1) == std::string::npos) {
    out[0] = '+';
  }
  return out;
}

std::string format_params(std::int64_t n) {
  const double d = static_cast<double>(n);
  if (d >= 1e9) {
    return fmt::format("{:.2f}B", d / 1e9);
  }
  if (d >= 1e6) {
    return fmt::format("{:.1f}M", d / 1e6);
  }
  return fmt::format("{}", n);
}

std::string models_table(const Catalog& c) {
  TextTable t({{"model"},
               {"params", A::right},
               {"exact", A::right},
               {"active", A::right},
               {"experts", A::right},
               {"layers", A::right},
               {"hidden", A::right},
               {"heads", A::right},
               {"kv", A::right},
               {"ffn", A::right},
               {"vocab", A::right},
               {"tied"},
               {"max seq", A::right}});
  for (const ModelSpec& m : c.models) {
    const ParamCounts p = count_parameters(m);
    t.add_row({m.name, format_params(p.total), fmt::format("{}", p.total),
               format_params(active_parameters(m)),
               m.is_moe() ? fmt::format("{} of {}", m.experts_per_token, m.experts) : "—",
               fmt::format("{}", m.layers), fmt::format("{}", m.hidden), fmt::format("{}", m.heads),
               fmt::format("{}", m.kv_heads), fmt::format("{}", m.ffn), fmt::format("{}", m.vocab),
               m.tied_embeddings ? "yes" : "no", fmt::format("{}", m.max_seq_len)});
  }
  return t.render();
}

std::string gpus_table(const Catalog& c) {
  TextTable t({{"gpu"},
               {"memory GiB", A::right},
               {"CUDA GiB", A::right},
               {"HBM TB/s", A::right},
               {"bf16 TF", A::right},
               {"fp8 TF", A::right},
               {"mxfp8 TF", A::right},
               {"nvfp4 TF", A::right},
               {"NVLink GB/s", A::right},
               {"cc"},
               {"training precisions"}});
  std::vector<std::pair<std::string, std::vector<std::string>>> src;
  for (const GpuSpec& g : c.gpus) {
    const PeakFlops& f = g.dense_flops_per_s;
    std::vector<std::string_view> formats;
    for (const Precision p : g.supported_precisions) {
      formats.push_back(name_of(p));
    }
    t.add_row({g.name, gib(g.memory_bytes),
               gib(g.allocatable_bytes(c.constants.memory.driver_reserved_bytes)),
               fmt::format("{:.2f}", g.hbm_bandwidth_bytes_per_s / 1e12), tflops(f.bf16),
               tflops(f.fp8), tflops(f.mxfp8), tflops(f.nvfp4),
               fmt::format("{:.0f}", g.nvlink_bandwidth_bytes_per_s / 1e9), g.compute_capability,
               fmt::format("{}", fmt::join(formats, ","))});
    src.emplace_back(g.name, g.sources);
  }
  return t.render() +
         "\nmemory = the driver's total; CUDA = what a process can allocate, the capacity plans "
         "use; TF = dense TFLOP/s per GPU; NVLink per GPU, one direction.\n" +
         sources_block(src);
}

std::string instances_table(const Catalog& c) {
  TextTable t({{"instance"},
               {"gpus"},
               {"EFA Gb/s", A::right},
               {"host GiB", A::right},
               {"vCPU", A::right},
               {"$/hour", A::right},
               {"price basis"}});
  std::vector<std::pair<std::string, std::vector<std::string>>> src;
  for (const InstanceSpec& s : c.instances) {
    t.add_row({s.name, fmt::format("{} x {}", s.gpus_per_node, s.gpu),
               fmt::format("{:.0f}", s.efa_bandwidth_bits_per_s / 1e9), gib(s.host_memory_bytes),
               fmt::format("{}", s.vcpus), fmt::format("{:.2f}", s.price.usd_per_hour),
               fmt::format("{}, {}, {}", s.price.kind, s.price.region, s.price.as_of)});
    std::vector<std::string> list = s.sources;
    list.push_back("price: " + s.price.source);
    src.emplace_back(s.name, list);
  }
  return t.render() + sources_block(src);
}

std::string estimate_table(const Estimate& e) {
  const EstimateRequest& r = e.request;
  const TrainingConfig& c = r.config;
  const MemoryEstimate& m = e.memory;
  std::string where =
      r.instance ? fmt::format("{} x {} ({} x {})", r.nodes, r.instance->name, c.gpus, r.gpu.name)
                 : fmt::format("{} x {}", c.gpus, r.gpu.name);
  std::string out =
      fmt::format("{} ({} parameters) on {}\n", r.model.name, format_params(e.params.total), where);
  std::string model_parallel =
      c.tp > 1 || c.cp > 1 || c.pp > 1
          ? fmt::format("tensor parallel {} x context parallel {}, ", c.tp, c.cp)
          : std::string();
  if (c.pp > 1) {
    model_parallel +=
        fmt::format("pipeline parallel {} ({}, {} micro-batch{}), ", c.pp, name_of(c.pp_schedule),
                    c.grad_accum, c.grad_accum == 1 ? "" : "es");
  }
  if (c.ep > 1) {
    model_parallel += fmt::format("expert parallel {}, ", c.ep);
  }
  if (c.finetune != Finetune::full) {
    model_parallel += fmt::format("{} rank {} on {} ({} trainable parameters), ",
                                  name_of(c.finetune), c.lora_rank, name_of(c.lora_targets),
                                  format_params(trainable_parameters(e.request.model, c.finetune,
                                                                     c.lora_targets, c.lora_rank)));
  }
  // what differs from the defaults, after the fields every estimate names
  std::string unusual;
  if (c.attention_kernel != AttentionKernel::cudnn) {
    unusual += fmt::format(", attention {}", name_of(c.attention_kernel));
  }
  if (c.reduce_dtype != ReduceDtype::trainer_default) {
    unusual += fmt::format(", gradients reduced in {}", name_of(c.reduce_dtype));
  }
  out += fmt::format("  {}sharding {} over {} GPUs, precision {}, micro-batch {} x seq {}, "
                     "grad-accum {}, checkpointing {}, optimizer {}, loss {}{}\n\n",
                     model_parallel, name_of(c.sharding), e.shard_group, name_of(c.precision),
                     c.micro_batch, c.seq_len, c.grad_accum, name_of(c.activation_checkpointing),
                     name_of(c.optimizer), io::loss_label(c), unusual);
  const ComponentBytes& peak = m.at_peak();
  TextTable t(
      {{fmt::format("memory per GPU at the peak ({}{})",
                    k_step_phase_names[static_cast<std::size_t>(m.peak_phase)],
                    c.pp > 1 ? fmt::format(", pipeline rank {}", m.pipeline_rank) : std::string())},
       {"GiB", A::right},
       {"of allocated", A::right},
       {""}});
  for (std::size_t i = 0; i < peak.size(); ++i) {
    if (peak[i] <= 0) {
      continue;
    }
    const double share = peak[i] / m.peak_allocated_bytes;
    t.add_row({std::string(k_memory_component_names[i]), gib(peak[i]),
               fmt::format("{:.0f}%", 100 * share), io::text_bar(share, 30)});
  }
  t.add_row({"peak allocated", gib(m.peak_allocated_bytes), "", ""});
  // Capped where the cache returned lets the step onto the device (whatever --headroom asks);
  // past the capacity nothing is capped.
  t.add_row({m.allocator_retries && m.device_bytes_required <= m.capacity_bytes
                 ? "peak reserved (capped: allocator retries)"
                 : "peak reserved (caching allocator)",
             gib(m.peak_reserved_bytes), "", ""});
  t.add_row({"CUDA context + NCCL", gib(m.runtime_bytes), "", ""});
  t.add_row({"device memory required", gib(m.device_bytes_required), "", ""});
  t.add_row({"  upper edge of the band", gib(m.device_bytes_required_high), "", ""});
  t.add_row({"usable capacity", gib(m.usable_bytes), "", ""});
  t.add_row({"headroom", gib(m.headroom_bytes()), "", ""});
  out += t.render(2);
  out += "\n  phases (GiB allocated):";
  for (std::size_t p = 0; p < m.phases.size(); ++p) {
    out += fmt::format(" {} {}", k_step_phase_names[p], gib(phase_total(m.phases[p])));
  }
  out += "\n";
  if (m.host_bytes_per_node > 0) {
    out +=
        fmt::format("  host memory per node for CPU offload: {} GiB\n", gib(m.host_bytes_per_node));
  }
  const StepTime& st = e.time;
  out += fmt::format(
      "\n  step {:.3f} s (compute {:.3f}, {}exposed communication {:.3f}, {}optimizer {:.3f}); "
      "limited by {}\n",
      st.step_s, st.compute_s,
      c.pp > 1 ? fmt::format("pipeline bubble {:.3f}, ", st.pipeline_bubble_s) : std::string(),
      st.exposed_comm_s,
      st.offload_s > 0 ? fmt::format("CPU offload copies {:.3f}, ", st.offload_s) : std::string(),
      st.optimizer_s, name_of(st.bottleneck));
  if (c.tp > 1 || c.cp > 1 || c.pp > 1) {
    out +=
        fmt::format("  of the communication: tensor parallel {:.3f} s, context parallel {:.3f} s, "
                    "pipeline sends {:.3f} s\n",
                    st.tensor_parallel_s, st.context_parallel_s, st.pipeline_send_s);
  }
  if (c.ep > 1) {
    out += fmt::format("  of the communication: expert-parallel all-to-all {:.3f} s\n",
                       st.expert_parallel_s);
  }
  if (c.pp > 1 && c.grad_accum < c.pp) {
    out += fmt::format(
        "  the pipeline idles {:.0f}% of the step: {} micro-batch{} for {} stages "
        "(--grad-accum counts the pipeline's micro-batches; more shrink the bubble)\n",
        100 * st.pipeline_bubble_s / st.step_s, c.grad_accum, c.grad_accum == 1 ? "" : "es", c.pp);
  }
  out += fmt::format("  {:.0f} tokens/s per GPU (band {:.0f}-{:.0f}), {:.0f} tokens/s for the job; "
                     "MFU {:.1f}%, HFU {:.1f}% (torchtitan's MFU {:.1f}%)\n",
                     st.tokens_per_s_per_gpu, st.tokens_per_s_per_gpu_low,
                     st.tokens_per_s_per_gpu_high, st.tokens_per_s_job, 100 * st.mfu, 100 * st.hfu,
                     100 * st.mfu_torchtitan);
  if (e.cost.usd_per_hour > 0) {
    out += fmt::format("  {:.2f} USD/h for the job ({}{}); {} USD per million tokens\n",
                       e.cost.usd_per_hour, io::price_basis_text(e.cost.price_basis),
                       e.cost.price_basis.overridden ? "" : "; --price-per-hour sets another",
                       io::usd_per_million_text(e.cost.usd_per_million_tokens));
  }
  if (e.cost.hours_to_train > 0) {
    out += fmt::format("  training {:.3g} tokens: {:.1f} hours{}\n", r.train_tokens,
                       e.cost.hours_to_train,
                       e.cost.usd_per_hour > 0 ? fmt::format(", {:.0f} USD", e.cost.usd_to_train)
                                               : std::string(" (no price: --instance or "
                                                             "--price-per-hour gives one)"));
  }
  out += io::band_note(m.band_widened, st.band_widened);
  if (!e.feasible()) {
    return out + fmt::format("\nverdict: does not fit: {}\n", e.reason);
  }
  return out + fmt::format("\nverdict: {}\n", memory_verdict_text(m));
}

std::string memory_verdict_text(const MemoryEstimate& m) {
  if (m.verdict() == Verdict::at_risk) {
    // Where the estimate's room is: its headroom, or, when the allocator must return its cache
    // (allocator_retries), what stays free beside the allocated peak.
    const std::string room = m.allocator_retries
                                 ? fmt::format("as the caching allocator returns its cache ({} GiB "
                                               "beside the allocated peak)",
                                               gib(m.allocated_headroom_bytes()))
                                 : fmt::format("with {} GiB headroom", gib(m.headroom_bytes()));
    return fmt::format("at risk: the estimate fits {}, the band's upper edge is {} over", room,
                       excess_text(m.device_bytes_required_high - m.usable_bytes));
  }
  // At capacity (allocator_retries) the headroom reads 0: say what stays beside the allocated
  // peak instead, there and at the band's upper edge.
  const std::string room =
      m.allocator_retries
          ? fmt::format("fits as the caching allocator returns its cache ({} GiB beside the "
                        "allocated peak)",
                        gib(m.allocated_headroom_bytes()))
          : fmt::format("fits, {} GiB headroom", gib(m.headroom_bytes()));
  const std::string edge =
      !m.allocator_retries_high ? fmt::format(" ({} GiB at the band's upper edge)",
                                              gib(m.usable_bytes - m.device_bytes_required_high))
      : m.allocator_retries
          ? fmt::format("; {} GiB at the band's upper edge", gib(m.allocated_headroom_high_bytes()))
          : fmt::format("; at the band's upper edge the caching allocator returns its cache to "
                        "fit ({} GiB beside the allocated peak)",
                        gib(m.allocated_headroom_high_bytes()));
  return room + edge;
}

std::string advice_table(const FitAdvice& a, std::string_view elsewhere) {
  std::string out =
      fmt::format("\n{} is the largest term at the peak ({} GiB); the step is {} "
                  "over.\n",
                  a.breaking_component, gib(a.breaking_bytes), excess_text(a.over_bytes));
  if (a.suggestions.empty()) {
    return out + fmt::format("No single change tried here makes it fit ({}).\n", elsewhere);
  }
  out += "Each of these alone makes it fit (verdict fits: the band's upper edge fits):\n";
  TextTable t({{"change"},
               {"needs GiB", A::right},
               {"of", A::right},
               {"tokens/s/GPU", A::right},
               {"job throughput", A::right}});
  for (const FitSuggestion& s : a.suggestions) {
    const Estimate& e = s.estimate;
    t.add_row({io::change_text(s), gib(e.memory.device_bytes_required), gib(e.memory.usable_bytes),
               fmt::format("{:.0f}", e.time.tokens_per_s_per_gpu),
               signed_pct(100 * (s.throughput_ratio - 1), 0) + "%"});
  }
  return out + t.render(2) + "Combinations of changes: 'bwplan search' with the same model.\n";
}

} // namespace bwplan
