// Reads a Hugging Face transformers config.json into a ModelSpec. HF configs carry dozens of
// keys bwplan does not need, so unknown keys are ignored here; the keys that are read are
// type- and range-checked like any other input.
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "json_reader.hpp"
#include "model_file.hpp"

namespace bwplan {

namespace {

// Counts checked against validate_model's limits (model_limits) so a config's error names the
// range bwplan allows; keys that are only compared (a sparse step, a window threshold) need 2^40.
constexpr std::int64_t k_big = std::int64_t{1} << 40;

// Architectures whose parameter layout bwplan models exactly.
enum class Family {
  llama,
  mistral,
  qwen2,
  qwen3,
  gpt_neox,
  mixtral,
  qwen2_moe,
  qwen3_moe,
  deepseek_v3,
  gpt_oss,
  llama4
};

constexpr const char* k_allowed =
    "llama, mistral, qwen2, qwen3, gpt_neox, mixtral, qwen2_moe, qwen3_moe, deepseek_v3, gpt_oss, "
    "llama4, llama4_text";

Family family_of(const std::string& model_type, const std::string& where) {
  if (model_type == "llama") {
    return Family::llama;
  }
  if (model_type == "mistral") {
    return Family::mistral;
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
  if (model_type == "deepseek_v3") {
    return Family::deepseek_v3;
  }
  if (model_type == "gpt_oss") {
    return Family::gpt_oss;
  }
  if (model_type == "llama4" || model_type == "llama4_text") {
    return Family::llama4;
  }
  // The value as JSON: a control character in it is shown escaped (a NUL would end the line).
  throw Error(fmt::format("{}: /model_type: {} is not supported (allowed {}); write a bwplan "
                          "model file instead (docs/bwplan.md)",
                          where, nlohmann::json(model_type).dump(), k_allowed));
}

MlpKind mlp_of(const std::string& act, const std::string& where, Family f) {
  if (f == Family::gpt_neox) {
    if (act.rfind("gelu", 0) == 0 || act == "relu") {
      return MlpKind::gelu; // two matrices, whatever the activation
    }
  } else if (act == "silu" || act == "swish") {
    return MlpKind::swiglu;
  }
  throw Error(fmt::format("{}: /hidden_act: {} is not supported for this model_type", where,
                          nlohmann::json(act).dump()));
}

} // namespace

ModelSpec parse_hf_config(std::string_view text, const std::string& where,
                          const std::string& name) {
  return io::hf_config_from_json(io::parse_json(text, where), where, name);
}

namespace {

/// How many of the first `layers` entries of `key` equal `wanted`, each one of `allowed`
/// (transformers refuses other layer types; a NoPE flag is 0 or 1); `exact`: the list has
/// `layers` entries (transformers' layer_types), else at least that many (its no_rope_layers).
/// Null is no list: the caller takes transformers' default; so is an empty no_rope_layers
/// (Llama 4's config takes `no_rope_layers if no_rope_layers else` its default), but not an empty
/// layer_types, which transformers keeps and its layer_type_validation refuses as shorter than
/// num_hidden_layers (models/qwen2/configuration_qwen2.py and gpt_oss: only None is defaulted).
std::optional<std::int64_t> count_in_list(io::ObjectReader& r, const std::string& key,
                                          const nlohmann::json& wanted,
                                          const nlohmann::json& allowed, std::int64_t layers,
                                          bool exact) {
  if (!r.has(key)) {
    return std::nullopt;
  }
  const nlohmann::json& v = r.value(key);
  if (v.is_null() || (!exact && v.is_array() && v.empty())) {
    return std::nullopt;
  }
  const auto n_entries = static_cast<std::int64_t>(v.is_array() ? v.size() : 0);
  if (!v.is_array() || (exact ? n_entries != layers : n_entries < layers)) {
    throw Error(fmt::format("{}: must be a list of {} num_hidden_layers = {} entries", r.at(key),
                            exact ? "exactly" : "at least", layers));
  }
  std::int64_t n = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(layers); ++i) {
    const nlohmann::json& e = v[i];
    if (std::find(allowed.begin(), allowed.end(), e) == allowed.end()) {
      throw Error(fmt::format("{}/{}: {} is not a layer kind bwplan reads (allowed {})", r.at(key),
                              i, e.dump(), allowed.dump()));
    }
    n += e == wanted ? 1 : 0;
  }
  return n;
}

/// Llama 4's moe_layers: the sparse layers' indices. bwplan reads mixtures whose every layer is
/// sparse, so it must list each of the `layers` once (null: interleave_moe_layer_step decides).
bool every_layer_listed(io::ObjectReader& r, const nlohmann::json& v, std::int64_t layers) {
  if (v.is_null()) {
    return true;
  }
  if (!v.is_array()) {
    throw Error(fmt::format("{}: must be a list of layer indices, not {}", r.at("moe_layers"),
                            io::json_type_name(v)));
  }
  if (static_cast<std::int64_t>(v.size()) != layers) {
    return false;
  }
  std::vector<bool> seen(v.size(), false);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const nlohmann::json& e = v[i];
    if (!e.is_number_integer() || e.get<std::int64_t>() < 0 || e.get<std::int64_t>() >= layers ||
        seen[e.get<std::size_t>()]) {
      throw Error(fmt::format("{}/{}: {} is not a layer index (allowed distinct integers "
                              "0..{})",
                              r.at("moe_layers"), i, e.dump(), layers - 1));
    }
    seen[e.get<std::size_t>()] = true;
  }
  return true;
}

/// An integer key transformers lets be null or left out: `if_null` and `if_absent` are what
/// its config class makes of each (a default, or "none").
std::int64_t nullable_integer(io::ObjectReader& r, const nlohmann::json& j, const char* key,
                              std::int64_t lo, std::int64_t hi, std::int64_t if_null,
                              std::int64_t if_absent) {
  if (r.has(key) && j.at(key).is_null()) {
    return if_null;
  }
  return r.optional_integer(key, lo, hi).value_or(if_absent);
}

/// Sliding-window attention of `sliding` layers of `window` tokens (none when either is 0).
void slide(ModelSpec& m, std::int64_t window, std::int64_t sliding) {
  if (window > 0 && sliding > 0) {
    m.local_attention = LocalAttention::sliding;
    m.attention_window = window;
    m.local_attention_layers = sliding;
  }
}

/// Qwen2's and Qwen3's sliding window, off unless use_sliding_window: then layers from
/// max_window_layers (28) on slide over sliding_window (4096) tokens, or those layer_types lists
/// as sliding_attention (huggingface/transformers@008e574391258935f3ecc3035c882e73bbcac419:src/
/// transformers/models/qwen2/configuration_qwen2.py, __post_init__; qwen3 the same).
void read_qwen_window(io::ObjectReader& r, const nlohmann::json& j, ModelSpec& m) {
  // transformers checks layer_types' length whenever it is given, sliding or not.
  const std::optional<std::int64_t> listed =
      count_in_list(r, "layer_types", "sliding_attention", {"sliding_attention", "full_attention"},
                    m.layers, true);
  if (!r.optional_boolean("use_sliding_window").value_or(false)) {
    return;
  }
  const std::int64_t window =
      nullable_integer(r, j, "sliding_window", 0, model_limits::seq_len, 0, 4096);
  const std::int64_t from = r.optional_integer("max_window_layers", 0, k_big).value_or(28);
  slide(m, window, listed.value_or(std::max<std::int64_t>(0, m.layers - from)));
}

/// The mixture and attention fields of the families whose modeling code differs from Llama's
/// (transformers: models/{mixtral,qwen2_moe,qwen3_moe,deepseek_v3,gpt_oss,llama4}/modeling_*.py).
void read_family(io::ObjectReader& r, const nlohmann::json& j, Family f, ModelSpec& m,
                 const std::string& where) {
  switch (f) {
  // Which projections carry a bias, as each family's modeling code builds them (transformers:
  // models/{llama,mistral,qwen2,qwen3,gpt_neox}/modeling_*.py).
  case Family::llama: // attention_bias: q, k, v and o; mlp_bias: gate, up, down
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
    m.mlp_bias = r.optional_boolean("mlp_bias").value_or(false);
    break;
  case Family::mistral:
    // MistralAttention and MistralMLP build every projection without a bias, and every layer
    // slides over sliding_window tokens, 4096 when left out, none when null
    // (huggingface/transformers@001f85b38fb432858ace93f18622f07cec46d874:src/transformers/models/
    // mistral/configuration_mistral.py; modeling_mistral.py passes config.sliding_window).
    slide(m, nullable_integer(r, j, "sliding_window", 0, model_limits::seq_len, 0, 4096), m.layers);
    break;
  case Family::qwen2: // q, k, v always; o and the MLP never
    m.qkv_bias = true;
    read_qwen_window(r, j, m);
    break;
  case Family::qwen3:
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
    m.qk_norm = true;
    read_qwen_window(r, j, m);
    break;
  // Mixtures (transformers: models/{mixtral,qwen3_moe}/modeling_*.py): every layer sparse.
  case Family::mixtral:
    m.experts = r.integer("num_local_experts", 2, model_limits::experts);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, model_limits::experts);
    m.expert_ffn = m.ffn; // MixtralBlockSparseTop2MLP is intermediate_size wide
    // every layer slides when sliding_window is set (MixtralConfig: none when left out)
    slide(m, nullable_integer(r, j, "sliding_window", 0, model_limits::seq_len, 0, 0), m.layers);
    break;
  case Family::qwen2_moe: // Qwen2's attention; a shared expert with a sigmoid gate
  case Family::qwen3_moe:
    if (r.optional_boolean("use_sliding_window").value_or(false)) {
      // Qwen2-MoE slides every other layer below max_window_layers, Qwen3-MoE by another rule:
      // not read here (published configs leave it off)
      throw Error(fmt::format("{}: true is not modelled for this model_type (allowed false)",
                              r.at("use_sliding_window")));
    }
    if (f == Family::qwen2_moe) {
      // q, k and v biases unless qkv_bias says not (Qwen2MoeConfig.qkv_bias, default true)
      m.qkv_bias = r.optional_boolean("qkv_bias").value_or(true);
      m.shared_expert_ffn = r.integer("shared_expert_intermediate_size", 0, model_limits::ffn);
      m.shared_expert_gate = m.shared_expert_ffn > 0;
    } else {
      m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
      m.qk_norm = true;
    }
    m.experts = r.integer("num_experts", 2, model_limits::experts);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, model_limits::experts);
    m.expert_ffn = r.integer("moe_intermediate_size", 1, model_limits::ffn);
    if (const std::int64_t step = r.optional_integer("decoder_sparse_step", 1, k_big).value_or(1);
        step != 1) {
      throw Error(fmt::format("{}: {} makes some layers dense; bwplan reads mixtures whose every "
                              "layer is sparse (1)",
                              r.at("decoder_sparse_step"), step));
    }
    if (r.has("mlp_only_layers") && !j.at("mlp_only_layers").is_null() &&
        !(j.at("mlp_only_layers").is_array() && j.at("mlp_only_layers").empty())) {
      throw Error(fmt::format("{}: {} makes some layers dense; bwplan reads mixtures whose every "
                              "layer is sparse ([])",
                              r.at("mlp_only_layers"), j.at("mlp_only_layers").dump()));
    }
    break;
  case Family::deepseek_v3: {
    // Latent attention (DeepseekV3Attention): head width = nope + rope, one key per head; the
    // first first_k_dense_replace layers dense (intermediate_size), the rest n_routed_experts of
    // moe_intermediate_size and n_shared_experts of the same width. The router's
    // e_score_correction_bias is a buffer (no gradient), not a parameter.
    const std::int64_t nope = r.integer("qk_nope_head_dim", 1, model_limits::head_dim);
    m.qk_rope_head_dim = r.integer("qk_rope_head_dim", 1, model_limits::head_dim);
    m.head_dim = nope + m.qk_rope_head_dim;
    m.v_head_dim = r.integer("v_head_dim", 1, model_limits::head_dim);
    m.kv_lora_rank = r.integer("kv_lora_rank", 1, model_limits::hidden);
    // A key the config leaves out takes transformers' default, as AutoConfig reads it
    // (huggingface/transformers@001f85b38fb432858ace93f18622f07cec46d874:src/transformers/
    // models/deepseek_v3/configuration_deepseek_v3.py: q_lora_rank 1536, n_shared_experts 1,
    // first_k_dense_replace 3); q_lora_rank null is a plain query projection.
    m.q_lora_rank = nullable_integer(r, j, "q_lora_rank", 0, model_limits::hidden, 0, 1536);
    m.kv_heads = m.heads;
    m.experts = r.integer("n_routed_experts", 2, model_limits::experts);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, model_limits::experts);
    m.expert_ffn = r.integer("moe_intermediate_size", 1, model_limits::ffn);
    m.shared_expert_ffn =
        r.optional_integer("n_shared_experts", 0, model_limits::experts).value_or(1) * m.expert_ffn;
    m.dense_layers =
        r.optional_integer("first_k_dense_replace", 0, model_limits::layers).value_or(3);
    if (r.optional_integer("moe_layer_freq", 1, k_big).value_or(1) != 1) {
      throw Error(fmt::format("{}: /moe_layer_freq above 1 interleaves dense layers; bwplan reads "
                              "mixtures whose sparse layers follow first_k_dense_replace dense "
                              "ones",
                              where));
    }
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
    if (m.qkv_bias) {
      throw Error(
          fmt::format("{}: /attention_bias: latent attention with biases is not modelled", where));
    }
    break;
  }
  case Family::gpt_oss: {
    // GptOssAttention: q, k, v, o biases and a sink per head; GptOssTopKRouter with a bias;
    // GptOssExperts with gate_up_proj_bias and down_proj_bias; layer_types alternate sliding
    // and full attention.
    // Keys left out take transformers' defaults (huggingface/transformers@02b8f42b4240dddea1b27c4
    // 5d2dc95fb2682f841:src/transformers/models/gpt_oss/configuration_gpt_oss.py): head_dim 64
    // and num_key_value_heads 8 (absent_defaults), sliding_window 128 (null: none).
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(true);
    m.attention_sinks = true;
    m.experts = r.integer("num_local_experts", 2, model_limits::experts);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, model_limits::experts);
    m.expert_ffn = m.ffn;
    m.router_bias = m.expert_bias = true;
    const std::int64_t window =
        nullable_integer(r, j, "sliding_window", 0, model_limits::seq_len, 0, 128);
    const std::int64_t sliding =
        count_in_list(r, "layer_types", "sliding_attention",
                      {"sliding_attention", "full_attention"}, m.layers, true)
            // transformers' default slides layers 0, 2, 4, ...: ceil(layers / 2)
            // (huggingface/transformers configuration_gpt_oss.py, layer_types)
            .value_or((m.layers + 1) / 2);
    slide(m, window, sliding);
    break;
  }
  case Family::llama4: {
    // Llama4TextMoe: num_local_experts routed experts of intermediate_size and one shared
    // expert of the same width, in every layer when interleave_moe_layer_step is 1; chunked
    // attention of attention_chunk_size on the RoPE layers (no_rope_layers entries 1), full
    // attention on the others; the query/key norm has no weights.
    m.experts = r.integer("num_local_experts", 2, model_limits::experts);
    m.experts_per_token = r.integer("num_experts_per_tok", 1, model_limits::experts);
    m.expert_ffn = m.ffn;
    m.shared_expert_ffn = m.ffn;
    m.ffn = r.optional_integer("intermediate_size_mlp", 1, model_limits::ffn).value_or(m.ffn);
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(false);
    (void)r.optional_boolean("use_qk_norm");
    const std::int64_t step = r.optional_integer("interleave_moe_layer_step", 1, k_big).value_or(1);
    if (step != 1) {
      throw Error(fmt::format("{}: {} interleaves dense layers (Llama 4 "
                              "Maverick); bwplan reads Llama 4 mixtures whose every layer is "
                              "sparse (Scout: 1)",
                              r.at("interleave_moe_layer_step"), step));
    }
    if (r.has("moe_layers") && !every_layer_listed(r, j.at("moe_layers"), m.layers)) {
      throw Error(fmt::format("{}: lists {} of the {} layers as sparse; bwplan reads Llama 4 "
                              "mixtures whose every layer is sparse (Scout)",
                              r.at("moe_layers"), j.at("moe_layers").size(), m.layers));
    }
    // Left out, transformers' Llama4TextConfig chunks by 8192 (huggingface/transformers@b17cfe48
    // c5a9631dcf9f57f3865a055903800f81:src/transformers/models/llama4/configuration_llama4.py).
    const std::int64_t chunk =
        nullable_integer(r, j, "attention_chunk_size", 0, model_limits::seq_len, 0, 8192);
    // transformers' default: RoPE off on every fourth layer
    const std::int64_t rope_layers = count_in_list(r, "no_rope_layers", 1, {0, 1}, m.layers, false)
                                         .value_or(m.layers - m.layers / 4);
    if (chunk > 0 && rope_layers > 0) {
      m.local_attention = LocalAttention::chunked;
      m.attention_window = chunk;
      m.local_attention_layers = rope_layers;
    }
    break;
  }
  case Family::gpt_neox: // attention_bias: query_key_value and dense; the MLP always has biases
    m.norm = NormKind::layernorm;
    m.qkv_bias = m.out_bias = r.optional_boolean("attention_bias").value_or(true);
    m.mlp_bias = true;
    break;
  }
}

