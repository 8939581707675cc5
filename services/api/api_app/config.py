"""Configuration from environment variables only (12-factor), validated at start-up."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping


class ConfigError(RuntimeError):
    """Raised when a required environment variable is missing or invalid."""


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


@dataclass(frozen=True)
class Config:
    db_host: str
    db_name: str
    db_user: str
    db_password: str = field(repr=False)  # never logged / printed
    db_port: int = 3306
    db_connect_timeout_seconds: int = 5
    log_level: str = "INFO"


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


def _parse_db_secret(raw: str) -> tuple[str, str]:
    """Parse the RDS-managed master secret JSON: {"username": ..., "password": ...}.

    Error messages name the variable and key but never echo the secret value.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError(
            'environment variable DB_SECRET must be JSON like {"username": "...", "password": "..."}'
            " (the RDS-managed master secret injected by ECS); it is not valid JSON"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("environment variable DB_SECRET must be a JSON object")
    for key in ("username", "password"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(
                f'environment variable DB_SECRET is missing a non-empty string "{key}" key'
            )
    return data["username"], data["password"]


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    db_host = _required(env, "DB_HOST", "mydb.abc123.eu-west-1.rds.amazonaws.com")
    db_port = _int(env, "DB_PORT", 3306, 1, 65535)
    db_name = _required(env, "DB_NAME", "app")
    user, password = _parse_db_secret(
        _required(env, "DB_SECRET", '{"username": "admin", "password": "..."}')
    )
    timeout = _int(env, "DB_CONNECT_TIMEOUT_SECONDS", 5, 1, 60)
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"environment variable LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}"
        )
    return Config(
        db_host=db_host,
        db_name=db_name,
        db_user=user,
        db_password=password,
        db_port=db_port,
        db_connect_timeout_seconds=timeout,
        log_level=log_level,
    )
