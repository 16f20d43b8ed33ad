#!/usr/bin/env python3
"""Measure the per-rank peak memory of torchtitan's own model code under FSDP2.

The model code is torchtitan's, imported from a checkout of
pytorch/torchtitan@df2e96d5101df91250bfe5053c66301412d05abc (the squash
commit of PR 2389, whose B200 runs tests/data records):
- gpt-oss-20b: GptOssModel with FlexAttention (sinks, a sliding window on
  every other block), the MoE router computed in float32, grouped-mm experts
  with their clamped SwiGLU;
- deepseek-v3-16b: DeepSeekV3Model's "16B" flavor (latent attention without a
  query LoRA over FlexAttention with a causal mask, or the model's SDPA backend
  in the dsv3-sdpa grid; 64 routed experts, 6 per token, 2 shared; one dense
  block first).
Only the training loop around it is written here, as torchtitan's trainer runs
it at that commit: FSDP2 wrapping as apply_fsdp in torchtitan/models/llama4/
parallelize.py with ep 1 (embeddings, each block, [norm, output] without
resharding, the root; bf16 params, fp32 reduce); activation checkpointing by
the checkout's own torchtitan/distributed/activation_checkpoint.py apply_ac
(full: checkpoint_wrapper; op-level SAC: its policy with the save list of
torchtitan/models/deepseek_v3/parallelize.py and the router gate force-
recomputed, ActivationCheckpointConfig's defaults); cross_entropy_loss of
torchtitan/components/loss.py (fp32 upcast, sum reduction, divided by the
tokens); a foreach grad-norm clip and AdamW(fused=True, lr 8e-4,
betas (0.9, 0.95), weight decay 0.1).

One GPU holds rank 0 of an N-GPU job: the process group is torch's "fake"
backend (FakeStore), as in fsdp2_fakepg.py, whose child/parent harness and
memory readings this script shares. Expert parallelism is not run: a fake
all-to-all returns no token counts.

Two changes to the checkout, both memory-neutral, are made in a temporary
copy: FlexAttention is compiled without max-autotune (autotuning changes the
kernel's tile sizes, not the tensors it allocates, and would take minutes),
and the third-party packages the trainer imports but the model does not use
(tyro, tokenizers, datasets, ...) are stubbed when they are not installed.

Usage:
  python3 torchtitan_fakepg.py --torchtitan DIR --out OUTDIR [--grid gptoss|dsv3|dsv3-sdpa] [--only IDS]
  python3 torchtitan_fakepg.py --grid dsv3 --dry
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsdp2_fakepg import (GIB, _mem, child_start, emit_result, record_failure,  # noqa: E402
                          run_child)

# gpt-oss 20b as torchtitan/models/gpt_oss/__init__.py gptoss_configs["20b"] defines it
# at df2e96d5 (that file imports the trainer, so its literal is repeated here).
GPTOSS_20B = dict(n_layers=24, hidden_dim=2880, num_experts=32, top_k=4, load_balance_coeff=1e-3)
AC_SHORT = {"none": "noac", "full": "fullac", "selective-op": "sacop"}
MODEL_SHORT = {"gpt-oss-20b": "gptoss", "deepseek-v3-16b": "dsv3"}


def cfg(mb, seq, ac, layers=24, alloc="expandable", accum=1, world=8, steps=3,
        model="gpt-oss-20b"):
    c = dict(model=model, world=world, micro_batch=mb, seq_len=seq, ac=ac,
             n_layers=layers, alloc=alloc, grad_accum=accum, steps=steps)
    c["id"] = "%s-L%d-w%d-%s-b%ds%d%s%s" % (
        MODEL_SHORT[model], layers, world, AC_SHORT[ac], mb, seq,
        "" if accum == 1 else "-ga%d" % accum, "" if alloc == "expandable" else "-fixed")
    return c


def dsv3(mb, ac="selective-op", alloc="expandable", attn="flex"):
    c = cfg(mb, 4096, ac, layers=27, alloc=alloc, model="deepseek-v3-16b")
    if attn != "flex":  # the model's sdpa backend: F.scaled_dot_product_attention, causal
        c["attn"] = attn
        c["id"] += "-" + attn
    return c


GRIDS = {
    "gptoss": [  # run 2026-12-04 (results/h200-gptoss-2026-12-04.jsonl)
        cfg(1, 8192, "none"),
        cfg(2, 8192, "full", alloc="fixed"),
        cfg(1, 8192, "full", alloc="fixed", accum=2),
        cfg(1, 8192, "none", alloc="fixed", accum=2),
        cfg(2, 8192, "none", layers=12),
        cfg(1, 8192, "none", layers=12),
        cfg(1, 8192, "none", alloc="fixed"),
        cfg(2, 8192, "full"),
    ],
    "dsv3": [
        dsv3(4),
        dsv3(8),
        dsv3(2),
        dsv3(8, alloc="fixed"),
        dsv3(8, ac="full"),
        dsv3(6),
    ],
    "dsv3-sdpa": [dsv3(4, attn="sdpa"), dsv3(8, attn="sdpa")],
}

STUB_TOP = {"tyro", "tokenizers", "datasets", "torchdata", "wandb", "tensorboard", "safetensors",
            "fsspec", "einops", "PIL", "huggingface_hub", "tiktoken", "blobfile", "sentencepiece"}
STUBBED = []


def _install_stubs():
    import abc
    import importlib.abc
    import importlib.machinery
    import types

    class _StubMeta(abc.ABCMeta):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return _StubMeta(name, (), {})

        def __call__(cls, *a, **k):
            if len(a) == 1 and not k and callable(a[0]):
                return a[0]  # used as a decorator
            return _StubMeta(cls.__name__, (), {})

        def __getitem__(cls, key):
            return cls

        def __or__(cls, other):
            return cls

        __ror__ = __or__

    class _StubModule(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            v = _StubMeta(name, (), {})
            setattr(self, name, v)
            return v

    class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname.split(".")[0] in STUB_TOP:
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            m = _StubModule(spec.name)
            m.__path__ = []
            return m

        def exec_module(self, module):
            STUBBED.append(module.__name__)

    sys.meta_path.append(_Finder())  # last: only what nothing installed provides


def _light_package(checkout, name):
    """Register package `name` without running its __init__.py (which imports the trainer's
    parallelisms and checkpoint adapters); its parent package is imported as usual."""
    import importlib
    import types

    importlib.import_module(name.rpartition(".")[0])
    pkg = types.ModuleType(name)
    pkg.__path__ = [os.path.join(checkout, *name.split("."))]
    sys.modules[name] = pkg


def build_gptoss(c):
    """torchtitan/models/gpt_oss/__init__.py's "20b" flavor at df2e96d5 (GPTOSS_20B)."""
    _light_package(c["checkout"], "torchtitan.models.gpt_oss")
    from torchtitan.models.common.rope import RoPE
    from torchtitan.models.gpt_oss.model import Attention, GptOssModel, GptOssTransformerBlock
    from torchtitan.models.gpt_oss.moe import GptOssMoE

    g = GPTOSS_20B
    return GptOssModel.Config(
        n_layers=c["n_layers"],
        layer=GptOssTransformerBlock.Config(
            moe=GptOssMoE.Config(hidden_dim=g["hidden_dim"], num_experts=g["num_experts"],
                                 num_shared_experts=0, score_func="softmax", route_norm=True,
                                 route_scale=1.0, gate_bias=True, score_before_experts=False,
                                 top_k=g["top_k"], use_grouped_mm=True,
                                 load_balance_coeff=g["load_balance_coeff"]),
            attention=Attention.Config()),
        rope=RoPE.Config(dim=64, max_seq_len=c["seq_len"], theta=150000.0, backend="cos_sin",
                         scaling="yarn", rope_factor=32, beta_slow=32.0, beta_fast=1.0,
                         original_seq_len=4096))


