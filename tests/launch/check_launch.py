#!/usr/bin/env python3
"""Statically checks an emitted SageMaker/torchtitan launch directory against upstream schemas.

Usage: tests/launch/check_launch.py DIR [--torchtitan JSON] [--sdk JSON]
The schemas are tests/data/torchtitan-v0.2.2.json (tools/launch/torchtitan_schema.py, from
pytorch/torchtitan@73a0e6979dd10b6b1904098eb3c8f62c18ab87ce) and tests/data/sagemaker-sdk-v3.20.0.json
(tools/launch/sagemaker_sdk_schema.py, from aws/sagemaker-python-sdk@10ada9be10d357465e03858661054abeb98a1b13).
DIR holds launch.py, source/train.py, source/torchtitan.toml, source/requirements.txt and optionally
source/model.json. Nothing is imported or run. Prints one line per problem, prefixed with the file
name, and exits 1; otherwise prints "ok N checks" and exits 0. Standard library only.
"""
import argparse
import ast
import json
import pathlib
import re
import sys
import tomllib

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
REQ_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9,._-]+\])?==([A-Za-z0-9][A-Za-z0-9.+!_-]*)$")


class Checker:
    def __init__(self):
        self.count, self.problems = 0, []

    def check(self, ok, file, message):
        self.count += 1
        if not ok:
            self.problems.append(f"{file}: {message}")
        return ok


def type_ok(value, t):
    if t == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "list[list]":
        return isinstance(value, list) and all(isinstance(v, list) for v in value)
    kinds = {"bool": bool, "str": str, "list": list, "dict": dict}
    return t == "any" or isinstance(value, kinds.get(t, object))


def train_facts(tree):
    """Train-spec names registered by train.py and string keys it puts into dicts."""
    names, keys = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and ast.unparse(n.func).split(".")[-1] == "register_train_spec":
            arg = n.args[0] if n.args else next((k.value for k in n.keywords if k.arg == "name"), None)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
            elif arg is not None:
                names.add(None)  # a name read at run time (from model.json)
        elif isinstance(n, ast.Dict):
            keys.update(k.value for k in n.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            if isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str):
                keys.add(n.slice.value)
    return names, keys


def check_toml(c, f, cfg, tt, train_tree, model_file):
    sections = tt["sections"]

    def walk(table, path):
        for key, value in table.items():
            sub = f"{path}.{key}" if path else key
            field = sections.get(path, {}).get(key) if path else None
            if isinstance(value, dict) and field is None:
                if c.check(sub in sections, f, f"unknown section [{sub}]"):
                    walk(value, sub)
            elif c.check(field is not None, f, f"unknown key {key!r} in [{path or '(top level)'}]"):
                types = [field["type"]] + field.get("also", [])
                c.check(any(type_ok(value, t) for t in types), f,
                        f"[{path}] {key} = {value!r} is not of type {'/'.join(types)}")
                if "allowed" in field:
                    c.check(value in field["allowed"], f,
                            f"[{path}] {key} = {value!r} is not one of {field['allowed']}")

    walk(cfg, "")

    def get(s, k):  # the value in effect: the TOML's, else the upstream default
        table = cfg.get(s) if isinstance(cfg.get(s), dict) else {}
        return table.get(k, sections[s][k].get("default"))

    converters = get("model", "converters")
    for conv in converters if isinstance(converters, list) else []:
        c.check(conv in tt["converters"], f, f"unknown model converter {conv!r}")
    c.check(get("optimizer", "name") in tt["optimizers"], f,
            f"optimizer.name {get('optimizer', 'name')!r} is not one of {tt['optimizers']}")
    if train_tree is None:
        return  # the checks below need what train.py registers; its problem is reported already
    registered, keys = train_facts(train_tree)
    custom = (model_file or {}).get("custom")
    if None in registered and custom is not None:
        # train.py registers model.json's name and flavor with these Qwen3ModelArgs fields
        registered.add(model_file.get("name"))
        keys.add(model_file.get("flavor"))
        fields = tt["model_args_fields"]["Qwen3ModelArgs"]
        for k in sorted(custom):
            c.check(k in fields, "source/model.json", f"custom.{k} is not a Qwen3ModelArgs field")
    name, flavor = get("model", "name"), get("model", "flavor")
    if not isinstance(name, str) or not isinstance(flavor, str):
        pass  # a type problem, reported above
    elif name in tt["models"]:
        c.check(flavor in tt["models"][name], f, f"model {name!r} has no flavor {flavor!r}")
    elif c.check(name in registered, f, f"model {name!r} is neither built in nor registered by train.py"):
        c.check(flavor in keys, f, f"flavor {flavor!r} of model {name!r} is not defined in train.py")
    for section in ("training", "validation"):
        ds = get(section, "dataset")
        if isinstance(cfg.get(section), dict) and isinstance(cfg[section].get("dataset"), str):
            c.check(ds in tt["datasets"] or ds in keys, f,
                    f"{section}.dataset {ds!r} is neither built in nor added to DATASETS by train.py")


def check_train_imports(c, f, tree, symbols):
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and not n.level and n.module.split(".")[0] == "torchtitan":
            m = n.module
            for a in n.names:
                known = a.name in symbols.get(m, []) or f"{m}.{a.name}" in symbols
                c.check(known, f, f"from {m} import {a.name}: " +
                        ("name not defined there" if m in symbols else "module not in the schema"))
        elif isinstance(n, ast.Import):
            for a in n.names:
                if a.name.startswith("torchtitan."):
                    c.check(a.name in symbols, f, f"import {a.name}: module not in the schema")