/// validate_model names bwplan's fields; for a config.json the message also says which of the
/// config's keys each one it names was read from.
std::string config_keys_of(std::string_view message, Family f) {
  const bool latent = f == Family::deepseek_v3;
  const std::pair<const char*, const char*> keys[] = {
      {"layers", "num_hidden_layers"},
      {"hidden", "hidden_size"},
      {"kv_heads", "num_key_value_heads"},
      {"heads", "num_attention_heads"},
      {"experts_per_token", "num_experts_per_tok"},
      {"experts", latent
                      ? "n_routed_experts"
                      : (f == Family::qwen2_moe || f == Family::qwen3_moe ? "num_experts"
                                                                          : "num_local_experts")},
      {"expert_ffn", latent || f == Family::qwen2_moe || f == Family::qwen3_moe
                         ? "moe_intermediate_size"
                         : "intermediate_size"},
      {"shared_expert_ffn",
       latent ? "n_shared_experts x moe_intermediate_size"
              : (f == Family::qwen2_moe ? "shared_expert_intermediate_size" : "intermediate_size")},
      {"dense_layers", "first_k_dense_replace"},
      {"ffn", f == Family::llama4 ? "intermediate_size_mlp" : "intermediate_size"},
      {"vocab", "vocab_size"},
      {"max_seq_len", "max_position_embeddings"},
      {"head_dim", latent ? "qk_nope_head_dim + qk_rope_head_dim" : "head_dim"},
      {"v_head_dim", "v_head_dim"},
      {"attention_window", f == Family::llama4 ? "attention_chunk_size" : "sliding_window"},
      {"local_attention_layers", f == Family::llama4 ? "no_rope_layers" : "layer_types"},
  };
  constexpr const char* k_before[] = {": ", "x ", "of "};
  std::string out;
  for (const auto& [field, key] : keys) {
    // validate_model names a field after ": ", "x " or "of ", and a space follows it (the lambda
    // captures a copy, not the binding: clang before 16, which the fuzz build uses, cannot)
    const std::string_view name = field;
    const bool named = std::any_of(std::begin(k_before), std::end(k_before), [&](const char* b) {
      return message.find(std::string(b) + std::string(name) + " ") != std::string_view::npos;
    });
    if (named && field != std::string_view(key)) {
      out += fmt::format("{}{} is the config's {}", out.empty() ? " (" : "; ", field, key);
    }
  }
  return out.empty() ? out : out + ")";
}

