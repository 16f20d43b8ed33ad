// Reads a Hugging Face transformers config.json into a ModelSpec. HF configs carry dozens of
// keys bwplan does not need, so unknown keys are ignored here; the keys that are read are
// type- and range-checked like any other input.
#include <fmt/format.h>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "json_reader.hpp"
#include "model_file.hpp"

namespace bwplan {

namespace {

constexpr std::int64_t k_big = std::int64_t{1} << 40;

// Architectures whose parameter layout bwplan models exactly.
enum class Family { llama, qwen2, qwen3, gpt_neox, mixtral, qwen2_moe, qwen3_moe };

Family family_of(const std::string& model_type, const std::string& where) {
  if (model_type == "llama" || model_type == "mistral") {
    return Family::llama;
  }
  if (model_type == "qwen2") {
    return Family::qwen2;
  }
  if (model_type == "qwen3") {
    return Family::qwen3;
  }
  if (model_type == "gpt_neox") {
    return Family::gpt_neox;
  }
  if (model_type == "mixtral") {
    return Family::mixtral;
  }
  if (model_type == "qwen3_moe") {
    return Family::qwen3_moe;
  }
  if (model_type == "qwen2_moe") {
    return Family::qwen2_moe;
  }
  if (model_type == "deepseek_v3" || model_type == "llama4" || model_type == "gpt_oss") {
    throw Error(fmt::format("{}: /model_type: '{}' is a mixture of experts bwplan does not read "
                            "yet (latent attention, sliding windows, attention sinks; allowed "
                            "mixtures: mixtral, qwen2_moe, qwen3_moe)",
                            where, model_type));
  }
  throw Error(
      fmt::format("{}: /model_type: '{}' is not supported (allowed llama, mistral, qwen2, "
                  "qwen3, gpt_neox, mixtral, qwen2_moe, qwen3_moe); write a bwplan model file "
                  "instead (docs/bwplan.md)",
                  where, model_type));
}

MlpKind mlp_of(const std::string& act, const std::string& where, Family f) {
  if (f == Family::gpt_neox) {
    if (act.rfind("gelu", 0) == 0 || act == "relu") {
      return MlpKind::gelu; // two matrices, whatever the activation
    }
  } else if (act == "silu" || act == "swish") {
    return MlpKind::swiglu;
  }
  throw Error(
      fmt::format("{}: /hidden_act: '{}' is not supported for this model_type", where, act));
}

} // namespace

ModelSpec parse_hf_config(std::string_view text, const std::string& where,
                          const std::string& name) {
  return io::hf_config_from_json(io::parse_json(text, where), where, name);
}

ModelSpec io::hf_config_from_json(const nlohmann::json& j, const std::string& where,
                                  const std::string& name) {
  io::ObjectReader r(j, where);
  if (!r.has("model_type")) {
    throw Error(fmt::format("{}: /model_type is missing: a Hugging Face config.json names its "
                            "architecture (allowed llama, mistral, qwen2, qwen3, gpt_neox, "
                            "mixtral, qwen2_moe, qwen3_moe)",
                            where));
  }
  const std::string model_type = r.string("model_type");
  const Family f = family_of(model_type, where);
  ModelSpec m;
  m.name = name;
  m.display_name = name;
  m.layers = r.integer("num_hidden_layers", 1, k_big);
  m.hidden = r.integer("hidden_size", 1, k_big);
  m.heads = r.integer("num_attention_heads", 1, k_big);
  m.kv_heads = r.optional_integer("num_key_value_heads", 1, k_big).value_or(m.heads);
  if (r.has("head_dim") && !j.at("head_dim").is_null()) {
    const std::int64_t d = r.integer("head_dim", 1, k_big);
    // Only record it when it differs from hidden / heads; no d * heads: both may be 2^40.
    if (m.hidden % m.heads != 0 || m.hidden / m.heads != d) {
      m.head_dim = d;
    }
  }
  m.ffn = r.integer("intermediate_size", 1, k_big);
  m.vocab = r.integer("vocab_size", 1, k_big);
  m.max_seq_len = r.optional_integer("max_position_embeddings", 1, k_big).value_or(4096);
  m.tied_embeddings = r.optional_boolean("tie_word_embeddings").value_or(false);
  m.mlp = mlp_of(r.optional_string("hidden_act").value_or("silu"), where, f);
  m.position = PositionKind::rope;
  switch (f) {
  // Which projections carry a bias, as each family's modeling code builds them (transformers:
  // models/{llama,mistral,qwen2,qwen3,gpt_neox}/modeling_*.py).
  case Family::llama: // attention_bias: q, k, v and o; mlp_bias: gate, up, down
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
    m.mlp_bias = r.optional_boolean("mlp_bias").value_or(false);
    break;
  case Family::qwen2: m.qkv_bias = true; break; // q, k, v always; o and the MLP never
  case Family::qwen3:
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
    m.qk_norm = true;
    break;
  // Mixtures (transformers: models/{mixtral,qwen3_moe}/modeling_*.py): every layer sparse.
  case Family::mixtral:
    m.experts = r.integer("num_local_experts", 2, k_big);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, k_big);
    m.expert_ffn = m.ffn; // MixtralBlockSparseTop2MLP is intermediate_size wide
    break;
  case Family::qwen2_moe: // Qwen2's attention; a shared expert with a sigmoid gate
  case Family::qwen3_moe:
    if (f == Family::qwen2_moe) {
      m.qkv_bias = true;
      m.shared_expert_ffn = r.integer("shared_expert_intermediate_size", 0, k_big);
      m.shared_expert_gate = m.shared_expert_ffn > 0;
    } else {
      m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
      m.qk_norm = true;
    }
    m.experts = r.integer("num_experts", 2, k_big);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, k_big);
    m.expert_ffn = r.integer("moe_intermediate_size", 1, k_big);
    if (r.optional_integer("decoder_sparse_step", 1, k_big).value_or(1) != 1 ||
        (r.has("mlp_only_layers") && !j.at("mlp_only_layers").empty())) {
      throw Error(fmt::format("{}: /decoder_sparse_step or /mlp_only_layers make some layers "
                              "dense; bwplan reads mixtures whose every layer is sparse",
                              where));
    }
    break;
  case Family::gpt_neox: // attention_bias: query_key_value and dense; the MLP always has biases
    m.norm = NormKind::layernorm;
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(true);
    m.mlp_bias = true;
    break;
  }
  if (!m.is_moe() && (r.has("num_local_experts") || r.has("num_experts"))) {
    throw Error(fmt::format("{}: mixture-of-experts keys in a dense model_type", where));
  }
  m.sources = {fmt::format("Hugging Face config.json: {}", where)};
  validate_model(m, where);
  return m;
}

} // namespace bwplan
