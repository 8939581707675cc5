"""Where moto's answers differ from AWS's in a way a second `terraform plan` notices.

Every entry names the resource type, the attribute and the reason. The end-to-end test
accepts a planned update only when every changed attribute is listed here for that
type; anything else (in particular anything our configuration causes) fails it.
Most gaps are closed by shims in `localaws.shims` instead; this list holds the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# (resource type, attribute): reason
KNOWN_DRIFT: dict[tuple[str, str], str] = {}


def _changed_attributes(change: Mapping[str, Any]) -> set[str]:
    before = change["change"].get("before") or {}
    after = change["change"].get("after") or {}
    return {key for key in set(before) | set(after) if before.get(key) != after.get(key)}


def unexplained(changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """The planned changes that KNOWN_DRIFT does not explain, as readable lines."""
    lines = []
    for change in changes:
        actions = change["change"]["actions"]
        attributes = _changed_attributes(change)
        explained = actions == ["update"] and attributes and all((change["type"], a) in KNOWN_DRIFT for a in attributes)
        if not explained:
            lines.append(f"{change['address']}: {'/'.join(actions)} {sorted(attributes)}")
    return lines
