"""Keep the compiled bytecode of the project's own modules (speed-up ``project_bytecode``).

Why this exists
---------------
Where PYTHONDONTWRITEBYTECODE is set (as on our machines), Python compiles every module it
imports from source and keeps nothing. ``make install`` compiles the dependencies' bytecode
once (tools/bytecode.py), but the project's own package changes with every pull and edit, so
it cannot be compiled ahead: every synthesis compiled the ~45 modules of ``infra`` a
one-service synthesis imports (the schema, the loader, the service constructs: ~90 ms of
CPU), about a tenth of synthesizing one service stack alone.

How it works
------------
``install()`` puts a finder at the front of ``sys.meta_path`` for the modules of ``PACKAGES``
(found the usual way, by ``importlib.machinery.PathFinder``). Their loader is the standard
``SourceFileLoader`` with one addition: when it had to compile a module from source, it
writes the bytecode Python itself would have written without PYTHONDONTWRITEBYTECODE, to
the same place (``__pycache__/<module>.cpython-311.opt-1.pyc`` under ``python -O``, which
.gitignore keeps out of the repository), in the same format (PEP 552, checked against the
source's modification time and size), through the loader's own atomic ``set_data``. The
next import reads it the standard way; an edited source no longer matches it and is
compiled again. Bytecode is a cache of the source: the modules are the same either way.

Only the project's own modules: the rest of the process keeps PYTHONDONTWRITEBYTECODE as
set. Where it is not set, Python writes the bytecode itself and this changes nothing. A
file that cannot be written (a read-only checkout) is skipped, as Python skips it.
Modules imported before ``install()`` (``infra`` and ``infra.speedups``) are compiled as
before. Switched off, it writes nothing; bytecode kept earlier is still read, as Python reads
any valid cache (so ``make bench`` measures it in a copy of the project that has none).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import marshal
import sys
from types import CodeType
from typing import Any

NAME = "project_bytecode"
PACKAGES: tuple[str, ...] = ("infra",)


class _CachingLoader(importlib.machinery.SourceFileLoader):
    """SourceFileLoader that keeps what it compiles, even with sys.dont_write_bytecode."""

    _compiled: tuple[CodeType, int] | None = None

    def source_to_code(self, data: Any, path: Any, *, _optimize: int = -1) -> CodeType:  # type: ignore[override]
        code = super().source_to_code(data, path, _optimize=_optimize)
        self._compiled = (code, len(data))
        return code

    def get_code(self, fullname: str) -> CodeType | None:
        self._compiled = None
        code = super().get_code(fullname)  # a valid cached file, else the source compiled
        compiled, self._compiled = self._compiled, None
        if compiled is not None and sys.dont_write_bytecode:
            self._keep(*compiled)
        return code

    def _keep(self, code: CodeType, source_size: int) -> None:
        source = self.get_filename(self.name)
        try:
            cached = importlib.util.cache_from_source(source)  # the -O name under python -O
            mtime = int(self.path_stats(source)["mtime"])
        except (NotImplementedError, OSError):
            return
        # PEP 552: magic, flags 0 (checked by timestamp), source mtime and size, the code.
        header = importlib.util.MAGIC_NUMBER + b"\0\0\0\0"
        header += (mtime & 0xFFFFFFFF).to_bytes(4, "little") + (source_size & 0xFFFFFFFF).to_bytes(4, "little")
        self.set_data(cached, header + marshal.dumps(code))  # atomic; ignores what it cannot write


class _ProjectFinder:
    _platform_project_bytecode = True

    @staticmethod
    def find_spec(fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader and spec.origin:
            spec.loader = _CachingLoader(fullname, spec.origin)
        return spec

    @staticmethod
    def invalidate_caches() -> None:
        importlib.machinery.PathFinder.invalidate_caches()


def install() -> str | None:
    """Put the finder first in sys.meta_path (idempotent). None: on."""
    if not any(getattr(finder, "_platform_project_bytecode", False) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ProjectFinder())
    return None
