"""`make doctor`: is this machine ready to synthesize, plan and deploy? Each check prints one
`ok` line, or `PROBLEM` with what is wrong and a `fix:` line saying what to do.

    make doctor [ENV=prod]                      # every environment unless ENV names one
    python -m tools.doctor [--env prod]

Checks, in order: Python (the project's .venv/ and its packages), Node.js, npm and the pinned
cdktf CLI, Terraform (on PATH, version, a CLI configuration file that exists), the provider
source (TF_PROVIDER_MIRROR holding the pinned hashicorp/aws for this platform, or the registry
reachable), then for each environment: its configuration loads, AWS credentials work (STS
GetCallerIdentity) and its state backend answers (local: the folder is writable; s3: HeadBucket
on the state bucket; cloud: a token for the host and the host answers).

Exit code 0 when every check passed, 1 when any found a problem. The toolchain checks use
the standard library only, so they run before `make install` (with the system Python); the
configuration and AWS checks need the project's packages and say so when they are missing.
AWS endpoints follow the SDK's settings, AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_S3 included.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# S3-native state locking (`use_lockfile`, on in our s3 backends) came in 1.10 (experimental;
# generally available in 1.11): https://developer.hashicorp.com/terraform/language/v1.10.x/upgrade-guides
TERRAFORM_MIN = (1, 10)
NODE_MIN = (20, 9)  # cdktf-cli 0.21's own requirement (its `cdktf debug` check)
TIMEOUT = 5.0  # seconds for each network check
REGISTRY = "https://registry.terraform.io/v1/providers/hashicorp/aws/versions"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def problem(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, detail, fix)


def _version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in match.groups() if part is not None) if match else ()


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str] | None:
    """The command's result, or None when it is not on PATH."""
    if shutil.which(args[0], path=(env or os.environ).get("PATH")) is None:
        return None
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None


# --- the toolchain ----------------------------------------------------------------------------
def check_python(root: Path) -> Iterator[Check]:
    wanted = tomllib.loads((root / "Pipfile").read_text())["requires"]["python_version"]
    venv = root / ".venv" / "bin" / "python"
    if not venv.exists():
        yield problem(
            "python",
            ".venv/ is missing: the project's Python packages are not installed",
            f"make install (pipenv creates .venv/ with Python {wanted}: install that first, e.g. pyenv install {wanted})",
        )
        return
    shown = subprocess.run([str(venv), "--version"], capture_output=True, text=True)
    found = _version(shown.stdout + shown.stderr)
    if found[:2] != _version(wanted)[:2]:
        yield problem(
            "python",
            f".venv/ runs Python {_dotted(found) or '?'}; the project needs {wanted} (Pipfile)",
            f"install Python {wanted}, then rm -rf .venv && make install",
        )
        return
    synced, lock = root / ".venv" / ".synced", root / "Pipfile.lock"
    if not synced.exists() or synced.stat().st_mtime < lock.stat().st_mtime:
        yield problem("python", f".venv/ (Python {_dotted(found)}) is older than Pipfile.lock", "make install")
        return
    yield ok("python", f".venv/ Python {_dotted(found)}, packages as Pipfile.lock pins them")


def check_node(root: Path, env: dict[str, str]) -> Iterator[Check]:
    shown = _run(["node", "--version"], env)
    if shown is None:
        yield problem("node", "node is not on PATH (the cdktf CLI and the synthesis's jsii runtime need it)", "install Node.js 20 LTS with npm (https://nodejs.org/)")
        return
    found = _version(shown.stdout)
    if found[:2] < NODE_MIN:
        yield problem("node", f"Node.js {_dotted(found)} is older than {_dotted(NODE_MIN)} (cdktf-cli 0.21)", "install Node.js 20 LTS (https://nodejs.org/)")
        return
    if _run(["npm", "--version"], env) is None:
        yield problem("node", f"Node.js {_dotted(found)} but npm is not on PATH (make install runs npm ci)", "install npm with Node.js (https://nodejs.org/)")
        return
    pinned = json.loads((root / "package.json").read_text())["devDependencies"]["cdktf-cli"]
    installed = root / "node_modules" / "cdktf-cli" / "package.json"
    if not installed.exists():
        yield problem("node", f"Node.js {_dotted(found)}; the cdktf CLI {pinned} is not installed in node_modules/", "make install")
        return
    version = json.loads(installed.read_text())["version"]
    if version != pinned:
        yield problem("node", f"node_modules/ holds cdktf-cli {version}, package.json pins {pinned}", "make install (npm ci)")
        return
    yield ok("node", f"Node.js {_dotted(found)}, cdktf-cli {version}")


def terraform_version(env: dict[str, str]) -> dict[str, str] | None:
    shown = _run(["terraform", "version", "-json"], dict(env, CHECKPOINT_DISABLE="1"))
    if shown is None or shown.returncode != 0:
        return None
    try:
        return json.loads(shown.stdout)
    except json.JSONDecodeError:  # a Terraform before 0.13 has no -json: its text says the version
        return {"terraform_version": _dotted(_version(shown.stdout)), "platform": ""}


