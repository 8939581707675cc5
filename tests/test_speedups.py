"""Tests for the synthesis speed-ups (infra/speedups/): byte-identical output with and without
them, the one-line fallbacks, the switch, and that importing ``infra`` installs nothing.

The heavy tests run in subprocesses so that each run installs exactly the speed-ups its
switch selects before anything imports jsii; the pytest process itself has them as
tests/conftest.py installed them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from infra import speedups
from infra.speedups import fast_imports, fast_kernel, kernel_preload, versions

ROOT = Path(__file__).resolve().parents[1]
PRELOAD_PATH = Path(kernel_preload.PRELOAD)
PKG = "cdktf_cdktf_provider_aws"
FALLBACK = re.compile(r"^speedups: (\S+(?: \([^)]*\))?) off: (.+)$")

# Prepended to every subprocess script: install the speed-ups PLATFORM_SPEEDUPS selects, as
# main.py does, first thing. TEST_VERIFIED overrides entries of the version table (a table
# the installed packages do not match: every speed-up relying on them must fall back).
PRELUDE = f"""
import json, os, sys
sys.path.insert(0, {str(ROOT)!r})
from infra import speedups
from infra.speedups import fast_imports, fast_kernel, versions
versions.VERIFIED.update(json.loads(os.environ.get("TEST_VERIFIED", "{{}}")))
INSTALLED = speedups.install(os.environ.get("PLATFORM_SPEEDUPS", "all"))
"""

SYNTH_APP = """
from cdktf import App, TerraformStack, TerraformOutput, Fn
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction, LbListenerDefaultActionFixedResponse
from cdktf_cdktf_provider_aws.ecs_service import EcsService, EcsServiceDeploymentCircuitBreaker
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement
import cdktf_cdktf_provider_aws as aws

app = App(outdir=sys.argv[1])
net = TerraformStack(app, "net")
AwsProvider(net, "aws", region="eu-west-1")
vpc = Vpc(net, "vpc", cidr_block="10.0.0.0/16")
subnets = [Subnet(net, f"s{i}", vpc_id=vpc.id, cidr_block=Fn.cidrsubnet(vpc.cidr_block, 8, i)) for i in range(2)]
lb = Lb(net, "lb", subnets=[s.id for s in subnets])
listener = LbListener(net, "l", load_balancer_arn=lb.arn, port=80, default_action=[LbListenerDefaultAction(
    type="fixed-response", fixed_response=LbListenerDefaultActionFixedResponse(content_type="text/plain"))])
TerraformOutput(net, "vpc_id", value=vpc.id)

svc = TerraformStack(app, "svc")
AwsProvider(svc, "aws", region="eu-west-1")
doc = DataAwsIamPolicyDocument(svc, "doc", statement=[DataAwsIamPolicyDocumentStatement(actions=["s3:*"], resources=["*"])])
role = aws.iam_role.IamRole(svc, "role", assume_role_policy=doc.json)  # attribute-style access
service = EcsService(svc, "svc", name="api", cluster="c", task_definition=role.arn,
    deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True))
TerraformOutput(svc, "rollback", value=service.deployment_circuit_breaker.rollback)
TerraformOutput(svc, "cross", value=listener.default_action.get(0).fixed_response.status_code)
app.synth()
import glob, os
def _children_scripts():
    # What this process runs as children: the last word of each child's command line.
    pids = " ".join(open(f).read() for f in glob.glob(f"/proc/{os.getpid()}/task/*/children")).split()
    return sorted(os.path.basename(open(f"/proc/{pid}/cmdline").read().split(chr(0))[-2]) for pid in pids)
