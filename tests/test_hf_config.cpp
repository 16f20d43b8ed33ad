#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "bwplan/training_config.hpp"
#include "test_support.hpp"

using namespace bwplan;

TEST_CASE("Hugging Face configs give the exact parameter counts", "[hf_config]") {
  const auto expected = nlohmann::json::parse(test::fixture("hf/expected.json"));
  REQUIRE(expected.size() == 6);
  for (const auto& [file, e] : expected.items()) {
    INFO(file);
    const ModelSpec m = parse_hf_config(test::fixture("hf/" + file), file, file);
    CHECK(count_parameters(m).total == e.at("params").get<std::int64_t>());
    CHECK(m.layers == e.at("layers").get<std::int64_t>());
    CHECK(m.hidden == e.at("hidden").get<std::int64_t>());
    CHECK(m.heads == e.at("heads").get<std::int64_t>());
    CHECK(m.kv_heads == e.at("kv_heads").get<std::int64_t>());
    CHECK(m.ffn == e.at("ffn").get<std::int64_t>());
    CHECK(m.vocab == e.at("vocab").get<std::int64_t>());
    CHECK(m.effective_head_dim() == e.at("head_dim").get<std::int64_t>());
    CHECK(m.tied_embeddings == e.at("tied_embeddings").get<bool>());
    CHECK(name_of(m.mlp) == e.at("mlp").get<std::string>());
    CHECK(name_of(m.norm) == e.at("norm").get<std::string>());
  }
}

TEST_CASE("keys a config.json leaves out take its transformers class's defaults", "[hf_config]") {
  // Qwen3Config defaults head_dim to 128 and num_key_value_heads to 32 (transformers@008e5743):
  // without head_dim bwplan read hidden / heads = 64 and counted 1.24B for a 1.40B model.
  const std::string base = R"("num_hidden_layers": 28, "hidden_size": 2048,
      "num_attention_heads": 32, "intermediate_size": 6144, "vocab_size": 151936)";
  const ModelSpec qwen3 = parse_hf_config(
      R"({"model_type": "qwen3", "num_key_value_heads": 8, )" + base + "}", "q.json", "q");
  CHECK(qwen3.effective_head_dim() == 128);
  CHECK(qwen3.kv_heads == 8);
  const ModelSpec stated = parse_hf_config(
      R"({"model_type": "qwen3", "num_key_value_heads": 8, "head_dim": 128, )" + base + "}",
      "q.json", "q");
  CHECK(count_parameters(qwen3).total == count_parameters(stated).total);
  CHECK(parse_hf_config(R"({"model_type": "qwen3", )" + base + "}", "q.json", "q").kv_heads == 32);
  // null is the class's "derive it": one key/value head per query head, hidden / heads
  const ModelSpec nulls = parse_hf_config(
      R"({"model_type": "qwen3", "num_key_value_heads": null, "head_dim": null, )" + base + "}",
      "q.json", "q");
  CHECK(nulls.kv_heads == 32);
  CHECK(nulls.effective_head_dim() == 64);
  // Mistral, Mixtral: 8 key/value heads; Qwen2: 32; Qwen2-MoE: 16; Qwen3-MoE: 4; Llama: one per
  // query head
  for (const auto& [type, kv] : std::vector<std::pair<std::string, std::int64_t>>{
           {"mistral", 8}, {"qwen2", 32}, {"llama", 32}}) {
    INFO(type);
    CHECK(parse_hf_config(R"({"model_type": ")" + type + R"(", )" + base + "}", "c.json", "c")
              .kv_heads == kv);
  }
  // a default the heads cannot take is said to be one, not blamed on a value the file never had
  CHECK_THROWS_WITH(
      parse_hf_config(R"({"model_type": "mistral", "num_hidden_layers": 2, "hidden_size": 64,
          "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000})",
                      "c.json", "m"),
      Catch::Contains("c.json: num_key_value_heads is missing, and transformers' default for "
                      "this model_type, 8, does not divide num_attention_heads 4"));
}

