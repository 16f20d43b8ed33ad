#!/usr/bin/env python3
"""Measure what low precision buys one transformer block's linear layers on one GPU.

For each Llama shape and tokens-per-micro-batch M, one block's seven linears (wq, wk, wv, wo,
w1, w3, w2) run forward + backward (3 GEMMs each: output, input gradient, weight gradient):

  bf16         3 x torch.mm per linear
  tensorwise   torchao-style dynamic fp8: one scale per tensor (e4m3 throughout), each operand
               cast by a compiled amax + cast (+ transposed copy for the backward GEMMs), then
               torch._scaled_mm (fast accumulation for the output GEMM only, as torchao does)
  rowwise      one scale per row of each GEMM operand (x, w and dy are each cast twice, along
               both axes), torch._scaled_mm with (M,1)/(1,N) scales

For the fp8 recipes three times are taken: `full` (casts + GEMMs, what training pays),
`gemm` (GEMMs on pre-cast operands) and `cast` (casts alone). Times are CUDA-event medians over
`--iters` iterations after warm-up. One JSON line per (model, M, recipe) goes to --out.
"""
import argparse
import json
import statistics
import sys
import time

import torch

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0

MODELS = {  # hidden, ffn, q_dim, kv_dim (configs/models/*.json)
    "llama-3.2-1b": (2048, 8192, 2048, 512),
    "llama-3.2-3b": (3072, 8192, 3072, 1024),
    "llama-3.1-8b": (4096, 14336, 4096, 1024),
    "llama-3.1-70b": (8192, 28672, 8192, 1024),
}


def linears(h, ffn, q, kv):
    """(name, in_features K, out_features N) of one block."""
    return [("wq", h, q), ("wk", h, kv), ("wv", h, kv), ("wo", q, h),
            ("w1", h, ffn), ("w3", h, ffn), ("w2", ffn, h)]


def _tw(x):
    amax = x.abs().amax().float()
    scale = FP8_MAX / torch.clamp(amax, min=1e-12)
    xf = (x.float() * scale).clamp(-FP8_MAX, FP8_MAX).to(FP8)
    return xf, xf.t().contiguous(), scale.reciprocal()


def _rw(x):
    ar = x.abs().amax(dim=1, keepdim=True).float()
    sr = FP8_MAX / torch.clamp(ar, min=1e-12)
    xr = (x.float() * sr).clamp(-FP8_MAX, FP8_MAX).to(FP8)
    ac = x.abs().amax(dim=0, keepdim=True).float()
    sc = FP8_MAX / torch.clamp(ac, min=1e-12)
    xct = (x.float() * sc).clamp(-FP8_MAX, FP8_MAX).to(FP8).t().contiguous()
    return xr, sr.reciprocal(), xct, sc.reciprocal().t().contiguous()


cast_tw = torch.compile(_tw, dynamic=True)
cast_rw = torch.compile(_rw, dynamic=True)


def smm(a, b, sa, sb, fast):
    return torch._scaled_mm(a, b, scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16,
                            use_fast_accum=fast)


def step_bf16(ops):
    for x, w, dy in ops:
        torch.mm(x, w.t())
        torch.mm(dy, w)
        torch.mm(dy.t(), x)


def casts_tw(ops):
    return [(cast_tw(x), cast_tw(w), cast_tw(dy)) for x, w, dy in ops]


def gemms_tw(cast):
    for (xf, xt, sx), (wf, wt, sw), (gf, gt, sg) in cast:
        smm(xf, wf.t(), sx, sw, True)   # y = x w^T
        smm(gf, wt.t(), sg, sw, False)  # dx = dy w
        smm(gt, xt.t(), sg, sx, False)  # dw = dy^T x


def casts_rw(ops):
    return [(cast_rw(x), cast_rw(w), cast_rw(dy)) for x, w, dy in ops]


