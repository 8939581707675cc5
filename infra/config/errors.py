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
