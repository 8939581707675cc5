"""Install a synthesis into cdktf.out/ and print what it holds: one line per stack.

    python -m tools.stacks install <new outdir> <cdktf.out> [--prune]   # make synth
    python -m tools.stacks <cdktf.out>                                  # the summary alone

`make synth` synthesizes into a fresh folder first, so a failed synthesis leaves cdktf.out/
exactly as it was. `install` then replaces each synthesized stack's generated files in
place, keeping what Terraform keeps beside them (`.terraform/` with the selected workspace,
`.terraform.lock.hcl`, plan files), and merges manifest.json. With `--prune` (a synthesis of
every service), the folders of stacks of the synthesized environments that no longer exist
are removed. A synthesis of some services (`make synth SERVICES=web`) replaces only theirs.
With TF_PROVIDER_MIRROR set, every synthesized stack also gets the provider's lock file, so
`cdktf diff`/`cdktf deploy` work offline (tools/locks.py says why and why only then).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from tools import locks

MANIFEST = "manifest.json"
# Files CDKTF writes into a stack folder (everything else there is Terraform's).
GENERATED = ("cdk.tf.json", "cdk.tf", "metadata.json")


def summarize(outdir: Path, only: set[str] | None = None) -> list[str]:
    lines = []
    for stack_file in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        if only is not None and stack_file.parent.name not in only:
            continue
        doc = json.loads(stack_file.read_text())
        resources = sum(len(items) for items in doc.get("resource", {}).values())
        backend = next(iter(doc.get("terraform", {}).get("backend", {"-": None})))
        lines.append(f"  {stack_file.parent.name:<24} {resources:>4} resources   backend: {backend}")
    return lines


def _environment(stack: str) -> str:
    # Environment names hold no "-" (infra/config), so a stack `<env>-<part>` splits once.
    return stack.split("-", 1)[0]


def install(new: Path, outdir: Path, *, prune: bool) -> list[str]:
    """Move the stacks synthesized into `new` to `outdir`; returns their names."""
    manifest = json.loads((new / MANIFEST).read_text())
    synthesized = sorted(manifest["stacks"])
    old_path = outdir / MANIFEST
    old = json.loads(old_path.read_text()) if old_path.is_file() else {"stacks": {}}
    stacks_dir = outdir / "stacks"
    stacks_dir.mkdir(parents=True, exist_ok=True)
    for name in synthesized:
        target = stacks_dir / name
        target.mkdir(exist_ok=True)
        for generated in GENERATED:
            (target / generated).unlink(missing_ok=True)
        for item in (new / "stacks" / name).iterdir():
            shutil.move(str(item), target / item.name)
    kept = dict(old.get("stacks", {}))
    if prune:
        environments = {_environment(name) for name in synthesized}
        for name in list(kept):
            if _environment(name) in environments and name not in synthesized:
                del kept[name]
        for folder in stacks_dir.iterdir():
            if folder.is_dir() and _environment(folder.name) in environments and folder.name not in synthesized:
                shutil.rmtree(folder)
    merged = {**kept}
    for name, entry in manifest["stacks"].items():
        if not prune:
            # A stack synthesized without its platform (SERVICES=...) keeps the deploy order the
            # full synthesis recorded for it; a full synthesis records its own.
            earlier = set(kept.get(name, {}).get("dependencies", []))
            entry["dependencies"] = sorted(set(entry.get("dependencies", [])) | earlier)
        merged[name] = entry
    names = set(merged)
    for entry in merged.values():
        entry["dependencies"] = [d for d in entry.get("dependencies", []) if d in names]
    old_path.write_text(json.dumps({**manifest, "stacks": dict(sorted(merged.items()))}, indent=2) + "\n")
    shutil.rmtree(new, ignore_errors=True)
    return synthesized


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "install":
        new, outdir = Path(argv[2]), Path(argv[3])
        names = install(new, outdir, prune="--prune" in argv[4:])
        locks.write_all(outdir, names)
        lines = summarize(outdir, set(names))
    else:
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
