// Hostile plan files for `bwplan check` (and the plan reader emit and calibrate share): a plan
// edited by hand is refused with one line naming the JSON pointer (exit 1), never checked with a
// value silently dropped or changed; an honest plan checked with other constants gets a verdict.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace bwplan;
namespace fs = std::filesystem;

namespace {

using Tamper = std::pair<std::function<void(nlohmann::json&)>, std::string>;

void check_one_line_error(const test::CliResult& r) {
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("bwplan: error: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

/// Checks `doc` changed by each tamper: exit 1, one line holding the expected words. The command
/// is `check --plan PATH` followed by `more` (emit's flags, whose --out must not appear).
void refuse_each(const nlohmann::json& doc, const fs::path& dir, const std::vector<Tamper>& tampers,
                 std::vector<std::string> command = {"check"},
                 const std::vector<std::string>& more = {}) {
  const std::string path = (dir / "bad.json").string();
  command.insert(command.end(), {"--plan", path});
  command.insert(command.end(), more.begin(), more.end());
  for (const auto& [change, what] : tampers) {
    nlohmann::json bad = doc;
    change(bad);
    std::ofstream(path, std::ios::trunc) << bad.dump();
    const auto r = test::run_cli(command);
    INFO(what << ": " << r.err);
    check_one_line_error(r);
    CHECK_THAT(r.err, Catch::Contains(what));
    CHECK_FALSE(fs::exists(dir / "out"));
  }
}

std::string write(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::trunc) << text;
  return p.string();
}

} // namespace

TEST_CASE("check refuses an estimate plan whose capacity or usable bytes are not positive "
          "numbers, rather than drop its headroom",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-hostile-capacity");
  // 72 % headroom: at risk (exit 3). With the headroom dropped it "still fits" (exit 0).
  const auto e = test::run_cli({"estimate", "--headroom", "72", "--format", "json"});
  REQUIRE(e.status == 0);
  const std::string plan = write(dir, "plan.json", e.out);
  REQUIRE(test::run_cli({"check", "--plan", plan}).status == 3);
  const auto doc = nlohmann::json::parse(e.out);
  refuse_each(
      doc, dir,
      {
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = 0; },
           "/memory/capacity_bytes: 0 is out of range (allowed a positive number of bytes)"},
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = -1; },
           "/memory/capacity_bytes: -1 is out of range"},
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = nullptr; },
           "/memory/capacity_bytes: expected a number, got null"},
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = "191e9"; },
           "/memory/capacity_bytes: expected a number, got string"},
          {[](nlohmann::json& d) { d["memory"].erase("capacity_bytes"); },
           "/memory/capacity_bytes: missing required key"},
          {[](nlohmann::json& d) { d["memory"]["usable_bytes"] = 0; },
           "/memory/usable_bytes: 0 is out of range"},
          {[](nlohmann::json& d) { d["memory"]["usable_bytes"] = nullptr; },
           "/memory/usable_bytes: expected a number, got null"},
          {[](nlohmann::json& d) { d["memory"].erase("usable_bytes"); },
           "/memory/usable_bytes: missing required key"},
          {[](nlohmann::json& d) { d.erase("memory"); }, "/memory: expected an object"},
          // kept: usable above capacity is a negative headroom
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = 1; }, "/memory/usable_bytes"},
          // a denormal capacity made the headroom -inf, a huge one printed it rounded to 1: the
          // message names the two sizes as written
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = 1e-320; },
           "with capacity_bytes 1e-320 is out of range (allowed: above 0, at most the capacity "
           "and leaving a headroom below 100 %)"},
          {[](nlohmann::json& d) { d["memory"]["capacity_bytes"] = 1e308; },
           "with capacity_bytes 1e+308 is out of range"},
      });
  fs::remove_all(dir);
}