def check_terraform(env: dict[str, str]) -> Iterator[Check]:
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not Path(config).is_file():
        yield problem(
            "terraform",
            f"TF_CLI_CONFIG_FILE={config} does not exist: Terraform (and cdktf through it) warns about it on every command",
            'unset TF_CLI_CONFIG_FILE, or point it at a file (with a mirror: eval "$(make -s tf-env)")',
        )
    shown = terraform_version(env)
    if shown is None:
        yield problem("terraform", "terraform is not on PATH", f"install Terraform >= {_dotted(TERRAFORM_MIN)} (https://developer.hashicorp.com/terraform/install)")
        return
    found = _version(shown.get("terraform_version", ""))
    if found[:2] < TERRAFORM_MIN:
        yield problem(
            "terraform",
            f"Terraform {_dotted(found)} is older than {_dotted(TERRAFORM_MIN)} (the s3 backends lock with use_lockfile, new in 1.10)",
            f"install Terraform >= {_dotted(TERRAFORM_MIN)} (https://developer.hashicorp.com/terraform/install)",
        )
        return
    yield ok("terraform", f"Terraform {_dotted(found)} ({shown.get('platform') or 'platform unknown'})")


def provider_version(root: Path) -> str:
    """The pinned hashicorp/aws version, read from infra/stacks.py without importing it (the
    import loads jsii, and this check runs before `make install`)."""
    match = re.search(r'^PROVIDER_VERSION = "([^"]+)"', (root / "infra" / "stacks.py").read_text(), re.M)
    return match.group(1) if match else "?"


def check_provider(root: Path, env: dict[str, str]) -> Iterator[Check]:
    version = provider_version(root)
    mirror = env.get("TF_PROVIDER_MIRROR", "")
    if mirror:
        shown = terraform_version(env) or {}
        platform = shown.get("platform") or f"{sys.platform}_amd64"
        base = Path(mirror) / "registry.terraform.io" / "hashicorp" / "aws"
        unpacked = base / version / platform
        packed = base / f"terraform-provider-aws_{version}_{platform}.zip"
        if unpacked.is_dir() or packed.is_file():
            yield ok("provider", f"hashicorp/aws {version} for {platform} in the mirror {mirror}")
            return
        yield problem(
            "provider",
            f"TF_PROVIDER_MIRROR={mirror} holds no hashicorp/aws {version} for {platform} (looked for {unpacked} and {packed.name})",
            f"terraform providers mirror -platform={platform} {mirror} in a folder requiring hashicorp/aws {version}, or unset TF_PROVIDER_MIRROR to use the registry",
        )
        return
    try:
        with urllib.request.urlopen(REGISTRY, timeout=TIMEOUT) as answer:
            versions = {v["version"] for v in json.load(answer).get("versions", [])}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        yield problem(
            "provider",
            f"the Terraform registry does not answer ({_reason(exc)}) and TF_PROVIDER_MIRROR is not set",
            "allow HTTPS to registry.terraform.io, or set TF_PROVIDER_MIRROR to a provider mirror (README: Quick start)",
        )
        return
    if version not in versions:
        yield problem("provider", f"the registry does not list hashicorp/aws {version}", "check infra/stacks.py PROVIDER_VERSION")
        return
    yield ok("provider", f"hashicorp/aws {version} from registry.terraform.io")


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason).strip() or type(exc).__name__


# --- an environment ---------------------------------------------------------------------------
def load_environments(root: Path, names: list[str]) -> tuple[list[object], Check | None]:
    """The environments' specs, or the problem that stops loading them."""
    try:
        from infra.config import ConfigError, load_app
    except ImportError as exc:
        return [], problem("config", f"cannot load the configuration: {exc}", "make install")
    try:
        app = load_app(root, environments=names or None)
    except ConfigError as exc:
        return [], problem("config", str(exc), "correct the file and field named here (README: Configuration)")
    services = sum(len(specs) for specs in app.services.values())
    return list(app.environments), ok("config", f"{', '.join(e.name for e in app.environments)}: environments and {services} service stacks load")


def _boto3():  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3, Config(connect_timeout=TIMEOUT, read_timeout=TIMEOUT * 2, retries={"max_attempts": 1})


def check_credentials(region: str) -> Iterator[Check]:
    """Who the SDK's credential chain says we are. GetCallerIdentity needs no permission, so
    it fails only for missing, expired or refused credentials or an unreachable endpoint:
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"""
    try:
        boto3, config = _boto3()
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        yield problem("credentials", f"cannot check: {exc}", "make install")
        return
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        yield problem(
            "credentials",
            "no AWS credentials: none in the environment, ~/.aws/config profiles, SSO or an instance role",
            "aws configure sso && export AWS_PROFILE=<profile>, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (make local-deploy needs none)",
        )
        return
    sts = session.client("sts", config=config)
    try:
        me = sts.get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        yield problem(
            "credentials",
            f"AWS refused the credentials: {error.get('Code')}: {error.get('Message')}",
            "renew them (aws sso login) or export valid keys",
        )
        return
    except BotoCoreError as exc:
        yield problem("credentials", f"cannot reach STS at {sts.meta.endpoint_url}: {exc}", "check the network or proxy (and AWS_ENDPOINT_URL_STS if set)")
        return
    yield ok("credentials", f"account {me['Account']} as {me['Arn']}")


