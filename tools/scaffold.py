"""A new service folder that synthesizes, builds and tests as it is: `make service NAME=billing KIND=web`.

    python -m tools.scaffold NAME KIND     # KIND: web, backend, worker

It writes services/<NAME>/: a commented service.toml (valid against the schema; the loader
checks it with the rest of the project before the folder is kept), a Dockerfile (non-root,
read-only root filesystem, health check), a minimal real app with its health endpoint
(Flask + gunicorn for web and backend, an SQS consumer for a worker) and its tests, which
`make test` and the service's pipeline run. A name that is taken or invalid is refused with one
line and exit 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from infra.config import ConfigError, load_app
from infra.config.schema import RESERVED_SERVICE_NAMES, SERVICE_NAME

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "service_templates"

# kind -> (application template, container port); the ports follow the samples' convention.
KINDS = {"web": ("http", 8080), "backend": ("http", 8081), "worker": ("worker", 8082)}
HEALTH = "/health"


class ScaffoldError(Exception):
    pass


def package(name: str) -> str:
    return name.replace("-", "_") + "_app"


def check(root: Path, name: str, kind: str) -> None:
    if kind not in KINDS:
        raise ScaffoldError(f"KIND: {kind!r} is not a kind of service (one of: {', '.join(KINDS)})")
    if not SERVICE_NAME.fullmatch(name):
        raise ScaffoldError(
            f"NAME: {name!r} is not a service name (lower-case letters, digits and '-', 2-21 characters,"
            " starting with a letter, not ending with '-')"
        )
    if name in RESERVED_SERVICE_NAMES:
        raise ScaffoldError(f"NAME: {name!r} is reserved (the stack <env>-{name} is the platform's)")
    if (root / "services" / name).exists():
        raise ScaffoldError(f"services/{name}: already exists; choose another NAME")


def render(text: str, *, name: str, port: int) -> str:
    return (
        text.replace("__NAME__", name).replace("__PKG__", package(name)).replace("__PORT__", str(port)).replace("__HEALTH__", HEALTH)
    )


def write(root: Path, name: str, kind: str) -> list[Path]:
    """Write the folder and load the project with it; on any error nothing stays."""
    check(root, name, kind)
    template, port = KINDS[kind]
    target = root / "services" / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root / "services"))
    try:
        for source in sorted((TEMPLATES / template).rglob("*")):
            if source.is_dir() or "__pycache__" in source.parts:
                continue
            relative = Path(render(str(source.relative_to(TEMPLATES / template)), name=name, port=port))
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(render(source.read_text(), name=name, port=port))
        manifest = (TEMPLATES / "manifests" / f"{kind}.toml").read_text()
        (staging / "service.toml").write_text(render(manifest, name=name, port=port))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        load_app(root)  # the schema and every rule across the project, as `make synth` will
    except ConfigError:
        shutil.rmtree(target)
        raise
    return sorted(p for p in target.rglob("*") if p.is_file())


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scaffold", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="", help="the service's name, e.g. billing")
    parser.add_argument("kind", nargs="?", default="", help=f"one of: {', '.join(KINDS)}")
    args = parser.parse_args(argv)
    try:
        if not args.name:
            raise ScaffoldError("NAME: missing (make service NAME=billing KIND=web)")
        files = write(root, args.name, args.kind or "")
    except (ScaffoldError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"created services/{args.name}/ ({args.kind}):")
    for path in files:
        print(f"  {path.relative_to(root)}")
    print("next: make synth && make test (the new stacks, the app's tests); then commit the folder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
