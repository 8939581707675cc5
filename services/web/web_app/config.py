"""Configuration from environment variables only (12-factor), validated at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse


class ConfigError(RuntimeError):
    """Raised when a required environment variable is missing or invalid."""


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


@dataclass(frozen=True)
class Config:
    api_url: str
    api_timeout_seconds: float = 2.0
    log_level: str = "INFO"


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env

    api_url = env.get("API_URL", "").strip()
    if not api_url:
        raise ConfigError(
            "environment variable API_URL is required (e.g. http://api.dev.internal:8081)"
        )
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"environment variable API_URL must be an http(s) URL like "
            f"http://api.dev.internal:8081, got {api_url!r}"
        )

    raw_timeout = env.get("API_TIMEOUT_SECONDS", "2").strip()
    try:
        timeout = float(raw_timeout)
    except ValueError:
        raise ConfigError(
            f"environment variable API_TIMEOUT_SECONDS must be a number, got {raw_timeout!r}"
        ) from None
    if not 0 < timeout <= 60:
        raise ConfigError(
            f"environment variable API_TIMEOUT_SECONDS must be > 0 and <= 60, got {raw_timeout!r}"
        )

    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"environment variable LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}"
        )

    return Config(api_url=api_url.rstrip("/"), api_timeout_seconds=timeout, log_level=log_level)
