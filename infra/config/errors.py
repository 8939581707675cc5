"""The one error the configuration raises: file, field, message, on one line."""

from __future__ import annotations


def one_line(text: str) -> str:
    """The text with every unprintable character (a newline in a key or a value, a tab, a
    control byte) written as its Python escape, so an error stays one line whatever it quotes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def toml_key(key: str) -> str:
    """A key as TOML writes it in a dotted path: bare when it can be, else quoted
    (``overrides."dev prod"``), so a field name with a dot or a space is not misread."""
    if key and set(key) <= _BARE:
        return key
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ConfigError(Exception):
    """A configuration file is invalid. The message names the file and the field, on one line."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = one_line(field)
        self.message = one_line(message)
        field, message = self.field, self.message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class ConfigWarning:
    """A value AWS accepts but advises against (e.g. an engine in paid extended support):
    printed once at load, on one line naming the file and the field; never an error."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = one_line(field)
        self.message = one_line(message)

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigWarning({str(self)!r})"
