#!/usr/bin/env python3
"""Runs an emitted launch.py and submit.sh against stand-ins for the SageMaker SDK, boto3 and the
AWS CLI, through the outcomes a chain of jobs can have.

Usage: tests/launch/run_launch_stub.py DIR
DIR is an emitted launch directory. The stand-ins behave as the SDKs do where launch.py depends
on them:
- SDK v3 `ModelTrainer.train` sets `_latest_training_job` only once `TrainingJob.create` returned,
  then waits, and raises when the job ends without completing; with `dry_run=True` it submits
  nothing (aws/sagemaker-python-sdk@v3.20.0:sagemaker-train/src/sagemaker/train/model_trainer.py
  lines 825-843); it names a job base + "-<YYYYmmddHHMMSS>" cut to 63 characters (utils.py
  `_get_unique_name`, lines 124-142).
- SDK v3 `ModelTrainer.create_input_data_channel` writes a channel given as an S3 URI string
  with `input_mode="File"`, which overrides the job's FastFile; an `S3DataSource` leaves it
  unset (model_trainer.py lines 1008-1021 and 1080-1083).
- SDK v2 `EstimatorBase.fit` sets `latest_training_job` only once `_TrainingJob.start_new` returned
  (aws/sagemaker-python-sdk@v2.257.6:src/sagemaker/estimator.py lines 688 and 1438).
- SDK v3 `TrainingJob.wait(logs=True)` reads the logs with a CloudWatch client made by boto3's
  `Session()`, in the default region, not the session's
  (aws/sagemaker-python-sdk@10ada9be10d357465e03858661054abeb98a1b13:
  sagemaker-core/src/sagemaker/core/utils/logs.py lines 10-24).
- A job that hits its runtime limit is `Stopped` with SecondaryStatus `MaxRuntimeExceeded`
  (botocore's DescribeTrainingJob documentation of SecondaryStatus).
Checks: a dry run submits nothing and exits 0; a chain whose jobs hit the limit until the last
completes runs every job under its own name and exits 0, reading every job's logs in the plan's
region when another is the default; a job SageMaker does not create stops
the launcher with exit 1 and the SDK's message (no traceback); a job still running when the
SDK's wait breaks is waited for, and one whose status cannot be read for good stops the launcher
saying how to continue; --start-job past the chain is refused; a failed job exits 1 with its
reason; a chain whose last job hits the limit exits 1 saying how to continue; submit.sh uploads
the source and names its job the base plus a timestamp. Prints "ok" and exits 0, or what went
wrong and exits 1. Standard library only.
"""
import ast
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

COMMON = """
import json, os
OUTCOMES = [o for o in os.environ.get("STUB_OUTCOMES", "").split(",") if o]
_jobs, _count = {}, [0]

def log(entry):
    with open(os.environ["STUB_LOG"], "a") as f:
        f.write(json.dumps(entry) + "\\n")

def create(name, set_latest):
    k = _count[0]
    _count[0] += 1
    outcome = OUTCOMES[k] if k < len(OUTCOMES) else "completed"
    if outcome == "create_fails":
        log({"create_failed": name})
        raise RuntimeError("ResourceLimitExceeded: stand-in quota of 0 instances")
    log({"created": name})
    _jobs[name] = outcome
    set_latest()
    if outcome != "completed":
        raise RuntimeError(f"Error for Training job {name}: {outcome}")

_described = {}

STATUS = {
    "completed": {"TrainingJobStatus": "Completed", "SecondaryStatus": "Completed"},
    "max_runtime": {"TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxRuntimeExceeded"},
    "in_progress": {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"},
    "failed": {"TrainingJobStatus": "Failed", "SecondaryStatus": "Failed",
               "FailureReason": "AlgorithmError: stand-in failure"},
}

class ClientError(Exception):  # botocore's: the error code in .response
    def __init__(self, code):
        super().__init__(f"An error occurred ({code}) when calling DescribeTrainingJob")
        self.response = {"Error": {"Code": code}}

def describe(name):
    outcome = _jobs[name]
    if outcome == "gone":  # an error no retry mends
        raise ClientError("ResourceNotFound")
    _described[name] = _described.get(name, 0) + 1
    if outcome == "wait_breaks":  # running on after the SDK's wait broke: one read, then done
        return STATUS["in_progress" if _described[name] == 1 else "completed"]
    return STATUS[outcome]
"""

