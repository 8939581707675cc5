"""infra.expressions: text with structure inside, as Terraform expressions that both outputs of a
synthesis (JSON and `cdktf synth --hcl`) carry to the same value, whatever the text holds.

Terraform itself is the judge: each output is applied (outputs only, no provider) and what
Terraform computed is compared with what Python meant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.expressions import literal
from tests.conftest import ROOT, jsondoc

# Every character the two writers treat specially: quotes, backslashes (alone and before a
# quote), JSON's own escapes, newline and tab, Terraform's `${` and `%{` (literal here, not
# interpolations), their escaped forms, and non-ASCII.
NASTY = 'say "hi" \\ back\\slash \\" {"json": "in \\"json\\""} \n tab\t ${not_a_ref} %{ if x } $${ %%{ 100% é ✓'

APP = """
import json, sys
from cdktf import App, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable
from infra.expressions import format_, jsonencode

app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "s")
LocalBackend(stack, path="terraform.tfstate")
ref = TerraformVariable(stack, "v", type="string").string_value
nasty = json.loads(sys.argv[2])
TerraformOutput(stack, "doc", value=jsonencode({
    "text": nasty, "ref": ref, "mixed": f'"{ref}" and {nasty}', "n": 3, "x": 0.5, "yes": True,
    "nested": [1, "two", [{"key": nasty}]], nasty: "a key too",
}))
TerraformOutput(stack, "query", value=format_('SELECT MAX(x) FROM SCHEMA("AWS/ApplicationELB", A) WHERE A = \\'%s\\' -- 100%%', ref))
app.synth()
"""


def _expected(ref: str) -> dict[str, object]:
    return {
        "doc": {
            "text": NASTY, "ref": ref, "mixed": f'"{ref}" and {NASTY}', "n": 3, "x": 0.5, "yes": True,
            "nested": [1, "two", [{"key": NASTY}]], NASTY: "a key too",
        },
        "query": f"SELECT MAX(x) FROM SCHEMA(\"AWS/ApplicationELB\", A) WHERE A = '{ref}' -- 100%",
    }


def _synth(tmp_path: Path, *, hcl: bool) -> Path:
    outdir = tmp_path / ("hcl" if hcl else "json")
    script = tmp_path / "app.py"
    script.write_text(APP)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYNTH_HCL_OUTPUT="true" if hcl else "false")
    subprocess.run([sys.executable, str(script), str(outdir), json.dumps(NASTY)], env=env, check=True, timeout=300)
    return outdir / "stacks" / "s"


def _apply(stack: Path, ref: str, env: dict[str, str]) -> dict[str, object]:
    env = dict(env, TF_VAR_v=ref)
    for args in (["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]):
        result = subprocess.run(["terraform", *args], cwd=stack, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{stack.name}: terraform {args[0]}\n{result.stdout}{result.stderr}"
    shown = subprocess.run(["terraform", "output", "-json"], cwd=stack, env=env, capture_output=True, text=True, check=True)
    outputs = {name: item["value"] for name, item in json.loads(shown.stdout).items()}
    outputs["doc"] = json.loads(outputs["doc"])
    return outputs


def test_literal_escapes_what_cdktf_leaves_for_terraform_to_misread() -> None:
    assert literal('a "b" \\c') == 'a \\"b\\" \\\\c'
    assert literal("x\ny\tz %{ if }") == "x\\ny\\tz %%{ if }"
    assert literal("${TfToken[TOKEN.7]}") == "${TfToken[TOKEN.7]}"  # CDKTF's own references pass


@pytest.mark.terraform
def test_json_and_hcl_outputs_give_terraform_the_same_text(tmp_path: Path, terraform_env: dict[str, str]) -> None:
    ref = 'ref "quoted" \\ ${still literal}'
    expected = _expected(ref)
    for hcl in (False, True):
        assert _apply(_synth(tmp_path, hcl=hcl), ref, terraform_env) == expected, "HCL" if hcl else "JSON"


def test_the_tests_read_a_jsonencode_back_as_the_document() -> None:
    """tests.conftest.jsondoc reads what infra.expressions.jsonencode wrote, escapes included."""
    from cdktf import App, TerraformOutput, TerraformStack, Testing

    from infra.expressions import jsonencode

    stack = TerraformStack(App(), "s")
    doc = {"text": NASTY, "n": [1, 0.5, True], NASTY: {"k": "v"}}
    TerraformOutput(stack, "doc", value=jsonencode(doc))
    value = json.loads(Testing.synth(stack))["output"]["doc"]["value"]
    assert jsondoc(value) == doc
    assert jsondoc('{"a": 1}') == {"a": 1}


def test_a_workspace_aware_name_inside_a_document_stays_an_interpolation() -> None:
    """A name of this copy (`${local.name_prefix}-...`, infra.naming) inside jsonencode must
    reach Terraform as an interpolation: CDKTF would write a literal `${` as `$${` there, and
    every copy would then log to, build for and read the parameter of a group literally named
    `/ecs/${local.name_prefix}/...`."""
    import cdktf

    from infra import naming
    from infra.expressions import jsonencode
    from infra.stacks import EnvironmentStack
    from tests.conftest import env_of

    stack = EnvironmentStack(cdktf.Testing.app(), "dev-x", env=env_of("dev"), local=None, component="x")
    name = naming.Names.of(stack).name("/ecs/{prefix}/x", naming.LOG_GROUP)
    cdktf.TerraformOutput(stack, "document", value=jsonencode({"group": name}, scope=stack))
    resolved = json.loads(cdktf.Testing.synth(stack))["output"]["document"]["value"]
    assert resolved == '${jsonencode({"group" = "/ecs/${local.name_prefix}/x"})}'
    with pytest.raises(ValueError, match="pass scope="):
        jsonencode({"group": name})
