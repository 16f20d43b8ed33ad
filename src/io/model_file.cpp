#include "model_file.hpp"

#include <fmt/format.h>

#include "bwplan/catalog.hpp"
#include "bwplan/enums.hpp"
#include "bwplan/error.hpp"
#include "bwplan/utf8.hpp"

namespace bwplan::io {

namespace {

template <class E> E read_enum(ObjectReader& r, const std::string& key) {
  const std::string s = r.string(key);
  return parse_enum_or_throw<E>(s, r.at(key));
}

} // namespace

ModelSpec read_model_fields(ObjectReader& r) {
  // Ranges here only keep the JSON sane; validate_model() applies the real limits, so a count
  // below them is left to it ("layers = -1 ... allowed 1..4096", not the reader's 1..2^40).
  constexpr std::int64_t big = std::int64_t{1} << 40;
  constexpr std::int64_t low = -big;
  ModelSpec m;
  // Names reach tables, warnings and file names: a control character would break a line or
  // drive the terminal.
  m.name = r.printable_string("name");
  m.display_name = r.optional_printable_string("display_name").value_or(m.name);
  m.layers = r.integer("layers", low, big);
  m.hidden = r.integer("hidden", low, big);
  m.heads = r.integer("heads", low, big);
  m.kv_heads = r.integer("kv_heads", low, big);
  m.ffn = r.integer("ffn", low, big);
  m.vocab = r.integer("vocab", low, big);
  m.mlp = read_enum<MlpKind>(r, "mlp");
  m.norm = read_enum<NormKind>(r, "norm");
  m.position = read_enum<PositionKind>(r, "position");
  m.tied_embeddings = r.boolean("tied_embeddings");
  m.max_seq_len = r.integer("max_seq_len", low, big);
  // 0 is "derived from hidden / heads" when absent; given, it is a width like any other
  m.head_dim = r.optional_integer("head_dim", 1, model_limits::head_dim).value_or(0);
  m.qk_norm = r.optional_boolean("qk_norm").value_or(false);
  m.qkv_bias = r.optional_boolean("qkv_bias").value_or(false);
  m.linear_bias = r.optional_boolean("linear_bias").value_or(false);
  m.out_bias = r.optional_boolean("attention_out_bias").value_or(false);
  m.mlp_bias = r.optional_boolean("mlp_bias").value_or(false);
  m.experts = r.optional_integer("experts", 0, big).value_or(0);
  m.experts_per_token = r.optional_integer("experts_per_token", 0, big).value_or(0);
  m.expert_ffn = r.optional_integer("expert_ffn", 0, big).value_or(0);
  if (m.experts > 0) {
    // a mixture names how many experts a token takes and how wide each is: a key left out is
    // said to be missing, not read as 0 and blamed as a value out of range
    for (const char* key : {"experts_per_token", "expert_ffn"}) {
      if (!r.has(key)) {
        throw Error(fmt::format("{}: is missing: a model with experts ({}) needs it", r.at(key),
                                m.experts));
      }
    }
  }
  m.shared_expert_ffn = r.optional_integer("shared_expert_ffn", 0, big).value_or(0);
  m.shared_expert_gate = r.optional_boolean("shared_expert_gate").value_or(false);
  m.dense_layers = r.optional_integer("dense_layers", 0, big).value_or(0);
  m.router_bias = r.optional_boolean("router_bias").value_or(false);
  m.expert_bias = r.optional_boolean("expert_bias").value_or(false);
  m.v_head_dim = r.optional_integer("v_head_dim", 0, big).value_or(0);
  m.kv_lora_rank = r.optional_integer("kv_lora_rank", 0, big).value_or(0);
  m.q_lora_rank = r.optional_integer("q_lora_rank", 0, big).value_or(0);
  m.qk_rope_head_dim = r.optional_integer("qk_rope_head_dim", 0, big).value_or(0);
  m.attention_sinks = r.optional_boolean("attention_sinks").value_or(false);
  if (r.has("local_attention")) {
    m.local_attention = read_enum<LocalAttention>(r, "local_attention");
  }
  m.attention_window = r.optional_integer("attention_window", 0, big).value_or(0);
  m.local_attention_layers = r.optional_integer("local_attention_layers", 0, big).value_or(0);
  // Local attention needs both: a missing one is said to be missing, not read as an "= 0".
  if (m.local_attention != LocalAttention::none) {
    for (const char* key : {"attention_window", "local_attention_layers"}) {
      if (!r.has(key)) {
        throw Error(fmt::format("{}: missing required key: local_attention {} needs it", r.at(key),
                                name_of(m.local_attention)));
      }
    }
  }
  if (const std::size_t chars = utf8_characters(m.name);
      chars == 0 || chars > k_max_model_name_chars) {
    throw Error(fmt::format("{}: must be 1..{} characters (it has {})", r.at("name"),
                            k_max_model_name_chars, chars));
  }
  return m;
}

ModelSpec read_model_object(ObjectReader& r, const std::string& where) {
  r.allow({"schema_version"});
  if (r.has("schema_version")) {
    (void)r.integer("schema_version", 1, 1);
  }
  ModelSpec m = read_model_fields(r);
  if (r.has("sources")) {
    m.sources = r.printable_string_list("sources");
  }
  r.finish();
  validate_model(m, where);
  return m;
}

ModelSpec model_file_from_json(const nlohmann::json& j, const std::string& where) {
  ObjectReader r(j, where);
  return read_model_object(r, where);
}

} // namespace bwplan::io

namespace bwplan {

ModelSpec parse_model_file(std::string_view text, const std::string& where) {
  return io::model_file_from_json(io::parse_json(text, where), where);
}

} // namespace bwplan