CONFIG = """
class _Config:
    def __init__(self, *args, **kwargs):
        self.kwargs = kwargs
"""

STUBS = {
    "_stub_sdk.py": COMMON,
    # launch.py's polling sleeps return at once under the stand-ins
    "sitecustomize.py": "import time\ntime.sleep = lambda seconds: None\n",
    "boto3/__init__.py": """
import _stub_sdk
class Session:
    def __init__(self, **kwargs):
        pass
class _SageMaker:
    def describe_training_job(self, TrainingJobName):
        return _stub_sdk.describe(TrainingJobName)
def client(service, **kwargs):
    assert service == "sagemaker"
    return _SageMaker()
""",
    # SDK v2
    "sagemaker/__init__.py": "class Session:\n    def __init__(self, **kwargs):\n        pass\n",
    "sagemaker/pytorch/__init__.py": """
import _stub_sdk
class _Job:
    def __init__(self, name):
        self.name = name
class PyTorch:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.latest_training_job = None
    def fit(self, inputs, job_name=None, wait=True, logs="All"):
        def set_latest():
            self.latest_training_job = _Job(job_name)
        _stub_sdk.create(job_name, set_latest)
""",
    # SDK v3
    "sagemaker/core/__init__.py": "",
    "sagemaker/core/helper/__init__.py": "",
    "sagemaker/core/helper/session_helper.py": "class Session:\n    def __init__(self, **kwargs):\n        pass\n",
    "sagemaker/core/shapes.py": CONFIG + "Tag = _Config\n",
    "sagemaker/core/training/__init__.py": "",
    "sagemaker/core/training/configs.py": CONFIG
    + "CheckpointConfig = Compute = OutputDataConfig = S3DataSource = SourceCode = _Config\n"
    + "StoppingCondition = _Config\n"
    + "class InputData:\n"
    + "    def __init__(self, channel_name, data_source, content_type=None):\n"
    + "        self.channel_name, self.data_source = channel_name, data_source\n",
    "sagemaker/train/distributed.py": CONFIG + "Torchrun = _Config\n",
    "sagemaker/train/__init__.py": """
import os
import _stub_sdk
class _Job:
    def __init__(self, name):
        self.training_job_name = name
class ModelTrainer:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self._latest_training_job = None
    def train(self, input_data_config=None, wait=True, logs=True, dry_run=False):
        for channel in input_data_config or []:
            if isinstance(channel.data_source, str):  # the SDK's channel is then File mode
                _stub_sdk.log({"file_mode_channel": channel.channel_name})
        if dry_run:
            _stub_sdk.log({"dry_run": self.kwargs["base_job_name"]})
            return None
        name = (self.kwargs["base_job_name"].replace("_", "-") + "-20261203120000")[:63]
        def set_latest():
            self._latest_training_job = _Job(name)
            if wait and logs:  # TrainingJob.wait(logs=True) reads CloudWatch in boto3's default
                _stub_sdk.log({"logs_region": os.environ.get("AWS_DEFAULT_REGION")})
        _stub_sdk.create(name, set_latest)
""",
    # the AWS CLI, for submit.sh
    "bin/aws": "#!/bin/sh\necho \"aws $*\" >> \"$STUB_LOG\"\n",
}


