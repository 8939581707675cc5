"""`make hcl`, the exit ramp from CDKTF: every stack's HCL passes `terraform init -backend=false`,
`terraform validate` (no warning) and `terraform fmt -check`, and names exactly the resources,
data sources, outputs and `moved` blocks of the JSON that `cdktf deploy` applies, so a team that
leaves CDKTF keeps its state, even one last applied with the hashed addresses of earlier versions.

One synthesis as HCL of the tests' configuration for the module, as `make hcl` runs it (the app
with SYNTH_HCL_OUTPUT=true, what `cdktf synth --hcl` runs), repaired by tools.hcl; the stacks are initialized with one shared plugin cache (from the mirror), two
at a time. The repairs themselves are tested on small texts below, without Terraform.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Synth, copy_project
from tools.hcl import REFERENCE_LISTS, repair
from tools.hcl_syntax import HclError, parse

SCHEMA = {  # the shape of `terraform providers schema -json`, cut to what the texts below use
    "resource_schemas": {
        "aws_wafv2_web_acl": {"block": {"block_types": {"rule": {"block": {"block_types": {
            "statement": {"block": {"block_types": {"managed_rule_group_statement": {"block": {}}}}},
            "visibility_config": {"block": {}},
        }}}}}},
    },
}


def test_an_untyped_nested_block_written_as_an_attribute_becomes_a_block() -> None:
    source = '''resource "aws_wafv2_web_acl" "waf" {
  name = "x"
  rule {
    name = "common"

    # Warning: The following attribute is of an unexpected type.

    statement = {
      managed_rule_group_statement = {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      metric_name = "m"
    }
  }
}
'''
    repaired = repair(source, SCHEMA)
    assert "statement = " not in repaired and "Warning" not in repaired
    assert 'statement {\nmanaged_rule_group_statement {\nname = "AWSManagedRulesCommonRuleSet"\nvendor_name = "AWS"\n}\n}' in repaired
    assert 'name = "common"' in repaired and 'metric_name = "m"' in repaired  # the rest as it was


def test_lifecycle_conditions_become_blocks_and_meta_references_lose_their_quotes() -> None:
    source = '''data "terraform_remote_state" "platform" {
  backend = "local"
  lifecycle {
    postcondition = [
      {
        condition     = "${try(self.outputs.v, "none") == "1"}"
        error_message = "needs \\"1\\", has ${try(self.outputs.v, "none")}"
      },
    ]
  }
}
resource "aws_ecs_service" "s" {
  depends_on = ["aws_iam_role.exec", "aws_lb_listener_rule.rule"]
  lifecycle {
    ignore_changes = ["desired_count", "tags[\\"x\\"]"]
  }
}
'''
    repaired = repair(source, SCHEMA)
    assert 'postcondition {\ncondition = "${try(self.outputs.v, "none") == "1"}"\n' in repaired
    assert 'error_message = "needs \\"1\\", has ${try(self.outputs.v, "none")}"\n}' in repaired
    assert "depends_on = [aws_iam_role.exec, aws_lb_listener_rule.rule]" in repaired
    # Only plain references lose their quotes.
    assert 'ignore_changes = [desired_count, "tags[\\"x\\"]"]' in repaired
    assert repair(repaired, SCHEMA) == repaired  # nothing left to repair


def test_the_parser_refuses_what_is_not_hcl() -> None:
    for broken in ('a = "unterminated\n', "block {\n", 'a = "${x"\n', "}\n"):
        with pytest.raises(HclError):
            parse(broken)


# --- the real output -----------------------------------------------------------------------
def _terraform(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def hcl(tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """`make hcl` on a copy of the project with the tests' configuration: (its output, the env)."""
    project = copy_project(tmp_path_factory.mktemp("hcl") / "project")
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / ".build").symlink_to(ROOT / ".build")  # the provider schema, once per machine
    env = dict(
        terraform_env,
        TF_PLUGIN_CACHE_DIR=str(tmp_path_factory.mktemp("plugins")),
        CDKTF_DISABLE_PLUGIN_CACHE_ENV="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONPATH=str(project),
    )
    synth = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-O", "main.py"],
        cwd=project, env=dict(env, CDKTF_OUTDIR="hcl-synth", SYNTH_HCL_OUTPUT="true"), capture_output=True, text=True, timeout=600,
    )
    assert synth.returncode == 0, synth.stdout + synth.stderr
    built = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "tools.hcl", "hcl-synth", "cdktf.out.hcl", "--prune"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return project / "cdktf.out.hcl", env


def _check(stack: Path, env: dict[str, str]) -> tuple[str, list[str]]:
    problems = []
    for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"], ["fmt", "-check", "-no-color"]):
        result = _terraform(args, stack, env)
        if result.returncode != 0:
            return stack.name, [f"terraform {args[0]}:\n{result.stdout}{result.stderr}"]
        if "Warning" in result.stdout + result.stderr and args[0] == "validate":
            problems.append(f"terraform validate warns:\n{result.stdout}{result.stderr}")
    return stack.name, problems


