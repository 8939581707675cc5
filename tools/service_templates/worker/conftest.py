"""Make ``__PKG__`` importable however pytest is started (``make test`` from the repository
root, or ``pytest`` inside services/__NAME__)."""

import sys
from pathlib import Path

_SERVICE_DIR = str(Path(__file__).resolve().parent)
if _SERVICE_DIR not in sys.path:
    sys.path.insert(0, _SERVICE_DIR)
