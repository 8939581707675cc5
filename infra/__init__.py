"""The platform as a Python package.

Importing it first installs the lazy provider imports (see infra/fast_imports.py): the
provider package would otherwise import all of its ~2,100 modules (~11 s) on first use.
"""

from infra import fast_imports as _fast_imports

_fast_imports.install()
