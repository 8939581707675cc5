"""`make hcl`: the stacks as HCL, the exit ramp from CDKTF (README "Exit ramp: HCL").

    python -m tools.hcl <cdktf synth --hcl output> <target, e.g. cdktf.out.hcl> [--prune]

`cdktf synth --hcl` (what HashiCorp names the way out since it archived CDKTF) writes each
stack's `cdk.tf`. Our constructs give it nothing it writes wrongly where that can be helped
(infra.expressions: JSON documents as `jsonencode`, never as escaped text). What is left are
three gaps of its writer, cdktf 0.21 lib/hcl/render.js, that no construct can avoid:

  1. a nested block whose type the provider bindings leave untyped (the WAF rule's
     `statement`, skipped by the binding generator for its depth) is written as an
     attribute, `statement = {...}`, which Terraform refuses: a block is wanted there;
  2. `precondition`/`postcondition` inside `lifecycle` (the platform contract check of every
     service stack) are written as an attribute holding a list, also refused;
  3. the references of `depends_on`, `ignore_changes` and `replace_triggered_by` are written
     quoted, which Terraform still reads but warns about as deprecated.

(A fourth, the writer rendering no stack-level `moved` list, is closed where the list is made:
each stack hands the writer its moved blocks as an element, infra.stacks._HclMovedBlocks.)

This module repairs exactly those three, by parsing the HCL (tools/hcl_syntax.py: a
tokenizer and a block/attribute parser for HCL's native syntax, no pattern matching on the
text) and asking the provider's schema (`terraform providers schema -json`, through the
mirror when TF_PROVIDER_MIRROR is set) which names are blocks. Everything else of the text stays as CDKTF wrote it, and
`terraform fmt` gives it the canonical layout. The stacks land in `<target>/stacks/<stack>/`,
as deep as cdktf.out/stacks/<stack>/, so the local backend's `../../../terraform.<stack>.tfstate`
is the same file: the state stays where it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tools.hcl_syntax import Attribute, Block, Token, elements, object_items, parse, tokenize

STACK_FILE = "cdk.tf"
AWS = "registry.terraform.io/hashicorp/aws"
# Meta-arguments whose values are references, not strings (Terraform: "Quoted references are deprecated").
REFERENCE_LISTS = {"depends_on", "ignore_changes", "replace_triggered_by"}
CONDITIONS = {"precondition", "postcondition"}


# --- the repairs --------------------------------------------------------------------------
def _text(tokens: list[Token], span: tuple[int, int], source: str) -> str:
    return source[tokens[span[0]].start : tokens[span[1] - 1].end]


def _as_blocks(name: str, tokens: list[Token], span: tuple[int, int], source: str, schema: dict[str, Any] | None) -> str:
    """`name = {...}` or `name = [{...}, ...]` as `name { ... }` blocks, nested blocks too."""
    first, last = span
    objects = [span] if tokens[first].text == "{" else elements(tokens, first, last, "[")
    blocks = []
    for obj in objects:
        lines = []
        for key, value in object_items(tokens, *obj):
            nested = (schema or {}).get("block_types", {}).get(key)
            if nested is not None:
                lines.append(_as_blocks(key, tokens, value, source, nested["block"]))
            else:
                lines.append(f"{key} = {_text(tokens, value, source)}")
        blocks.append(f"{name} {{\n" + "\n".join(lines) + "\n}")
    return "\n".join(blocks)


def _unquoted_references(tokens: list[Token], span: tuple[int, int], source: str) -> str | None:
    """`["aws_x.y", "tags"]` as `[aws_x.y, tags]`; None when there is nothing to change."""
    first, last = span
    if tokens[first].text != "[":
        return None
    parts, changed = [], False
    for element in elements(tokens, first, last, "["):
        token = tokens[element[0]]
        if element[1] - element[0] == 1 and token.kind == "string" and _is_traversal(json.loads(token.text)):
            parts.append(json.loads(token.text))
            changed = True
        else:
            parts.append(_text(tokens, element, source))
    return "[" + ", ".join(parts) + "]" if changed else None


def _is_traversal(text: str) -> bool:
    """A plain reference (`aws_iam_role.exec`, `tags`, `a.b[0]`), as the tokenizer reads it."""
    tokens = tokenize(text)
    if not tokens or tokens[0].kind != "ident":
        return False
    i = 1
    while i < len(tokens):
        if tokens[i].text == "." and i + 1 < len(tokens) and tokens[i + 1].kind == "ident":
            i += 2
        elif tokens[i].text == "[" and i + 2 < len(tokens) and tokens[i + 1].kind == "number" and tokens[i + 2].text == "]":
            i += 3
        else:
            return False
    return True


def repair(source: str, schemas: dict[str, Any]) -> str:
    """The repaired text of one stack's `cdk.tf`; `schemas` is the provider's
    `provider_schemas[...]` entry (resource_schemas, data_source_schemas)."""
    tokens, body = parse(source)
    edits: list[tuple[int, int, str]] = []

    def walk(items: list[Attribute | Block], schema: dict[str, Any] | None, meta: bool) -> None:
        for item in items:
            if isinstance(item, Attribute):
                if meta and item.name in REFERENCE_LISTS:
                    replaced = _unquoted_references(tokens, item.value, source)
                    if replaced is not None:
                        edits.append((tokens[item.value[0]].start, item.end, replaced))
                elif schema is not None and item.name in schema.get("block_types", {}):
                    nested = schema["block_types"][item.name]["block"]
                    edits.append((item.start, item.end, _as_blocks(item.name, tokens, item.value, source, nested)))
            elif meta and item.type == "lifecycle":
                for inner in item.body:
                    if isinstance(inner, Attribute) and inner.name in CONDITIONS:
                        edits.append((inner.start, inner.end, _as_blocks(inner.name, tokens, inner.value, source, None)))
                    elif isinstance(inner, Attribute) and inner.name in REFERENCE_LISTS:
                        replaced = _unquoted_references(tokens, inner.value, source)
                        if replaced is not None:
                            edits.append((tokens[inner.value[0]].start, inner.end, replaced))
            elif schema is not None and item.type in schema.get("block_types", {}):
                walk(item.body, schema["block_types"][item.type]["block"], False)

    for item in body:
        if isinstance(item, Block) and item.type in ("resource", "data") and len(item.labels) == 2:
            kind = "resource_schemas" if item.type == "resource" else "data_source_schemas"
            schema = schemas.get(kind, {}).get(item.labels[0], {}).get("block")
            walk(item.body, schema, True)
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    return source


# --- the provider schema ------------------------------------------------------------------
def provider_schema(cache: Path, version: str, env: dict[str, str]) -> dict[str, Any]:
    """hashicorp/aws's schema at `version`, from `terraform providers schema -json` in a
    configuration that only requires the provider; kept in `cache` for the next run."""
    if cache.is_file():
        return json.loads(cache.read_text())
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "main.tf.json").write_text(
            json.dumps({"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": version}}}})
        )
        _terraform(["init", "-backend=false", "-input=false", "-no-color"], Path(work), env)
        shown = _terraform(["providers", "schema", "-json"], Path(work), env)
    schema = json.loads(shown)["provider_schemas"][AWS]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(schema))
    return schema


def _terraform(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"error: terraform {' '.join(args)} in {cwd}:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- `make hcl` ---------------------------------------------------------------------------
def build(synthesized: Path, target: Path, *, schema: dict[str, Any], env: dict[str, str], prune: bool) -> list[str]:
    """Install the stacks of a `cdktf synth --hcl` output into `target`, repaired and formatted."""
    from tools.stacks import install  # the same in-place replacement as cdktf.out/ (make synth)

    names = install(synthesized, target, prune=prune)
    for name in names:
        stack = target / "stacks" / name
        (stack / "metadata.json").unlink(missing_ok=True)  # CDKTF's, nothing Terraform reads
        path = stack / STACK_FILE
        path.write_text(repair(path.read_text(), schema))
        _terraform(["fmt", "-no-color", STACK_FILE], stack, env)
    return names


def main(argv: list[str]) -> int:
    from infra.stacks import PROVIDER_VERSION
    from tools import locks

    if len(argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    synthesized, target = Path(argv[1]), Path(argv[2])
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    cache = Path(".build") / f"aws-{PROVIDER_VERSION}-schema.json"
    schema = provider_schema(cache, PROVIDER_VERSION, env)
    names = build(synthesized, target, schema=schema, env=env, prune="--prune" in argv[3:])
    locks.write_all(target, names, PROVIDER_VERSION)
    print(f"Wrote HCL for {len(names)} stacks into {target}/stacks: " + ", ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
