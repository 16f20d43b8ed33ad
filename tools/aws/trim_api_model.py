#!/usr/bin/env python3
"""Extracts the CreateTrainingJobRequest shape closure from botocore's SageMaker service model.

Usage: tools/aws/trim_api_model.py SERVICE_JSON [OUTPUT_JSON]
SERVICE_JSON: botocore/data/sagemaker/2017-07-24/service-2.json from boto/botocore (commit 0e6e2404)
or an installed botocore; OUTPUT_JSON defaults to data/aws/create-training-job-shapes.json
Keeps each shape's type, members (with their shape refs), required, enum, min, max, pattern and
member/key/value refs; drops documentation strings. Standard library only.
"""
import json
import os
import sys

ROOT = "CreateTrainingJobRequest"
# Shapes outside the request's closure that emit checks a value's part against: the plan name at
# the end of a TrainingPlanArn, whose own pattern ends in "training-plan/.*".
EXTRA = ("TrainingPlanName",)
KEEP = ("type", "required", "enum", "min", "max", "pattern")
REFS = ("member", "key", "value")


def ref(r):
    return {"shape": r["shape"]}


def trim(shape):
    out = {k: shape[k] for k in KEEP if k in shape}
    if "members" in shape:
        out["members"] = {name: ref(m) for name, m in shape["members"].items()}
    for k in REFS:
        if k in shape:
            out[k] = ref(shape[k])
    return out


def closure(shapes, root):
    seen, todo = set(), [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        s = shapes[name]
        todo.extend(m["shape"] for m in s.get("members", {}).values())
        todo.extend(s[k]["shape"] for k in REFS if k in s)
    return sorted(seen)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    if len(sys.argv) < 2:
        sys.exit("usage: trim_api_model.py SERVICE_JSON [OUTPUT_JSON] "
                 "(botocore/data/sagemaker/2017-07-24/service-2.json)")
    src = sys.argv[1]
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        repo, "data", "aws", "create-training-job-shapes.json")
    with open(src, encoding="utf-8") as f:
        model = json.load(f)
    shapes = model["shapes"]
    doc = {
        "attribution": {
            "source": "boto/botocore botocore/data/sagemaker/2017-07-24/service-2.json",
            "commit": "0e6e2404",
            "license": "Apache-2.0",
            "copyright": "Copyright Amazon.com, Inc. or its affiliates. All Rights Reserved.",
            "api_version": model.get("metadata", {}).get("apiVersion", ""),
            "trimmed_by": "tools/aws/trim_api_model.py (the CreateTrainingJobRequest closure, "
                          "and TrainingPlanName)",
        },
        "root": ROOT,
        "shapes": {name: trim(shapes[name])
                   for name in sorted(set(closure(shapes, ROOT)) | set(EXTRA))},
    }
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print(f"{dst}: {len(doc['shapes'])} shapes", file=sys.stderr)


if __name__ == "__main__":
    main()
