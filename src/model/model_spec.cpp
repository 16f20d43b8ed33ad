#include "bwplan/model_spec.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "bwplan/error.hpp"

namespace bwplan {

namespace {

/// A Llama-style attention block's projections (torchtitan/models/llama3/model/model.py), or
/// DeepSeek's latent attention (torchtitan/models/deepseek_v3/model/model.py, Attention: wq or
/// wq_a + q_norm + wq_b, wkv_a, kv_norm, wkv_b, wo).
void attention_tensors(const ModelSpec& m, std::vector<ParamTensor>& t) {
  const std::int64_t h = m.hidden;
  const std::int64_t L = m.layers;
  const auto block = ParamGroup::block;
  if (m.is_mla()) {
    const std::int64_t nope = m.effective_head_dim() - m.qk_rope_head_dim;
    if (m.q_lora_rank > 0) {
      t.push_back({"wq_a", m.q_lora_rank, h, L, block});
      t.push_back({"q_norm", m.q_lora_rank, 1, L, block});
      t.push_back({"wq_b", m.q_dim(), m.q_lora_rank, L, block});
    } else {
      t.push_back({"wq", m.q_dim(), h, L, block});
    }
    t.push_back({"wkv_a", m.kv_lora_rank + m.qk_rope_head_dim, h, L, block});
    t.push_back({"kv_norm", m.kv_lora_rank, 1, L, block});
    t.push_back({"wkv_b", m.heads * (nope + m.effective_v_head_dim()), m.kv_lora_rank, L, block});
  } else {
    t.push_back({"wq", m.q_dim(), h, L, block, TpSplit::rows});
    t.push_back({"wk", m.kv_dim(), h, L, block, TpSplit::rows});
    t.push_back({"wv", m.v_dim(), h, L, block, TpSplit::rows});
  }
  if (m.qkv_bias || m.linear_bias) {
    t.push_back({"qkv_bias", m.q_dim() + m.kv_dim() + m.v_dim(), 1, L, block, TpSplit::rows});
  }
  if (m.qk_norm) {
    t.push_back({"qk_norm", 2 * m.effective_head_dim(), 1, L, block});
  }
  if (m.attention_sinks) {
    t.push_back({"sinks", m.heads, 1, L, block, TpSplit::rows});
  }
  t.push_back(
      {"wo", h, m.attn_out_dim(), L, block, m.is_mla() ? TpSplit::replicated : TpSplit::cols});
  if (m.out_bias || m.linear_bias) {
    t.push_back({"wo_bias", h, 1, L, block});
  }
}

/// A dense MLP of width `ffn` in `n` blocks of `kind`.
void dense_mlp_tensors(const ModelSpec& m, std::int64_t n, BlockKind kind,
                       std::vector<ParamTensor>& t) {
  const std::int64_t h = m.hidden;
  const bool bias = m.mlp_bias || m.linear_bias;
  const auto block = ParamGroup::block;
  auto add = [&](ParamTensor p) {
    p.blocks = kind;
    t.push_back(std::move(p));
  };
  add({"w1", m.ffn, h, n, block, TpSplit::rows});
  if (m.mlp == MlpKind::swiglu) {
    add({"w3", m.ffn, h, n, block, TpSplit::rows});
  }
  add({"w2", h, m.ffn, n, block, TpSplit::cols});
  if (bias) {
    add({"mlp_bias", m.ffn * (m.mlp == MlpKind::swiglu ? 2 : 1) + h, 1, n, block});
  }
}

/// torchtitan's MoE (torchtitan/models/moe/moe.py): a router, GroupedExperts w1, w2, w3
/// [experts, ...] (gpt-oss's with biases, torchtitan/models/gpt_oss/model/moe.py) and shared
/// experts, in the sparse blocks.
void mixture_tensors(const ModelSpec& m, std::vector<ParamTensor>& t) {
  const std::int64_t h = m.hidden;
  const std::int64_t n = m.moe_layers();
  const auto block = ParamGroup::block;
  const auto rep = TpSplit::replicated;
  auto add = [&](ParamTensor p) {
    p.blocks = m.dense_layers > 0 ? BlockKind::sparse : BlockKind::every;
    t.push_back(std::move(p));
  };
  add({"router", m.experts, h, n, block});
  if (m.router_bias) {
    add({"router_bias", m.experts, 1, n, block});
  }
  add({"experts_w1", m.experts * m.expert_ffn, h, n, block, rep, true});
  add({"experts_w3", m.experts * m.expert_ffn, h, n, block, rep, true});
  add({"experts_w2", m.experts * h, m.expert_ffn, n, block, rep, true});
  if (m.expert_bias) {
    add({"experts_bias", m.experts * (2 * m.expert_ffn + h), 1, n, block, rep, true});
  }
  if (m.shared_expert_ffn > 0) {
    add({"shared_w1", m.shared_expert_ffn, h, n, block});
    add({"shared_w3", m.shared_expert_ffn, h, n, block});
    add({"shared_w2", h, m.shared_expert_ffn, n, block});
  }
  if (m.shared_expert_gate) {
    add({"shared_gate", 1, h, n, block});
  }
}

} // namespace

std::vector<ParamTensor> parameter_tensors(const ModelSpec& m) {
  const std::int64_t h = m.hidden;
  const std::int64_t norm_vectors = m.norm == NormKind::layernorm ? 2 : 1; // weight (+ bias)
  const std::int64_t L = m.layers;
  std::vector<ParamTensor> t;
  t.push_back({"tok_embeddings", m.vocab, h, 1, ParamGroup::embedding, TpSplit::rows});
  if (m.position == PositionKind::learned) {
    t.push_back({"pos_embeddings", m.max_seq_len, h, 1, ParamGroup::embedding});
  }
  t.push_back({"attention_norm", h * norm_vectors, 1, L, ParamGroup::block});
  attention_tensors(m, t);
  t.push_back({"ffn_norm", h * norm_vectors, 1, L, ParamGroup::block});
  if (m.is_moe()) {
    if (m.dense_layers > 0) {
      dense_mlp_tensors(m, m.dense_layers, BlockKind::dense, t);
    }
    mixture_tensors(m, t);
  } else {
    dense_mlp_tensors(m, L, BlockKind::every, t);
  }
  t.push_back({"final_norm", h * norm_vectors, 1, 1, ParamGroup::final_norm});
  if (!m.tied_embeddings) {
    t.push_back({"output", m.vocab, h, 1, ParamGroup::output, TpSplit::rows});
  }
  return t;
}

namespace {

/// A per-block sum kept per BlockKind, read as the largest block's: the tensors every block has
/// plus the larger of the dense-only and sparse-only ones.
template <class T> struct PerBlock {
  std::array<T, 3> by_kind{};
  void add(const ParamTensor& p, T v) { by_kind[static_cast<std::size_t>(p.blocks)] += v; }
  [[nodiscard]] T largest() const { return by_kind[0] + std::max(by_kind[1], by_kind[2]); }
};

ParamCounts counts_of(const std::vector<ParamTensor>& tensors) {
  ParamCounts c;
  PerBlock<std::int64_t> block;
  for (const ParamTensor& p : tensors) {
    const std::int64_t n = p.numel() * p.count;
    switch (p.group) {
    case ParamGroup::embedding: c.embedding += n; break;
    case ParamGroup::block:
      c.blocks += n;
      block.add(p, p.numel());
      break;
    case ParamGroup::final_norm: c.final_norm += n; break;
    case ParamGroup::output: c.output += n; break;
    }
  }
  c.per_block = block.largest();
  c.total = c.embedding + c.blocks + c.final_norm + c.output;
  return c;
}

} // namespace

ModelFacts facts_of_tensors(const ModelSpec& m, std::vector<ParamTensor> tensors) {
  ModelFacts f;
  f.tensors = std::move(tensors);
  f.counts = counts_of(f.tensors);
  const double idle = 1.0 - m.routed_share();
  PerBlock<double> linear, trainable, quantized, experts;
  for (const ParamTensor& t : f.tensors) {
    const double n = static_cast<double>(t.numel());
    const bool in_block = t.group == ParamGroup::block;
    f.largest_tensor = std::max(f.largest_tensor, n);
    if (!t.frozen) {
      f.trainable += n * static_cast<double>(t.count);
      trainable.add(t, in_block ? n : 0.0);
    }
    if (t.quantized) {
      quantized.add(t, n);
      f.largest_quantized = std::max(f.largest_quantized, n);
    }
    if (t.adapter) {
      f.adapters += n;
    }
    if (t.expert) {
      f.experts += n * static_cast<double>(t.count);
      experts.add(t, n);
      f.inactive += n * static_cast<double>(t.count) * idle;
    }
    if (in_block) {
      linear.add(t, t.is_matrix() ? n : 0.0);
    } else {
      f.root += n * static_cast<double>(t.count);
      if (t.group != ParamGroup::embedding || m.tied_embeddings) {
        f.head += n * static_cast<double>(t.count);
      }
    }
  }
  f.block_linear = linear.largest();
  f.trainable_block = trainable.largest();
  f.quantized_block = quantized.largest();
  f.block_experts = experts.largest();
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
/// What a linear reads: the block's normed hidden state, attention's output, or the MLP's.
enum class LinearInput : std::uint8_t { hidden, attention_out, ffn };
/// What a linear writes: queries, keys, values, the hidden state, or the MLP's width.
enum class LinearOutput : std::uint8_t { q, k, v, hidden, ffn };
struct LoraLinear {
  std::string_view name;
  bool attention = false;
  bool qv = false;
  LinearInput input = LinearInput::hidden;
  LinearOutput output = LinearOutput::hidden;
};
constexpr std::array<LoraLinear, 7> k_lora_linears = {
    {{"wq", true, true, LinearInput::hidden, LinearOutput::q},
     {"wk", true, false, LinearInput::hidden, LinearOutput::k},
     {"wv", true, true, LinearInput::hidden, LinearOutput::v},
     {"wo", true, false, LinearInput::attention_out, LinearOutput::hidden},
     {"w1", false, false, LinearInput::hidden, LinearOutput::ffn},
     {"w3", false, false, LinearInput::hidden, LinearOutput::ffn},
     {"w2", false, false, LinearInput::ffn, LinearOutput::hidden}}};

bool present(const LoraLinear& l, const ModelSpec& m) {
  return l.name != "w3" || m.mlp == MlpKind::swiglu;
}

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

namespace {

/// The sum of `width(l)` over one dense block's adapted linears (0 for a mixture: its MLP is
/// experts, not w1/w2/w3, and LoRA of a mixture is refused).
template <class Width>
std::int64_t adapted_width(const ModelSpec& m, LoraTargets targets, Width width) {
  if (m.is_moe()) {
    return 0;
  }
  std::int64_t sum = 0;
  for (const LoraLinear& l : k_lora_linears) {
    sum += targeted(l, targets) && present(l, m) ? width(l) : 0;
  }
  return sum;
}

} // namespace

std::int64_t lora_linears_per_block(const ModelSpec& m, LoraTargets targets) {
  return adapted_width(m, targets, [](const LoraLinear&) { return std::int64_t{1}; });
}

std::int64_t lora_input_width_per_block(const ModelSpec& m, LoraTargets targets) {
  return adapted_width(m, targets, [&](const LoraLinear& l) {
    return l.input == LinearInput::hidden          ? m.hidden
           : l.input == LinearInput::attention_out ? m.attn_out_dim()
                                                   : m.ffn;
  });
}

LoraInputsRead lora_inputs_read(const ModelSpec& m, LoraTargets targets) {
  return {adapted_width(m, targets,
                        [](const LoraLinear& l) {
                          return std::int64_t{l.attention && l.input == LinearInput::hidden};
                        }) > 0,
          adapted_width(m, targets,
                        [](const LoraLinear& l) {
                          return std::int64_t{!l.attention && l.input == LinearInput::hidden};
                        }) > 0,
          adapted_width(m, targets, [](const LoraLinear& l) {
            return std::int64_t{l.input == LinearInput::ffn};
          }) > 0};
}

std::int64_t lora_output_width_per_block(const ModelSpec& m, LoraTargets targets) {
  return adapted_width(m, targets, [&](const LoraLinear& l) {
    switch (l.output) {
    case LinearOutput::q: return m.q_dim();
    case LinearOutput::k: return m.kv_dim();
    case LinearOutput::v: return m.v_dim();
    case LinearOutput::hidden: return m.hidden;
    case LinearOutput::ffn: return m.ffn;
    }
    return std::int64_t{0};
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

/// 2^24, the limit on a product of two mixture fields (a 4096-expert mixture of 4096-wide
/// experts, 32x DeepSeek-V3's 256 x 2048): with the single-field limits every parameter and
/// byte count stays below 2^62.
constexpr std::int64_t k_max_product = std::int64_t{1} << 24;

void check_product(const std::string& where, const char* a, std::int64_t va, const char* b,
                   std::int64_t vb, std::int64_t hi) {
  if (va * vb > hi) {
    throw Error(fmt::format("{}: {} x {} = {} x {} = {} is out of range (allowed up to {})", where,
                            a, b, va, vb, va * vb, hi));
  }
}

/// Latent attention and local-attention layers: each field needs the ones it refines.
void validate_attention_variants(const ModelSpec& m, const std::string& where) {
  if (m.is_mla()) {
    check_range(where, "kv_lora_rank", m.kv_lora_rank, 1, model_limits::hidden);
    check_range(where, "q_lora_rank", m.q_lora_rank, 0, model_limits::hidden);
    if (m.head_dim == 0) {
      throw Error(fmt::format("{}: latent attention (kv_lora_rank) needs head_dim, the query/key "
                              "head width including qk_rope_head_dim",
                              where));
    }
    check_range(where, "qk_rope_head_dim", m.qk_rope_head_dim, 1, m.head_dim - 1);
    if (m.kv_heads != m.heads || m.qkv_bias || m.linear_bias || m.qk_norm) {
      throw Error(fmt::format("{}: latent attention has one key and value per head (kv_heads = "
                              "heads) and no qkv_bias, linear_bias or qk_norm",
                              where));
    }
  } else if (m.q_lora_rank != 0 || m.qk_rope_head_dim != 0) {
    throw Error(fmt::format("{}: q_lora_rank and qk_rope_head_dim need latent attention "
                            "(kv_lora_rank above 0)",
                            where));
  }
  if (m.local_attention == LocalAttention::none) {
    if (m.attention_window != 0 || m.local_attention_layers != 0) {
      throw Error(fmt::format("{}: attention_window and local_attention_layers need "
                              "local_attention (sliding or chunked)",
                              where));
    }
    return;
  }
  check_range(where, "attention_window", m.attention_window, 1, model_limits::seq_len);
  check_range(where, "local_attention_layers", m.local_attention_layers, 1, m.layers);
}

} // namespace

void validate_model(const ModelSpec& m, const std::string& where) {
  // Limits are far beyond any real model and keep every product below 2^62 (docs/bwplan.md).
  check_range(where, "layers", m.layers, 1, model_limits::layers);
  check_range(where, "hidden", m.hidden, 1, model_limits::hidden);
  check_range(where, "heads", m.heads, 1, model_limits::heads);
  check_range(where, "kv_heads", m.kv_heads, 1, m.heads);
  check_range(where, "ffn", m.ffn, 1, model_limits::ffn);
  check_range(where, "vocab", m.vocab, 1, model_limits::vocab);
  check_range(where, "max_seq_len", m.max_seq_len, 1, model_limits::seq_len);
  if (m.heads % m.kv_heads != 0) {
    throw Error(fmt::format("{}: heads = {} is not a multiple of kv_heads = {}", where, m.heads,
                            m.kv_heads));
  }
  if (m.is_moe()) {
    check_range(where, "experts", m.experts, 2, model_limits::experts);
    check_range(where, "experts_per_token", m.experts_per_token, 1, m.experts);
    check_range(where, "expert_ffn", m.expert_ffn, 1, model_limits::ffn);
    if (m.mlp != MlpKind::swiglu || m.mlp_bias || m.linear_bias) {
      throw Error(fmt::format("{}: experts are SwiGLU without biases (mlp = swiglu, no mlp_bias or "
                              "linear_bias), as the mixtures bwplan reads are",
                              where));
    }
    check_range(where, "shared_expert_ffn", m.shared_expert_ffn, 0, model_limits::ffn);
    if (m.shared_expert_gate && m.shared_expert_ffn == 0) {
      throw Error(fmt::format("{}: shared_expert_gate needs a shared expert (shared_expert_ffn "
                              "above 0)",
                              where));
    }
    check_range(where, "dense_layers", m.dense_layers, 0, m.layers - 1);
    // The products a block's experts and a token's routed copies enter (parameters, dispatch
    // buffers) stay below 2^62 as the dense limits keep theirs.
    check_product(where, "experts", m.experts, "expert_ffn", m.expert_ffn, k_max_product);
    check_product(where, "experts_per_token", m.experts_per_token, "expert_ffn", m.expert_ffn,
                  k_max_product);
    check_product(where, "experts_per_token", m.experts_per_token, "hidden", m.hidden,
                  k_max_product);
  } else if (m.experts_per_token != 0 || m.expert_ffn != 0 || m.shared_expert_ffn != 0 ||
             m.shared_expert_gate || m.dense_layers != 0 || m.router_bias || m.expert_bias) {
    throw Error(fmt::format("{}: experts_per_token, expert_ffn, the shared expert, dense_layers, "
                            "router_bias and expert_bias need experts (2 or more)",
                            where));
  }
  if (m.head_dim != 0) {
    check_range(where, "head_dim", m.head_dim, 1, model_limits::head_dim);
  } else if (m.hidden % m.heads != 0) {
    throw Error(fmt::format("{}: hidden = {} is not a multiple of heads = {}; set head_dim", where,
                            m.hidden, m.heads));
  }
  check_range(where, "v_head_dim", m.v_head_dim, 0, model_limits::head_dim);
  validate_attention_variants(m, where);
  // Each field may be in range and the model still larger than a plan records (plan_file.cpp).
  constexpr std::int64_t max_parameters = std::int64_t{1} << 50;
  if (const std::int64_t n = count_parameters(m).total; n > max_parameters) {
    throw Error(fmt::format("{}: the fields make {} parameters (allowed up to 2^50 = {})", where, n,
                            max_parameters));
  }
}

} // namespace bwplan