TEST_CASE("check refuses a search document whose headroom, tokens or price are of the wrong type "
          "or missing, rather than read them as 0",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-hostile-constraints");
  const auto s = test::run_cli({"search", "--top", "1", "--format", "json"});
  REQUIRE(s.status == 0);
  auto doc = nlohmann::json::parse(s.out);
  // the search's 99 % headroom is held: the plan does not fit under it
  doc["inputs"]["constraints"]["headroom_fraction"] = 0.99;
  const std::string plan = write(dir, "plan.json", doc.dump());
  REQUIRE(test::run_cli({"check", "--plan", plan}).status == 3);
  const std::string hr = "/inputs/constraints/headroom_fraction: ";
  refuse_each(
      doc, dir,
      {
          {[](nlohmann::json& d) { d["inputs"]["constraints"]["headroom_fraction"] = "0.99"; },
           hr + "expected a number, got string"},
          {[](nlohmann::json& d) {
             d["inputs"]["constraints"]["headroom_fraction"] = nlohmann::json::array({0.99});
           },
           hr + "expected a number, got array"},
          {[](nlohmann::json& d) { d["inputs"]["constraints"]["headroom_fraction"] = nullptr; },
           hr + "expected a number, got null"},
          {[](nlohmann::json& d) { d["inputs"]["constraints"].erase("headroom_fraction"); },
           hr + "missing required key"},
          {[](nlohmann::json& d) { d["inputs"].erase("constraints"); },
           "/inputs/constraints: missing required key"},
          {[](nlohmann::json& d) { d["inputs"]["constraints"] = 0.99; },
           "/inputs/constraints: expected an object, got number"},
          {[](nlohmann::json& d) { d.erase("inputs"); }, "/inputs: missing required key"},
          {[](nlohmann::json& d) { d["inputs"] = nlohmann::json::array(); },
           "/inputs: expected an object, got array"},
          // the other constraints check reads: a price may be null (the catalog's), no more
          {[](nlohmann::json& d) { d["inputs"]["constraints"]["price_per_hour"] = "5"; },
           "/inputs/constraints/price_per_hour: expected a number or null, got string"},
          {[](nlohmann::json& d) { d["inputs"]["constraints"]["train_tokens"] = nullptr; },
           "/inputs/constraints/train_tokens: expected a number, got null"},
          // a plan's own figures are named where they are: under /plans/0 (was /memory/...)
          {[](nlohmann::json& d) { d["plans"][0]["memory"]["device_bytes_required"] = "1"; },
           "/plans/0/memory/device_bytes_required: expected a number, got string"},
      });
  // a price of null is what search writes without --price-per-hour
  doc["inputs"]["constraints"]["price_per_hour"] = nullptr;
  CHECK(test::run_cli({"check", "--plan", write(dir, "plan.json", doc.dump())}).status == 3);
  fs::remove_all(dir);
}

TEST_CASE("check refuses a plan whose saved figures, recipes or rank were edited, rather than "
          "compare fewer figures or take another plan",
          "[check][hostile]") {
  // Deleting memory/peak_reserved_bytes and throughput passed (exit 0, one row compared of
  // four); alike_precisions as a string or naming bf16 passed check while emit refused them; a
  // rank swapped went by place.
  const fs::path dir = test::scratch_dir("check-hostile-figures");
  const auto s = test::run_cli({"search", "--top", "3", "--format", "json"});
  REQUIRE(s.status == 0);
  const auto doc = nlohmann::json::parse(s.out);
  REQUIRE(test::run_cli({"check", "--plan", write(dir, "plan.json", doc.dump())}).status == 0);
  refuse_each(doc, dir,
              {
                  {[](nlohmann::json& d) { d["plans"][0]["memory"].erase("peak_reserved_bytes"); },
                   "no /plans/0/memory/peak_reserved_bytes: not a plan bwplan wrote"},
                  {[](nlohmann::json& d) {
                     d["plans"][0]["throughput"].erase("tokens_per_second_per_gpu");
                   },
                   "no /plans/0/throughput/tokens_per_second_per_gpu"},
                  {[](nlohmann::json& d) { d["plans"][0].erase("throughput"); },
                   "no /plans/0/throughput/tokens_per_second_per_gpu"},
                  {[](nlohmann::json& d) { d["plans"][0]["alike_precisions"] = "fp8-rowwise"; },
                   "/plans/0/alike_precisions: expected an array, got string"},
                  {[](nlohmann::json& d) { d["plans"][0]["alike_precisions"] = {"bf16"}; },
                   "/plans/0/alike_precisions: \"bf16\" is not a recipe a search groups"},
                  {[](nlohmann::json& d) { d["plans"][0]["rank"] = 2; },
                   "/plans/0/rank: 2 is not its place in /plans (1)"},
                  {[](nlohmann::json& d) { d["plans"][0]["config"]["instance"] = nullptr; },
                   "/plans/0/config/instance: null, while a search plans instance types only"},
              });
  // An estimate's instance nulled read as GPUs with no price (cost 0 where the plan says 113.93
  // USD an hour); one made on GPUs, priced or not, still checks.
  const auto e = test::run_cli({"estimate", "--format", "json", "-q"});
  REQUIRE(e.status == 0);
  refuse_each(nlohmann::json::parse(e.out), dir,
              {{[](nlohmann::json& d) { d["config"]["instance"] = nullptr; },
                "/config/instance: null, while /cost/price_basis is an instance type's price"}});
  for (const std::vector<std::string>& priced :
       {std::vector<std::string>{"--gpu", "b200", "--gpus", "8"},
        std::vector<std::string>{"--gpu", "b200", "--gpus", "8", "--price-per-hour", "50"}}) {
    std::vector<std::string> args = {"estimate", "--format", "json", "-q"};
    args.insert(args.end(), priced.begin(), priced.end());
    const auto g = test::run_cli(args);
    REQUIRE(g.status == 0);
    CHECK(test::run_cli({"check", "--plan", write(dir, "g.json", g.out)}).status == 0);
  }
  // A plan written before the bands has no upper edge: judged on today's.
  auto old = doc;
  old["plans"][0]["memory"].erase("device_bytes_required_high");
  CHECK(test::run_cli({"check", "--plan", write(dir, "old.json", old.dump())}).status == 0);
  fs::remove_all(dir);
}