@pytest.mark.terraform
def test_every_stack_as_hcl_initializes_validates_and_is_formatted(hcl: tuple[Path, dict[str, str]], synth: Synth) -> None:
    out, env = hcl
    stacks = sorted(p for p in (out / "stacks").iterdir() if p.is_dir())
    assert [p.name for p in stacks] == sorted(synth.stacks)
    # The first init fills the plugin cache; Terraform's cache is not safe for two at once.
    results = [_check(stacks[0], env)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results += list(pool.map(lambda stack: _check(stack, env), stacks[1:]))
    failures = {name: problems for name, problems in results if problems}
    assert not failures, "\n\n".join(f"== {name}\n" + "\n".join(p) for name, p in failures.items())
    if os.environ.get("TF_PROVIDER_MIRROR"):
        assert all((stack / ".terraform.lock.hcl").is_file() for stack in stacks)


def _addresses(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {
        "resource": {f"{t}.{n}" for t, items in doc.get("resource", {}).items() for n in _names(items)},
        "data": {f"data.{t}.{n}" for t, items in doc.get("data", {}).items() for n in _names(items)},
        "output": set(_names(doc.get("output", {}))),
        "provider": set(_names(doc.get("provider", {}))),
    }


def _moves(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(from, to) of every `moved` block, each address as written: hcl2json gives a bare
    reference as its interpolation (`${aws_x.y}`), the JSON has the address itself."""

    def bare(address: str) -> str:
        return address[2:-1] if address.startswith("${") and address.endswith("}") else address

    return sorted((bare(move["from"]), bare(move["to"])) for move in doc.get("moved", []))


def _constants(value: Any, key: str | None = None, found: Counter[tuple[str | None, str]] | None = None) -> Counter[tuple[str | None, str]]:
    """Every constant of a document (a leaf that is no expression), by the name it stands under."""
    found = Counter() if found is None else found
    if isinstance(value, dict):
        for name, item in value.items():
            if name != "//":
                _constants(item, name, found)
    elif isinstance(value, list):
        for item in value:
            _constants(item, key, found)
    elif not (isinstance(value, str) and "${" in value) and key not in REFERENCE_LISTS:
        found[(key, json.dumps(value))] += 1
    return found


def _names(items: Any) -> list[str]:
    """Block labels as Terraform's JSON (a dict) or hcl2json (a list of dicts, or a dict) has them."""
    if isinstance(items, list):
        return [name for item in items for name in item]
    return list(items)


@pytest.mark.terraform
def test_the_hcl_names_every_address_move_and_constant_of_the_json(hcl: tuple[Path, dict[str, str]], synth: Synth) -> None:
    """Read by HashiCorp's own HCL parser (@cdktf/hcl2json, the Go library), not tools.hcl: the
    same addresses, the same `moved` blocks (from, to), and every constant value (names, ports,
    policies' literal parts) the same, so a plan of the HCL against the JSON's state finds nothing
    to change in them, and a state with the hashed addresses of earlier versions moves as well."""
    out, env = hcl
    script = (
        'const { parse } = require("@cdktf/hcl2json"); const fs = require("fs");'
        "(async () => { const r = {}; for (const f of process.argv.slice(1)) r[f] = await parse(f, fs.readFileSync(f, 'utf8'));"
        " process.stdout.write(JSON.stringify(r)); })().catch((e) => { console.error(e); process.exit(1); });"
    )
    files = [str(out / "stacks" / name / "cdk.tf") for name in sorted(synth.stacks)]
    parsed = subprocess.run(["node", "-e", script, *files], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert parsed.returncode == 0, parsed.stderr
    documents = json.loads(parsed.stdout)
    for name in sorted(synth.stacks):
        hcl_addresses = _addresses(documents[str(out / "stacks" / name / "cdk.tf")])
        json_addresses = _addresses(synth.raw(name))
        assert hcl_addresses == json_addresses, name
        assert len(json_addresses["resource"]) > 20
        # The moves from earlier addresses: one per resource (the hashed address it had), the same in both.
        hcl_moves, json_moves = _moves(documents[str(out / "stacks" / name / "cdk.tf")]), _moves(synth.raw(name))
        assert hcl_moves == json_moves, f"{name}: moved blocks differ"
        assert len(json_moves) == len(json_addresses["resource"]), name
        hcl_doc, json_doc = documents[str(out / "stacks" / name / "cdk.tf")], synth.raw(name)
        for part in ("resource", "data", "output"):
            assert _constants(hcl_doc.get(part, {})) == _constants(json_doc.get(part, {})), f"{name}: {part}"
