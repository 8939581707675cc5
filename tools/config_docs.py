"""Generate what is derived from the configuration schema (infra/config/schema.py):

    schema/environment.schema.json   JSON Schema of environments/<env>.toml (editors)
    schema/service.schema.json       JSON Schema of services/<name>/service.toml
    README.md                        the reference tables between the markers
                                     <!-- BEGIN GENERATED: environment|service --> ... <!-- END GENERATED -->

    python -m tools.config_docs           write them
    python -m tools.config_docs --check   exit 1 and name the stale files (tests/test_config_generated.py)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

from infra.config.schema import EnvironmentFile, Model, ServiceFile, json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_BASE = "https://example.com/ecs-platform/schema/"  # an id, never fetched

FILES: dict[str, tuple[type[Model], str]] = {
    "environment": (EnvironmentFile, "schema/environment.schema.json"),
    "service": (ServiceFile, "schema/service.schema.json"),
}
BEGIN = "<!-- BEGIN GENERATED: {name} -->"
END = "<!-- END GENERATED -->"


def schema_text(name: str) -> str:
    model, rel = FILES[name]
    schema = json_schema(model, SCHEMA_BASE + Path(rel).name)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------
# README tables
# ---------------------------------------------------------------------------------
def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "table"
    if "anyOf" in prop:
        return " or ".join(_type(option, defs) for option in prop["anyOf"])
    if "const" in prop:
        return f"`{_toml(prop['const'])}`"
    if "enum" in prop:
        values = prop["enum"]
        if len(values) > 8:
            return f"{prop.get('type', 'value')} (one of {len(values)})"
        return ", ".join(f"`{_toml(v)}`" for v in values)
    kind = prop.get("type")
    if kind == "integer":
        if "minimum" in prop:
            return f"integer {prop['minimum']}..{prop['maximum']}"
        return "integer"
    if kind == "array":
        items = prop.get("items", {})
        if "$ref" in items:
            return "array of tables"
        return f"array of {_type(items, defs)}"
    if kind == "object":
        if prop.get("additionalProperties") is True:  # any values (an SNS filter policy): checked by code
            return "table"
        inner = next(iter(prop.get("patternProperties", {}).values()), {})
        return "table of tables" if "$ref" in inner else "table of strings"
    return {"string": "string", "boolean": "boolean"}.get(kind, str(kind))


def _rows(model: type[Model], prefix: str, defs: dict[str, Any], node: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    required = set(node.get("required", ()))
    nested: list[tuple[str, type[Model], dict[str, Any]]] = []
    for key, field in model.model_fields.items():
        prop = node["properties"][key]
        inner = _model_of(field.annotation)
        label = f"`{prefix} {key}`" if prefix else f"`{key}`"
        if key in model.COMPUTED:
            default = model.COMPUTED[key]
        elif key in required:
            default = "required"
        elif field.default is None or (field.default_factory is not None and inner is not None):
            default = "—"
        else:
            default = f"`{_toml(field.get_default(call_default_factory=True))}`"
        description = (field.description or "").replace("|", "\\|")
        if inner is not None and _is_plain_table(field.annotation):
            nested.append((key, inner, defs[inner.__name__]))  # its keys follow, under [key]
        elif inner is not None:
            header = f"[[{prefix.strip('[]')}.{key}]]" if prefix else f"[[{key}]]"
            if typing.get_origin(field.annotation) is dict:
                header = f"[{prefix.strip('[]') + '.' if prefix else ''}{key}.<env>]"
            nested.append((header, inner, defs[inner.__name__]))
            rows.append((label, _type(prop, defs), default, description))
        else:
            rows.append((label, _type(prop, defs), default, description))
    for key, inner, inner_node in nested:
        if key.startswith("["):
            rows.extend(_rows(inner, key, defs, inner_node))
        else:
            section = f"[{prefix.strip('[]')}.{key}]" if prefix else f"[{key}]"
            rows.extend(_rows(inner, section, defs, inner_node))
    return rows


def _model_of(annotation: Any) -> type[Model] | None:
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _is_plain_table(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Model)


def table(name: str) -> str:
    model, _ = FILES[name]
    schema = json_schema(model, "")
    rows = _rows(model, "", schema.get("$defs", {}), schema)
    lines = [
        f"_Generated from `infra/config/schema.py` by `python -m tools.config_docs`; JSON Schema: `{FILES[name][1]}`._",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| {key} | {kind} | {default} | {meaning} |" for key, kind, default, meaning in rows]
    return "\n".join(lines)


def readme_text(current: str) -> str:
    for name in FILES:
        begin = BEGIN.format(name=name)
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(END), re.DOTALL)
        if not pattern.search(current):
            raise SystemExit(f"README.md has no {begin} ... {END} block")
        current = pattern.sub(lambda _: f"{begin}\n{table(name)}\n{END}", current, count=1)
    return current


def generated() -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    files = {ROOT / rel: schema_text(name) for name, (_, rel) in FILES.items()}
    readme = ROOT / "README.md"
    files[readme] = readme_text(readme.read_text())
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.config_docs")
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    stale = [path for path, text in generated().items() if not path.is_file() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python -m tools.config_docs", file=sys.stderr)
        return 1 if stale else 0
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in stale:
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
