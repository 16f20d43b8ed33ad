// `emit sagemaker`: user-setting checks, the image, the job name and the CreateTrainingJob
// request, validated against AWS's API model before any file is returned.
#include <algorithm>
#include <array>
#include <cmath>
#include <regex>
#include <tuple>

#include <fmt/format.h>

#include "bwplan/aws_shapes.hpp"
#include "bwplan/config_fields.hpp"
#include "bwplan/error.hpp"
#include "bwplan/memory_model.hpp"
#include "bwplan/sagemaker.hpp"
#include "bwplan/units.hpp"
#include "bwplan/utf8.hpp"
#include "emit_sagemaker_files.hpp"
#include "json_reader.hpp"
#include "launch_data.hpp"
#include "render_common.hpp"
#include "torchtitan_config.hpp"

namespace bwplan {

namespace {

double compute_capability(const GpuSpec& g) {
  try {
    return std::stod(g.compute_capability);
  } catch (...) {
    return 0; // AMD "gfx942": no CUDA requirement we know of
  }
}

/// The lowest CUDA that compiles for the GPU (data/launch/sagemaker.json): 12.8 for sm_100,
/// 12.9 for sm_103 (B300); 0 when no entry covers it.
double min_cuda(const GpuSpec& g) {
  const double cc = compute_capability(g);
  double need = 0;
  for (const auto& [at, cuda] : io::launch_data().policy.min_cuda_by_compute_capability) {
    if (cc + 1e-9 >= at) {
      need = std::max(need, cuda);
    }
  }
  return need;
}

std::string constraint(std::string_view shape) {
  const ShapeLength n = aws_shape_length(shape);
  return fmt::format("AWS {} pattern {}, {}-{} characters", shape, aws_shape_pattern(shape), n.min,
                     n.max);
}

/// Whether `v` is a value of the AWS string shape: its length bounds and pattern, and no control
/// character (which no AWS name takes, and which would break a launch file's line).
bool of_shape(std::string_view v, std::string_view shape) {
  return aws_shape_length(shape).holds(v.size()) && !io::has_control(v) &&
         matches_shape_pattern(v, shape);
}

void check_s3(const std::string& v, const char* flag) {
  static const std::regex s3(R"(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?)");
  if (v.empty()) {
    throw Error(fmt::format("{} is required (an S3 URI, s3://bucket/prefix/)", flag));
  }
  if (!of_shape(v, "S3Uri") || !std::regex_match(v, s3)) {
    throw Error(fmt::format("{} '{}' is not an S3 URI: AWS S3Uri takes at most {} characters "
                            "of the form s3://bucket/prefix (bucket: 3-63 of a-z 0-9 . -)",
                            flag, controls_escaped(v), aws_shape_length("S3Uri").max));
  }
  // The bucket naming rules beyond its characters
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
  static const std::regex ip(R"(\d+\.\d+\.\d+\.\d+)");
  const std::string bucket = v.substr(5, v.find('/', 5) - 5);
  if (bucket.find("..") != std::string::npos || std::regex_match(bucket, ip) ||
      bucket.starts_with("xn--") || bucket.starts_with("sthree-") || bucket.ends_with("-s3alias") ||
      bucket.ends_with("--ol-s3")) {
    throw Error(fmt::format("{} '{}': bucket '{}' breaks S3's naming rules (no two adjacent "
                            "periods, not an IP address, no xn-- or sthree- prefix, no -s3alias "
                            "or --ol-s3 suffix)",
                            flag, v, bucket));
  }
}

std::string join_path(std::string base, std::string_view rel) {
  if (!base.ends_with('/')) {
    base += '/';
  }
  return base + std::string(rel);
}

std::string slug(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') {
    out.pop_back();
  }
  return out;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string instance_slug(const std::string& inst) {
  std::string s = inst.starts_with("ml.") ? inst.substr(3) : inst;
  const auto dot = s.find('.');
  return dot == std::string::npos ? s : s.substr(0, dot);
}

OrderedJson settings_of(const Estimate& e) {
  const EstimateRequest& r = e.request;
  OrderedJson j = io::config_json(
      r.config, {r.model.name, r.gpu.name, r.instance ? r.instance->name : "", r.nodes});
  j.erase("gpu");
  j.erase("instance");
  return j;
}

/// What names a job: the settings less the training-config fields at their defaults, so that a
/// field bwplan adds later (at its default, which is all the launch files accept of most) leaves
/// the job name of a plan that does not change as it was.
OrderedJson naming_settings(const OrderedJson& settings) {
  const OrderedJson defaults = io::config_json(TrainingConfig{}, {"", "", "", 0});
  OrderedJson named = OrderedJson::object();
  for (const auto& [k, v] : settings.items()) {
    if (!defaults.contains(k) || defaults.at(k) != v) {
      named[k] = v;
    }
  }
  return named;
}

std::string hp_value(const OrderedJson& v) {
  return v.dump();
} // the v2 SDK's json.dumps

OrderedJson s3_channel(const char* name, const std::string& uri) {
  OrderedJson s3;
  s3["S3DataType"] = "S3Prefix";
  s3["S3Uri"] = uri;
  s3["S3DataDistributionType"] = "FullyReplicated";
  OrderedJson channel;
  channel["ChannelName"] = name;
  channel["DataSource"]["S3DataSource"] = s3;
  return channel;
}

OrderedJson request_json(const io::Launch& l) {
  const Estimate& e = *l.plan;
  const LaunchOptions& o = *l.options;
  OrderedJson j;
  j["TrainingJobName"] = l.job_name_of(1);
  j["RoleArn"] = o.role_arn;
  OrderedJson alg;
  alg["TrainingImage"] = l.image;
  alg["TrainingInputMode"] = "FastFile"; // the train channel streams; nothing fills the volume
  alg["EnableSageMakerMetricsTimeSeries"] = true;
  j["AlgorithmSpecification"] = alg;
  OrderedJson hp;
  hp["sagemaker_program"] = hp_value(io::k_entry_script);
  hp["sagemaker_submit_directory"] = hp_value(l.submit_directory);
  hp["sagemaker_torch_distributed_enabled"] = "true";
  hp["sagemaker_instance_type"] = hp_value(l.instance_type);
  hp["sagemaker_region"] = hp_value(o.region);
  hp["sagemaker_container_log_level"] = "20";
  for (const auto& [k, v] : l.settings.items()) {
    hp[k] = hp_value(v);
  }
  j["HyperParameters"] = hp;
  OrderedJson env = OrderedJson::object();
  for (const auto& [k, v] : l.environment) {
    env[k] = v;
  }
  j["Environment"] = env;
  j["InputDataConfig"] = OrderedJson::array(
      {s3_channel("train", o.s3_train), s3_channel("tokenizer", o.s3_tokenizer)});
  j["OutputDataConfig"]["S3OutputPath"] = o.s3_output;
  OrderedJson rc;
  rc["InstanceType"] = l.instance_type;
  rc["InstanceCount"] = e.request.nodes;
  rc["VolumeSizeInGB"] = l.volume_gb;
  if (!o.training_plan_arn.empty()) {
    rc["TrainingPlanArn"] = o.training_plan_arn;
  }
  j["ResourceConfig"] = rc;
  j["StoppingCondition"]["MaxRuntimeInSeconds"] = l.max_runtime_s;
  j["CheckpointConfig"]["S3Uri"] = l.s3_checkpoints;
  j["CheckpointConfig"]["LocalPath"] = io::launch_data().policy.checkpoint_local_path;
  OrderedJson tags = OrderedJson::array();
  for (const auto& [k, v] : l.tags) {
    tags.push_back(OrderedJson{{"Key", k}, {"Value", v}});
  }
  j["Tags"] = tags;
  return j;
}

/// The AWS partition a region belongs to, as ARNs name it
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html): China's regions are
/// aws-cn, GovCloud's aws-us-gov, the others aws.
std::string partition_of_region(const std::string& region) {
  if (region.starts_with("cn-")) {
    return "aws-cn";
  }
  return region.starts_with("us-gov-") ? "aws-us-gov" : "aws";
}

/// The partition an ARN names (arn:partition:...), empty if it names none.
std::string partition_of_arn(const std::string& arn) {
  const auto first = arn.find(':');
  const auto second = first == std::string::npos ? first : arn.find(':', first + 1);
  return second == std::string::npos ? std::string() : arn.substr(first + 1, second - first - 1);
}

std::string region_of_arn(const std::string& arn) {
  // arn:partition:service:region:account:resource
  std::size_t at = 0;
  for (int i = 0; i < 3 && at != std::string::npos; ++i) {
    at = arn.find(':', at == 0 ? 0 : at + 1);
  }
  if (at == std::string::npos) {
    return {};
  }
  const auto end = arn.find(':', at + 1);
  return end == std::string::npos ? std::string() : arn.substr(at + 1, end - at - 1);
}

const io::TrainingImage* image_for_version(const std::string& v) {
  for (const io::TrainingImage& t : io::launch_data().images) {
    if (v == t.pytorch_version ||
        (t.tag.starts_with(v) && t.tag.size() > v.size() && t.tag[v.size()] == '-')) {
      return &t;
    }
  }
  return nullptr;
}

/// The PyTorch version of the DLC image the launch derives: --pytorch-version, else the pinned
/// trainer's default (an --image names its own, which bwplan does not know).
std::string pytorch_version_of(const LaunchOptions& o) {
  return o.pytorch_version.empty() ? io::launch_data().trainer.default_pytorch_version
                                   : o.pytorch_version;
}

/// The largest EBS volume SageMaker's training ML storage takes, GB (gp2's 16 TiB).
constexpr std::int64_t k_max_volume_gb = 16384;

/// Bytes of one checkpoint on a node: the whole model state (parameters and optimizer states in
/// their training dtypes). Each node writes its shard, but all nodes sync one S3 prefix and a
/// starting job restores all of it onto every node.
double checkpoint_bytes(const Estimate& e) {
  TrainingConfig whole = e.request.config; // the states of one unsharded copy, tensor by tensor
  whole.sharding = Sharding::none;
  whole.shard_group = 0;
  whole.tp = whole.ep = 1; // every tensor whole, not one tensor- or expert-parallel rank's slice
  const ModelStates s = estimate_model_states(e.request.model, whole);
  return s.parameters_bytes + s.optimizer_bytes;
}

} // namespace

