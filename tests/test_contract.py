"""The platform's contract: what the platform publishes, how a service stack reads it, and the
version check a service stack makes at plan time (with Terraform itself)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_app
from infra.platform import contract
from infra.service.platform_ref import PlatformRef
from tests.conftest import FIXTURE, ROOT, Synth, load_stack

ENVS = ("dev", "prod")


def _names(stack: dict[str, Any]) -> set[str]:
    return set(stack["output"])


@pytest.mark.parametrize("env", ENVS)
def test_the_platform_publishes_exactly_the_contract(synth: Synth, env: str) -> None:
    outputs = synth.stack(f"{env}-platform")["output"]
    # The test environments enable the database and EC2 capacity; only prod has a test listener.
    every = {o.name for o in contract.OUTPUTS}
    assert set(outputs) == (every if env == "prod" else every - {"test_listener_arn"})
    assert outputs["contract_version"]["value"] == contract.CONTRACT_VERSION
    for output in contract.OUTPUTS:
        if output.name in outputs:
            assert outputs[output.name]["description"] == output.description


def test_optional_outputs_are_left_out_when_their_part_is_off(tmp_path: Path) -> None:
    from cdktf import App

    from infra.platform.stack import PlatformStack

    dev = load_app(FIXTURE, environments=["dev"]).environments[0]
    env = dataclasses.replace(
        dev,
        database=dataclasses.replace(dev.database, enabled=False),
        cluster=dataclasses.replace(dev.cluster, ec2=dataclasses.replace(dev.cluster.ec2, enabled=False)),
    )
    app = App(outdir=str(tmp_path))
    PlatformStack(app, "dev-platform", env=env, local=None)
    app.synth()
    stack = load_stack(tmp_path / "stacks" / "dev-platform" / "cdk.tf.json")
    expected = {o.name for o in contract.OUTPUTS if o.presence is contract.Presence.ALWAYS}
    assert _names(stack) == expected


def test_publishing_refuses_anything_but_the_contract() -> None:
    from cdktf import App, TerraformStack

    stack = TerraformStack(App(), "s")
    values = {o.name: "x" for o in contract.OUTPUTS if o.presence is contract.Presence.ALWAYS}
    with pytest.raises(contract.ContractError, match=r"missing \['vpc_id'\]"):
        contract.publish(stack, {k: v for k, v in values.items() if k != "vpc_id"}, database=False, ec2=False)
    with pytest.raises(contract.ContractError, match=r"unexpected \['vpc'\]"):
        contract.publish(stack, {**values, "vpc": "x"}, database=False, ec2=False)


def test_platform_ref_has_one_typed_attribute_per_contract_output() -> None:
    hints = typing.get_type_hints(PlatformRef)
    assert set(hints) == {o.name for o in contract.OUTPUTS}
    for output in contract.OUTPUTS:
        expected = {
            contract.Kind.STRING: str, contract.Kind.LIST: list[str], contract.Kind.NUMBER: float, contract.Kind.MAP: dict[str, Any]
        }[output.kind]
        assert hints[output.name] == expected, output.name


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", ("web", "api", "worker"))
def test_service_stacks_read_only_contract_outputs(synth: Synth, env: str, service: str) -> None:
    text = json.dumps(synth.stack(f"{env}-{service}"))
    read = set(__import__("re").findall(r"data\.terraform_remote_state\.platform\.outputs\.([a-z0-9_]+)", text))
    assert read and read <= {o.name for o in contract.OUTPUTS}
    assert "cross-stack" not in text


def test_cdktfs_preparing_pass_finds_no_cross_stack_reference(synth: Synth, tmp_path: Path) -> None:
    """Our stacks skip CDKTF's preparing pass for JSON (EnvironmentStack.prepare_stack): that pass
    exists only to find cross-stack references and add their outputs and remote state. With
    CDKTF's own pass (the override deleted, in a fresh process), every file is the same."""
    outdir = tmp_path / "out"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from infra import speedups; speedups.install('all')\n"
        "from pathlib import Path\n"
        "from infra.config import load_app\n"
        "from infra.stacks import EnvironmentStack\n"
        "del EnvironmentStack.prepare_stack  # CDKTF's own prepareStack() runs\n"
        "from infra.app import build_app\n"
        "build_app(load_app(Path(sys.argv[2])), outdir=sys.argv[3]).synth()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(FIXTURE), str(outdir)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    prepared, ours = files(outdir), files(synth.outdir)
    assert len(ours) > 10 and prepared.keys() == ours.keys()
    assert [name for name in ours if prepared[name] != ours[name]] == []
    assert not any(b"cross-stack" in text for text in ours.values())


