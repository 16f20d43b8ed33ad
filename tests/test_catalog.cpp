#include <array>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "bwplan/catalog.hpp"
#include "bwplan/error.hpp"
#include "bwplan/estimate.hpp"
#include "test_support.hpp"

using namespace bwplan;

namespace {

const char* k_gpu = R"({
  "schema_version": 1, "name": "g", "display_name": "G", "memory_bytes": 1e9,
  "hbm_bandwidth_bytes_per_s": 1e12, "dense_flops_per_s": {"fp32": 1e13, "bf16": 1e14},
  "nvlink_bandwidth_bytes_per_s": 1e11, "compute_capability": "9.0", "tdp_watts": 700,
  "flash2_attention_speed_ratio": 0.62,
  "supported_precisions": ["bf16"], "sources": ["test"]})";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const std::size_t p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

} // namespace

TEST_CASE("every file in configs/ validates, and the built-in copy matches it", "[catalog]") {
  const Catalog disk = load_catalog(read_catalog_dir(test::source_path("configs")), "configs");
  const Catalog builtin = builtin_catalog();
  CHECK(disk.gpus.size() == builtin.gpus.size());
  CHECK(disk.instances.size() == builtin.instances.size());
  CHECK(disk.models.size() == builtin.models.size());
  for (const char* g : {"a100-sxm-40gb", "a100-sxm-80gb", "h100-sxm-80gb", "h100-hbm2e-96gb",
                        "h200", "b200", "b300", "gb200", "mi300x"}) {
    CHECK_NOTHROW(disk.gpu(g));
  }
  for (const char* i : {"ml.p6-b200.48xlarge", "ml.p6-b300.48xlarge", "ml.p5.48xlarge",
                        "ml.p5e.48xlarge", "ml.p5en.48xlarge", "ml.p4d.24xlarge"}) {
    CHECK_NOTHROW(disk.instance(i));
  }
  for (const char* m : {"llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "qwen2.5-14b",
                        "qwen2.5-32b", "llama-3.1-70b", "llama-3.1-405b"}) {
    CHECK(disk.find_model(m) != nullptr);
  }
}

TEST_CASE("GPU memory is what the driver reports, not the nameplate", "[catalog]") {
  const Catalog c = builtin_catalog();
  CHECK(c.gpu("b200").memory_bytes == 183359.0 * 1048576);
  CHECK(c.gpu("b300").memory_bytes == 275040.0 * 1048576);
  CHECK(c.gpu("b200").supports(Precision::mxfp8));
  CHECK_FALSE(c.gpu("h100-sxm-80gb").supports(Precision::mxfp8));
  CHECK_FALSE(c.gpu("a100-sxm-80gb").supports(Precision::fp8_tensorwise));
  CHECK(c.instance("ml.p6-b200.48xlarge").gpu == "b200");
  CHECK(c.instance("ml.p6-b200.48xlarge").gpus_per_node == 8);
}

TEST_CASE("a plan must fit in what CUDA reports, not in the driver's total", "[catalog]") {
  const Catalog c = builtin_catalog();
  const double reserved = MemoryConstants{}.driver_reserved_bytes;
  const double gib = 1024.0 * 1024 * 1024;
  // Published CUDA totals (PyTorch's "total capacity"): B200 178.35 GiB, H200 139.80, GB200
  // 184.28 (configs/gpus sources), each 0.60-0.76 GiB under nvidia-smi's total.
  CHECK(c.gpu("b200").allocatable_bytes(reserved) / gib == Approx(178.35).margin(0.005));
  CHECK(c.gpu("h200").allocatable_bytes(reserved) / gib == Approx(139.80).margin(0.005));
  CHECK(c.gpu("gb200").allocatable_bytes(reserved) / gib == Approx(184.28).margin(0.005));
  for (const char* name : {"b200", "h200", "gb200"}) {
    const GpuSpec& g = c.gpu(name);
    CHECK(g.memory_bytes - g.cuda_total_bytes <= reserved); // the default covers every one
    CHECK(g.memory_bytes - g.cuda_total_bytes >= 0.6 * gib);
  }
  // Unpublished: the driver's total less the largest published reservation.
  CHECK(c.gpu("b300").allocatable_bytes(reserved) == 275040.0 * 1048576 - 0.82e9);
  // An estimate's capacity is that, and --headroom takes its share of it.
  EstimateRequest q;
  q.model = *c.find_model("llama-3.1-8b");
  q.gpu = c.gpu("b200");
  CHECK(evaluate(q).memory.capacity_bytes == c.gpu("b200").cuda_total_bytes);
}