TEST_CASE("a missing config key is said to be missing, not blamed on a valid neighbour",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-hostile-config");
  const auto e = test::run_cli({"estimate", "--format", "json"});
  REQUIRE(e.status == 0);
  const auto doc = nlohmann::json::parse(e.out);
  const std::string path = (dir / "bad.json").string();
  for (const char* key : {"gpu", "model", "nodes", "instance", "gpus", "seq_len"}) {
    nlohmann::json bad = doc;
    bad["config"].erase(key);
    std::ofstream(path, std::ios::trunc) << bad.dump();
    const auto r = test::run_cli({"check", "--plan", path});
    INFO(key << ": " << r.err);
    check_one_line_error(r);
    CHECK_THAT(r.err, Catch::Contains(path + ": /config/" + key + ": missing required key"));
    CHECK_THAT(r.err, !Catch::Contains("unknown key"));
    CHECK(r.err.find(path) == r.err.rfind(path)); // the file named once
  }
  // a genuine misspelling is still named as one
  nlohmann::json typo = doc;
  typo["config"]["gpuu"] = typo["config"]["gpu"];
  typo["config"].erase("gpu");
  std::ofstream(path, std::ios::trunc) << typo.dump();
  const auto r = test::run_cli({"check", "--plan", path});
  check_one_line_error(r);
  CHECK_THAT(r.err, Catch::Contains("/config/gpuu: unknown key (did you mean 'gpu'?)"));
  // an instance that is neither a name nor null is not read as "no instance"
  refuse_each(doc, dir,
              {
                  {[](nlohmann::json& d) { d["config"]["instance"] = 5; },
                   "/config/instance: expected a string or null, got number"},
                  {[](nlohmann::json& d) { d["config"]["gpu"] = 5; },
                   "/config/gpu: expected a string, got number"},
              });
  fs::remove_all(dir);
}

