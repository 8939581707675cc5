"""Configuration from environment variables only (12-factor), validated at start-up."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse


class ConfigError(RuntimeError):
    """Raised when a required environment variable is missing or invalid."""


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
# https://sqs.<region>.amazonaws.com/<account>/<name> (also .amazonaws.com.cn)
_REGION_IN_URL = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


@dataclass(frozen=True)
class Config:
    queue_url: str
    region: str | None = None
    wait_time_seconds: int = 20
    max_messages: int = 10
    visibility_timeout_seconds: int | None = None  # None: use the queue's setting
    health_port: int = 8082
    log_level: str = "INFO"


def _int(env: Mapping[str, str], name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"environment variable {name} must be between {lo} and {hi}, got {value}")
    return value


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env

    queue_url = env.get("QUEUE_URL", "").strip()
    if not queue_url:
        raise ConfigError(
            "environment variable QUEUE_URL is required "
            "(e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/jobs)"
        )
    parsed = urlparse(queue_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path in ("", "/"):
        raise ConfigError(
            f"environment variable QUEUE_URL must be an SQS queue URL like "
            f"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs, got {queue_url!r}"
        )

    # ECS sets AWS_REGION/AWS_DEFAULT_REGION; fall back to the queue URL's region.
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        match = _REGION_IN_URL.match(parsed.hostname or "")
        region = match.group(1) if match else None

    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"environment variable LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}"
        )

    return Config(
        queue_url=queue_url,
        region=region,
        wait_time_seconds=_int(env, "WAIT_TIME_SECONDS", 20, 0, 20),
        max_messages=_int(env, "MAX_MESSAGES", 10, 1, 10),
        visibility_timeout_seconds=_int(env, "VISIBILITY_TIMEOUT_SECONDS", None, 0, 43200),
        health_port=_int(env, "HEALTH_PORT", 8082, 0, 65535),
        log_level=log_level,
    )
