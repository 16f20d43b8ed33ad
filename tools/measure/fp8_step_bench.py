#!/usr/bin/env python3
"""Time a whole forward + backward of a Llama on one GPU, in bf16 and with tensorwise fp8 linears.

The model is fsdp2_fakepg.py's torchtitan-style Llama, cast to bf16, with no FSDP and no
optimizer (the optimizer step is the same in both precisions). For fp8, every block linear
(wq, wk, wv, wo, w1, w3, w2) runs through a dynamic tensorwise fp8 matmul (fp8_linear_bench.py's
casts and torch._scaled_mm, as torchao's Float8Linear); the output head and attention stay in
bf16, as in torchao. The whole model is one torch.compile graph. One JSON line per run goes to
--out: the CUDA-event median of `--iters` steps after `--warm` (compilation included there).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fp8_linear_bench import _tw, measure, smm  # noqa: E402
from fsdp2_fakepg import MODELS, _model_defs  # noqa: E402


class _Fp8Matmul(torch.autograd.Function):
    """y = x w^T with x, w and dy cast to e4m3 with one scale per tensor."""

    @staticmethod
    def forward(ctx, x, w):
        x2 = x.reshape(-1, x.shape[-1])
        xf, xt, sx = _tw(x2)
        wf, wt, sw = _tw(w)
        ctx.save_for_backward(xt, sx, wt, sw)
        ctx.x_shape = x.shape
        y = smm(xf, wf.t(), sx, sw, True)
        return y.reshape(*x.shape[:-1], w.shape[0])

    @staticmethod
    def backward(ctx, dy):
        xt, sx, wt, sw = ctx.saved_tensors
        gf, gt, sg = _tw(dy.reshape(-1, dy.shape[-1]))
        dx = smm(gf, wt.t(), sg, sw, False)
        dw = smm(gt, xt.t(), sg, sx, False)
        return dx.reshape(ctx.x_shape), dw


class Fp8Linear(nn.Linear):
    def forward(self, x):
        return _Fp8Matmul.apply(x, self.weight)


def build(model, seq, fp8):
    a = MODELS[model]
    transformer, freqs = _model_defs()
    with torch.device("cuda"):
        m = transformer(a)
    m = m.to(torch.bfloat16)
    m.freqs_cis = freqs(a["dim"] // a["n_heads"], seq, a["rope_theta"]).cuda()
    if fp8:
        for block in m.layers.values():
            for lin in (block.attention.wq, block.attention.wk, block.attention.wv,
                        block.attention.wo, block.feed_forward.w1, block.feed_forward.w2,
                        block.feed_forward.w3):
                lin.__class__ = Fp8Linear
    return m, a


def run(model, mb, seq, fp8, iters, warm):
    m, a = build(model, seq, fp8)
    cm = torch.compile(m)
    tokens = torch.randint(0, a["vocab"], (mb, seq), device="cuda")
    labels = torch.randint(0, a["vocab"], (mb * seq,), device="cuda")

    def step():
        for p in m.parameters():
            p.grad = None
        logits = cm(tokens)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), labels)
        loss.backward()

    t0 = time.time()
    for _ in range(warm):
        step()
    torch.cuda.synchronize()
    warm_s = time.time() - t0
    median_s, min_s = measure(step, iters)
    return {"kind": "forward_backward", "model": model, "micro_batch": mb, "seq_len": seq,
            "recipe": "tensorwise" if fp8 else "bf16", "seconds": median_s,
            "min_seconds": min_s, "warm_s": round(warm_s, 1),
            "peak_allocated_bytes": torch.cuda.max_memory_allocated()}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="llama-3.2-1b")
    ap.add_argument("--micro-batch", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=8192)
    ap.add_argument("--iters", type=int, default=8)
    ap.add_argument("--warm", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    with open(args.out, "a") as out:
        for fp8 in (False, True):
            try:
                rec = run(args.model, args.micro_batch, args.seq_len, fp8, args.iters, args.warm)
            except Exception as e:
                rec = {"model": args.model, "recipe": "tensorwise" if fp8 else "bf16",
                       "error": repr(e)[:600]}
            print(json.dumps(rec), file=out, flush=True)
            print(rec, flush=True)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()


if __name__ == "__main__":
    sys.exit(main())
