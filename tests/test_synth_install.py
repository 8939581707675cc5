"""`make synth` installs a synthesis into cdktf.out/ without losing Terraform's own files."""

from __future__ import annotations

import json
from pathlib import Path

from tools.stacks import install


def synthesis(root: Path, stacks: dict[str, list[str]]) -> Path:
    """A synthesis output as CDKTF writes it: stack name -> dependencies."""
    root.mkdir(parents=True)
    manifest = {"version": "0.21.0", "stacks": {}}
    for name, dependencies in stacks.items():
        (root / "stacks" / name).mkdir(parents=True)
        (root / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"synthesis": str(root), "stack": name}))
        manifest["stacks"][name] = {"name": name, "dependencies": dependencies, "workingDirectory": f"stacks/{name}"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_stacks_are_replaced_in_place_keeping_terraform_state_of_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    install(synthesis(tmp_path / "first", {"dev-platform": [], "dev-web": ["dev-platform"]}), out, prune=True)
    terraform = out / "stacks" / "dev-web" / ".terraform"
    terraform.mkdir()
    (terraform / "environment").write_text("pr-42")
    (out / "stacks" / "dev-web" / ".terraform.lock.hcl").write_text("# lock")
    install(synthesis(tmp_path / "second", {"dev-platform": [], "dev-web": ["dev-platform"]}), out, prune=True)
    assert (terraform / "environment").read_text() == "pr-42"
    assert (out / "stacks" / "dev-web" / ".terraform.lock.hcl").read_text() == "# lock"
    assert "second" in (out / "stacks" / "dev-web" / "cdk.tf.json").read_text()


def test_a_full_synthesis_removes_stacks_that_no_longer_exist_in_its_environments(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    install(synthesis(tmp_path / "a", {"dev-platform": [], "dev-worker": [], "prod-platform": [], "prod-worker": []}), out, prune=True)
    install(synthesis(tmp_path / "b", {"dev-platform": []}), out, prune=True)  # ENVS=dev, worker removed
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["dev-platform", "prod-platform", "prod-worker"]
    assert sorted(json.loads((out / "manifest.json").read_text())["stacks"]) == ["dev-platform", "prod-platform", "prod-worker"]


def test_a_synthesis_of_some_services_replaces_only_theirs_and_keeps_their_deploy_order(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    install(synthesis(tmp_path / "a", {"dev-platform": [], "dev-web": ["dev-platform"], "dev-api": ["dev-platform", "dev-web"]}), out, prune=True)
    install(synthesis(tmp_path / "b", {"dev-api": []}), out, prune=False)  # SERVICES=api: no platform stack
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["dev-api", "dev-platform", "dev-web"]
    assert "/b" in (out / "stacks" / "dev-api" / "cdk.tf.json").read_text()
    assert "/a" in (out / "stacks" / "dev-web" / "cdk.tf.json").read_text()
    manifest = json.loads((out / "manifest.json").read_text())["stacks"]
    assert manifest["dev-api"]["dependencies"] == ["dev-platform", "dev-web"]


def test_a_full_synthesis_records_its_own_deploy_order(tmp_path: Path) -> None:
    """A backend whose allow_from no longer names a caller no longer waits for it."""
    out = tmp_path / "cdktf.out"
    install(synthesis(tmp_path / "a", {"dev-platform": [], "dev-web": ["dev-platform"], "dev-api": ["dev-platform", "dev-web"]}), out, prune=True)
    install(synthesis(tmp_path / "b", {"dev-platform": [], "dev-web": ["dev-platform"], "dev-api": ["dev-platform"]}), out, prune=True)
    assert json.loads((out / "manifest.json").read_text())["stacks"]["dev-api"]["dependencies"] == ["dev-platform"]
