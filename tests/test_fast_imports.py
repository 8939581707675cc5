"""Tests for the synthesis speed-ups: infra/fast_imports.py (lazy cdktf_cdktf_provider_*
imports), infra/kernel_preload.js (the same inside the jsii kernel, and no creation stacks)
and infra/fast_kernel.py (jsii's per-call work).

The heavy tests run in subprocesses so that neither the shim nor the
provider package ends up imported into the pytest process.  fast_imports is
always loaded *by file path*: it must not depend on infra/__init__.py, and
putting infra/ on sys.path would shadow stdlib modules (infra/platform.py).
"""

from __future__ import annotations

import importlib.util
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

ROOT = Path(__file__).resolve().parents[1]
SHIM_PATH = ROOT / "infra" / "fast_imports.py"
KERNEL_PATH = ROOT / "infra" / "fast_kernel.py"
PRELOAD_PATH = ROOT / "infra" / "kernel_preload.js"
PKG = "cdktf_cdktf_provider_aws"

# Prepended to every subprocess script: load the shim by path and install it
# (install() honours PLATFORM_FAST_IMPORTS=0, which is how the baseline run
# switches it off).
PRELUDE = f"""
import importlib.util, json, sys
_spec = importlib.util.spec_from_file_location("fast_imports", {str(SHIM_PATH)!r})
fast_imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fast_imports)
SHIM = fast_imports.install()
_spec = importlib.util.spec_from_file_location("fast_kernel", {str(KERNEL_PATH)!r})
fast_kernel = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fast_kernel)
KERNEL = fast_kernel.install() if SHIM else False  # as infra/__init__.py does
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
print(json.dumps({"shim": SHIM, "kernel": KERNEL, "node": fast_imports.status()["node"], "children": _children_scripts(),
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
import warnings
import cdktf_cdktf_provider_aws.vpc, cdktf_cdktf_provider_aws.subnet
import cdktf_cdktf_provider_aws.s3_bucket, cdktf_cdktf_provider_aws.iam_role
import cdktf_cdktf_provider_aws.data_aws_iam_policy_document
from cdktf import App, TerraformStack
from jsii import _reference_map as rm
out = {"shim": SHIM, "status": fast_imports.status()}
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
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    got = st.node.find_child("b")
out["fallback_type"] = type(got).__name__
out["fallback_warned"] = any("could not be resolved lazily" in str(w.message) for w in caught)
out["fallback_imported_sqs"] = "cdktf_cdktf_provider_aws.sqs_queue" in sys.modules
print(json.dumps(out))
"""


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.pop("PLATFORM_FAST_IMPORTS", None)
    env.update(extra)
    return env


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(PRELUDE + textwrap.dedent(body))
    return path


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _load_shim(name: str = "fast_imports_under_test"):
    spec = importlib.util.spec_from_file_location(name, SHIM_PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _provider_init() -> Path:
    spec = importlib.util.find_spec(PKG)
    if spec is None or spec.origin is None:
        pytest.skip(f"{PKG} not installed")
    return Path(spec.origin)


# --- cheap, in-process -------------------------------------------------------

def test_fqn_map_matches_installed_provider():
    """The snake->camel rule used to build jsii's FQN->module map holds for every
    submodule of the installed provider (if it ever stops holding, lazy type
    resolution would fall back to the slow full import)."""
    shim = _load_shim()
    init = _provider_init()
    _, names = shim._split_source(init.read_text())
    assert len(names) > 1000
    pattern = re.compile(r'jsii_type="@cdktf/provider-aws\.([^".]+)\.')
    wrong = {}
    for name in names:
        segments = set(pattern.findall((init.parent / name / "__init__.py").read_text()))
        if segments != {shim._camel(name)}:
            wrong[name] = segments
    assert not wrong


def test_shape_check_refuses_unknown_layouts():
    shim = _load_shim()
    source = _provider_init().read_text()
    head, names = shim._split_source(source)
    assert "from ._jsii import *" in head and names[0] and "from . import" not in head.split("publication.publish()")[-1]
    with pytest.raises(shim._ShapeError):
        shim._split_source(source + "\nSOMETHING_NEW = 1\n")
    with pytest.raises(shim._ShapeError):
        shim._split_source(source.replace(shim._MARKER, "# reworded"))
    with pytest.raises(shim._ShapeError):
        shim._split_source(source.replace("\nfrom ._jsii import *\n", "\n"))


def test_env_switch_disables_install(monkeypatch):
    shim = _load_shim("fast_imports_env_switch")
    before = list(sys.meta_path)
    monkeypatch.setenv("PLATFORM_FAST_IMPORTS", "0")
    assert shim.install() is False
    assert sys.meta_path == before
    assert "PLATFORM_FAST_IMPORTS" in shim.status()["reason"]


# --- subprocesses --------------------------------------------------------------

@pytest.mark.timeout(900)  # generous: the baseline alone is ~15 s idle, far more on a loaded box
def test_synth_is_byte_identical_with_and_without_shim(tmp_path):
    app = _write(tmp_path, "app.py", SYNTH_APP)
    runs = {}
    # Both synths at once: the machine has 2 cores and the runs are independent.
    for label, switch in (("fast", "1"), ("stock", "0")):
        runs[label] = subprocess.Popen(
            [sys.executable, str(app), str(tmp_path / label)],
            cwd=tmp_path, env=_env(PLATFORM_FAST_IMPORTS=switch),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    results = {}
    for label, proc in runs.items():
        stdout, stderr = proc.communicate()
        assert proc.returncode == 0, f"{label} synth failed:\n{stderr[-3000:]}"
        results[label] = _last_json(stdout)

    assert results["fast"]["shim"] is True and results["stock"]["shim"] is False
    assert results["fast"]["kernel"] is True and results["stock"]["kernel"] is False
    assert results["fast"]["node"] == "lazy" and results["stock"]["node"] is None
    # The kernel runs without jsii's relay process in the fast run, with it in the stock one.
    assert results["fast"]["children"] == ["program.js"]
    assert results["stock"]["children"] == ["jsii-runtime.js"]
    assert results["fast"]["modules"] < 50 < results["stock"]["modules"]
    _assert_same_tree(tmp_path / "fast", tmp_path / "stock")


def _assert_same_tree(fast: Path, stock: Path) -> None:
    fast_files = sorted(p.relative_to(fast) for p in fast.rglob("*") if p.is_file())
    stock_files = sorted(p.relative_to(stock) for p in stock.rglob("*") if p.is_file())
    assert fast_files == stock_files
    assert any(str(p).endswith("cdk.tf.json") for p in fast_files)
    for rel in fast_files:
        assert (fast / rel).read_bytes() == (stock / rel).read_bytes(), rel


@pytest.mark.timeout(900)
def test_the_app_synthesizes_byte_identical_with_and_without_speedups(tmp_path):
    """The project's own app, run as cdktf.json runs it, with every speed-up and with none."""
    runs = {
        label: subprocess.Popen(
            [sys.executable, "-O", "main.py"],
            cwd=ROOT, env=_env(PLATFORM_FAST_IMPORTS=switch, CDKTF_OUTDIR=str(tmp_path / label)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for label, switch in (("fast", "1"), ("stock", "0"))
    }
    for label, proc in runs.items():
        _, stderr = proc.communicate()
        assert proc.returncode == 0, f"{label} synth failed:\n{stderr[-3000:]}"
    assert len(list((tmp_path / "fast" / "stacks").iterdir())) == 8
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


def _node_probe(index: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH")
    proc = subprocess.run(
        [node, "--require", str(PRELOAD_PATH), "-e", NODE_PROBE, str(index)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_preload_requires_provider_submodules_on_first_use(tmp_path):
    out = _node_probe(_fake_provider(tmp_path, GENERATED_INDEX))
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
    out = _node_probe(_fake_provider(tmp_path, change(GENERATED_INDEX)))
    assert out["before"] == ["baz-qux", "foo-bar"]  # eager, in the file's own order


def test_preload_recognizes_the_installed_providers_index(tmp_path):
    """The real lib/index.js of the pinned provider (from its jsii tarball) has the shape."""
    tarball = next((_provider_init().parent / "_jsii").glob("*.jsii.tgz"))
    with tarfile.open(tarball) as archive:
        source = archive.extractfile("package/lib/index.js").read().decode()
    node = shutil.which("node")
    probe = (
        "const m = require(process.argv[1]);"
        "const src = require('fs').readFileSync(process.argv[2], 'utf8');"
        "const found = m.lazyExports(src);"
        "console.log(JSON.stringify(found === null ? null : found.size));"
    )
    (tmp_path / "index.js").write_text(source)
    proc = subprocess.run([node, "-e", probe, str(PRELOAD_PATH), str(tmp_path / "index.js")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == len(_load_shim()._split_source(_provider_init().read_text())[1])


@pytest.mark.timeout(600)
def test_shim_is_active_and_resolves_unimported_types(tmp_path):
    script = _write(tmp_path, "probe.py", PROBE)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "out")],
        cwd=tmp_path, env=_env(), capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _last_json(proc.stdout)
    assert out["shim"] is True
    assert out["status"]["packages"][PKG]["state"] == "lazy"
    # 5 submodules + package + _jsii, each with its publication `_private` twin.
    assert len(out["modules"]) < 50, out["modules"]
    assert f"{PKG}.lb_listener" not in out["modules"]
    # Kernel returned an object of a type Python had "never imported": the FQN
    # map made jsii import exactly that submodule.
    assert out["lazy_resolved"] == f"{PKG}.vpc"
    assert out["lazy_is_fresh_vpc"] is True
    assert out["lazy_cidr"] == "10.0.0.0/16"
    # And when the map misses, the full-import fallback kicks in (with a warning).
    assert out["fallback_type"] == "S3Bucket"
    assert out["fallback_warned"] is True
    assert out["fallback_imported_sqs"] is True
