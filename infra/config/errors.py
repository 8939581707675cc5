"""The one error the configuration raises: file, field, message, on one line."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file is invalid. The message names the file and the field."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class ConfigWarning:
    """A value AWS accepts but advises against (e.g. an engine in paid extended support):
    printed once at load, on one line naming the file and the field; never an error."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigWarning({str(self)!r})"