std::vector<std::int64_t> training_plan_instance_counts() {
  return io::launch_data().policy.training_plan_instance_counts;
}

std::vector<std::string> sagemaker_regions() {
  std::vector<std::string> out;
  for (const auto& [r, a] : io::launch_data().region_accounts) {
    out.push_back(r);
  }
  return out;
}

std::string training_image_uri(const LaunchOptions& o, const GpuSpec& gpu) {
  if (!o.image.empty()) {
    return o.image;
  }
  const io::LaunchData& d = io::launch_data();
  const auto account = d.region_accounts.find(o.region);
  if (account == d.region_accounts.end()) {
    throw Error(
        fmt::format("--region '{}' has no known AWS Deep Learning Container account", o.region));
  }
  const std::string domain =
      partition_of_region(o.region) == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  const std::string version = pytorch_version_of(o);
  const io::TrainingImage* image = image_for_version(version);
  std::vector<std::string> usable;
  for (const io::TrainingImage& t : d.images) {
    if (!io::version_less(t.pytorch_version, d.trainer.min_pytorch_version)) {
      usable.push_back(t.pytorch_version);
    }
  }
  if (image == nullptr || io::version_less(image->pytorch_version, d.trainer.min_pytorch_version)) {
    throw Error(fmt::format("--pytorch-version '{}' has no DLC PyTorch training image that runs "
                            "{} {} with torchao (it needs PyTorch {} or newer; known: {}); or "
                            "give --image",
                            version, d.trainer.name, d.trainer.version,
                            d.trainer.min_pytorch_version, fmt::join(usable, ", ")));
  }
  const double need = min_cuda(gpu);
  if (image->cuda_version + 1e-9 < need) {
    throw Error(fmt::format("--pytorch-version {}: its DLC image has CUDA {:.1f}, but {} "
                            "(compute capability {}) needs CUDA {:.1f} or newer",
                            version, image->cuda_version, gpu.name, gpu.compute_capability, need));
  }
  return fmt::format("{}.dkr.ecr.{}.{}/{}:{}", account->second, o.region, domain, image->repository,
                     image->tag);
}

