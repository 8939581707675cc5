"""The operators' Terraform variables (infra.variables, infra.service.variables,
infra.platform.variables): declared as documented, defaulting to the configuration's values,
wired into their resources, and validated by Terraform itself with the loader's rules.

Terraform evaluates the variable blocks of each stack as synthesized: copied alone into a
root module (no provider, no backend, no credentials), `terraform plan -var ...` runs every
validation exactly as it does before planning the whole stack (validations depend on the
variables only), in a fraction of a second. The end-to-end test plans real changes with
`-var` against the emulator (tests/test_e2e.py, VARIABLE_PLANS).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.platform import variables as platform_variables
from infra.service import variables as service_variables
from tests.config_builder import Project
from tests.conftest import Synth, env_of, jsondoc, only, ref, resources, spec_of, variable

SERVICES = ("web", "api", "worker")
ENVS = ("dev", "prod")


def _declared(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return stack.get("variable", {})


# --- declarations --------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_service_stack_declares_its_knobs_with_the_configured_defaults(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    spec = spec_of(env, service)
    declared = _declared(stack)
    assert sorted(declared) == sorted(k.name for k in service_variables.KNOBS)  # every one, documented
    for knob in service_variables.KNOBS:
        assert (declared[knob.name]["type"], declared[knob.name]["description"]) == (knob.type, knob.description)
    assert declared["image_tag"]["default"] is None and declared["image_tag"]["nullable"] is True
    defaults = {name: declared[name]["default"] for name in ("desired_count", "min_count", "max_count")}
    assert defaults == {"desired_count": spec.desired_count, "min_count": spec.min_count, "max_count": spec.max_count}
    assert all(declared[name]["nullable"] is False for name in defaults)


@pytest.mark.parametrize("env", ENVS)
def test_the_platform_stack_declares_its_knobs_with_the_configured_defaults(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    spec = env_of(env)
    declared = _declared(stack)
    assert sorted(declared) == sorted(k.name for k in platform_variables.KNOBS)
    for knob in platform_variables.KNOBS:
        assert (declared[knob.name]["type"], declared[knob.name]["description"]) == (knob.type, knob.description)
    assert {name: v["default"] for name, v in declared.items()} == {
        "ec2_min_size": spec.cluster.ec2.min_size,
        "ec2_max_size": spec.cluster.ec2.max_size,
        "alb_idle_timeout": spec.load_balancer.idle_timeout,
        "database_backup_retention_days": spec.database.backup_retention_days,
        "database_max_allocated_storage": spec.database.max_allocated_storage,
        "flow_log_retention_days": spec.network.flow_log_retention_days,
    }


@pytest.mark.parametrize("env", ENVS)
def test_platform_knobs_are_wired_into_their_resources(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    flow_logs = [g for g in resources(stack, "aws_cloudwatch_log_group").values() if g["name"].endswith("/flow-logs")]
    assert len(flow_logs) == 1
    variable(stack, flow_logs[0]["retention_in_days"], "flow_log_retention_days")
    variable(stack, only(stack, "aws_lb")["idle_timeout"], "alb_idle_timeout")
    variable(stack, only(stack, "aws_autoscaling_group")["min_size"], "ec2_min_size")
    variable(stack, only(stack, "aws_autoscaling_group")["max_size"], "ec2_max_size")
    db = only(stack, "aws_db_instance")
    variable(stack, db["backup_retention_period"], "database_backup_retention_days")
    variable(stack, db["max_allocated_storage"], "database_max_allocated_storage")
    # Nothing else reads a variable: a knob changes what it is documented to change.
    text = json.dumps({k: v for k, v in stack.items() if k != "variable"})
    assert text.count("${var.") == 6


def test_service_knobs_are_wired_into_their_resources(synth: Synth) -> None:
    stack = synth.stack("dev-web")
    variable(stack, only(stack, "aws_ecs_service")["desired_count"], "desired_count")
    target = only(stack, "aws_appautoscaling_target")
    variable(stack, target["min_capacity"], "min_count")
    variable(stack, target["max_capacity"], "max_count")
    image = jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])[0]["image"]
    recorded = ref(stack, "aws_ssm_parameter", "service/image-tag", "insecure_value")[2:-1]
    reference = f"coalesce(var.image_tag, {recorded})"
    # `@` before a digest, `:` before a tag.
    assert image.endswith(f'${{startswith({reference}, "sha256:") ? "@" : ":"}}${{{reference}}}')
    # The parameter keeps the pipeline's digest: a pin never writes it.
    assert only(stack, "aws_ssm_parameter")["lifecycle"] == {"ignore_changes": ["insecure_value"]}
    text = json.dumps({k: v for k, v in stack.items() if k != "variable"})
    assert text.count("var.") == 5


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """An environment without EC2 capacity or database, and a service with an external image."""
    from infra.app import build_app

    project = Project(tmp_path_factory.mktemp("lean"))
    project.env(cluster={"ec2": {"enabled": False}}, database={"enabled": False})
    project.service(image={"source": "external", "uri": "public.ecr.aws/nginx/nginx:1.27"})
    outdir = tmp_path_factory.mktemp("lean-out") / "cdktf.out"
    build_app(project.load(), outdir=str(outdir)).synth()
    return Synth(outdir)


def test_knobs_of_parts_that_are_off_are_not_declared(lean: Synth) -> None:
    assert sorted(_declared(lean.stack("dev-platform"))) == ["alb_idle_timeout", "flow_log_retention_days"]
    # An external image's URI names its own tag: there is no pipeline tag to pin.
    assert sorted(_declared(lean.stack("dev-web"))) == ["desired_count", "max_count", "min_count"]
    image = jsondoc(only(lean.stack("dev-web"), "aws_ecs_task_definition")["container_definitions"])[0]["image"]
    assert image == "public.ecr.aws/nginx/nginx:1.27"


# --- Terraform evaluates the validations ---------------------------------------------
def _variables_only(stack: dict[str, Any], directory: Path, env: dict[str, str]) -> Path:
    directory.mkdir()
    (directory / "variables.tf.json").write_text(json.dumps({"variable": stack["variable"]}, indent=2))
    subprocess.run(["terraform", "init", "-input=false", "-no-color"], cwd=directory, env=env, check=True, capture_output=True)
    return directory


def _plan(directory: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", "plan", "-input=false", "-no-color", "-lock=false", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# (stack, -var values, the message Terraform must print). dev-api: min 1, max 4 in dev, and a
# schedule "night" with min_count 1. dev-platform: database allocated_storage 20.
REFUSED = [
    ("dev-api", {"image_tag": "v1 beta"}, 'image_tag: "v1 beta" is not an image tag'),
    ("dev-api", {"image_tag": ".hidden"}, 'image_tag: ".hidden" is not an image tag'),
    ("dev-api", {"image_tag": ""}, 'image_tag: "" is not an image tag'),
    ("dev-api", {"image_tag": "sha256:abc"}, 'image_tag: "sha256:abc" is not an image tag'),
    ("dev-api", {"desired_count": "2.5"}, "desired_count: 2.5 is not a whole number in 0..1000."),
    ("dev-api", {"desired_count": "-1"}, "desired_count: -1 is not a whole number in 0..1000."),
    ("dev-api", {"desired_count": "9"}, "desired_count: 9 is outside min_count..max_count (1..4)."),
    ("dev-api", {"max_count": "0", "min_count": "0", "desired_count": "0"}, "max_count: 0 is not a whole number in 1..1000."),
    ("dev-api", {"min_count": "5", "max_count": "3"}, "min_count: 5 is greater than max_count 3."),
    ("dev-api", {"min_count": "2", "desired_count": "2"}, "min_count: 2 is above the min_count 1 of the schedule 'night'"),
    ("dev-platform", {"ec2_min_size": "3", "ec2_max_size": "2"}, "ec2_min_size: 3 is greater than ec2_max_size 2."),
    ("dev-platform", {"ec2_max_size": "1001"}, "ec2_max_size: 1001 is not a whole number in 1..1000."),
    ("dev-platform", {"alb_idle_timeout": "0"}, "alb_idle_timeout: 0 is not a whole number in 1..4000."),
    ("dev-platform", {"database_backup_retention_days": "0"}, "database_backup_retention_days: 0 is not a whole number in 1..35."),
    ("dev-platform", {"database_max_allocated_storage": "19"}, "database_max_allocated_storage: 19 is not a whole number in 20..65536."),
    ("dev-platform", {"flow_log_retention_days": "10"}, "flow_log_retention_days: 10 is not allowed (valid: 1, 3, 5, 7, 14, 30,"),
]
ACCEPTED = [
    ("dev-api", {}),
    ("dev-api", {"image_tag": "3f2c1a9b7d4e", "max_count": "8"}),
    ("dev-api", {"image_tag": "sha256:" + "0123456789abcdef" * 4}),
    ("dev-api", {"min_count": "0", "desired_count": "0", "max_count": "1"}),
    ("dev-platform", {}),
    ("dev-platform", {"ec2_min_size": "1", "ec2_max_size": "6", "alb_idle_timeout": "300"}),
    ("dev-platform", {"database_backup_retention_days": "35", "database_max_allocated_storage": "1000", "flow_log_retention_days": "3653"}),
]


@pytest.fixture(scope="module")
def roots(synth: Synth, terraform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("variables")
    return {name: _variables_only(synth.stack(name), base / name, terraform_env) for name in ("dev-api", "dev-platform")}


@pytest.mark.terraform
@pytest.mark.parametrize("stack, values, message", REFUSED, ids=[f"{s}-{'-'.join(v)}" for s, v, _ in REFUSED])
def test_terraform_refuses_a_bad_var_with_the_loaders_rule(
    roots: dict[str, Path], terraform_env: dict[str, str], stack: str, values: dict[str, str], message: str
) -> None:
    result = _plan(roots[stack], terraform_env, *(f"-var={k}={v}" for k, v in values.items()))
    assert result.returncode == 1, result.stdout
    assert "Invalid value for variable" in result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr


@pytest.mark.terraform
@pytest.mark.parametrize("stack, values", ACCEPTED, ids=[f"{s}-{'-'.join(v) or 'defaults'}" for s, v in ACCEPTED])
def test_terraform_accepts_good_vars_and_the_defaults(
    roots: dict[str, Path], terraform_env: dict[str, str], stack: str, values: dict[str, str]
) -> None:
    result = _plan(roots[stack], terraform_env, *(f"-var={k}={v}" for k, v in values.items()))
    assert result.returncode == 0, result.stderr
    assert "No changes." in result.stdout


@pytest.mark.terraform
def test_a_var_file_is_read_like_the_var_flags(roots: dict[str, Path], terraform_env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "ops.tfvars"
    good.write_text('image_tag = "3f2c1a9b7d4e"\nmax_count = 6\ndesired_count = 3\n')
    assert _plan(roots["dev-api"], terraform_env, "-var-file=" + str(good)).returncode == 0
    bad = tmp_path / "bad.tfvars"
    bad.write_text("max_count = 2.5\n")
    result = _plan(roots["dev-api"], terraform_env, "-var-file=" + str(bad))
    assert result.returncode == 1 and "max_count: 2.5 is not a whole number in 1..1000." in result.stderr


def test_the_readme_documents_the_variables_as_declared() -> None:
    from tests.conftest import ROOT
    from tools import variables_doc

    readme = (ROOT / "README.md").read_text()
    assert variables_doc.render(readme) == readme, "run python -m tools.variables_doc"
    for knob in (*service_variables.KNOBS, *platform_variables.KNOBS):
        assert f"| `{knob.name}` |" in readme
