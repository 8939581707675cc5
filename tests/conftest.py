"""Shared fixtures: one synthesis of the default app per test session."""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from infra import speedups

# Before anything imports jsii or the provider (infra.naming does), as main.py does: the kernel
# speed-ups act when the kernel starts. The switch as main.py reads it, but the cyclic GC stays
# on in a test process that lives for many synths. tests/test_speedups.py checks none fell back.
SPEEDUPS = speedups.install(os.environ.get(speedups.SWITCH, "all") + ",-gc")

from infra import naming  # noqa: E402
from infra.config import load_app  # noqa: E402
from infra.config.specs import EnvironmentSpec, ServiceSpec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The configuration the construct tests synthesize: the tests' own, not the samples.
FIXTURE = ROOT / "tests" / "fixtures" / "app"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Property tests draw the same examples on every run, so `make test` (and CI) is repeatable: a new
# random failure must not turn main red on a run nobody changed. `make fuzz` explores at random.
settings.register_profile("repeatable", max_examples=80, derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

class Synth:
    """The synthesized JSON of every stack, read once: `raw(name)` as written, `stack(name)` with
    every name as Terraform evaluates it in the `default` workspace (`in_default`)."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.raw_stacks: dict[str, dict[str, Any]] = {
            path.parent.name: json.loads(path.read_text()) for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
        }
        self.stacks: dict[str, dict[str, Any]] = {name: in_default(stack) for name, stack in self.raw_stacks.items()}

    def stack(self, name: str) -> dict[str, Any]:
        return self.stacks[name]

    def raw(self, name: str) -> dict[str, Any]:
        return self.raw_stacks[name]

    def stack_dir(self, name: str) -> Path:
        return self.outdir / "stacks" / name


# The two expression forms infra.naming writes around names, evaluated for `default`.
DEFAULT_PREFIX = re.compile(r'^\$\{terraform\.workspace == "default" \? "([a-z0-9]+)" : ')
BASE64 = re.compile(r'^\$\{base64encode\(("(?:[^"\\]|\\.)*")\)\}$', re.S)


def in_default(stack: dict[str, Any]) -> dict[str, Any]:
    """The stack's JSON with its names as they are in the `default` workspace: the environment
    name for `${local.name_prefix}`, and `${base64encode("...")}` of a script with the name in
    it evaluated (the scheme of infra.naming, which keeps every name of `default` as it was).
    Tests that assert literal names assert them here; tests of the scheme itself read the raw JSON."""
    prefix = stack.get("locals", {}).get("name_prefix")
    if prefix is None:
        return stack
    match = DEFAULT_PREFIX.match(prefix)
    env = match.group(1) if match else prefix  # the cloud backend: the environment's name itself
    # Another environment's names (a pipeline that deploys it: infra.naming.Names.peer_prefix).
    peers = {}
    for local, value in stack.get("locals", {}).items():
        if local.endswith("_name_prefix") and local != "name_prefix":
            peer = DEFAULT_PREFIX.match(value)
            peers["${local.%s}" % local] = peer.group(1) if peer else value

    def evaluate(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: evaluate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [evaluate(v) for v in value]
        if isinstance(value, str):
            value = naming.in_default(value, env)
            for reference, name in peers.items():
                value = value.replace(reference, name)
            encoded = BASE64.match(value)
            if encoded:
                return base64.b64encode(json.loads(encoded.group(1)).encode()).decode()
        return value

    return {key: value if key == "locals" else evaluate(value) for key, value in stack.items()}


def load_stack(path: Path) -> dict[str, Any]:
    """A synthesized `cdk.tf.json`, with its names as they are in the `default` workspace."""
    return in_default(json.loads(path.read_text()))


def resources(stack: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """The resources of one Terraform type in a stack, by logical id."""
    return stack.get("resource", {}).get(type_, {})


def data_sources(stack: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return stack.get("data", {}).get(type_, {})


def only(stack: dict[str, Any], type_: str) -> dict[str, Any]:
    items = resources(stack, type_)
    assert len(items) == 1, f"expected exactly one {type_}, found {sorted(items)}"
    return next(iter(items.values()))


def by_path(stack: dict[str, Any], type_: str, suffix: str) -> dict[str, Any]:
    """The resource of `type_` whose construct path ends with `suffix`."""
    found = [r for r in resources(stack, type_).values() if r["//"]["metadata"]["path"].endswith(suffix)]
    assert len(found) == 1, f"expected one {type_} at */{suffix}, found {len(found)}"
    return found[0]


# A service stack's read of the platform's contract, e.g. ${data.terraform_remote_state.platform.outputs.vpc_id}
REMOTE = re.compile(r"^\$\{data\.terraform_remote_state\.platform\.outputs\.([a-z0-9_]+)\}$")


def logical_id(stack: dict[str, Any], type_: str, suffix: str, *, data: bool = False) -> str:
    """The logical id of the one resource (or data source) of `type_` whose construct path ends with `suffix`."""
    items = data_sources(stack, type_) if data else resources(stack, type_)
    found = [k for k, v in items.items() if v["//"]["metadata"]["path"].endswith(suffix)]
    assert len(found) == 1, f"expected one {type_} at */{suffix}, found {found}"
    return found[0]


def ref(stack: dict[str, Any], type_: str, suffix: str, attribute: str, *, data: bool = False) -> str:
    """The interpolation of one attribute of the resource (or data source) at */suffix."""
    return f"${{{'data.' if data else ''}{type_}.{logical_id(stack, type_, suffix, data=data)}.{attribute}}}"


def jsondoc(value: str) -> Any:
    """The document a JSON-valued attribute holds, as `json.loads` of its text would give it:
    `${jsonencode(...)}` (infra.expressions) read back, with a reference as its interpolation
    (`"${aws_x.y.arn}"`), or a literal JSON text."""
    if not (value.startswith("${jsonencode(") and value.endswith(")}")):
        return json.loads(value)
    from tools.hcl_syntax import tokenize

    tokens = [t for t in tokenize(value[len("${jsonencode(") : -2]) if t.kind not in ("newline", "comment")]
    result, end = _hcl_value(tokens, 0)
    assert end == len(tokens), f"trailing tokens after the document: {tokens[end:]}"
    return result


def _hcl_string(text: str) -> str:
    """A quoted HCL template without interpolations of its own as a Python string (its `${...}`
    references kept as written)."""
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        if body[i] == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}[nxt])
            i += 2
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i + 1 : i + 3])
            i += 3
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _hcl_value(tokens: list[Any], i: int) -> tuple[Any, int]:
    token = tokens[i]
    if token.text == "{":
        obj, i = {}, i + 1
        while tokens[i].text != "}":
            key = _hcl_string(tokens[i].text) if tokens[i].kind == "string" else tokens[i].text
            assert tokens[i + 1].text in ("=", ":"), tokens[i + 1]
            obj[key], i = _hcl_value(tokens, i + 2)
            i += 1 if tokens[i].text == "," else 0
        return obj, i + 1
    if token.text == "[":
        items, i = [], i + 1
        while tokens[i].text != "]":
            item, i = _hcl_value(tokens, i)
            items.append(item)
            i += 1 if tokens[i].text == "," else 0
        return items, i + 1
    if token.kind == "string":
        return _hcl_string(token.text), i + 1
    if token.kind == "number":
        return json.loads(token.text), i + 1
    if token.text in ("true", "false", "null"):
        return json.loads(token.text), i + 1
    # An expression (a.b.c, tostring(a.b)): as the interpolation a JSON text would have held.
    end, depth = i, 0
    while end < len(tokens) and (depth > 0 or tokens[end].text not in (",", "}", "]")):
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(tokens[end].text, 0) if tokens[end].kind == "punct" else 0
        end += 1
    return "${" + "".join(t.text for t in tokens[i:end]) + "}", end


def platform_value(synth: Synth, env: str, value: str) -> Any:
    """What a value a service stack reads from the platform's contract is in the platform stack."""
    match = REMOTE.match(value)
    assert match, f"{value!r} is not read from the platform's remote state"
    return synth.stack(f"{env}-platform")["output"][match.group(1)]["value"]


def platform_ref(synth: Synth, env: str, type_: str, suffix: str, attribute: str) -> str:
    return ref(synth.stack(f"{env}-platform"), type_, suffix, attribute)


def variable(stack: dict[str, Any], value: Any, name: str) -> Any:
    """`value` is the stack's variable `name` (an operator's knob); what it is without -var: its default."""
    assert value == f"${{var.{name}}}", f"{value!r} is not var.{name}"
    return stack["variable"][name]["default"]


@functools.cache
def env_of(name: str) -> EnvironmentSpec:
    """An environment of the tests' configuration (FIXTURE)."""
    (env,) = load_app(FIXTURE, environments=[name]).environments
    return env


@functools.cache
def spec_of(env: str, name: str) -> ServiceSpec:
    """A service of the tests' configuration (FIXTURE) in one environment."""
    (service,) = [s for s in load_app(FIXTURE, environments=[env]).services[env] if s.name == name]
    return service


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    build_app(load_app(FIXTURE), outdir=str(outdir)).synth()
    return Synth(outdir)


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for terraform subprocesses: the provider mirror when TF_PROVIDER_MIRROR is set."""
    from tools.terraformrc import write

    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    mirror = os.environ.get("TF_PROVIDER_MIRROR")
    if mirror:
        env["TF_CLI_CONFIG_FILE"] = str(write(tmp_path_factory.mktemp("tf") / "terraformrc", mirror))
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH")
    return env


@pytest.fixture()
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project's code with the tests' configuration (FIXTURE), no caches."""
    yield copy_project(tmp_path / "project")


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("main.py", "cdktf.json"):
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")
    for name in ("infra", "tools"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("environments", "services"):
        shutil.copytree(FIXTURE / name, target / name, ignore=ignore)
    return target


# The Terraform CLI test (tests/test_cli.py) runs only with PLATFORM_TEST_CLI=1 (`make cli`): it
# applies a platform and a service in two workspaces and runs dozens of terraform commands, ~10 CPU
# minutes (33 minutes of wall time on the shared two-core machine), and `make test` must stay
# under 15 minutes.
RUN_CLI = "PLATFORM_TEST_CLI"


# The end-to-end test first, alone on its worker (tests/xdist_order.py).
from tests.xdist_order import pytest_xdist_make_scheduler, run_end_to_end_first  # noqa: E402, F401


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(RUN_CLI) != "1":
        skipped = [item for item in items if item.get_closest_marker("cli")]
        if skipped:
            config.hook.pytest_deselected(items=skipped)
            items[:] = [item for item in items if not item.get_closest_marker("cli")]
    run_end_to_end_first(items)
