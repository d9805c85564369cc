"""botocore's data for the services shopflow's functions call, and nothing else (decision 51).

A fresh botocore reads a 1.2 MB endpoints file, walks the directory of its ~400 services twice
and parses models full of documentation before a first client exists: most of the api's first
SSM and DynamoDB clients (about 150 ms, half an `import boto3`). This folder holds the same
data for `SERVICES` only: the models without their documentation and examples (SSM's with only
the operations in `OPERATIONS`), endpoints.json with only these services, the shared files as
botocore has them. It is generated from the
installed botocore (`python -m shopflow.botocore_data`) for the version pinned in pyproject.toml,
and used only while that version is the one installed (tests/contract checks it is current).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent
MANIFEST = "manifest.json"
# Every service a shopflow function makes a client for (bootstrap.Runtime, PynamoDB).
SERVICES = ("dynamodb", "ses", "sns", "sqs", "ssm")
# A service named here ships only these operations: the SSM actions template.yaml lets any
# function call (SSM's model is the largest: 150 operations, a 260 KB parse for one call).
OPERATIONS = {"ssm": ("GetParametersByPath",)}
# What only docs and code generators read.
_DOC_KEYS = frozenset({"documentation", "documentationUrl"})
_SKIPPED_FILES = frozenset({"examples-1.json"})


def shipped_loader() -> Any | None:
    """A botocore loader that reads this folder only, or None when it was made for another
    botocore version than the one installed (then botocore's own data is used, as always)."""
    import botocore
    from botocore.loaders import Loader

    manifest = json.loads((DATA_DIR / MANIFEST).read_text())
    if manifest["botocore"] != botocore.__version__:
        return None

    class ShippedLoader(Loader):  # type: ignore[misc]
        def is_builtin_path(self, path: str) -> bool:
            # Its endpoint entries are botocore's own (only fewer): botocore must resolve endpoints
            # as with its bundled file, not treat them as a customer's override.
            return path.startswith(str(DATA_DIR)) or bool(super().is_builtin_path(path))

    return ShippedLoader(extra_search_paths=[str(DATA_DIR)], include_default_search_paths=False)


def _without_docs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_docs(v) for k, v in value.items() if k not in _DOC_KEYS}
    if isinstance(value, list):
        return [_without_docs(v) for v in value]
    return value


def _only(operations: tuple[str, ...], model: dict[str, Any]) -> dict[str, Any]:
    """`model` with only `operations` and the shapes they reach."""
    kept = {name: model["operations"][name] for name in operations}
    reached: set[str] = set()
    pending = [
        ref["shape"]
        for operation in kept.values()
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", []))
        if ref
    ]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = model["shapes"][name]
        pending.extend(m["shape"] for m in shape.get("members", {}).values())
        pending.extend(shape[k]["shape"] for k in ("member", "key", "value") if k in shape)
    shapes = {name: shape for name, shape in model["shapes"].items() if name in reached}
    return {**model, "operations": kept, "shapes": shapes}


def _paginators_and_waiters_of(
    operations: tuple[str, ...], name: str, data: dict[str, Any]
) -> dict[str, Any]:
    if name == "paginators-1.json":
        return {"pagination": {k: v for k, v in data["pagination"].items() if k in operations}}
    if name == "waiters-2.json":
        return {**data, "waiters": {k: v for k, v in data["waiters"].items() if v["operation"] in operations}}
    return data


def generated() -> dict[str, Any]:
    """Every file of this folder, as data by its relative path, from the installed botocore."""
    import botocore
    from botocore.loaders import Loader

    source = Path(botocore.__file__).parent / "data"
    loader = Loader()
    files: dict[str, Any] = {MANIFEST: {"botocore": botocore.__version__, "services": list(SERVICES)}}
    prefixes = set()
    for service in SERVICES:
        version = loader.determine_latest_version(service, "service-2")
        for path in sorted((source / service / version).iterdir()):
            name = path.name.removesuffix(".gz")
            if name in _SKIPPED_FILES:
                continue
            data = loader.load_data(f"{service}/{version}/{name.removesuffix('.json')}")
            if name == "service-2.json":
                data = _without_docs(data)
                prefixes.add(data["metadata"]["endpointPrefix"])
                if service in OPERATIONS:
                    data = _only(OPERATIONS[service], data)
            elif service in OPERATIONS:
                data = _paginators_and_waiters_of(OPERATIONS[service], name, data)
            files[f"{service}/{version}/{name}"] = data
    for path in sorted(source.glob("*.json*")):
        name = path.name.removesuffix(".gz")
        data = loader.load_data(name.removesuffix(".json"))
        if name == "endpoints.json":
            for partition in data["partitions"]:
                partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
        files[name] = data
    return files


def on_disk() -> dict[str, Any]:
    """Every data file of this folder as data by its relative path (as `generated()` names them)."""
    found: dict[str, Any] = {}
    for path in sorted(DATA_DIR.rglob("*.json*")):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        found[str(path.relative_to(DATA_DIR)).removesuffix(".gz")] = json.loads(raw)
    return found


def write() -> None:
    """Replace this folder's data with `generated()`: large models gzipped, as botocore ships them."""
    for path in DATA_DIR.rglob("*.json*"):
        path.unlink()
    for name, data in generated().items():
        path = DATA_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > 64_000:
            # mtime 0: the same data gives the same bytes, so a regeneration changes only what changed.
            with gzip.GzipFile(f"{path}.gz", "wb", mtime=0) as stream:
                stream.write(text.encode())
        else:
            path.write_text(text)
    for empty in sorted((p for p in DATA_DIR.rglob("*") if p.is_dir()), reverse=True):
        if not any(empty.iterdir()):
            os.rmdir(empty)
