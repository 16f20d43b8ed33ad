#!/usr/bin/env python3
"""Convert fsdp2_fakepg.py results.jsonl lines into a bwplan-measurements/1 JSON file.

  python3 to_schema.py RESULTS.jsonl OUT.json [--date 2026-11-25] [--gpu h100-sxm-80gb]
                       [--device nvidia-h100-x1] [--include-forced-sdpa]
                       [--fixed-segments --ids ID,ID]   # the 2026-12-04 H200 runs
                       [--torchtitan-gptoss | --torchtitan-dsv3]  # torchtitan_fakepg.py's lines

With --fixed-segments only runs made without expandable segments (config alloc "default") and
with instant collectives are kept (the delayed-collective runs repeat their instant twins' peaks
to the byte), each config once (the last run of it), optionally only the ids given.

Successful runs get metric peak_reserved_gib (torch.cuda.memory_stats()
['reserved_bytes.all.peak'] / 2^30 over the whole 3-step run); OOM runs get
metric "fits" = false; errors and timeouts are left out. Runs with a forced
SDPA backend (id suffix -flash etc.) are left out unless asked for, since the
schema has no field for the attention backend.
"""
import argparse
import json
import os

ABOUT = (
    "Measured peak GPU memory of eager PyTorch FSDP2 training steps. How measured: FSDP2 "
    "(torch.distributed.fsdp.fully_shard) over a fake process group (FakeStore, backend 'fake'), "
    "so one H100 80GB HBM3 holds rank 0 of an N-GPU job with all of its real allocations "
    "(collectives move no data but their buffers are allocated); torch 2.11.0+cu130, "
    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, eager (no torch.compile), random tokens, "
    "3 optimizer steps, each config in a fresh process. Model: torchtitan-style Llama in plain "
    "PyTorch (separate wq/wk/wv/wo, GQA via repeat_kv, complex RoPE in fp32, "
    "F.scaled_dot_product_attention(is_causal=True) - the dispatcher chose the cuDNN backend on this "
    "H100; forcing flash gave the same peaks within 2 MiB on 6 configs - nn.RMSNorm, SwiGLU, "
    "tied output for 1B/3B). Wrapping: AC wrapper per block (torchtitan full / selective-op with "
    "every-2nd-mm policy / selective-layer every 2nd block), fully_shard per block "
    "(reshard_after_forward=True for full and hybrid, False for grad-op) then fully_shard(root, "
    "reshard_after_forward=False); bf16 = fp32 params + MixedPrecisionPolicy(param_dtype=bf16, "
    "reduce_dtype=fp32); bf16-pure = bf16 params, no FSDP for sharding none; sharding none with bf16 "
    "uses torch.autocast(bf16) over fp32 params. AdamW(lr 1e-4, wd 0.1, foreach=True, fused=False), "
    "grad-norm clipping to 1.0 (foreach norm + mul on local shards), zero_grad(set_to_none=True). "
    "Loss unfused = F.cross_entropy(logits.flatten(0,1).float(), labels); chunked = output projection "
    "+ fp32 CE in 8 sequence chunks (torchtune CEWithChunkedOutputLoss style). Metric value is "
    "torch.cuda.memory_stats()['reserved_bytes.all.peak']/2^30 over the whole run (max of step 1 and "
    "steps 2-3; optimizer states exist from step 1 on); peak_allocated_gib and peak_active_gib are the "
    "matching allocated/active peaks. Not counted: CUDA context (~0.8 GiB seen as device_used minus "
    "reserved), NCCL buffers and communicator memory (no NCCL here). step_seconds = mean of steps 2-3 "
    "on one H100 computing one rank's work with no real communication, so not a cluster step time. "
    "OOM rows: the run raised torch.OutOfMemoryError on the 79.18 GiB H100 (metric fits = false)."
)