/// What transformers' config class gives num_key_value_heads and head_dim when a config.json
/// leaves them out (null: one key/value head per query head, and hidden_size /
/// num_attention_heads); 0 is that too. Read from each class at the commit named:
/// huggingface/transformers@008e574391258935f3ecc3035c882e73bbcac419:src/transformers/models/
/// {qwen2,qwen3,qwen2_moe,qwen3_moe,mixtral}/configuration_*.py, @001f85b38fb432858ace93f1862
/// 2f07cec46d874 mistral/configuration_mistral.py, @b17cfe48c5a9631dcf9f57f3865a055903800f81
/// llama4/configuration_llama4.py (Llama4TextConfig), @02b8f42b4240dddea1b27c45d2dc95fb2682f841
/// gpt_oss/configuration_gpt_oss.py; LlamaConfig and GPTNeoXConfig default to 0 for both.
struct AbsentDefaults {
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
};

AbsentDefaults absent_defaults(Family f) {
  switch (f) {
  case Family::qwen3: return {32, 128};
  case Family::qwen2: return {32, 0};
  case Family::qwen2_moe: return {16, 0};
  case Family::qwen3_moe: return {4, 0};
  case Family::mistral:
  case Family::mixtral: return {8, 0};
  case Family::llama4: return {8, 128}; // llama4 and llama4_text
  case Family::gpt_oss: return {8, 64};
  case Family::llama:
  case Family::gpt_neox:
  case Family::deepseek_v3: return {};
  }
  return {};
}

