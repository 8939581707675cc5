"""`make doctor` (tools/doctor.py): each problem on a `PROBLEM` line with its `fix:`, exit 1.

Run as `make doctor` runs it (`python -m tools.doctor` in the project), in a copy of the project
with a PATH made for the test: no terraform, or one that reports an old version; AWS endpoints
on a closed local port (nothing answers) or on the emulator (the bucket is there or not).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from localaws import running
from tests.conftest import ROOT
from tools.doctor import provider_version


@pytest.fixture()
def project(project_copy: Path) -> Path:
    for name in ("Pipfile", "Pipfile.lock", "package.json"):
        shutil.copy2(ROOT / name, project_copy / name)
    for name in (".venv", "node_modules"):
        (project_copy / name).symlink_to(ROOT / name)
    # The copy's lock file is as old as the install it borrows, whatever the checkout's mtimes
    # (a worktree's Pipfile.lock can be newer than a shared .venv): these tests are about the
    # other checks, and the python check's own staleness rule is not what they count.
    synced = ROOT / ".venv" / ".synced"
    if synced.exists():
        stamp = synced.stat().st_mtime - 1
        os.utime(project_copy / "Pipfile.lock", (stamp, stamp))
    return project_copy


def tool_dir(tmp_path: Path, *, terraform_version: str | None) -> Path:
    """A PATH folder with the real node and npm, and a terraform that reports `terraform_version`
    (none at all when None)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("node", "npm"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed by this test"
        (bin_dir / tool).symlink_to(found)
    if terraform_version is not None:
        fake = bin_dir / "terraform"
        answer = json.dumps({"terraform_version": terraform_version, "platform": "linux_amd64"})
        fake.write_text(f"#!/bin/sh\necho '{answer}'\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def mirror(tmp_path: Path, *, holds_provider: bool) -> Path:
    root = tmp_path / "mirror"
    aws = root / "registry.terraform.io" / "hashicorp" / "aws"
    (aws / provider_version(ROOT) / "linux_amd64" if holds_provider else aws).mkdir(parents=True)
    return root


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def doctor(project: Path, env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    result = subprocess.run([sys.executable, "-m", "tools.doctor", *args], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.stderr == "", result.stderr
    return result.returncode, result.stdout.splitlines()


def base_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(PATH=str(bin_dir), HOME=str(bin_dir.parent), **extra)
    return env


def problem(lines: list[str], name: str) -> tuple[str, str]:
    """The (problem, fix) lines of one check."""
    for i, line in enumerate(lines):
        if line.startswith("PROBLEM") and line.split()[1:3][: len(name.split())] == name.split():
            return line, lines[i + 1].strip()
    raise AssertionError(f"no problem for {name}: {lines}")


def test_a_missing_terraform_and_an_unreachable_s3_backend_are_problems_with_fixes(project: Path, tmp_path: Path) -> None:
    port = closed_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = base_env(
        tool_dir(tmp_path, terraform_version=None),
        TF_PROVIDER_MIRROR=str(mirror(tmp_path, holds_provider=True)),
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_ENDPOINT_URL_STS=endpoint,
        AWS_ENDPOINT_URL_S3=endpoint,
    )
    code, lines = doctor(project, env, "--env", "prod")
    assert code == 1
    line, fix = problem(lines, "terraform")
    assert line.endswith("terraform is not on PATH")
    assert fix == "fix: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)"
    line, fix = problem(lines, "credentials")
    assert f"cannot reach STS at {endpoint}" in line and fix.startswith("fix: check the network or proxy")
    line, fix = problem(lines, "backend prod")
    assert f"s3://example-platform-terraform-state: cannot reach S3 at {endpoint}" in line
    assert fix == "fix: check the network or proxy (and AWS_ENDPOINT_URL_S3 if set)"
    assert [ln.split()[:2] for ln in lines if ln.startswith("ok")][-2:] == [["ok", "provider"], ["ok", "config"]]
    assert lines[-1] == "3 problems found."


def test_an_old_terraform_a_dangling_cli_config_and_a_mirror_without_the_provider(project: Path, tmp_path: Path) -> None:
    env = base_env(
        tool_dir(tmp_path, terraform_version="1.5.7"),
        TF_PROVIDER_MIRROR=str(mirror(tmp_path, holds_provider=False)),
        TF_CLI_CONFIG_FILE=str(tmp_path / "missing.tfrc"),
    )
    code, lines = doctor(project, env, "--env", "dev")
    assert code == 1
    terraform = [ln for ln in lines if ln.split()[1:2] == ["terraform"]]
    assert terraform[0].endswith(f"TF_CLI_CONFIG_FILE={tmp_path / 'missing.tfrc'} does not exist: Terraform (and cdktf through it) warns about it on every command")
    assert "Terraform 1.5.7 is older than 1.10" in terraform[1]
    line, fix = problem(lines, "provider")
    assert f"holds no hashicorp/aws {provider_version(ROOT)} for linux_amd64" in line
    assert fix.startswith("fix: terraform providers mirror -platform=linux_amd64")
    line, fix = problem(lines, "credentials")
    assert line.endswith("no AWS credentials: none in the environment, ~/.aws/config profiles, SSO or an instance role")
    assert "backend dev" in " ".join(ln for ln in lines if ln.startswith("ok"))  # a local backend needs no AWS


def test_credentials_and_the_state_bucket_that_answer_are_ok_and_a_missing_bucket_is_not(project: Path, tmp_path: Path) -> None:
    with running() as endpoint:
        env = base_env(
            tool_dir(tmp_path, terraform_version="1.11.4"),
            TF_PROVIDER_MIRROR=str(mirror(tmp_path, holds_provider=True)),
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_ENDPOINT_URL_STS=endpoint,
            AWS_ENDPOINT_URL_S3=endpoint,
        )
        code, lines = doctor(project, env, "--env", "prod")
        assert code == 1
        line, fix = problem(lines, "backend prod")
        assert line.endswith("s3://example-platform-terraform-state does not exist")
        assert fix == "fix: create it in us-east-1 (versioning and encryption on), or correct backend.bucket"
        assert "ok       credentials    account 123456789012 as arn:aws:sts::123456789012:user/moto" in lines

        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket="example-platform-terraform-state")
        code, lines = doctor(project, env, "--env", "prod")
    assert "ok       backend prod   s3://example-platform-terraform-state in us-east-1 answers" in lines
    assert "ok       terraform      Terraform 1.11.4 (linux_amd64)" in lines
    # Only the machine's own Python install may differ; everything this test set up passes.
    problems = [ln.split()[1] for ln in lines if ln.startswith("PROBLEM")]
    assert set(problems) <= {"python"}, lines
    assert (code, lines[-1]) == ((1, "1 problem found.") if problems else (0, "Everything needed is in place."))
