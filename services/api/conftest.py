"""Make ``api_app`` importable however pytest is started
(``pytest services/`` from the repo root, or ``pytest`` inside services/api)."""

import sys
from pathlib import Path

_SERVICE_DIR = str(Path(__file__).resolve().parent)
if _SERVICE_DIR not in sys.path:
    sys.path.insert(0, _SERVICE_DIR)