def build_dsv3(c):
    """torchtitan/models/deepseek_v3/__init__.py's "16B" flavor at df2e96d5, its mask causal
    (block_causal needs a tokenizer's end-of-document id)."""
    _light_package(c["checkout"], "torchtitan.models.deepseek_v3")
    from torchtitan.models.common import FeedForward, RoPE
    from torchtitan.models.common.moe import MoE
    from torchtitan.models.deepseek_v3.model import (Attention, DeepSeekV3Model,
                                                     DeepSeekV3TransformerBlock)

    return DeepSeekV3Model.Config(
        vocab_size=102400, dim=2048, n_layers=c["n_layers"],
        layer=DeepSeekV3TransformerBlock.Config(
            n_dense_layers=1,
            moe=MoE.Config(hidden_dim=1408, num_experts=64, num_shared_experts=2, top_k=6,
                           score_func="softmax", route_norm=False, score_before_experts=False),
            attention=Attention.Config(n_heads=16, q_lora_rank=0, kv_lora_rank=512,
                                       qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
                                       mscale=0.70, attn_backend=c.get("attn", "flex"),
                                       attn_mask_type="causal"),
            feed_forward=FeedForward.Config(hidden_dim=10944)),
        rope=RoPE.Config(dim=64, max_seq_len=4096 * 4, theta=10000.0, backend="complex",
                         scaling="yarn", rope_factor=40.0, beta_fast=32.0, beta_slow=1.0,
                         original_seq_len=4096))


BUILDERS = {"gpt-oss-20b": build_gptoss, "deepseek-v3-16b": build_dsv3}


