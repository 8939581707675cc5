"""Configuration from environment variables only (12-factor), validated at start-up.

The database: DB_HOST, DB_PORT, DB_NAME, and its credentials, the RDS-managed master secret:
DB_SECRET is its value as ECS injects it when the task starts; DB_SECRET_ARN is where the app
re-reads it (Secrets Manager, through boto3) once the database refuses that value, because RDS
rotates the password under running tasks. Either is enough. DB_SECRET_ARN is an ARN, not a
secret: the task role needs secretsmanager:GetSecretValue on it and kms:Decrypt on its key.
Without it, a rotated password makes the database calls fail (503) until the task is replaced.

TOPIC_ORDERS_ARN: the SNS topic the api publishes order events to (``publish = ["orders"]``);
without it events are dropped (local runs).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Mapping


class ConfigError(RuntimeError):
    """Raised when a required environment variable is missing or invalid."""


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


@dataclass(frozen=True)
class Config:
    db_host: str
    db_name: str
    # From DB_SECRET (the value ECS injects at start); None when only DB_SECRET_ARN is given.
    db_user: str | None = None
    db_password: str | None = field(default=None, repr=False)  # never logged / printed
    db_port: int = 3306
    db_connect_timeout_seconds: int = 5
    log_level: str = "INFO"
    # DB_SECRET_ARN: where to re-read the secret when the database refuses the password
    # (RDS rotates its managed master secret, every 7 days by default).
    db_secret_arn: str | None = None
    # TOPIC_ORDERS_ARN: where order events go (api_app.events); None: nowhere.
    orders_topic_arn: str | None = None


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


def parse_db_secret(raw: str, source: str, error: type[Exception] = ConfigError) -> tuple[str, str]:
    """Parse the RDS-managed master secret JSON: {"username": ..., "password": ...}.

    ``source`` names where the value came from (a variable, a secret); error messages name it
    and the key but never echo the secret value.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        raise error(
            f'{source} must be JSON like {{"username": "...", "password": "..."}}'
            " (the RDS-managed master secret); it is not valid JSON"
        ) from None
    if not isinstance(data, dict):
        raise error(f"{source} must be a JSON object")
    for key in ("username", "password"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise error(f'{source} is missing a non-empty string "{key}" key')
    return data["username"], data["password"]


# An ARN (as ECS and the platform give it) or a plain secret name (local runs).
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@!-]{1,512}$")


def _secret_arn(env: Mapping[str, str]) -> str | None:
    value = env.get("DB_SECRET_ARN", "").strip()
    if not value:
        return None
    if not (_SECRET_ARN.fullmatch(value) if value.startswith("arn:") else _SECRET_NAME.fullmatch(value)):
        raise ConfigError(
            "environment variable DB_SECRET_ARN must be a Secrets Manager secret ARN "
            f"(arn:aws:secretsmanager:<region>:<account>:secret:<name>) or name, got {value!r}"
        )
    return value


_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")


def _topic_arn(env: Mapping[str, str]) -> str | None:
    value = env.get("TOPIC_ORDERS_ARN", "").strip()
    if not value:
        return None
    if not _TOPIC_ARN.fullmatch(value):
        raise ConfigError(
            "environment variable TOPIC_ORDERS_ARN must be an SNS topic ARN "
            f"(arn:aws:sns:<region>:<account>:<name>), got {value!r}"
        )
    return value


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    db_host = _required(env, "DB_HOST", "mydb.abc123.eu-west-1.rds.amazonaws.com")
    db_port = _int(env, "DB_PORT", 3306, 1, 65535)
    db_name = _required(env, "DB_NAME", "app")
    secret_arn = _secret_arn(env)
    user = password = None
    if env.get("DB_SECRET", "").strip() or secret_arn is None:
        raw = _required(env, "DB_SECRET", '{"username": "admin", "password": "..."}, or set DB_SECRET_ARN')
        user, password = parse_db_secret(raw, "environment variable DB_SECRET")
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
        db_secret_arn=secret_arn,
        orders_topic_arn=_topic_arn(env),
    )