TEST_CASE("check gives a verdict, not 'edited', when --set or --calibration moves a figure "
          "tenfold",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-hostile-constants");
  // Llama-3.2-1B at 512 tokens needs about 6.4 GiB: 100 GB more fixed memory is 15 times that.
  const auto e = test::run_cli(
      {"estimate", "--model", "llama-3.2-1b", "--seq-len", "512", "--format", "json"});
  REQUIRE(e.status == 0);
  const std::string plan = write(dir, "plan.json", e.out);
  // inside --set's range (0..1e12): 931 GiB does not fit on a B200
  const auto huge = test::run_cli({"check", "--plan", plan, "--set", "memory.fixed_bytes=1e12"});
  INFO(huge.err);
  CHECK(huge.status == 3);
  CHECK_THAT(huge.out, Catch::Contains("does not fit any more"));
  CHECK_THAT(huge.out, Catch::Contains("device memory required: was"));
  const auto slow =
      test::run_cli({"check", "--plan", plan, "--set", "time.matmul_efficiency_max=0.01"});
  INFO(slow.err);
  CHECK(slow.status == 0);
  CHECK_THAT(slow.out, Catch::Contains("tokens/s per GPU: was"));
  // A profile whose fixed memory is 1e11 bytes (within calibrate's bounds).
  nlohmann::json profile = {
      {"schema_version", 1},
      {"kind", "calibration"},
      {"constants",
       {{{"key", "memory.activation_scale"}, {"shipped", 1.0}, {"fitted", 0.873}},
        {{"key", "time.collective_contention"}, {"shipped", 1.75}, {"fitted", 2.574}},
        {{"key", "memory.fixed_bytes"}, {"shipped", 0.0}, {"fitted", 1e11}}}},
      {"band_constants",
       {{{"key", "memory.band_low_fraction"}, {"shipped", 0.07}, {"fitted", 0.21}},
        {{"key", "memory.band_high_fraction"}, {"shipped", 0.07}, {"fitted", 0.07}},
        {{"key", "time.band_low_fraction"}, {"shipped", 0.17}, {"fitted", 0.44}},
        {{"key", "time.band_high_fraction"}, {"shipped", 0.21}, {"fitted", 0.21}}}},
      {"not_fitted", nlohmann::json::array()},
      {"runs",
       {{{"id", "plan.json"},
         {"source", "run.log"},
         {"quantity", "memory"},
         {"measured", 66035122176.0},
         {"predicted_before", 83341040025.6},
         {"predicted_after", 79105809861.1},
         {"predicted_leave_one_out", 83341040025.6}},
        {{"id", "plan.json"},
         {"source", "run.log"},
         {"quantity", "throughput"},
         {"measured", 5973.5},
         {"predicted_before", 8584.68},
         {"predicted_after", 8058.93},
         {"predicted_leave_one_out", 8584.68}}}},
      {"fit_calls", {{"cases", 0}, {"right_before", 0}, {"right_after", 0}}},
      {"range",
       {{"gpus", {"h200"}},
        {"models", {"llama-3.1-8b"}},
        {"seq_len_min", 8192},
        {"seq_len_max", 8192},
        {"gpu_count_min", 8},
        {"gpu_count_max", 8}}},
      {"inputs",
       {{{"file", "plan.json"}, {"sha256", std::string(64, 'a')}},
        {{"file", "run.log"}, {"sha256", std::string(64, 'b')}}}},
  };
  const auto errors = [](double before, double after) {
    nlohmann::json b = {{"runs", 1}};
    nlohmann::json a = b;
    b["median_abs_error_pct"] = b["max_abs_error_pct"] = before;
    a["median_abs_error_pct"] = a["max_abs_error_pct"] = after;
    return nlohmann::json{{"before", b}, {"after", a}, {"leave_one_out", b}};
  };
  profile["errors"] = {{"memory", errors(26.2, 19.8)}, {"throughput", errors(43.7, 34.9)}};
  for (const char* key :
       {"memory.extra_logit_bytes", "memory.fragmentation_fraction",
        "time.attention_forward_efficiency", "time.attention_backward_efficiency",
        "time.inter_node_bus_fraction", "time.matmul_efficiency_max", "time.overlap_fraction"}) {
    profile["not_fitted"].push_back({{"key", key}, {"reason", "these runs do not constrain it"}});
  }
  const std::string prof = write(dir, "profile.json", profile.dump(1));
  const auto cal = test::run_cli({"check", "--plan", plan, "--calibration", prof});
  INFO(cal.err);
  CHECK(cal.status == 0); // 100 GB more still fits on a B200
  CHECK_THAT(cal.out, Catch::Contains("device memory required: was"));
  CHECK_THAT(cal.err, !Catch::Contains("edited"));
  // Without other constants a figure 10 times away is an edited plan, said with its unit.
  auto doc = nlohmann::json::parse(e.out);
  doc["memory"]["device_bytes_required"] =
      doc["memory"]["device_bytes_required"].get<double>() * 20;
  const auto edited = test::run_cli({"check", "--plan", write(dir, "edited.json", doc.dump())});
  check_one_line_error(edited);
  CHECK_THAT(edited.err,
             Catch::Contains("device memory required") &&
                 Catch::Matches(".* [0-9.]+ GiB is not one bwplan could have written "
                                "for it \\(now [0-9.]+ GiB\\): the plan was edited, or made with "
                                "--set \\(give it again\\)\n"));
  fs::remove_all(dir);
}