def check_v3_launcher(c, f, tree, sdk):
    classes, modules, deprecated = sdk["classes"], sdk["modules"], sdk["deprecated_modules"]
    local = {}  # local name -> SDK name
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "sagemaker":
            c.check(n.module not in deprecated, f, f"imports from deprecated module {n.module}")
            for a in n.names:
                local[a.asname or a.name] = a.name
                ok = [modules.get(a.name)] + sdk.get("also_importable_from", {}).get(a.name, [])
                c.check(n.module in ok, f, f"{a.name} imported from {n.module}, expected "
                        + (modules[a.name] if a.name in modules else "a name in the SDK schema"))
        elif isinstance(n, ast.Import):
            for a in n.names:
                c.check(a.name not in deprecated, f, f"imports deprecated module {a.name}")
    for n in ast.walk(tree):
        if isinstance(n, ast.Dict):
            keys = {k.value for k in n.keys if isinstance(k, ast.Constant)}
            c.check(not keys & {"Key", "Value"}, f,
                    f"line {n.lineno}: tag dict {ast.unparse(n)[:60]}; use Tag(key=..., value=...)")
        if not isinstance(n, ast.Call):
            continue
        func = n.func
        # SDK classes are called by the names imported above; x.train(...) is ModelTrainer.train
        # (an attribute call such as boto3.Session(...) is not an SDK class).
        name = local.get(func.id) if isinstance(func, ast.Name) else (
            "train" if isinstance(func, ast.Attribute) and func.attr == "train" else None)
        for k in n.keywords:
            if k.arg == "tags" and isinstance(k.value, (ast.List, ast.Tuple)):
                for e in k.value.elts:
                    callee = ast.unparse(e.func).split(".")[-1] if isinstance(e, ast.Call) else None
                    c.check(local.get(callee, callee) == "Tag", f,
                            f"line {e.lineno}: tags entry {ast.unparse(e)[:60]} is not a Tag(...) call")
        if name in classes or name == "train":
            fields = classes[name]["fields"] if name in classes else {
                p: {"required": False} for p in sdk["train_method_params"]}
            given = {k.arg for k in n.keywords}
            where = f"line {n.lineno}: {name}(...)"
            c.check(None not in given, f, f"{where} uses a ** splat; spell keywords out")
            limit = len(fields) if name == "train" or classes[name]["kind"] == "init" else 0
            c.check(len(n.args) <= limit, f, f"{where} takes {len(n.args)} positional arguments")
            for k in sorted(given - {None}):
                c.check(k in fields, f, f"{where} has unknown keyword {k!r}")
            for k, spec in sorted(fields.items()):
                if spec["required"]:
                    c.check(k in given, f, f"{where} misses required keyword {k!r}")


def check_requirements(c, f, text, version):
    pins = {}
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        m = REQ_LINE.match(line)
        if c.check(m is not None, f, f"{line!r} is not a name==version pin"):
            pins[m.group(1).lower().replace("_", "-")] = m.group(3)
    c.check(pins.get("torchtitan") == version, f,
            f"torchtitan is pinned to {pins.get('torchtitan')!r}, expected {version!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--torchtitan", type=pathlib.Path, default=DATA / "torchtitan-v0.2.2.json")
    ap.add_argument("--sdk", type=pathlib.Path, default=DATA / "sagemaker-sdk-v3.20.0.json")
    args = ap.parse_args()
    tt, sdk = json.loads(args.torchtitan.read_text()), json.loads(args.sdk.read_text())
    root, c = args.dir, Checker()

    trees = {}
    for name in ("launch.py", "source/train.py", "source/torchtitan.toml", "source/requirements.txt"):
        c.check((root / name).is_file(), name, "missing")
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        try:
            compile(path.read_text(), rel, "exec")
            trees[rel] = ast.parse(path.read_text(), rel)
            c.check(True, rel, "")
        except SyntaxError as e:
            c.check(False, rel, f"does not compile: {e}")
    train = trees.get("source/train.py")

    model_file = None
    if (root / "source/model.json").is_file():
        try:
            model_file = json.loads((root / "source/model.json").read_text())
        except ValueError:
            pass  # reported below
    toml_path = root / "source/torchtitan.toml"
    if toml_path.is_file():
        try:
            cfg = tomllib.loads(toml_path.read_text())
        except tomllib.TOMLDecodeError as e:
            cfg = c.check(False, "source/torchtitan.toml", f"invalid TOML: {e}")
        if cfg is not False:
            check_toml(c, "source/torchtitan.toml", cfg, tt, train, model_file)
    if train:
        check_train_imports(c, "source/train.py", train, tt["symbols"])
    if (root / "source/model.json").is_file():
        try:
            json.loads((root / "source/model.json").read_text())
            c.check(True, "source/model.json", "")
        except ValueError as e:
            c.check(False, "source/model.json", f"invalid JSON: {e}")
    launch = trees.get("launch.py")
    if launch:
        imported = {a.name for n in ast.walk(launch) if isinstance(n, ast.ImportFrom) for a in n.names}
        v2 = any(isinstance(n, ast.ImportFrom) and n.module == "sagemaker.pytorch"
                 and any(a.name == "PyTorch" for a in n.names) for n in ast.walk(launch))
        if c.check("ModelTrainer" in imported or v2, "launch.py",
                   "imports neither ModelTrainer (SDK v3) nor sagemaker.pytorch.PyTorch (SDK v2)"):
            if "ModelTrainer" in imported:
                check_v3_launcher(c, "launch.py", launch, sdk)
    req = root / "source/requirements.txt"
    if req.is_file():
        check_requirements(c, "source/requirements.txt", req.read_text(), tt["version"])

    for p in c.problems:
        print(p)
    print(f"{len(c.problems)} problems in {c.count} checks" if c.problems else f"ok {c.count} checks")
    return 1 if c.problems else 0


if __name__ == "__main__":
    sys.exit(main())
