"""Two processes for an app of many stacks (speed-up ``parallel``).

Why this exists
---------------
A synthesis is one Python process and its jsii kernel (node), and they take turns: every
construct, attribute read and callback is a request one side waits on while the other
works, so a synthesis uses one core however many the machine has. Every stack of ours is
built alone (a service stack reads its platform through remote state by output name, never
through a CDKTF cross-stack reference), so two processes can each build and write half of
the stacks. The second process repeats the fixed cost of a synthesis (its kernel, the
assemblies, the configuration: ~0.6 s of CPU), and each process already keeps more than one
of the machine's two cores busy (Python and node overlap), so the two contend: it pays only
from a weight of about 21 service stacks (a platform stack counts as five). Measured on the
2-core machine, idle, paired runs of `python -O main.py` with it and without it (10 pairs;
"saves" as `make bench` counts it: the time without it over the time with it, minus one):

    weight  app                                   saves (wall)        costs (CPU, peak memory)
    17      dev only, 12 services                 -2%                 +45%, +227 MB
    18      the default app (4 services, 2 envs)  4-8%                +38-40%, +235 MB
    21      dev only, 16 services                 11%                 +30%, +225 MB
    22      6 services, 2 envs                    15%                 +30%, +237 MB
    26      8 services, 2 envs                    17%                 +29%, +235 MB
    110     50 services, 2 envs                   68% (8.3 -> 5.2 s)  +0%, +236 MB

Peak memory is that of both processes together (~530 MB, 575 MB at fifty services), which
is why there are two and no more: issue #11 caps a synthesis at 700 MB.

How it works
------------
``main.py`` loads and checks the configuration, then asks ``split()`` how to share the
app's stacks (``infra.stack_plan.plan_stacks``). Below ``MIN_WEIGHT`` (the edit loop, one
environment of up to fifteen services, the default app) it does not split: the second
process's fixed cost would eat the gain (the table above). Otherwise the
stacks are shared by weight (a platform stack counts as five service stacks), the heaviest
first, each to the lighter half; the order is fixed, so the same app is shared the same way.

``Split`` runs ``python [-O] main.py`` for the second half, with ``PLATFORM_SYNTH_STACKS``
naming its stacks and ``CDKTF_OUTDIR`` a folder of its own beside the output. The first
process builds and writes its own half meanwhile, into a folder of its own too (so its
writing overlaps the second's building), then waits for the second (``Split.wait``). Only
when both have written does anything reach the output (``Split.write``): both halves' stack
folders are moved in, then ``manifest.json`` is written with every stack and, for each, the
stacks it is applied after (a dependency built in the other process cannot be recorded
there). The result is byte-identical to one process's (tests/test_speedups.py,
tests/test_parallel.py).

An error in either half ends the synthesis with one line and exit 2 (a configuration error
found while building) or the half's own output, and writes nothing; the second process's
stderr is passed on without the lines the first printed already (the loader's warnings, a
speed-up's fallback).

Off (one line says so) where the process may use only one CPU.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

NAME = "parallel"
PARTS = 2  # each process holds ~230-300 MB; three would pass issue #11's 700 MB cap
# In service stacks: where two processes measured at least 10% faster than one (the table
# above). The default app (two platforms, eight services) weighs 18: one process.
MIN_WEIGHT = 21
# The second process starts once the first has loaded the configuration, and then starts its own
# kernel and loads the configuration again: it is given that much less (in service stacks).
CHILD_START = 6
STACKS_VARIABLE = "PLATFORM_SYNTH_STACKS"  # internal: the stacks a second process builds


def install() -> str | None:
    """None when it can help here, else why it is off."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    if usable < PARTS:
        return f"this process may use {usable} CPU; two processes would take turns on it"
    return None


def split(weights: Sequence[tuple[str, int]]) -> list[list[str]]:
    """The stacks (name, weight) shared into PARTS halves of about equal weight, each half in
    the order given; one part when the whole weighs less than MIN_WEIGHT."""
    if sum(w for _, w in weights) < MIN_WEIGHT:
        return [[name for name, _ in weights]]
    loads = [0] + [CHILD_START] * (PARTS - 1)
    part_of: dict[str, int] = {}
    for name, weight in sorted(weights, key=lambda item: -item[1]):  # stable: ties keep their order
        lightest = loads.index(min(loads))
        part_of[name] = lightest
        loads[lightest] += weight
    return [[name for name, _ in weights if part_of[name] == i] for i in range(PARTS)]


class Split:
    """The second process, started at once, and the folders both processes write to (beside
    the output, so that what they wrote is moved into it within one file system)."""

    def __init__(self, stacks: Sequence[str], *, main: Path, outdir: str) -> None:
        parent = Path(outdir).resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix=".synth-parts-", dir=parent))
        self.first = self.workdir / "first"  # this process's App writes here
        self.second = self.workdir / "second"
        self.stderr = self.workdir / "stderr"
        flags = ["-O"] * sys.flags.optimize
        env = dict(os.environ, CDKTF_OUTDIR=str(self.second), **{STACKS_VARIABLE: ",".join(stacks)})
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen([sys.executable, *flags, str(main)], env=env, stderr=err)

    def wait(self, already_printed: set[str]) -> int:
        """Wait for the second process; pass on its stderr but the lines this one printed already."""
        code = self.process.wait()
        for line in self.stderr.read_text(errors="replace").splitlines():
            if line not in already_printed:
                print(line, file=sys.stderr)
        return code

    def write(self, outdir: str, *, dependencies: dict[str, tuple[str, ...]]) -> None:
        """Move both processes' stack folders into `outdir` and write its manifest.json with
        every stack and the stacks it is applied after, as one process would have."""
        out = Path(outdir)
        parts = {part: json.loads((part / "manifest.json").read_text()) for part in (self.first, self.second)}
        manifest = parts[self.first]  # its version; every stack of both parts goes into its "stacks"
        for part, written in parts.items():
            for name, entry in list(written["stacks"].items()):  # the first part's are the manifest's own
                target = out / entry["workingDirectory"]
                target.mkdir(parents=True, exist_ok=True)
                for file in (part / entry["workingDirectory"]).iterdir():
                    os.replace(file, target / file.name)  # as App.synth: files replaced, others kept
                entry["dependencies"] = list(dependencies.get(name, ()))
                manifest["stacks"][name] = entry
        partial = out / "manifest.json.part"
        partial.write_text(_stable_stringify(manifest))
        os.replace(partial, out / "manifest.json")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _stable_stringify(value: object, level: int = 0) -> str:
    """As cdktf writes manifest.json (json-stable-stringify with two spaces: keys sorted, an
    empty list or object still broken over two lines, no final newline)."""
    indent = "\n" + "  " * level
    if isinstance(value, dict):
        items = [f"{indent}  {json.dumps(k, ensure_ascii=False)}: {_stable_stringify(value[k], level + 1)}" for k in sorted(value)]
        return "{" + ",".join(items) + indent + "}"
    if isinstance(value, list):
        return "[" + ",".join(f"{indent}  {_stable_stringify(v, level + 1)}" for v in value) + indent + "]"
    return json.dumps(value, ensure_ascii=False)
