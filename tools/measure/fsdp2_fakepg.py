#!/usr/bin/env python3
"""Measure real peak GPU memory of FSDP2 training of Llama-style models.

One GPU holds rank 0 of an N-GPU job: the process group is torch's "fake"
backend (FakeStore), so collectives move no data but FSDP2 allocates all of
its real buffers (sharded fp32 params, all-gather outputs, unsharded bf16
params, reduce-scatter inputs/outputs, sharded grads, AdamW states) and every
activation is a real CUDA allocation.

Usage:
  python3 fsdp2_fakepg.py --dry                      # list the grid
  python3 fsdp2_fakepg.py --out DIR                  # run the whole grid
  python3 fsdp2_fakepg.py --out DIR --only ID1,ID2   # run some configs
  python3 fsdp2_fakepg.py --one '<json config>'      # child: one config

The parent never imports torch; each config runs in its own child process
(timeout per config) and one JSON line per config is appended to
DIR/results.jsonl as soon as it finishes.
"""
import argparse
import json
import os
import subprocess
import sys
import time

GIB = float(1 << 30)
RESULT_TAG = "@@RESULT@@"

MODELS = {
    "llama-3.2-1b": dict(short="1b", dim=2048, n_layers=16, n_heads=32, n_kv_heads=8,
                         ffn_dim=8192, vocab=128256, tied=True, rope_theta=500000.0,
                         norm_eps=1e-5, expected_params=1235814400),
    "llama-3.2-3b": dict(short="3b", dim=3072, n_layers=28, n_heads=24, n_kv_heads=8,
                         ffn_dim=8192, vocab=128256, tied=True, rope_theta=500000.0,
                         norm_eps=1e-5, expected_params=3212749824),
    "llama-3.1-8b": dict(short="8b", dim=4096, n_layers=32, n_heads=32, n_kv_heads=8,
                         ffn_dim=14336, vocab=128256, tied=False, rope_theta=500000.0,
                         norm_eps=1e-5, expected_params=8030261248),
    "llama-3.1-70b": dict(short="70b", dim=8192, n_layers=80, n_heads=64, n_kv_heads=8,
                          ffn_dim=28672, vocab=128256, tied=False, rope_theta=500000.0,
                          norm_eps=1e-5, expected_params=70553706496),
}

AC_SHORT = {"none": "noac", "full": "fullac", "selective-op": "sacop",
            "selective-layer": "sacl"}


def cfg(model, world, sharding, precision, mb, seq, ac, loss="unfused",
        accum=1, accum_mode="reduce-scatter", replicate=1, ac_every=2, comm_gbs=0,
        alloc="expandable", steps=3):
    c = dict(model=model, world=world, sharding=sharding, precision=precision,
             micro_batch=mb, seq_len=seq, ac=ac, loss=loss, grad_accum=accum,
             grad_accum_mode=accum_mode, replicate=replicate)
    if ac == "selective-layer":
        c["ac_every"] = ac_every
    if comm_gbs:
        c["comm_gbs"] = comm_gbs  # each collective occupies its stream as if moved at this rate
    if alloc != "expandable":
        c["alloc"] = alloc        # "default": no expandable segments
    if steps != 3:
        c["steps"] = steps
    c["id"] = config_id(c)
    return c


def config_id(c):
    m = MODELS[c["model"]]["short"]
    ac = AC_SHORT[c["ac"]] + (str(c["ac_every"]) if c["ac"] == "selective-layer" else "")
    s = "%s-w%d-%s-%s-b%ds%d-%s" % (m, c["world"], c["sharding"], c["precision"],
                                    c["micro_batch"], c["seq_len"], ac)
    if c["sharding"] == "hybrid":
        s += "-r%d" % c["replicate"]
    if c["loss"] != "unfused":
        s += "-" + c["loss"]
    if c["grad_accum"] > 1:
        s += "-ga%d%s" % (c["grad_accum"], "ns" if c["grad_accum_mode"] == "no-sync" else "rs")
    if c.get("sdpa", "default") != "default":
        s += "-" + c["sdpa"]
    if c.get("comm_gbs"):
        s += "-cd%g" % c["comm_gbs"]
    if c.get("alloc", "expandable") != "expandable":
        s += "-noexp"
    if c.get("steps", 3) != 3:
        s += "-%dsteps" % c["steps"]
    return s


