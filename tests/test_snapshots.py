"""One snapshot per stack: every change to what Terraform sees shows up in review.

The synthesized JSON of each stack of the sample configuration, with CDKTF's metadata
(`"//"` blocks: construct paths, backend hints) stripped, is compared with the file under
tests/__snapshots__/test_snapshots/. After an intended change, review the diff and update:
`.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import Synth

STACKS = [f"{env}-{part}" for env in ("dev", "prod") for part in ("platform", "api", "cleanup", "web", "worker")]


def _without_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [_without_metadata(v) for v in value]
    return value


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_matches_its_snapshot(synth: Synth, snapshot_json, stack: str) -> None:  # type: ignore[no-untyped-def]
    assert set(synth.stacks) == set(STACKS)
    assert _without_metadata(synth.raw(stack)) == snapshot_json