namespace {

/// Whether the S3 prefix `outer` takes in `inner` (a channel at `outer` reads it): the same bucket
/// and `inner`'s key beginning with `outer`'s, as S3 prefixes match, not folder by folder.
bool s3_inside(std::string_view outer, std::string_view inner) {
  const auto split = [](std::string_view uri) {
    uri.remove_prefix(5); // "s3://": each URI passed check_s3
    const std::size_t slash = uri.find('/');
    return std::pair{uri.substr(0, slash),
                     slash == std::string_view::npos ? std::string_view() : uri.substr(slash + 1)};
  };
  const auto [outer_bucket, outer_key] = split(outer);
  const auto [inner_bucket, inner_key] = split(inner);
  return outer_bucket == inner_bucket && inner_key.starts_with(outer_key);
}

/// Neither input channel may take in what the jobs write, nor lie inside it: every job's output,
/// its source archive (under `job_area`, the s3-output path joined with the base job name, which
/// every job of a chain and every resubmission extends) and the checkpoints.
void check_channels_apart_from_job(const LaunchOptions& o, const std::string& job_area,
                                   const std::string& checkpoints) {
  for (const auto& [flag, uri] :
       {std::pair<const char*, const std::string&>{"--s3-train", o.s3_train},
        {"--s3-tokenizer", o.s3_tokenizer}}) {
    for (const auto& [what, written, from] :
         {std::tuple<const char*, const std::string&, const char*>{
              "the jobs' outputs and source archive", job_area, "--s3-output"},
          {"the checkpoints", checkpoints,
           o.s3_checkpoints.empty() ? "--s3-output" : "--s3-checkpoints"}}) {
      if (s3_inside(uri, written) || s3_inside(written, uri)) {
        throw Error(fmt::format(
            "{} '{}' overlaps {} ('{}...', from {}): a channel reads every object under its "
            "prefix, so the job would read its own files; give prefixes that end in '/' and "
            "neither inside the other",
            flag, uri, what, written, from));
      }
    }
  }
}

} // namespace

std::string sdk_problem(std::string_view sdk) {
  return sdk == "v3" || sdk == "v2"
             ? std::string()
             : fmt::format("'{}' is not known: allowed v3, v2", controls_escaped(sdk));
}

