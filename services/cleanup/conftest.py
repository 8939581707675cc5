"""Make ``cleanup_app`` importable however pytest is started (``pytest services/`` from the
repo root, or ``pytest`` inside services/cleanup), and give the database tests the api's
MariaDB server fixtures.

The cleanup works on the api's table, so its tests run against the api's own schema
(``api_app.repository.SCHEMA``) on a real MySQL-compatible server: the api's conftest starts
one on loopback (Debian's ``mariadb-server``; a missing server fails the tests, it never
skips them). Loaded here under a name of its own, its fixtures are this folder's too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SERVICE_DIR = Path(__file__).resolve().parent
_API_DIR = _SERVICE_DIR.parent / "api"
for folder in (_SERVICE_DIR, _API_DIR):  # cleanup_app, and api_app for its SCHEMA
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

_spec = importlib.util.spec_from_file_location("cleanup_tests_api_conftest", _API_DIR / "conftest.py")
_api = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _api  # dataclasses look their module up there
_spec.loader.exec_module(_api)

mariadb_server = _api.mariadb_server
db_account = _api.db_account