TEST_CASE("catalog files are schema-checked", "[catalog]") {
  const auto load = [](const std::string& text) {
    return load_catalog({{"configs/gpus/g.json", text}}, "test");
  };
  CHECK(load(k_gpu).gpus.size() == 1);
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"tdp_watts\"", "\"tdp_wats\"")),
                    Catch::Contains("configs/gpus/g.json: /tdp_wats: unknown key") &&
                        Catch::Contains("did you mean 'tdp_watts'"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"memory_bytes\": 1e9", "\"memory_bytes\": \"1e9\"")),
                    Catch::Contains("/memory_bytes: expected a number, got string"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"memory_bytes\": 1e9", "\"memory_bytes\": -1")),
                    Catch::Contains("/memory_bytes: -1 is out of range"));
  // Physical floors, as --set has (a 2.5 B/s link planned a 266-billion-second step), whole
  // bytes, and a compute capability that reads as one.
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"memory_bytes\": 1e9", "\"memory_bytes\": 1e9.5")),
                    Catch::Contains("invalid JSON"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"memory_bytes\": 1e9", "\"memory_bytes\": 1000000000.5")),
                    Catch::Contains("/memory_bytes: 1000000000.5 is not a whole number of bytes"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"nvlink_bandwidth_bytes_per_s\": 1e11",
                                 "\"nvlink_bandwidth_bytes_per_s\": 2.5")),
                    Catch::Contains("/nvlink_bandwidth_bytes_per_s: 2.5 is out of range"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"tdp_watts\": 700", "\"tdp_watts\": 2.5")),
                    Catch::Contains("/tdp_watts: 2.5 is out of range"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"9.0\"", "\"x\"")),
                    Catch::Contains("/compute_capability: 'x' is not a compute capability"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"sources\": [\"test\"]", "\"sources\": []")),
                    Catch::Contains("/sources: must list at least one source"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"fp32\": 1e13, ", "")),
                    Catch::Contains("/dense_flops_per_s/fp32: missing required key"));
  // and not blamed on a valid neighbour near its name ("/dense_flops_per_s/fp8: unknown key")
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"fp32\": 1e13, ", "\"fp8\": 2e14, ")),
                    Catch::Contains("/dense_flops_per_s/fp32: missing required key") &&
                        !Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "[\"bf16\"]", "[\"bf61\"]")),
                    Catch::Contains("did you mean 'bf16'"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"name\": \"g\"", "\"name\": \"h\"")),
                    Catch::Contains("does not match the file name"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"schema_version\": 1", "\"schema_version\": 2")),
                    Catch::Contains("/schema_version"));
  // a precision the part trains in needs its own rate (else it would run at the bf16 rate)
  CHECK_THROWS_WITH(load(replace(k_gpu, "[\"bf16\"]", "[\"bf16\", \"mxfp8\"]")),
                    Catch::Contains("/dense_flops_per_s/mxfp8: missing, but 'mxfp8' is in "
                                    "supported_precisions"));
  CHECK(load(replace(replace(k_gpu, "[\"bf16\"]", "[\"bf16\", \"fp8-rowwise\"]"), "\"bf16\": 1e14}",
                     "\"bf16\": 1e14, \"fp8\": 2e14}"))
            .gpus.size() == 1);
  CHECK_THROWS_WITH(load(replace(k_gpu, "[\"test\"]", "[\"te\\u001bst\"]")),
                    Catch::Contains("/sources/0: has a control character"));
  // Every name and text a catalog shows is held to the same rule (display_name and notes were
  // printed as written: an escape sequence drove the terminal).
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"G\"", "\"B200\\u001b[2J\"")),
                    Catch::Contains("/display_name: has a control character (allowed: printable "
                                    "characters)"));
  CHECK_THROWS_WITH(load(replace(k_gpu, "\"sources\"", "\"notes\": \"a\\u202eb\", \"sources\"")),
                    Catch::Contains("/notes: has an invisible character"));
}

TEST_CASE("an instance must name a catalogued GPU", "[catalog]") {
  const std::string inst = R"({"schema_version": 1, "name": "ml.x", "gpu": "nope",
    "gpus_per_node": 8, "efa_bandwidth_bits_per_s": 1e11, "efa_generation": "EFAv1",
    "host_memory_bytes": 1e12, "vcpus": 96, "local_nvme_bytes": 0, "gpu_power_limit_watts": 700,
    "price": {"usd_per_hour": 1, "kind": "k", "region": "r", "as_of": "2026-01-01", "source": "s"},
    "sources": ["s"]})";
  CHECK_THROWS_WITH(
      load_catalog({{"configs/gpus/g.json", k_gpu}, {"configs/instances/ml.x.json", inst}}, "t"),
      Catch::Contains("unknown GPU 'nope'"));
  // The power limit is at most the GPU's TDP (700 W here).
  std::string hot = inst;
  hot.replace(hot.find("\"nope\""), 6, "\"g\"");
  hot.replace(hot.find("\"gpu_power_limit_watts\": 700"), 28, "\"gpu_power_limit_watts\": 800");
  CHECK_THROWS_WITH(
      load_catalog({{"configs/gpus/g.json", k_gpu}, {"configs/instances/ml.x.json", hot}}, "t"),
      Catch::Contains("instance type 'ml.x': /gpu_power_limit_watts: 800 is above GPU 'g''s TDP "
                      "of 700 W"));
  for (const auto& [from, to, where] : std::vector<std::array<std::string, 3>>{
           {"\"EFAv1\"", "\"EFA\\u0007\"", "/efa_generation"},
           {"\"region\": \"r\"", "\"region\": \"r\\u009b\"", "/price/region"}}) {
    std::string bad = hot;
    bad.replace(bad.find("800"), 3, "700");
    bad.replace(bad.find(from), from.size(), to);
    CHECK_THROWS_WITH(
        load_catalog({{"configs/gpus/g.json", k_gpu}, {"configs/instances/ml.x.json", bad}}, "t"),
        Catch::Contains(where + ": has a control character"));
  }
}

