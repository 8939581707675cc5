"""Write the README's tables of the stacks' Terraform variables from their declarations
(`infra.service.variables.KNOBS`, `infra.platform.variables.KNOBS`).

    python -m tools.variables_doc          # rewrite the tables in README.md
    python -m tools.variables_doc --check  # exit 1 when README.md is not current (a test runs it)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from infra.platform import variables as platform_variables
from infra.service import variables as service_variables
from infra.variables import Knob
from tools import readme_block

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
    return readme_block.render(readme, BEGIN, END, table())


def main(argv: list[str]) -> int:
    return readme_block.main(argv, render, what="the variables tables are", tool="tools.variables_doc")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
