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

This module repairs exactly those three, by parsing the HCL (a tokenizer and a block/attribute
parser for HCL's native syntax, no pattern matching on the text) and asking the provider's
schema (`terraform providers schema -json`, through the mirror when TF_PROVIDER_MIRROR is
set) which names are blocks. Everything else of the text stays as CDKTF wrote it, and
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_FILE = "cdk.tf"
AWS = "registry.terraform.io/hashicorp/aws"
# Meta-arguments whose values are references, not strings (Terraform: "Quoted references are deprecated").
REFERENCE_LISTS = {"depends_on", "ignore_changes", "replace_triggered_by"}
CONDITIONS = {"precondition", "postcondition"}


class HclError(ValueError):
    pass


# --- tokens -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "number", "string", "heredoc", "punct", "newline", "comment"
    start: int
    end: int
    text: str


_PUNCT = ("...", "=>", "==", "!=", "<=", ">=", "&&", "||", "::")


def tokenize(text: str) -> list[Token]:
    """HCL native syntax as tokens (hclsyntax spec): comments are kept, so a caller can drop
    the ones in front of what it rewrites."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
        elif c == "\n":
            tokens.append(Token("newline", i, i + 1, "\n"))
            i += 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            tokens.append(Token("comment", i, end, text[i:end]))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise HclError(f"unterminated comment at {i}")
            tokens.append(Token("comment", i, end + 2, text[i : end + 2]))
            i = end + 2
        elif c == '"':
            end = _string_end(text, i)
            tokens.append(Token("string", i, end, text[i:end]))
            i = end
        elif text.startswith("<<", i) and i + 2 < n and (text[i + 2] == "-" or text[i + 2].isalpha()):
            end = _heredoc_end(text, i)
            tokens.append(Token("heredoc", i, end, text[i:end]))
            i = end
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            tokens.append(Token("ident", i, j, text[i:j]))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "." and j + 1 < n and text[j + 1].isdigit()):
                j += 1
            tokens.append(Token("number", i, j, text[i:j]))
            i = j
        else:
            punct = next((p for p in _PUNCT if text.startswith(p, i)), c)
            tokens.append(Token("punct", i, i + len(punct), punct))
            i += len(punct)
    return tokens


def _string_end(text: str, start: int) -> int:
    """The offset after the quoted template that starts at `start`, interpolations included."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "\n":
            break
        elif text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith(("${", "%{"), i):
            i = _interpolation_end(text, i + 2)
        else:
            i += 1
    raise HclError(f"unterminated string at {start}")


def _interpolation_end(text: str, i: int) -> int:
    """The offset after the `}` closing an interpolation whose expression starts at `i`."""
    depth = 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _string_end(text, i)
            continue
        if text.startswith("<<", i) and i + 2 < len(text) and (text[i + 2] == "-" or text[i + 2].isalpha()):
            i = _heredoc_end(text, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise HclError("unterminated interpolation")


def _heredoc_end(text: str, start: int) -> int:
    line_end = text.find("\n", start)
    if line_end < 0:
        raise HclError(f"heredoc without a body at {start}")
    marker = text[start + 2 : line_end].lstrip("-").strip()
    i = line_end + 1
    while i <= len(text):
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        if text[i:end].strip() == marker:
            return end
        if end == len(text):
            break
        i = end + 1
    raise HclError(f"heredoc {marker} not closed")


# --- structure ----------------------------------------------------------------------------
@dataclass
class Attribute:
    name: str
    start: int  # of the first comment line right before it, else of its name
    value: tuple[int, int]  # token indexes [first, last) of the expression
    end: int  # offset after the expression


@dataclass
class Block:
    type: str
    labels: list[str]
    start: int
    body: list[Attribute | Block] = field(default_factory=list)
    end: int = 0


def _skip(tokens: list[Token], i: int, kinds: tuple[str, ...] = ("newline", "comment")) -> int:
    while i < len(tokens) and tokens[i].kind in kinds:
        i += 1
    return i


def expression_end(tokens: list[Token], i: int, stops: tuple[str, ...] = ()) -> int:
    """The token index after the expression starting at `i`: at a newline or one of `stops`
    outside brackets."""
    depth = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (token.kind == "newline" or token.kind == "punct" and token.text in stops):
            return i
        i += 1
    return i


def parse_body(tokens: list[Token], i: int = 0, *, closing: bool = False) -> tuple[list[Attribute | Block], int]:
    items: list[Attribute | Block] = []
    lead: int | None = None
    while True:
        if i < len(tokens) and tokens[i].kind == "comment":
            lead = tokens[i].start if lead is None else lead
            i += 1
            continue
        if i < len(tokens) and tokens[i].kind == "newline":
            i += 1  # comments and blank lines before an item belong to it (CDKTF's warnings do)
            continue
        if i >= len(tokens):
            if closing:
                raise HclError("a block is not closed")
            return items, i
        token = tokens[i]
        if token.kind == "punct" and token.text == "}":
            if not closing:
                raise HclError(f"unexpected '}}' at {token.start}")
            return items, i
        if token.kind != "ident":
            raise HclError(f"expected a name at {token.start}, found {token.text!r}")
        start = token.start if lead is None else lead
        lead = None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.kind == "punct" and nxt.text == "=":
            first = i + 2
            last = expression_end(tokens, first)
            items.append(Attribute(token.text, start, (first, last), tokens[last - 1].end))
            i = last
            continue
        labels: list[str] = []
        j = i + 1
        while j < len(tokens) and tokens[j].kind in ("ident", "string"):
            labels.append(tokens[j].text.strip('"'))
            j += 1
        if j >= len(tokens) or tokens[j].text != "{":
            raise HclError(f"expected '{{' after block {token.text} at {token.start}")
        body, k = parse_body(tokens, j + 1, closing=True)
        items.append(Block(token.text, labels, start, body, tokens[k].end))
        i = k + 1


def parse(text: str) -> tuple[list[Token], list[Attribute | Block]]:
    tokens = tokenize(text)
    body, _ = parse_body(tokens)
    return tokens, body


def _elements(tokens: list[Token], first: int, last: int, opening: str) -> list[tuple[int, int]]:
    """The element spans of the tuple (`[`) or object (`{`) constructor tokens[first:last]."""
    closing = {"[": "]", "{": "}"}[opening]
    if tokens[first].text != opening or tokens[last - 1].text != closing:
        raise HclError(f"expected {opening}...{closing} at {tokens[first].start}")
    spans = []
    i = first + 1
    while True:
        i = _skip(tokens, i)
        if i >= last - 1:
            return spans
        end = expression_end(tokens, i, stops=(",",))
        spans.append((i, end))
        i = end + 1 if tokens[end].text == "," else end


def _object_items(tokens: list[Token], first: int, last: int) -> list[tuple[str, tuple[int, int]]]:
    items = []
    for start, end in _elements(tokens, first, last, "{"):
        key = tokens[start]
        if tokens[start + 1].text not in ("=", ":") or key.kind not in ("ident", "string"):
            raise HclError(f"expected 'key = value' at {key.start}")
        items.append((json.loads(key.text) if key.kind == "string" else key.text, (start + 2, end)))
    return items


# --- the repairs --------------------------------------------------------------------------
def _text(tokens: list[Token], span: tuple[int, int], source: str) -> str:
    return source[tokens[span[0]].start : tokens[span[1] - 1].end]


def _as_blocks(name: str, tokens: list[Token], span: tuple[int, int], source: str, schema: dict[str, Any] | None) -> str:
    """`name = {...}` or `name = [{...}, ...]` as `name { ... }` blocks, nested blocks too."""
    first, last = span
    objects = [span] if tokens[first].text == "{" else _elements(tokens, first, last, "[")
    blocks = []
    for obj in objects:
        lines = []
        for key, value in _object_items(tokens, *obj):
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
    for element in _elements(tokens, first, last, "["):
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