TEST_CASE("check names an empty or mistyped plans list and the gpus a shard group exceeds",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-hostile-plans");
  const auto s = test::run_cli({"search", "--top", "1", "--format", "json"});
  REQUIRE(s.status == 0);
  const auto search = nlohmann::json::parse(s.out);
  refuse_each(
      search, dir,
      {
          {[](nlohmann::json& d) { d["plans"] = nlohmann::json::array(); },
           "/plans is empty: the search found no plan, so there is no plan to check"},
          {[](nlohmann::json& d) { d["plans"] = nlohmann::json::object(); },
           "/plans: expected an array, got object"},
          {[](nlohmann::json& d) { d["plans"] = nullptr; }, "/plans: expected an array, got null"},
      });
  const auto e = test::run_cli({"estimate", "--format", "json"});
  REQUIRE(e.status == 0);
  const auto estimate = nlohmann::json::parse(e.out);
  REQUIRE(estimate.at("config").at("shard_group") == 8);
  refuse_each(estimate, dir,
              {
                  {[](nlohmann::json& d) { d["config"]["gpus"] = 7; },
                   "/config/shard_group: 8 does not fit in /config/gpus 7"},
                  // the model library's rule, its fields named as the plan's keys, not as flags
                  {[](nlohmann::json& d) { d["config"]["tp"] = 3; },
                   "/config: tp 3 x cp 1 = 3 must divide gpus 8 (the plan was edited)"},
              });
  fs::remove_all(dir);
}

TEST_CASE("emit refuses the plans check refuses as edited, and a plan's model of another type",
          "[check][emit][hostile]") {
  const fs::path dir = test::scratch_dir("emit-edited");
  const auto e = test::run_cli({"estimate", "--format", "json", "-q"});
  REQUIRE(e.status == 0);
  const nlohmann::json doc = nlohmann::json::parse(e.out);
  const std::vector<Tamper> tampers = {
      {[](nlohmann::json& d) { d["memory"]["device_bytes_required"] = "x"; },
       "/memory/device_bytes_required: expected a number, got string"},
      {[](nlohmann::json& d) { d["memory"]["device_bytes_required"] = -1; },
       "is not one bwplan could have written"},
      {[](nlohmann::json& d) { d["memory"]["device_bytes_required"] = 1e308; },
       "is not one bwplan could have written"},
      {[](nlohmann::json& d) { d["memory"]["peak_reserved_bytes"] = nullptr; },
       "/memory/peak_reserved_bytes: expected a number, got null"},
      {[](nlohmann::json& d) { d["memory"].erase("device_bytes_required"); },
       "not a plan bwplan wrote"},
      {[](nlohmann::json& d) { d["model"] = "garbage"; }, "/model: expected an object, got string"},
      // the band's upper edge: check refused 0, -1 and a tenth of it; emit launched them (red
      // team, 2026-12-08)
      {[](nlohmann::json& d) { d["memory"]["device_bytes_required_high"] = 0; },
       "is not one bwplan could have written"},
      {[](nlohmann::json& d) { d["memory"]["device_bytes_required_high"] = -1; },
       "is not one bwplan could have written"},
      {[](nlohmann::json& d) {
         d["memory"]["device_bytes_required_high"] =
             d["memory"]["device_bytes_required_high"].get<double>() / 11;
       },
       "band's upper edge"},
  };
  refuse_each(doc, dir, tampers); // check
  refuse_each(doc, dir, tampers, {"emit", "sagemaker"},
              {"--out", (dir / "out").string(), "--role-arn",
               "arn:aws:iam::123456789012:role/SageMakerRole", "--s3-output", "s3://my-bucket/out/",
               "--s3-train", "s3://my-bucket/train/", "--s3-tokenizer", "s3://my-bucket/tok/"});
  fs::remove_all(dir);
}

TEST_CASE("check and emit warn, as estimate does, when the plan's sequence is longer than its "
          "model's max_seq_len",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-max-seq-len");
  const auto e = test::run_cli({"estimate", "--format", "json"});
  REQUIRE(e.status == 0);
  nlohmann::json doc = nlohmann::json::parse(e.out);
  doc["model"]["max_seq_len"] = 1024;
  const std::string plan = write(dir, "short.json", doc.dump());
  const auto r = test::run_cli({"check", "--plan", plan});
  CHECK(r.status == 0); // a warning, as estimate's: the window bounds no memory or time
  CHECK_THAT(r.err, Catch::StartsWith("bwplan: warning: " + plan +
                                      ": seq_len 8192 is longer than llama-3.1-8b's max_seq_len "
                                      "1024\n"));
  // and the edit made it another model than today's preset of that name, which check says too
  CHECK_THAT(r.err, Catch::Contains("the plan's model llama-3.1-8b is not today's preset"));
  fs::remove_all(dir);
}