GRID = [
    cfg("llama-3.2-1b", 8, "full", "bf16", 1, 2048, "none"),                    # 1 smoke
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "selective-op"),            # 2
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "none"),                    # 3
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "full"),                    # 4
    cfg("llama-3.1-8b", 8, "full", "bf16", 2, 8192, "selective-op"),            # 5
    cfg("llama-3.1-8b", 8, "full", "bf16", 2, 8192, "full"),                    # 6
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "selective-layer", ac_every=2),  # 7
    cfg("llama-3.1-8b", 8, "grad-op", "bf16", 1, 8192, "selective-op"),         # 8
    cfg("llama-3.1-8b", 4, "full", "bf16", 1, 8192, "full"),                    # 9
    cfg("llama-3.1-8b", 16, "full", "bf16", 1, 8192, "full"),                   # 10
    cfg("llama-3.1-8b", 16, "hybrid", "bf16", 1, 8192, "full", replicate=2),    # 11
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "full", loss="chunked"),    # 12
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 4096, "full", accum=2),           # 13
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 4096, "full", accum=2, accum_mode="no-sync"),  # 14
    cfg("llama-3.2-3b", 8, "full", "bf16", 2, 4096, "none"),                    # 15
    cfg("llama-3.2-3b", 8, "full", "bf16", 4, 4096, "full"),                    # 16
    cfg("llama-3.2-3b", 1, "none", "bf16-pure", 2, 4096, "none"),               # 17
    cfg("llama-3.2-3b", 1, "none", "bf16-pure", 2, 4096, "full", loss="chunked"),  # 18
    cfg("llama-3.2-1b", 8, "full", "bf16", 4, 8192, "none"),                    # 19
    cfg("llama-3.2-1b", 8, "full", "bf16", 8, 8192, "full"),                    # 20
    cfg("llama-3.2-1b", 8, "full", "bf16", 2, 16384, "selective-op"),           # 21
    cfg("llama-3.2-1b", 1, "none", "bf16", 2, 4096, "none"),                    # 22
    cfg("llama-3.1-8b", 8, "full", "bf16", 1, 16384, "full"),                   # 23
    cfg("llama-3.2-3b", 8, "grad-op", "bf16", 2, 4096, "selective-op"),         # 24
]

# Held-out runs: predicted by bwplan before they were measured, to check that the memory model
# generalises beyond the runs its constants were fitted to (`--grid holdout`).
GRID_HOLDOUT = [
    cfg("llama-3.1-70b", 64, "full", "bf16", 1, 8192, "full"),
    cfg("llama-3.1-70b", 64, "full", "bf16", 1, 4096, "selective-op"),
    cfg("llama-3.2-3b", 8, "full", "bf16", 1, 16384, "selective-layer", ac_every=4),
    cfg("llama-3.2-1b", 2, "full", "bf16", 4, 4096, "none"),
    cfg("llama-3.1-8b", 32, "hybrid", "bf16", 2, 4096, "selective-op", replicate=4),
]


