"""Configuration from environment variables only, validated before the job touches anything.

The database, as the platform gives it to a service with `database = true`: DB_HOST, DB_PORT,
DB_NAME and DB_SECRET, the RDS-managed master secret's value, which ECS injects when the task
starts (a run is short and starts fresh each night, so it never needs to re-read a rotated
secret: the next run gets the new value).

The job's own knobs: RETENTION_DAYS (items older than this many days are deleted),
BATCH_SIZE (rows per DELETE, so each statement holds its locks on the api's table briefly),
DRY_RUN (count what would go, delete nothing). JOB_TIMEOUT_SECONDS is set by the platform
(the manifest's `timeout`): the task is stopped then, so the job stops taking new batches a
little before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping


class ConfigError(RuntimeError):
    """A required environment variable is missing or invalid."""


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
_TRUE, _FALSE = {"1", "true", "yes"}, {"", "0", "false", "no"}


@dataclass(frozen=True)
class Config:
    db_host: str
    db_name: str
    db_user: str
    db_password: str = field(repr=False)  # never logged / printed
    db_port: int = 3306
    retention_days: int = 30
    batch_size: int = 500
    timeout_seconds: int = 3600
    dry_run: bool = False
    log_level: str = "INFO"
    connect_timeout_seconds: int = 5

    @property
    def budget_seconds(self) -> float:
        """How long the job may keep starting batches: its timeout less a margin for the batch
        in flight and a clean exit (a tenth, between 10 s and 2 min)."""
        margin = max(10, min(120, self.timeout_seconds // 10))
        return max(1, self.timeout_seconds - margin)


def _required(env: Mapping[str, str], name: str, example: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required (e.g. {example})")
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"environment variable {name} must be between {lo} and {hi}, got {value}")
    return value


def _secret(raw: str) -> tuple[str, str]:
    """The RDS-managed master secret: {"username": ..., "password": ...}; errors never echo it."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError('DB_SECRET must be JSON like {"username": "...", "password": "..."}; it is not valid JSON') from None
    if not isinstance(data, dict):
        raise ConfigError("DB_SECRET must be a JSON object")
    for key in ("username", "password"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f'DB_SECRET is missing a non-empty string "{key}" key')
    return data["username"], data["password"]


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    user, password = _secret(_required(env, "DB_SECRET", '{"username": "admin", "password": "..."}'))
    dry_run = env.get("DRY_RUN", "").strip().lower()
    if dry_run not in _TRUE | _FALSE:
        raise ConfigError(f"environment variable DRY_RUN must be true or false, got {dry_run!r}")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"environment variable LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}")
    return Config(
        db_host=_required(env, "DB_HOST", "mydb.abc123.eu-west-1.rds.amazonaws.com"),
        db_name=_required(env, "DB_NAME", "app"),
        db_user=user,
        db_password=password,
        db_port=_int(env, "DB_PORT", 3306, 1, 65535),
        retention_days=_int(env, "RETENTION_DAYS", 30, 1, 36500),
        batch_size=_int(env, "BATCH_SIZE", 500, 1, 10000),
        timeout_seconds=_int(env, "JOB_TIMEOUT_SECONDS", 3600, 60, 86400),
        dry_run=dry_run in _TRUE,
        log_level=log_level,
        connect_timeout_seconds=_int(env, "DB_CONNECT_TIMEOUT_SECONDS", 5, 1, 60),
    )
