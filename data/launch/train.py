"""Entry script of a bwplan launch: runs torchtitan with the plan's torchtitan.toml under
SageMaker AI's torchrun (written by `bwplan emit sagemaker`; docs/launch.md in bwplan explains it).

Channels (SageMaker mounts each under /opt/ml/input/data/<name>):
  train      text to train on: JSON Lines (.jsonl, .json, optionally .gz) or Parquet files with a
             "text" field, or plain .txt files (one document per line); read as a stream.
  tokenizer  a Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json, ...).
Checkpoints go to /opt/ml/checkpoints, which SageMaker syncs to the job's CheckpointConfig S3 URI
and restores when a job (or the next job of a chain) starts: torchtitan then resumes from the
latest step it finds there.

SageMaker passes the job's hyperparameters as command-line arguments; they record the plan and
are not read here: every setting is in torchtitan.toml.
"""

import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".txt": "text"}


def fail(message):
    print(f"bwplan train.py: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def channel(name):
    path = os.environ.get(f"SM_CHANNEL_{name.upper()}", f"/opt/ml/input/data/{name}")
    if not os.path.isdir(path):
        fail(f"channel '{name}' is missing: expected a directory at {path}")
    return path


def data_files(path):
    """The training files under `path`, all of one format, as (format, files)."""
    found = {}
    for f in sorted(glob.glob(os.path.join(path, "**", "*"), recursive=True)):
        base = f[:-3] if f.endswith(".gz") else f
        kind = TEXT_SUFFIXES.get(os.path.splitext(base)[1])
        if kind and os.path.isfile(f):
            found.setdefault(kind, []).append(f)
    if len(found) != 1:
        fail(f"the train channel {path} must hold files of one format "
             f"(.jsonl/.json, .parquet or .txt, optionally .gz); found {sorted(found) or 'none'}")
    return next(iter(found.items()))


def register_dataset():
    from datasets import load_dataset
    from torchtitan.hf_datasets import DatasetConfig
    from torchtitan.hf_datasets.text_datasets import DATASETS

    def load(path):
        kind, files = data_files(path)
        return load_dataset(kind, data_files=files, split="train", streaming=True)

    DATASETS["bwplan_text"] = DatasetConfig(
        path="/opt/ml/input/data/train", loader=load, sample_processor=lambda s: s["text"])


def with_qkv_bias(base):
    """`base` (torchtitan's Qwen3 model) with a bias on the q, k and v projections, as Qwen2 and
    Qwen2.5 have; the biases start at zero."""
    import torch

    class WithQKVBias(base):
        def __init__(self, model_args):
            super().__init__(model_args)
            for block in self.layers.values():
                for name in ("wq", "wk", "wv"):
                    linear = getattr(block.attention, name)
                    setattr(block.attention, name,
                            torch.nn.Linear(linear.in_features, linear.out_features, bias=True))

        def init_weights(self, *args, **kwargs):
            super().init_weights(*args, **kwargs)
            with torch.no_grad():
                for block in self.layers.values():
                    for name in ("wq", "wk", "wv"):
                        getattr(block.attention, name).bias.zero_()

    return WithQKVBias


def check_model(model):
    """Registers the plan's model when torchtitan has no flavor of that shape, then checks that
    the model torchtitan builds has exactly the plan's parameter count."""
    import dataclasses

    import torch
    from torchtitan.protocols.train_spec import get_train_spec, register_train_spec

    if "custom" in model:
        from torchtitan.models.qwen3 import Qwen3ModelArgs, get_train_spec as qwen3_spec

        args = Qwen3ModelArgs(**model["custom"])
        spec = dataclasses.replace(qwen3_spec(), model_args={model["flavor"]: args})
        if model.get("qkv_bias"):
            spec = dataclasses.replace(spec, model_cls=with_qkv_bias(spec.model_cls))
        register_train_spec(model["name"], spec)
    spec = get_train_spec(model["name"])
    with torch.device("meta"):
        built = spec.model_cls(spec.model_args[model["flavor"]])
    count = sum(p.numel() for p in built.parameters())
    if count != model["parameters"]:
        fail(f"torchtitan builds {count} parameters for {model['name']}/{model['flavor']}, "
             f"the plan has {model['parameters']}: the run would not be the plan")
    return built.tok_embeddings.num_embeddings


def check_vocabulary(tokenizer, rows):
    """Fails unless every token id the tokenizer can give has a row in the model's embedding.

    Neither torchtitan nor its Hugging Face tokenizer wrapper compares the two: an id past the
    embedding stops the first step with a CUDA device-side assert, or, under tensor parallelism,
    whose vocabulary-parallel embedding masks ids outside each rank's shard, trains on zero
    embeddings without a word. The ids are tokenizer.json's model.vocab (a name -> id map; a
    Unigram model lists its pieces, id = position) and its added_tokens."""
    path = os.path.join(tokenizer, "tokenizer.json")
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}")
    spec = spec if isinstance(spec, dict) else {}
    model = spec.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if isinstance(vocab, dict):
        ids = [i for i in vocab.values() if isinstance(i, int)]
    else:  # a Unigram model's list of pieces: the last one's id is its position
        ids = [len(vocab) - 1] if isinstance(vocab, list) and vocab else []
    added = spec.get("added_tokens")
    for token in added if isinstance(added, list) else []:
        if isinstance(token, dict) and isinstance(token.get("id"), int):
            ids.append(token["id"])
    if not ids:
        fail(f"{path} lists no token ids (model.vocab, added_tokens): not a Hugging Face "
             f"tokenizer.json")
    if max(ids) >= rows:
        fail(f"the tokenizer's largest token id is {max(ids)}, but the model's embedding has "
             f"{rows} rows (ids 0 to {rows - 1}): give the tokenizer the model was built for")


