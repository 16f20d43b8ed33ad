#!/usr/bin/env python3
"""Extracts the TOML config schema and import surface of a torchtitan release, as JSON.

Data source: pytorch/torchtitan@73a0e6979dd10b6b1904098eb3c8f62c18ab87ce (tag v0.2.2), read with
`git show` from a bare clone (no checkout, nothing imported). Parsed with `ast` only:
  sections          torchtitan/config/job_config.py: JobConfig and nested field(default_factory=X)
                    dataclasses -> {dotted.path: {key: {type, optional?, allowed?, default?}}}
  converters        register_model_converter(Cls, "name") in torchtitan/components/quantization/*.py
  models            flavor keys of each _supported_models entry's model_args dict
  model_args_fields dataclass fields of TransformerModelArgs (llama3) and Qwen3ModelArgs
  optimizers        keys of optimizer_classes in torchtitan/components/optimizer.py
  datasets          keys of DATASETS in torchtitan/hf_datasets/text_datasets.py
  symbols           top-level names defined or imported by a few modules a train.py may import
  train_configs     [optimizer] and [lr_scheduler] of each torchtitan/models/*/train_configs/*.toml
Usage: tools/launch/torchtitan_schema.py --git-dir DIR [--commit SHA] > tests/data/torchtitan-v0.2.2.json
"""
import ast
import json
import sys
import tomllib

from git_source import GitSource, source_args

COMMIT = "73a0e6979dd10b6b1904098eb3c8f62c18ab87ce"
REPO = "pytorch/torchtitan"
SCALARS = {"bool", "int", "float", "str"}
SYMBOL_MODULES = [
    "torchtitan.train", "torchtitan.config", "torchtitan.hf_datasets",
    "torchtitan.hf_datasets.text_datasets", "torchtitan.protocols.train_spec",
    "torchtitan.models.qwen3", "torchtitan.models.qwen3.model.args", "torchtitan.models.llama3",
    "torchtitan.models", "torchtitan.tools.logging", "torchtitan.components.checkpoint",
]
ARGS_CLASSES = {"TransformerModelArgs": "torchtitan/models/llama3/model/args.py",
                "Qwen3ModelArgs": "torchtitan/models/qwen3/model/args.py"}


class Repo(GitSource):
    def tree(self, path):
        return ast.parse(self.text(path), path)


def classes(tree):
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}  # last definition wins


def ann_fields(cls):
    """(name, annotation, value) for each annotated class-level attribute, ClassVar excluded."""
    for st in cls.body:
        if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            if "ClassVar" not in ast.unparse(st.annotation):
                yield st.target.id, st.annotation, st.value


def factory(value):
    """The default_factory expression of a `field(default_factory=...)` call, else None."""
    if isinstance(value, ast.Call) and ast.unparse(value.func) in ("field", "dataclasses.field"):
        for kw in value.keywords:
            if kw.arg == "default_factory":
                return kw.value
    return None


def default_of(value):
    f = factory(value)
    try:
        if f is None:
            return ast.literal_eval(value) if value is not None else None
        if isinstance(f, ast.Name) and f.id in ("list", "dict"):
            return [] if f.id == "list" else {}
        if isinstance(f, ast.Lambda):
            return ast.literal_eval(f.body)
    except ValueError:
        pass
    return None


def type_of(ann):
    """Returns (type names in union order, allowed Literal values or None, optional)."""
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        ann = ast.parse(ann.value, mode="eval").body
    if isinstance(ann, ast.Constant) and ann.value is None:
        return [], None, True
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        lt, la, lo = type_of(ann.left)
        rt, ra, ro = type_of(ann.right)
        allowed = None if la is None and ra is None else (la or []) + (ra or [])
        return lt + [t for t in rt if t not in lt], allowed, lo or ro
    if isinstance(ann, ast.Subscript):
        head = ast.unparse(ann.value).split(".")[-1]
        args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        if head == "Optional":
            t, a, _ = type_of(args[0])
            return t, a, True
        if head == "Union":
            return type_of(ast.parse(" | ".join(ast.unparse(a) for a in args), mode="eval").body)
        if head == "Literal":
            vals = [ast.literal_eval(a) for a in args]
            return sorted({type(v).__name__ for v in vals if v is not None}), vals, None in vals
        if head in ("list", "List"):
            inner = type_of(args[0])[0]
            return ["list[list]" if inner and inner[0].startswith("list") else "list"], None, False
        if head in ("dict", "Dict"):
            return ["dict"], None, False
    name = ast.unparse(ann).split(".")[-1]
    return [name if name in SCALARS else {"List": "list", "list": "list", "Dict": "dict",
                                          "dict": "dict"}.get(name, "any")], None, False


def field_entry(ann, value):
    types, allowed, optional = type_of(ann)
    if set(types) == {"float", "int"}:
        types = ["float"]
    entry = {"type": types[0] if types else "any"}
    if len(types) > 1:
        entry["also"] = types[1:]
    if optional:
        entry["optional"] = True
    if allowed is not None:
        entry["allowed"] = allowed + ([None] if optional and None not in allowed else [])
    default = default_of(value)
    if default is not None:
        entry["default"] = default
    return entry


