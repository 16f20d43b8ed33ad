#!/usr/bin/env python3
"""Runs an emitted source/train.py against stand-ins for torchtitan, torch and datasets, and checks
the command line torchtitan's parser would read.

Usage: tests/launch/run_train_stub.py DIR
DIR is an emitted launch directory (source/train.py, source/torchtitan.toml, source/model.json).
The stand-in torchtitan.config.manager binds ConfigManager.parse_args's default to sys.argv[1:]
when it is imported, as pytorch/torchtitan@v0.2.2:torchtitan/config/manager.py line 46 does, and
its main() calls parse_args() with no arguments (torchtitan/train.py line 745). train.py is run as
SageMaker runs it: with the job's hyperparameters as arguments. Prints "ok" and exits 0 when
torchtitan would parse exactly --job.config_file source/torchtitan.toml and the two channels;
and the first rank of a node other than the first would delete that node's stale checkpoints
(torchtitan 0.2.2 deletes them on global rank 0 only, components/checkpoint.py lines 844-866);
and job 2 of a chain stops unless it finds a complete checkpoint to resume from (torchtitan
0.2.2 would train it from step 1, components/checkpoint.py lines 633-635 and 693-698);
and a tokenizer.json with a token id past the model's embedding rows (or with none) stops the job
(torchtitan compares neither); otherwise prints what went wrong and exits 1. Standard library
only.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

STUBS = {
    "torch/__init__.py": """
class device:
    def __init__(self, name):
        pass
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
""",
    "torch/distributed/__init__.py": """
import os
def get_rank():
    return int(os.environ.get("RANK", "0"))
""",
    "datasets/__init__.py": "def load_dataset(*args, **kwargs):\n    return None\n",
    "torchtitan/components/__init__.py": "",
    # torchtitan 0.2.2's purge: global rank 0 only (components/checkpoint.py lines 844-866)
    "torchtitan/components/checkpoint.py": """
import os, re, torch.distributed as dist
class CheckpointManager:
    def _purge_stale_checkpoints(self):
        if self.keep_latest_k > 0 and dist.get_rank() == 0 and os.path.isdir(self.folder):
            found = sorted((int(m.group(1)), os.path.join(self.folder, n))
                           for n in os.listdir(self.folder) if (m := re.search(r"step-(\\d+)", n)))
            for _, path in found[: -1 * self.keep_latest_k]:
                self.purge_queue.put(path)
""",
    "torchtitan/__init__.py": "",
    "torchtitan/config/__init__.py": "from torchtitan.config.manager import ConfigManager\n",
    "torchtitan/config/manager.py": """
import sys
class ConfigManager:
    def parse_args(self, args=sys.argv[1:]):
        return list(args)
""",
    # torchtitan's own modules import its config, as the real ones do
    "torchtitan/hf_datasets/__init__.py": """
import torchtitan.config
class DatasetConfig:
    def __init__(self, **kwargs):
        pass
""",
    "torchtitan/hf_datasets/text_datasets.py": "DATASETS = {}\n",
    "torchtitan/protocols/__init__.py": "",
    "torchtitan/protocols/train_spec.py": """
import collections, os, types
import torchtitan.config
class _Parameter:
    def numel(self):
        return int(os.environ["STUB_PARAMETERS"])
class _Model:
    layers = {}
    def __init__(self, args):
        self.tok_embeddings = types.SimpleNamespace(num_embeddings=int(os.environ["STUB_VOCAB"]))
    def parameters(self):
        return [_Parameter()]
_registered = {}
def get_train_spec(name):
    return _registered.get(name) or types.SimpleNamespace(
        model_cls=_Model, model_args=collections.defaultdict(lambda: None))
def register_train_spec(name, spec):
    _registered[name] = spec
""",
    "torchtitan/models/__init__.py": "",
    "torchtitan/models/qwen3/__init__.py": """
import dataclasses
from torchtitan.protocols.train_spec import _Model
class Qwen3ModelArgs:
    def __init__(self, **kwargs):
        pass
@dataclasses.dataclass
class _Spec:
    model_cls: type = _Model
    model_args: dict = dataclasses.field(default_factory=dict)
def get_train_spec():
    return _Spec()
""",
    # main() records what the parser reads, and what a node's stale-checkpoint purge would delete
    # on a node's first rank that is not global rank 0 (5 steps on disk, 2 kept)
    "torchtitan/train.py": """
import json, os, queue, tempfile
from torchtitan.config import ConfigManager
from torchtitan.components.checkpoint import CheckpointManager
class Trainer:
    pass
def main(trainer_class):
    manager = CheckpointManager()
    manager.keep_latest_k = 2
    manager.folder = tempfile.mkdtemp()
    for step in (10, 20, 30, 40, 50):
        os.mkdir(os.path.join(manager.folder, f"step-{step}"))
    manager.purge_queue = queue.Queue()
    os.environ["RANK"] = "8"
    manager._purge_stale_checkpoints()
    purged = sorted(os.path.basename(manager.purge_queue.get()) for _ in range(manager.purge_queue.qsize()))
    with open(os.environ["STUB_PARSED"], "w", encoding="utf-8") as f:
        json.dump({"args": ConfigManager().parse_args(), "purged": purged}, f)
