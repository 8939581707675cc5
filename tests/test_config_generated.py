"""What is generated from the configuration schema is current, and means what the loader means.

schema/*.schema.json and the README's reference tables come from infra/config/schema.py
(`python -m tools.config_docs`); editors check the files with the JSON Schema.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from tools import config_docs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted(config_docs.generated(), key=str), ids=lambda p: p.name)
def test_generated_file_is_current(path: Path) -> None:
    expected = config_docs.generated()[path]
    assert path.is_file() and path.read_text() == expected, f"{path.name} is stale: run python -m tools.config_docs"


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / config_docs.FILES[name][1]).read_text())
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    ("name", "path"),
    [("environment", p) for p in sorted((ROOT / "environments").glob("*.toml"))]
    + [("service", p) for p in sorted((ROOT / "services").glob("*/service.toml"))],
    ids=lambda value: value if isinstance(value, str) else value.relative_to(ROOT).as_posix(),
)
def test_an_editor_accepts_the_samples(name: str, path: Path) -> None:
    data = tomllib.loads(path.read_text())
    assert list(_validator(name).iter_errors(data)) == []


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        ("environment", {"regoin": "us-east-1", "network": {}}, "regoin"),
        ("environment", {"region": "us-east-1", "network": {"vpc_cidr": "10.0.0.0/16", "admin_cidr": "10.1.0.0/24", "az_count": 9}}, "az_count"),
        ("service", {"kind": "web", "port": 8080, "cpu": "256", "memory": 512}, "cpu"),
        ("service", {"kind": "frontend", "port": 8080, "cpu": 256, "memory": 512}, "kind"),
    ],
    ids=["unknown_key", "out_of_range", "string_for_integer", "unknown_kind"],
)
def test_an_editor_marks_what_the_loader_refuses(name: str, data: dict, where: str) -> None:
    errors = list(_validator(name).iter_errors(data))
    assert errors and any(where in json.dumps(list(e.absolute_path)) + e.message for e in errors)