def constants(launch):
    """JOB_NAME, JOBS and REGION as launch.py assigns them."""
    values = {}
    for node in ast.parse(launch.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("JOB_NAME", "JOBS", "REGION"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return values["JOB_NAME"], values["JOBS"], values["REGION"]


def main():
    out = pathlib.Path(sys.argv[1]).resolve()
    base, jobs, region = constants(out / "launch.py")
    problems = []
    with tempfile.TemporaryDirectory() as stubs:
        root = pathlib.Path(stubs)
        for path, text in STUBS.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        (root / "bin/aws").chmod(0o755)

        def run(outcomes, *args, command=None):
            log = root / "calls.log"
            log.write_text("")
            # AWS_DEFAULT_REGION: a default other than the plan's region, as on a workstation
            env = dict(os.environ, PYTHONPATH=str(root), STUB_LOG=str(log),
                       AWS_DEFAULT_REGION="xx-other-1",
                       STUB_OUTCOMES=",".join(outcomes), PATH=f"{root}/bin:{os.environ['PATH']}")
            cmd = command or [sys.executable, str(out / "launch.py"), *args]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
            calls = [line for line in log.read_text().splitlines() if line]
            return done, calls

        def expect(ok, what, done):
            if not ok:
                problems.append(f"{what}: exit {done.returncode}\n{done.stdout}{done.stderr}")

        def names(calls):
            return [json.loads(c)["created"] for c in calls if '"created"' in c]

        def base_of(k):
            return f"{base}-p{k}" if jobs > 1 else base

        done, calls = run([], "--dry-run")
        expect(done.returncode == 0 and not names(calls)
               and done.stdout.count("nothing submitted") == jobs,
               "--dry-run submits nothing and checks every job", done)

        done, calls = run(["max_runtime"] * (jobs - 1) + ["completed"])
        made = names(calls)
        expect(done.returncode == 0 and len(made) == jobs
               and all(re.fullmatch(re.escape(base_of(k + 1)) + r"-\d{0,14}", n[:63])
                       for k, n in enumerate(made)) and "completed" in done.stdout,
               f"a chain of {jobs} runs each job under its own name and ends completed", done)

        read = [json.loads(c)["logs_region"] for c in calls if '"logs_region"' in c]
        v3 = "ModelTrainer" in (out / "launch.py").read_text()  # SDK v2 streams no such logs
        expect((len(read) == jobs if v3 else not read) and all(r == region for r in read),
               f"the SDK reads each job's logs in the plan's region {region}, not the default "
               f"(read in {read})", done)

        expect(not any("file_mode_channel" in c for c in calls),
               "every channel keeps the job's FastFile mode (an S3 URI string would make it File)",
               done)

        done, calls = run(["create_fails"])
        expect(done.returncode == 1 and not names(calls) and "was not created" in done.stderr
               and "ResourceLimitExceeded" in done.stderr and "Traceback" not in done.stderr,
               "a job SageMaker does not create stops the launcher with the SDK's message", done)

        done, calls = run(["wait_breaks"] + ["completed"] * (jobs - 1))
        expect(done.returncode == 0 and len(names(calls)) == 1 and "completed" in done.stdout,
               "a job still running when the SDK's wait breaks is waited for, not given up", done)

        done, calls = run(["gone"])
        expect(done.returncode == 1 and len(names(calls)) == 1 and "--start-job 2" in done.stderr
               and "Traceback" not in done.stderr,
               "a job whose status cannot be read for good stops the launcher, saying how to go on",
               done)

        done, calls = run([], "--start-job", str(jobs + 1))
        expect(done.returncode == 2 and not names(calls), "--start-job past the chain is refused",
               done)

        done, calls = run(["failed"])
        expect(done.returncode == 1 and len(names(calls)) == 1 and "AlgorithmError" in done.stdout,
               "a failed job stops the chain with its reason", done)

        done, calls = run(["max_runtime"] * jobs)
        expect(done.returncode == 1 and len(names(calls)) == jobs and "--start-job" in done.stdout,
               "a chain whose last job hits the limit says how to continue", done)

        done, calls = run([], command=["sh", str(out / "submit.sh")])
        create = [c for c in calls if "create-training-job" in c]
        named = re.search(r"--training-job-name (\S+)", create[0]) if create else None
        expect(done.returncode == 0 and any(" s3 cp " in c for c in calls) and named
               and re.fullmatch(re.escape(base_of(1)) + r"-\d{14}", named.group(1))
               and len(named.group(1)) <= 63 and named.group(1) in done.stdout,
               "submit.sh uploads the source and names its job the base plus a timestamp", done)
    if problems:
        print("\n".join(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