TEST_CASE("each family reads only the keys its transformers modeling code uses", "[hf_config]") {
  const auto params = [](const std::string& text) {
    return count_parameters(parse_hf_config(text, "c.json", "c")).total;
  };
  // GPT-NeoX builds query_key_value 3 x hidden wide whatever num_key_value_heads or head_dim say
  // (transformers' GPTNeoXAttention): read, they cut pythia-1.4b by 10.7 % and 14.2 %
  const std::string neox = test::fixture("hf/pythia-160m.config.json");
  const std::int64_t pythia = params(neox);
  for (const char* extra : {R"("num_key_value_heads": 4,)", R"("head_dim": 32,)"}) {
    INFO(extra);
    CHECK(params("{" + std::string(extra) + neox.substr(neox.find('{') + 1)) == pythia);
  }
  // ... and its hidden_act is gelu when left out (it was refused as "silu")
  nlohmann::json no_act = nlohmann::json::parse(neox);
  no_act.erase("hidden_act");
  CHECK(params(no_act.dump()) == pythia);
  // Mistral: no biases whatever attention_bias says; every layer slides over sliding_window,
  // 4096 when left out, none when null
  nlohmann::json mistral = nlohmann::json::parse(test::fixture("hf/mistral-7b-v0.3.config.json"));
  REQUIRE(mistral.at("sliding_window").is_null());
  const ModelSpec v03 = parse_hf_config(mistral.dump(), "c.json", "c");
  CHECK(v03.local_attention == LocalAttention::none);
  mistral.erase("sliding_window");
  mistral["attention_bias"] = true;
  const ModelSpec v01 = parse_hf_config(mistral.dump(), "c.json", "c");
  CHECK(v01.local_attention == LocalAttention::sliding);
  CHECK(v01.attention_window == 4096);
  CHECK(v01.local_attention_layers == v01.layers);
  CHECK(count_parameters(v01).total == count_parameters(v03).total);
  // Qwen2 with use_sliding_window: the layers from max_window_layers on slide
  nlohmann::json qwen = nlohmann::json::parse(test::fixture("hf/qwen2.5-14b.config.json"));
  CHECK(parse_hf_config(qwen.dump(), "c.json", "c").local_attention == LocalAttention::none);
  qwen["use_sliding_window"] = true;
  qwen["sliding_window"] = 4096;
  qwen["max_window_layers"] = 14;
  const ModelSpec windowed = parse_hf_config(qwen.dump(), "c.json", "c");
  CHECK(windowed.local_attention == LocalAttention::sliding);
  CHECK(windowed.local_attention_layers == windowed.layers - 14);
  qwen["layer_types"] = nlohmann::json::array(); // kept by transformers, so 0 of 48 entries
  CHECK_THROWS_WITH(parse_hf_config(qwen.dump(), "c.json", "c"),
                    Catch::Contains("/layer_types: must be a list of exactly num_hidden_layers"));
  qwen["use_sliding_window"] = false; // checked whenever given, as transformers does
  CHECK_THROWS_WITH(parse_hf_config(qwen.dump(), "c.json", "c"),
                    Catch::Contains("/layer_types: must be a list of exactly num_hidden_layers"));
  // Qwen2-MoE: qkv_bias false drops the q, k, v biases; a sliding window is refused, not ignored
  const std::string moe = R"({"model_type": "qwen2_moe", "num_hidden_layers": 2,
      "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4,
      "intermediate_size": 128, "vocab_size": 1000, "num_experts": 4, "num_experts_per_tok": 2,
      "moe_intermediate_size": 32, "shared_expert_intermediate_size": 64)";
  CHECK(params(moe + "}") - params(moe + R"(, "qkv_bias": false})") == 2 * (64 + 64 + 64));
  CHECK_THROWS_WITH(parse_hf_config(moe + R"(, "use_sliding_window": true})", "c.json", "c"),
                    Catch::Contains("c.json: /use_sliding_window: true is not modelled"));
}

