#include "bwplan/model_spec.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "bwplan/error.hpp"

namespace bwplan {

std::vector<ParamTensor> parameter_tensors(const ModelSpec& m) {
  const std::int64_t h = m.hidden;
  const std::int64_t norm_vectors = m.norm == NormKind::layernorm ? 2 : 1; // weight (+ bias)
  const bool qkv_b = m.qkv_bias || m.linear_bias;
  const bool out_b = m.out_bias || m.linear_bias;
  const bool mlp_b = m.mlp_bias || m.linear_bias;
  const std::int64_t L = m.layers;
  std::vector<ParamTensor> t;
  t.push_back({"tok_embeddings", m.vocab, h, 1, ParamGroup::embedding, TpSplit::rows});
  if (m.position == PositionKind::learned) {
    t.push_back({"pos_embeddings", m.max_seq_len, h, 1, ParamGroup::embedding});
  }
  t.push_back({"attention_norm", h * norm_vectors, 1, L, ParamGroup::block});
  t.push_back({"wq", m.q_dim(), h, L, ParamGroup::block, TpSplit::rows});
  t.push_back({"wk", m.kv_dim(), h, L, ParamGroup::block, TpSplit::rows});
  t.push_back({"wv", m.kv_dim(), h, L, ParamGroup::block, TpSplit::rows});
  if (qkv_b) {
    t.push_back({"qkv_bias", m.q_dim() + 2 * m.kv_dim(), 1, L, ParamGroup::block, TpSplit::rows});
  }
  if (m.qk_norm) {
    t.push_back({"qk_norm", 2 * m.effective_head_dim(), 1, L, ParamGroup::block});
  }
  t.push_back({"wo", h, m.q_dim(), L, ParamGroup::block, TpSplit::cols});
  if (out_b) {
    t.push_back({"wo_bias", h, 1, L, ParamGroup::block});
  }
  t.push_back({"ffn_norm", h * norm_vectors, 1, L, ParamGroup::block});
  if (m.is_moe()) { // torchtitan's MoE: a router and GroupedExperts w1, w2, w3 [experts, ...]
    t.push_back({"router", m.experts, h, L, ParamGroup::block});
    const auto rep = TpSplit::replicated;
    t.push_back({"experts_w1", m.experts * m.expert_ffn, h, L, ParamGroup::block, rep, true});
    t.push_back({"experts_w3", m.experts * m.expert_ffn, h, L, ParamGroup::block, rep, true});
    t.push_back({"experts_w2", m.experts * h, m.expert_ffn, L, ParamGroup::block, rep, true});
    if (m.shared_expert_ffn > 0) {
      t.push_back({"shared_w1", m.shared_expert_ffn, h, L, ParamGroup::block});
      t.push_back({"shared_w3", m.shared_expert_ffn, h, L, ParamGroup::block});
      t.push_back({"shared_w2", h, m.shared_expert_ffn, L, ParamGroup::block});
    }
    if (m.shared_expert_gate) {
      t.push_back({"shared_gate", 1, h, L, ParamGroup::block});
    }
  } else {
    t.push_back({"w1", m.ffn, h, L, ParamGroup::block, TpSplit::rows});
    if (m.mlp == MlpKind::swiglu) {
      t.push_back({"w3", m.ffn, h, L, ParamGroup::block, TpSplit::rows});
    }
    t.push_back({"w2", h, m.ffn, L, ParamGroup::block, TpSplit::cols});
    if (mlp_b) {
      t.push_back(
          {"mlp_bias", m.ffn * (m.mlp == MlpKind::swiglu ? 2 : 1) + h, 1, L, ParamGroup::block});
    }
  }
  t.push_back({"final_norm", h * norm_vectors, 1, 1, ParamGroup::final_norm});
  if (!m.tied_embeddings) {
    t.push_back({"output", m.vocab, h, 1, ParamGroup::output, TpSplit::rows});
  }
  return t;
}

namespace {

ParamCounts counts_of(const std::vector<ParamTensor>& tensors) {
  ParamCounts c;
  for (const ParamTensor& p : tensors) {
    const std::int64_t n = p.numel() * p.count;
    switch (p.group) {
    case ParamGroup::embedding: c.embedding += n; break;
    case ParamGroup::block:
      c.blocks += n;
      c.per_block += p.numel();
      break;
    case ParamGroup::final_norm: c.final_norm += n; break;
    case ParamGroup::output: c.output += n; break;
    }
  }
  c.total = c.embedding + c.blocks + c.final_norm + c.output;
  return c;
}

} // namespace

ModelFacts facts_of_tensors(const ModelSpec& m, std::vector<ParamTensor> tensors) {
  ModelFacts f;
  f.tensors = std::move(tensors);
  f.counts = counts_of(f.tensors);
  const double idle = 1.0 - m.routed_share();
  for (const ParamTensor& t : f.tensors) {
    const double n = static_cast<double>(t.numel());
    f.largest_tensor = std::max(f.largest_tensor, n);
    if (!t.frozen) {
      f.trainable += n * static_cast<double>(t.count);
      f.trainable_block += t.group == ParamGroup::block ? n : 0.0;
    }
    if (t.quantized) {
      f.quantized_block += n;
      f.largest_quantized = std::max(f.largest_quantized, n);
    }
    if (t.adapter) {
      f.adapters += n;
    }
    if (t.expert) {
      f.experts += n * static_cast<double>(t.count);
      f.block_experts += n;
      f.inactive += n * static_cast<double>(t.count) * idle;
    }
    if (t.group == ParamGroup::block) {
      f.block_linear += t.is_matrix() ? n : 0.0;
    } else {
      f.root += n * static_cast<double>(t.count);
      if (t.group != ParamGroup::embedding || m.tied_embeddings) {
        f.head += n * static_cast<double>(t.count);
      }
    }
  }
  return f;
}

ParamCounts count_parameters(const ModelSpec& m) {
  return counts_of(parameter_tensors(m));
}

std::int64_t active_parameters(const ModelSpec& m) {
  // From parameter_tensors(), so the experts' layout is written once: a token runs
  // experts_per_token of the routed experts' grouped weights (`expert`, experts rows each).
  std::int64_t total = 0;
  std::int64_t routed = 0;
  for (const ParamTensor& t : parameter_tensors(m)) {
    total += t.numel() * t.count;
    routed += t.expert ? t.numel() * t.count : 0;
  }
  return m.is_moe() ? total - routed / m.experts * (m.experts - m.experts_per_token) : total;
}

ModelFacts model_facts(const ModelSpec& m) {
  return facts_of_tensors(m, parameter_tensors(m));
}

namespace {

/// The block linears LoRA can target (parameter_tensors()'s names), and which targets take each.
struct LoraLinear {
  std::string_view name;
  bool attention = false;
  bool qv = false;
};
constexpr std::array<LoraLinear, 7> k_lora_linears = {{{"wq", true, true},
                                                       {"wk", true, false},
                                                       {"wv", true, true},
                                                       {"wo", true, false},
                                                       {"w1", false, false},
                                                       {"w3", false, false},
                                                       {"w2", false, false}}};

bool targeted(const LoraLinear& l, LoraTargets targets) {
  switch (targets) {
  case LoraTargets::all: return true;
  case LoraTargets::attention: return l.attention;
  case LoraTargets::mlp: return !l.attention;
  case LoraTargets::qv: return l.qv;
  case LoraTargets::count_: break;
  }
  return false;
}

} // namespace

bool lora_target(const ParamTensor& t, LoraTargets targets) {
  if (t.group != ParamGroup::block || t.expert || !t.is_matrix()) {
    return false;
  }
  return std::any_of(k_lora_linears.begin(), k_lora_linears.end(),
                     [&](const LoraLinear& l) { return l.name == t.name && targeted(l, targets); });
}

std::int64_t lora_linears_per_block(const ModelSpec& m, LoraTargets targets) {
  if (m.is_moe()) {
    return 0; // its MLP is experts, not w1/w2/w3 (and LoRA of a mixture is refused)
  }
  return std::count_if(k_lora_linears.begin(), k_lora_linears.end(), [&](const LoraLinear& l) {
    return targeted(l, targets) && (l.name != "w3" || m.mlp == MlpKind::swiglu);
  });
}

std::vector<ParamTensor> finetune_tensors(const ModelSpec& m, Finetune how, LoraTargets targets,
                                          std::int64_t rank) {
  std::vector<ParamTensor> base = parameter_tensors(m);
  if (how == Finetune::full) {
    return base;
  }
  std::vector<ParamTensor> adapters;
  for (ParamTensor& t : base) {
    t.frozen = true;
    // QLoRA's base: every block linear in 4-bit NF4 (bitsandbytes' load_in_4bit and torchtune's
    // QLoRA quantize the block linears; embeddings, norms and the head stay bf16).
    t.quantized = how == Finetune::qlora && t.group == ParamGroup::block && t.is_matrix();
    if (lora_target(t, targets)) {
      const auto rep = TpSplit::replicated;
      const auto block = ParamGroup::block;
      adapters.push_back(
          {t.name + "_lora_a", rank, t.cols, t.count, block, rep, false, false, false, true});
      adapters.push_back(
          {t.name + "_lora_b", t.rows, rank, t.count, block, rep, false, false, false, true});
    }
  }
  base.insert(base.end(), adapters.begin(), adapters.end());
  return base;
}

std::int64_t trainable_parameters(const ModelSpec& m, Finetune how, LoraTargets targets,
                                  std::int64_t rank) {
  std::int64_t n = 0;
  for (const ParamTensor& t : finetune_tensors(m, how, targets, rank)) {
    n += t.frozen ? 0 : t.numel() * t.count;
  }
  return n;
}

ModelFacts tensor_parallel_facts(const ModelSpec& m, std::int64_t tp) {
  return rank_facts(m, tp, 1);
}

ModelFacts rank_facts(const ModelSpec& m, std::int64_t tp, std::int64_t ep) {
  return rank_facts(m, tp, ep, FinetuneChoice{});
}

ModelFacts rank_facts(const ModelSpec& m, std::int64_t tp, std::int64_t ep,
                      const FinetuneChoice& finetune) {
  std::vector<ParamTensor> tensors =
      finetune_tensors(m, finetune.how, finetune.targets, finetune.rank);
  for (ParamTensor& t : tensors) {
    if (t.expert) {
      t.rows /= ep; // whole experts per rank
    }
    switch (t.tp_split) {
    case TpSplit::rows: t.rows = (t.rows + tp - 1) / tp; break;
    case TpSplit::cols: t.cols = (t.cols + tp - 1) / tp; break;
    case TpSplit::replicated: break;
    }
  }
  return facts_of_tensors(m, std::move(tensors));
}

namespace {

void check_range(const std::string& where, const char* field, std::int64_t v, std::int64_t lo,
                 std::int64_t hi) {
  if (v < lo || v > hi) {
    throw Error(
        fmt::format("{}: {} = {} is out of range (allowed {}..{})", where, field, v, lo, hi));
  }
}

} // namespace

void validate_model(const ModelSpec& m, const std::string& where) {
  // Limits are far beyond any real model and keep every product below 2^62 (docs/bwplan.md).
  check_range(where, "layers", m.layers, 1, 4096);
  check_range(where, "hidden", m.hidden, 1, 262144);
  check_range(where, "heads", m.heads, 1, 16384);
  check_range(where, "kv_heads", m.kv_heads, 1, m.heads);
  check_range(where, "ffn", m.ffn, 1, 4194304);
  check_range(where, "vocab", m.vocab, 1, 16777216);
  check_range(where, "max_seq_len", m.max_seq_len, 1, 16777216);
  if (m.heads % m.kv_heads != 0) {
    throw Error(fmt::format("{}: heads = {} is not a multiple of kv_heads = {}", where, m.heads,
                            m.kv_heads));
  }
  if (m.is_moe()) {
    check_range(where, "experts", m.experts, 2, 4096);
    check_range(where, "experts_per_token", m.experts_per_token, 1, m.experts);
    check_range(where, "expert_ffn", m.expert_ffn, 1, 4194304);
    if (m.mlp != MlpKind::swiglu || m.mlp_bias || m.linear_bias) {
      throw Error(fmt::format("{}: experts are SwiGLU without biases (mlp = swiglu, no mlp_bias or "
                              "linear_bias), as the mixtures bwplan reads are",
                              where));
    }
    check_range(where, "shared_expert_ffn", m.shared_expert_ffn, 0, 4194304);
    if (m.shared_expert_gate && m.shared_expert_ffn == 0) {
      throw Error(fmt::format("{}: shared_expert_gate needs a shared expert (shared_expert_ffn "
                              "above 0)",
                              where));
    }
  } else if (m.experts_per_token != 0 || m.expert_ffn != 0 || m.shared_expert_ffn != 0 ||
             m.shared_expert_gate) {
    throw Error(fmt::format("{}: experts_per_token, expert_ffn and the shared expert need experts "
                            "(2 or more)",
                            where));
  }
  if (m.head_dim != 0) {
    check_range(where, "head_dim", m.head_dim, 1, 4096);
  } else if (m.hidden % m.heads != 0) {
    throw Error(fmt::format("{}: hidden = {} is not a multiple of heads = {}; set head_dim", where,
                            m.hidden, m.heads));
  }
}

} // namespace bwplan
