"""Write the README's tables of the stacks' Terraform variables from their declarations
(`infra.service.variables.KNOBS`, `infra.platform.variables.KNOBS`).

    python -m tools.variables_doc          # rewrite the tables in README.md
    python -m tools.variables_doc --check  # exit 1 when README.md is not current (a test runs it)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from infra.platform import variables as platform_variables
from infra.service import variables as service_variables
from infra.variables import Knob

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN GENERATED: variables (python -m tools.variables_doc) -->"
END = "<!-- END GENERATED: variables -->"


def _rows(knobs: Iterable[Knob]) -> list[str]:
    return [
        f"| `{k.name}` | {k.type} | {k.default_from} | {k.rules} | {k.present} | {k.description} |" for k in knobs
    ]


def table() -> str:
    header = ["| variable | type | default (no `-var`) | allowed | declared | meaning |", "|---|---|---|---|---|---|"]
    return "\n".join(
        [
            "Each service stack `<env>-<service>` (defaults from its `service.toml` with the environment's overrides):",
            "",
            *header,
            *_rows(service_variables.KNOBS),
            "",
            "Each platform stack `<env>-platform` (defaults from `environments/<env>.toml`):",
            "",
            *header,
            *_rows(platform_variables.KNOBS),
        ]
    )


def render(readme: str) -> str:
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + table() + "\n" + readme[end:]


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    text = path.read_text()
    rendered = render(text)
    if "--check" in argv:
        if rendered != text:
            print("error: README.md: the variables tables are stale; run python -m tools.variables_doc", file=sys.stderr)
            return 1
        return 0
    path.write_text(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
