"""Print what a synthesis produced: one line per stack with its resource count and backend."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize(outdir: Path) -> list[str]:
    lines = []
    for stack_file in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        doc = json.loads(stack_file.read_text())
        resources = sum(len(items) for items in doc.get("resource", {}).values())
        backend = next(iter(doc.get("terraform", {}).get("backend", {"-": None})))
        lines.append(f"  {stack_file.parent.name:<24} {resources:>4} resources   backend: {backend}")
    return lines


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdktf.out")
    lines = summarize(outdir)
    if not lines:
        print(f"error: no stacks under {outdir}/stacks", file=sys.stderr)
        return 1
    print(f"Synthesized {len(lines)} stacks into {outdir}/stacks:")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
