"""One generated block of README.md, between its BEGIN and END markers: written by a tool
(`python -m tools.<tool>`) and kept current by a test (`--check`, or `render(readme) == readme`).
Used by tools.contract_doc and tools.variables_doc."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def render(readme: str, begin: str, end: str, table: str) -> str:
    """`readme` with the text between `begin` and `end` replaced by `table`."""
    start, stop = readme.index(begin) + len(begin), readme.index(end)
    return readme[:start] + "\n" + table + "\n" + readme[stop:]


def main(argv: list[str], rendered_from: Callable[[str], str], *, what: str, tool: str) -> int:
    """Rewrite README.md, or with `--check` exit 1 naming the tool when it is not current."""
    text = README.read_text()
    rendered = rendered_from(text)
    if "--check" in argv:
        if rendered != text:
            print(f"error: README.md: {what} stale; run python -m {tool}", file=sys.stderr)
            return 1
        return 0
    README.write_text(rendered)
    return 0