# --- the version check, run by Terraform ------------------------------------------------
def _state(outputs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.11.0",
            "serial": 1,
            "lineage": "5f0c3a3e-0000-4000-8000-000000000001",
            "outputs": {name: {"value": value, "type": "string"} for name, value in outputs.items()},
            "resources": [],
            "check_results": None,
        }
    )


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str]) -> Path:
    """A stack holding only a PlatformRef of dev (local backend) and an output reading it, initialized."""
    from cdktf import App, LocalBackend, TerraformOutput, TerraformStack

    dev = load_app(FIXTURE, environments=["dev"]).environments[0]
    outdir = tmp_path_factory.mktemp("contract") / "cdktf.out"
    app = App(outdir=str(outdir))
    stack = TerraformStack(app, "reader")
    LocalBackend(stack, path="reader.tfstate")
    ref = PlatformRef(stack, "platform", env=dev)
    TerraformOutput(stack, "vpc", value=ref.vpc_id)
    app.synth()
    stack_dir = outdir / "stacks" / "reader"
    init = subprocess.run(["terraform", "init", "-input=false", "-no-color"], cwd=stack_dir, env=terraform_env,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    return stack_dir


def _plan(stack_dir: Path, env: dict[str, str], outputs: dict[str, Any] | None) -> subprocess.CompletedProcess[str]:
    # The PlatformRef reads ../../../terraform.dev-platform.tfstate: beside cdktf.out.
    state = stack_dir.parent.parent.parent / "terraform.dev-platform.tfstate"
    state.unlink(missing_ok=True)
    if outputs is not None:
        state.write_text(_state(outputs))
    return subprocess.run(["terraform", "plan", "-input=false", "-no-color"], cwd=stack_dir, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.terraform
def test_a_compatible_platform_is_read_by_output_name(reader: Path, terraform_env: dict[str, str]) -> None:
    major = contract.CONTRACT_VERSION.split(".")[0]
    result = _plan(reader, terraform_env, {"contract_version": f"{major}.7", "vpc_id": "vpc-0123456789abcdef0"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'vpc = "vpc-0123456789abcdef0"' in result.stdout


@pytest.mark.terraform
@pytest.mark.parametrize(
    "outputs, shown",
    [
        ({"contract_version": "99.0", "vpc_id": "vpc-1"}, "99.0"),  # another major version
        ({"contract_version": "0.9", "vpc_id": "vpc-1"}, "0.9"),  # an older major version
        ({"vpc_id": "vpc-1"}, "none"),  # a platform from before the contract
    ],
)
def test_an_incompatible_platform_stops_the_plan_with_one_clear_message(
    reader: Path, terraform_env: dict[str, str], outputs: dict[str, Any] | None, shown: str
) -> None:
    result = _plan(reader, terraform_env, outputs)
    assert result.returncode == 1
    major, minor = contract.CONTRACT_VERSION.split(".")
    message = " ".join(result.stderr.split())
    assert f"dev-platform publishes contract_version {shown} in this workspace" in message
    assert f"needs {major}.x with x >= {minor}" in message


@pytest.mark.terraform
def test_no_platform_in_the_workspace_stops_the_plan_naming_the_platform_state(
    reader: Path, terraform_env: dict[str, str]
) -> None:
    result = _plan(reader, terraform_env, None)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "Unable to find remote state with data.terraform_remote_state.platform" in message
    assert "No stored state was found for the given workspace" in message


def test_the_readme_documents_the_contract_as_published() -> None:
    from tools import contract_doc

    readme = (ROOT / "README.md").read_text()
    assert contract_doc.render(readme) == readme, "run python -m tools.contract_doc"
    for output in contract.OUTPUTS:
        assert f"| `{output.name}` |" in readme


def test_platform_ref_reads_contract_outputs_only() -> None:
    from cdktf import App, TerraformStack

    dev = load_app(FIXTURE, environments=["dev"]).environments[0]
    ref = PlatformRef(TerraformStack(App(), "s"), "platform", env=dev)
    assert "vpc_id" not in vars(ref)  # nothing read before it is used
    token = ref.vpc_id
    assert vars(ref)["vpc_id"] is token  # read once, then kept
    with pytest.raises(AttributeError, match="not in the platform's contract"):
        ref.vpc_identifier  # noqa: B018