ABOUT_FIXED = (
    "Measured peak GPU memory of eager PyTorch FSDP2 training steps WITHOUT expandable segments "
    "(PYTORCH_CUDA_ALLOC_CONF unset: PyTorch's default fixed-size segments). How measured: "
    "bwplan's tools/measure/fsdp2_fakepg.py (--grid fixed and --grid delay) on one NVIDIA H200 "
    "(143771 MiB, driver 580.159.04), torch 2.11.0+cu130, 2026-12-04: FSDP2 over a fake process "
    "group (FakeStore, backend 'fake'), so one GPU holds rank 0 of an N-GPU job with all of its "
    "real allocations; the model, wrapping, optimizer and loss are those of "
    "measurements-h100-fakepg.json (see its about and tools/measure/README.md). Each config ran "
    "5 or 10 optimizer steps (3 for those of the delay grid) in a fresh process; the value is "
    "torch.cuda.memory_stats()['reserved_bytes.all.peak'] over the whole run, which every run "
    "reached by step 2 and held to its last step. The same configs with expandable segments "
    "give the reserved peaks of measurements-h100-fakepg.json to the MiB on this H200 "
    "(tools/measure/results/h200-delay-2026-12-04.jsonl). Not counted: CUDA context, NCCL."
)


STEP_SECONDS = (
    " step_seconds is the mean of steps 2-3 on the one H200, which computes one rank's work with "
    "collectives that move nothing: compute, elementwise, optimizer and host time, not a cluster "
    "step time (added 2026-12-04 from the raw lines' step_times, after the peaks were evaluated)."
)


ABOUT_GPTOSS = (
    "Measured peak GPU memory of torchtitan's own gpt-oss-20b model code "
    "(pytorch/torchtitan@df2e96d5101df91250bfe5053c66301412d05abc, the squash commit of PR 2389: "
    "FlexAttention with sinks and a 128-token sliding window on every other block, the router in "
    "float32, grouped-mm experts with the clamped SwiGLU) in eager FSDP2 training. How measured: "
    "bwplan's tools/measure/torchtitan_fakepg.py (--grid gptoss) on one NVIDIA H200 (143771 MiB, driver "
    "580.159.04), torch 2.11.0+cu130, triton 3.6.0, 2026-12-04: FSDP2 over a fake process group "
    "(FakeStore, backend 'fake'), so one GPU holds rank 0 of an 8-GPU job with all of its real "
    "allocations; the training loop is torchtitan's at that commit (apply_fsdp of "
    "torchtitan/models/llama4/parallelize.py with ep 1: embeddings, each block, [norm, output] "
    "unresharded, the root; bf16 parameters, fp32 reduce; full checkpointing as "
    "checkpoint_wrapper(preserve_rng_state=False); torchtitan/components/loss.py's fp32 "
    "cross-entropy summed and divided by the tokens; a foreach grad-norm clip; AdamW fused, "
    "lr 8e-4), random tokens, 3 optimizer steps, each config in a fresh process. FlexAttention "
    "was compiled without max-autotune (tile sizes only). The value is "
    "torch.cuda.memory_stats()['reserved_bytes.all.peak'] / 2^30 over steps 2-3 (step 1 creates "
    "the AdamW states); peak_allocated_gib is the allocated peak over the same steps. Not "
    "counted: CUDA context, NCCL. Raw lines: tools/measure/results/h200-gptoss-2026-12-04.jsonl; "
    "12-layer runs of the same script stay there (no catalog model has 12 layers). Held aside: "
    "bwplan's estimates of 4 of these configs were written down before the run, of the 2 with "
    "accumulation steps after it with no model change in between "
    "(tools/measure/results/h200-gptoss-predictions-2026-12-04.txt); nothing is fitted to them."
    + STEP_SECONDS
)