TEST_CASE("lookups suggest the closest name", "[catalog]") {
  const Catalog c = builtin_catalog();
  CHECK_THROWS_WITH(c.gpu("h100-sxm"), Catch::Contains("did you mean 'h100-sxm-80gb'"));
  CHECK_THROWS_WITH(c.instance("ml.p6-b200.48xl"),
                    Catch::Contains("did you mean 'ml.p6-b200.48xlarge'"));
}

TEST_CASE("configs/constants/model.json holds every model constant, equal to the code's defaults",
          "[catalog]") {
  const Catalog c = builtin_catalog();
  const ModelConstants defaults;
  REQUIRE(constant_keys().size() == 62);
  for (const std::string& key : constant_keys()) {
    INFO(key);
    CHECK(get_constant(c.constants, key) == get_constant(defaults, key));
  }
  CHECK(c.constants.memory.band_measured_gpus == defaults.memory.band_measured_gpus);
  CHECK(c.constants.time.band_measured_gpus == defaults.time.band_measured_gpus);
  CHECK_FALSE(c.constants.sources.empty());
  // A constant out of range in a --configs copy is blamed on its file and member.
  std::vector<SourceFile> files = read_catalog_dir(test::source_path("configs"));
  for (SourceFile& f : files) {
    if (f.path.ends_with("constants/model.json")) {
      const std::string from = "\"fragmentation_fraction\": 0.6";
      f.contents.replace(f.contents.find(from), from.size(), "\"fragmentation_fraction\": 5.0");
    }
  }
  CHECK_THROWS_WITH(load_catalog(files, "configs"),
                    Catch::Contains("configs/constants/model.json: /memory/fragmentation_fraction: "
                                    "constant memory.fragmentation_fraction = 5 is out of range"));
}

TEST_CASE("the set flag overrides a constant and names an unknown key", "[catalog][cli]") {
  const auto base = test::run_cli({"estimate", "--format", "json"});
  const auto slow =
      test::run_cli({"estimate", "--format", "json", "--set", "time.matmul_efficiency_max=0.37"});
  REQUIRE(base.status == 0);
  REQUIRE(slow.status == 0);
  const auto tps = [](const std::string& out) {
    return nlohmann::json::parse(out)
        .at("throughput")
        .at("tokens_per_second_per_gpu")
        .get<double>();
  };
  CHECK(tps(slow.out) < tps(base.out));
  const auto bad = test::run_cli({"estimate", "--set", "memory.fragmentation=1"});
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Catch::Contains("did you mean 'memory.fragmentation_fraction'"));
  // An unknown key is named before its value is read (it was "not a finite number").
  const auto unknown = test::run_cli({"estimate", "--set", "memory.fragmentation=x"});
  CHECK(unknown.status == 1);
  CHECK_THAT(unknown.err, Catch::Contains("constant 'memory.fragmentation' is not known"));
  // A count takes whole values: a 1.5-token sequence or 2.5 GPUs was used as given.
  for (const std::string key : {"memory.band_measured_seq_len", "time.band_measured_gpu_count"}) {
    const auto half = test::run_cli({"estimate", "--set", key + "=1.5"});
    CHECK(half.status == 1);
    CHECK_THAT(half.err, Catch::Contains(key + " = 1.5 is not a whole number (allowed "
                                               "1..1000000000, whole)"));
    CHECK(test::run_cli({"estimate", "--set", key + "=8"}).status == 0);
  }
  // The measured GPUs are a list: --set says so rather than that 'b200' is not a number.
  const auto list = test::run_cli({"estimate", "--set", "memory.band_measured_gpus=b200"});
  CHECK(list.status == 2);
  CHECK_THAT(list.err, Catch::Contains("--set memory.band_measured_gpus: a list of GPU names, "
                                       "which --set cannot set"));
}
