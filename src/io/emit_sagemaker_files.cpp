// `emit sagemaker`: the launch directory's files (launch.py, submit.sh, README.md, the source
// directory), plus the escaping of user strings into Python, TOML and shell text.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "bwplan/embedded_configs.hpp"
#include "bwplan/error.hpp"
#include "bwplan/units.hpp"
#include "bwplan/utf8.hpp"
#include "emit_sagemaker_files.hpp"
#include "launch_data.hpp"
#include "render_common.hpp"

namespace bwplan {

namespace {

/// Escapes for a double-quoted Python or TOML string; UTF-8 passes through.
std::string escape_quoted(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
    case '\\': out += "\\\\"; break;
    case '"': out += "\\\""; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (is_control_byte(c)) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out += ch;
      }
    }
  }
  return out;
}

} // namespace

std::string python_string_literal(std::string_view s) {
  return "\"" + escape_quoted(s) + "\"";
}

std::string toml_string_literal(std::string_view s) {
  return "\"" + escape_quoted(s) + "\"";
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
  }
  return out + "'";
}

std::string shell_word(std::string_view s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("-_./:=@%+,").find(c) != std::string_view::npos;
  });
  return plain ? std::string(s) : shell_quote(s);
}

namespace io {

namespace {

/// A plain JSON value as a Python literal (strings escaped, booleans True/False).
std::string python_value(const OrderedJson& v) {
  if (v.is_string()) {
    return python_string_literal(v.get<std::string>());
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? "True" : "False";
  }
  if (v.is_null()) {
    return "None";
  }
  return v.dump();
}

std::string python_dict(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out = "{\n";
  for (const auto& [k, v] : items) {
    out += fmt::format("    {}: {},\n", python_string_literal(k), v);
  }
  return out + "}";
}

std::string head(const Launch& l) {
  const LaunchOptions& o = *l.options;
  const SageMakerPolicy& p = launch_data().policy;
  std::vector<std::pair<std::string, std::string>> hp;
  for (const auto& [k, v] : l.settings.items()) {
    hp.emplace_back(k, python_value(v));
  }
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& [k, v] : l.environment) {
    env.emplace_back(k, python_string_literal(v));
  }
  std::string s = fmt::format("ROLE = {}\n", python_string_literal(o.role_arn));
  s += fmt::format("IMAGE = {}\n", python_string_literal(l.image));
  s += fmt::format("REGION = {}\n", python_string_literal(o.region));
  s += fmt::format("JOB_NAME = {}  # the base: each job is JOB_NAME[-p<k>]-<timestamp>\n",
                   python_string_literal(l.job_name));
  s += fmt::format("JOBS = {}  # chained jobs, each resuming from the last checkpoint\n", l.jobs);
  s += fmt::format("INSTANCE_TYPE = {}\n", python_string_literal(l.instance_type));
  s += fmt::format("INSTANCE_COUNT = {}\n", l.plan->request.nodes);
  s += fmt::format("GPUS_PER_NODE = {}\n", l.plan->request.config.gpus_per_node);
  s += fmt::format("VOLUME_GB = {}\n", l.volume_gb);
  s += fmt::format("TRAINING_PLAN_ARN = {}\n", o.training_plan_arn.empty()
                                                   ? "None"
                                                   : python_string_literal(o.training_plan_arn));
  s += fmt::format("MAX_RUNTIME_S = {}  # per job\n", l.max_runtime_s);
  s += fmt::format("S3_TRAIN = {}\n", python_string_literal(o.s3_train));
  s += fmt::format("S3_TOKENIZER = {}\n", python_string_literal(o.s3_tokenizer));
  s += fmt::format("S3_OUTPUT = {}\n", python_string_literal(o.s3_output));
  s += fmt::format("S3_CHECKPOINTS = {}\n", python_string_literal(l.s3_checkpoints));
  s += fmt::format("CHECKPOINT_LOCAL_PATH = {}\n", python_string_literal(p.checkpoint_local_path));
  s += fmt::format("ENTRY_SCRIPT = {}\n", python_string_literal(k_entry_script));
  s += fmt::format("HYPERPARAMETERS = {}\n", python_dict(hp));
  s += fmt::format("ENVIRONMENT = {}\n", python_dict(env));
  s += "TAGS = [\n";
  for (const auto& [k, v] : l.tags) {
    s += fmt::format("    ({}, {}),\n", python_string_literal(k), python_string_literal(v));
  }
  return s + "]\n";
}

// The chain loop, shared by both launchers: run job k, stop when one completes, go on when a job
// hit its runtime limit (SecondaryStatus MaxRuntimeExceeded), stop on anything else.
constexpr const char* k_chain = R"PY(

def base_name(job):
    """The job's name before the timestamp (as create-training-job.json spells it)."""
    return f"{JOB_NAME}-p{job}" if JOBS > 1 else JOB_NAME


def final_status(sagemaker_api, name, job):
    """The job's description once it has ended. The SDK's wait can stop early (a dropped
    connection, throttling, credentials that expired during a days-long job) while the job runs
    on: then this waits for it, reading its status every minute. It gives up after an hour of
    failed reads, and at once on an error retrying cannot mend (no such job, no permission)."""
    failures = 0
    while True:
        try:
            status = sagemaker_api.describe_training_job(TrainingJobName=name)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            failures += 1
            if code in ("ValidationException", "ResourceNotFound", "AccessDeniedException") or \
                    failures > 12:
                sys.exit(f"{name}: cannot read its status ({error}); it may still be running. "
                         f"Once it has ended, continue with: python3 {shlex.quote(sys.argv[0])} "
                         f"--start-job {job + 1}")
            print(f"{name}: cannot read its status ({error}); retrying in 5 minutes "
                  f"(Ctrl-C stops waiting, not the job)", file=sys.stderr)
            time.sleep(300)
            continue
        failures = 0
        if status["TrainingJobStatus"] not in ("InProgress", "Stopping"):
            return status
        time.sleep(60)


def main():
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--dry-run", action="store_true", help="check the request, submit nothing")
    args.add_argument("--start-job", type=int, default=1, help="continue a chain at job K")
    args.add_argument("--jobs", type=int, default=JOBS, help="jobs in the chain")
    opts = args.parse_args()
    if opts.jobs < 1 or not 1 <= opts.start_job <= opts.jobs:
        args.error(f"--start-job {opts.start_job} is not one of jobs 1..{opts.jobs} (--jobs)")
    sagemaker_api = boto3.client("sagemaker", region_name=REGION)
    for job in range(opts.start_job, opts.jobs + 1):
        name = submit(job, opts.dry_run)
        if name is None:
            continue
        status = final_status(sagemaker_api, name, job)
        if status["TrainingJobStatus"] == "Completed":
            print(f"{name}: completed; checkpoints in {S3_CHECKPOINTS}")
            return 0
        if status.get("SecondaryStatus") != "MaxRuntimeExceeded":
            print(f"{name}: {status['TrainingJobStatus']}: {status.get('FailureReason', '')}")
            return 1
        if job == opts.jobs:
            print(f"{name}: hit its runtime limit and was the last of {opts.jobs} jobs; "
                  f"continue with: python3 {shlex.quote(sys.argv[0])} --start-job {job + 1} --jobs {job + 1}")
            return 1
        print(f"{name}: hit its runtime limit; job {job + 1} resumes from the checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
)PY";

std::string launch_v3(const Launch& l) {
  std::string s =
      R"PY("""Launches the plan as SageMaker AI training jobs with the SageMaker Python SDK v3
(ModelTrainer). Generated by `bwplan emit sagemaker`; run from any directory:
python3 launch.py [--dry-run] [--start-job K]."""
import argparse
import os
import shlex
import sys
import time

import boto3
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.shapes import Tag
from sagemaker.core.training.configs import (
    CheckpointConfig,
    Compute,
    InputData,
    OutputDataConfig,
    S3DataSource,
    SourceCode,
    StoppingCondition,
)
from sagemaker.train import ModelTrainer
from sagemaker.train.distributed import Torchrun

HERE = os.path.dirname(os.path.abspath(__file__))
)PY";
  s += head(l);
  s += R"PY(
# The SDK reads the job's logs with a CloudWatch client of the default region, not the session's
# (aws/sagemaker-python-sdk@10ada9be10d357465e03858661054abeb98a1b13 (v3.20.0):
# sagemaker-core/src/sagemaker/core/utils/logs.py lines 10-24, CloudWatchLogsClient builds
# boto3's Session() and uses its region_name), and boto3 takes the default from
# AWS_DEFAULT_REGION before any profile
# (boto/botocore@0e6e2404b85dc336dd2889814e089bde7d1a4c55:botocore/configprovider.py line 74):
# the job's region, for this process only.
os.environ["AWS_DEFAULT_REGION"] = REGION


def submit(job, dry_run):
    """Starts chained job `job` and waits for it; returns its name (None on a dry run)."""
    trainer = ModelTrainer(
        sagemaker_session=Session(boto_session=boto3.Session(region_name=REGION)),
        role=ROLE,
        training_image=IMAGE,
        base_job_name=base_name(job),  # the SDK adds "-<YYYYmmddHHMMSS>"
        source_code=SourceCode(
            source_dir=os.path.join(HERE, "source"),
            requirements="requirements.txt",
            entry_script=ENTRY_SCRIPT,
        ),
        distributed=Torchrun(process_count_per_node=GPUS_PER_NODE),
        compute=Compute(
            instance_type=INSTANCE_TYPE,
            instance_count=INSTANCE_COUNT,
            volume_size_in_gb=VOLUME_GB,
            training_plan_arn=TRAINING_PLAN_ARN,
        ),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=MAX_RUNTIME_S),
        output_data_config=OutputDataConfig(s3_output_path=S3_OUTPUT),
        checkpoint_config=CheckpointConfig(s3_uri=S3_CHECKPOINTS, local_path=CHECKPOINT_LOCAL_PATH),
        training_input_mode="FastFile",
        hyperparameters={**HYPERPARAMETERS, "chain_job": job},  # train.py: job > 1 resumes
        environment=ENVIRONMENT,
        tags=[Tag(key=key, value=value) for key, value in TAGS],
    )
    # S3DataSource, not the URI: a URI string makes the SDK write the channel in File mode,
    # which overrides the job's FastFile and copies all the data to every node first
    inputs = [
        InputData(channel_name=name, data_source=S3DataSource(
            s3_data_type="S3Prefix", s3_uri=uri, s3_data_distribution_type="FullyReplicated"))
        for name, uri in (("train", S3_TRAIN), ("tokenizer", S3_TOKENIZER))
    ]
    if dry_run:
        trainer.train(input_data_config=inputs, dry_run=True)
        print(f"job {job} of {JOBS}: the request passes the SDK's checks (nothing submitted)")
        return None
    try:
        trainer.train(input_data_config=inputs, wait=True, logs=True)
    except Exception as error:  # the SDK raises when a job ends without completing
        if trainer._latest_training_job is None:  # ... and when it could not create the job
            sys.exit(f"job {job} of {JOBS} was not created: {error}")
        print(f"job {job} of {JOBS}: {error}", file=sys.stderr)
    return trainer._latest_training_job.training_job_name
)PY";
  return s + k_chain;
}

std::string launch_v2(const Launch& l) {
  std::string s =
      R"PY("""Launches the plan as SageMaker AI training jobs with the SageMaker Python SDK v2
(PyTorch estimator, torch_distributed). Generated by `bwplan emit sagemaker`; run from any
directory: python3 launch.py [--dry-run] [--start-job K]."""
import argparse
import os
import shlex
import sys
import time
from datetime import datetime

import boto3
import sagemaker
from sagemaker.pytorch import PyTorch

HERE = os.path.dirname(os.path.abspath(__file__))
)PY";
  s += head(l);
  s += R"PY(

def submit(job, dry_run):
    """Starts chained job `job` and waits for it; returns its name (None on a dry run)."""
    name = f"{base_name(job)}-{datetime.now().strftime('%Y%m%d%H%M%S')}"  # as the v3 SDK names
    estimator = PyTorch(
        sagemaker_session=sagemaker.Session(boto_session=boto3.Session(region_name=REGION)),
        entry_point=ENTRY_SCRIPT,
        source_dir=os.path.join(HERE, "source"),  # its requirements.txt is installed first
        role=ROLE,
        image_uri=IMAGE,
        instance_type=INSTANCE_TYPE,
        instance_count=INSTANCE_COUNT,
        distribution={"torch_distributed": {"enabled": True}},
        hyperparameters={**HYPERPARAMETERS, "chain_job": job},  # train.py: job > 1 resumes
        environment=ENVIRONMENT,
        max_run=MAX_RUNTIME_S,
        volume_size=VOLUME_GB,
        input_mode="FastFile",
        output_path=S3_OUTPUT,
        checkpoint_s3_uri=S3_CHECKPOINTS,
        checkpoint_local_path=CHECKPOINT_LOCAL_PATH,
        training_plan=TRAINING_PLAN_ARN,
        tags=[{"Key": key, "Value": value} for key, value in TAGS],
    )
    if dry_run:  # SDK v2 has no dry run: only the estimator's own argument checks ran
        print(f"job {job} of {JOBS}: {name}: the estimator's arguments pass SDK v2's checks; "
              "the request itself is not checked (nothing submitted)")
        return None
    try:
        estimator.fit({"train": S3_TRAIN, "tokenizer": S3_TOKENIZER}, job_name=name, wait=True)
    except Exception as error:  # the SDK raises when a job ends without completing
        if estimator.latest_training_job is None:  # ... and when it could not create the job
            sys.exit(f"job {job} of {JOBS} was not created: {error}")
        print(f"job {job} of {JOBS}: {error}", file=sys.stderr)
    return name
)PY";
  return s + k_chain;
}

std::string submit_sh(const Launch& l) {
  const LaunchOptions& o = *l.options;
  std::string s = "#!/bin/sh\n";
  s += "# Submits the plan's training job with the AWS CLI (generated by bwplan emit "
       "sagemaker).\n# Runs from any directory; the source tarball is built outside this "
       "directory.\n";
  s += "set -eu\ncd \"$(dirname \"$0\")\"\n";
  s += "tmp=$(mktemp -d)\ntrap 'rm -rf \"$tmp\"' EXIT\n";
  s += "tar czf \"$tmp/sourcedir.tar.gz\" -C source .\n";
  s += fmt::format("aws s3 cp \"$tmp/sourcedir.tar.gz\" {}\n", shell_quote(l.submit_directory));
  // A job's name is SageMaker's key and stays taken once used, so each submission gets the SDK's
  // "-<YYYYmmddHHMMSS>" suffix (job_base_name leaves room for it). An option given beside
  // --cli-input-json takes precedence over the file's value (AWS CLI User Guide, "Combining input
  // files and command line parameters").
  s += fmt::format("name={}-$(date -u +%Y%m%d%H%M%S)\n", shell_quote(l.job_name_of(1)));
  s += fmt::format(
      "aws sagemaker create-training-job --region {} "
      "--cli-input-json file://create-training-job.json --training-job-name \"$name\"\n",
      shell_quote(o.region));
  s += "echo \"submitted $name\"\n";
  if (l.jobs > 1) {
    s += fmt::format("echo 'submitted job 1 of {}: the run needs {} jobs of {} s each; "
                     "python3 launch.py chains them (--start-job 2 continues after this one)'\n",
                     l.jobs, l.jobs, l.max_runtime_s);
  }
  return s;
}

std::string requirements_txt() {
  const TrainerPin& t = launch_data().trainer;
  std::string s = fmt::format("# Installed by SageMaker before {} runs: the trainer bwplan's "
                              "launch files target ({} {}, docs/launch.md).\n",
                              k_entry_script, t.name, t.version);
  for (const Requirement& r : t.requirements) {
    s += fmt::format("{}=={}\n", r.name, r.version);
  }
  return s;
}

std::string entry_script() {
  for (const EmbeddedFile& f : embedded_data_files()) {
    if (f.path == "launch/train.py") {
      return std::string(f.contents);
    }
  }
  throw Error("data/launch/train.py is not built into this binary");
}

std::string readme_md(const Launch& l) {
  const Estimate& e = *l.plan;
  const EstimateRequest& r = e.request;
  const LaunchOptions& o = *l.options;
  const TrainerPin& t = launch_data().trainer;
  std::string s = fmt::format("# SageMaker launch files for {}\n\n", l.job_name);
  s += fmt::format("Generated by `bwplan emit sagemaker` for {} on {} x {} ({} GPUs), {} "
                   "sharding, {} precision, micro-batch {}, sequence length {}, grad-accum {}. "
                   "The job trains with {} {} (pinned in `source/requirements.txt`).\n\n",
                   r.model.name, r.nodes, l.instance_type, r.config.gpus,
                   name_of(r.config.sharding), name_of(r.config.precision), r.config.micro_batch,
                   r.config.seq_len, r.config.grad_accum, t.name, t.version);
  if (!l.notes.empty()) {
    s += "## Before you launch\n\n";
    for (const std::string& n : l.notes) {
      s += "- " + n + ".\n";
    }
    s += "\n";
  }
  s += "## Launch\n\n";
  s += "Put your data and tokenizer where the job reads them, then run either launcher (from any "
       "directory):\n\n";
  // torchtitan's loader splits a streamed dataset with split_dataset_by_node, which gives each
  // rank whole files only when their count is a multiple of the ranks; otherwise every rank reads
  // every file and keeps one example in N (pytorch/torchtitan@v0.2.2:
  // torchtitan/hf_datasets/text_datasets.py line 91; Hugging Face datasets'
  // split_dataset_by_node documentation).
  s += fmt::format("- `{0}` — text to train on: JSON Lines (`.jsonl`, `.json`, optionally `.gz`) "
                   "or Parquet files with a `text` field, or `.txt` files, one document per "
                   "line. Split it into a multiple of {1} files (the data-parallel ranks): "
                   "with another count every rank reads every file and keeps one example in "
                   "{1}.\n",
                   o.s3_train, data_parallel_degree(r.config));
  s += fmt::format("- `{}` — a Hugging Face tokenizer directory (`tokenizer.json`, "
                   "`tokenizer_config.json`); its vocabulary must fit the model's {} tokens.\n\n",
                   o.s3_tokenizer, r.model.vocab);
  s += fmt::format("```sh\npython3 launch.py --dry-run   # checks the request with the SDK, "
                   "submits no job{}\n",
                   o.sdk == "v2" ? "" : " (uploads source/ to the SDK's default bucket)");
  s += "python3 launch.py             # submits, follows the logs, chains jobs if needed\n"
       "sh submit.sh                  # or: the AWS CLI with create-training-job.json\n```\n\n";
  // ModelTrainer.train takes dry_run from v3.19.0 on (aws/sagemaker-python-sdk@v3.19.0:
  // sagemaker-train/src/sagemaker/train/model_trainer.py line 798; absent at v3.18.0). The v2
  // Estimator takes training_plan from v2.237.0 on (absent from v2.236.0's estimator.py), and
  // before that its **kwargs would drop a training plan without an error.
  s += fmt::format("`launch.py` needs the SageMaker Python SDK {} (`pip install {}`).\n\n",
                   o.sdk == "v2" ? "v2.237 or a newer v2" : "v3.19 or newer",
                   o.sdk == "v2" ? "'sagemaker>=2.237,<3'" : "'sagemaker>=3.19,<4'");
  s += "| File | What it is |\n|---|---|\n";
  s += "| `launch.py` | submits the job(s) with the SageMaker Python SDK and waits |\n";
  s += "| `submit.sh` | the same first job with the AWS CLI |\n";
  s += "| `create-training-job.json` | the complete `CreateTrainingJob` request, checked against "
       "AWS's API model |\n";
  s += "| `source/train.py` | entry script: registers the data channel (and the model when "
       "torchtitan has no flavor of its shape), checks the parameter count, runs torchtitan |\n";
  s += "| `source/torchtitan.toml` | every plan setting as torchtitan's job config; each line "
       "names the plan field it comes from |\n";
  s += "| `source/requirements.txt` | the pinned trainer, installed before `train.py` runs |\n";
  s += "| `source/model.json` | the torchtitan model, flavor and parameter count the plan "
       "expects |\n";
  s += "| `hyperparameters.json` | the plan's settings (also sent as the job's "
       "hyperparameters, for the record) |\n\n";
  s += "## What the plan expects\n\n";
  s += fmt::format("- Peak memory per GPU: {:.1f} GiB required (up to {:.1f} GiB at the upper "
                   "edge of bwplan's error band) of {:.1f} GiB usable: {}.\n",
                   e.memory.device_bytes_required / k_gib,
                   e.memory.device_bytes_required_high / k_gib, e.memory.usable_bytes / k_gib,
                   memory_verdict_text(e.memory));
  s += fmt::format(
      "- Throughput: {:.0f} tokens/s for the job ({:.0f} per GPU, band {:.0f}-{:.0f}), "
      "MFU {:.1f}%, {:.3f} s per step.\n",
      e.time.tokens_per_s_job, e.time.tokens_per_s_per_gpu, e.time.tokens_per_s_per_gpu_low,
      e.time.tokens_per_s_per_gpu_high, e.time.mfu * 100, e.time.step_s);
  if (e.cost.usd_per_hour > 0) {
    const PriceBasis& basis = e.cost.price_basis;
    const std::string elsewhere =
        !basis.overridden && !basis.price.region.empty() && basis.price.region != o.region
            ? fmt::format("; the job runs in {}, whose price may differ", o.region)
            : std::string();
    s += fmt::format("- Cost: ${:.2f} per hour ({}{}), ${} per million tokens.\n",
                     e.cost.usd_per_hour, io::price_basis_text(basis), elsewhere,
                     io::usd_per_million_text(e.cost.usd_per_million_tokens));
  }
  if (l.train_tokens > 0 && e.time.tokens_per_s_job > 0) {
    const double hours = l.train_tokens / e.time.tokens_per_s_job / 3600;
    s += fmt::format("- Time to train {:.3g} tokens: {:.1f} h ({} optimizer steps), about "
                     "${:.0f}.\n",
                     l.train_tokens, hours, l.steps, hours * e.cost.usd_per_hour);
  } else {
    s += fmt::format("- No token count was given: the job runs {} optimizer steps.\n", l.steps);
  }
  const ChosenSchedule& lr = l.schedule;
  s += fmt::format("- Learning rate: {} ({}), warm-up steps: {} ({}). A schedule for your data is "
                   "yours to set: `--lr` and `--warmup-steps`.\n",
                   OrderedJson(lr.values.lr).dump(), lr.lr_from, lr.values.warmup_steps,
                   lr.warmup_from);
  s += fmt::format("- MaxRuntimeInSeconds: {} ({:.1f} h) per job", l.max_runtime_s,
                   static_cast<double>(l.max_runtime_s) / 3600);
  if (l.jobs > 1) {
    s += fmt::format("; the run needs **{} chained jobs**: {}, and each next job resumes from "
                     "the last checkpoint. `launch.py` starts them one after another; "
                     "`submit.sh` submits the first",
                     l.jobs,
                     l.options->max_runtime_s > 0 ? "each job stops at `--max-runtime`"
                                                  : "SageMaker stops a job after 28 days");
  }
  s += ".\n";
  s += fmt::format("- Checkpoints: every {} steps to `{}` on each node, synced to `{}`; the "
                   "latest {} are kept (about {:.1f} GB each; {}). A restarted or chained job "
                   "resumes from the newest; SageMaker first copies every checkpoint kept in S3 "
                   "to each node.\n",
                   l.checkpoint_interval_steps, launch_data().policy.checkpoint_local_path,
                   l.s3_checkpoints, launch_data().policy.checkpoints_kept, l.checkpoint_gb,
                   l.nvme_gb > 0
                       ? fmt::format("the instance's {} GB of NVMe storage per node, which "
                                     "SageMaker uses whatever VolumeSizeInGB says",
                                     l.nvme_gb)
                       : fmt::format("volume {} GB per node", l.volume_gb));
  s += "- Weights: the model starts from torchtitan's random initialization (training from "
       "scratch). To start from pretrained weights, set `[checkpoint] initial_load_path` (or "
       "`initial_load_in_hf = true` with the Hugging Face weights in the tokenizer channel) in "
       "`source/torchtitan.toml`; bwplan does not.\n\n";
  s += "## Environment\n\nThe job's Environment switches EFA on explicitly: SageMaker's "
       "launchers do so only for instance types on their lists, and P6 is not on them. "
       "The launchers set ";
  std::string sets;
  for (const std::string& v : launch_data().policy.launcher_sets) {
    sets += (sets.empty() ? "`" : ", `") + v + "`";
  }
  s += sets + " themselves after the job's Environment, so bwplan does not write them.\n";
  return s;
}

} // namespace

std::vector<EmittedFile> launch_files(const Launch& l, const std::string& request) {
  const std::string toml_header =
      fmt::format("# torchtitan {} job config for the plan (generated by bwplan emit "
                  "sagemaker).\n# After each value: the plan field it carries.\n\n",
                  launch_data().trainer.version);
  return {{"create-training-job.json", request},
          {"launch.py", l.options->sdk == "v2" ? launch_v2(l) : launch_v3(l)},
          {"submit.sh", submit_sh(l), true},
          {"hyperparameters.json", l.settings.dump(2) + "\n"},
          {"README.md", readme_md(l)},
          {"source/train.py", entry_script()},
          {"source/torchtitan.toml", torchtitan_toml(l.trainer_settings, toml_header)},
          {"source/requirements.txt", requirements_txt()},
          {"source/model.json", model_json(l.model)}};
}

} // namespace io

} // namespace bwplan
