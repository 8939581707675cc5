"""Synthesize each environment in a process of its own, then merge the outputs into one cdktf.out.

Why: a CDKTF synthesis is a conversation in which Python and the jsii kernel (node) take
turns, so it keeps one core busy whatever the machine has. Environments share nothing: no
stack of one environment references a stack of another. Run side by side, two environments
take about as long as the larger one: on our 2-core machines the default app goes from
about 4.5 s to 3.5 s and fifty services from about 12 s to 7.5 s (README, `make bench`).
Each process holds its own kernel, so memory grows with the number of processes, which is
why it is capped (`PLATFORM_SYNTH_PROCESSES`, read by main.py; default: one per
environment, at most one per core).

The merged output is what one App writes, byte for byte (tests/test_parallel_synth.py):
each process synthesizes into a folder of its own next to the output; only when all of
them have succeeded are their files moved into place, file by file, so other files in a
stack's folder (a `.terraform/` from `terraform init`) stay, as they do with one App; then
manifest.json lists every stack, written the way cdktf writes it (json-stable-stringify,
keys sorted, two spaces). If any process fails, the output folder is left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def synthesize_in_parallel(
    command: Sequence[str],
    *,
    environ: Mapping[str, str],
    environments: Sequence[str],
    outdir: Path,
    processes: int,
) -> int:
    """Run `command` once per environment (PLATFORM_ENVIRONMENTS=<env>), at most `processes`
    at a time, and merge what they write. Returns 0, or the first failing exit code."""
    outdir.parent.mkdir(parents=True, exist_ok=True)
    parts = Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent))
    try:

        def run(name: str) -> int:
            env = dict(environ, PLATFORM_ENVIRONMENTS=name, CDKTF_OUTDIR=str(parts / name))
            return subprocess.run(list(command), env=env, check=False).returncode

        with ThreadPoolExecutor(max_workers=max(1, processes)) as pool:
            codes = list(pool.map(run, environments))
        failed = next((code for code in codes if code != 0), 0)
        if failed:
            return failed
        _merge([parts / name for name in environments], outdir)
        return 0
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _merge(sources: Sequence[Path], outdir: Path) -> None:
    manifest: dict[str, Any] = {"stacks": {}}
    for source in sources:
        part = json.loads((source / MANIFEST).read_text())
        if manifest.setdefault("version", part["version"]) != part["version"]:
            raise RuntimeError(f"cdktf versions differ between environments: {manifest['version']}, {part['version']}")
        manifest["stacks"].update(part["stacks"])
    (outdir / "stacks").mkdir(parents=True, exist_ok=True)
    for source in sources:
        for file in sorted(p for p in (source / "stacks").rglob("*") if p.is_file()):
            target = outdir / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, target)
    (outdir / MANIFEST).write_text(stable_stringify(manifest))


def stable_stringify(node: Any, level: int = 0, space: str = "  ") -> str:
    """JSON as npm's json-stable-stringify writes it with `{space: 2}` (cdktf's manifest.json):
    keys sorted, and empty containers still broken over two lines."""
    indent = "\n" + space * level
    if isinstance(node, dict):
        items = [f"{indent}{space}{json.dumps(key, ensure_ascii=False)}: {stable_stringify(node[key], level + 1)}" for key in sorted(node)]
        return "{" + ",".join(items) + indent + "}"
    if isinstance(node, list):
        items = [f"{indent}{space}{stable_stringify(item, level + 1)}" for item in node]
        return "[" + ",".join(items) + indent + "]"
    return json.dumps(node, ensure_ascii=False)