def gemms_rw(cast):
    for (xr, sxr, xct, sxc), (wr, swr, wct, swc), (gr, sgr, gct, sgc) in cast:
        smm(xr, wr.t(), sxr, swr.t().contiguous(), True)   # y: rows of x, rows of w
        smm(gr, wct.t(), sgr, swc.t().contiguous(), False)  # dx: rows of dy, columns of w
        smm(gct, xct.t(), sgc, sxc.t().contiguous(), False)  # dw: columns of dy, columns of x


def block_bf16(xs, ws, dys):
    """One block's linears as one graph; wq/wk/wv and w1/w3 read the same input, as in Llama."""
    out = []
    for x, w, dy in zip(xs, ws, dys):
        out += [torch.mm(x, w.t()), torch.mm(dy, w), torch.mm(dy.t(), x)]
    return out  # returned, or the compiler drops the work


def block_tw(xs, ws, dys):
    """block_bf16 in tensorwise fp8, casts inside the graph so inductor fuses and shares them."""
    out = []
    for x, w, dy in zip(xs, ws, dys):
        xf, xt, sx = _tw(x)
        wf, wt, sw = _tw(w)
        gf, gt, sg = _tw(dy)
        out += [smm(xf, wf.t(), sx, sw, True), smm(gf, wt.t(), sg, sw, False),
                smm(gt, xt.t(), sg, sx, False)]
    return out


def block_rw(xs, ws, dys):
    """block_bf16 in rowwise fp8 (gemms_rw's scaling), casts inside the graph."""
    out = []
    for x, w, dy in zip(xs, ws, dys):
        xr, sxr, xct, sxc = _rw(x)
        wr, swr, wct, swc = _rw(w)
        gr, sgr, gct, sgc = _rw(dy)
        out += [smm(xr, wr.t(), sxr, swr.t().contiguous(), True),
                smm(gr, wct.t(), sgr, swc.t().contiguous(), False),
                smm(gct, xct.t(), sgc, sxc.t().contiguous(), False)]
    return out


def shapes(args, t0):
    """(model, its shape, tokens) for every model and token count, until the deadline."""
    for model in args.models.split(","):
        for m in (int(s) for s in args.tokens.split(",")):
            if time.time() - t0 > args.deadline:
                print("deadline reached", flush=True)
                return
            yield model, MODELS[model], m


def run_compiled(args, out, t0):
    """Whole-block graphs compiled for their static shapes: what torchao pays under compile."""
    fns = {"bf16": torch.compile(block_bf16, dynamic=False),
           "tensorwise": torch.compile(block_tw, dynamic=False),
           "rowwise": torch.compile(block_rw, dynamic=False)}
    for model, (h, ffn, q, kv), m in shapes(args, t0):
        lin = linears(h, ffn, q, kv)
        x_h = torch.randn(m, h, device="cuda", dtype=torch.bfloat16)
        x_q = torch.randn(m, q, device="cuda", dtype=torch.bfloat16)
        x_f = torch.randn(m, ffn, device="cuda", dtype=torch.bfloat16)
        xs = [x_h, x_h, x_h, x_q, x_h, x_h, x_f]
        ws = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02 for _, k, n in lin]
        dys = [torch.randn(m, n, device="cuda", dtype=torch.bfloat16) for _, _, n in lin]
        flops = sum(6.0 * m * k * n for _, k, n in lin)
        for recipe in args.recipes.split(","):
            fn = fns[recipe]
            rec = {"kind": "block_linears_compiled", "model": model, "hidden": h, "ffn": ffn,
                   "tokens": m, "recipe": recipe, "flops": flops}
            try:
                tc = time.time()
                fn(xs, ws, dys)
                torch.cuda.synchronize()
                rec["compile_s"] = round(time.time() - tc, 1)
                rec["full_s"], rec["full_min_s"] = timed(lambda: fn(xs, ws, dys),
                                                         args.iters, 3)
                rec["tflops"] = flops / rec["full_s"] / 1e12
            except Exception as e:
                rec["error"] = repr(e)[:400]
            report(rec, out, t0)
        del xs, ws, dys, x_h, x_q, x_f
        torch.cuda.empty_cache()


