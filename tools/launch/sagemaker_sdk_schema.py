#!/usr/bin/env python3
"""Extracts the ModelTrainer-launcher surface of the SageMaker Python SDK v3, as JSON.

Data source: aws/sagemaker-python-sdk@10ada9be10d357465e03858661054abeb98a1b13 (v3.20.0), read with
`git show` from a bare clone (no checkout, nothing imported). Parsed with `ast` only:
  classes             pydantic fields of ModelTrainer, SourceCode, Compute, OutputDataConfig,
                      CheckpointConfig, InputData, S3DataSource, StoppingCondition, Tag, Torchrun (own annotations
                      plus those of bases defined in the SDK; "required" = no default assigned) and
                      the __init__ keyword parameters of Session
  modules             the module to import each name from (verified: that module's file defines or
                      imports the name, following `import *`); also_importable_from: verified extras
  deprecated_modules  shim modules whose file says DEPRECATED
  train_method_params parameters of ModelTrainer.train
Usage: tools/launch/sagemaker_sdk_schema.py --git-dir DIR [--commit SHA] > tests/data/sagemaker-sdk-v3.20.0.json
"""
import ast
import json
import sys

from git_source import GitSource, source_args

COMMIT = "10ada9be10d357465e03858661054abeb98a1b13"
REPO = "aws/sagemaker-python-sdk"
ROOTS = ("sagemaker-core/src", "sagemaker-train/src")
CONFIGS, SHAPES = "sagemaker.core.training.configs", "sagemaker.core.shapes"
# class -> module that defines it
CLASSES = {
    "ModelTrainer": "sagemaker.train.model_trainer", "SourceCode": CONFIGS, "Compute": CONFIGS,
    "OutputDataConfig": CONFIGS, "CheckpointConfig": CONFIGS, "InputData": CONFIGS,
    "StoppingCondition": SHAPES + ".shapes", "Tag": SHAPES + ".shapes",
    "S3DataSource": SHAPES + ".shapes",
    "Torchrun": "sagemaker.train.distributed", "Session": "sagemaker.core.helper.session_helper",
}
INIT_CLASSES = {"Session"}  # plain classes: fields are __init__ keyword parameters
MODULES = {
    "ModelTrainer": "sagemaker.train", "Torchrun": "sagemaker.train.distributed",
    "SourceCode": CONFIGS, "Compute": CONFIGS, "OutputDataConfig": CONFIGS,
    "CheckpointConfig": CONFIGS, "InputData": CONFIGS, "StoppingCondition": CONFIGS,
    "S3DataSource": CONFIGS,
    "Tag": SHAPES, "Session": "sagemaker.core.helper.session_helper",
    "get_execution_role": "sagemaker.core.helper.session_helper",
}
ALSO = {"ModelTrainer": ["sagemaker.train.model_trainer"], "StoppingCondition": [SHAPES],
        "Tag": [CONFIGS]}
DEPRECATED = ["sagemaker.train.configs"]
STOP = {"BaseModel", "ABC", "Generic", "object"}  # bases outside the SDK


class Repo(GitSource):
    def __init__(self, git_dir, commit):
        super().__init__(git_dir, commit, ROOTS)
        self.cache = {}

    def tree(self, module):
        if module not in self.cache:
            path = self.module_path(module)
            self.cache[module] = (path, ast.parse(self.text(path), path) if path else None)
        return self.cache[module]


def absolute(module, path, node):
    """Absolute module name of an ImportFrom node found in `module` (file `path`)."""
    if not node.level:
        return node.module
    pkg = module.split(".")[: None if path.endswith("__init__.py") else -1]
    return ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))


def find(repo, module, name, depth=4):
    """(module, path, node) where `name` is bound in `module`: a class, function or assignment,
    following `from x import name` and `from x import *`; None if not found."""
    path, tree = repo.tree(module)
    if tree is None or depth == 0:
        return None
    hit = None
    for n in tree.body:  # the last top-level definition wins, as in Python
        if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == name:
            hit = (module, path, n)
        elif isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                               for t in n.targets):
            hit = (module, path, n)
    if hit:
        return hit
    for n in ast.walk(tree):  # also sees lazy imports inside functions, e.g. __getattr__
        if isinstance(n, ast.ImportFrom):
            for a in n.names:
                if a.name == "*" or (a.asname or a.name) == name:
                    found = find(repo, absolute(module, path, n), name if a.name == "*" else a.name,
                                 depth - 1)
                    if found:
                        return found
    return None


