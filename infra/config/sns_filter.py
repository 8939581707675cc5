"""SNS subscription filter policies, checked at load as SNS checks them at `Subscribe`.

A subscription's `filter` (a TOML table) is sent to SNS as its `FilterPolicy` JSON. SNS
refuses a policy it cannot read when the subscription is created, so the same rules run
here, on the file, with the key that is wrong:

    filter = { event = ["order.created"], total = [{ numeric = [">=", 100] }] }

The rules (AWS docs, "Filter policy constraints in Amazon SNS",
https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html):
  - each key maps to an array of values: strings, numbers (between -10^9 and 10^9) or
    operator objects; on the message body (`filter_scope = "body"`) a key may also hold a
    table of nested keys, on message attributes (the default scope) it may not;
  - at most five keys (on the body: top-level keys), and the product of the array lengths
    (the "total combination of values") at most 150;
  - the JSON of the policy at most 256 KB.
The operators and their operands: "String value matching", "Numeric value matching",
"Key matching" and "IP address matching" (https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html
and the pages beside it): `prefix`, `suffix`, `equals-ignore-case`, `anything-but`
(a value, a list of values, or a `prefix`/`suffix`), `numeric` (one comparison, or a lower
and an upper bound), `exists` (true/false), `cidr` (an IP range).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping
from typing import Any

from infra.config.errors import toml_key

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
NUMBER_LIMIT = 1_000_000_000
MAX_KEY_LENGTH = 256  # AWS docs, "Amazon SNS message attributes": a name has up to 256 characters
NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr")
SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}


class FilterProblem(ValueError):
    """What is wrong, and where below the filter (e.g. `event[1]`, `total[0].numeric`)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def check_filter_policy(policy: Mapping[str, Any], *, scope: str) -> None:
    """Raise `FilterProblem` for the first rule `policy` breaks (`scope`: "attributes" or "body")."""
    if not policy:
        raise FilterProblem("", "is empty: leave `filter` out to receive every message of the topic")
    if len(policy) > MAX_KEYS:
        counted = "top-level keys" if scope == "body" else "keys"
        raise FilterProblem("", f"has {len(policy)} {counted}; SNS allows {MAX_KEYS} in a filter policy")
    combinations = _check_table(policy, "", scope=scope, depth=0)
    if combinations > MAX_COMBINATIONS:
        raise FilterProblem(
            "",
            f"combines {combinations} values (the product of its array lengths); SNS allows {MAX_COMBINATIONS}",
        )
    size = len(json.dumps(policy, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_POLICY_BYTES:
        raise FilterProblem("", f"is {size} bytes as JSON; SNS allows {MAX_POLICY_BYTES} (256 KB)")


def _path(where: str, key: str) -> str:
    return f"{where}.{toml_key(key)}" if where else toml_key(key)


def _check_table(table: Mapping[str, Any], where: str, *, scope: str, depth: int) -> int:
    """The combinations of one table's arrays (their lengths multiplied)."""
    combinations = 1
    for key, value in table.items():
        at = _path(where, key)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise FilterProblem(at, f"{key!r} is not an attribute name (1-{MAX_KEY_LENGTH} printable characters)")
        if key.startswith("$"):
            raise FilterProblem(at, f"{key!r}: operators across keys ($or) are not supported here; subscribe twice instead")
        if isinstance(value, Mapping):
            if scope != "body":
                raise FilterProblem(
                    at, 'nests keys, which SNS allows only when filtering the message body (filter_scope = "body")'
                )
            combinations *= _check_table(value, at, scope=scope, depth=depth + 1)
        elif isinstance(value, list):
            if not value:
                raise FilterProblem(at, "is an empty array: a key matches one of the values listed")
            for i, item in enumerate(value):
                _check_value(item, f"{at}[{i}]", scope=scope)
            combinations *= len(value)
        else:
            shape = "an array of values or a table" if scope == "body" else "an array of values"
            raise FilterProblem(at, f"must be {shape} (e.g. [{_json(value)}]), got {_kind(value)}")
    return combinations


def _check_value(item: Any, at: str, *, scope: str) -> None:
    if isinstance(item, str):
        return
    if isinstance(item, bool):
        if scope == "body":
            return
        raise FilterProblem(at, f"{_json(item)}: message attributes are strings or numbers; write {json.dumps(str(item).lower())}")
    if isinstance(item, int | float):
        _check_number(item, at)
        return
    if isinstance(item, Mapping):
        _check_operator(item, at)
        return
    raise FilterProblem(at, f"must be a string, a number or an operator table, got {_kind(item)}")


def _check_number(value: Any, at: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterProblem(at, f"must be a number, got {_kind(value)}")
    if not math.isfinite(value) or not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:
        raise FilterProblem(at, f"{value} is outside the numbers SNS matches (-1e9..1e9)")


def _check_string(value: Any, at: str) -> None:
    if not isinstance(value, str) or not value:
        raise FilterProblem(at, f"must be a non-empty string, got {_kind(value)}")


def _check_operator(item: Mapping[str, Any], at: str) -> None:
    if len(item) != 1:
        raise FilterProblem(at, f"an operator table holds exactly one operator ({', '.join(OPERATORS)}), got {len(item)} keys")
    ((name, operand),) = item.items()
    where = f"{at}.{toml_key(name)}"
    if name in ("prefix", "suffix", "equals-ignore-case"):
        _check_string(operand, where)
    elif name == "exists":
        if not isinstance(operand, bool):
            raise FilterProblem(where, f"must be true or false, got {_kind(operand)}")
    elif name == "cidr":
        _check_string(operand, where)
        try:
            ipaddress.ip_network(operand, strict=False)
        except ValueError:
            raise FilterProblem(where, f"{operand!r} is not an IP address range (e.g. 10.0.0.0/24)") from None
    elif name == "numeric":
        _check_numeric(operand, where)
    elif name == "anything-but":
        _check_anything_but(operand, where)
    else:
        raise FilterProblem(where, f"{name!r} is not an SNS filter operator ({', '.join(OPERATORS)})")


def _check_numeric(operand: Any, at: str) -> None:
    """[op, n] or [lower-op, n, upper-op, m] with a lower bound below the upper one."""
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise FilterProblem(at, 'must be [operator, number] or [">" or ">=", low, "<" or "<=", high], e.g. [">=", 100]')
    for i in range(0, len(operand), 2):
        if operand[i] not in NUMERIC_OPERATORS:
            raise FilterProblem(f"{at}[{i}]", f"{_json(operand[i])} is not one of {', '.join(NUMERIC_OPERATORS)}")
        _check_number(operand[i + 1], f"{at}[{i + 1}]")
    if len(operand) == 4:
        if operand[0] not in (">", ">=") or operand[2] not in ("<", "<="):
            raise FilterProblem(at, "a range is a lower bound (> or >=) followed by an upper bound (< or <=)")
        if operand[1] >= operand[3]:
            raise FilterProblem(at, f"the range {operand[1]}..{operand[3]} is empty: the lower bound must be below the upper one")


def _check_anything_but(operand: Any, at: str) -> None:
    if isinstance(operand, str) or (isinstance(operand, int | float) and not isinstance(operand, bool)):
        if not isinstance(operand, str):
            _check_number(operand, at)
        return
    if isinstance(operand, list):
        if not operand:
            raise FilterProblem(at, "is an empty array")
        kinds = {"string" if isinstance(v, str) else "number" for v in operand}
        for i, value in enumerate(operand):
            if not isinstance(value, str):
                _check_number(value, f"{at}[{i}]")
        if len(kinds) > 1:
            raise FilterProblem(at, "lists strings and numbers together; SNS takes one kind")
        return
    if isinstance(operand, Mapping):
        if len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix"):
            raise FilterProblem(at, "as a table takes one of prefix or suffix, e.g. { prefix = \"test-\" }")
        ((name, value),) = operand.items()
        _check_string(value, f"{at}.{name}")
        return
    raise FilterProblem(at, f"must be a value, an array of values or {{ prefix | suffix = ... }}, got {_kind(operand)}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {_json(value)}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {_json(value)}"


def _json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