ModelSpec read_hf(io::ObjectReader& r, const nlohmann::json& j, Family f, const std::string& where,
                  const std::string& name) {
  const AbsentDefaults absent = absent_defaults(f);
  r.tolerate_unknown(); // HF configs carry dozens of keys bwplan does not read
  ModelSpec m;
  m.name = name;
  m.display_name = name;
  m.layers = r.integer("num_hidden_layers", 1, model_limits::layers);
  m.hidden = r.integer("hidden_size", 1, model_limits::hidden);
  m.heads = r.integer("num_attention_heads", 1, model_limits::heads);
  // null: one key/value head per query head; left out: the config class's default
  // GPT-NeoX has neither key: its fused query_key_value is 3 x hidden wide whatever a config
  // says (transformers' GPTNeoXAttention), so they are not read for it
  const bool neox = f == Family::gpt_neox;
  m.kv_heads = neox ? m.heads
                    : nullable_integer(r, j, "num_key_value_heads", 1, model_limits::heads, m.heads,
                                       absent.kv_heads > 0 ? absent.kv_heads : m.heads);
  if (!neox && !r.has("num_key_value_heads") && m.heads % m.kv_heads != 0) {
    throw Error(fmt::format("{}: num_key_value_heads is missing, and transformers' default for "
                            "this model_type, {}, does not divide num_attention_heads {} (allowed: "
                            "give num_key_value_heads)",
                            where, m.kv_heads, m.heads));
  }
  const std::int64_t d =
      neox ? 0 : nullable_integer(r, j, "head_dim", 1, model_limits::head_dim, 0, absent.head_dim);
  // Only record it when it differs from hidden / heads; no d * heads: both may be 2^40.
  if (d > 0 && (m.hidden % m.heads != 0 || m.hidden / m.heads != d)) {
    m.head_dim = d;
  }
  m.ffn = r.integer("intermediate_size", 1, model_limits::ffn);
  m.vocab = r.integer("vocab_size", 1, model_limits::vocab);
  m.max_seq_len =
      r.optional_integer("max_position_embeddings", 1, model_limits::seq_len).value_or(4096);
  m.tied_embeddings = r.optional_boolean("tie_word_embeddings").value_or(false);
  // GPTNeoXConfig's hidden_act is gelu when left out, the others' silu
  m.mlp = mlp_of(r.optional_string("hidden_act").value_or(neox ? "gelu" : "silu"), where, f);
  m.position = PositionKind::rope;
  read_family(r, j, f, m, where);
  for (const char* key : {"num_local_experts", "num_experts", "n_routed_experts"}) {
    if (!m.is_moe() && r.has(key)) {
      throw Error(fmt::format("{}: a mixture-of-experts key in a dense model_type; a mixture's "
                              "config names its own model_type (mixtral, qwen2_moe, qwen3_moe, "
                              "deepseek_v3, gpt_oss, llama4)",
                              r.at(key)));
    }
  }
  m.sources = {fmt::format("Hugging Face config.json: {}", where)};
  try {
    validate_model(m, where);
  } catch (const Error& e) {
    throw Error(e.what() + config_keys_of(e.what(), f));
  }
  return m;
}

} // namespace

ModelSpec io::hf_config_from_json(const nlohmann::json& j, const std::string& where,
                                  const std::string& name) {
  io::ObjectReader r(j, where);
  if (!r.has("model_type")) {
    throw Error(fmt::format("{}: /model_type is missing: a Hugging Face config.json names its "
                            "architecture (allowed {})",
                            where, k_allowed));
  }
  r.tolerate_unknown();
  const std::string model_type = r.string("model_type");
  const Family f = family_of(model_type, where);
  if (model_type == "llama4") { // the text model of Llama4ForConditionalGeneration
    io::ObjectReader text = r.object("text_config");
    return read_hf(text, j.at("text_config"), f, where, name);
  }
  return read_hf(r, j, f, where, name);
}

} // namespace bwplan