TEST_CASE("Qwen3-32B keeps its explicit head_dim (64 x 128 != 5120)", "[hf_config]") {
  const ModelSpec m = parse_hf_config(test::fixture("hf/qwen3-32b.config.json"), "q", "qwen3-32b");
  CHECK(m.head_dim == 128);
  CHECK(m.q_dim() == 8192);
  CHECK(m.hidden == 5120);
  CHECK(m.qk_norm);
  CHECK(count_parameters(m).total == 32'762'123'264LL);
}

TEST_CASE("HF configs that bwplan cannot model are refused by name", "[hf_config]") {
  CHECK_THROWS_WITH(
      parse_hf_config(R"({"model_type": "jamba", "hidden_size": 4096})", "c.json", "m"),
      Catch::StartsWith("c.json: /model_type: \"jamba\" is not supported (allowed llama,") &&
          Catch::Contains("deepseek_v3, gpt_oss, llama4"));
  CHECK_THROWS_WITH(
      parse_hf_config(R"({"model_type": "deepseek_v3", "hidden_size": 4096})", "c.json", "m"),
      Catch::StartsWith("c.json: /num_hidden_layers: missing required key"));
  CHECK_THROWS_WITH(
      parse_hf_config(R"({"model_type": "qwen3_moe", "num_hidden_layers": 2, "hidden_size": 64,
          "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000,
          "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32,
          "mlp_only_layers": [0]})",
                      "c.json", "m"),
      Catch::Contains("c.json: /mlp_only_layers: [0] makes some layers dense"));
  CHECK_THROWS_WITH(
      parse_hf_config(R"({"model_type": "mixtral", "num_hidden_layers": 2, "hidden_size": 64,
          "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000,
          "num_local_experts": 4, "num_experts_per_tok": 5, "num_key_value_heads": 4})",
                      "c.json", "m"),
      Catch::Contains("c.json: experts_per_token = 5 is out of range (allowed 1..4)"));
  CHECK_THROWS_WITH(parse_hf_config(R"({"model_type": "t5"})", "c.json", "m"),
                    Catch::Contains("\"t5\" is not supported"));
  CHECK_THROWS_WITH(
      parse_hf_config(R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": "4096"})",
                      "c.json", "m"),
      Catch::Contains("/hidden_size") && Catch::Contains("expected an integer"));
}

TEST_CASE("the model flag accepts an HF config path and names the model after its folder",
          "[hf_config]") {
  const Catalog cat = builtin_catalog();
  const ModelSpec m =
      resolve_model(cat, test::source_path("tests/fixtures/hf/llama-3.1-8b.config.json"));
  CHECK(m.name == "llama-3.1-8b.config");
  CHECK(count_parameters(m).total == 8'030'261'248LL);
  CHECK_THROWS_WITH(resolve_model(cat, "llama-3.1-8"),
                    Catch::Contains("did you mean 'llama-3.1-8b'"));
}

TEST_CASE("biases are counted as the config says", "[hf_config]") {
  // A tiny Llama by hand: h 64, 4 heads of 16 (q 64), 2 KV heads (kv 32), FFN 128, vocab 1000,
  // 2 layers, untied. One block without biases: wq 4096 + wk 2048 + wv 2048 + wo 4096 + two norms
  // 128 + w1, w3, w2 3 x 8192 = 36992; embedding and output 2 x 64000, final norm 64.
  const std::string llama = R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64,
      "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
      "vocab_size": 1000)";
  CHECK(count_parameters(parse_hf_config(llama + "}", "l", "l")).total == 2 * 36992 + 128064);
  // attention_bias: q, k, v (64 + 32 + 32) and o (64) per block
  const ModelSpec att = parse_hf_config(llama + R"(, "attention_bias": true})", "l", "l");
  CHECK(count_parameters(att).total == 2 * (36992 + 128 + 64) + 128064);
  // mlp_bias: gate and up (2 x 128) and down (64)
  const ModelSpec mlp = parse_hf_config(llama + R"(, "mlp_bias": true})", "l", "l");
  CHECK(count_parameters(mlp).total == 2 * (36992 + 320) + 128064);
  // GPT-NeoX, one layer, h 64, 4 heads (MHA), FFN 256, GELU, LayerNorm: wq, wk, wv, wo 4 x 4096,
  // two LayerNorms 2 x 128, dense_h_to_4h and dense_4h_to_h 2 x 16384, MLP biases 256 + 64
  // always; attention_bias false drops only the query_key_value (192) and dense (64) biases.
  const std::string neox = R"({"model_type": "gpt_neox", "num_hidden_layers": 1,
      "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 256, "vocab_size": 1000,
      "hidden_act": "gelu")";
  const std::int64_t neox_block = 4 * 4096 + 2 * 128 + 2 * 16384 + 256 + 64;
  const std::int64_t neox_rest = 2 * 64000 + 128;
  CHECK(count_parameters(parse_hf_config(neox + R"(, "attention_bias": false})", "n", "n")).total ==
        neox_block + neox_rest);
  CHECK(count_parameters(parse_hf_config(neox + "}", "n", "n")).total ==
        neox_block + 192 + 64 + neox_rest);
}

