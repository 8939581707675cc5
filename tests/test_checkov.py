"""Checkov on every synthesized stack of every environment: zero failed checks.

Skips live only in `.checkov.yaml`, one reason per line, at most eight.

Checkov 3.3's terraform_json parser cannot read `moved` or `import` blocks (its
`handle_block_type` passes each block's `from` / `to` / `id` string to `hclify`, which raises
"this method receives only dicts", and the whole file is then skipped as a parsing error).
Those blocks only say where state lives, nothing Checkov checks, so it scans a copy of every
stack without them; the test below fails if any stack is still unparsable.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, Synth

MAX_SKIPS = 8
# Top-level blocks Checkov's terraform_json parser cannot read (see the module's doc).
STATE_ONLY_BLOCKS = ("moved", "import", "removed")
# Findings accepted for one kind of resource only (the check stays live for every other
# resource): (check, pattern of the resource address, why[, a resource type the stack must
# hold for the finding to be accepted there]).
ACCEPTED = [
    (
        "CKV2_AWS_34",
        r"^aws_ssm_parameter\.image_tag$",
        "the deployed image tag is not a secret: a plain String, so plans show image changes",
    ),
    (
        "CKV2_AWS_5",
        r"^aws_security_group\.[a-z0-9_]+$",
        "a job's group is attached to its tasks by the schedule's ECS network configuration; Checkov 3.3's "
        "list of attaching resource types (SGAttachedToResource) has aws_cloudwatch_event_target, not aws_scheduler_schedule",
        "aws_scheduler_schedule",
    ),
]


def _skips() -> list[tuple[str, str]]:
    text = (ROOT / ".checkov.yaml").read_text()
    return re.findall(r"^\s*-\s*(CKV2?_[A-Z0-9_]+)\s*#\s*(.+)$", text, flags=re.MULTILINE)


def test_skips_are_few_and_each_has_a_reason() -> None:
    skips = _skips()
    listed = re.findall(r"CKV2?_[A-Z]+_[0-9]+", (ROOT / ".checkov.yaml").read_text().split("skip-check:")[1])
    assert len(listed) == len(skips), "every skipped check needs a '# reason' on its line"
    assert len(skips) <= MAX_SKIPS
    assert all(len(reason.strip()) > 15 for _, reason in skips)


def _accepted(check_id: str, resource: str, stack: dict | None = None) -> bool:
    for check, pattern, _, *holds in ACCEPTED:
        if check_id == check and re.match(pattern, resource):
            if not holds or (stack is not None and holds[0] in stack.get("resource", {})):
                return True
    return False


def test_accepted_findings_are_scoped_to_one_resource_kind() -> None:
    assert _accepted("CKV2_AWS_34", "aws_ssm_parameter.image_tag")
    assert not _accepted("CKV2_AWS_34", "aws_ssm_parameter.database_password")
    assert not _accepted("CKV2_AWS_34", "aws_ssm_parameter.image_tag_copy")
    assert not _accepted("CKV_AWS_1", "aws_ssm_parameter.image_tag")
    job = {"resource": {"aws_scheduler_schedule": {"cleanup": {}}, "aws_security_group": {"cleanup": {}}}}
    assert _accepted("CKV2_AWS_5", "aws_security_group.cleanup", job)
    assert not _accepted("CKV2_AWS_5", "aws_security_group.web", {"resource": {"aws_security_group": {"web": {}}}})
    assert not _accepted("CKV2_AWS_5", "aws_security_group.web")
    assert all(len(entry[2]) > 15 for entry in ACCEPTED)


@pytest.mark.terraform
def test_checkov_finds_no_failed_check(synth: Synth, tmp_path: Path) -> None:
    checkov = Path(sys.executable).with_name("checkov")
    scanned = tmp_path / "stacks"
    for name, stack in synth.stacks.items():
        (scanned / name).mkdir(parents=True)
        readable = {key: value for key, value in stack.items() if key not in STATE_ONLY_BLOCKS}
        (scanned / name / "cdk.tf.json").write_text(json.dumps(readable, indent=2))
    result = subprocess.run(
        [str(checkov), "-d", str(scanned), "--config-file", str(ROOT / ".checkov.yaml"), "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({Path(check['file_path']).parent.name}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
        if not _accepted(check["check_id"], check["resource"], synth.stacks[Path(check["file_path"]).parent.name])
    ]
    # With --quiet the JSON lists only failures; the summary still counts what passed.
    passed = sum(report.get("summary", {}).get("passed", 0) for report in reports)
    assert passed > 100, "Checkov scanned almost nothing: is the synthesized output where it looks?"
    # Every stack (the platform's and each service's) was read: none was skipped as unparsable.
    assert sum(report.get("summary", {}).get("parsing_errors", 0) for report in reports) == 0
    assert not failed, f"{len(failed)} failed checks:\n" + "\n".join(sorted(failed))