ABOUT_DSV3 = (
    "Measured peak GPU memory of torchtitan's own DeepSeek-V3 16B model code "
    "(pytorch/torchtitan@df2e96d5101df91250bfe5053c66301412d05abc: the '16B' flavor of "
    "torchtitan/models/deepseek_v3/__init__.py - latent attention without a query LoRA over "
    "FlexAttention with a causal mask, 64 routed experts with 6 per token and 2 shared, one dense "
    "block first, vocabulary 102400) in eager FSDP2 training with expert parallelism 1. How "
    "measured: bwplan's tools/measure/torchtitan_fakepg.py (--grid dsv3) on one NVIDIA H200 "
    "(143771 MiB), torch 2.11.0+cu130, 2026-12-04, over a fake process group (one GPU holds rank "
    "0 of 8 with all of its real allocations); activation checkpointing by the checkout's own "
    "apply_ac (op-level SAC with deepseek_v3/parallelize.py's save list and the router gate "
    "force-recomputed; full), the rest of the loop as for measurements-h200-gptoss-fakepg-"
    "holdout.json (unfused fp32 loss, fused AdamW). The value is "
    "torch.cuda.memory_stats()['reserved_bytes.all.peak'] / 2^30 over steps 2-3; "
    "peak_allocated_gib beside it. FlexAttention is not a bwplan attention kernel: the flex cases "
    "say flash2, as the other DeepSeek-V3 16B cases do. The two cases whose id ends in -sdpa (cudnn) ran the "
    "model's sdpa backend instead (torchtitan's ScaledDotProductAttentionWrapper: cuDNN, then "
    "flash, then math; 1.2 s a step at 4 x 4096 tokens, so not math), in a second run after the "
    "first's results were read. Raw lines: tools/measure/results/h200-dsv3-2026-12-04.jsonl (the "
    "last two from the second run). Held aside: bwplan's estimates were written down before each "
    "run (tools/measure/results/h200-dsv3-predictions-2026-12-04.txt); nothing is fitted to them."
    + STEP_SECONDS
)


def torchtitan_case_of(r, model=None):
    c = r["config"]
    ac = {"none": "none", "full": "full", "selective-op": "selective-op"}[c["ac"]]
    case = {
        "id": "fakepg-h200-" + r["id"],
        "source": "bwplan tools/measure/torchtitan_fakepg.py on nvidia-h200-x1, 2026-12-04",
        "model": model or c["model"],
        "gpu": "h200",
        "gpus": int(c["world"]),
        "sharding": "full",
        "shard_group": int(c["world"]),
        "precision": "bf16",
        "micro_batch": int(c["micro_batch"]),
        "seq_len": int(c["seq_len"]),
        "grad_accum": int(c.get("grad_accum", 1)),
        "grad_accum_mode": "reduce-scatter",
        "activation_checkpointing": ac,
        "optimizer": "adamw",
        "compile": False,
        "loss": "unfused",
        "trainer": "torchtitan",
        "alloc_segments": "fixed" if c.get("alloc", "expandable") != "expandable" else "expandable",
        "optimizer_impl": "fused",
        "fsdp_wrap": "per-module",
        "measured": {
            "metric": "peak_reserved_gib",
            "value": r["peak_reserved_gib"],
            "peak_allocated_gib": r["peak_allocated_gib"],
            "step_seconds": round(sum(r["step_times"][1:]) / len(r["step_times"][1:]), 4),
        },
    }
    if c["model"] == "deepseek-v3-16b":
        # FlexAttention is not a bwplan kernel (flash2, as the other DeepSeek-V3 16B cases);
        # the sdpa backend tries cuDNN first (torchtitan's ScaledDotProductAttentionWrapper).
        case["attention_kernel"] = "cudnn" if c.get("attn") == "sdpa" else "flash2"
    return case


