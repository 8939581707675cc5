"""`.terraform.lock.hcl` for the pinned provider in every stack folder, when Terraform installs
providers from a local mirror (TF_PROVIDER_MIRROR): `make synth` and `make hcl` write it.

Why: `cdktf diff` and `cdktf deploy` run `terraform providers lock -platform=linux_amd64` before
`terraform init` whenever a stack folder has no lock file, or one whose `constraints` do not
match the stack's required provider (@cdktf/cli-core 0.21: src/lib/cdktf-stack.js
`checkNeedsLockfileUpdate`, then src/lib/models/terraform-cli.js `init`, which runs the lock
when `needsLockfileUpdate`). `providers lock` ignores the CLI configuration's mirror and asks
the registry, so offline, with a mirror, every first `cdktf diff` failed. With a lock file that
already names hashicorp/aws at PROVIDER_VERSION, cdktf goes straight to `terraform init`, which
installs from the mirror and checks the package against the lock's hash.

The lock is made once per provider version and platform, from the mirror itself
(`terraform providers lock -fs-mirror=<mirror> -platform=<this machine's platform>`), kept in
.build/locks/, and copied. It holds only this platform's hash. That is why nothing is written
without TF_PROVIDER_MIRROR: a lock file with one platform's hashes makes `terraform init` on
any other platform (a Mac beside Linux CI) refuse the provider, so without a mirror the
registry's own lock (cdktf's `providers lock`, all of its hashes) stays the way it is made.
A stack folder that already locks the pinned version keeps its file (it may hold more hashes).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

from tools.hcl_syntax import Attribute, Block, parse

LOCK_FILE = ".terraform.lock.hcl"
AWS = "registry.terraform.io/hashicorp/aws"
CACHE = Path(".build") / "locks"


def platform(env: dict[str, str] | None = None) -> str:
    """This machine's Terraform platform, e.g. linux_amd64."""
    shown = subprocess.run(["terraform", "version", "-json"], env=env, capture_output=True, text=True, check=True)
    return str(json.loads(shown.stdout)["platform"])


def lock_text(mirror: str, version: str, *, cache: Path = CACHE) -> str:
    """The lock file of hashicorp/aws `version` for this platform, hashed from `mirror`."""
    env = dict(os.environ, CHECKPOINT_DISABLE="1")
    here = platform(env)
    mirror_path = Path(mirror).resolve()
    key = hashlib.sha256(str(mirror_path).encode()).hexdigest()[:12]
    cached = cache / f"aws-{version}-{here}-{key}.hcl"
    if cached.is_file():
        return cached.read_text()
    with tempfile.TemporaryDirectory() as work:
        required = {"aws": {"source": "hashicorp/aws", "version": version}}
        (Path(work) / "main.tf.json").write_text(json.dumps({"terraform": {"required_providers": required}}))
        result = subprocess.run(
            ["terraform", "providers", "lock", f"-fs-mirror={mirror_path}", f"-platform={here}", "-no-color"],
            cwd=work, env=env, capture_output=True, text=True, timeout=600,
        )
        if result.returncode != 0:
            raise SystemExit(f"error: terraform providers lock from TF_PROVIDER_MIRROR={mirror}:\n{result.stdout}{result.stderr}")
        text = (Path(work) / LOCK_FILE).read_text()
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(text)
    return text


def locked_version(text: str) -> tuple[str | None, str | None]:
    """(version, constraints) that a lock file records for hashicorp/aws."""
    tokens, body = parse(text)
    for item in body:
        if isinstance(item, Block) and item.type == "provider" and item.labels == [AWS]:
            values = {
                a.name: json.loads(tokens[a.value[0]].text)
                for a in item.body
                if isinstance(a, Attribute) and a.name in ("version", "constraints") and a.value[1] - a.value[0] == 1
            }
            return values.get("version"), values.get("constraints")
    return None, None


def required_version(stack_dir: Path) -> str:
    """The hashicorp/aws version a synthesized stack pins (infra.stacks.PROVIDER_VERSION), read
    where cdktf reads it: `terraform.required_providers` of its cdk.tf.json."""
    doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    return str(doc["terraform"]["required_providers"]["aws"]["version"])


def write(stack_dir: Path, text: str, version: str) -> bool:
    """Put the lock into one stack folder unless it already locks `version`; True if written."""
    target = stack_dir / LOCK_FILE
    if target.is_file() and locked_version(target.read_text()) == (version, version):
        return False
    target.write_text(text)
    return True


def write_all(outdir: Path, names: list[str], version: str | None = None) -> None:
    """The lock in each named stack folder of `outdir`, when TF_PROVIDER_MIRROR is set; the
    version is each stack's own unless given (the HCL output has no cdk.tf.json)."""
    mirror = os.environ.get("TF_PROVIDER_MIRROR", "")
    if not mirror:
        return  # the registry locks for every platform (see the module's docstring)
    for name in names:
        stack_dir = outdir / "stacks" / name
        pinned = version or required_version(stack_dir)
        write(stack_dir, lock_text(mirror, pinned), pinned)
