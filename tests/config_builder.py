"""Small configurations for tests: a builder that writes TOML into a temporary project.

    project = Project(tmp_path)                      # dev.toml + services/web (minimal, valid)
    project.env(network={"az_count": 3})             # deep-merged into environments/dev.toml
    project.service("web", cpu=512, memory=1024)     # deep-merged into services/web/service.toml
    project.service("jobs", WORKER)             # another service
    project.service("cleanup", JOB)             # a scheduled job
    project.manifest("api", 'kind = "backend"\n...')  # a service manifest as TOML text, verbatim
    project.file("services/README.md", "stray")      # any raw file
    app = project.load()                             # infra.config.load_app on it

`DELETE` as a value removes the key. Every service folder gets a Dockerfile unless the
test removes it (`project.remove("services/web/Dockerfile")`).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from infra.config import load_app
from infra.config.specs import AppSpec
from tests.conftest import ROOT

DELETE = object()

ENV: dict[str, Any] = {
    "region": "us-east-1",
    "network": {"vpc_cidr": "10.10.0.0/16", "admin_cidr": "203.0.113.0/24"},
}
WEB: dict[str, Any] = {"kind": "web", "port": 8080, "cpu": 256, "memory": 512, "routes": {"paths": ["/*"]}}
BACKEND: dict[str, Any] = {"kind": "backend", "port": 8081, "cpu": 256, "memory": 512}
WORKER: dict[str, Any] = {"kind": "worker", "port": 8082, "cpu": 256, "memory": 512}
JOB: dict[str, Any] = {"kind": "job", "cpu": 256, "memory": 512, "schedule": "cron(0 3 * * ? *)"}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is DELETE:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


# ---------------------------------------------------------------------------------
# A small TOML writer (tests need floats, nested tables and arrays of tables)
# ---------------------------------------------------------------------------------
def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict) and not _is_table_array(v)]
    for key, value in data.items():
        path = f"{prefix}.{_key(key)}" if prefix else _key(key)
        if isinstance(value, dict):
            lines.append(f"\n[{path}]")
            lines.append(to_toml(value, path))
        elif _is_table_array(value):
            for item in value:
                lines.append(f"\n[[{path}]]")
                lines.append(to_toml(item, path))
    return "\n".join(line for line in lines if line) + "\n"


class Project:
    """A project folder with environments/ and services/, written on `write()`/`load()`."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "project"
        self.envs: dict[str, dict[str, Any]] = {"dev": copy.deepcopy(ENV)}
        self.services: dict[str, dict[str, Any]] = {"web": copy.deepcopy(WEB)}
        self.manifests: dict[str, str] = {}
        self.raw: dict[str, str | bytes] = {}
        self.removed: set[str] = set()
        self.symlinks: dict[str, str] = {}

    def env(self, name: str = "dev", base: dict[str, Any] | None = None, /, **changes: Any) -> "Project":
        start = base if base is not None else self.envs.get(name, ENV)
        self.envs[name] = merge(start, changes)
        return self

    def service(self, name: str = "web", base: dict[str, Any] | None = None, /, **changes: Any) -> "Project":
        start = base if base is not None else self.services.get(name, WEB)
        self.services[name] = merge(start, changes)
        return self

    def without_service(self, name: str) -> "Project":
        self.services.pop(name)
        return self

    def manifest(self, name: str, text: str) -> "Project":
        """A service whose service.toml is `text` as written (for layouts the dict form cannot say)."""
        self.services.pop(name, None)
        self.manifests[name] = text
        return self

    def file(self, rel: str, content: str | bytes) -> "Project":
        self.raw[rel] = content
        return self

    def remove(self, rel: str) -> "Project":
        self.removed.add(rel)
        return self

    def symlink(self, rel: str, target: str) -> "Project":
        self.symlinks[rel] = target
        return self

    def write(self) -> Path:
        files: dict[str, str | bytes] = {}
        for name, data in self.envs.items():
            files[f"environments/{name}.toml"] = to_toml(data)
        manifests = {name: to_toml(data) for name, data in self.services.items()} | self.manifests
        for name, text in manifests.items():
            files[f"services/{name}/service.toml"] = text
            files[f"services/{name}/Dockerfile"] = "FROM scratch\n"
        files.update(self.raw)
        for rel, content in files.items():
            if rel in self.removed:
                continue
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        for rel, target in self.symlinks.items():
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.root / rel).symlink_to(target)
        return self.root

    def write_runnable(self) -> Path:
        """`write()`, with the project's main.py and infra/ beside the files: a folder that
        `python main.py` synthesizes, as a user's checkout."""
        root = self.write()
        if not (root / "main.py").exists():
            (root / "main.py").write_text((ROOT / "main.py").read_text())
            (root / "infra").symlink_to(ROOT / "infra")
        return root

    def load(self, **kwargs: Any) -> AppSpec:
        return load_app(self.write(), **kwargs)
