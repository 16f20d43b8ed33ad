// `emit sagemaker`: user-setting checks, the image, the job name and the CreateTrainingJob
// request, validated against AWS's API model before any file is returned.
#include <algorithm>
#include <array>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "bwplan/aws_shapes.hpp"
#include "bwplan/error.hpp"
#include "bwplan/sagemaker.hpp"
#include "io/emit_sagemaker_files.hpp"
#include "io/render_common.hpp"

namespace bwplan {

namespace {

constexpr const char* k_dlc_account = "763104351884";
constexpr std::array<const char*, 16> k_standard_regions = {
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",
    "ca-central-1",   "eu-west-1",      "eu-west-2",      "eu-west-3",
    "eu-central-1",   "eu-north-1",     "ap-northeast-1", "ap-northeast-2",
    "ap-southeast-1", "ap-southeast-2", "ap-south-1",     "sa-east-1"};
constexpr std::array<std::pair<const char*, const char*>, 17> k_region_accounts = {{
    {"af-south-1", "626614931356"},
    {"ap-east-1", "871362719292"},
    {"ap-northeast-3", "364406365360"},
    {"ap-south-2", "772153158452"},
    {"ap-southeast-3", "907027046896"},
    {"ap-southeast-4", "457447274322"},
    {"ca-west-1", "204538143572"},
    {"eu-central-2", "380420809688"},
    {"eu-south-1", "692866216735"},
    {"eu-south-2", "503227376785"},
    {"il-central-1", "780543022126"},
    {"me-central-1", "914824155844"},
    {"me-south-1", "217643126080"},
    {"us-gov-east-1", "446045086412"},
    {"us-gov-west-1", "442386744353"},
    {"cn-north-1", "727897471807"},
    {"cn-northwest-1", "727897471807"},
}};
constexpr std::int64_t k_max_runtime_s = 28 * 24 * 3600; // AWS's cap
constexpr std::int64_t k_default_runtime_s = 24 * 3600;

struct ImageTag {
  const char* version;
  double cuda;
  const char* tag;
};
constexpr std::array<ImageTag, 4> k_tags = {{
    {"2.7", 12.8, "2.7.1-gpu-py312-cu128-ubuntu22.04-sagemaker"},
    {"2.8", 12.9, "2.8.0-gpu-py312-cu129-ubuntu22.04-sagemaker"},
    {"2.9", 13.0, "2.9.0-gpu-py312-cu130-ubuntu22.04-sagemaker"},
    {"2.10", 13.0, "2.10.0-gpu-py313-cu130-ubuntu22.04-sagemaker"},
}};

double compute_capability(const GpuSpec& g) {
  try {
    return std::stod(g.compute_capability);
  } catch (...) {
    return 0; // AMD "gfx942": no CUDA requirement we know of
  }
}

/// The lowest CUDA that supports the GPU: 12.8 for sm_100, 13.0 for sm_103 (B300).
double min_cuda(const GpuSpec& g) {
  const double cc = compute_capability(g);
  return cc >= 10.25 ? 13.0 : cc >= 10.0 ? 12.8 : 0.0;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string constraint(std::string_view shape) {
  return fmt::format("AWS {} pattern {}", shape, aws_shape_pattern(shape));
}

void check_s3(const std::string& v, const char* flag) {
  static const std::regex s3(R"(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?)");
  if (v.empty()) {
    throw Error(fmt::format("{} is required (an S3 URI, s3://bucket/prefix/)", flag));
  }
  if (v.size() > 1024 || has_control(v) || !std::regex_match(v, s3) ||
      !matches_shape_pattern(v, "S3Uri")) {
    throw Error(fmt::format("{} '{}' is not an S3 URI: AWS S3Uri takes at most 1024 characters "
                            "of the form s3://bucket/prefix (bucket: 3-63 of a-z 0-9 . -)",
                            flag, v));
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

std::string hp_value(const OrderedJson& v) {
  return v.dump();
} // the v2 SDK's json.dumps

OrderedJson request_json(const io::Launch& l) {
  const Estimate& e = *l.plan;
  const LaunchOptions& o = *l.options;
  OrderedJson j;
  j["TrainingJobName"] = l.job_name;
  j["RoleArn"] = o.role_arn;
  OrderedJson alg;
  alg["TrainingImage"] = l.image;
  alg["TrainingInputMode"] = "File";
  alg["EnableSageMakerMetricsTimeSeries"] = true;
  j["AlgorithmSpecification"] = alg;
  OrderedJson hp;
  hp["sagemaker_program"] = hp_value(o.entry_point);
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
  OrderedJson s3;
  s3["S3DataType"] = "S3Prefix";
  s3["S3Uri"] = o.s3_train;
  s3["S3DataDistributionType"] = "FullyReplicated";
  OrderedJson channel;
  channel["ChannelName"] = "train";
  channel["DataSource"]["S3DataSource"] = s3;
  j["InputDataConfig"] = OrderedJson::array({channel});
  j["OutputDataConfig"]["S3OutputPath"] = o.s3_output;
  OrderedJson rc;
  rc["InstanceType"] = l.instance_type;
  rc["InstanceCount"] = e.request.nodes;
  rc["VolumeSizeInGB"] = 30; // ignored on P6 (NVMe instance storage); the SDK default
  if (!o.training_plan_arn.empty()) {
    rc["TrainingPlanArn"] = o.training_plan_arn;
  }
  j["ResourceConfig"] = rc;
  j["StoppingCondition"]["MaxRuntimeInSeconds"] = l.max_runtime_s;
  j["CheckpointConfig"]["S3Uri"] = l.s3_checkpoints;
  j["CheckpointConfig"]["LocalPath"] = "/opt/ml/checkpoints";
  OrderedJson tags = OrderedJson::array();
  const auto tag = [&](const char* k, std::string v) {
    tags.push_back(OrderedJson{{"Key", k}, {"Value", std::move(v)}});
  };
  tag("bwplan:model", slug(e.request.model.name));
  tag("bwplan:plan", l.job_name);
  tag("bwplan:precision", std::string(name_of(e.request.config.precision)));
  tag("bwplan:sharding", std::string(name_of(e.request.config.sharding)));
  j["Tags"] = tags;
  return j;
}

} // namespace

std::vector<std::string> sagemaker_regions() {
  std::vector<std::string> out(k_standard_regions.begin(), k_standard_regions.end());
  for (const auto& [r, a] : k_region_accounts) {
    out.emplace_back(r);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string training_image_uri(const LaunchOptions& o, const GpuSpec& gpu) {
  if (!o.image.empty()) {
    return o.image;
  }
  std::string account = k_dlc_account;
  for (const auto& [r, a] : k_region_accounts) {
    if (o.region == r) {
      account = a;
    }
  }
  const std::string domain = o.region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  const double need = min_cuda(gpu);
  const ImageTag* tag = nullptr;
  if (o.pytorch_version.empty()) {
    tag = need >= 13.0 ? &k_tags[2] : &k_tags[1];
  } else {
    for (const ImageTag& t : k_tags) {
      if (o.pytorch_version == t.version || o.pytorch_version == std::string(t.tag).substr(0, 5)) {
        tag = &t;
      }
    }
    if (tag == nullptr) {
      throw Error(fmt::format("--pytorch-version '{}' has no known DLC pytorch-training image "
                              "(known: 2.7, 2.8, 2.9, 2.10; or give --image)",
                              o.pytorch_version));
    }
    if (tag->cuda < need) {
      throw Error(fmt::format("--pytorch-version {}: its DLC image has CUDA {:.1f}, but {} "
                              "(compute capability {}) needs CUDA {:.1f} or newer",
                              o.pytorch_version, tag->cuda, gpu.name, gpu.compute_capability,
                              need));
    }
  }
  return fmt::format("{}.dkr.ecr.{}.{}/pytorch-training:{}", account, o.region, domain, tag->tag);
}

void check_launch_options(const LaunchOptions& o, const Estimate& plan) {
  if (o.role_arn.empty()) {
    throw Error("--role-arn is required (the IAM role SageMaker runs the job as)");
  }
  if (o.role_arn.size() < 20 || o.role_arn.size() > 2048 || has_control(o.role_arn) ||
      !matches_shape_pattern(o.role_arn, "RoleArn")) {
    throw Error(fmt::format("--role-arn '{}' is not an IAM role ARN: {}, 20-2048 characters",
                            o.role_arn, constraint("RoleArn")));
  }
  check_s3(o.s3_output, "--s3-output");
  check_s3(o.s3_train, "--s3-train");
  if (!o.s3_checkpoints.empty()) {
    check_s3(o.s3_checkpoints, "--s3-checkpoints");
  }
  const auto regions = sagemaker_regions();
  if (std::find(regions.begin(), regions.end(), o.region) == regions.end()) {
    throw Error(fmt::format("--region '{}' is not a region with a known AWS Deep Learning "
                            "Container account (known: {})",
                            o.region, fmt::join(regions, ", ")));
  }
  if (!o.job_name.empty() &&
      (o.job_name.size() > 63 || !matches_shape_pattern(o.job_name, "TrainingJobName"))) {
    throw Error(fmt::format("--job-name '{}' is not a SageMaker training job name: AWS "
                            "TrainingJobName takes 1-63 characters matching {}",
                            o.job_name, aws_shape_pattern("TrainingJobName")));
  }
  if (!o.training_plan_arn.empty() &&
      (o.training_plan_arn.size() < 50 || o.training_plan_arn.size() > 2048 ||
       has_control(o.training_plan_arn) ||
       !matches_shape_pattern(o.training_plan_arn, "TrainingPlanArn"))) {
    throw Error(fmt::format("--training-plan-arn '{}' is not a training plan ARN: {}, 50-2048 "
                            "characters",
                            o.training_plan_arn, constraint("TrainingPlanArn")));
  }
  if (!o.image.empty() &&
      (o.image.size() > 255 || has_control(o.image) || o.image.find(' ') != std::string::npos)) {
    throw Error(fmt::format("--image '{}' is not an image URI: AWS AlgorithmImage takes at most "
                            "255 characters, registry/repository[:tag] without spaces",
                            o.image));
  }
  if (o.max_runtime_s < 0 || o.max_runtime_s > k_max_runtime_s) {
    throw Error(fmt::format("--max-runtime {} is out of range: AWS MaxRuntimeInSeconds allows "
                            "1..{} (28 days); 0 derives it from the plan",
                            o.max_runtime_s, k_max_runtime_s));
  }
  if (o.sdk != "v3" && o.sdk != "v2") {
    throw Error(fmt::format("--sdk '{}' is not known: allowed v3, v2", o.sdk));
  }
  if (o.entry_point.empty() || o.entry_point.size() > 2000) {
    throw Error("--entry-point must be 1-2000 characters (it becomes the sagemaker_program "
                "hyperparameter, at most 2500 characters JSON-encoded)");
  }
  if (o.source_dir.empty()) {
    throw Error("--source-dir must not be empty");
  }
  if (!(o.train_tokens >= 0 && o.train_tokens <= 1e16)) {
    throw Error(fmt::format("--train-tokens {} is out of range (allowed 0..1e16)", o.train_tokens));
  }
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
}

std::vector<EmittedFile> emit_sagemaker(const Estimate& plan, const LaunchOptions& o) {
  check_launch_options(o, plan);
  const EstimateRequest& r = plan.request;
  io::Launch l;
  l.plan = &plan;
  l.options = &o;
  l.instance_type = r.instance->name;
  l.image = training_image_uri(o, r.gpu);
  l.settings = settings_of(plan);
  l.train_tokens = o.train_tokens > 0 ? o.train_tokens : r.train_tokens;
  const TrainingConfig& c = r.config;
  l.tokens_per_step = c.micro_batch * c.seq_len * c.gpus * c.grad_accum;
  l.steps = l.train_tokens > 0 ? static_cast<std::int64_t>(std::ceil(
                                     l.train_tokens / static_cast<double>(l.tokens_per_step)))
                               : 1000;
  if (l.train_tokens > 0) {
    l.settings["train_tokens"] = static_cast<std::int64_t>(std::llround(l.train_tokens));
  }
  l.settings["steps"] = l.steps;
  if (o.job_name.empty()) {
    const std::string key = fmt::format("{}|{}|{}|{}|{}", l.settings.dump(), o.role_arn,
                                        o.s3_output, o.region, o.training_plan_arn);
    const std::string suffix = fmt::format("{:08x}", fnv1a(key) & 0xffffffffu);
    std::string base = slug(fmt::format("bwplan-{}-{}x{}-{}", r.model.name, r.nodes,
                                        instance_slug(r.instance->name), name_of(c.precision)));
    base = base.substr(0, 63 - 1 - suffix.size());
    while (!base.empty() && base.back() == '-') {
      base.pop_back();
    }
    l.job_name = base + "-" + suffix;
  } else {
    l.job_name = o.job_name;
  }
  l.s3_checkpoints = o.s3_checkpoints.empty() ? join_path(o.s3_output, l.job_name + "/checkpoints/")
                                              : o.s3_checkpoints;
  l.submit_directory = join_path(o.s3_output, l.job_name + "/source/sourcedir.tar.gz");
  if (o.max_runtime_s > 0) {
    l.max_runtime_s = o.max_runtime_s;
  } else if (l.train_tokens > 0 && plan.time.tokens_per_s_job > 0) {
    const double s = l.train_tokens / plan.time.tokens_per_s_job * 1.5 + 3600;
    l.max_runtime_s = std::min<std::int64_t>(k_max_runtime_s, std::llround(std::ceil(s)));
  } else {
    l.max_runtime_s = k_default_runtime_s;
  }
  // SageMaker's launchers switch EFA on only for instance types on their lists, and P6 is not on
  // them (platform.md, "SageMaker launch pitfalls"): set it explicitly. NCCL_IB_HCA=rdmap keeps
  // NCCL off the ibp* NVLink controllers p6-b200 reports as EFA devices.
  l.environment = {
      {"FI_PROVIDER", "efa"},   {"FI_EFA_USE_DEVICE_RDMA", "1"},
      {"NCCL_DEBUG", "WARN"},   {"NCCL_SOCKET_IFNAME", "^lo,docker"},
      {"NCCL_IB_HCA", "rdmap"}, {"PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True"}};
  const OrderedJson request = request_json(l);
  const auto problems =
      validate_against_shape(nlohmann::json::parse(request.dump()), "CreateTrainingJobRequest");
  if (!problems.empty()) {
    throw Error(fmt::format(
        "the CreateTrainingJob request does not pass AWS's API model: {}{}", problems.front(),
        problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : std::string()));
  }
  return {{"create-training-job.json", request.dump(2) + "\n"},
          {"launch.py", io::launch_py(l)},
          {"torchtitan.toml", io::torchtitan_toml(l)},
          {"hyperparameters.json", io::hyperparameters_json(l)},
          {"README.md", io::readme_md(l)}};
}

} // namespace bwplan