""",
}


def main():
    emitted = pathlib.Path(sys.argv[1]).resolve() / "source"
    model = json.loads((emitted / "model.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        # a copy of the source directory whose checkpoint folder is a local one
        source, checkpoints = root / "source", root / "checkpoints"
        shutil.copytree(emitted, source)
        toml = (source / "torchtitan.toml").read_text(encoding="utf-8")
        toml, found = re.subn(r'^folder = "[^"]*"', f'folder = "{checkpoints}"', toml, flags=re.M)
        if found != 1:
            print("torchtitan.toml has no [checkpoint] folder")
            return 1
        (source / "torchtitan.toml").write_text(toml, encoding="utf-8")
        config = root / "config"
        config.mkdir()
        for name, text in STUBS.items():
            path = root / "stubs" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        train, tokenizer = root / "train", root / "tokenizer"
        train.mkdir()
        tokenizer.mkdir()
        (train / "part.jsonl").write_text('{"text": "a"}\n', encoding="utf-8")
        # a tokenizer whose largest id (an added token's) is the embedding's last row
        vocab_rows = 1000

        def tokenizer_json(largest):
            (tokenizer / "tokenizer.json").write_text(json.dumps(
                {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}},
                 "added_tokens": [{"id": largest, "content": "<|end|>"}]}), encoding="utf-8")

        tokenizer_json(vocab_rows - 1)
        env = dict(os.environ, PYTHONPATH=str(root / "stubs"), SM_CHANNEL_TRAIN=str(train),
                   SM_CHANNEL_TOKENIZER=str(tokenizer), STUB_PARSED=str(root / "parsed.json"),
                   STUB_PARAMETERS=str(model["parameters"]), SM_INPUT_CONFIG_DIR=str(config),
                   STUB_VOCAB=str(vocab_rows))
        # SageMaker's torchrun launchers pass the hyperparameters as arguments, and write them
        # (as strings) to the input config directory's hyperparameters.json
        hyperparameters = ["--model", model["name"], "--nodes", "1"]

        def train_py(chain_job):
            value = chain_job if isinstance(chain_job, str) else json.dumps(chain_job)
            (config / "hyperparameters.json").write_text(
                json.dumps({"model": model["name"], "chain_job": value}))
            return subprocess.run([sys.executable, str(source / "train.py"), *hyperparameters],
                                  env=env, capture_output=True, text=True, check=False)

        # job 2 of a chain with no checkpoint to resume from must not train from step 1
        run = train_py(2)
        if run.returncode == 0 or "no complete checkpoint" not in run.stderr:
            print(f"job 2 of a chain without a checkpoint ran (exit {run.returncode}): "
                  f"torchtitan would have trained it from step 1")
            return 1
        # what torchtitan's _find_load_step does not count: no step number, .metadata a folder
        (checkpoints / "step-last" / ".metadata").mkdir(parents=True)
        (checkpoints / "step-10" / ".metadata").mkdir(parents=True)
        run = train_py(2)
        if run.returncode == 0:
            print("job 2 of a chain ran on a checkpoint torchtitan would not load")
            return 1
        for bad in ("2.5", "0", "-2", "two", "1e400"):
            run = train_py(bad)
            if run.returncode != 2 or "chain_job" not in run.stderr or "Traceback" in run.stderr:
                print(f"chain_job {bad!r}: train.py exited {run.returncode}: {run.stderr.strip()}")
                return 1
        (checkpoints / "step-10" / ".metadata").rmdir()
        (checkpoints / "step-10" / ".metadata").write_text("", encoding="utf-8")
        run = train_py(2)
        if run.returncode != 0:
            print(f"job 2 of a chain with a checkpoint: train.py exited {run.returncode}: "
                  f"{run.stderr.strip()}")
            return 1
        # a folder holding the last step's checkpoint is a finished run: no job may rerun it
        steps = int(re.search(r"^steps = (\d+)", toml, flags=re.M).group(1))
        last = checkpoints / f"step-{steps}"
        last.mkdir()
        (last / ".metadata").write_text("", encoding="utf-8")
        for job in (1, 2):
            run = train_py(job)
            if run.returncode == 0 or "the run has finished" not in run.stderr:
                print(f"job {job} started on a finished run's folder (exit {run.returncode})")
                return 1
        shutil.rmtree(last)
        # a tokenizer with an id past the embedding's rows, or with no ids, stops the job
        for largest, text in ((vocab_rows, "largest token id is 1000"), ("{}", "no token ids"),
                              ('{"model": "BPE", "added_tokens": 3}', "no token ids")):
            if isinstance(largest, str):  # a file of another shape: said, not a traceback
                (tokenizer / "tokenizer.json").write_text(largest, encoding="utf-8")
            else:
                tokenizer_json(largest)
            run = train_py(1)
            if run.returncode != 2 or text not in run.stderr or "Traceback" in run.stderr:
                print(f"a tokenizer past the embedding ({largest}): train.py exited "
                      f"{run.returncode}: {run.stderr.strip()}")
                return 1
        tokenizer_json(vocab_rows - 1)
        run = train_py(1)
        if run.returncode != 0:
            print(f"train.py exited {run.returncode}: {run.stderr.strip()}")
            return 1
        recorded = json.loads((root / "parsed.json").read_text(encoding="utf-8"))
        parsed = recorded["args"]
        expected = ["--job.config_file", str(source / "torchtitan.toml"),
                    "--training.dataset_path", str(train),
                    "--model.hf_assets_path", str(tokenizer)]
        if parsed != expected:
            print(f"torchtitan would parse {parsed}, not {expected}")
            return 1
        stale = ["step-10", "step-20", "step-30"]
        if recorded["purged"] != stale:
            print(f"a node's first rank (global rank 8) would delete {recorded['purged']} of its "
                  f"checkpoints, not {stale}: torchtitan purges on global rank 0 only")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
