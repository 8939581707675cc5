"""Tiny HTTP client for the internal ``api`` service (stdlib only, explicit timeout)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any


class UpstreamError(Exception):
    """The api service could not be reached or returned an unusable answer."""


class ApiClient:
    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def get_json(self, path: str, headers: dict[str, str] | None = None) -> Any:
        url = f"{self.base_url}{path}"
        req = urllib.request.Request(
            url, headers={"Accept": "application/json", **(headers or {})}, method="GET"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_seconds) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:  # must precede URLError (subclass)
            raise UpstreamError(f"api service at {url} returned HTTP {exc.code}") from exc
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UpstreamError(f"api service at {url} is unreachable: {reason}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise UpstreamError(f"api service at {url} returned invalid JSON") from exc

    def greeting(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        data = self.get_json("/greeting", headers=headers)
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            raise UpstreamError("api service returned an unexpected greeting payload")
        return data
