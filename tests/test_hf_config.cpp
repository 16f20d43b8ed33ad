#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
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
      parse_hf_config(R"({"model_type": "mixtral", "hidden_size": 4096})", "c.json", "m"),
      Catch::Contains("c.json") && Catch::Contains("mixture-of-experts"));
  CHECK_THROWS_WITH(parse_hf_config(R"({"model_type": "t5"})", "c.json", "m"),
                    Catch::Contains("'t5' is not supported"));
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