def set_torchtitan_argv(train, tokenizer):
    """Replaces the command line with torchtitan's, before anything imports torchtitan.

    torchtitan's ConfigManager.parse_args(self, args=sys.argv[1:]) binds its default when
    torchtitan.config.manager is first imported (pytorch/torchtitan@v0.2.2:
    torchtitan/config/manager.py line 46) and torchtitan's main() calls it with no arguments
    (torchtitan/train.py line 745): set later, torchtitan would read SageMaker's hyperparameters
    instead of torchtitan.toml."""
    if "torchtitan.config.manager" in sys.modules:
        fail("torchtitan was imported before its command line was set")
    sys.argv = [
        sys.argv[0],
        "--job.config_file", os.path.join(HERE, "torchtitan.toml"),
        "--training.dataset_path", train,
        "--model.hf_assets_path", tokenizer,
    ]


def check_torchtitan_argv():
    """Fails unless torchtitan's parser will read the command line set_torchtitan_argv set."""
    from torchtitan.config import ConfigManager

    defaults = ConfigManager.parse_args.__defaults__ or ()
    if defaults and isinstance(defaults[0], list) and defaults[0] != sys.argv[1:]:
        fail(f"torchtitan would parse {defaults[0]}, not {sys.argv[1:]}")


def chain_job():
    """Which job of a chain this is: launch.py's hyperparameter chain_job, from the
    hyperparameters.json SageMaker writes to the container's input config directory (values are
    strings there). 1 when there is no such file or key (submit.sh's job, a run outside
    SageMaker); anything else that is not a whole number from 1 up stops the job."""
    path = os.path.join(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"),
                        "hyperparameters.json")
    if not os.path.isfile(path):
        return 1
    try:
        with open(path, encoding="utf-8") as f:
            hyperparameters = json.load(f)
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}")
    if not isinstance(hyperparameters, dict):
        fail(f"{path} is not a JSON object")
    value = str(hyperparameters.get("chain_job", "1")).strip().strip('"')
    if not re.fullmatch(r"[1-9][0-9]{0,8}", value):
        fail(f"{path}: chain_job {value!r} is not a job number (1, 2, ...)")
    return int(value)


