"""No input makes the loader crash: any change to the samples loads or fails with one
ConfigError line (file, field, message), never a traceback or pydantic's own wording."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.config import ConfigError, load_app
from tests.config_builder import to_toml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {
    **{f"environments/{p.name}": tomllib.loads(p.read_text()) for p in sorted((ROOT / "environments").glob("*.toml"))},
    **{f"services/{p.parent.name}/service.toml": tomllib.loads(p.read_text()) for p in sorted((ROOT / "services").glob("*/service.toml"))},
}
VALUES = st.one_of(
    st.none(),  # deletes the key
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(["us-east-1", "FARGATE", "EC2", "10.0.0.0/8", "cron(0 0 ? * * *)", "aws:x", "*", "0", "a" * 300]),
    st.lists(st.one_of(st.integers(), st.text(max_size=10)), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=2),
    st.just([{}]),
)


def _paths(node: dict[str, Any], prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    for key, value in node.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _paths(item, (*prefix, key, i))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_change_loads_or_fails_with_one_line(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    files = copy.deepcopy(SAMPLES)
    for _ in range(data.draw(st.integers(1, 3))):
        rel = data.draw(st.sampled_from(sorted(files)))
        path = data.draw(st.sampled_from(list(_paths(files[rel]))))
        node: Any = files[rel]
        for part in path[:-1]:
            node = node[part]
        value = data.draw(VALUES)
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        if data.draw(st.booleans()):
            node[data.draw(st.sampled_from(["typo", "nmae", "Port"]))] = 1
    root = tmp_path_factory.mktemp("fuzz")
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_toml(content))
        if rel.startswith("services/"):
            (target.parent / "Dockerfile").write_text("FROM scratch\n")
    try:
        load_app(root)
    except ConfigError as error:
        text = str(error)
        assert "\n" not in text and error.file in files, text
        assert not any(words in text for words in ("Input should", "validation error", "Value error")), text
