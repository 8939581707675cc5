"""The one error the app's stores raise: its own module, for the repository and the
credentials it connects with both raise it."""

from __future__ import annotations


class RepositoryError(Exception):
    """The backing store failed (unreachable, timeout, SQL error...)."""
