"""Write the README's table of the platform's contract from `infra.platform.contract`.

    python -m tools.contract_doc          # rewrite the table in README.md
    python -m tools.contract_doc --check  # exit 1 when README.md is not current (a test runs it)
"""

from __future__ import annotations

import sys
from pathlib import Path

from infra.platform import contract

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN GENERATED: contract (python -m tools.contract_doc) -->"
END = "<!-- END GENERATED: contract -->"


def table() -> str:
    lines = [f"Contract version **{contract.CONTRACT_VERSION}**.", "", "| output | type | meaning | present |", "|---|---|---|---|"]
    for output in contract.OUTPUTS:
        lines.append(f"| `{output.name}` | {output.kind.value} | {output.description} | {output.presence.value} |")
    return "\n".join(lines)


def render(readme: str) -> str:
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + table() + "\n" + readme[end:]


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    text = path.read_text()
    rendered = render(text)
    if "--check" in argv:
        if rendered != text:
            print("error: README.md: the contract table is stale; run python -m tools.contract_doc", file=sys.stderr)
            return 1
        return 0
    path.write_text(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