TEST_CASE("mixtures of experts are counted exactly", "[hf_config][moe]") {
  // Published: Mixtral 8x7B 46.7B total, 12.9B per token (mistral.ai/news/mixtral-of-experts);
  // Qwen3-30B-A3B 30.5B / 3.3B and Qwen3-235B-A22B 235B / 22B (their model cards).
  // By hand for Mixtral: a block is attention 4096 x (4096 + 1024 + 1024) + 4096 x 4096 =
  // 41,943,040, two norms 8,192, router 8 x 4096 = 32,768 and 8 experts of 3 x 14336 x 4096 =
  // 176,160,768 each: 1,451,270,144; x 32 + embedding and output 2 x 131,072,000 + norm 4096 =
  // 46,702,792,704. Per token 6 of the 8 experts idle: minus 32 x 6 x 176,160,768.
  const Catalog cat = builtin_catalog();
  const ModelSpec& mixtral = *cat.find_model("mixtral-8x7b");
  CHECK(count_parameters(mixtral).total == 46'702'792'704LL);
  CHECK(active_parameters(mixtral) == 46'702'792'704LL - 32LL * 6 * 176'160'768);
  CHECK(active_parameters(mixtral) == 12'879'925'248LL);
  const ModelSpec& a3b = *cat.find_model("qwen3-30b-a3b");
  CHECK(count_parameters(a3b).total == 30'532'122'624LL);
  CHECK(active_parameters(a3b) == 3'353'032'704LL);
  const ModelSpec& a22b = *cat.find_model("qwen3-235b-a22b");
  CHECK(count_parameters(a22b).total == 235'093'634'560LL);
  CHECK(active_parameters(a22b) == 22'190'763'520LL);
  const ModelSpec& dense = *cat.find_model("llama-3.1-8b");
  CHECK(active_parameters(dense) == count_parameters(dense).total);
  // The HF config.json of Mixtral reads to the preset's shape.
  const ModelSpec hf = parse_hf_config(R"({"model_type": "mixtral", "num_hidden_layers": 32,
      "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
      "intermediate_size": 14336, "vocab_size": 32000, "max_position_embeddings": 32768,
      "num_local_experts": 8, "num_experts_per_tok": 2, "tie_word_embeddings": false,
      "hidden_act": "silu"})",
                                       "config.json", "mixtral");
  CHECK(count_parameters(hf).total == count_parameters(mixtral).total);
  CHECK(active_parameters(hf) == active_parameters(mixtral));
  // Qwen1.5-MoE-A2.7B's config.json (qwen2_moe), by hand: attention 4 x 2048^2 + q, k, v biases
  // 6,144, two norms 4,096, router 60 x 2048, 60 experts of 3 x 1408 x 2048 = 8,650,752, a shared
  // expert 3 x 5632 x 2048 = 34,603,008 and its gate 2,048: 570,560,512 per block; x 24 +
  // embedding and output 2 x 151936 x 2048 + 2048 = 14,315,784,192 (the model card: 14.3B in
  // total, 2.7B activated). A token skips 56 of the 60 routed experts.
  const ModelSpec q15 = parse_hf_config(R"({"model_type": "qwen2_moe", "num_hidden_layers": 24,
      "hidden_size": 2048, "num_attention_heads": 16, "num_key_value_heads": 16,
      "intermediate_size": 5632, "moe_intermediate_size": 1408,
      "shared_expert_intermediate_size": 5632, "num_experts": 60, "num_experts_per_tok": 4,
      "decoder_sparse_step": 1, "mlp_only_layers": [], "vocab_size": 151936,
      "tie_word_embeddings": false, "hidden_act": "silu"})",
                                        "config.json", "qwen1.5-moe");
  CHECK(count_parameters(q15).total == 24LL * 570'560'512 + 2LL * 151936 * 2048 + 2048);
  CHECK(count_parameters(q15).total == 14'315'784'192LL);
  CHECK(active_parameters(q15) == 14'315'784'192LL - 24LL * 56 * 8'650'752);
  CHECK(active_parameters(q15) == 2'689'173'504LL);
}