void check_launch_options(const LaunchOptions& o, const Estimate& plan) {
  if (o.role_arn.empty()) {
    throw Error("--role-arn is required (the IAM role SageMaker runs the job as)");
  }
  if (!of_shape(o.role_arn, "RoleArn")) {
    throw Error(fmt::format("--role-arn '{}' is not an IAM role ARN: {}",
                            controls_escaped(o.role_arn), constraint("RoleArn")));
  }
  check_s3(o.s3_output, "--s3-output");
  check_s3(o.s3_train, "--s3-train");
  check_s3(o.s3_tokenizer, "--s3-tokenizer");
  if (!o.s3_checkpoints.empty()) {
    check_s3(o.s3_checkpoints, "--s3-checkpoints");
  }
  // A channel is every object under its S3 key prefix (S3DataType S3Prefix): the train channel
  // must not read the tokenizer's files (s3://b/t also begins s3://b/tok/), nor the tokenizer's
  // the training data. What the job writes is checked once its paths are known
  // (check_channels_apart_from_job).
  if (s3_inside(o.s3_train, o.s3_tokenizer) || s3_inside(o.s3_tokenizer, o.s3_train)) {
    throw Error(fmt::format("--s3-train '{}' and --s3-tokenizer '{}' overlap: a channel reads "
                            "every object under its prefix, so one would hold the other's files; "
                            "give prefixes that end in '/' and neither inside the other",
                            o.s3_train, o.s3_tokenizer));
  }
  const auto regions = sagemaker_regions();
  if (std::find(regions.begin(), regions.end(), o.region) == regions.end()) {
    throw Error(fmt::format("--region '{}' is not a region with a known AWS Deep Learning "
                            "Container account (known: {})",
                            controls_escaped(o.region), fmt::join(regions, ", ")));
  }
  // A value that is no training plan ARN at all is said to be so, before its partition is read.
  if (!o.training_plan_arn.empty() && !of_shape(o.training_plan_arn, "TrainingPlanArn")) {
    throw Error(fmt::format("--training-plan-arn '{}' is not a training plan ARN: {}",
                            controls_escaped(o.training_plan_arn), constraint("TrainingPlanArn")));
  }
  for (const auto& [flag, arn] :
       {std::pair<const char*, const std::string&>{"--role-arn", o.role_arn},
        {"--training-plan-arn", o.training_plan_arn}}) {
    if (!arn.empty() && partition_of_arn(arn) != partition_of_region(o.region)) {
      throw Error(fmt::format("{} is in partition '{}' but --region '{}' is in '{}': a job's role "
                              "and plan must be of its own partition",
                              flag, partition_of_arn(arn), o.region,
                              partition_of_region(o.region)));
    }
  }
  if (!o.job_name.empty() && !of_shape(o.job_name, "TrainingJobName")) {
    throw Error(fmt::format("--job-name '{}' is not a SageMaker training job name: {}",
                            controls_escaped(o.job_name), constraint("TrainingJobName")));
  }
  if (!o.training_plan_arn.empty()) {
    // The ARN's pattern ends in "training-plan/.*": its plan name is a TrainingPlanName.
    const std::string plan_name =
        o.training_plan_arn.substr(o.training_plan_arn.find(":training-plan/") + 15);
    if (!of_shape(plan_name, "TrainingPlanName")) {
      throw Error(fmt::format("--training-plan-arn '{}' does not end in a training plan's name: "
                              "after 'training-plan/' {}",
                              o.training_plan_arn, constraint("TrainingPlanName")));
    }
    const std::string region = region_of_arn(o.training_plan_arn);
    if (region != o.region) {
      throw Error(fmt::format("--training-plan-arn is in region '{}' but --region is '{}': a "
                              "training job can use a plan of its own region only",
                              region, o.region));
    }
  }
  if (!o.image.empty() &&
      (!of_shape(o.image, "AlgorithmImage") || o.image.find(' ') != std::string::npos)) {
    throw Error(fmt::format("--image '{}' is not an image URI: AWS AlgorithmImage takes at most "
                            "{} characters, registry/repository[:tag] without spaces",
                            controls_escaped(o.image), aws_shape_length("AlgorithmImage").max));
  }
  if (!o.image.empty() && !o.pytorch_version.empty()) {
    throw Error("--image and --pytorch-version conflict: --image names the whole image; give one");
  }
  const io::SageMakerPolicy& p = io::launch_data().policy;
  if (o.max_runtime_s < 0 || o.max_runtime_s > p.max_runtime_s) {
    throw Error(fmt::format("--max-runtime {} is out of range: AWS MaxRuntimeInSeconds allows "
                            "1..{} (28 days) per job; without the flag it is derived from the "
                            "plan (longer runs are chained jobs)",
                            o.max_runtime_s, p.max_runtime_s));
  }
  if (o.lr && !(*o.lr >= k_min_lr && *o.lr <= k_max_lr)) {
    throw Error(fmt::format("--lr {} is out of range (allowed {}..{})", *o.lr, k_min_lr, k_max_lr));
  }
  if (o.warmup_steps && (*o.warmup_steps < 0 || *o.warmup_steps > k_max_warmup_steps)) {
    throw Error(fmt::format("--warmup-steps {} is out of range (allowed 0..{})", *o.warmup_steps,
                            k_max_warmup_steps));
  }
  if (o.checkpoint_interval_steps < 0) {
    throw Error(fmt::format("--checkpoint-interval {} is out of range: allowed 1 or more "
                            "steps; without the flag it is derived from the predicted step time",
                            o.checkpoint_interval_steps));
  }
  if (o.volume_gb < 0 || o.volume_gb > k_max_volume_gb) {
    throw Error(fmt::format("--volume-gb {} is out of range: allowed 1..{}; it is sized for "
                            "the checkpoints kept without the flag",
                            o.volume_gb, k_max_volume_gb));
  }
  if (const std::string why = sdk_problem(o.sdk); !why.empty()) {
    throw Error("--sdk " + why);
  }
  if (!(o.train_tokens >= 0 && o.train_tokens <= k_max_train_tokens)) {
    throw Error(fmt::format("--train-tokens {} is out of range (allowed 0..{:g})", o.train_tokens,
                            k_max_train_tokens));
  }
  check_plan_launchable(plan);
}