def _op_sac_save_list(torch):
    """torchtitan/models/deepseek_v3/parallelize.py's _op_sac_save_list at df2e96d5."""
    return {
        torch.ops.aten.mm.default,
        torch.ops.aten.linear.default,
        torch.ops.aten._scaled_dot_product_efficient_attention.default,
        torch.ops.aten._scaled_dot_product_flash_attention.default,
        torch.ops.aten._scaled_dot_product_cudnn_attention.default,
        torch.ops.aten._scaled_dot_product_attention_math.default,
        torch.ops.aten._scaled_dot_product_fused_attention_overrideable.default,
        torch.ops._c10d_functional.reduce_scatter_tensor.default,
        torch.ops._c10d_functional.all_to_all_single.default,
        torch.ops.aten.max.default,
        torch._higher_order_ops.flex_attention,
        torch._higher_order_ops.inductor_compiled_code,
    }


def apply_checkpointing(torch, model, c):
    """The checkout's apply_ac with ActivationCheckpointConfig's defaults for the mode."""
    if c["ac"] == "none":
        return
    _light_package(c["checkout"], "torchtitan.distributed")
    from torchtitan.config.configs import ActivationCheckpointConfig
    from torchtitan.distributed.activation_checkpoint import apply_ac

    if c["ac"] == "full":
        ac = ActivationCheckpointConfig(mode="full")
    else:
        ac = ActivationCheckpointConfig(mode="selective", selective_ac_option="op")
    apply_ac(model, ac, op_sac_save_list=_op_sac_save_list(torch))


def prepare_checkout(src):
    """A temporary copy of the checkout with FlexAttention compiled without max-autotune."""
    dst = tempfile.mkdtemp(prefix="tt-")
    shutil.copytree(os.path.join(src, "torchtitan"), os.path.join(dst, "torchtitan"), symlinks=True)
    path = os.path.join(dst, "torchtitan", "models", "common", "attention.py")
    text = open(path).read()
    new, n = re.subn(r"torch\.compile\(\s*flex_attention,.*?\n    \)", "torch.compile(flex_attention)",
                     text, count=1, flags=re.S)
    if n != 1:
        raise SystemExit("attention.py: the compiled flex_attention was not found")
    open(path, "w").write(new)
    return dst


def run_one(c):
    res, t_begin = child_start(c)
    phase = "import"
    torch = None
    try:
        _install_stubs()
        sys.path.insert(0, c["checkout"])
        import torch
        import torch.nn.functional as F
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        res["torch"] = torch.__version__
        res["alloc_conf"] = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
        mcfg = BUILDERS[c["model"]](c)
        res["stubbed"] = sorted(set(STUBBED))
        phase = "setup"
        torch.cuda.set_device(0)
        dev = torch.device("cuda", 0)
        res["gpu"] = torch.cuda.get_device_name(0)
        from torch.testing._internal.distributed.fake_pg import FakeStore

        torch.distributed.init_process_group("fake", store=FakeStore(), rank=0, world_size=c["world"])
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh("cuda", (c["world"],))
        seq, mb = c["seq_len"], c["micro_batch"]
        with torch.device("meta"):
            model = mcfg.build()
        res["params"] = sum(p.numel() for p in model.parameters())
        apply_checkpointing(torch, model, c)
        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        fully_shard(model.tok_embeddings, mesh=mesh, mp_policy=mp, reshard_after_forward=True)
        for block in model.layers.values():
            fully_shard(block, mesh=mesh, mp_policy=mp, reshard_after_forward=True)
        fully_shard([model.norm, model.output], mesh=mesh, mp_policy=mp, reshard_after_forward=False)
        fully_shard(model, mesh=mesh, mp_policy=mp)
        model.to_empty(device=dev)
        with torch.no_grad():
            try:
                model.init_weights(buffer_device=dev)
                res["init"] = "torchtitan"
            except Exception as e:  # noqa: BLE001  values do not move memory
                res["init"] = "normal: " + repr(e)[:200]
                for p in model.parameters():
                    p.normal_(0.0, 0.02)
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=8e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1,
                                fused=True)
        vocab = mcfg.vocab_size
        accum = c.get("grad_accum", 1)
        inputs = [torch.randint(0, vocab, (mb, seq), device=dev) for _ in range(accum)]
        labels = [torch.randint(0, vocab, (mb, seq), device=dev) for _ in range(accum)]
        tokens = float(accum * mb * seq)
        phases = []

        def train_step():
            opt.zero_grad(set_to_none=True)
            p = {}
            for i in range(accum):  # FSDP2 reduce-scatters after every micro-batch, as torchtitan
                p["before_forward_%d" % i] = torch.cuda.memory_allocated()
                masks = model.get_attention_masks(inputs[i], None) if c.get("attn", "flex") == "flex" else None
                pred = model(inputs[i], attention_masks=masks)
                p["forward_end_%d" % i] = torch.cuda.memory_allocated()
                loss = F.cross_entropy(pred.flatten(0, 1).float(), labels[i].flatten(0, 1),
                                       reduction="sum", ignore_index=-100) / tokens
                p["loss_%d" % i] = torch.cuda.memory_allocated()
                del pred
                loss.backward()
                del loss
                p["backward_end_%d" % i] = torch.cuda.memory_allocated()
            with torch.no_grad():  # clip_grad_norm_ on the local shards, foreach
                locs = [q.grad.to_local() if hasattr(q.grad, "to_local") else q.grad
                        for q in params if q.grad is not None]
                total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(locs, 2.0)), 2.0)
                torch._foreach_mul_(locs, torch.clamp(1.0 / (total + 1e-6), max=1.0))
            opt.step()
            p["optimizer_end"] = torch.cuda.memory_allocated()
            phases.append({k: round(v / GIB, 3) for k, v in p.items()})

        torch.cuda.synchronize()
        res["after_init"] = _mem(torch)
        times, by_step = [], []
        step1 = None
        for step in range(int(c.get("steps", 3))):
            phase = "step%d" % (step + 1)
            if step == 1:
                torch.cuda.synchronize()
                step1 = _mem(torch)
                res["step1"] = step1
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            train_step()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
            s = torch.cuda.memory_stats()
            by_step.append([round(s.get("allocated_bytes.all.peak", 0) / GIB, 3),
                            round(s.get("reserved_bytes.all.peak", 0) / GIB, 3)])
            print("%s %.3fs" % (phase, times[-1]), file=sys.stderr, flush=True)
        after = _mem(torch)
        res["phases_gib"] = phases
        res["allocated_reserved_peak_gib_by_step"] = by_step
        res["step_times"] = [round(t, 4) for t in times]
        later = by_step[1:] or by_step
        res["peak_allocated_gib"] = max(b[0] for b in later)
        res["peak_reserved_gib"] = max(b[1] for b in later)
        res["num_alloc_retries"] = after["num_alloc_retries"]
        res["device_total_bytes"] = int(torch.cuda.mem_get_info()[1])
        res["ok"] = True
    except Exception as e:  # noqa: BLE001
        record_failure(res, torch, e, phase)
    emit_result(res, t_begin)