# Collectives that take time: the fake process group completes every collective at once, so a
# run never holds what a real one holds while a collective is in flight on its stream. Each
# config below runs with instant collectives, then with every collective occupying its stream
# (torch.cuda._sleep) for bytes * (n - 1) / n / rate (all-reduce twice that): 50 GB/s is about
# one GPU's share of a node's 3,200 Gbps EFA, 10 GB/s makes communication dominate (`--grid
# delay`). The same configs without expandable segments show the allocator's fragmentation.
_DELAY_BASE = [
    ("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "full", {}),
    ("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "selective-op", {}),
    ("llama-3.1-8b", 8, "full", "bf16", 1, 4096, "full", {"accum": 2}),
    ("llama-3.2-3b", 8, "full", "bf16", 2, 4096, "none", {}),
    ("llama-3.1-8b", 8, "grad-op", "bf16", 1, 8192, "selective-op", {}),
    ("llama-3.1-8b", 16, "hybrid", "bf16", 1, 8192, "full", {"replicate": 2}),
]
GRID_DELAY = []
GRID_DELAY += [cfg(*b[:7], comm_gbs=r, **b[7]) for b in _DELAY_BASE[:2] for r in (0, 50, 10)]
GRID_DELAY += [cfg(*b[:7], comm_gbs=r, **b[7]) for b in _DELAY_BASE[2:5] for r in (0, 10)]
GRID_DELAY += [cfg(*b[:7], alloc="default", **b[7]) for b in _DELAY_BASE[:4]]
GRID_DELAY += [cfg(*_DELAY_BASE[1][:7], comm_gbs=10, alloc="default")]
GRID_DELAY += [cfg(*_DELAY_BASE[5][:7], comm_gbs=r, **_DELAY_BASE[5][7]) for r in (0, 10)]
GRID_DELAY += [cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "none", alloc="default"),
               cfg("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "none")]

# Without expandable segments, over more steps: does fragmentation grow past step 3?
GRID_FIXED = [cfg(*b[:7], alloc=a, steps=10, **b[7]) for b in _DELAY_BASE[:2]
              for a in ("default", "expandable")]
GRID_FIXED += [cfg(*g, alloc="default", steps=5, **k) for g, k in (
    (("llama-3.1-8b", 8, "full", "bf16", 2, 8192, "selective-op"), {}),
    (("llama-3.1-8b", 8, "full", "bf16", 2, 8192, "full"), {}),
    (("llama-3.2-1b", 8, "full", "bf16", 2, 16384, "selective-op"), {}),
    (("llama-3.2-3b", 8, "full", "bf16", 4, 4096, "full"), {}),
    (("llama-3.1-8b", 4, "full", "bf16", 1, 8192, "full"), {}),
    (("llama-3.1-8b", 16, "full", "bf16", 1, 8192, "full"), {}),
    (("llama-3.2-3b", 8, "grad-op", "bf16", 2, 4096, "selective-op"), {}),
    (("llama-3.2-1b", 1, "none", "bf16", 2, 4096, "none"), {}),
    (("llama-3.2-3b", 1, "none", "bf16-pure", 2, 4096, "none"), {}),
    (("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "full"), {"loss": "chunked"}),
    (("llama-3.1-8b", 8, "full", "bf16", 1, 16384, "full"), {}),
    (("llama-3.1-8b", 8, "full", "bf16", 1, 4096, "full"), {"accum": 2, "accum_mode": "no-sync"}),
    (("llama-3.1-8b", 8, "full", "bf16", 1, 8192, "selective-layer"), {}),
    (("llama-3.2-1b", 8, "full", "bf16", 1, 2048, "none"), {}),
)]


def _delay_collectives(torch, dist, gbs, res):
    """Make the fake process group's collectives occupy their CUDA stream as long as moving
    their bytes at `gbs` GB/s would take. FSDP2 issues each one on its own stream (all-gather,
    reduce-scatter, all-reduce), so the compute stream waits for it exactly as for a real one."""
    torch.cuda.synchronize()
    torch.cuda._sleep(1000000)  # warm up
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    cycles = 50000000
    e0.record()
    torch.cuda._sleep(cycles)
    e1.record()
    torch.cuda.synchronize()
    cycles_per_s = cycles / (e0.elapsed_time(e1) / 1000.0)
    res["sleep_cycles_per_s"] = round(cycles_per_s)
    stats = {"all_gather": [0, 0.0], "reduce_scatter": [0, 0.0], "all_reduce": [0, 0.0]}
    res["collectives"] = stats

    def occupy(kind, nbytes, group, factor):
        n = dist.get_world_size(group)
        s = factor * nbytes * (n - 1) / n / (gbs * 1e9)
        if s > 0:
            torch.cuda._sleep(int(s * cycles_per_s))
        stats[kind][0] += 1
        stats[kind][1] = round(stats[kind][1] + s, 6)

    orig = {k: getattr(dist, k) for k in ("all_gather_into_tensor", "reduce_scatter_tensor",
                                          "all_reduce")}

    def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
        occupy("all_gather", output_tensor.numel() * output_tensor.element_size(), group, 1)
        return orig["all_gather_into_tensor"](output_tensor, input_tensor, group=group,
                                              async_op=async_op)

    def reduce_scatter_tensor(output, input, op=dist.ReduceOp.SUM, group=None, async_op=False):
        occupy("reduce_scatter", input.numel() * input.element_size(), group, 1)
        return orig["reduce_scatter_tensor"](output, input, op=op, group=group,
                                             async_op=async_op)

    def all_reduce(tensor, op=dist.ReduceOp.SUM, group=None, async_op=False):
        occupy("all_reduce", tensor.numel() * tensor.element_size(), group, 2)
        return orig["all_reduce"](tensor, op=op, group=group, async_op=async_op)

    for mod in (dist, dist.distributed_c10d):
        mod.all_gather_into_tensor = all_gather_into_tensor
        mod.reduce_scatter_tensor = reduce_scatter_tensor
        mod.all_reduce = all_reduce


# --------------------------------------------------------------------------
# child: one configuration
# --------------------------------------------------------------------------

def _sdpa_ctx(torch, sdpa):
    """Context that forces an SDPA backend ('flash', 'cudnn', 'efficient'); 'default' = dispatcher's choice."""
    import contextlib
    if sdpa in (None, "", "default"):
        return contextlib.nullcontext
    from torch.nn.attention import SDPBackend, sdpa_kernel
    b = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
         "efficient": SDPBackend.EFFICIENT_ATTENTION}[sdpa]
    return lambda: sdpa_kernel([b])


def _model_defs(sdpa="default"):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    sdpa_ctx = _sdpa_ctx(torch, sdpa)

    def precompute_freqs_cis(dim, end, theta):
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
        t = torch.arange(end, dtype=torch.float32)
        freqs = torch.outer(t, freqs)
        return torch.polar(torch.ones_like(freqs), freqs)  # complex64

    def apply_rotary_emb(xq, xk, freqs_cis):
        # torchtitan llama3: fp32 complex rotation, cast back to the input dtype
        xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
        xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
        seqlen = xq_.shape[1]
        fc = freqs_cis[:seqlen].view(1, seqlen, 1, xq_.shape[-1])
        xq_out = torch.view_as_real(xq_ * fc).flatten(3)
        xk_out = torch.view_as_real(xk_ * fc).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)

    def repeat_kv(x, n_rep):
        bs, slen, n_kv_heads, head_dim = x.shape
        if n_rep == 1:
            return x
        return (x[:, :, :, None, :]
                .expand(bs, slen, n_kv_heads, n_rep, head_dim)
                .reshape(bs, slen, n_kv_heads * n_rep, head_dim))

    class Attention(nn.Module):
        def __init__(self, a):
            super().__init__()
            self.n_heads = a["n_heads"]
            self.n_kv_heads = a["n_kv_heads"]
            self.n_rep = self.n_heads // self.n_kv_heads
            self.head_dim = a["dim"] // a["n_heads"]
            self.wq = nn.Linear(a["dim"], self.n_heads * self.head_dim, bias=False)
            self.wk = nn.Linear(a["dim"], self.n_kv_heads * self.head_dim, bias=False)
            self.wv = nn.Linear(a["dim"], self.n_kv_heads * self.head_dim, bias=False)
            self.wo = nn.Linear(self.n_heads * self.head_dim, a["dim"], bias=False)

        def forward(self, x, freqs_cis):
            bs, seqlen, _ = x.shape
            xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
            xq = xq.view(bs, seqlen, -1, self.head_dim)
            xk = xk.view(bs, seqlen, -1, self.head_dim)
            xv = xv.view(bs, seqlen, -1, self.head_dim)
            xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
            keys = repeat_kv(xk, self.n_rep)
            values = repeat_kv(xv, self.n_rep)
            xq = xq.transpose(1, 2)
            xk = keys.transpose(1, 2)
            xv = values.transpose(1, 2)
            with sdpa_ctx():
                out = F.scaled_dot_product_attention(xq, xk, xv, is_causal=True)
            out = out.transpose(1, 2).contiguous().view(bs, seqlen, -1)
            return self.wo(out)

    class FeedForward(nn.Module):
        def __init__(self, a):
            super().__init__()
            self.w1 = nn.Linear(a["dim"], a["ffn_dim"], bias=False)
            self.w2 = nn.Linear(a["ffn_dim"], a["dim"], bias=False)
            self.w3 = nn.Linear(a["dim"], a["ffn_dim"], bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class TransformerBlock(nn.Module):
        def __init__(self, a):
            super().__init__()
            self.attention = Attention(a)
            self.feed_forward = FeedForward(a)
            self.attention_norm = nn.RMSNorm(a["dim"], eps=a["norm_eps"])
            self.ffn_norm = nn.RMSNorm(a["dim"], eps=a["norm_eps"])

        def forward(self, x, freqs_cis):
            h = x + self.attention(self.attention_norm(x), freqs_cis)
            return h + self.feed_forward(self.ffn_norm(h))

    class Transformer(nn.Module):
        def __init__(self, a):
            super().__init__()
            self.tok_embeddings = nn.Embedding(a["vocab"], a["dim"])
            self.layers = nn.ModuleDict({str(i): TransformerBlock(a) for i in range(a["n_layers"])})
            self.norm = nn.RMSNorm(a["dim"], eps=a["norm_eps"])
            self.output = nn.Linear(a["dim"], a["vocab"], bias=False)
            if a["tied"]:
                self.output.weight = self.tok_embeddings.weight
            self.freqs_cis = None          # plain attribute, set after materialisation
            self.num_output_chunks = 0     # >0: return a list of chunk logits

        def forward(self, tokens):
            h = self.tok_embeddings(tokens)
            fc = self.freqs_cis
            for layer in self.layers.values():
                h = layer(h, fc)
            h = self.norm(h)
            if self.num_output_chunks > 0:
                return [self.output(c) for c in h.chunk(self.num_output_chunks, dim=1)]
            return self.output(h)

    return Transformer, precompute_freqs_cis


def _sac_context_fn_factory(torch):
    from collections import defaultdict
    from torch.utils.checkpoint import CheckpointPolicy, create_selective_checkpoint_contexts

    names = [
        ("aten", "mm"),
        ("aten", "_scaled_dot_product_efficient_attention"),
        ("aten", "_scaled_dot_product_flash_attention"),
        ("aten", "_scaled_dot_product_cudnn_attention"),
        ("_c10d_functional", "reduce_scatter_tensor"),
        ("aten", "abs"),
        ("aten", "max"),
    ]
    save_list = set()
    for ns, op in names:
        try:
            save_list.add(getattr(getattr(getattr(torch.ops, ns), op), "default"))
        except Exception:
            pass
    mm = torch.ops.aten.mm.default

    def _get_custom_policy(meta):
        def _custom_policy(ctx, func, *args, **kwargs):
            mode = "recompute" if ctx.is_recompute else "forward"
            key = mode + "_mm_count"
            if func == mm:
                meta[key] += 1
            # save the output of compute-heavy ops, except every second mm
            to_save = func in save_list and not (func == mm and meta[key] % 2 == 0)
            return CheckpointPolicy.MUST_SAVE if to_save else CheckpointPolicy.PREFER_RECOMPUTE
        return _custom_policy

    def selective_checkpointing_context_fn():
        meta = defaultdict(int)
        return create_selective_checkpoint_contexts(_get_custom_policy(meta))

    return selective_checkpointing_context_fn


def _mem(torch):
    s = torch.cuda.memory_stats()
    return {
        "peak_reserved_bytes": int(s.get("reserved_bytes.all.peak", 0)),
        "peak_allocated_bytes": int(s.get("allocated_bytes.all.peak", 0)),
        "peak_active_bytes": int(s.get("active_bytes.all.peak", 0)),
        "cur_reserved_bytes": int(s.get("reserved_bytes.all.current", 0)),
        "cur_allocated_bytes": int(s.get("allocated_bytes.all.current", 0)),
        "num_alloc_retries": int(s.get("num_alloc_retries", 0)),
        "num_ooms": int(s.get("num_ooms", 0)),
    }


def child_start(c):
    """A child's empty result and start time, with the config's allocator set before torch loads:
    expandable segments (torchtitan's launchers') unless the config says "default"."""
    if c.get("alloc", "expandable") == "expandable":
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
    else:
        os.environ.pop("PYTORCH_CUDA_ALLOC_CONF", None)
    return {"id": c["id"], "config": c, "ok": False, "oom": False}, time.time()


def record_failure(res, torch, e, phase):
    """What a child records when its config raises: an OOM, or the error and its traceback, and
    the allocator's figures at that point."""
    is_oom = torch is not None and isinstance(e, getattr(torch, "OutOfMemoryError",
                                                         getattr(torch.cuda, "OutOfMemoryError", ())))
    msg = str(e).strip().splitlines()
    res["phase"] = phase
    if is_oom:
        res["oom"] = True
        res["oom_message"] = msg[0][:400] if msg else ""
    else:
        import traceback
        res["error"] = (type(e).__name__ + ": " + (msg[0] if msg else ""))[:400]
        res["traceback_tail"] = traceback.format_exc()[-2500:]
    try:
        m = _mem(torch)
        res["at_failure"] = m
        res["peak_reserved_gib_at_failure"] = round(m["peak_reserved_bytes"] / GIB, 3)
    except Exception:
        pass


def emit_result(res, t_begin):
    """The child's one result line, then exit at once (no interpreter teardown)."""
    res["child_seconds"] = round(time.time() - t_begin, 2)
    sys.stdout.write(RESULT_TAG + json.dumps(res) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_child(script, c, timeout, env):
    """Run config `c` in a child process of `script` (`--one`): its result, or why there is none."""
    t0 = time.time()
    rec = None
    try:
        p = subprocess.run([sys.executable, script, "--one", json.dumps(c)],
                           capture_output=True, text=True, timeout=timeout, env=env)
        for line in p.stdout.splitlines():
            if line.startswith(RESULT_TAG):
                rec = json.loads(line[len(RESULT_TAG):])
        if rec is None:
            rec = {"id": c["id"], "config": c, "ok": False, "oom": False,
                   "error": "child exited rc=%s without result" % p.returncode,
                   "stderr_tail": (p.stderr or "")[-2500:], "stdout_tail": (p.stdout or "")[-500:]}
        else:
            rec["stderr_tail"] = (p.stderr or "")[-800:]
    except subprocess.TimeoutExpired as e:
        err = e.stderr
        if isinstance(err, bytes):
            err = err.decode("utf-8", "replace")
        rec = {"id": c["id"], "config": c, "ok": False, "oom": False, "timeout": True,
               "timeout_s": round(timeout, 1), "stderr_tail": (err or "")[-1500:]}
    except Exception as e:  # noqa: BLE001
        rec = {"id": c["id"], "config": c, "ok": False, "oom": False,
               "error": "parent: " + repr(e)[:300]}
    rec["wall_s"] = round(time.time() - t0, 1)
    return rec


def run_one(c):
    res, t_begin = child_start(c)
    phase = "import"
    torch = None
    try:
        import torch
        import torch.nn.functional as F
        res["torch"] = torch.__version__
        res["cuda"] = torch.version.cuda
        res["alloc_conf"] = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
        phase = "setup"
        torch.cuda.set_device(0)
        dev = torch.device("cuda", 0)
        res["gpu"] = torch.cuda.get_device_name(0)
        a = MODELS[c["model"]]
        sharding = c["sharding"]
        world = c["world"]
        precision = c["precision"]
        fsdp = sharding != "none"
        try:
            from torch.distributed.tensor import DTensor
        except Exception:
            try:
                from torch.distributed._tensor import DTensor
            except Exception:
                DTensor = None

        def _loc(t):
            # local shard of a DTensor (shares storage), or the tensor itself
            if DTensor is not None and isinstance(t, DTensor):
                lt = getattr(t, "_local_tensor", None)
                return lt if lt is not None else t.to_local()
            return t

        mesh = None
        if fsdp:
            import torch.distributed as dist
            try:
                from torch.testing._internal.distributed.fake_pg import FakeStore
                store = FakeStore()
            except Exception as e:  # pragma: no cover
                res["fakestore_fallback"] = repr(e)[:200]
                store = dist.HashStore()
            dist.init_process_group("fake", store=store, rank=0, world_size=world)
            from torch.distributed.device_mesh import init_device_mesh
            if sharding == "hybrid":
                R = c["replicate"]
                S = world // R
                mesh = init_device_mesh("cuda", (R, S), mesh_dim_names=("replicate", "shard"))
            else:
                mesh = init_device_mesh("cuda", (world,))
            if c.get("comm_gbs"):
                _delay_collectives(torch, dist, float(c["comm_gbs"]), res)
            try:
                res["mesh"] = str(tuple(mesh.mesh.shape))
            except Exception:
                res["mesh"] = repr(mesh)[:100]

        # ---- build on meta
        phase = "build"
        sdpa = c.get("sdpa", "default")
        Transformer, precompute_freqs_cis = _model_defs(sdpa)
        with torch.device("meta"):
            model = Transformer(a)
        if precision == "bf16-pure":
            model.to(torch.bfloat16)  # still on meta; the model holds no complex tensors
        n_params = sum(p.numel() for p in model.parameters())
        res["param_count"] = int(n_params)
        res["param_count_expected"] = a["expected_params"]
        res["param_count_ok"] = int(n_params) == a["expected_params"]
        print("params %d expected %d ok=%s" % (n_params, a["expected_params"], res["param_count_ok"]),
              file=sys.stderr, flush=True)

        # ---- activation checkpointing (torchtitan semantics)
        ac = c["ac"]
        if ac != "none":
            from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
                checkpoint_wrapper as ptd_checkpoint_wrapper)
            sac_fn = _sac_context_fn_factory(torch) if ac == "selective-op" else None
            count = 0
            for lid, blk in list(model.layers.items()):
                count += 1
                if ac == "full":
                    w = ptd_checkpoint_wrapper(blk, preserve_rng_state=False)
                elif ac == "selective-op":
                    w = ptd_checkpoint_wrapper(blk, context_fn=sac_fn, preserve_rng_state=False)
                elif ac == "selective-layer":
                    every = int(c.get("ac_every", 2))
                    if every <= 0 or count % every == 0:
                        w = ptd_checkpoint_wrapper(blk, preserve_rng_state=False)
                    else:
                        w = blk
                else:
                    raise ValueError("unknown ac " + ac)
                model.layers.register_module(lid, w)

        # ---- FSDP2
        if fsdp:
            try:
                from torch.distributed.fsdp import fully_shard, MixedPrecisionPolicy
            except Exception:
                from torch.distributed._composable.fsdp import fully_shard, MixedPrecisionPolicy
            if precision == "bf16":
                mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
            else:
                mp = MixedPrecisionPolicy()
            rab_blocks = sharding in ("full", "hybrid")
            for blk in model.layers.values():
                fully_shard(blk, mesh=mesh, mp_policy=mp, reshard_after_forward=rab_blocks)
            fully_shard(model, mesh=mesh, mp_policy=mp, reshard_after_forward=False)

        # ---- materialise + init (std 0.02 normal; norm weights 1)
        phase = "init"
        model.to_empty(device=dev)
        if not fsdp and a["tied"]:
            model.output.weight = model.tok_embeddings.weight
        gen = torch.Generator(device=dev)
        gen.manual_seed(0)
        with torch.no_grad():
            for p in model.parameters():
                t = _loc(p)
                if t.dim() == 1:
                    t.fill_(1.0)
                else:
                    t.normal_(0.0, 0.02, generator=gen)
        model.freqs_cis = precompute_freqs_cis(a["dim"] // a["n_heads"], c["seq_len"],
                                               a["rope_theta"]).to(dev)
        if c["loss"] == "chunked":
            model.num_output_chunks = 8
        res["tied_ok"] = (not a["tied"]) or (model.output.weight is model.tok_embeddings.weight)

        # SDPA backend the dispatcher picks for these shapes (informational)
        try:
            hd = a["dim"] // a["n_heads"]
            q = torch.randn(1, a["n_heads"], 256, hd, device=dev, dtype=torch.bfloat16)
            with _sdpa_ctx(torch, sdpa)():
                b = torch._fused_sdp_choice(q, q, q, is_causal=True)
            names = {0: "math", 1: "flash", 2: "efficient", 3: "cudnn", 4: "overrideable"}
            res["sdpa_backend"] = names.get(int(b), str(b)) + ("" if sdpa == "default" else " (forced)")
            del q
        except Exception as e:
            res["sdpa_backend"] = "unknown: " + repr(e)[:100]

        params = [p for p in model.parameters()]
        opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8,
                                weight_decay=0.1, fused=False, foreach=True)

        mb, seq, accum = c["micro_batch"], c["seq_len"], c["grad_accum"]
        inputs = [torch.randint(0, a["vocab"], (mb, seq), device=dev) for _ in range(accum)]
        labels = [torch.randint(0, a["vocab"], (mb, seq), device=dev) for _ in range(accum)]

        def loss_fn(pred, lab):
            if isinstance(pred, list):  # torchtune CEWithChunkedOutputLoss style
                labs = [l.reshape(-1) for l in lab.chunk(len(pred), dim=1)]
                total = 0.0
                for lg, lb in zip(pred, labs):
                    total = total + F.cross_entropy(lg.reshape(-1, lg.size(-1)).float(), lb,
                                                    reduction="sum")
                return total / lab.numel()
            return F.cross_entropy(pred.flatten(0, 1).float(), lab.flatten(0, 1))

        autocast = (not fsdp) and precision == "bf16"

        def clip_grads(max_norm=1.0):
            with torch.no_grad():
                grads = [p.grad for p in params if p.grad is not None]
                if not grads:
                    return
                locs = [_loc(g) for g in grads]
                norms = torch._foreach_norm(locs, 2.0)
                total = torch.linalg.vector_norm(torch.stack(norms), 2.0)
                coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
                torch._foreach_mul_(locs, coef)

        def train_step():
            opt.zero_grad(set_to_none=True)
            for i in range(accum):
                if fsdp and c["grad_accum_mode"] == "no-sync" and accum > 1:
                    model.set_requires_gradient_sync(i == accum - 1)
                if autocast:
                    with torch.autocast("cuda", dtype=torch.bfloat16):
                        pred = model(inputs[i])
                        loss = loss_fn(pred, labels[i]) / accum
                else:
                    pred = model(inputs[i])
                    loss = loss_fn(pred, labels[i]) / accum
                del pred
                loss.backward()
                del loss
            clip_grads()
            opt.step()

        torch.cuda.synchronize()
        res["after_init"] = _mem(torch)
        times = []
        step1 = None
        by_step = []
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
            by_step.append(int(torch.cuda.memory_stats().get("reserved_bytes.all.peak", 0)))
            print("%s %.3fs" % (phase, times[-1]), file=sys.stderr, flush=True)
        phase = "final"
        after = _mem(torch)
        res["after_step1"] = after
        free, total = torch.cuda.mem_get_info()
        res["device_free_bytes"] = int(free)
        res["device_total_bytes"] = int(total)
        res["device_used_gib"] = round((total - free) / GIB, 3)
        res["step_times"] = [round(t, 4) for t in times]
        # the reserved peak since the reset after step 1, read after each step
        res["reserved_peak_gib_by_step"] = [round(b / GIB, 3) for b in by_step]
        st = sorted(times[1:])
        res["step_seconds"] = round(sum(st) / len(st), 4)
        for k in ("peak_reserved_bytes", "peak_allocated_bytes", "peak_active_bytes"):
            res[k] = max(step1[k], after[k])
        res["peak_reserved_gib"] = round(res["peak_reserved_bytes"] / GIB, 3)
        res["peak_allocated_gib"] = round(res["peak_allocated_bytes"] / GIB, 3)
        res["peak_active_gib"] = round(res["peak_active_bytes"] / GIB, 3)
        res["peak_after_step1_reserved_gib"] = round(after["peak_reserved_bytes"] / GIB, 3)
        res["step1_peak_reserved_gib"] = round(step1["peak_reserved_bytes"] / GIB, 3)
        res["num_alloc_retries"] = after["num_alloc_retries"]
        res["ok"] = True
    except Exception as e:  # noqa: BLE001
        record_failure(res, torch, e, phase)
    emit_result(res, t_begin)


# --------------------------------------------------------------------------
# parent: the grid
# --------------------------------------------------------------------------

def fmt_line(r):
    c = r.get("config", {})
    if r.get("ok"):
        st = "ok"
        nums = "res %7.3f  alloc %7.3f  act %7.3f GiB  step %6.3fs  retries %d" % (
            r["peak_reserved_gib"], r["peak_allocated_gib"], r["peak_active_gib"],
            r["step_seconds"], r.get("num_alloc_retries", 0))
        if r.get("collectives"):
            nums += "  comm " + " ".join("%s %d/%.2fs" % (k, v[0], v[1])
                                         for k, v in sorted(r["collectives"].items()))
    elif r.get("oom"):
        st = "OOM"
        nums = "at %s, peak reserved %.3f GiB" % (r.get("phase"), r.get("peak_reserved_gib_at_failure", -1))
    elif r.get("timeout"):
        st = "TIMEOUT"
        nums = ""
    else:
        st = "ERR"
        nums = (r.get("error") or "")[:160]
    return "%-44s %-7s %s  [%.0fs]" % (r.get("id", c.get("id")), st, nums, r.get("wall_s", 0))


def parent(args):
    base = {"holdout": GRID_HOLDOUT, "delay": GRID_DELAY, "fixed": GRID_FIXED}.get(args.grid, GRID)
    grid = base
    if args.sdpa != "default":
        grid = []
        for g in base:
            g = dict(g)
            g["sdpa"] = args.sdpa
            g["base_id"] = g["id"]
            g["id"] = config_id(g)
            grid.append(g)
    if args.only:
        want = [s.strip() for s in args.only.split(",") if s.strip()]
        grid = [g for g in grid if g["id"] in want or g.get("base_id") in want]
        missing = set(want) - {g["id"] for g in grid} - {g.get("base_id") for g in grid}
        if missing:
            print("unknown ids: %s" % sorted(missing))
    if args.dry:
        for i, g in enumerate(grid, 1):
            print("%2d %s" % (i, g["id"]))
        return
    out_dir = args.out or os.environ.get("OUT") or "."
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "results.jsonl")
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,memory.used,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        print("nvidia-smi:", smi.stdout.strip(), flush=True)
    except Exception as e:
        print("nvidia-smi failed:", e, flush=True)
    env = dict(os.environ)
    env["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
    env["PYTHONUNBUFFERED"] = "1"
    t_start = time.time()
    consecutive_failures = 0
    for i, c in enumerate(grid, 1):
        if consecutive_failures >= args.max_consecutive_failures:
            print("aborting: %d consecutive non-OOM failures" % consecutive_failures, flush=True)
            break
        elapsed = time.time() - t_start
        if elapsed > args.budget:
            print("budget reached (%.0fs): not starting %s and later" % (elapsed, c["id"]), flush=True)
            break
        timeout = max(20.0, min(args.per_config_timeout, args.deadline - elapsed))
        rec = run_child(os.path.abspath(__file__), c, timeout, env)
        rec["index"] = [g["id"] for g in base].index(c.get("base_id", c["id"])) + 1
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
        print("%2d %s" % (rec["index"], fmt_line(rec)), flush=True)
        if rec.get("ok") or rec.get("oom"):
            consecutive_failures = 0
        else:
            consecutive_failures += 1
            tb = rec.get("traceback_tail") or rec.get("stderr_tail") or ""
            print("   " + tb[-1200:].replace("\n", "\n   "), flush=True)
    print("total %.0fs" % (time.time() - t_start), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", help="child mode: JSON config")
    ap.add_argument("--dry", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--only", help="comma-separated config ids")
    ap.add_argument("--grid", default="main", choices=["main", "holdout", "delay", "fixed"])
    ap.add_argument("--budget", type=float, default=420.0, help="stop starting configs after this many s")
    ap.add_argument("--deadline", type=float, default=470.0, help="no child runs past this many s")
    ap.add_argument("--per-config-timeout", type=float, default=100.0)
    ap.add_argument("--max-consecutive-failures", type=int, default=3)
    ap.add_argument("--sdpa", default="default", choices=["default", "flash", "cudnn", "efficient"],
                    help="force an SDPA backend for every selected config (adds -<backend> to the id)")
    args = ap.parse_args()
    if args.one:
        run_one(json.loads(args.one))
    else:
        parent(args)


if __name__ == "__main__":
    main()
