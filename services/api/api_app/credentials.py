"""The database credentials, and re-reading them when RDS rotates the password.

RDS manages the master user's secret in Secrets Manager and rotates it itself (every 7 days
by default), with the single-user strategy: it changes the password on the server, then
moves the secret's AWSCURRENT label to the new value. Connections already open keep
working; a new connection with the old password is refused (MySQL error 1045). The old
value (AWSPREVIOUS) never works again; during the short window between the password change
and the label move (rotation "typically completes within one minute"), readers may still get
the old value from AWSCURRENT while the new one is only in AWSPENDING.
(AWS docs: "Managed rotation for AWS Secrets Manager secrets"; "Lambda function rotation
strategies", Rotation strategy: single user; "Password management with Amazon RDS and
AWS Secrets Manager".)

So the repository asks ``refresh(rejected)`` once when the server refuses the credentials:
it re-reads AWSCURRENT (no cache), falls back to AWSPENDING when AWSCURRENT still holds the
refused value, and answers None when there is nothing new to try. One read per refusal, no
waiting and no loop; threads refused at the same time share one read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from .config import Config, parse_db_secret
from .errors import RepositoryError


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)  # never logged / printed


class CredentialSource(Protocol):
    def describe(self) -> str:
        """Where the credentials come from, for log lines (never the value)."""

    def current(self) -> Credentials:
        """The credentials to connect with; raise RepositoryError if they cannot be had."""

    def refresh(self, rejected: Credentials) -> Credentials | None:
        """Credentials newer than ``rejected`` (which the server refused), or None."""


class StaticCredentials:
    """The value ECS injected at start (DB_SECRET) and nothing to re-read it from."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def describe(self) -> str:
        return "DB_SECRET (DB_SECRET_ARN is not set, so the secret cannot be re-read)"

    def current(self) -> Credentials:
        return self._credentials

    def refresh(self, rejected: Credentials) -> Credentials | None:
        return None


class SecretsManagerCredentials:
    """The RDS-managed secret read through boto3; ``initial`` (DB_SECRET) saves the first read."""

    def __init__(self, secret_id: str, *, initial: Credentials | None = None, client=None) -> None:
        self.secret_id = secret_id
        self._credentials = initial
        self._client = client
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"secret {self.secret_id}"

    def current(self) -> Credentials:
        credentials = self._credentials  # the hot path: no lock once known
        if credentials is not None:
            return credentials
        with self._lock:
            if self._credentials is None:
                self._credentials = self._read("AWSCURRENT")
            return self._credentials

    def refresh(self, rejected: Credentials) -> Credentials | None:
        with self._lock:
            if self._credentials is not None and self._credentials != rejected:
                return self._credentials  # another thread has re-read it meanwhile
            fresh = self._read("AWSCURRENT")
            if fresh == rejected:
                # Mid-rotation: the server may already have the password that is still pending.
                fresh = self._read("AWSPENDING", missing_ok=True)
                if fresh is None or fresh == rejected:
                    return None
            self._credentials = fresh
            return fresh

    def _secrets_manager(self):
        if self._client is None:
            import boto3  # imported lazily: the app without DB_SECRET_ARN needs no AWS SDK
            from botocore.config import Config as BotoConfig

            region = self.secret_id.split(":")[3] if self.secret_id.startswith("arn:") else None
            self._client = boto3.client(
                "secretsmanager",
                region_name=region,
                # Called while a request waits: short timeouts and no retry (botocore's retries
                # back off with sleeps); the next refused request reads again.
                config=BotoConfig(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 1}),
            )
        return self._client

    def _read(self, stage: str, missing_ok: bool = False) -> Credentials | None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._secrets_manager()
        try:
            raw = client.get_secret_value(SecretId=self.secret_id, VersionStage=stage)["SecretString"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if missing_ok and code == "ResourceNotFoundException":
                return None
            raise RepositoryError(f"cannot read the database secret {self.secret_id} ({stage}): {code or exc}") from exc
        except (BotoCoreError, KeyError) as exc:
            raise RepositoryError(f"cannot read the database secret {self.secret_id} ({stage}): {exc}") from exc
        user, password = parse_db_secret(raw, f"the database secret {self.secret_id} ({stage})", RepositoryError)
        return Credentials(user, password)


def credentials_from_config(config: Config) -> CredentialSource:
    initial = Credentials(config.db_user, config.db_password) if config.db_user and config.db_password else None
    if config.db_secret_arn:
        return SecretsManagerCredentials(config.db_secret_arn, initial=initial)
    if initial is None:  # load_config refuses this; a hand-made Config might not
        raise ValueError("Config needs db_user/db_password (DB_SECRET) or db_secret_arn (DB_SECRET_ARN)")
    return StaticCredentials(initial)