def check_backend(root: Path, env: object) -> Iterator[Check]:
    name = f"backend {env.name}"  # type: ignore[attr-defined]
    backend = env.backend  # type: ignore[attr-defined]
    kind = backend.kind.value if hasattr(backend.kind, "value") else str(backend.kind)
    if kind == "local":
        if os.access(root, os.W_OK):
            yield ok(name, "local: state files beside the project (terraform.<stack>.tfstate)")
        else:
            yield problem(name, f"local: {root} is not writable, so Terraform cannot write its state there", "make the project folder writable")
        return
    if kind == "s3":
        yield from _check_s3(name, backend.s3)
        return
    yield from _check_cloud(name, backend.cloud)


def _check_s3(name: str, s3: object) -> Iterator[Check]:
    """HeadBucket answers 200 when the bucket exists and we may list it (the S3 backend needs
    s3:ListBucket on it), 403 without that permission, 404 when there is no such bucket, 301
    when it is in another Region:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html"""
    bucket, region = s3.bucket, s3.region  # type: ignore[attr-defined]
    try:
        boto3, config = _boto3()
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError as exc:
        yield problem(name, f"s3://{bucket}: cannot check: {exc}", "make install")
        return
    client = boto3.Session(region_name=region).client("s3", config=config)
    try:
        client.head_bucket(Bucket=bucket)
    except NoCredentialsError:
        yield problem(name, f"s3://{bucket}: cannot check without AWS credentials", "see the credentials check")
        return
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        fixes = {
            "404": (f"s3://{bucket} does not exist", f"create it in {region} (versioning and encryption on), or correct backend.bucket"),
            "NoSuchBucket": (f"s3://{bucket} does not exist", f"create it in {region} (versioning and encryption on), or correct backend.bucket"),
            "403": (f"s3://{bucket}: access denied", "grant s3:ListBucket on the bucket and s3:GetObject/PutObject/DeleteObject on the state keys"),
            "301": (f"s3://{bucket} is not in {region}", "set backend.region to the bucket's Region"),
        }
        detail, fix = fixes.get(code, (f"s3://{bucket}: {code}: {exc}", "check the bucket and the credentials' permissions"))
        yield problem(name, detail, fix)
        return
    except BotoCoreError as exc:
        yield problem(name, f"s3://{bucket}: cannot reach S3 at {client.meta.endpoint_url}: {exc}", "check the network or proxy (and AWS_ENDPOINT_URL_S3 if set)")
        return
    yield ok(name, f"s3://{bucket} in {region} answers")


def _check_cloud(name: str, cloud: object) -> Iterator[Check]:
    """A token for the host (TF_TOKEN_<host> or `terraform login`'s credentials file,
    https://developer.hashicorp.com/terraform/cli/config/config-file#environment-variable-credentials),
    and the host's API answering."""
    host = cloud.hostname  # type: ignore[attr-defined]
    variable = "TF_TOKEN_" + host.replace("-", "__").replace(".", "_")
    stored = Path.home() / ".terraform.d" / "credentials.tfrc.json"
    tokens = json.loads(stored.read_text()).get("credentials", {}) if stored.is_file() else {}
    if not os.environ.get(variable) and host not in tokens:
        yield problem(name, f"cloud: no token for {host} ({variable} unset, none in {stored})", f"terraform login {host}")
        return
    try:
        with urllib.request.urlopen(f"https://{host}/api/v2/ping", timeout=TIMEOUT):
            pass
    except (urllib.error.URLError, OSError) as exc:
        yield problem(name, f"cloud: {host} does not answer ({_reason(exc)})", f"allow HTTPS to {host}")
        return
    yield ok(name, f"cloud: {host} answers, organization {cloud.organization}")  # type: ignore[attr-defined]


# --- the report -------------------------------------------------------------------------------
def checks(root: Path, environments: list[str], env: dict[str, str]) -> Iterator[Check]:
    yield from check_python(root)
    yield from check_node(root, env)
    yield from check_terraform(env)
    yield from check_provider(root, env)
    specs, loaded = load_environments(root, environments)
    if loaded is not None:
        yield loaded
    if not specs:
        return
    yield from check_credentials(specs[0].region)  # type: ignore[attr-defined]
    for spec in specs:
        yield from check_backend(root, spec)


def render(check: Check) -> list[str]:
    if check.ok:
        return [f"ok       {check.name:<14} {check.detail}"]
    return [f"PROBLEM  {check.name:<14} {check.detail}", f"         {'':<14} fix: {check.fix}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.doctor", description="Check the tools, the credentials and the state backends.")
    parser.add_argument("--env", default="", help="one environment (default: every environment)")
    args = parser.parse_args(argv)
    found = 0
    for check in checks(ROOT, [args.env] if args.env else [], dict(os.environ)):
        for line in render(check):
            print(line, flush=True)
        found += not check.ok
    print(f"{found} problem{'s' if found != 1 else ''} found." if found else "Everything needed is in place.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
