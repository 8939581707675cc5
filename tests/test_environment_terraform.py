"""`make plan/deploy/destroy` with the real terraform binary, on two small stacks that need no
provider (`terraform_data`, built into Terraform) and no network: a platform and a service that
reads the platform's state, with the local backend laid out as our stacks lay it out. What the
fake terraform of tests/test_environment.py stands for is Terraform's own behaviour here:
the plan JSON's counts (a replacement as one add and one destroy), `workspace select
-or-create`, remote state per workspace, a failing apply's diagnostic, reverse destroy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools import environment

pytestmark = pytest.mark.terraform


def local_backend(stack: str) -> dict[str, Any]:
    # As infra/stacks.py writes it: state beside the project, workspaces under terraform.tfstate.d/.
    return {"local": {"path": f"../../../terraform.{stack}.tfstate", "workspace_dir": f"../../../terraform.tfstate.d/{stack}"}}


def platform(size: int = 1) -> dict[str, Any]:
    return {
        "terraform": {"backend": local_backend("dev-platform")},
        "resource": {"terraform_data": {"network": {"input": "vpc"}, "cluster": {"input": size}}},
        "output": {"contract_version": {"value": "1.0"}, "cluster": {"value": "${terraform_data.cluster.output}"}},
    }


def web(image: str = "v1", port: int = 8080, failing: bool = False) -> dict[str, Any]:
    resources: dict[str, Any] = {
        # Reads the platform of its own workspace, as our service stacks do.
        "service": {"input": {"port": port, "cluster": "${data.terraform_remote_state.platform.outputs.cluster}"}},
        "task": {"input": image, "triggers_replace": [image]},
    }
    if failing:
        resources["listener_rule"] = {
            "provisioner": [{"local-exec": {"command": "echo 'priority 100 is taken by another rule' >&2; exit 3"}}]
        }
    return {
        "terraform": {"backend": local_backend("dev-web")},
        "data": {
            "terraform_remote_state": {
                "platform": {"backend": "local", "config": {"path": "../../../terraform.dev-platform.tfstate", "workspace_dir": "../../../terraform.tfstate.d/dev-platform"}, "workspace": "${terraform.workspace}"}
            }
        },
        "resource": {"terraform_data": resources},
    }


def write(root: Path, stacks: dict[str, dict[str, Any]]) -> None:
    """What a synthesis leaves in cdktf.out/: the stacks and the manifest's order."""
    out = root / "cdktf.out"
    for name, document in stacks.items():
        (out / "stacks" / name).mkdir(parents=True, exist_ok=True)
        (out / "stacks" / name / "cdk.tf.json").write_text(json.dumps(document))
    manifest = {"stacks": {"dev-platform": {"dependencies": []}, "dev-web": {"dependencies": ["dev-platform"]}}}
    (out / "manifest.json").write_text(json.dumps(manifest))


def rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("dev-", "total"))}


def test_plan_deploy_change_workspaces_failure_and_destroy_with_terraform(
    tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in terraform_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TF_WORKSPACE", raising=False)
    root = tmp_path
    (root / "environments").mkdir()
    (root / "environments" / "dev.toml").write_text("")
    write(root, {"dev-platform": platform(), "dev-web": web()})

    def run(action: str, **kwargs: Any) -> tuple[int, str]:
        code = environment.run(action, root=root, env="dev", synth=False, **kwargs)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    # 1. Nothing deployed: the platform plans 2 creates; the service, which reads the
    #    platform's state, is not planned (its plan would fail on the missing state).
    code, out = run("plan")
    assert code == 0, out
    assert rows(out)["dev-platform"] == ["2", "0", "0", "not", "deployed", "yet"]
    assert rows(out)["dev-web"][:3] == ["-", "-", "-"] and "not planned: dev-platform not deployed in workspace default yet" in out

    # 2. Deploy: platform, then the service; one line each with Terraform's counts.
    code, out = run("deploy")
    assert code == 0, out
    progress = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert [p[0] for p in progress] == ["dev-platform", "dev-web"]
    assert out.count("(2 added, 0 changed, 0 destroyed)") == 2
    code, out = run("plan")
    assert code == 0, out
    assert rows(out)["total"] == ["0", "0", "0"]

    # 3. A change in place and a replacement: the replacement counts as one add and one destroy.
    write(root, {"dev-platform": platform(), "dev-web": web(image="v2", port=9090)})
    code, out = run("plan")
    assert code == 0, out
    assert rows(out)["dev-platform"] == ["0", "0", "0"]
    assert rows(out)["dev-web"] == ["1", "1", "1", "1", "replaced"]
    assert rows(out)["total"] == ["1", "1", "1"]

    # 4. Another workspace is another copy: created on first use, nothing deployed there.
    code, out = run("plan", workspace="pr-7")
    assert code == 0, out
    assert rows(out)["dev-platform"] == ["2", "0", "0", "not", "deployed", "yet"]
    assert "not planned: dev-platform not deployed in workspace pr-7 yet" in out
    assert (root / "terraform.tfstate.d" / "dev-platform" / "pr-7").is_dir()

    # 5. A failing apply stops the deploy and says which stack and why (its first error).
    write(root, {"dev-platform": platform(size=2), "dev-web": web(failing=True)})
    code, out = run("deploy")
    assert code == 1, out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: dev-web: terraform apply failed: local-exec provisioner error")
    assert "priority 100 is taken by another rule" in errors[0] and "(terraform_data.listener_rule)" in errors[0]
    assert "dev-platform  applied in" in out  # the platform's change went first
    assert "Error: local-exec provisioner error" in (root / ".build" / "logs" / "dev" / "dev-web.deploy.log").read_text()

    # 6. Destroy, services first; nothing is left in either state.
    write(root, {"dev-platform": platform(size=2), "dev-web": web()})
    code, out = run("destroy", auto_approve=True)
    assert code == 0, out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("    ")] == ["dev-web", "dev-platform"]
    for stack in ("dev-platform", "dev-web"):
        state = json.loads((root / f"terraform.{stack}.tfstate").read_text())
        assert state["resources"] == [], stack
