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
