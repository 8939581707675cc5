"""tools/bytecode.py: `make install` compiles the -O bytecode of what a synthesis imports, the
project's own packages included, so that `python -O main.py` compiles nothing from source
where PYTHONDONTWRITEBYTECODE is set (as on our machines)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tools import bytecode


def _run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PLATFORM_SERVICES", "PLATFORM_ENVIRONMENTS")}
    return subprocess.run([sys.executable, "-O", "-c", code], cwd=cwd, env={**environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_project_packages_are_every_project_package_a_synthesis_imports() -> None:
    # In a fresh interpreter, as main.py imports: which of the project's folders does it load from?
    done = _run(
        "import sys; sys.path.insert(0, '.'); from tools import bytecode; from pathlib import Path\n"
        "root, env = Path('.').resolve(), Path(sys.prefix).resolve()  # the environment may sit in the project\n"
        "print(sorted({p.relative_to(root).parts[0] for p in bytecode._imported_files()\n"
        "              if p.is_relative_to(root) and not p.is_relative_to(env)}))",
        ROOT,
    )
    assert done.returncode == 0, done.stderr
    imported = set(eval(done.stdout.strip().splitlines()[-1]))  # noqa: S307 (our own print of a list of names)
    imported -= {"tools"}  # this test's own import of tools/bytecode.py; main.py imports no tool
    assert imported == set(bytecode.PROJECT_PACKAGES)


def test_project_bytecode_of_a_copy_is_what_python_O_reads(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "infra", tmp_path / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    module = tmp_path / "infra" / "naming.py"
    module.write_text(module.read_text() + "\nCOMPILED_FROM = 'A'\n")
    assert bytecode.main(["--project", str(tmp_path)]) == 0
    sources = sorted((tmp_path / "infra").rglob("*.py"))
    missing = [s for s in sources if not Path(importlib.util.cache_from_source(str(s), optimization=1)).is_file()]
    assert missing == []
    # The source changed behind Python's back (same size, same modification time): only a
    # module read from the compiled file still says 'A'. As on our machines, with
    # PYTHONDONTWRITEBYTECODE set.
    stat = module.stat()
    module.write_text(module.read_text().replace("COMPILED_FROM = 'A'", "COMPILED_FROM = 'B'"))
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    done = _run("import sys; sys.path.insert(0, '.'); import infra.app, infra.naming as n; print(n.COMPILED_FROM)",
                tmp_path, PYTHONDONTWRITEBYTECODE="1", PLATFORM_SPEEDUPS="none")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "A"


def test_project_bytecode_is_not_read_once_its_source_changed(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "infra", tmp_path / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    assert bytecode.main(["--project", str(tmp_path)]) == 0
    module = tmp_path / "infra" / "naming.py"
    module.write_text(module.read_text() + "\nEDITED_AFTER_INSTALL = True\n")
    done = _run("import sys; sys.path.insert(0, '.'); import infra.naming as n; print(n.EDITED_AFTER_INSTALL)",
                tmp_path, PYTHONDONTWRITEBYTECODE="1", PLATFORM_SPEEDUPS="none")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_bad_arguments_are_one_usage_line_and_exit_2(capsys) -> None:  # noqa: ANN001
    assert bytecode.main(["--projects"]) == 2
    assert capsys.readouterr().err.strip() == "usage: python -m tools.bytecode [--project [DIR]]"