def report(rec, out, t0):
    """One JSON line to the results file, a short line to the log."""
    print(json.dumps(rec), file=out, flush=True)
    print(rec["model"], rec["tokens"], rec["recipe"],
          {k: v for k, v in rec.items() if k.endswith("_s") or k in ("tflops", "error")},
          "t=%.0fs" % (time.time() - t0), flush=True)


def measure(fn, iters):
    """CUDA-event seconds of `iters` calls of fn: (median, fastest)."""
    torch.cuda.synchronize()
    out = []
    for _ in range(iters):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) / 1e3)
    return statistics.median(out), min(out)


def timed(fn, iters, warm):
    """measure() after `warm` untimed calls."""
    for _ in range(warm):
        fn()
    return measure(fn, iters)


def peaks(out):
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    t, _ = timed(lambda: torch.mm(a, b), 10, 3)
    af, bf = a.to(FP8), b.t().contiguous().to(FP8).t()
    one = torch.ones((), device="cuda")
    tf, _ = timed(lambda: smm(af, bf, one, one, True), 10, 3)
    big = torch.empty(2**31, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(big)
    tc, _ = timed(lambda: dst.copy_(big), 10, 3)
    rec = {"kind": "peaks", "bf16_tflops": 2 * n**3 / t / 1e12,
           "fp8_tensorwise_fast_tflops": 2 * n**3 / tf / 1e12,
           "copy_bytes_per_s": 2 * big.numel() / tc}
    print(json.dumps(rec), file=out, flush=True)
    print(rec, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", default="4096,16384,65536")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--recipes", default="bf16,tensorwise,rowwise")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--deadline", type=float, default=300.0)
    ap.add_argument("--compiled-block", action="store_true",
                    help="time whole-block compiled graphs (bf16 and tensorwise) instead")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch._dynamo.config.cache_size_limit = 64
    t0 = time.time()
    with open(args.out, "a") as out:
        print(json.dumps({"kind": "env", "torch": torch.__version__,
                          "gpu": torch.cuda.get_device_name(),
                          "capability": list(torch.cuda.get_device_capability())}),
              file=out, flush=True)
        if args.compiled_block:
            run_compiled(args, out, t0)
            return
        try:
            peaks(out)
        except Exception as e:  # keep going: the per-shape data matter more
            print("peaks failed:", repr(e), flush=True)
        for model, (h, ffn, q, kv), m in shapes(args, t0):
            ops = []
            for _, k, n in linears(h, ffn, q, kv):
                ops.append((torch.randn(m, k, device="cuda", dtype=torch.bfloat16),
                            torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02,
                            torch.randn(m, n, device="cuda", dtype=torch.bfloat16)))
            flops = sum(6.0 * m * k * n for _, k, n in linears(h, ffn, q, kv))
            for recipe in args.recipes.split(","):
                rec = {"kind": "block_linears", "model": model, "hidden": h, "ffn": ffn,
                       "tokens": m, "recipe": recipe, "flops": flops}
                try:
                    if recipe == "bf16":
                        rec["full_s"], rec["full_min_s"] = timed(lambda: step_bf16(ops),
                                                                 args.iters, 3)
                    else:
                        casts = casts_tw if recipe == "tensorwise" else casts_rw
                        gemms = gemms_tw if recipe == "tensorwise" else gemms_rw
                        pre = casts(ops)
                        rec["gemm_s"], _ = timed(lambda: gemms(pre), args.iters, 3)
                        del pre
                        rec["cast_s"], _ = timed(lambda: casts(ops), args.iters, 3)
                        rec["full_s"], rec["full_min_s"] = timed(
                            lambda: gemms(casts(ops)), args.iters, 3)
                    rec["tflops"] = flops / rec["full_s"] / 1e12
                except Exception as e:
                    rec["error"] = repr(e)[:400]
                report(rec, out, t0)
            del ops
            torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
