"""A typed reader over one parsed TOML table: the only place where raw values are checked.

Every accessor names the file and the dotted field in its error, so a loader built on it
cannot produce an error that leaves the user guessing where to look. `done()` rejects
keys nobody asked for, with a did-you-mean.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import PurePosixPath
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)

_REQUIRED: Any = object()


class ConfigError(Exception):
    """A configuration file is invalid. The message names the file and the field."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in text)


class Fields:
    """Reads typed values out of one TOML table, remembering which keys were read."""

    def __init__(self, file: str, table: Mapping[str, Any], prefix: str = "") -> None:
        self.file = file
        self.prefix = prefix
        self._table = table
        self._seen: set[str] = set()

    # -- plumbing -----------------------------------------------------------------
    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, self.path(key), message)

    def has(self, key: str) -> bool:
        return key in self._table

    def is_string(self, key: str) -> bool:
        return isinstance(self._table.get(key), str)

    def boolean_if_false(self, key: str) -> bool:
        """True when the key holds `false` (an explicit "off" for an optional number)."""
        if self._table.get(key) is False:
            self._seen.add(key)
            return True
        return False

    def _get(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self._table:
            return self._table[key]
        if default is _REQUIRED:
            raise self.error(key, "is required")
        return default

    def done(self) -> None:
        """Reject keys that were never read: typos must not be silently ignored."""
        for key in self._table:
            if key not in self._seen:
                close = difflib.get_close_matches(key, sorted(self._seen), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                known = ", ".join(sorted(self._seen))
                raise self.error(key, f"unknown key{hint} (known keys: {known})")

    # -- scalars ------------------------------------------------------------------
    def string(
        self,
        key: str,
        default: Any = _REQUIRED,
        *,
        pattern: re.Pattern[str] | None = None,
        describe: str = "",
        max_len: int = 256,
    ) -> Any:
        value = self._get(key, default)
        if value is default and default is not _REQUIRED:
            return value
        return self.check_string(key, value, pattern=pattern, describe=describe, max_len=max_len)

    def check_string(
        self,
        key: str,
        value: Any,
        *,
        pattern: re.Pattern[str] | None = None,
        describe: str = "",
        max_len: int = 256,
    ) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {type(value).__name__} {_show(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        if _has_control_chars(value):
            raise self.error(key, f"{_show(value)} contains control characters")
        if len(value) > max_len:
            raise self.error(key, f"is {len(value)} characters long; at most {max_len} allowed")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.error(key, f"{_show(value)} is not {describe or 'valid'} (must match {pattern.pattern})")
        return value

    def integer(self, key: str, default: Any = _REQUIRED, *, low: int, high: int) -> Any:
        value = self._get(key, default)
        if value is default and default is not _REQUIRED:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {type(value).__name__} {_show(value)}")
        if not low <= value <= high:
            raise self.error(key, f"{value} is out of range ({low}..{high})")
        return value

    def boolean(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and default is not _REQUIRED:
            return value
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {type(value).__name__} {_show(value)}")
        return value

    def choice(self, key: str, enum: type[E], default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and default is not _REQUIRED:
            return value
        allowed = [member.value for member in enum]
        if not isinstance(value, str) or value not in allowed:
            raise self.error(key, f"{_show(value)} is not one of {', '.join(map(str, allowed))}")
        return enum(value)

    def one_of(self, key: str, allowed: Iterable[Any], default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and default is not _REQUIRED:
            return value
        options = tuple(allowed)
        if isinstance(value, bool) or value not in options:
            raise self.error(key, f"{_show(value)} is not allowed (valid: {', '.join(map(str, options))})")
        return value

    def cidr(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and default is not _REQUIRED:
            return value
        text = self.check_string(key, value, max_len=18)
        try:
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError as exc:
            raise self.error(key, f"{_show(text)} is not an IPv4 CIDR block ({exc})") from None
        return network

    # -- collections ----------------------------------------------------------------
    def table(self, key: str, *, required: bool = False) -> "Fields":
        value = self._get(key, _REQUIRED if required else {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, got {type(value).__name__} {_show(value)}")
        return Fields(self.file, value, self.path(key))

    def tables(self, key: str) -> list["Fields"]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise self.error(key, "must be an array of tables ([[...]])")
        return [Fields(self.file, item, f"{self.path(key)}[{i}]") for i, item in enumerate(value)]

    def strings(
        self,
        key: str,
        default: Any = (),
        *,
        pattern: re.Pattern[str] | None = None,
        describe: str = "",
        max_len: int = 256,
        max_items: int = 100,
    ) -> tuple[str, ...]:
        value = self._get(key, default)
        if value is default:
            return tuple(default)
        if not isinstance(value, list):
            raise self.error(key, f"must be an array of strings, got {type(value).__name__} {_show(value)}")
        if len(value) > max_items:
            raise self.error(key, f"has {len(value)} entries; at most {max_items} allowed")
        items = tuple(
            self.check_string(f"{key}[{i}]", item, pattern=pattern, describe=describe, max_len=max_len)
            for i, item in enumerate(value)
        )
        if len(set(items)) != len(items):
            duplicate = next(item for item in items if items.count(item) > 1)
            raise self.error(key, f"lists {duplicate!r} more than once")
        return items

    def mapping(
        self,
        key: str,
        *,
        key_pattern: re.Pattern[str],
        key_describe: str,
        max_value_len: int = 4096,
    ) -> dict[str, str]:
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table of strings, got {type(value).__name__}")
        result: dict[str, str] = {}
        for name, item in value.items():
            if not key_pattern.fullmatch(name):
                raise ConfigError(
                    self.file,
                    f"{self.path(key)}.{name}",
                    f"{_show(name)} is not {key_describe} (must match {key_pattern.pattern})",
                )
            if not isinstance(item, str):
                raise ConfigError(
                    self.file, f"{self.path(key)}.{name}", f"must be a string, got {type(item).__name__} {_show(item)}"
                )
            if _has_control_chars(item):
                raise ConfigError(self.file, f"{self.path(key)}.{name}", "contains control characters")
            if len(item) > max_value_len:
                raise ConfigError(self.file, f"{self.path(key)}.{name}", f"is longer than {max_value_len} characters")
            result[name] = item
        return result

    def relative_path(self, key: str, default: str) -> PurePosixPath:
        """A path inside the file's own folder: absolute paths and `..` are refused."""
        text = self.string(key, default, max_len=200)
        path = PurePosixPath(text)
        if path.is_absolute() or ".." in path.parts or "\\" in text:
            raise self.error(key, f"{_show(text)} must be a relative path inside the service folder")
        return path