def sections(tree):
    cls = classes(tree)
    out = {}

    def walk(name, path):
        keys = {}
        for key, ann, value in ann_fields(cls[name]):
            f = factory(value)
            if isinstance(f, ast.Name) and f.id in cls:
                walk(f.id, f"{path}.{key}" if path else key)
            else:
                keys[key] = field_entry(ann, value)
        if path:
            out[path] = keys

    walk("JobConfig", "")
    return out


def dict_keys(node):
    return [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]


def assigned(tree, name):
    """The value assigned to `name` anywhere in the tree (last assignment wins)."""
    found = None
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            found = n.value
    return found


def dict_in_module(repo, module, name, depth=3):
    """Keys of the dict literal bound to `name` in `module`, following `from x import name`."""
    path = repo.module_path(module)
    if path is None or depth == 0:
        return None
    tree = repo.tree(path)
    value = assigned(tree, name)
    if isinstance(value, ast.Dict):
        return dict_keys(value)
    for n in tree.body:
        for a in n.names if isinstance(n, ast.ImportFrom) else []:
            if (a.asname or a.name) == name:
                pkg = module.split(".")[: None if path.endswith("__init__.py") else -1]
                base = pkg[: len(pkg) - n.level + 1] if n.level else []  # relative import
                target = ".".join(base + ([n.module] if n.module else []))
                return dict_in_module(repo, target, a.name, depth - 1)
    return None


def model_flavors(repo, model):
    """Flavor keys of the dict a model package passes as model_args= (else its `*_args` dict)."""
    module = f"torchtitan.models.{model}"
    path = repo.module_path(module)
    if path is None:
        return None
    tree = repo.tree(path)
    names = [k.value.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             for k in n.keywords if k.arg == "model_args" and isinstance(k.value, ast.Name)]
    names += [t.id for n in tree.body if isinstance(n, ast.Assign)
              for t in n.targets if isinstance(t, ast.Name) and t.id.endswith("_args")]
    for name in names:
        keys = dict_in_module(repo, module, name)
        if keys is not None:
            return keys
    return None


def symbols(tree):
    names = set()

    def visit(body):
        for n in body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
            elif isinstance(n, (ast.Assign, ast.AnnAssign)):
                for t in n.targets if isinstance(n, ast.Assign) else [n.target]:
                    names.update(e.id for e in ast.walk(t) if isinstance(e, ast.Name))
            elif isinstance(n, ast.ImportFrom):
                names.update(a.asname or a.name for a in n.names if a.name != "*")
            elif isinstance(n, ast.Import):
                names.update(a.asname or a.name.split(".")[0] for a in n.names)
            elif isinstance(n, ast.If) and "__main__" not in ast.unparse(n.test):
                visit(n.body), visit(n.orelse)
            elif isinstance(n, ast.Try):
                visit(n.body), visit(n.orelse), visit(n.finalbody)
                for h in n.handlers:
                    visit(h.body)

    visit(tree.body)
    return sorted(names)


def train_configs(repo):
    """The learning-rate settings of torchtitan's own train configs, by path."""
    out = {}
    for path in sorted(repo.ls_tree("torchtitan/models")):
        if "/train_configs/" in path and path.endswith(".toml"):
            toml = tomllib.loads(repo.text(path))
            out[path] = {t: toml.get(t, {}) for t in ("optimizer", "lr_scheduler")}
    return out


def main():
    args = source_args(__doc__, REPO, COMMIT)
    repo = Repo(args.git_dir, args.commit)
    job_config = "torchtitan/config/job_config.py"

    converters = set()
    for path in repo.ls("torchtitan/components/quantization"):
        if path.endswith(".py"):
            for n in ast.walk(repo.tree(path)):
                if (isinstance(n, ast.Call) and ast.unparse(n.func).endswith("register_model_converter")
                        and len(n.args) == 2 and isinstance(n.args[1], ast.Constant)):
                    converters.add(n.args[1].value)

    supported = assigned(repo.tree("torchtitan/models/__init__.py"), "_supported_models")
    flavors = {m: model_flavors(repo, m) for m in ast.literal_eval(supported.args[0])}
    models = {m: f for m, f in flavors.items() if f is not None}  # skip models without a dict

    out = {
        "source": f"{REPO}@{args.commit}:{job_config}",
        "version": (repo.text("assets/version.txt") or "0.2.2").strip(),
        "sections": sections(repo.tree(job_config)),
        "converters": sorted(converters),
        "models": models,
        "model_args_fields": {c: [k for k, _, _ in ann_fields(classes(repo.tree(p))[c])]
                              for c, p in ARGS_CLASSES.items()},
        "optimizers": dict_keys(assigned(repo.tree("torchtitan/components/optimizer.py"),
                                         "optimizer_classes")),
        "datasets": dict_keys(assigned(repo.tree("torchtitan/hf_datasets/text_datasets.py"), "DATASETS")),
        "symbols": {m: symbols(repo.tree(repo.module_path(m))) for m in SYMBOL_MODULES},
        "train_configs": train_configs(repo),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