void check_plan_launchable(const Estimate& plan) {
  const EstimateRequest& r = plan.request;
  if (!r.instance) {
    throw Error(fmt::format("the plan runs on {} GPUs given with --gpu, not on a SageMaker "
                            "instance type; make the plan with --instance",
                            r.gpu.name));
  }
  const auto types = aws_shape_enum("TrainingInstanceType");
  if (std::find(types.begin(), types.end(), r.instance->name) == types.end()) {
    throw Error(fmt::format("the plan's instance type '{}' is not a SageMaker training instance "
                            "type (AWS TrainingInstanceType enum)",
                            r.instance->name));
  }
  if (r.instance->gpu != r.gpu.name) {
    throw Error(fmt::format("the plan's GPU {} does not match instance type {} (which has {})",
                            r.gpu.name, r.instance->name, r.instance->gpu));
  }
  if (!plan.feasible()) {
    throw Error(fmt::format("the plan does not fit ({}); emit launch files for a feasible plan",
                            plan.reason));
  }
  // What torchtitan cannot run, whatever the run's length: the same calls emit_sagemaker makes.
  io::TrainerRun run;
  run.steps = 1;
  run.checkpoint_interval_steps = 1;
  (void)io::torchtitan_settings(
      plan, io::trainer_model(r.model, plan.params.total, r.config.seq_len), run);
}