def parent(args):
    grid = GRIDS[args.grid]
    if args.only:
        want = set(args.only.split(","))
        grid = [g for g in grid if g["id"] in want]
    if args.dry:
        for g in grid:
            print(g["id"])
        return
    checkout = prepare_checkout(args.torchtitan)
    out = args.out or os.environ.get("OUT") or "."
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "results.jsonl")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t_start = time.time()
    failures = 0
    for c in grid:
        elapsed = time.time() - t_start
        if elapsed > args.budget or failures >= 2:
            print("stopping before %s (%.0fs, %d failures)" % (c["id"], elapsed, failures), flush=True)
            break
        c = dict(c, checkout=checkout)
        timeout = max(30.0, min(args.per_config_timeout, args.deadline - elapsed))
        rec = run_child(os.path.abspath(__file__), c, timeout, env)
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if rec.get("ok"):
            failures = 0
            print("%-36s alloc %7.3f res %7.3f GiB retries %d phases %s [%.0fs]" % (
                c["id"], rec["peak_allocated_gib"], rec["peak_reserved_gib"],
                rec["num_alloc_retries"], rec["phases_gib"][-1], rec["wall_s"]), flush=True)
        elif rec.get("oom"):
            print("%-36s OOM at %s [%.0fs]" % (c["id"], rec.get("phase"), rec["wall_s"]), flush=True)
        else:
            failures += 1
            print("%-36s FAILED %s\n%s" % (c["id"], rec.get("error", "timeout" if rec.get("timeout") else ""),
                                          rec.get("traceback_tail") or rec.get("stderr_tail", "")), flush=True)
    print("total %.0fs" % (time.time() - t_start), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", help="child mode: JSON config")
    ap.add_argument("--torchtitan", help="a checkout of pytorch/torchtitan at df2e96d5")
    ap.add_argument("--out")
    ap.add_argument("--grid", default="gptoss", choices=sorted(GRIDS))
    ap.add_argument("--only")
    ap.add_argument("--dry", action="store_true")
    ap.add_argument("--budget", type=float, default=300.0, help="start no config after this many s")
    ap.add_argument("--deadline", type=float, default=360.0, help="no child runs past this many s")
    ap.add_argument("--per-config-timeout", type=float, default=200.0)
    args = ap.parse_args()
    if args.one:
        run_one(json.loads(args.one))
    else:
        parent(args)


if __name__ == "__main__":
    main()