def module_alias(repo, module, alias):
    """Module bound to `alias` in `module` (`import a.b as alias` / `from a import alias`)."""
    path, tree = repo.tree(module)
    for n in tree.body:
        for a in n.names if isinstance(n, (ast.Import, ast.ImportFrom)) else []:
            if (a.asname or a.name) == alias:
                if isinstance(n, ast.Import):
                    return a.name
                sub = f"{absolute(module, path, n)}.{a.name}"
                if repo.module_path(sub):
                    return sub
    return None


def required(value):
    if value is None:
        return True
    if isinstance(value, ast.Call) and ast.unparse(value.func).split(".")[-1] == "Field":
        first = value.args[0] if value.args else None
        has_default = any(k.arg in ("default", "default_factory") for k in value.keywords)
        return not has_default and (first is None or (isinstance(first, ast.Constant)
                                                      and first.value is Ellipsis))
    return False


def pydantic_fields(repo, module, cls):
    """Fields of class node `cls` defined in `module`, bases first (reverse MRO order)."""
    fields = {}
    for base in reversed(cls.bases):
        name = ast.unparse(base)
        if name.split(".")[-1] in STOP:
            continue
        target = (module_alias(repo, module, base.value.id), base.attr) \
            if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) else (module, name)
        found = find(repo, *target) if target[0] else None
        if not found or not isinstance(found[2], ast.ClassDef):
            sys.exit(f"cannot resolve base {name} of {cls.name} in {module}")
        fields.update(pydantic_fields(repo, found[0], found[2]))
    for st in cls.body:
        if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            key = st.target.id
            if not key.startswith("_") and "ClassVar" not in ast.unparse(st.annotation):
                fields[key] = {"required": required(st.value), "declared_in": cls.name}
    return fields


def init_fields(cls, method="__init__"):
    """Keyword parameters of a method (self excluded), required when they have no default."""
    fn = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == method)
    a = fn.args
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + a.defaults
    params = [(p, d) for p, d in zip(pos, defaults)] + list(zip(a.kwonlyargs, a.kw_defaults))
    return {p.arg: {"required": d is None, "declared_in": cls.name}
            for p, d in params if p.arg not in ("self", "cls")}


def main():
    args = source_args(__doc__, REPO, COMMIT)
    repo = Repo(args.git_dir, args.commit)
    src = f"{REPO}@{args.commit}"

    classes = {}
    for name, module in CLASSES.items():
        found = find(repo, module, name)
        if not found or not isinstance(found[2], ast.ClassDef):
            sys.exit(f"class {name} not found in {module}")
        mod, path, node = found
        fields = init_fields(node) if name in INIT_CLASSES else pydantic_fields(repo, mod, node)
        classes[name] = {"source": f"{src}:{path}", "fields": fields,
                         "kind": "init" if name in INIT_CLASSES else "pydantic"}

    for name, modules in [(n, [m]) for n, m in MODULES.items()] + list(ALSO.items()):
        for m in modules:
            if not find(repo, m, name):
                sys.exit(f"{name} is not importable from {m}")
    for m in DEPRECATED:
        if "DEPRECATED" not in (repo.text(repo.module_path(m) or "") or ""):
            sys.exit(f"{m} is not marked DEPRECATED")

    trainer = find(repo, CLASSES["ModelTrainer"], "ModelTrainer")[2]
    out = {
        "source": src,
        "version": (repo.text("VERSION") or "").strip(),
        "classes": classes,
        "modules": MODULES,
        "also_importable_from": ALSO,
        "deprecated_modules": DEPRECATED,
        "deprecated_sources": {m: f"{src}:{repo.module_path(m)}" for m in DEPRECATED},
        "train_method_params": list(init_fields(trainer, "train")),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