std::optional<std::string> launch_refusal(const Estimate& plan) {
  try {
    check_plan_launchable(plan);
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

namespace {

/// Seconds as a person reads them: "50 s", "2.5 h", "3.2 days".
std::string duration(double s) {
  if (s < 120) {
    return fmt::format("{:.0f} s", s);
  }
  if (s < 2 * 86400) {
    return fmt::format("{:.1f} h", s / 3600);
  }
  return fmt::format("{:.1f} days", s / 86400);
}

/// Steps, runtime and the chain of jobs the tokens need.
void schedule(io::Launch& l, const io::SageMakerPolicy& p) {
  const Estimate& e = *l.plan;
  const LaunchOptions& o = *l.options;
  const TrainingConfig& c = e.request.config;
  l.tokens_per_step = tokens_per_step(c);
  l.steps = l.train_tokens > 0 ? static_cast<std::int64_t>(std::ceil(
                                     l.train_tokens / static_cast<double>(l.tokens_per_step)))
                               : p.default_steps;
  const double step_s = e.time.step_s > 0 ? e.time.step_s : 1.0;
  l.checkpoint_interval_steps =
      o.checkpoint_interval_steps > 0
          ? o.checkpoint_interval_steps
          : std::clamp<std::int64_t>(
                static_cast<std::int64_t>(static_cast<double>(p.checkpoint_interval_s) / step_s), 1,
                l.steps);
  // The time the steps need, with the policy's margin for start-up and the step-time estimate.
  const auto needed_for = [&](double seconds) {
    return seconds * p.runtime_margin_factor + static_cast<double>(p.runtime_margin_s);
  };
  // Each job restarts (margin) and redoes up to one checkpoint interval; a job that cannot get
  // past its start-up and first checkpoint is refused, naming the setting at fault.
  const double per_restart = static_cast<double>(p.runtime_margin_s) +
                             static_cast<double>(l.checkpoint_interval_steps) * step_s;
  const auto check_interval = [&](std::int64_t per_job) {
    if (per_restart < static_cast<double>(per_job)) {
      return;
    }
    const std::string interval =
        fmt::format("one checkpoint interval ({} steps, {})", l.checkpoint_interval_steps,
                    duration(static_cast<double>(l.checkpoint_interval_steps) * step_s));
    // The flag at fault: --max-runtime when it leaves no room for start-up and one step, or
    // when the interval was derived; else the interval given.
    const bool runtime_at_fault =
        o.max_runtime_s > 0 &&
        (o.checkpoint_interval_steps <= 0 ||
         static_cast<double>(per_job) <= static_cast<double>(p.runtime_margin_s) + step_s);
    if (runtime_at_fault) {
      throw Error(fmt::format("--max-runtime {} is not longer than a job's start-up ({} s) plus "
                              "{}: no job would reach a checkpoint; give more than {}",
                              o.max_runtime_s, p.runtime_margin_s, interval,
                              std::llround(std::ceil(per_restart))));
    }
    // The most steps a job can run to its first checkpoint: margin + n x step < per_job.
    const auto most = static_cast<std::int64_t>(
        std::ceil(static_cast<double>(per_job - p.runtime_margin_s) / step_s) - 1);
    if (o.checkpoint_interval_steps <= 0 || most < 1) {
      // derived (1 hour of steps, at least one): a step alone outlasts what a job may run
      throw Error(fmt::format("a job's start-up ({} s) plus one step ({}) is longer than a job "
                              "may run ({}): no job would reach a checkpoint; plan more GPUs or "
                              "a smaller step",
                              p.runtime_margin_s, duration(step_s),
                              duration(static_cast<double>(per_job))));
    }
    throw Error(fmt::format("--checkpoint-interval {}: a job's start-up ({} s) plus {} is longer "
                            "than a job may run ({}{}): no job would reach a checkpoint; "
                            "allowed 1 to {} steps",
                            l.checkpoint_interval_steps, p.runtime_margin_s, interval,
                            duration(static_cast<double>(per_job)),
                            o.max_runtime_s > 0 ? ", --max-runtime" : "", most));
  };
  if (l.train_tokens <= 0 || e.time.tokens_per_s_job <= 0) {
    const double needed = needed_for(static_cast<double>(l.steps) * step_s);
    if (o.max_runtime_s > 0 && static_cast<double>(o.max_runtime_s) < needed) {
      // Without --train-tokens nothing chains jobs: one job runs the default steps.
      throw Error(fmt::format("--max-runtime {} is shorter than the {} default steps need on "
                              "this plan ({} with start-up and margin), so the job would be "
                              "stopped unfinished; give {} or more, or --train-tokens to run "
                              "longer trainings as chained jobs",
                              o.max_runtime_s, l.steps, duration(needed),
                              std::llround(std::ceil(needed))));
    }
    l.max_runtime_s = o.max_runtime_s > 0 ? o.max_runtime_s : p.default_runtime_s;
    check_interval(l.max_runtime_s);
    l.jobs = 1;
    return;
  }
  const std::int64_t per_job = o.max_runtime_s > 0 ? o.max_runtime_s : p.max_runtime_s;
  check_interval(per_job);
  const double needed = needed_for(l.train_tokens / e.time.tokens_per_s_job);
  std::int64_t jobs = 1;
  while (jobs <= p.max_chained_jobs &&
         needed + static_cast<double>(jobs - 1) * per_restart >
             static_cast<double>(per_job) * static_cast<double>(jobs)) {
    ++jobs;
  }
  if (jobs > p.max_chained_jobs) {
    // the count is --train-tokens or, without it, the plan's own (its search's --train-tokens)
    const bool flag = o.train_tokens > 0;
    throw Error(fmt::format("{} {:.3g} needs about {} on this plan, more than {} "
                            "chained jobs of {}{}; {}",
                            flag ? "--train-tokens" : "the plan's train_tokens", l.train_tokens,
                            duration(needed), p.max_chained_jobs,
                            duration(static_cast<double>(per_job)),
                            o.max_runtime_s > 0 ? " (--max-runtime)" : "",
                            o.max_runtime_s > 0 ? "raise --max-runtime or train fewer tokens"
                                                : "train fewer tokens or plan more nodes"));
  }
  l.jobs = jobs;
  l.max_runtime_s =
      jobs == 1 ? std::min<std::int64_t>(per_job, std::llround(std::ceil(needed))) : per_job;
}

/// The learning-rate schedule of torchtitan's own train config for the model's flavor, else
/// torchtitan's defaults (data/launch/trainer.json, with sources).
io::LrSchedule schedule_of(const io::TrainerModel& m) {
  const io::TrainerPin& t = io::launch_data().trainer;
  for (const io::NativeModel& n : t.native_models) {
    if (n.name == m.name && n.flavor == m.flavor && n.recipe) {
      return *n.recipe;
    }
  }
  return t.default_schedule;
}

/// The schedule the job trains with: the flavor's recipe (or torchtitan's defaults) with its
/// warm-up cut to a fifth of the run's steps, torchtitan's own rule ("normally 1/5 of
/// --training.steps", job_config.py line 172 at v0.2.2, which each recipe keeps); --lr and
/// --warmup-steps replace either. Recorded in the settings, so that the job name (and with it the
/// checkpoint folder) changes with it: a resumed checkpoint carries its scheduler's state.
void learning_rate(io::Launch& l, const LaunchOptions& o) {
  io::ChosenSchedule& c = l.schedule;
  c.values = schedule_of(l.model);
  const std::string recipe = c.values.recipe;
  c.lr_from = recipe;
  c.warmup_from = recipe;
  if (o.lr) {
    c.values.lr = *o.lr;
    c.lr_from = "--lr";
  }
  const std::int64_t fifth = l.steps / 5;
  if (o.warmup_steps) {
    if (*o.warmup_steps > l.steps) {
      throw Error(fmt::format("--warmup-steps {} is more than the run's {} steps: the whole run "
                              "would warm up (torchtitan cuts it to the steps); give at most {}",
                              *o.warmup_steps, l.steps, l.steps));
    }
    c.values.warmup_steps = *o.warmup_steps;
    c.warmup_from = "--warmup-steps";
  } else if (c.values.warmup_steps > fifth) {
    c.values.warmup_steps = fifth;
    c.warmup_from = recipe + ", cut to a fifth of the run's steps";
  }
  l.settings["lr"] = c.values.lr;
  l.settings["warmup_steps"] = c.values.warmup_steps;
}

std::string job_base_name(const io::Launch& l) {
  const LaunchOptions& o = *l.options;
  const EstimateRequest& r = l.plan->request;
  // The SDK launchers name a job base + "-" + a 14-digit timestamp, cut to 63 characters
  // (sagemaker-train utils._get_unique_name); chained jobs add "-p<k>".
  const std::size_t part = l.jobs > 1 ? fmt::format("-p{}", l.jobs).size() : 0;
  const std::size_t whole = aws_shape_length("TrainingJobName").max;
  const std::size_t limit = whole - 15 - part;
  if (!o.job_name.empty()) {
    if (o.job_name.size() > limit) {
      throw Error(fmt::format("--job-name '{}' has {} characters; at most {} are allowed, so "
                              "that the SDK's '-<timestamp>' suffix{} keeps it whole within "
                              "{}",
                              o.job_name, o.job_name.size(), limit,
                              part > 0 ? " and the chained job's '-p<k>'" : "", whole));
    }
    return o.job_name;
  }
  // Whatever makes another run: a new name, so that it never resumes another run's checkpoint
  const std::string key =
      fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", naming_settings(l.settings).dump(), o.role_arn,
                  o.s3_output, o.region, o.training_plan_arn, l.steps, o.s3_train, o.s3_tokenizer);
  const std::string suffix = fmt::format("{:08x}", fnv1a(key) & 0xffffffffu);
  // A cut name must not read as something else ("fp8-te" for fp8-tensorwise, "llama-3-1-40"):
  // the float8 recipes get short tags, then the instance type gives way, and only then is the
  // name cut.
  const Precision pr = r.config.precision;
  const std::string precision = pr == Precision::fp8_tensorwise ? "fp8tw"
                                : pr == Precision::fp8_rowwise  ? "fp8rw"
                                                                : std::string(name_of(pr));
  const std::size_t room = limit - 1 - suffix.size();
  std::string base = slug(fmt::format("bwplan-{}-{}x{}-{}", r.model.name, r.nodes,
                                      instance_slug(r.instance->name), precision));
  if (base.size() > room) {
    base = slug(fmt::format("bwplan-{}-{}n-{}", r.model.name, r.nodes, precision));
  }
  base = base.substr(0, room);
  while (!base.empty() && base.back() == '-') {
    base.pop_back();
  }
  return base + "-" + suffix;
}

} // namespace

EmittedLaunch emit_sagemaker(const Estimate& plan, const LaunchOptions& o) {
  check_launch_options(o, plan);
  const io::LaunchData& data = io::launch_data();
  const io::SageMakerPolicy& p = data.policy;
  const EstimateRequest& r = plan.request;
  io::Launch l;
  l.plan = &plan;
  l.options = &o;
  l.instance_type = r.instance->name;
  l.image = training_image_uri(o, r.gpu);
  // A tied embedding lies in two FSDP groups, which PyTorch after the trainer's
  // tied_embeddings_last_pytorch_version refuses (data/launch/trainer.json).
  const bool tied_fsdp = io::tied_embedding_ranks(r.config, r.model) > 0;
  const std::string& tied_last = data.trainer.tied_embeddings_last_pytorch_version;
  const std::string tied_problem = fmt::format(
      "the plan's model {} ties its output head to its embedding, which {} {} shards as two FSDP "
      "groups, and PyTorch after {} refuses a parameter shared by two FSDP groups "
      "(pytorch/pytorch#176257, data/launch/trainer.json)",
      r.model.name, data.trainer.name, data.trainer.version, tied_last);
  if (tied_fsdp && o.image.empty() && io::version_less(tied_last, pytorch_version_of(o))) {
    throw Error(fmt::format("--pytorch-version {}: {}; leave --pytorch-version at {}",
                            pytorch_version_of(o), tied_problem, tied_last));
  }
  l.settings = settings_of(plan);
  l.train_tokens = o.train_tokens > 0 ? o.train_tokens : r.train_tokens;
  schedule(l, p);
  if (l.train_tokens > 0) {
    l.settings["train_tokens"] = static_cast<std::int64_t>(std::llround(l.train_tokens));
  }
  l.settings["steps"] = l.steps;
  l.model = io::trainer_model(r.model, plan.params.total, r.config.seq_len);
  learning_rate(l, o);
  l.job_name = job_base_name(l);
  l.s3_checkpoints = o.s3_checkpoints.empty() ? join_path(o.s3_output, l.job_name + "/checkpoints/")
                                              : o.s3_checkpoints;
  l.submit_directory = join_path(o.s3_output, l.job_name + "/source/sourcedir.tar.gz");
  check_channels_apart_from_job(o, join_path(o.s3_output, l.job_name), l.s3_checkpoints);
  const double ckpt = checkpoint_bytes(plan);
  const auto needed_gb = static_cast<std::int64_t>(
      std::ceil(ckpt * static_cast<double>(p.checkpoints_kept + 1) / 1e9));
  // On an instance with NVMe instance storage SageMaker provisions no EBS volume: the storage is
  // the instance's own, whatever VolumeSizeInGB says (botocore's ResourceConfig.VolumeSizeInGB
  // documentation). Elsewhere the EBS volume holds the checkpoints, up to k_max_volume_gb.
  l.nvme_gb = static_cast<std::int64_t>(r.instance->local_nvme_bytes / 1e9);
  const std::int64_t storage_gb = l.nvme_gb > 0 ? l.nvme_gb : k_max_volume_gb;
  if (p.min_volume_gb + needed_gb > storage_gb) {
    throw Error(fmt::format(
        "the plan's checkpoints need {} GB per node ({} kept plus the one being written, each the "
        "whole model's parameters and optimizer states, which SageMaker copies to every node to "
        "resume), more than {} ({} GB); plan more GPUs per tensor or a smaller model",
        p.min_volume_gb + needed_gb, p.checkpoints_kept, l.instance_type,
        l.nvme_gb > 0 ? fmt::format("its {} GB of instance storage", l.nvme_gb)
                      : fmt::format("the largest EBS volume, {}", k_max_volume_gb),
        storage_gb));
  }
  // (capped where the instance storage holds them: the value is not read there, and --volume-gb
  // takes what is written)
  l.volume_gb =
      o.volume_gb > 0 ? o.volume_gb : std::min(p.min_volume_gb + needed_gb, k_max_volume_gb);
  if (o.volume_gb > 0 && l.nvme_gb > 0) {
    throw Error(fmt::format("--volume-gb {}: {} has {} GB of NVMe instance storage, which "
                            "SageMaker uses instead of an EBS volume (the value would be "
                            "ignored); leave --volume-gb out",
                            o.volume_gb, l.instance_type, l.nvme_gb));
  }
  if (o.volume_gb > 0 && o.volume_gb < needed_gb) {
    throw Error(fmt::format("--volume-gb {} cannot hold the {} checkpoints a node keeps plus the "
                            "one being written ({} GB); give {} or more, or leave the flag out",
                            o.volume_gb, p.checkpoints_kept, needed_gb, needed_gb));
  }
  l.checkpoint_gb = ckpt / 1e9;
  l.environment = p.environment;
  // A name slug() empties (no ASCII letter or digit) is tagged by its hash, so the tag still
  // tells models apart
  std::string model_tag = slug(r.model.name);
  if (model_tag.empty()) {
    model_tag = fmt::format("model-{:08x}", fnv1a(r.model.name) & 0xffffffffu);
  }
  l.tags = {{"bwplan:model", model_tag},
            {"bwplan:plan", l.job_name},
            {"bwplan:precision", std::string(name_of(r.config.precision))},
            {"bwplan:sharding", std::string(name_of(r.config.sharding))}};
  io::TrainerRun run;
  run.description = l.job_name;
  run.steps = l.steps;
  run.default_steps = l.train_tokens <= 0;
  run.checkpoint_interval_steps = l.checkpoint_interval_steps;
  run.checkpoints_kept = p.checkpoints_kept;
  run.checkpoint_folder = p.checkpoint_local_path + "/torchtitan";
  run.dump_folder = p.output_data_path;
  run.schedule = l.schedule;
  l.trainer_settings = io::torchtitan_settings(plan, l.model, run);
  const auto& sizes = p.training_plan_instance_counts;
  if (!o.training_plan_arn.empty() &&
      std::find(sizes.begin(), sizes.end(), r.nodes) == sizes.end()) {
    const auto bigger =
        std::find_if(sizes.begin(), sizes.end(), [&](std::int64_t n) { return n > r.nodes; });
    l.notes.push_back(fmt::format(
        "{} instances is not a size training plans are sold in ({}): the plan must have {}",
        r.nodes, fmt::join(sizes, ", "),
        bigger == sizes.end()
            ? std::string("at least that many")
            : fmt::format("{} instances, {} of them idle", *bigger, *bigger - r.nodes)));
  }
  if (plan.memory.allocator_retries) {
    const MemoryEstimate& m = plan.memory;
    l.notes.push_back(fmt::format(
        "the plan fits only as PyTorch's caching allocator returns its cache and retries "
        "allocations every step ({:.1f} GiB beside its {:.1f} GiB allocated peak): each retry "
        "synchronizes the GPU, which the predicted step time does not count; a smaller "
        "micro-batch, or a search with --headroom, leaves room",
        to_gib(m.allocated_headroom_bytes()), to_gib(m.peak_allocated_bytes)));
  }
  if (r.model.max_seq_len > 0 && r.config.seq_len > r.model.max_seq_len) {
    l.notes.push_back(fmt::format("the plan's sequence length {} is longer than {}'s context ({} "
                                  "tokens): the job trains positions the model was not built for",
                                  r.config.seq_len, r.model.name, r.model.max_seq_len));
  }
  if (tied_fsdp && !o.image.empty()) {
    l.notes.push_back(
        fmt::format("{}: the --image given must run PyTorch {}", tied_problem, tied_last));
  }
  if (!l.model.note.empty()) {
    l.notes.push_back(fmt::format("{} {}'s {} {} flavor: {}", data.trainer.name,
                                  data.trainer.version, l.model.name, l.model.flavor,
                                  l.model.note));
  }
  if (!l.model.custom.empty()) {
    const io::TrainerPin& t = data.trainer;
    l.notes.push_back(fmt::format(
        "{} {} has no flavor of {}: train.py registers its shape as a {} model, whose RoPE base "
        "({}) and RMSNorm epsilon ({}) are {}'s defaults for that architecture, not necessarily "
        "{}'s (memory and time do not depend on them): add rope_theta and norm_eps to "
        "source/model.json's custom arguments to set others",
        t.name, t.version, r.model.name, t.custom_model_family, t.custom_rope_theta,
        t.custom_norm_eps, t.name, r.model.name));
  }
  const OrderedJson request = request_json(l);
  const auto problems =
      validate_against_shape(nlohmann::json::parse(request.dump()), "CreateTrainingJobRequest");
  if (!problems.empty()) {
    throw Error(fmt::format(
        "the CreateTrainingJob request does not pass AWS's API model: {}{}", problems.front(),
        problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : std::string()));
  }
  EmittedLaunch out;
  out.job_name = l.job_name_of(1);
  out.jobs = l.jobs;
  out.max_runtime_s = l.max_runtime_s;
  out.steps = l.steps;
  out.default_steps = run.default_steps;
  out.runtime_from_flag = o.max_runtime_s > 0;
  out.notes = l.notes;
  out.lr = l.schedule.values.lr;
  out.warmup_steps = l.schedule.values.warmup_steps;
  out.lr_from = l.schedule.lr_from;
  out.warmup_from = l.schedule.warmup_from;
  out.files = io::launch_files(l, request.dump(2) + "\n");
  return out;
}

} // namespace bwplan