def step_folders(folder):
    """(step, path) of each entry of a checkpoint folder whose name has torchtitan's step-N
    (pytorch/torchtitan@v0.2.2: torchtitan/components/checkpoint.py line 681), by step."""
    if not os.path.isdir(folder):
        return []
    return sorted((int(m.group(1)), os.path.join(folder, name)) for name in os.listdir(folder)
                  if (m := re.search(r"step-(\d+)", name)))


def check_resume():
    """Stops a job that would resume a finished run, and a chained job with nothing to resume.

    A complete checkpoint is a step-N entry holding a .metadata file (or
    model.safetensors.index.json), as torchtitan's _find_load_step looks for it
    (pytorch/torchtitan@v0.2.2: torchtitan/components/checkpoint.py lines 633-635, 680-698).
    Job k > 1 of a chain must resume: torchtitan treats a folder without a complete checkpoint as
    a new run and trains from step 1. A folder whose newest checkpoint is the last step holds a
    run that has finished: rerunning it would start every node to train nothing."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: torchtitan's own fallback (config/manager.py)
        import tomli as tomllib
    with open(os.path.join(HERE, "torchtitan.toml"), "rb") as f:
        settings = tomllib.load(f)
    folder = settings["checkpoint"]["folder"]
    steps = settings["training"]["steps"]
    complete = [(step, path) for step, path in step_folders(folder) if any(
        os.path.isfile(os.path.join(path, probe))
        for probe in (".metadata", "model.safetensors.index.json"))]
    if complete and complete[-1][0] >= steps:
        fail(f"the run has finished: {complete[-1][1]} is the checkpoint of its last step "
             f"({steps}); to train again, emit the plan with another --s3-checkpoints")
    job = chain_job()
    if job > 1 and not complete:
        fail(f"job {job} of a chain found no complete checkpoint (step-N/.metadata) in {folder} to "
             f"resume from, so it would train from step 1: check that the previous job wrote one "
             f"and that the job's CheckpointConfig S3 URI is the chain's")


def purge_on_every_node():
    """Has the first rank of every node delete its node's stale checkpoints.

    torchtitan 0.2.2 deletes all but the keep_latest_k newest checkpoints on global rank 0 only
    (pytorch/torchtitan@v0.2.2: torchtitan/components/checkpoint.py lines 844-866), but
    /opt/ml/checkpoints is each node's own disk: every other node would keep every checkpoint
    shard it wrote until its disk filled. The deletions go through torchtitan's own purge queue."""
    import torch.distributed as dist
    from torchtitan.components.checkpoint import CheckpointManager

    purge = CheckpointManager._purge_stale_checkpoints
    first_of_node = os.environ.get("LOCAL_RANK", "0") == "0"

    def purge_here(self):
        purge(self)
        if not first_of_node or dist.get_rank() == 0 or self.keep_latest_k <= 0:
            return
        for _, path in step_folders(self.folder)[:-self.keep_latest_k]:
            self.purge_queue.put(path)

    CheckpointManager._purge_stale_checkpoints = purge_here


def main():
    with open(os.path.join(HERE, "model.json"), encoding="utf-8") as f:
        model = json.load(f)
    tokenizer = channel("tokenizer")
    if not os.path.isfile(os.path.join(tokenizer, "tokenizer.json")):
        fail(f"the tokenizer channel {tokenizer} has no tokenizer.json (a Hugging Face tokenizer)")
    train = channel("train")
    data_files(train)
    check_resume()
    set_torchtitan_argv(train, tokenizer)
    register_dataset()
    check_vocabulary(tokenizer, check_model(model))
    check_torchtitan_argv()
    purge_on_every_node()

    from torchtitan.train import Trainer, main as torchtitan_main

    torchtitan_main(Trainer)


if __name__ == "__main__":
    main()
