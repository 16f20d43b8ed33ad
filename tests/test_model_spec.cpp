#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "io/model_file.hpp"
#include "test_support.hpp"

using namespace bwplan;

TEST_CASE("Llama-3.1-8B parameters by hand", "[model_spec]") {
  const ParamCounts c = count_parameters(test::llama3_8b());
  // attention: q 4096^2 + k,v 2*1024*4096 + o 4096^2 = 41,943,040; MLP 3*4096*14336 =
  // 176,160,768; norms 2*4096 = 8,192 -> 218,112,000 per block.
  CHECK(c.per_block == 218'112'000);
  CHECK(c.blocks == 32 * 218'112'000LL);
  CHECK(c.embedding == 128256LL * 4096);
  CHECK(c.output == 128256LL * 4096);
  CHECK(c.final_norm == 4096);
  CHECK(c.total == 8'030'261'248LL);
  CHECK(c.non_embedding() == c.total - 128256LL * 4096);
}

TEST_CASE("tied embeddings are counted once", "[model_spec]") {
  ModelSpec m = test::llama3_8b();
  const std::int64_t untied = count_parameters(m).total;
  m.tied_embeddings = true;
  CHECK(count_parameters(m).total == untied - 128256LL * 4096);
  CHECK(count_parameters(m).output == 0);
}

TEST_CASE("every preset has its exact published parameter count", "[model_spec][catalog]") {
  const Catalog cat = builtin_catalog();
  const auto expected = nlohmann::json::parse(test::fixture("expected_params.json"));
  CHECK(expected.size() == cat.models.size()); // every preset, not only those listed
  REQUIRE(expected.size() >= 7);
  for (const auto& [name, count] : expected.items()) {
    INFO(name);
    const ModelSpec* m = cat.find_model(name);
    REQUIRE(m != nullptr);
    CHECK(count_parameters(*m).total == count.get<std::int64_t>());
  }
  // The presets the issue names, with the values it quotes.
  CHECK(count_parameters(*cat.find_model("llama-3.1-8b")).total == 8'030'261'248LL);
  CHECK(count_parameters(*cat.find_model("llama-3.1-70b")).total == 70'553'706'496LL);
}

TEST_CASE("validate_model rejects impossible shapes with the field named", "[model_spec]") {
  ModelSpec m = test::llama3_8b();
  m.kv_heads = 64;
  CHECK_THROWS_WITH(validate_model(m, "x.json"), Catch::Contains("x.json") &&
                                                     Catch::Contains("kv_heads") &&
                                                     Catch::Contains("out of range"));
  m = test::llama3_8b();
  m.kv_heads = 6;
  m.heads = 32;
  CHECK_THROWS_WITH(validate_model(m, "x.json"), Catch::Contains("not a multiple of kv_heads"));
  m = test::llama3_8b();
  m.layers = 1'000'000'000'000'000'000LL;
  CHECK_THROWS_WITH(validate_model(m, "x.json"), Catch::Contains("layers"));
  m = test::llama3_8b();
  m.hidden = 4100;
  CHECK_THROWS_WITH(validate_model(m, "x.json"), Catch::Contains("set head_dim"));
  m.head_dim = 128;
  CHECK_NOTHROW(validate_model(m, "x.json"));
  // A model file's count below its range is named with the real range, not the reader's 2^40.
  nlohmann::json file =
      nlohmann::json::parse(read_text_file(test::source_path("configs/models/llama-3.1-8b.json")));
  file["layers"] = -1;
  CHECK_THROWS_WITH(io::model_file_from_json(file, "m.json"),
                    Catch::Equals("m.json: layers = -1 is out of range (allowed 1..4096)"));
  file["layers"] = 32;
  file["head_dim"] = 0;
  CHECK_THROWS_WITH(io::model_file_from_json(file, "m.json"),
                    Catch::Contains("/head_dim") && Catch::Contains("1..4096"));
  // Local attention without its window was refused as "attention_window = 0 is out of range", a
  // value the file never wrote (red team, 2026-12-08).
  file.erase("head_dim");
  file["local_attention"] = "sliding";
  file["local_attention_layers"] = 16;
  CHECK_THROWS_WITH(io::model_file_from_json(file, "m.json"),
                    Catch::Equals("m.json: /attention_window: missing required key: "
                                  "local_attention sliding needs it"));
  file["attention_window"] = 4096;
  file.erase("local_attention_layers");
  CHECK_THROWS_WITH(io::model_file_from_json(file, "m.json"),
                    Catch::Contains("/local_attention_layers: missing required key"));
  file["local_attention_layers"] = 16;
  CHECK_NOTHROW(io::model_file_from_json(file, "m.json"));
}

TEST_CASE("parameter tensors list the FSDP groups in module order", "[model_spec]") {
  const auto t = parameter_tensors(test::llama3_8b());
  REQUIRE(t.front().name == "tok_embeddings");
  CHECK(t.front().group == ParamGroup::embedding);
  CHECK(t.back().name == "output");
  CHECK(t.back().group == ParamGroup::output);
  std::int64_t blocks = 0;
  for (const auto& p : t) {
    if (p.group == ParamGroup::block) {
      CHECK(p.count == 32);
      blocks += p.numel();
    }
  }
  CHECK(blocks == 218'112'000);
}