TEST_CASE("check and emit say, as estimate does, which of a plan's settings do nothing",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-inert-settings");
  const auto e =
      test::run_cli({"estimate", "--disable-loss-parallel", "--no-sync", "--format", "json"});
  REQUIRE(e.status == 0);
  CHECK(e.err == "bwplan: warning: --disable-loss-parallel has no effect with --tp 1 (every rank "
                 "holds the whole vocabulary's logits either way)\n"
                 "bwplan: warning: --no-sync has no effect with --grad-accum 1 (one micro-batch "
                 "reduces its gradients once either way)\n");
  const std::string plan = write(dir, "inert.json", e.out);
  const std::string said =
      "bwplan: warning: " + plan +
      ": disable_loss_parallel true has no effect with tp 1 (every rank holds the whole "
      "vocabulary's logits either way)\n"
      "bwplan: warning: " +
      plan +
      ": grad_accum_mode no-sync has no effect with grad_accum 1 (one micro-batch reduces its "
      "gradients once either way)\n";
  const auto r = test::run_cli({"check", "--plan", plan});
  CHECK(r.status == 0); // warnings: the settings change no figure
  CHECK(r.err == said);
  // a plan whose settings all act: nothing said
  const auto plain = test::run_cli({"estimate", "--format", "json"});
  REQUIRE(plain.status == 0);
  const auto quiet = test::run_cli({"check", "--plan", write(dir, "plain.json", plain.out)});
  CHECK(quiet.status == 0);
  CHECK(quiet.err.empty());
  fs::remove_all(dir);
}

TEST_CASE("check names a GPU memory the plan recorded other than the catalog's, which it judges "
          "against",
          "[check][hostile]") {
  const fs::path dir = test::scratch_dir("check-capacity-row");
  const auto e = test::run_cli({"estimate", "--gpu", "b200", "--gpus", "8", "--format", "json"});
  REQUIRE(e.status == 0);
  // untouched: no row (the catalog's 178.35 GiB is the plan's)
  auto r = test::run_cli({"check", "--plan", write(dir, "plan.json", e.out)});
  CHECK(r.status == 0);
  CHECK(r.out.find("GPU memory") == std::string::npos);
  // capacity and usable bytes both 1.5 x (no headroom either way): today's catalog is used and
  // said, 191501854310 B = 178.35 GiB; 1.5 x that is 267.52 GiB
  auto doc = nlohmann::json::parse(e.out);
  doc["memory"]["capacity_bytes"] = 1.5 * doc["memory"]["capacity_bytes"].get<double>();
  doc["memory"]["usable_bytes"] = 1.5 * doc["memory"]["usable_bytes"].get<double>();
  r = test::run_cli({"check", "--plan", write(dir, "bigger.json", doc.dump())});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("  GPU memory: was 267.52 GiB, now 178.35 GiB (-33.3%)\n"));
  r = test::run_cli({"check", "--plan", (dir / "bigger.json").string(), "--format", "json"});
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  bool named = false;
  for (const auto& c : j["changes"]) {
    if (c["what"] == "GPU memory") {
      named = true;
      CHECK(c["was"].get<double>() == Approx(267.52).margin(0.005));
      CHECK(c["now"].get<double>() == Approx(178.35).margin(0.005));
    }
  }
  CHECK(named);
  fs::remove_all(dir);
}

TEST_CASE("check says when today's preset of the plan's model name has other facts", "[check]") {
  // The plan keeps its model's facts and is checked on them; a catalog whose llama-3.1-8b has
  // 40 layers (a --configs copy) is said, with the flag that checks today's preset instead.
  const fs::path dir = test::scratch_dir("check-stale-preset");
  const auto e = test::run_cli({"estimate", "--model", "llama-3.1-8b", "--format", "json"});
  REQUIRE(e.status == 0);
  const std::string plan = write(dir, "plan.json", e.out);
  auto r = test::run_cli({"check", "--plan", plan});
  CHECK(r.status == 0);
  CHECK(r.err.empty()); // today's preset is the plan's: nothing to say
  fs::copy(test::source_path("configs"), dir / "configs", fs::copy_options::recursive);
  const fs::path preset = dir / "configs" / "models" / "llama-3.1-8b.json";
  auto model = nlohmann::json::parse(read_text_file(preset));
  model["layers"] = 40;
  std::ofstream(preset) << model.dump(2);
  r = test::run_cli({"--configs", (dir / "configs").string(), "check", "--plan", plan});
  CHECK(r.status == 0); // the plan's own 32 layers still fit
  CHECK_THAT(r.err, Catch::Contains(plan + ": the plan's model llama-3.1-8b is not today's "
                                           "preset of that name") &&
                        Catch::Contains("give --model llama-3.1-8b to check today's"));
  fs::remove_all(dir);
}
