"""Write the README's table of the platform's contract from `infra.platform.contract`.

    python -m tools.contract_doc          # rewrite the table in README.md
    python -m tools.contract_doc --check  # exit 1 when README.md is not current (a test runs it)
"""

from __future__ import annotations

import sys

from infra.platform import contract
from tools import readme_block

BEGIN = "<!-- BEGIN GENERATED: contract (python -m tools.contract_doc) -->"
END = "<!-- END GENERATED: contract -->"


def table() -> str:
    lines = [f"Contract version **{contract.CONTRACT_VERSION}**.", "", "| output | type | meaning | present |", "|---|---|---|---|"]
    for output in contract.OUTPUTS:
        lines.append(f"| `{output.name}` | {output.kind.value} | {output.description} | {output.presence.value} |")
    return "\n".join(lines)


def render(readme: str) -> str:
    return readme_block.render(readme, BEGIN, END, table())


def main(argv: list[str]) -> int:
    return readme_block.main(argv, render, what="the contract table is", tool="tools.contract_doc")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
