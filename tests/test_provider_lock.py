"""The mirror everywhere: with TF_PROVIDER_MIRROR, `make synth` leaves `.terraform.lock.hcl` in
every stack folder, so `cdktf diff`/`cdktf deploy` initialize offline (tools/locks.py says why).

The proof runs cdktf's own code on a stack folder installed as `make synth` installs it:
@cdktf/cli-core's CdktfStack decides whether to run `terraform providers lock` (it must not: that
asks the registry) and runs the `terraform init` it runs before a diff, with every connection
out of this machine refused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, Synth
from tools import locks
from tools.stacks import main as stacks_main

LOCK = '''provider "registry.terraform.io/hashicorp/aws" {{
  version     = "{version}"
  constraints = "{version}"
  hashes = [
    "h1:{hash}",
  ]
}}
'''


def test_a_stack_that_already_locks_the_pinned_version_keeps_its_lock(tmp_path: Path) -> None:
    stack = tmp_path / "dev-web"
    stack.mkdir()
    (stack / locks.LOCK_FILE).write_text(LOCK.format(version="5.100.0", hash="registry-with-every-platform"))
    assert not locks.write(stack, LOCK.format(version="5.100.0", hash="mirror"), "5.100.0")
    assert "registry-with-every-platform" in (stack / locks.LOCK_FILE).read_text()
    # An older pin is replaced: cdktf would otherwise run `providers lock` to update it.
    (stack / locks.LOCK_FILE).write_text(LOCK.format(version="5.90.0", hash="old"))
    assert locks.write(stack, LOCK.format(version="5.100.0", hash="mirror"), "5.100.0")
    assert locks.locked_version((stack / locks.LOCK_FILE).read_text()) == ("5.100.0", "5.100.0")


def test_without_a_mirror_no_lock_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock with this platform's hashes only would break `terraform init` on another platform."""
    monkeypatch.delenv("TF_PROVIDER_MIRROR", raising=False)
    (tmp_path / "stacks" / "dev-web").mkdir(parents=True)
    locks.write_all(tmp_path, ["dev-web"])
    assert not (tmp_path / "stacks" / "dev-web" / locks.LOCK_FILE).exists()


def _synthesized(synth: Synth, root: Path, names: list[str]) -> Path:
    """A synthesis output as `cdktf synth` writes it, of some stacks of the session's synthesis."""
    stacks = {}
    for name in names:
        shutil.copytree(synth.stack_dir(name), root / "stacks" / name)
        stacks[name] = {"name": name, "dependencies": [], "workingDirectory": f"stacks/{name}"}
    (root / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": stacks}))
    return root


CDKTF_INIT = """
const { CdktfStack } = require("@cdktf/cli-core/src/lib/cdktf-stack");
const fs = require("fs"), path = require("path");
(async () => {
  const dir = process.argv[1];
  const stack = new CdktfStack({
    stack: { name: path.basename(dir), workingDirectory: dir, content: fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8") },
    onLog: ({ message }) => process.stderr.write(message),
    abortSignal: new AbortController().signal,
  });
  const needsLock = await stack.checkNeedsLockfileUpdate();
  if (needsLock) throw new Error("cdktf would run `terraform providers lock`, which asks the registry");
  await stack.initalizeTerraform(true);  // as before `cdktf diff`: terraform init (no providers lock)
  process.stdout.write("initialized");
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.mark.terraform
def test_after_synth_cdktf_initializes_a_stack_offline_from_the_mirror(
    synth: Synth, terraform_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = os.environ.get("TF_PROVIDER_MIRROR")
    if not mirror:
        pytest.skip("needs TF_PROVIDER_MIRROR (CI sets it)")
    out = tmp_path / "cdktf.out"
    # As `make synth SERVICES=web` installs it: one service stack, no platform.
    monkeypatch.chdir(ROOT)  # the lock cache is the project's .build/locks
    assert stacks_main(["stacks", "install", str(_synthesized(synth, tmp_path / "new", ["dev-web"])), str(out)]) == 0
    stack = out / "stacks" / "dev-web"
    assert locks.locked_version((stack / locks.LOCK_FILE).read_text()) == ("5.100.0", "5.100.0")
    # cdktf's backend is local and points outside the folder; no state is needed for init.
    offline = dict(terraform_env, HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="")
    result = subprocess.run(
        ["node", "-e", CDKTF_INIT, str(stack)], cwd=ROOT, env=offline, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0 and result.stdout == "initialized", result.stdout + result.stderr
    assert (stack / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").is_dir()