print(json.dumps({"active": sorted(INSTALLED.active), "off": sorted(INSTALLED.off), "children": _children_scripts(),
                  "node_options": os.environ.get("NODE_OPTIONS", ""),
                  "modules": len([m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws")])}))
# synth() has returned, so the files are written.  Skip interpreter teardown
# (for the stock run, freeing ~4,300 provider modules takes another 5-10 s),
# but still run atexit: jsii stops node and deletes its runtime temp dir there.
import atexit, os
atexit._run_exitfuncs()
sys.stdout.flush()
os._exit(0)
"""

PROBE = """
import cdktf_cdktf_provider_aws.vpc, cdktf_cdktf_provider_aws.subnet
import cdktf_cdktf_provider_aws.s3_bucket, cdktf_cdktf_provider_aws.iam_role
import cdktf_cdktf_provider_aws.data_aws_iam_policy_document
from cdktf import App, TerraformStack
from jsii import _reference_map as rm
out = {"active": sorted(INSTALLED.active), "status": fast_imports.status()}
out["modules"] = sorted(m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws"))

def forget(name):
    # Make the kernel's next answer about this module's objects an unknown FQN,
    # as if the module had never been imported in Python.
    mod = sys.modules[f"cdktf_cdktf_provider_aws.{name}"]
    for reg in (rm._types, rm._data_types, rm._enums, rm._interfaces):
        for fqn in [f for f, k in reg.items() if getattr(k, "__module__", "").startswith(mod.__name__)]:
            del reg[fqn]
    for key in [k for k in sys.modules if k == mod.__name__ or k.startswith(mod.__name__ + ".")]:
        del sys.modules[key]

app = App(outdir=sys.argv[1])
st = TerraformStack(app, "s")
v = cdktf_cdktf_provider_aws.vpc.Vpc(st, "v", cidr_block="10.0.0.0/16")
del rm._refs._refs[v.__jsii_ref__.ref]
forget("vpc")
got = st.node.find_child("v")   # kernel returns an ObjRef "@cdktf/provider-aws.vpc.Vpc@..."
out["lazy_resolved"] = type(got).__module__
out["lazy_is_fresh_vpc"] = isinstance(got, sys.modules["cdktf_cdktf_provider_aws.vpc"].Vpc)
out["lazy_cidr"] = got.cidr_block_input

# Fallback: an FQN the map cannot place makes the shim import every submodule
# of the package (here a shortened list so the test stays fast) instead of
# letting jsii fail.
b = cdktf_cdktf_provider_aws.s3_bucket.S3Bucket(st, "b", bucket="x")
del rm._refs._refs[b.__jsii_ref__.ref]
forget("s3_bucket")
rm._submodule_fqn_map.pop("@cdktf/provider-aws.s3Bucket")
asm, _ = fast_imports._shimmed["cdktf_cdktf_provider_aws"]
fast_imports._shimmed["cdktf_cdktf_provider_aws"] = (asm, ("s3_bucket", "sqs_queue"))
got = st.node.find_child("b")
out["fallback_type"] = type(got).__name__
out["fallback_imported_sqs"] = "cdktf_cdktf_provider_aws.sqs_queue" in sys.modules
print(json.dumps(out))
"""


def _env(**extra: str) -> dict:
    """The environment of a subprocess: this one's (with the preload conftest installed)."""
    env = dict(os.environ)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.pop(speedups.SWITCH, None)
    env.update(extra)
    return env


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(PRELUDE + textwrap.dedent(body))
    return path


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _fallbacks(stderr: str) -> list[tuple[str, str]]:
    """(speed-up, why) of each fallback line; fails on a line that looks like one but is not."""
    found = []
    for line in stderr.splitlines():
        if line.startswith("speedups:"):
            match = FALLBACK.match(line)
            assert match, f"malformed fallback line: {line!r}"
            found.append(match.groups())
    return found


def _provider_init() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(PKG)
    if spec is None or spec.origin is None:
        pytest.skip(f"{PKG} not installed")
    return Path(spec.origin)


# --- cheap, in-process -------------------------------------------------------

def test_fqn_map_matches_installed_provider():
    """The snake->camel rule used to build jsii's FQN->module map holds for every
    submodule of the installed provider (if it ever stops holding, lazy type
    resolution would fall back to the slow full import)."""
    init = _provider_init()
    _, names = fast_imports._split_source(init.read_text())
    assert len(names) > 1000
    pattern = re.compile(r'jsii_type="@cdktf/provider-aws\.([^".]+)\.')
    wrong = {}
    for name in names:
        segments = set(pattern.findall((init.parent / name / "__init__.py").read_text()))
        if segments != {fast_imports._camel(name)}:
            wrong[name] = segments
    assert not wrong


def test_shape_check_refuses_unknown_layouts():
    source = _provider_init().read_text()
    head, names = fast_imports._split_source(source)
    assert "from ._jsii import *" in head and names[0] and "from . import" not in head.split("publication.publish()")[-1]
    for changed in (
        source + "\nSOMETHING_NEW = 1\n",
        source.replace(fast_imports._MARKER, "# reworded"),
        source.replace("\nfrom ._jsii import *\n", "\n"),
    ):
        with pytest.raises(fast_imports._ShapeError):
            fast_imports._split_source(changed)


@pytest.mark.parametrize(
    ("spec", "selected"),
    [
        ("all", set(speedups.NAMES)),
        ("", set(speedups.NAMES)),
        ("none", set()),
        ("all,-fast_kernel", set(speedups.NAMES) - {"fast_kernel"}),
        ("-fast_kernel,-gc", set(speedups.NAMES) - {"fast_kernel", "gc"}),
        ("gc", {"gc"}),
        ("none, gc ,fast_imports", {"gc", "fast_imports"}),
        ("all,-all,fast_kernel", {"fast_kernel"}),
    ],
)
def test_switch_syntax(spec, selected):
    assert speedups.parse(spec) == selected


def test_switch_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"PLATFORM_SPEEDUPS: unknown speed-up 'fast_kernal'.*known: all, none, fast_imports"):
        speedups.parse("all,-fast_kernal")


def test_the_version_table_is_what_is_installed():
    """Fails after an upgrade on purpose: re-run this file and make bench, then update the table."""
    assert {name: versions.installed(name) for name in versions.VERIFIED} == versions.VERIFIED
    assert {d for needed in speedups.REQUIRES.values() for d in needed} <= set(versions.VERIFIED)


def test_fast_kernel_refuses_a_jsii_of_another_shape(monkeypatch):
    from jsii._kernel.providers import process

    assert fast_kernel._unexpected_shape() is None
    monkeypatch.delattr(process._NodeProcess, "handshake")
    assert fast_kernel._unexpected_shape() == "jsii has no _NodeProcess.handshake"


def test_the_fast_kernels_messages_are_jsiis_own():
    """Each request the fast path builds is the message jsii's own serializer makes of it, key
    for key; a completion whose result is not a plain value is left to jsii."""
    from tests import conftest

    if "fast_kernel" not in conftest.SPEEDUPS:
        pytest.skip("the fast kernel is switched off in this run")
    from jsii._kernel import types
    from jsii._kernel.providers import process

    ref, iref = types.ObjRef(ref="a.B@10001"), types.ObjRef(ref="a.C@10002", interfaces=["a.IC"])
    args = ["id", 1, 2.5, True, None, {"$jsii.map": {"k": "v"}}, [1, "x"]]
    fast = [
        types.GetRequest(objref=ref, property="arn"),
        types.InvokeRequest(objref=iref, method="toString", args=args),
        types.CreateRequest(fqn="a.B", args=args, overrides=[types.Override(method="allocateLogicalId", cookie="c")],
                            interfaces=["a.IC"]),
        types.StaticGetRequest(fqn="a.B", property="tfResourceType"),
        types.StaticInvokeRequest(fqn="cdktf.TerraformStack", method="of", args=args),
        *(process._CompleteRequest(complete=types.CompleteRequest(cbid="jsii::callback::20000", result=result))
          for result in ("aws_iam_role.task", 3, 1.5, False, None)),
        process._CompleteRequest(complete=types.CompleteRequest(cbid="jsii::callback::20001", err="boom")),
    ]
    from jsii._runtime import kernel

    jsiis = kernel.provider._process._serializer  # the running kernel's (a new one would start node)
    for request in fast:
        assert fast_kernel._request_message(request) == jsiis.unstructure(request), request
    for result in ({"moved": []}, ["a"], ref):
        request = process._CompleteRequest(complete=types.CompleteRequest(cbid="jsii::callback::20002", result=result))
        assert fast_kernel._request_message(request) is None


def test_the_fast_kernel_reads_a_callback_as_jsii_does():
    """The Callback the fast path makes of a kernel's `invoke` callback is the one jsii's own
    serializer makes; any other shape is left to jsii."""
    from tests import conftest

    if "fast_kernel" not in conftest.SPEEDUPS:
        pytest.skip("the fast kernel is switched off in this run")
    from jsii._kernel.providers import process
    from jsii._runtime import kernel

    jsiis = kernel.provider._process._serializer
    read = process.ohook  # what json.loads runs on each object of a message
    for message in (
        {"callback": {"cbid": "jsii::callback::20000", "cookie": "_allocate_logical_id",
                      "invoke": {"objref": {"$jsii.byref": "dev-web@10003"}, "method": "allocateLogicalId",
                                 "args": [{"$jsii.byref": "@cdktf/provider-aws.iamRole.IamRole@10042"}]}}},
        {"callback": {"cbid": "jsii::callback::20001", "cookie": "produce",
                      "invoke": {"objref": {"$jsii.byref": "Object@10002", "$jsii.interfaces": ["cdktf.IAnyProducer"]},
                                 "method": "produce", "args": ["a", 1, None, ["b"]]}}},
        {"callback": {"cbid": "jsii::callback::20002", "cookie": "x",
                      "invoke": {"objref": {"$jsii.byref": "Object@10002"}, "method": "x"}}},
    ):
        decoded = json.loads(json.dumps(message), object_hook=read)
        assert fast_kernel._callback_message(decoded) == jsiis.structure(decoded, process._ProcessResponse).callback
    for other in ({"callback": {"cbid": "c", "cookie": "p", "get": {"objref": {"$jsii.byref": "O@1"}, "property": "p"}}},
                  {"ok": {"value": 1}}):
        assert fast_kernel._callback_message(json.loads(json.dumps(other), object_hook=read)) is None


def test_construct_path_is_the_kernels_path_for_what_python_created(tmp_path):
    """The fast kernel knows a construct's path from its create request (infra.addresses asks
    it for every element of every stack): it is the kernel's own, a '/' in an id included, and
    None for what it cannot know. The app-wide checks are test_addresses' (the moved blocks'
    hashed addresses are made from each path)."""
    from tests import conftest

    if "fast_kernel" not in conftest.SPEEDUPS:
        pytest.skip("the fast kernel is switched off in this run")
    import cdktf
    from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
    from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
    from constructs import Construct

    app = cdktf.App(outdir=str(tmp_path))
    stack = cdktf.TerraformStack(app, "dev-paths")
    outer = Construct(stack, "a/b")
    inner = Construct(outer, "c")
    created = [stack, inner, SqsQueue(inner, "queue", name="q"), DataAwsIamPolicyDocument(inner, "doc"),
               SqsQueue(stack, "top", name="t")]
    assert [speedups.construct_path(c) for c in created] == [c.node.path for c in created]
    assert speedups.construct_path(created[2]) == "dev-paths/a--b/c/queue"
    assert speedups.construct_path(app) == ""
    assert speedups.construct_scopes(created[2]) == [created[2], inner, outer, stack, app]
    # Under a root the kernel made (cdktf.Testing.app() is a static call), and not a construct.
    testing_stack = cdktf.TerraformStack(cdktf.Testing.app(), "dev-testing")
    assert speedups.construct_path(SqsQueue(testing_stack, "queue", name="q")) is None
    assert speedups.construct_scopes(SqsQueue(testing_stack, "other", name="q")) is None
    assert speedups.construct_path("dev-paths/top") is None


def test_importing_infra_installs_nothing():
    script = textwrap.dedent(f"""
        import gc, json, os, sys, threading
        import infra, infra.config, infra.speedups
        print(json.dumps({{
            "finders": [type(f).__name__ for f in sys.meta_path
                        if getattr(f, "_platform_fast_imports", False)],
            "jsii": sorted(m for m in sys.modules if m == "jsii" or m.startswith("jsii.")),
            "node_options": os.environ.get("NODE_OPTIONS"),
            "gc": gc.isenabled(),
            "threads": threading.active_count(),
        }}))
    """)
    env = _env()
    env.pop("NODE_OPTIONS", None)
    proc = subprocess.run([sys.executable, "-O", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _last_json(proc.stdout) == {"finders": [], "jsii": [], "node_options": None, "gc": True, "threads": 1}
    assert proc.stderr == ""


def test_the_test_process_has_the_speedups_it_asked_for():
    """conftest installs them before anything imports jsii, so none fell back: a test process
    whose kernel started first (an import of infra.naming above the install once did that)
    ran every synthesis of the suite the slow way and printed three fallback lines."""
    from tests import conftest

    asked = speedups.parse(os.environ.get(speedups.SWITCH, "all") + ",-gc")
    assert conftest.SPEEDUPS.off == {}
    assert conftest.SPEEDUPS.active == asked


def test_main_refuses_an_unknown_speedup():
    proc = subprocess.run([sys.executable, "-O", "main.py"], cwd=ROOT, env=_env(PLATFORM_SPEEDUPS="all,-fast_kernal"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: PLATFORM_SPEEDUPS: unknown speed-up 'fast_kernal'")


# --- subprocesses --------------------------------------------------------------

MISMATCHED = {name: "0.0.0" for name in versions.VERIFIED}


@pytest.mark.timeout(900)  # generous: a stock run alone is ~15 s idle, far more on a loaded box
def test_synth_is_byte_identical_with_all_none_and_fallen_back_speedups(tmp_path):
    app = _write(tmp_path, "app.py", SYNTH_APP)
    runs = {}
    # All at once: the runs are independent, and two of them are slow.
    for label, extra in (
        ("fast", {"PLATFORM_SPEEDUPS": "all"}),
        ("stock", {"PLATFORM_SPEEDUPS": "none"}),
        ("fallback", {"PLATFORM_SPEEDUPS": "all", "TEST_VERIFIED": json.dumps(MISMATCHED)}),
    ):
        runs[label] = subprocess.Popen(
            [sys.executable, str(app), str(tmp_path / label)],
            cwd=tmp_path, env=_env(**extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    results, stderrs = {}, {}
    for label, proc in runs.items():
        stdout, stderrs[label] = proc.communicate()
        assert proc.returncode == 0, f"{label} synth failed:\n{stderrs[label][-3000:]}"
        results[label] = _last_json(stdout)

    fast, stock, fallback = results["fast"], results["stock"], results["fallback"]
    assert fast["active"] == sorted(speedups.NAMES) and fast["off"] == []
    assert stock["active"] == [] and stock["off"] == []
    assert _fallbacks(stderrs["fast"]) == [] and _fallbacks(stderrs["stock"]) == []
    # The kernel runs without jsii's relay process in the fast run, with it in the stock one,
    # where the preload that this (pytest) process passes on is taken out again.
    assert fast["children"] == ["program.js"] and str(PRELOAD_PATH) in fast["node_options"]
    assert stock["children"] == ["jsii-runtime.js"] and str(PRELOAD_PATH) not in stock["node_options"]
    assert fast["modules"] < 50 < stock["modules"]
    # With a version table the installed packages do not match, each speed-up relying on
    # them falls back with exactly one line naming it and why; the GC switch and the second
    # process rely on none.
    independent = sorted(name for name in speedups.NAMES if not speedups.REQUIRES[name])
    assert independent == ["gc", "parallel"]
    assert fallback["active"] == independent
    lines = _fallbacks(stderrs["fallback"])
    assert sorted(name for name, _ in lines) == sorted(set(speedups.NAMES) - set(independent)), stderrs["fallback"]
    for name, why in lines:
        distribution = speedups.REQUIRES[name][0]
        assert why == (f"{distribution} {versions.installed(distribution)} is installed, verified with 0.0.0 "
                       "(infra/speedups/versions.py)")
    assert fallback["children"] == ["jsii-runtime.js"] and fallback["modules"] > 50
    _assert_same_tree(tmp_path / "fast", tmp_path / "stock")
    _assert_same_tree(tmp_path / "fallback", tmp_path / "stock")


def _assert_same_tree(fast: Path, stock: Path) -> None:
    fast_files = sorted(p.relative_to(fast) for p in fast.rglob("*") if p.is_file())
    stock_files = sorted(p.relative_to(stock) for p in stock.rglob("*") if p.is_file())
    assert fast_files == stock_files
    assert any(str(p).endswith("cdk.tf.json") for p in fast_files)
    for rel in fast_files:
        assert (fast / rel).read_bytes() == (stock / rel).read_bytes(), rel


@pytest.mark.timeout(900)
def test_the_app_synthesizes_byte_identical_with_and_without_speedups(tmp_path):
    """The project's own app as cdktf.json runs it, with every speed-up, and the stock way
    (no speed-up, no -O)."""
    runs = {
        label: subprocess.Popen(
            [sys.executable, *flags, "main.py"],
            cwd=ROOT, env=_env(PLATFORM_SPEEDUPS=switch, CDKTF_OUTDIR=str(tmp_path / label)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for label, flags, switch in (("fast", ["-O"], "all"), ("stock", [], "none"))
    }
    for label, proc in runs.items():
        _, stderr = proc.communicate()
        assert proc.returncode == 0, f"{label} synth failed:\n{stderr[-3000:]}"
        assert _fallbacks(stderr) == [], stderr
    assert len(list((tmp_path / "fast" / "stacks").iterdir())) == 10  # 2 environments x (platform + 3 services + 1 job)
    _assert_same_tree(tmp_path / "fast", tmp_path / "stock")


# --- the kernel preload, in node alone ------------------------------------------------

NODE_PROBE = """
const path = require("path");
const loaded = (globalThis.loaded = []);
const index = process.argv[1];
const provider = require(index);
const before = [...loaded];
const keys = Object.keys(provider).sort();
const value = provider.fooBar.FooBar;
const after = [...loaded];
provider.bazQux;
console.log(JSON.stringify({ before, keys, value, after, all: [...loaded] }));
"""


def _fake_provider(root: Path, index: str) -> Path:
    lib = root / "node_modules" / "@cdktf" / "provider-fake" / "lib"
    for name in ("foo-bar", "baz-qux"):
        (lib / name).mkdir(parents=True)
        (lib / name / "index.js").write_text(
            f'globalThis.loaded.push("{name}");\nexports.FooBar = "{name}";\n'
        )
    (lib / "index.js").write_text(index)
    return lib / "index.js"


GENERATED_INDEX = """"use strict";
/**
 * Copyright (c) HashiCorp, Inc.
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.fooBar = exports.bazQux = void 0;
exports.bazQux = require("./baz-qux");
exports.fooBar = require("./foo-bar");
// generated by cdktf get
//# sourceMappingURL=data:application/json;base64,e30=
"""


def _node(*args: str) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH")
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    proc = subprocess.run([node, *args], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def _node_probe(index: Path) -> tuple[dict, str]:
    proc = _node("--require", str(PRELOAD_PATH), "-e", NODE_PROBE, str(index))
    return json.loads(proc.stdout), proc.stderr


def test_preload_requires_provider_submodules_on_first_use(tmp_path):
    out, stderr = _node_probe(_fake_provider(tmp_path, GENERATED_INDEX))
    assert stderr == ""
    assert out["before"] == []
    assert out["keys"] == ["bazQux", "fooBar"]  # every export is still there, and enumerable
    assert out["value"] == "foo-bar" and out["after"] == ["foo-bar"]
    assert out["all"] == ["foo-bar", "baz-qux"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s + "globalThis.sideEffect = 1;\n", id="extra statement"),
        pytest.param(lambda s: s.replace("exports.fooBar = exports.bazQux = void 0;", "exports.bazQux = void 0;"),
                     id="declared names differ"),
    ],
)
def test_preload_runs_an_index_of_any_other_shape_as_it_is(tmp_path, change):
    index = _fake_provider(tmp_path, change(GENERATED_INDEX))
    out, stderr = _node_probe(index)
    assert out["before"] == ["baz-qux", "foo-bar"]  # eager, in the file's own order
    assert _fallbacks(stderr) == [("kernel_lazy_index", f"{index} is not of the generated shape; compiled as it is")]


def test_preload_recognizes_the_installed_providers_index(tmp_path):
    """The real lib/index.js of the pinned provider (from its jsii tarball) has the shape."""
    tarball = next((_provider_init().parent / "_jsii").glob("*.jsii.tgz"))
    with tarfile.open(tarball) as archive:
        source = archive.extractfile("package/lib/index.js").read().decode()
    probe = (
        "const m = require(process.argv[1]);"
        "const src = require('fs').readFileSync(process.argv[2], 'utf8');"
        "const found = m.lazyExports(src);"
        "console.log(JSON.stringify(found === null ? null : found.size));"
    )
    (tmp_path / "index.js").write_text(source)
    proc = _node("-e", probe, str(PRELOAD_PATH), str(tmp_path / "index.js"))
    assert json.loads(proc.stdout) == len(fast_imports._split_source(_provider_init().read_text())[1])


@pytest.mark.timeout(600)
def test_shim_is_active_and_resolves_unimported_types(tmp_path):
    script = _write(tmp_path, "probe.py", PROBE)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "out")],
        cwd=tmp_path, env=_env(), capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _last_json(proc.stdout)
    assert "fast_imports" in out["active"]
    assert out["status"]["packages"][PKG]["state"] == "lazy"
    # 5 submodules + package + _jsii, each with its publication `_private` twin.
    assert len(out["modules"]) < 50, out["modules"]
    assert f"{PKG}.lb_listener" not in out["modules"]
    # Kernel returned an object of a type Python had "never imported": the FQN
    # map made jsii import exactly that submodule.
    assert out["lazy_resolved"] == f"{PKG}.vpc"
    assert out["lazy_is_fresh_vpc"] is True
    assert out["lazy_cidr"] == "10.0.0.0/16"
    # And when the map misses, the full-import fallback kicks in, and says so in one line.
    assert out["fallback_type"] == "S3Bucket"
    assert out["fallback_imported_sqs"] is True
    assert _fallbacks(proc.stderr) == [
        ("fast_imports", f"a jsii type of {PKG} could not be resolved lazily; importing all 2 submodules")]


FAKE_PROVIDER_INIT = """
import publication
from ._jsii import *
publication.publish()
"""


def test_a_provider_package_of_another_shape_is_imported_the_normal_way(tmp_path):
    package = tmp_path / "cdktf_cdktf_provider_fake"
    (package / "_jsii").mkdir(parents=True)
    (package / "_jsii" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("LOADED = True\n")  # no marker, no eager imports
    script = _write(tmp_path, "fake.py", """
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import cdktf_cdktf_provider_fake
        print(json.dumps({"loaded": cdktf_cdktf_provider_fake.LOADED,
                          "state": fast_imports.status()["packages"]["cdktf_cdktf_provider_fake"]["state"]}))
    """)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _last_json(proc.stdout) == {"loaded": True, "state": "fallback"}
    assert _fallbacks(proc.stderr) == [
        ("fast_imports", "cdktf_cdktf_provider_fake imported the normal (slow) way: marker comment not found")]


def test_installing_after_the_kernel_started_says_what_is_off(tmp_path):
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        import cdktf  # starts the jsii kernel: too late for the kernel speed-ups
        from infra import speedups
        installed = speedups.install("all")
        print(json.dumps(sorted(installed.active)))
    """))
    proc = subprocess.run([sys.executable, "-O", str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _last_json(proc.stdout) == ["fast_imports", "fast_kernel", "gc", "parallel"]
    assert _fallbacks(proc.stderr) == [
        ("kernel_lazy_index", "the jsii kernel was already running (install() must come before the first jsii import)"),
        ("fast_kernel (kernel relay)", "the jsii kernel was already running, started through jsii's relay"),
        ("kernel_prestart", "the jsii kernel was already running (install() must come before the first jsii import)"),
    ]


# --- the kernel prestart -------------------------------------------------------------

PRESTART_PROBE = """
import threading
from infra.speedups import kernel_prestart
started = [t.name for t in threading.enumerate() if t.name == "kernel_prestart"]
kernel_prestart.wait()  # the caller's own work would go here; it imports nothing of jsii
imported = sorted(m for m in sys.modules if m.split(".")[0] in ("cdktf", "constructs", "cdktf_cdktf_provider_aws"))
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
app = App(outdir=sys.argv[1])
AwsProvider(TerraformStack(app, "s"), "aws", region="eu-west-1")
app.synth()
print(json.dumps({"active": sorted(INSTALLED.active), "started": started, "imported": imported}))
"""
ASSEMBLIES = ["constructs", "cdktf", "@cdktf/provider-aws"]


def _prestart_run(tmp_path: Path, script: Path) -> tuple[dict, list[str], list[str]]:
    """The probe's answer, and the assemblies the kernel loaded and looked up again (its debug trace)."""
    proc = subprocess.run([sys.executable, "-O", str(script), str(tmp_path / "out")], cwd=tmp_path,
                          env=_env(JSII_DEBUG="1"), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = re.findall(r'^> \{"name":"([^"]+)","version":"[^"]+","tarball":"[^"]+","api":"load"\}$', proc.stderr, re.MULTILINE)
    again = re.findall(r"^\[@jsii/kernel\] look up already-loaded assembly (\S+)$", proc.stderr, re.MULTILINE)
    assert "Traceback" not in proc.stderr and not _fallbacks(proc.stderr)
    assert (tmp_path / "out" / "stacks" / "s" / "cdk.tf.json").is_file()
    return _last_json(proc.stdout), loaded, again


@pytest.mark.timeout(300)
def test_kernel_prestart_loads_the_assemblies_before_the_first_import(tmp_path):
    out, loaded, again = _prestart_run(tmp_path, _write(tmp_path, "prestart.py", PRESTART_PROBE))
    assert "kernel_prestart" in out["active"] and out["started"] == ["kernel_prestart"]
    assert out["imported"] == []  # the thread imports no Python module of them
    # Each assembly loaded once, by the thread, in dependency order; the packages' own loads
    # are not sent again.
    assert loaded == ASSEMBLIES and again == []


@pytest.mark.timeout(300)
def test_kernel_prestart_leaves_a_failed_load_to_the_caller(tmp_path):
    script = _write(tmp_path, "failing.py", PRESTART_PROBE)
    # The provider's tarball, as the thread reads it, does not exist: its load fails there.
    patch = textwrap.dedent("""
        from infra.speedups import kernel_prestart
        _request = kernel_prestart._load_request
        kernel_prestart._load_request = lambda package: (
            _request(package) if package != "cdktf_cdktf_provider_aws" else ("@cdktf/provider-aws", "20.1.0", "/nonexistent.tgz"))
    """)
    script.write_text(script.read_text().replace("INSTALLED = ", patch + "INSTALLED = ", 1))
    out, loaded, again = _prestart_run(tmp_path, script)
    assert "kernel_prestart" in out["active"]
    # Nothing of the failure shows: the provider package's own load was sent after all.
    assert loaded == [*ASSEMBLIES, "@cdktf/provider-aws"] and again == []


def test_fast_imports_asks_for_each_distributions_version_once(tmp_path):
    """Every generated jsii module asks importlib.metadata for typeguard's version at import."""
    script = tmp_path / "versions.py"
    script.write_text(textwrap.dedent(f"""
        import importlib.metadata, json, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        asked, original = [], importlib.metadata.version
        importlib.metadata.version = lambda name: (asked.append(name), original(name))[1]
        from infra import speedups
        speedups.install(sys.argv[1])
        start = len(asked)
        import cdktf_cdktf_provider_aws.vpc, cdktf_cdktf_provider_aws.subnet, cdktf_cdktf_provider_aws.iam_role
        from cdktf_cdktf_provider_aws import s3_bucket
        print(json.dumps({{"typeguard": asked[start:].count("typeguard"), "answer": importlib.metadata.version("typeguard"),
                          "original": original("typeguard")}}))
    """))
    runs = {}
    # Without the prestart thread, whose first imports could ask at the same moment as these.
    for switch in ("all,-kernel_prestart", "none"):
        proc = subprocess.run([sys.executable, "-O", str(script), switch], cwd=tmp_path, env=_env(), capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[switch] = _last_json(proc.stdout)
    fast = runs["all,-kernel_prestart"]
    assert fast["typeguard"] == 1 and fast["answer"] == fast["original"]
    assert runs["none"]["typeguard"] > 1000  # the stock provider package imports all its submodules