def case_of(r, date, gpu, device, prefix="fakepg-h100-"):
    c = r["config"]
    model = c["model"]
    sharding = c["sharding"]
    world = int(c["world"])
    if sharding == "none":
        gpus, shard_group = 1, 1
    elif sharding == "hybrid":
        gpus, shard_group = world, world // int(c.get("replicate", 1))
    else:
        gpus, shard_group = world, world
    case = {
        "id": prefix + r["id"].split("-noexp")[0],
        "source": "bwplan tools/measure/fsdp2_fakepg.py on %s, %s" % (device, date),
        "model": model,
        "gpu": gpu,
        "gpus": gpus,
        "sharding": sharding,
        "shard_group": shard_group,
        "precision": c["precision"],
        "micro_batch": int(c["micro_batch"]),
        "seq_len": int(c["seq_len"]),
        "grad_accum": int(c["grad_accum"]),
        "grad_accum_mode": c["grad_accum_mode"],
        "activation_checkpointing": c["ac"],
    }
    if c["ac"] == "selective-layer":
        case["ac_every"] = int(c.get("ac_every", 2))
    case.update({"optimizer": "adamw", "compile": False, "loss": c["loss"]})
    case["alloc_segments"] = "fixed" if c.get("alloc", "expandable") != "expandable" else "expandable"
    if r.get("ok"):
        case["measured"] = {
            "metric": "peak_reserved_gib",
            "value": round(r["peak_reserved_bytes"] / 2.0 ** 30, 3),
            "peak_allocated_gib": round(r["peak_allocated_bytes"] / 2.0 ** 30, 3),
            "peak_active_gib": round(r["peak_active_bytes"] / 2.0 ** 30, 3),
            "step_seconds": r["step_seconds"],
        }
    else:
        case["measured"] = {"metric": "fits", "value": False}
    return case


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("out")
    ap.add_argument("--date", default="2026-11-25")
    ap.add_argument("--gpu", default="h100-sxm-80gb")
    ap.add_argument("--device", default="nvidia-h100-x1")
    ap.add_argument("--include-forced-sdpa", action="store_true")
    ap.add_argument("--fixed-segments", action="store_true")
    ap.add_argument("--ids", default="")
    ap.add_argument("--torchtitan-gptoss", action="store_true")
    ap.add_argument("--torchtitan-dsv3", action="store_true")
    a = ap.parse_args()
    cases = []
    keep = set(x for x in a.ids.split(",") if x)
    dsv3_model = None
    if a.torchtitan_dsv3:  # the model the DeepSeek-V3 16B cases carry inline, read once
        here = os.path.dirname(os.path.abspath(__file__))
        dsv3_model = json.load(open(os.path.join(here, "results",
                                                 "deepseek-v3-16b-torchtitan.model.json")))
        for key in ("schema_version", "sources"):
            dsv3_model.pop(key, None)
    for line in open(a.jsonl):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if not (r.get("ok") or r.get("oom")):
            continue
        if a.torchtitan_gptoss:
            if r["config"]["n_layers"] == 24 and r.get("ok"):
                cases.append(torchtitan_case_of(r))
            continue
        if a.torchtitan_dsv3:
            if r.get("ok"):
                cases.append(torchtitan_case_of(r, dsv3_model))
            continue
        if r["config"].get("sdpa", "default") != "default" and not a.include_forced_sdpa:
            continue
        if a.fixed_segments:
            if r["config"].get("alloc", "expandable") == "expandable" or r["config"].get("comm_gbs"):
                continue
            case = case_of(r, a.date, a.gpu, a.device, "fakepg-h200-")
            case["optimizer_impl"] = "foreach"
            case["fsdp_wrap"] = "root"
            if keep and case["id"] not in keep:
                continue
            cases = [x for x in cases if x["id"] != case["id"]] + [case]
            continue
        cases.append(case_of(r, a.date, a.gpu, a.device))
    about = (ABOUT_GPTOSS if a.torchtitan_gptoss else ABOUT_DSV3 if a.torchtitan_dsv3
             else ABOUT_FIXED if a.fixed_segments else ABOUT)
    doc = {"schema": "bwplan-measurements/1", "about": about, "cases": cases}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), a.out))


if __name__ == "__main__":
    main()
