"""The one schema of the configuration files: each key's type, default and one-line doc.

    environments/<env>.toml       -> EnvironmentFile
    services/<name>/service.toml  -> ServiceFile

Pydantic v2 models, frozen, strict (a TOML float is not an integer, a string is not a
boolean) and closed (`extra="forbid"`: a typo is an error with a did-you-mean). Rules
about one value live in the annotated types below; rules across the keys of one table
in that model's validators; rules that need another file (the environment a service runs
in, the other services, the service folder) in `infra.config.loader`.

A default that depends on other values (`deletion_protection` follows `production`, a
service's `name` is its folder, zones come from the Region) is filled in by the loader
*before* validation, so it is checked exactly like a value someone typed. Such keys carry
their rule in `COMPUTED` (shown in the JSON Schema and the README instead of a value).

The JSON Schema files under schema/ and the README's reference tables are generated from
these models (`python -m tools.config_docs`); a test fails when they are stale.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
import typing
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from infra.config import aws_tables, iam_actions, limits, sns_filter
from infra.config.specs import (
    DEFAULT_ROLLBACK_ALARMS,
    OWN_RESOURCES,
    SERVICE_ALARMS,
    Architecture,
    BackendKind,
    CapacityProvider,
    DEADLINE_CONTAINER,
    DependencyCondition,
    DeploymentStrategy,
    ImageSource,
    LOG_ROUTER,
    LogDriver,
    NatMode,
    PipelineSource,
    ServiceKind,
    TRACE_COLLECTOR,
    TraceCollector,
)


# ---------------------------------------------------------------------------------
# Errors raised by validators: one message, optionally for a key below the model's own
# location (`field`), turned into `file: field: message` by the loader.
# ---------------------------------------------------------------------------------
def invalid(message: str, field: str | None = None) -> PydanticCustomError:
    return PydanticCustomError("config", "{message}", {"message": message, "field": field})


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", validate_default=False)
    # key -> how its default is computed (the loader fills it in before validation).
    COMPUTED: ClassVar[dict[str, str]] = {}


# ---------------------------------------------------------------------------------
# Value types
# ---------------------------------------------------------------------------------
def _control_chars(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in text)


def Text(
    pattern: re.Pattern[str] | None = None,
    describe: str = "",
    *,
    max_len: int = 256,
    check: Callable[[str], str | None] | None = None,
    empty_ok: bool = False,
    schema: dict[str, Any] | None = None,
) -> Any:
    """A string: not blank, no control characters, at most `max_len`, matching `pattern`;
    `check` returns an error message or None (rules a pattern cannot say)."""

    def validate(value: str) -> str:
        if not empty_ok and not value.strip():
            raise invalid("must not be empty")
        if _control_chars(value):
            raise invalid(f"{show(value)} contains control characters")
        if len(value) > max_len:
            raise invalid(f"is {len(value)} characters long; at most {max_len} allowed")
        if pattern is not None and not pattern.fullmatch(value):
            raise invalid(f"{show(value)} is not {describe or 'valid'} (must match {pattern.pattern})")
        if check is not None:
            problem = check(value)
            if problem:
                raise invalid(problem)
        return value

    extra: dict[str, Any] = {"maxLength": max_len}
    if not empty_ok:
        extra["minLength"] = 1
    if pattern is not None:
        extra["pattern"] = pattern.pattern
    extra.update(schema or {})
    return Annotated[str, AfterValidator(validate), Field(json_schema_extra=extra)]


def Int(low: int, high: int) -> Any:
    def validate(value: int) -> int:
        if not low <= value <= high:
            raise invalid(f"{value} is out of range ({low}..{high})")
        return value

    return Annotated[int, AfterValidator(validate), Field(json_schema_extra={"minimum": low, "maximum": high})]


def OneOf(values: Iterable[Any]) -> Any:
    """A value from a fixed list (strings or integers; a boolean is never an integer here)."""
    options = tuple(values)
    base = int if isinstance(options[0], int) else str

    def validate(value: Any) -> Any:
        if value not in options:
            shown = ", ".join(map(str, options))
            if base is int:
                raise invalid(f"{show(value)} is not allowed (valid: {shown})")
            raise invalid(f"{show(value)} is not one of {shown}")
        return value

    return Annotated[base, AfterValidator(validate), Field(json_schema_extra={"enum": list(options)})]


def Choice(enum: Any) -> Any:
    return OneOf(member.value for member in enum)


def Strings(item: Any, *, max_items: int, min_items: int = 0) -> Any:
    """An array of distinct strings."""

    def validate(values: list[str]) -> tuple[str, ...]:
        if len(values) > max_items:
            raise invalid(f"has {len(values)} entries; at most {max_items} allowed")
        if len(values) < min_items:
            raise invalid("is required: a non-empty array" if min_items == 1 else f"needs at least {min_items} entries")
        duplicates = [v for v in values if values.count(v) > 1]
        if duplicates:
            raise invalid(f"lists {duplicates[0]!r} more than once")
        return tuple(values)

    extra = {"maxItems": max_items, "uniqueItems": True}
    if min_items:
        extra["minItems"] = min_items
    return Annotated[list[item], AfterValidator(validate), Field(json_schema_extra=extra)]


def _cidr(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        return f"{show(value)} is not an IPv4 CIDR block ({exc})"
    return None


Cidr = Text(re.compile(r"^[0-9./]+$"), "an IPv4 CIDR block", max_len=18, check=_cidr)

# ---------------------------------------------------------------------------------
# Patterns (each quoted in its error message)
# ---------------------------------------------------------------------------------
ENV_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
# ECR repository names are lower case ("Creating an Amazon ECR private repository"); the name
# also goes into the target group name (<env>-<name>, 32 characters) and role names.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}[a-z0-9]$")
# Names that would collide with a stack or construct of the platform (<env>-platform).
RESERVED_SERVICE_NAMES = frozenset({"platform"})
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
# AWS docs, "Tag naming limits and requirements" (Tagging AWS Resources User Guide): keys up to
# 128, values up to 256 Unicode characters; letters, numbers, spaces and _ . : / = + - @; the
# `aws:` prefix is reserved; at most 50 tags per resource.
TAG_KEY = re.compile(r"^(?!aws:)[\w .:/=+@-]{1,128}$")
TAG_SYMBOLS = frozenset(" _.:/=+-@")
ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# AWS docs, "Supported data types and naming rules in Amazon DynamoDB": 3-255 of a-z A-Z 0-9 _ - .
DYNAMO_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
KEY_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
ORG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# AWS docs, "View AWS account identifiers": a 12-digit number.
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
# AWS docs, "Naming constraints in Amazon RDS": MySQL DBName 1-64 letters, digits and
# underscores starting with a letter; MasterUsername 1-16 of the same; neither a reserved word.
DB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
DB_USER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
# AWS docs, "MySQL on Amazon RDS versions" (Supported MySQL major versions on Amazon RDS):
# 8.4 is in standard support; 8.0 left it on 2026-07-31 (RDS Extended Support, paid, since),
# so it is still accepted, with a warning at load (infra.config.loader).
MYSQL_VERSION = re.compile(r"^8\.[04](\.[0-9]+)?$")
MYSQL_EXTENDED_SUPPORT = re.compile(r"^8\.0(\.[0-9]+)?$")
# AWS docs, "Create a key pair for your Amazon EC2 instance": up to 255 ASCII characters.
KEY_NAME = re.compile(r"^[A-Za-z0-9 ._+=,@-]{1,255}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$")
# ARNs: AWS docs, "Amazon Resource Names (ARNs)" (IAM User Guide) and each service's resource types.
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[A-Za-z0-9-]+$")
CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9-]+$"
)
KMS_KEY = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)|[0-9a-f-]{36}|alias/[A-Za-z0-9/_-]+)$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
# AWS docs, "Security policies for your Application Load Balancer": TLS 1.2+ policy names.
SSL_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]-[0-9-]+|TLS-1-2-[A-Za-z0-9-]+|FS-1-2-[A-Za-z0-9-]+)$")
IMAGE_URI = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9_.-]{1,128}|@sha256:[a-f0-9]{64})$")
# Image tags: up to 128 characters of [A-Za-z0-9_.-], not starting with . or - (Docker, as ECR takes them).
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# An image manifest digest, as ECR reports it ("ImageIdentifier", ECR API Reference).
IMAGE_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
# AWS docs, "Health checks for Application Load Balancer target groups": a path up to 1024 characters.
HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/-]{0,1023}$")
MATCHER = re.compile(r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$")
# AWS docs, "Listener rules for your Application Load Balancer" (Path conditions): up to 128
# characters of A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & and the wildcards * and ?.
PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_.$/~\"'@:+&*?-]{0,127}$")
# (Host conditions): A-Z a-z 0-9 - . * ?, at least one ".", only letters after the last ".".
HOST_PATTERN = re.compile(r"^[A-Za-z0-9*?-]+(\.[A-Za-z0-9*?-]+)*\.[A-Za-z*?]+$")
# AWS docs, Route 53 API "HostedZone" (Id) and "GetHostedZone": a hosted zone id, up to 32
# characters, without the /hostedzone/ prefix the API adds in some answers.
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]+$")
SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A topic a service publishes (`publish`). AWS allows 1-256 letters, digits, hyphens and
# underscores in a topic name (AWS docs, SNS API Reference, "CreateTopic": Name); ours are
# lower case with single hyphens, at most 40 characters, because the AWS name is
# <env>-<service>-<topic> and the container gets TOPIC_<TOPIC>_ARN ('-' written '_', which
# stays unambiguous because '_' is not allowed here).
TOPIC_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# A topic a worker subscribes to (`subscribe[].topic`): "<service>.<topic>".
TOPIC_REFERENCE = re.compile(r"^(?P<service>[a-z][a-z0-9-]{0,19}[a-z0-9])\.(?P<topic>[a-z][a-z0-9]*(-[a-z0-9]+)*)$")
IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$|^\*$")
CONDITION_KEY = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9/_.:${}-]+$")
ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12})?:[^\s]+$")
USER = re.compile(r"^[0-9]{1,10}(:[0-9]{1,10})?$|^[a-z_][a-z0-9_-]{0,31}(:[a-z0-9_-]{1,32})?$")
# AWS docs, "Pass sensitive data to an Amazon ECS container": a Secrets Manager secret or an SSM
# parameter, by ARN (or by name in the task's own Region).
SECRETSMANAGER_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*)?$"
)
SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+$")
SSM_NAME = re.compile(r"^/[A-Za-z0-9/_.-]{1,1010}$")
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# AWS docs, "Resource IDs" (Amazon EC2 User Guide): a prefix, a hyphen and 8 (older) or 17
# hexadecimal characters.
VPC_ID = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
# A Terraform resource address in the stack's root module: `<type>.<name>` (Terraform docs,
# "Resource addressing"; names start with a letter or underscore: "Arguments and blocks",
# Identifiers). Only resources of the AWS provider live in our stacks.
IMPORT_ADDRESS = re.compile(r"^aws_[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*$")
SECRET_REFERENCE = re.compile(r"^(arn:aws[a-z-]*:(secretsmanager|ssm):.+|secretsmanager:.+|ssm:/.+)$")

# Environment variable names that suggest a credential: such values belong in [secrets].
SECRET_LIKE = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIAL"
    r"|(^|_)(PASS|PWD)(_|$))",
    re.IGNORECASE,
)
# Values that carry a credential whatever the variable is called.
CREDENTIAL_VALUES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"), "holds a URL with a password"),
    # AWS docs, "Manage access keys for IAM users": access key ids start AKIA (long-term) or ASIA.
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "holds an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "holds a private key"),
)


# ---------------------------------------------------------------------------------
# Checks that a pattern cannot express
# ---------------------------------------------------------------------------------
def _region(value: str) -> str | None:
    # AWS docs, "AWS Regions" / "AWS Availability Zones": the Region codes (aws_tables.REGION_ZONES).
    if value in aws_tables.REGION_ZONES:
        return None
    close = difflib.get_close_matches(value, sorted(aws_tables.REGION_ZONES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{show(value)} is not an AWS region{hint}"


def _tag_value(value: str) -> str | None:
    for ch in value:
        if not (unicodedata.category(ch)[0] in "LNZ" or ch in TAG_SYMBOLS):
            return f"{show(value)} has {ch!r}; tag values allow letters, digits, spaces and _ . : / = + - @"
    return None


def s3_bucket_problem(name: str) -> str | None:
    """AWS docs, "General purpose bucket naming rules" (Amazon S3 User Guide)."""
    if not 3 <= len(name) <= 63:
        return f"{show(name)} is {len(name)} characters long; a bucket name has 3 to 63"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return f"{show(name)} is not an S3 bucket name (lower-case letters, digits, '.' and '-', a letter or digit at both ends)"
    if ".." in name:
        return f"{show(name)} has two adjacent periods"
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", name):
        return f"{show(name)} is formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"{show(name)} starts with {prefix!r}, which S3 reserves"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"{show(name)} ends with {suffix!r}, which S3 reserves"
    return None


def _not_reserved_mysql(value: str) -> str | None:
    if value.upper() in aws_tables.MYSQL_RESERVED:
        return f"{show(value)} is a MySQL reserved word"
    return None


def _db_user(value: str) -> str | None:
    if value.lower() in {"admin", "root", "rdsadmin", "mysql"}:
        return f"{show(value)} is reserved by MySQL/RDS"
    return _not_reserved_mysql(value)


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str | None:
    # AWS docs, "Schedule recurring scaling actions using Application Auto Scaling": the
    # canonical names of the IANA time zones.
    if value not in _time_zones():
        return f"{show(value)} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"
    return None


def _user(value: str) -> str | None:
    uid = value.split(":")[0]
    if uid == "root" or (uid.isdigit() and int(uid) == 0):
        return "containers must not run as root"
    return None


def _host_name(value: str) -> str | None:
    """A custom domain of a web service (`[routes] hosts`): one exact DNS name. Each gets a
    certificate name, an alias record and a listener-rule host value, so a wildcard (which ACM
    validates once for the parent, and Route 53 answers for every name) is not offered."""
    if "*" in value or "?" in value:
        return f"{show(value)}: wildcards are not supported; list each host name (each gets a certificate name and an alias record)"
    if value != value.lower():
        return f"{show(value)} must be lower case (DNS names are case-insensitive): {value.lower()!r}"
    if not HOSTNAME.fullmatch(value):
        return (
            f"{show(value)} is not a host name (labels of letters, digits and inner hyphens, at most 63 characters"
            " each, separated by dots, ending in a top-level domain of letters, e.g. shop.example.com)"
        )
    return None


def _matcher(value: str) -> str | None:
    # AWS docs, "Health checks for Application Load Balancer target groups" (Matcher): HTTP
    # codes from 200 to 499, single, comma-separated or a range.
    for part in value.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not (200 <= first <= 499 and 200 <= last <= 499):
            return f"{show(value)}: an Application Load Balancer accepts HTTP codes 200 to 499"
        if first > last:
            return f"{show(value)}: the range {part} runs backwards"
    return None


_CRON_FIELDS = (
    # (name, low, high, names allowed)
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day-of-week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
    ("year", 1970, 2199, ()),
)


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.isdigit():
        return low <= int(text) <= high
    return text.upper() in names


def _cron_field(text: str, index: int) -> str | None:
    name, low, high, names = _CRON_FIELDS[index]
    if text in ("*", "?"):
        if text == "?" and name not in ("day-of-month", "day-of-week"):
            return f"'?' is only allowed in day-of-month or day-of-week, not in {name}"
        return None
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) > 0):
            return f"{part!r} in {name} has no valid increment"
        if name == "day-of-month" and re.fullmatch(r"L|LW|[0-9]{1,2}W", base):
            continue
        if name == "day-of-week" and re.fullmatch(r"[1-7A-Za-z]{1,3}(#[1-5]|L)", base):
            continue
        if base == "*" and slash:
            continue
        first, dash, last = base.partition("-")
        if not _cron_value(first, low, high, names) or (dash and not _cron_value(last, low, high, names)):
            return f"{part!r} is not a valid {name} value ({low}-{high}{', ' + '/'.join(names[:3]) + '...' if names else ''})"
    return None


def schedule_problem(expression: str) -> str | None:
    """AWS docs, "Scheduled scaling for Application Auto Scaling" and "Schedule recurring
    scaling actions using Application Auto Scaling": at(yyyy-mm-ddThh:mm:ss),
    rate(value unit) and cron(minutes hours day-of-month month day-of-week year), where one
    of day-of-month and day-of-week must be '?'."""
    if match := re.fullmatch(r"at\((.*)\)", expression):
        try:
            datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return f"{show(expression)}: at() takes yyyy-mm-ddThh:mm:ss"
        return None
    if match := re.fullmatch(r"rate\((.*)\)", expression):
        parts = match[1].split(" ")
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1:
            return f"{show(expression)}: rate() takes a positive whole number and a unit, e.g. rate(5 minutes)"
        value, unit = int(parts[0]), parts[1]
        singular = unit in ("minute", "hour", "day")
        if unit not in ("minute", "minutes", "hour", "hours", "day", "days"):
            return f"{show(expression)}: the unit must be minute(s), hour(s) or day(s)"
        if (value == 1) != singular:
            return f"{show(expression)}: use {'a singular' if value == 1 else 'a plural'} unit with {value}"
        return None
    if match := re.fullmatch(r"cron\((.*)\)", expression):
        fields = match[1].split()
        if len(fields) != 6:
            return f"{show(expression)}: cron() takes six fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        for i, text in enumerate(fields):
            problem = _cron_field(text, i)
            if problem:
                return f"{show(expression)}: {problem}"
        if (fields[2] == "?") == (fields[4] == "?"):
            return f"{show(expression)}: exactly one of day-of-month and day-of-week must be '?'"
        return None
    return f"{show(expression)} is not cron(...), rate(...) or at(...)"


def job_schedule_problem(expression: str) -> str | None:
    """A job's `schedule`, as EventBridge Scheduler takes it (AWS docs, "Schedule types in
    EventBridge Scheduler", https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
    a recurring schedule, `rate(value unit)` or `cron(minutes hours day-of-month month day-of-week
    year)`; `at(...)` would run the job once and never again."""
    if not re.fullmatch(r"(cron|rate)\(.*\)", expression):
        once = " (at() runs once; a job recurs)" if expression.startswith("at(") else ""
        return f"{show(expression)} is not cron(...) or rate(...){once}"
    return schedule_problem(expression)


# What an import `id` is for the resource types whose ID is knowable from the file: each
# resource's "Import" section in the Terraform AWS provider documentation names it, and the
# AWS API reference gives its rules. Other types take any non-blank ID; Terraform checks them.
_ECR_NAME = re.compile(r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_SG_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
_QUEUE_URL = re.compile(r"^https://[a-z0-9.-]+(:[0-9]+)?/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_KMS_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


def _pattern_check(pattern: re.Pattern[str], what: str) -> Callable[[str], str | None]:
    return lambda value: None if pattern.fullmatch(value) else f"{show(value)} is not {what}"


IMPORT_IDS: dict[str, tuple[str, Callable[[str], str | None]]] = {
    # AWS docs, "CreateRepository" (Amazon ECR API): repositoryName, 2-256 characters, lower case.
    "aws_ecr_repository": ("the repository name", _pattern_check(_ECR_NAME, "an ECR repository name (lower-case, e.g. dev/web)")),
    # AWS docs, "CreateLogGroup" (CloudWatch Logs API): logGroupName, 1-512 of [.-_/#A-Za-z0-9].
    "aws_cloudwatch_log_group": ("the log group name", _pattern_check(_LOG_GROUP, "a CloudWatch Logs group name (1-512 of A-Z a-z 0-9 . - _ / #)")),
    "aws_s3_bucket": ("the bucket name", s3_bucket_problem),
    # AWS docs, "IAM and AWS STS quotas" / "CreateRole": RoleName, 1-64 of [\w+=,.@-].
    "aws_iam_role": ("the role name", _pattern_check(_ROLE_NAME, "an IAM role name (1-64 of letters, digits and + = , . @ _ -)")),
    "aws_security_group": ("the group id", _pattern_check(_SG_ID, "a security group id (sg-...)")),
    "aws_sqs_queue": ("the queue URL", _pattern_check(_QUEUE_URL, "an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")),
    "aws_kms_key": ("the key id", _pattern_check(_KMS_KEY_ID, "a KMS key id (a UUID or mrk-...)")),
    "aws_sns_topic": ("the topic ARN", _pattern_check(_SNS_ARN, "an SNS topic ARN")),
}


class ImportModel(Model):
    """`[[imports]]`: adopt an existing resource into this stack (a Terraform `import` block)."""

    to: Text(IMPORT_ADDRESS, "a resource address (<type>.<name>, e.g. aws_ecr_repository.web)", max_len=256) = Field(
        description="The resource's address in this stack, e.g. `aws_ecr_repository.web` (checked against the stack at synthesis)."
    )
    id: Text(max_len=2048) = Field(
        description="The import ID the resource type documents, e.g. a repository or bucket name, a log group name, a queue URL."
    )

    @model_validator(mode="after")
    def _rules(self) -> "ImportModel":
        type_ = self.to.split(".", 1)[0]
        if type_ in IMPORT_IDS:
            what, check = IMPORT_IDS[type_]
            problem = check(self.id)
            if problem:
                raise invalid(f"{problem}: {type_} is imported by {what}", "id")
        return self


class ServiceImportModel(ImportModel):
    """`[[imports]]` of a service manifest: adopt an existing resource into the service's stack."""

    environments: Strings(Text(ENV_NAME, "an environment name"), max_items=50, min_items=1) = Field(
        None, description="The environments whose stack imports it (default: every environment)."
    )


def _imports(entries: list[ImportModel]) -> tuple[ImportModel, ...]:
    """Two imports into one address of the same stack: Terraform refuses the configuration
    ("Terraform docs, import block": one import per resource instance)."""
    for i, entry in enumerate(entries):
        mine = set(getattr(entry, "environments", None) or ()) or None
        for j, earlier in enumerate(entries[:i]):
            theirs = set(getattr(earlier, "environments", None) or ()) or None
            if entry.to == earlier.to and (mine is None or theirs is None or mine & theirs):
                raise invalid(f"{entry.to} is already imported by imports[{j}] (for the same environment)", f"[{i}].to")
    return tuple(entries)


# ---------------------------------------------------------------------------------
# Environment file
# ---------------------------------------------------------------------------------
# Keys that describe a VPC the platform creates; with `vpc_id` the existing network has its own.
CREATED_VPC_KEYS = (
    "vpc_cidr", "az_count", "availability_zones", "nat", "public_subnets", "private_subnets", "database_subnets",
    "flow_log_retention_days",
)
EXISTING_SUBNET_KEYS = ("public_subnet_ids", "private_subnet_ids", "database_subnet_ids")
# AWS docs, "Quotas for Amazon RDS" (Subnets per DB subnet group: 20); the other tiers are held
# to the same bound.
MAX_EXISTING_SUBNETS = 20


class NetworkModel(Model):
    """`[network]`: the VPC and its three subnet tiers: created by the platform, or an existing
    VPC (`vpc_id` and the subnet ids of each tier)."""

    COMPUTED: ClassVar[dict[str, str]] = {
        "vpc_cidr": "required unless `vpc_id` is set",
        "availability_zones": "the Region's first `az_count` zones",
        "nat": "`single`; `per_az` in production",
        "public_subnets": "derived from `vpc_cidr` (at least /27)",
        "private_subnets": "derived from `vpc_cidr`",
        "database_subnets": "derived from `vpc_cidr`",
    }

    vpc_cidr: Cidr = Field(None, description="The VPC's IPv4 range: private (RFC 1918), /16 to /22.")
    az_count: Int(*limits.AZ_COUNT_RANGE) = Field(2, description="How many Availability Zones the subnets span.")
    availability_zones: Strings(Text(max_len=32), max_items=6) = Field(
        None, description="Zone names, one per AZ in subnet order (a fixed list: a new AWS zone never moves a subnet)."
    )
    nat: Choice(NatMode) = Field(None, description="NAT gateways: `single` (shared) or `per_az`.")
    admin_cidr: Cidr = Field(description="The only source of SSH to the bastion; 0.0.0.0/0 is refused.")
    public_subnets: Strings(Cidr, max_items=6) = Field(
        None, description="Explicit public subnet CIDRs, one per AZ; at least /27 (the load balancer's subnets)."
    )
    private_subnets: Strings(Cidr, max_items=6) = Field(None, description="Explicit private subnet CIDRs, one per AZ.")
    database_subnets: Strings(Cidr, max_items=6) = Field(None, description="Explicit database subnet CIDRs, one per AZ.")
    flow_log_retention_days: OneOf(limits.LOG_RETENTION_DAYS) = Field(90, description="VPC flow log retention (a CloudWatch Logs value).")
    vpc_id: Text(VPC_ID, "a VPC id (vpc-...)", max_len=21) = Field(
        None, description="An existing VPC to use instead of creating one (brownfield; with the three `*_subnet_ids`)."
    )
    public_subnet_ids: Strings(Text(SUBNET_ID, "a subnet id (subnet-...)", max_len=24), max_items=MAX_EXISTING_SUBNETS) = Field(
        None, description="With `vpc_id`: existing public subnets (route to an internet gateway), one per AZ, at least two AZs."
    )
    private_subnet_ids: Strings(Text(SUBNET_ID, "a subnet id (subnet-...)", max_len=24), max_items=MAX_EXISTING_SUBNETS) = Field(
        None, description="With `vpc_id`: existing private subnets (route to a NAT), at least two."
    )
    database_subnet_ids: Strings(Text(SUBNET_ID, "a subnet id (subnet-...)", max_len=24), max_items=MAX_EXISTING_SUBNETS) = Field(
        None, description="With `vpc_id`: existing database subnets, in at least two AZs."
    )

    @model_validator(mode="after")
    def _rules(self) -> "NetworkModel":
        if ipaddress.IPv4Network(self.admin_cidr).prefixlen == 0:
            raise invalid("0.0.0.0/0 would open SSH to the internet; give your office or VPN range", "admin_cidr")
        if self.vpc_id is not None:
            return self._existing_rules()
        for key in EXISTING_SUBNET_KEYS:
            if key in self.model_fields_set:
                raise invalid("names subnets of an existing VPC: it needs vpc_id as well", key)
        if self.vpc_cidr is None:
            raise invalid("is required (or vpc_id and the subnet ids of an existing VPC)", "vpc_cidr")
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        # AWS docs, "VPC CIDR blocks": RFC 1918 ranges are the private ones; anything else
        # is publicly routable (or special-purpose: loopback, link-local, benchmarking).
        if not any(vpc.subnet_of(net) for net in limits.RFC1918):
            raise invalid(f"{vpc} is not a private (RFC 1918) range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)", "vpc_cidr")
        if not 16 <= vpc.prefixlen <= 22:
            raise invalid(f"{vpc} must be between /16 and /22 to hold three subnet tiers in up to 6 AZs", "vpc_cidr")
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise invalid(f"lists {len(self.availability_zones)} zones; az_count is {self.az_count}", "availability_zones")
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for tier in ("public_subnets", "private_subnets", "database_subnets"):
            cidrs = getattr(self, tier)
            if cidrs is None:
                continue
            if len(cidrs) != self.az_count:
                raise invalid(f"lists {len(cidrs)} subnets; az_count is {self.az_count}", tier)
            for i, text in enumerate(cidrs):
                net = ipaddress.IPv4Network(text)
                if not net.subnet_of(vpc):
                    raise invalid(f"{net} does not fit in vpc_cidr {vpc}", f"{tier}[{i}]")
                # AWS docs, "Subnet CIDR blocks": a subnet is /16 to /28.
                if not 16 <= net.prefixlen <= 28:
                    raise invalid(f"{net} must be between /16 and /28", f"{tier}[{i}]")
                # AWS docs, "Application Load Balancers" (Subnets for your load balancer):
                # the load balancer's subnets are at least /27 with 8 free addresses.
                if tier == "public_subnets" and net.prefixlen > limits.ALB_SUBNET_MAX_PREFIX:
                    raise invalid(
                        f"{net} is smaller than /{limits.ALB_SUBNET_MAX_PREFIX}: the load balancer's subnets need at least"
                        f" /{limits.ALB_SUBNET_MAX_PREFIX} ({2 ** (32 - limits.ALB_SUBNET_MAX_PREFIX)} addresses, 8 of them free)",
                        f"{tier}[{i}]",
                    )
                for where, other in seen:
                    if net.overlaps(other):
                        raise invalid(f"{net} overlaps {other} ({where})", f"{tier}[{i}]")
                seen.append((f"{tier}[{i}]", net))
        return self

    def _existing_rules(self) -> "NetworkModel":
        """An existing VPC: all of it or nothing. What only ids can tell is checked here; what
        needs the subnets themselves (their zones, their VPC, the VPC's DNS settings) is checked
        by Terraform at plan time (preconditions in infra/platform/network.py)."""
        for key in CREATED_VPC_KEYS:
            if key in self.model_fields_set:
                raise invalid(
                    f"describes a VPC the platform creates; with vpc_id = {self.vpc_id!r} the existing VPC's own"
                    " ranges, zones, routes and flow logs apply (remove this key)",
                    key,
                )
        owner: dict[str, str] = {}
        for tier in EXISTING_SUBNET_KEYS:
            ids = getattr(self, tier)
            if ids is None:
                raise invalid(f"is required with vpc_id (the existing {tier.split('_')[0]} subnets)", tier)
            # AWS docs, CreateLoadBalancer (Subnets): an Application Load Balancer needs subnets in
            # at least two Availability Zones; "Working with a DB instance in a VPC": a DB subnet
            # group covers at least two. Private subnets: the platform spans two zones, as az_count.
            if len(ids) < 2:
                raise invalid(
                    f"lists {len(ids)} subnet; at least two are needed, in two Availability Zones"
                    f" ({_TIER_NEEDS[tier]})",
                    tier,
                )
            for i, subnet in enumerate(ids):
                if subnet in owner:
                    raise invalid(f"{subnet} is also listed in {owner[subnet]}: each subnet belongs to one tier", f"{tier}[{i}]")
                owner[subnet] = tier
        return self


_TIER_NEEDS = {
    "public_subnet_ids": "the load balancer needs subnets in at least two",
    "private_subnet_ids": "tasks and hosts spread over two zones, as with az_count >= 2",
    "database_subnet_ids": "an RDS DB subnet group covers at least two",
}


class BackendModel(Model):
    """`[backend]`: where Terraform keeps each stack's state."""

    COMPUTED: ClassVar[dict[str, str]] = {
        "region": "the environment's `region`",
        "key_prefix": "`ecs-platform/<env>`",
    }
    _S3 = ("bucket", "region", "key_prefix", "workspace_key_prefix", "use_lockfile", "dynamodb_table", "kms_key_id", "encrypt")
    _CLOUD = ("organization", "hostname", "workspace_prefix")

    type: Choice(BackendKind) = Field("local", description="`local`, `s3` or `cloud` (HCP Terraform).")
    bucket: Text(max_len=63, check=s3_bucket_problem) = Field(None, description="s3: the bucket that holds the state.")
    region: Text(REGION, "an AWS region name", check=_region, schema={"enum": sorted(aws_tables.REGION_ZONES)}) = Field(
        None, description="s3: the bucket's Region."
    )
    key_prefix: Text(KEY_PREFIX, "an S3 key prefix") = Field(None, description="s3: state key is `<key_prefix>/<stack>.tfstate`.")
    workspace_key_prefix: Text(KEY_PREFIX, "an S3 key prefix") = Field("workspaces", description="s3: prefix of non-default workspaces' state.")
    use_lockfile: bool = Field(True, description="s3: S3-native state locking.")
    dynamodb_table: Text(DYNAMO_TABLE, "a DynamoDB table name") = Field(None, description="s3: legacy lock table (optional).")
    kms_key_id: Text(KMS_KEY, "a KMS key id, alias or ARN", max_len=2048) = Field(None, description="s3: KMS key for the state objects.")
    encrypt: bool = Field(True, description="s3: always true (state holds secrets); false is refused.")
    organization: Text(ORG, "an HCP Terraform organization name") = Field(None, description="cloud: the organization (required).")
    hostname: Text(HOSTNAME, "a host name") = Field("app.terraform.io", description="cloud: the HCP Terraform / Enterprise host.")
    workspace_prefix: Text(re.compile(r"^[A-Za-z0-9_-]{0,60}$"), "a prefix", empty_ok=True) = Field(
        "ecs-platform-", description="cloud: workspace name is `<prefix><stack>`."
    )

    @model_validator(mode="after")
    def _rules(self) -> "BackendModel":
        given = self.model_fields_set - {"type"}
        allowed = {"local": (), "s3": self._S3, "cloud": self._CLOUD}[self.type]
        for key in sorted(given - set(allowed)):
            raise invalid(f"unknown key for a {self.type} backend (its keys: {', '.join(allowed) or 'none'})", key)
        if self.type == "s3":
            if self.bucket is None:
                raise invalid("is required for an s3 backend (the bucket that holds Terraform state)", "bucket")
            if not self.encrypt:
                raise invalid("must stay true: Terraform state holds secrets and resource details", "encrypt")
            if not self.use_lockfile and self.dynamodb_table is None:
                raise invalid("is false and no dynamodb_table is set: state would have no lock", "use_lockfile")
        if self.type == "cloud" and self.organization is None:
            raise invalid("is required", "organization")
        return self


class StrategyItemModel(Model):
    """One capacity provider of a strategy."""

    provider: Choice(CapacityProvider) = Field(description="FARGATE, FARGATE_SPOT or EC2.")
    weight: Int(0, 1000) = Field(1, description="Relative share of tasks.")
    base: Int(0, 100000) = Field(0, description="Tasks placed here first.")


def _strategy_shorthand(value: Any) -> Any:
    """`capacity = "FARGATE_SPOT"` is `[{ provider = "FARGATE_SPOT" }]`."""
    if isinstance(value, str):
        options = [member.value for member in CapacityProvider]
        if value not in options:
            raise invalid(f"{show(value)} is not one of {', '.join(options)}")
        return [{"provider": value, "weight": 1, "base": 0}]
    return value


def _strategy_rules(items: list[StrategyItemModel]) -> tuple[StrategyItemModel, ...]:
    # AWS docs, "CapacityProviderStrategyItem" (ECS API): only one provider may have a base;
    # "AWS Fargate capacity providers": a strategy holds Fargate or Auto Scaling group
    # providers, not both.
    if not items:
        raise invalid("must name at least one capacity provider")
    providers = [item.provider for item in items]
    if len(set(providers)) != len(providers):
        raise invalid("names a capacity provider more than once")
    if "EC2" in providers and len(providers) > 1:
        raise invalid("cannot mix EC2 with Fargate providers in one strategy (ECS refuses it)")
    if sum(1 for item in items if item.base > 0) > 1:
        raise invalid("only one capacity provider may have a base")
    if not any(item.weight > 0 for item in items):
        raise invalid("needs at least one provider with weight > 0")
    return tuple(items)


Strategy = Annotated[
    list[StrategyItemModel],
    BeforeValidator(_strategy_shorthand, json_schema_input_type=Choice(CapacityProvider) | list[StrategyItemModel]),
    AfterValidator(_strategy_rules),
]


class Ec2Model(Model):
    """`[cluster.ec2]`: the EC2 capacity provider's Auto Scaling group."""

    enabled: bool = Field(True, description="Create the EC2 capacity provider.")
    instance_type: Text(INSTANCE_TYPE, "an EC2 instance type") = Field("t3.medium", description="Instance type of the container instances.")
    min_size: Int(0, 1000) = Field(0, description="Auto Scaling group minimum.")
    max_size: Int(1, 1000) = Field(4, description="Auto Scaling group maximum.")
    target_capacity: Int(1, 100) = Field(100, description="Managed scaling target utilization, percent.")

    @model_validator(mode="after")
    def _rules(self) -> "Ec2Model":
        if self.min_size > self.max_size:
            raise invalid(f"{self.min_size} is greater than max_size {self.max_size}", "min_size")
        return self


class ClusterModel(Model):
    """`[cluster]`: the ECS cluster and its capacity providers."""

    container_insights: bool = Field(True, description="CloudWatch Container Insights.")
    default_strategy: Strategy = Field(
        [{"provider": "FARGATE", "weight": 1, "base": 1}],
        validate_default=True,
        description="Capacity-provider strategy of services that set none: a provider name or [{ provider, weight, base }].",
    )
    ec2: Ec2Model = Field(default_factory=Ec2Model, description="EC2 capacity.")

    @model_validator(mode="after")
    def _rules(self) -> "ClusterModel":
        if not self.ec2.enabled and any(item.provider == "EC2" for item in self.default_strategy):
            raise invalid("uses EC2 but cluster.ec2.enabled is false", "default_strategy")
        return self


class LoadBalancerModel(Model):
    """`[load_balancer]`: the public Application Load Balancer."""

    COMPUTED: ClassVar[dict[str, str]] = {"waf": "`production`"}

    certificate_arn: Text(ACM_ARN, "an ACM certificate ARN", max_len=2048) = Field(
        None, description="An ACM certificate in the environment's Region: turns on HTTPS."
    )
    domain: Text(HOSTNAME, "a DNS name") = Field(None, description="Or a domain to request a certificate for (DNS validation).")
    ssl_policy: Text(SSL_POLICY, "a TLS 1.2+ ELB policy") = Field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description="HTTPS listener security policy (TLS 1.2 or newer)."
    )
    idle_timeout: Int(1, 4000) = Field(60, description="Connection idle timeout, seconds.")
    waf: bool = Field(None, description="AWS WAF with the managed common, bad-inputs and anonymous-IP rules.")
    access_log_retention_days: Int(1, 3650) = Field(90, description="Days the ALB access logs are kept.")
    test_listener_port: Int(*limits.PORT_RANGE) = Field(
        None,
        description="A test listener on this port (HTTPS with a certificate, else HTTP), open to `admin_cidr` only: "
        "blue/green deployments send test traffic to the new tasks through it before production traffic.",
    )

    @model_validator(mode="after")
    def _rules(self) -> "LoadBalancerModel":
        if self.certificate_arn and self.domain:
            raise invalid("set either certificate_arn or domain, not both", "domain")
        # Two listeners of one load balancer cannot share a port ("Listeners for your
        # Application Load Balancers": a listener is a protocol and port).
        if self.test_listener_port in (80, 443):
            raise invalid(f"{self.test_listener_port} is a port of the load balancer's own listeners (80, 443)", "test_listener_port")
        return self


class DatabaseModel(Model):
    """`[database]`: the shared RDS MySQL instance."""

    COMPUTED: ClassVar[dict[str, str]] = {
        "multi_az": "`production`",
        "performance_insights": "on when the instance class supports it",
        "max_allocated_storage": "the larger of 100 and `allocated_storage`",
    }

    enabled: bool = Field(True, description="Create the database (and its security group and secret).")
    instance_class: Text(DB_INSTANCE_CLASS, "an RDS instance class") = Field("db.t4g.micro", description="RDS instance class.")
    engine_version: Text(MYSQL_VERSION, "a MySQL 8.4 or 8.0 version") = Field(
        "8.4", description="MySQL engine version, `8.4` or `8.0` (8.0: RDS Extended Support, a warning); a change is a major version upgrade in place."
    )
    allocated_storage: Int(*limits.RDS_STORAGE_RANGE) = Field(20, description="Storage, GiB (gp3).")
    max_allocated_storage: Int(*limits.RDS_STORAGE_RANGE) = Field(None, description="Storage autoscaling ceiling, GiB.")
    multi_az: bool = Field(None, description="A standby in a second AZ.")
    backup_retention_days: Int(*limits.RDS_BACKUP_RETENTION_RANGE) = Field(7, description="Automated backup retention, days.")
    db_name: Text(DB_NAME, "a MySQL database name", check=_not_reserved_mysql) = Field("app", description="Initial database.")
    master_username: Text(DB_USER, "a MySQL user name", check=_db_user) = Field(
        "platform", description="Master user (its password is managed by RDS in Secrets Manager)."
    )
    monitoring_interval: OneOf(limits.RDS_MONITORING_INTERVALS) = Field(60, description="Enhanced monitoring interval, seconds (0: off).")
    performance_insights: bool = Field(None, description="Performance Insights.")
    log_exports: Strings(OneOf(limits.RDS_LOG_EXPORTS), max_items=4) = Field(
        ("audit", "error", "slowquery"), description="Logs exported to CloudWatch Logs."
    )

    @model_validator(mode="after")
    def _rules(self) -> "DatabaseModel":
        if self.performance_insights and limits.RDS_NO_PERFORMANCE_INSIGHTS.fullmatch(self.instance_class):
            raise invalid(f"is not available for {self.instance_class}; use db.t4g.medium or larger", "performance_insights")
        # AWS docs, "Managing capacity automatically with Amazon RDS storage autoscaling": the
        # maximum storage threshold must exceed the allocated storage.
        if self.max_allocated_storage < self.allocated_storage:
            raise invalid(f"{self.max_allocated_storage} is below allocated_storage {self.allocated_storage}", "max_allocated_storage")
        return self


class AccessModel(Model):
    """`[access]`: the bastion and the Ansible host."""

    enabled: bool = Field(True, description="Create both hosts (false removes them).")
    key_name: Text(KEY_NAME, "an EC2 key pair name") = Field(None, description="EC2 key pair for SSH; none: Session Manager only.")
    instance_type: Text(INSTANCE_TYPE, "an EC2 instance type") = Field(
        "t3.micro", description="Instance type of both hosts (a Graviton type boots the arm64 Amazon Linux 2023 AMI)."
    )


class ObservabilityModel(Model):
    """`[observability]`: alarms, logs and the dashboard."""

    alarm_emails: Strings(Text(EMAIL, "an e-mail address"), max_items=20) = Field((), description="Subscribed to the alarm topic.")
    log_retention_days: OneOf(limits.LOG_RETENTION_DAYS) = Field(30, description="CloudWatch Logs retention of the services' logs.")
    dashboard: bool = Field(True, description="A CloudWatch dashboard for the environment.")


class RegistryModel(Model):
    """`[registry]`: the services' ECR repositories."""

    keep_images: Int(1, 1000) = Field(30, description="ECR lifecycle: keep the last N images.")


class PipelineModel(Model):
    """`[pipeline]`: each service's CodePipeline."""

    COMPUTED: ClassVar[dict[str, str]] = {
        "source": "`codestar` when `connection_arn` is set, else `s3`",
        "manual_approval": "`production`",
    }

    source: Choice(PipelineSource) = Field(None, description="`codestar` (a CodeStar connection) or `s3` (an uploaded zip).")
    connection_arn: Text(CONNECTION_ARN, "a CodeStar connection ARN", max_len=2048) = Field(None, description="The CodeStar connection.")
    repository: Text(REPOSITORY, "owner/repo") = Field("example/platform", description="The monorepo, `owner/repo`.")
    branch: Text(BRANCH, "a branch name") = Field("main", description="The branch that deploys.")
    manual_approval: bool = Field(None, description="An approval step before deploy.")
    promote_from: Text(ENV_NAME, "an environment name") = Field(
        None,
        description="Build once, promote: each service's one pipeline lives here, deploys this environment first "
        "and, after the approval, the same image digest here; that environment's services get no pipelines of "
        "their own (same account and Region). Jobs too: the job's Deploy registers a revision of its task "
        "definition family in each environment.",
    )

    @model_validator(mode="after")
    def _rules(self) -> "PipelineModel":
        if self.source == "codestar" and self.connection_arn is None:
            raise invalid("is required when source is codestar", "connection_arn")
        return self


# Tags the platform sets on every resource (infra/stacks.py and the Name tags).
PLATFORM_TAGS = ("Project", "Environment", "ManagedBy", "Component", "Name")
MAX_TAGS_PER_RESOURCE = 50


def _tags(tags: dict[str, str]) -> dict[str, str]:
    for key in tags:
        if key in PLATFORM_TAGS:
            raise invalid(f"is set by the platform on every resource ({', '.join(PLATFORM_TAGS)})", key)
    room = MAX_TAGS_PER_RESOURCE - len(PLATFORM_TAGS)
    if len(tags) > room:
        raise invalid(f"has {len(tags)} tags; AWS allows {MAX_TAGS_PER_RESOURCE} per resource and the platform sets {len(PLATFORM_TAGS)}, so at most {room}")
    return tags


# A shared file system's name: part of its security group's and tag's names, the key services
# name it by (`[[volumes]] file_system`) and the platform's contract output `file_systems`.
FILE_SYSTEM_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
# AWS docs, "Amazon EFS quotas" (Resource quotas): 1,000 file systems per account per Region.
MAX_FILE_SYSTEMS = 20


class FileSystemModel(Model):
    """`[[file_systems]]`: an encrypted EFS file system the platform creates and services mount by name."""

    name: Text(FILE_SYSTEM_NAME, "a file system name (lower-case letters, digits, '-')", max_len=32) = Field(
        description="Services mount it with `[[volumes]] file_system = \"<name>\"` (each through its own access point)."
    )


def _file_systems(entries: list[FileSystemModel]) -> tuple[FileSystemModel, ...]:
    if len(entries) > MAX_FILE_SYSTEMS:
        raise invalid(f"has {len(entries)} file systems; at most {MAX_FILE_SYSTEMS}")
    names = [entry.name for entry in entries]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise invalid(f"{name!r} is already the name of another file system", f"[{i}].name")
    return tuple(entries)


class EnvironmentFile(Model):
    """`environments/<env>.toml`: one environment (its name is the file name)."""

    COMPUTED: ClassVar[dict[str, str]] = {
        "deletion_protection": "`production`",
        "namespace": "`<env>.internal`",
    }

    region: Text(REGION, "an AWS region name", check=_region, schema={"enum": sorted(aws_tables.REGION_ZONES)}) = Field(
        description="AWS Region of every resource."
    )
    production: bool = Field(False, description="Turns on the production defaults (NAT per AZ, Multi-AZ, WAF, approval).")
    account_id: Text(ACCOUNT_ID, "a 12-digit AWS account id", max_len=12) = Field(
        None, description="The AWS account of this environment: Terraform refuses credentials of any other (`allowed_account_ids`)."
    )
    deletion_protection: bool = Field(
        None, description="ALB/RDS deletion protection, prevent_destroy on RDS, buckets and ECR."
    )
    allow_destroy: bool = Field(False, description="Needed, in production, to turn deletion_protection off.")
    namespace: Text(HOSTNAME, "a DNS name") = Field(None, description="Cloud Map private DNS namespace.")
    hosted_zone_id: Text(HOSTED_ZONE_ID, "a Route 53 hosted zone id (Z...)", max_len=32) = Field(
        None,
        description="Public Route 53 hosted zone of the services' `[routes] hosts`: their certificates are validated "
        "and their alias records created in it.",
    )
    tags: Annotated[
        dict[Text(TAG_KEY, "a tag key", max_len=128), Text(max_len=256, check=_tag_value, empty_ok=True)],
        AfterValidator(_tags),
        Field(json_schema_extra={"maxProperties": MAX_TAGS_PER_RESOURCE - len(PLATFORM_TAGS)}),
    ] = Field({}, description="Added to every resource's tags (next to Project, Environment, ManagedBy, Component, Name).")
    network: NetworkModel = Field(description="The VPC.")
    backend: BackendModel = Field(default_factory=BackendModel, description="Terraform state.")
    cluster: ClusterModel = Field(default_factory=ClusterModel, description="ECS cluster.")
    load_balancer: LoadBalancerModel = Field(default_factory=LoadBalancerModel, description="Application Load Balancer.")
    database: DatabaseModel = Field(default_factory=DatabaseModel, description="RDS MySQL.")
    access: AccessModel = Field(default_factory=AccessModel, description="Bastion and Ansible host.")
    observability: ObservabilityModel = Field(default_factory=ObservabilityModel, description="Alarms, logs, dashboard.")
    registry: RegistryModel = Field(default_factory=RegistryModel, description="ECR.")
    pipeline: PipelineModel = Field(default_factory=PipelineModel, description="CodePipeline per service.")
    imports: Annotated[list[ImportModel], AfterValidator(_imports)] = Field(
        (), description="Existing resources the platform stack adopts (Terraform import blocks)."
    )
    file_systems: Annotated[list[FileSystemModel], AfterValidator(_file_systems)] = Field(
        (), description="Shared EFS file systems (encrypted, a mount target per private subnet's zone) services mount by name."
    )

    @model_validator(mode="after")
    def _rules(self) -> "EnvironmentFile":
        if self.production and not self.deletion_protection and not self.allow_destroy:
            raise invalid(
                "cannot be false in a production environment unless allow_destroy = true is set as well", "deletion_protection"
            )
        zones = aws_tables.zones_of(self.region)
        for i, zone in enumerate(self.network.availability_zones or ()):
            if zone not in zones:
                raise invalid(
                    f"{zone!r} is not an availability zone of {self.region} ({', '.join(zones)})",
                    f"network.availability_zones[{i}]",
                )
        # AWS docs, "SSL certificates for your Application Load Balancer": the certificate
        # must be in the same Region as the load balancer.
        if self.load_balancer.certificate_arn:
            cert_region = ACM_ARN.fullmatch(self.load_balancer.certificate_arn)["region"]
            if cert_region != self.region:
                raise invalid(
                    f"is in {cert_region}; the load balancer is in {self.region} and can only use a certificate of its own Region",
                    "load_balancer.certificate_arn",
                )
        # AWS docs, "Using server-side encryption with AWS KMS keys (SSE-KMS)": the KMS key
        # must be in the same Region as the bucket.
        key_region = re.match(r"arn:[^:]+:kms:([^:]+):", self.backend.kms_key_id or "")
        if key_region and self.backend.region and key_region[1] != self.backend.region:
            raise invalid(f"is a key in {key_region[1]}; the state bucket is in {self.backend.region}", "backend.kms_key_id")
        if self.backend.region is not None and aws_tables.partition_of(self.backend.region) != aws_tables.partition_of(self.region):
            raise invalid(f"{self.backend.region} is in another AWS partition than {self.region}", "backend.region")
        return self


# ---------------------------------------------------------------------------------
# Service manifest
# ---------------------------------------------------------------------------------
class HealthCheckModel(Model):
    """`[health_check]`: the target group's (web) and the container's health check."""

    path: Text(HEALTH_PATH, "an HTTP path", max_len=1024) = Field("/health", description="HTTP path probed.")
    interval: Int(*limits.HEALTH_CHECK_INTERVAL_RANGE) = Field(30, description="Seconds between checks.")
    timeout: Int(*limits.HEALTH_CHECK_TIMEOUT_RANGE) = Field(5, description="Seconds before a check fails.")
    healthy_threshold: Int(*limits.HEALTH_CHECK_THRESHOLD_RANGE) = Field(2, description="Passes before healthy.")
    unhealthy_threshold: Int(*limits.HEALTH_CHECK_THRESHOLD_RANGE) = Field(3, description="Failures before unhealthy.")
    grace_period: Int(*limits.HEALTH_CHECK_GRACE_RANGE) = Field(60, description="Seconds ECS ignores failed checks after a start.")
    matcher: Text(MATCHER, "an HTTP code list", max_len=64, check=_matcher) = Field("200-399", description="Healthy HTTP codes (200-499).")

    @model_validator(mode="after")
    def _rules(self) -> "HealthCheckModel":
        # AWS docs, "Health checks for Application Load Balancer target groups": the timeout
        # must be smaller than the interval.
        if self.timeout >= self.interval:
            raise invalid(f"{self.timeout} must be shorter than interval {self.interval}", "timeout")
        return self


class RouteModel(Model):
    """`[routes]`: the listener rule of a web service."""

    COMPUTED: ClassVar[dict[str, str]] = {"priority": "from the service name (stable when other services change)"}

    # AWS docs, "Listener rules for your Application Load Balancer": up to three match
    # evaluations per condition and five per rule.
    paths: Strings(Text(PATH_PATTERN, "an ALB path pattern", max_len=128), max_items=limits.RULE_MAX_VALUES_PER_CONDITION) = Field(
        (), description="Path patterns (`*` and `?` wildcards)."
    )
    # AWS docs, "Listener rules for your Application Load Balancer" (Host conditions): a value is
    # up to 128 characters. Exact names only (see _host_name); the loader requires the
    # environment's hosted_zone_id and HTTPS.
    hosts: Strings(
        Text(max_len=128, check=_host_name, schema={"pattern": HOSTNAME.pattern}), max_items=limits.RULE_MAX_VALUES_PER_CONDITION
    ) = Field(
        (),
        description="Custom domains (needs `hosted_zone_id` in the environment): a DNS-validated certificate on the "
        "HTTPS listener, the rule's host condition and an alias record per host.",
    )
    priority: Int(*limits.RULE_PRIORITY_RANGE) = Field(None, description="Listener rule priority.")

    @model_validator(mode="after")
    def _rules(self) -> "RouteModel":
        if not self.paths and not self.hosts:
            raise invalid("a web service needs at least one path or host", "paths")
        values = len(self.paths) + len(self.hosts)
        if values > limits.RULE_MAX_CONDITION_VALUES:
            raise invalid(f"paths and hosts give {values} values; a rule allows {limits.RULE_MAX_CONDITION_VALUES}", "paths")
        # The first host is the certificate's domain name (its Common Name): at most 64 characters.
        if self.hosts and len(self.hosts[0]) > limits.CERTIFICATE_COMMON_NAME_MAX:
            raise invalid(
                f"{self.hosts[0]!r} is {len(self.hosts[0])} characters long: the first host is the certificate's"
                f" name, which has at most {limits.CERTIFICATE_COMMON_NAME_MAX} (put a shorter host first)",
                "hosts[0]",
            )
        # AWS docs, "Quotas for your Application Load Balancers": wildcards per rule, 5.
        wildcards = sum(v.count("*") + v.count("?") for v in (*self.paths, *self.hosts))
        if wildcards > limits.RULE_MAX_WILDCARDS:
            raise invalid(f"paths and hosts hold {wildcards} wildcards; a rule allows {limits.RULE_MAX_WILDCARDS}", "paths")
        return self


class ScheduleModel(Model):
    """`[[scaling.schedules]]`: a scheduled change of the task count bounds."""

    name: Text(SCHEDULE_NAME, "a schedule name") = Field(description="Unique within the service.")
    expression: Text(max_len=256, check=schedule_problem) = Field(description="cron(...), rate(...) or at(...).")
    timezone: Text(max_len=64, check=_timezone) = Field("UTC", description="IANA time zone of the expression.")
    min_count: Int(*limits.SERVICE_COUNT_RANGE) = Field(description="Minimum tasks from then on.")
    max_count: Int(*limits.SERVICE_COUNT_RANGE) = Field(description="Maximum tasks from then on.")

    @model_validator(mode="after")
    def _rules(self) -> "ScheduleModel":
        if self.min_count > self.max_count:
            raise invalid(f"{self.min_count} is greater than max_count {self.max_count}", "min_count")
        return self


def _percent_or_false(value: Any) -> Any:
    if value is True:
        raise invalid("must be a percentage (1..100) or false")
    return value


class QueueDelayModel(Model):
    """`[scaling.queue_delay]`: scale a worker so a new message waits at most this long (as AWS
    Copilot's workers do): the backlog per task it tracks is acceptable_latency / msg_processing_ms."""

    acceptable_latency: Int(1, 86400) = Field(description="Seconds a message may wait before a task takes it.")
    msg_processing_ms: Int(1, 86_400_000) = Field(description="Milliseconds one task takes per message.")


class ScalingModel(Model):
    """`[scaling]`: Application Auto Scaling of the service's task count."""

    COMPUTED: ClassVar[dict[str, str]] = {"queue_backlog_per_task": "`100` for a worker"}

    cpu_target: Annotated[
        Int(1, 100) | bool,
        BeforeValidator(_percent_or_false),
        Field(json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, {"const": False}]}),
    ] = Field(60, description="Target tracking on average CPU, percent; false turns it off.")
    memory_target: Int(1, 100) = Field(None, description="Target tracking on average memory, percent.")
    requests_per_target: Int(1, 1_000_000) = Field(None, description="web: target tracking on ALB requests per task.")
    queue_backlog_per_task: Int(1, 1_000_000) = Field(
        None, description="worker: target tracking on visible messages per running task (both ways)."
    )
    queue_delay: QueueDelayModel = Field(
        None, description="worker: the backlog per task from a latency target instead (exclusive with queue_backlog_per_task)."
    )
    scale_in_cooldown: Int(0, 86400) = Field(300, description="Seconds.")
    scale_out_cooldown: Int(0, 86400) = Field(60, description="Seconds.")
    # AWS docs, "Application Auto Scaling quotas": 200 scheduled actions per scalable target.
    schedules: Annotated[list[ScheduleModel], Field(json_schema_extra={"maxItems": 200})] = Field(
        (), description="Scheduled capacity changes."
    )

    @model_validator(mode="after")
    def _rules(self) -> "ScalingModel":
        if self.queue_delay is not None and self.queue_backlog_per_task is not None:
            raise invalid("set either queue_delay or queue_backlog_per_task, not both", "queue_delay")
        names = [s.name for s in self.schedules]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise invalid(f"{name!r} is used by another schedule", f"schedules[{i}].name")
        if len(names) > 200:
            raise invalid(f"has {len(names)} schedules; Application Auto Scaling allows 200", "schedules")
        return self


class AlarmModel(Model):
    """`[alarms]`: CloudWatch alarm thresholds."""

    cpu_high: Int(1, 100) = Field(85, description="Percent.")
    memory_high: Int(1, 100) = Field(85, description="Percent.")
    http_5xx: Int(1, 1_000_000) = Field(10, description="web: 5xx responses per 5 minutes.")
    queue_age_seconds: Int(60, 1209600) = Field(600, description="worker: age of the oldest message.")


ALL_ALARMS = tuple(sorted({purpose for purposes in SERVICE_ALARMS.values() for purpose in purposes}))
# AWS docs, CodeDeploy API "BlueInstanceTerminationOption": terminationWaitTimeInMinutes, at most
# 2880 (2 days).
TERMINATION_WAIT_RANGE = (0, 2880)


def _alarms_or_bool(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise invalid("is empty: name the alarms, or false for none")
    return value


class DeploymentModel(Model):
    """`[deployment]`: how a new task definition reaches the running tasks."""

    strategy: Choice(DeploymentStrategy) = Field(
        "rolling",
        description="`rolling` (ECS replaces tasks; circuit breaker and alarms roll back) or `blue_green` (web only: "
        "CodeDeploy starts a second task set behind a second target group, test traffic first, then all traffic).",
    )
    rollback_alarms: Annotated[
        Strings(OneOf(ALL_ALARMS), max_items=len(ALL_ALARMS)) | bool,
        BeforeValidator(_alarms_or_bool),
        Field(json_schema_extra={"anyOf": [{"type": "array", "items": {"enum": list(ALL_ALARMS)}, "minItems": 1, "uniqueItems": True}, {"type": "boolean"}]}),
    ] = Field(
        True,
        description="Alarms that fail and roll back a deployment: `true` the service's own (web: http-5xx and "
        "unhealthy-hosts; others: cpu-high and memory-high), a list of them by name, or `false`.",
    )
    min_healthy_percent: Int(0, 100) = Field(100, description="rolling: tasks that keep running during a deployment, percent of the count.")
    max_percent: Int(100, 200) = Field(200, description="rolling: tasks that may run during a deployment, percent of the count.")
    termination_wait: Int(*TERMINATION_WAIT_RANGE) = Field(
        5, description="blue_green: minutes the old tasks keep running after the traffic moved (a rollback is instant until then)."
    )

    @model_validator(mode="after")
    def _rules(self) -> "DeploymentModel":
        if "termination_wait" in self.model_fields_set and self.strategy != DeploymentStrategy.BLUE_GREEN.value:
            raise invalid(f"only applies to strategy = \"blue_green\" (strategy is {self.strategy})", "termination_wait")
        return self

    def alarm_purposes(self, kind: str) -> tuple[str, ...]:
        if self.rollback_alarms is True:
            return DEFAULT_ROLLBACK_ALARMS[kind]
        if self.rollback_alarms is False:
            return ()
        return tuple(self.rollback_alarms)


class QueueModel(Model):
    """`[queue]`: a worker's SQS queue and its dead-letter queue."""

    visibility_timeout: Int(*limits.SQS_VISIBILITY_RANGE) = Field(60, description="Seconds.")
    retention_seconds: Int(*limits.SQS_RETENTION_RANGE) = Field(345600, description="Seconds a message is kept (4 days).")
    max_receive_count: Int(*limits.SQS_MAX_RECEIVE_RANGE) = Field(5, description="Receives before the DLQ.")


def topic_variable(topic: str) -> str:
    """The environment variable that holds the ARN of a published topic: TOPIC_<NAME>_ARN."""
    return f"TOPIC_{topic.upper().replace('-', '_')}_ARN"


# Our own bounds: a task role's inline policies share IAM's 10,240 characters ("IAM and AWS
# STS quotas"), and a queue policy names each subscribed topic.
MAX_PUBLISHED_TOPICS = 20
MAX_SUBSCRIPTIONS = 20


class SubscriptionModel(Model):
    """`[[subscribe]]`: a topic another service publishes, delivered to this worker's queue."""

    topic: Text(TOPIC_REFERENCE, "<service>.<topic>, e.g. api.orders", max_len=62) = Field(
        description='The publishing service and one of its `publish` topics: `"<service>.<topic>"`, e.g. `"api.orders"`.'
    )
    filter: Annotated[dict[str, Any], Field(json_schema_extra={"maxProperties": sns_filter.MAX_KEYS})] = Field(
        None,
        description="SNS filter policy: each key an array of values (strings, numbers) or operators"
        " (`prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`, `exists`, `cidr`); default: every message.",
    )
    filter_scope: OneOf(sns_filter.SCOPES) = Field(
        "attributes", description="What `filter` matches: the message `attributes`, or the message `body` (JSON; nested keys allowed)."
    )
    raw_message_delivery: bool = Field(
        True, description="The published message is the SQS message body (no SNS envelope; at most 10 message attributes)."
    )

    @model_validator(mode="after")
    def _rules(self) -> "SubscriptionModel":
        if self.filter is not None:
            try:
                sns_filter.check_filter_policy(self.filter, scope=self.filter_scope)
            except sns_filter.FilterProblem as problem:
                raise invalid(problem.message, f"filter.{problem.where}" if problem.where else "filter") from None
        return self


class ImageModel(Model):
    """`[image]`: where the container image comes from."""

    source: Choice(ImageSource) = Field("ecr", description="`ecr` (built by the service's pipeline) or `external`.")
    uri: Text(IMAGE_URI, "an image URI with a tag or digest", max_len=512) = Field(None, description="external: the image URI.")
    tag: Text(IMAGE_TAG, "an image tag") = Field("bootstrap", description="ecr: the tag before the first pipeline run.")

    @model_validator(mode="after")
    def _rules(self) -> "ImageModel":
        if self.source == "external" and self.uri is None:
            raise invalid("is required", "uri")
        if self.source == "ecr" and self.uri is not None:
            raise invalid('is only used with source = "external"', "uri")
        return self


def _relative(value: str) -> str | None:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        return f"{show(value)} must be a relative path inside the service folder"
    return None


class BuildModel(Model):
    """`[build]`: the pipeline's build step."""

    dockerfile: Text(max_len=200, check=_relative) = Field("Dockerfile", description="Relative to the service folder; must exist for ecr images.")
    test_command: Text(max_len=500) = Field("python -m pytest -q tests", description="Run in the build before `docker build`.")


class ConditionModel(Model):
    """An IAM condition of a `[[permissions]]` entry."""

    test: Text(max_len=64) = Field(description="Condition operator, e.g. StringEquals.")
    variable: Text(CONDITION_KEY, "a condition key (e.g. aws:SourceVpce)") = Field(description="Condition key.")
    values: Strings(Text(max_len=1024), max_items=50, min_items=1) = Field(description="Values compared.")

    @model_validator(mode="after")
    def _rules(self) -> "ConditionModel":
        if not iam_actions.condition_operator_known(self.test):
            raise invalid(f"{self.test!r} is not an IAM condition operator (e.g. StringEquals, ArnLike, Bool)", "test")
        return self


class PermissionModel(Model):
    """`[[permissions]]`: an IAM statement the application needs (see infra/config/iam_actions.py)."""

    actions: Strings(Text(IAM_ACTION, "an IAM action (service:Action)"), max_items=50, min_items=1) = Field(
        description="IAM actions, `service:Action`."
    )
    resources: Strings(Text(max_len=2048), max_items=50, min_items=1) = Field(
        description='ARNs, "queue"/"dlq" (a worker\'s own), or "*" for actions without resource-level permissions.'
    )
    conditions: list[ConditionModel] = Field((), description="Conditions of the statement.")

    @model_validator(mode="after")
    def _rules(self) -> "PermissionModel":
        for i, action in enumerate(self.actions):
            prefix, _, verb = action.partition(":")
            if action == "*" or verb == "*":
                raise invalid(f"{action!r} grants every action; name the actions the application calls", f"actions[{i}]")
            if prefix not in iam_actions.SERVICE_PREFIXES:
                close = difflib.get_close_matches(prefix, iam_actions.SERVICE_PREFIXES, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise invalid(f"{prefix!r} is not an AWS service prefix{hint}", f"actions[{i}]")
        for i, resource in enumerate(self.resources):
            if resource == "*":
                scoped = [a for a in self.actions if "*" in a or iam_actions.supports_resource_level(a)]
                if scoped:
                    raise invalid(
                        f"'*' for {scoped[0]!r}, which supports resource-level permissions; name its resources", f"resources[{i}]"
                    )
            elif resource not in OWN_RESOURCES and not ARN.fullmatch(resource):
                raise invalid(
                    f"{resource!r} is not an ARN, '*', or one of {', '.join(map(repr, OWN_RESOURCES))}", f"resources[{i}]"
                )
        return self


def _secret_reference(value: str) -> str | None:
    ok = (
        SECRETSMANAGER_ARN.fullmatch(value)
        or SSM_ARN.fullmatch(value)
        or (value.startswith("ssm:") and SSM_NAME.fullmatch(value[4:]))
        or (value.startswith("secretsmanager:") and SECRET_NAME.fullmatch(value[15:]))
    )
    if ok:
        return None
    return (
        "must be a Secrets Manager or SSM parameter ARN, 'secretsmanager:<name>' or 'ssm:/<path>'"
        " (never the secret value itself)"
    )


# AWS docs, "Amazon ECS task definition parameters" (Task size): task-level cpu 128 to
# 196608 units (192 vCPUs) on EC2; Fargate sizes are a subset, checked by the loader.
CpuUnits = Int(128, 196608)
MemoryMiB = Int(128, 4_000_000)
EnvVarName = Text(ENV_VAR, "an environment variable name", max_len=255)
Environment = dict[EnvVarName, Text(max_len=4096, empty_ok=True)]


# ---------------------------------------------------------------------------------
# The task's containers: options of the service's own, its sidecars, log routing, tracing,
# EFS volumes (AWS docs, "ContainerDefinition" and "TaskDefinition", Amazon ECS API Reference)
# ---------------------------------------------------------------------------------
# "ContainerDefinition" (name): up to 255 letters, digits, hyphens and underscores.
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# A private ECR image: the execution role pulls only the service's own repository.
PRIVATE_ECR_IMAGE = re.compile(r"^[0-9]{12}\.dkr\.ecr\.")
# An ECS volume name ("Volume": up to 255 letters, digits, hyphens, underscores); ours also names
# the service's own file system, its security group and its address, so it is kept short.
VOLUME_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
CONTAINER_PATH = re.compile(r"^(/[A-Za-z0-9._@+=,-]+)+$")
# Pinned images of the platform's sidecars (both READMEs ask to lock a version tag rather than
# use `stable`/`latest`): AWS for Fluent Bit (github.com/aws/aws-for-fluent-bit, "Guidance on
# consuming versions") and the ADOT collector (its ECS configuration ecs-xray.yaml ships in it).
LOG_ROUTER_IMAGE = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.34.3.20260730"
TRACE_COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
# Variables the platform sets on the service's container for [tracing] (the OTLP exporter's
# standard variables, OpenTelemetry specification "OTLP Exporter Configuration").
TRACING_VARS = frozenset({"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"})
MAX_SIDECARS = 8  # a bound of ours: each sidecar shares the task's cpu and memory
MAX_VOLUMES = 10


def Args(what: str, *, max_items: int = 100) -> Any:
    """A command line: an array of strings (they may repeat), each up to 4096 characters; a
    newline or tab is allowed (`sh -c` scripts), other control characters are not."""

    def validate(values: list[str]) -> tuple[str, ...]:
        if not values:
            raise invalid(f"must not be empty (leave {what} out to keep the image's own)")
        if len(values) > max_items:
            raise invalid(f"has {len(values)} entries; at most {max_items} allowed")
        for i, value in enumerate(values):
            if len(value) > 4096:
                raise invalid(f"is {len(value)} characters long; at most 4096 allowed", f"[{i}]")
            if _control_chars(value.replace("\n", "").replace("\t", "")):
                raise invalid(f"{show(value)} contains control characters", f"[{i}]")
        return tuple(values)

    return Annotated[list[str], AfterValidator(validate), Field(json_schema_extra={"minItems": 1, "maxItems": max_items})]


def _container_path(value: str) -> str | None:
    parts = value.split("/")[1:]
    if any(part in (".", "..") for part in parts):
        return f"{show(value)} must not contain . or .. segments"
    if value == "/tmp" or value.startswith("/tmp/"):
        return f"{show(value)} is inside /tmp, the container's writable scratch volume"
    return None


def _image_problem(image: str) -> str | None:
    if PRIVATE_ECR_IMAGE.match(image):
        return f"{show(image)} is in a private ECR registry; the execution role pulls only the service's own repository (use a public image, e.g. from public.ecr.aws)"
    return None


def _credentials_in(environment: dict[str, str], secrets: dict[str, str]) -> tuple[str, str] | None:
    """(message, field) for the first plain value that looks like a credential, or a variable
    set in both tables; None when the environment is clean."""
    for var, value in environment.items():
        if SECRET_LIKE.search(var):
            return "looks like a credential: put it in [secrets] (values never belong in the JSON)", f"environment.{var}"
        for shape, what in CREDENTIAL_VALUES:
            if shape.search(value):
                return f"{what}: put it in [secrets] (values never belong in the JSON)", f"environment.{var}"
    clash = sorted(set(environment) & set(secrets))
    if clash:
        return f"{clash[0]} is set in both environment and secrets", "secrets"
    return None


Conditions = dict[Text(CONTAINER_NAME, "a container name", max_len=255), Choice(DependencyCondition)]


class UlimitModel(Model):
    """`[[ulimits]]`: a resource limit of the service's container."""

    name: OneOf(limits.ULIMIT_NAMES) = Field(description="The limit (on Fargate only `nofile` can be changed).")
    soft: Int(*limits.ULIMIT_VALUE_RANGE) = Field(description="Soft limit.")
    hard: Int(*limits.ULIMIT_VALUE_RANGE) = Field(description="Hard limit (at least `soft`).")

    @model_validator(mode="after")
    def _rules(self) -> "UlimitModel":
        if self.soft > self.hard:
            raise invalid(f"{self.soft} is greater than hard {self.hard} (Docker refuses a soft limit above the hard one)", "soft")
        return self


class SidecarModel(Model):
    """`[[sidecars]]`: another container in the service's task."""

    name: Text(CONTAINER_NAME, "a container name (letters, digits, '-', '_')", max_len=255) = Field(
        description="Container name, unique in the task."
    )
    image: Text(IMAGE_URI, "an image URI with a tag or digest", max_len=512, check=_image_problem) = Field(
        description="Image URI with a tag or digest (a public registry)."
    )
    port: Int(*limits.PORT_RANGE) = Field(None, description="Port it listens on (a port mapping; nothing outside the task reaches it).")
    essential: bool = Field(True, description="Its exit stops the task (COMPLETE/SUCCESS dependencies need false).")
    depends_on: Conditions = Field({}, description="Containers it waits for: { <container> = START|COMPLETE|SUCCESS|HEALTHY }.")
    environment: Environment = Field({}, description="Plain environment variables (credential-like names and values are refused).")
    secrets: dict[EnvVarName, Text(max_len=2048, check=_secret_reference)] = Field(
        {}, description="Secrets Manager / SSM references, as the service's [secrets]."
    )
    command: Args("command") = Field(None, description="Its command (default: the image's).")
    user: Text(USER, "a user name or uid[:gid]", max_len=32, check=_user) = Field(None, description="Its user (default: the image's); root is refused.")
    read_only_root_filesystem: bool = Field(True, description="Its root file system is read-only (/tmp stays writable).")

    @model_validator(mode="after")
    def _rules(self) -> "SidecarModel":
        problem = _credentials_in(self.environment, self.secrets)
        if problem:
            raise invalid(*problem)
        if self.name in self.depends_on:
            raise invalid("names the sidecar itself", "depends_on")
        return self


class LoggingModel(Model):
    """`[logging]`: where the containers' output goes."""

    driver: Choice(LogDriver) = Field(
        "awslogs", description="`awslogs` (ECS sends it) or `firelens` (a Fluent Bit log router sidecar); both to the service's log group."
    )
    image: Text(IMAGE_URI, "an image URI with a tag or digest", max_len=512, check=_image_problem) = Field(
        LOG_ROUTER_IMAGE, description="firelens: the log router's image (AWS for Fluent Bit)."
    )

    @model_validator(mode="after")
    def _rules(self) -> "LoggingModel":
        if "image" in self.model_fields_set and self.driver != LogDriver.FIRELENS.value:
            raise invalid('is only used with driver = "firelens" (the log router\'s image)', "image")
        return self


class TracingModel(Model):
    """`[tracing]`: an OpenTelemetry collector sidecar that sends the service's traces to X-Ray."""

    collector: Choice(TraceCollector) = Field(description="`adot`: the AWS Distro for OpenTelemetry collector, traces to AWS X-Ray.")
    image: Text(IMAGE_URI, "an image URI with a tag or digest", max_len=512, check=_image_problem) = Field(
        TRACE_COLLECTOR_IMAGE, description="The collector's image."
    )


class VolumeModel(Model):
    """`[[volumes]]`: an EFS volume mounted into the service's container."""

    name: Text(VOLUME_NAME, "a volume name (lower-case letters, digits, '-')", max_len=32) = Field(
        description="Unique in the service; names its access point (and its own file system)."
    )
    path: Text(CONTAINER_PATH, "an absolute path below /", max_len=1024, check=_container_path) = Field(
        description="Mount path in the container (not / or /tmp)."
    )
    read_only: bool = Field(False, description="Mounted read-only (the task role gets no ClientWrite).")
    file_system: Text(FILE_SYSTEM_NAME, "a file system name") = Field(
        None, description="A `[[file_systems]]` name of the environment; default: an encrypted file system of the service's own."
    )


# Keys an environment may override under [overrides.<env>] (same types as the manifest).
class OverrideModel(Model):
    """`[overrides.<env>]`: per-environment values of a few manifest keys."""

    cpu: CpuUnits = Field(None, description="Task CPU units.")
    memory: MemoryMiB = Field(None, description="Task memory, MiB.")
    desired_count: Int(*limits.SERVICE_COUNT_RANGE) = Field(None, description="Tasks at deploy.")
    min_count: Int(*limits.SERVICE_COUNT_RANGE) = Field(None, description="Auto scaling minimum.")
    max_count: Int(1, limits.SERVICE_COUNT_RANGE[1]) = Field(None, description="Auto scaling maximum.")
    capacity: Strategy = Field(None, description="Capacity-provider strategy.")
    enable_exec: bool = Field(None, description="ECS Exec.")
    environment: Environment = Field(None, description="Merged over the manifest's [environment].")
    scaling: ScalingModel = Field(
        None, description="Merged key by key over the manifest's [scaling]; its `schedules` replace the manifest's."
    )
    schedule: Text(max_len=256, check=job_schedule_problem) = Field(None, description="job: when it runs.")
    timezone: Text(max_len=50, check=_timezone) = Field(None, description="job: the time zone of `schedule`.")
    timeout: Int(*limits.JOB_TIMEOUT_RANGE) = Field(None, description="job: seconds a run may take.")
    retries: Int(*limits.JOB_RETRIES_RANGE) = Field(None, description="job: retries of a failed RunTask call.")
    routes: RouteModel = Field(
        None, description="Merged key by key over the manifest's [routes] (e.g. the environment's own `hosts`)."
    )
    deployment: DeploymentModel = Field(None, description="Merged key by key over the manifest's [deployment].")


OVERRIDABLE = tuple(OverrideModel.model_fields)


class ServiceFile(Model):
    """`services/<name>/service.toml`: one microservice."""

    COMPUTED: ClassVar[dict[str, str]] = {
        "port": "required; a job has none",
        "schedule": "required for a job",
        "name": "the folder name",
        "capacity": "the cluster's `default_strategy`",
        "min_count": "`desired_count`",
        "max_count": "the larger of `desired_count` and `min_count`",
        "stop_timeout": "`60` for a worker (it finishes its batch), else ECS's 30",
    }

    name: Text(SERVICE_NAME, "a service name", max_len=21) = Field(
        None, description="Lower-case letters, digits and '-', 2-21 characters (ECR, target group and role names)."
    )
    kind: Choice(ServiceKind) = Field(
        description="`web` (behind the ALB), `backend` (Cloud Map only), `worker` (SQS consumer) or `job` (a task on a schedule)."
    )
    port: Int(*limits.PORT_RANGE) = Field(None, description="Container port (a worker's health endpoint).")
    host_port: Int(*limits.PORT_RANGE) = Field(None, description="With awsvpc networking, absent or equal to `port`.")
    # AWS docs, "Amazon ECS task definition parameters for Fargate" (Task size): cpu units and
    # the memory allowed with each; on EC2 any value up to the instance's size.
    cpu: CpuUnits = Field(description="Task CPU units; on Fargate 256, 512, 1024, 2048, 4096, 8192 or 16384.")
    memory: MemoryMiB = Field(description="Task memory, MiB; on Fargate a value the AWS table allows with `cpu`.")
    architecture: Choice(Architecture) = Field(
        "X86_64", description="`X86_64` or `ARM64` (Fargate and Fargate Spot run both; on EC2 capacity, the instance type's)."
    )
    capacity: Strategy = Field(None, description="A provider name or [{ provider, weight, base }].")
    desired_count: Int(*limits.SERVICE_COUNT_RANGE) = Field(1, description="Tasks at deploy.")
    min_count: Int(*limits.SERVICE_COUNT_RANGE) = Field(None, description="Auto scaling minimum.")
    max_count: Int(1, limits.SERVICE_COUNT_RANGE[1]) = Field(None, description="Auto scaling maximum.")
    health_check: HealthCheckModel = Field(default_factory=HealthCheckModel, description="Health check.")
    routes: RouteModel = Field(None, description="web only (required there): the listener rule.")
    environment: Environment = Field(
        {},
        description="Plain environment variables; credential-like names and values are refused. "
        "`${service.<name>.url}` is the URL of another service of the same environment (a backend "
        "whose allow_from names this one), e.g. http://api.dev.internal:8081, or http://api:8081 when both that "
        "service and this one set connect = true.",
    )
    secrets: dict[EnvVarName, Text(max_len=2048, check=_secret_reference)] = Field(
        {}, description="Secrets Manager / SSM references (ARN, `secretsmanager:<name>`, `ssm:/<path>`), never values."
    )
    database: bool = Field(False, description="DB_HOST/DB_PORT/DB_NAME and DB_SECRET, and access to the database.")
    connect: bool = Field(
        False,
        description="ECS Service Connect beside Cloud Map DNS: a backend is also reached at http://<name>:<port> "
        "by services with connect = true (its `${service.<name>.url}`); web and worker services join as clients. "
        "Not with `[deployment] strategy = \"blue_green\"` (Service Connect does not support CodeDeploy).",
    )
    queue: QueueModel = Field(None, description="worker only: the SQS queue.")
    scaling: ScalingModel = Field(default_factory=ScalingModel, description="Auto scaling.")
    alarms: AlarmModel = Field(default_factory=AlarmModel, description="Alarm thresholds.")
    read_only_root_filesystem: bool = Field(True, description="The container's root file system is read-only.")
    user: Text(USER, "a user name or uid[:gid]", max_len=32, check=_user) = Field("10001", description="Container user; root is refused.")
    enable_exec: bool = Field(False, description="ECS Exec (SSM) into the tasks.")
    deployment: DeploymentModel = Field(default_factory=DeploymentModel, description="Rollouts: strategy, rollback alarms, task bounds.")
    # kind = "job" (infra/service/job.py): an EventBridge Scheduler schedule runs the task. What
    # `timeout` and `retries` do, precisely: see infra/service/job.py ("What a run's limits mean").
    schedule: Text(max_len=256, check=job_schedule_problem) = Field(
        None, description="job: when it runs, an EventBridge Scheduler `cron(...)` or `rate(...)` expression."
    )
    timezone: Text(max_len=50, check=_timezone) = Field(
        "UTC", description="job: the IANA time zone `schedule` is read in (cron follows its daylight saving time)."
    )
    timeout: Int(*limits.JOB_TIMEOUT_RANGE) = Field(
        3600,
        description="job: seconds a run may take: its task is stopped then (a deadline container in the task), and "
        "Scheduler no longer retries a start that late. The app gets it as JOB_TIMEOUT_SECONDS.",
    )
    retries: Int(*limits.JOB_RETRIES_RANGE) = Field(
        3,
        description="job: times Scheduler retries a run whose RunTask call failed; a task that ran and exited "
        "non-zero is not re-run (it raises the run-failed alarm).",
    )
    image: ImageModel = Field(default_factory=ImageModel, description="Container image.")
    build: BuildModel = Field(default_factory=BuildModel, description="Pipeline build step.")
    publish: Strings(Text(TOPIC_NAME, "a topic name (lower-case letters, digits, single hyphens)", max_len=40), max_items=MAX_PUBLISHED_TOPICS) = Field(
        (),
        description="SNS topics the service publishes to, each `<env>-<service>-<topic>` (encrypted with the platform key);"
        " the container gets its ARN as TOPIC_<TOPIC>_ARN and the task role sns:Publish on exactly these.",
    )
    subscribe: Annotated[list[SubscriptionModel], Field(json_schema_extra={"maxItems": MAX_SUBSCRIPTIONS})] = Field(
        (), description="worker only: other services' topics delivered to its queue (`{ topic = \"api.orders\", filter = {...} }`)."
    )
    allow_from: Strings(Text(SERVICE_NAME, "a service name", max_len=21), max_items=100) = Field(
        (), description="backend only: services whose tasks may connect to its port."
    )
    permissions: list[PermissionModel] = Field((), description="IAM statements of the task role.")
    overrides: dict[Text(ENV_NAME, "an environment name"), OverrideModel] = Field(
        {}, description="Per-environment values: [overrides.<env>]."
    )
    imports: Annotated[list[ServiceImportModel], AfterValidator(_imports)] = Field(
        (), description="Existing resources the service's stacks adopt (Terraform import blocks)."
    )
    command: Args("command") = Field(None, description="The container's command (default: the image's CMD).")
    entrypoint: Args("entrypoint") = Field(None, description="The container's entrypoint (default: the image's ENTRYPOINT).")
    ephemeral_storage: Int(*limits.EPHEMERAL_STORAGE_RANGE) = Field(
        None, description="Fargate only: task storage, GiB (default 20; shared by the containers' writable layers and /tmp)."
    )
    stop_timeout: Int(*limits.STOP_TIMEOUT_RANGE) = Field(
        None, description="Seconds between SIGTERM and SIGKILL when a task stops; at most 120 on Fargate."
    )
    ulimits: list[UlimitModel] = Field((), description="Resource limits of the container: [{ name, soft, hard }].")
    depends_on: Conditions = Field(
        {}, description="Containers the service's container waits for: { <sidecar> = START|COMPLETE|SUCCESS|HEALTHY }."
    )
    sidecars: Annotated[list[SidecarModel], Field(json_schema_extra={"maxItems": MAX_SIDECARS})] = Field(
        (), description="More containers in the task (the service's container stays the one routed to)."
    )
    logging: LoggingModel = Field(default_factory=LoggingModel, description="Log routing.")
    tracing: TracingModel = Field(None, description="Traces: an OpenTelemetry collector sidecar (OTEL_EXPORTER_OTLP_ENDPOINT set).")
    volumes: Annotated[list[VolumeModel], Field(json_schema_extra={"maxItems": MAX_VOLUMES})] = Field(
        (), description="EFS volumes, each through its own access point, encrypted in transit, IAM-authorized."
    )

    @model_validator(mode="after")
    def _rules(self) -> "ServiceFile":
        if self.kind == ServiceKind.JOB.value:
            self._job_rules()
        else:
            for key in JOB_KEYS:
                if key in self.model_fields_set:
                    raise invalid(f"only a job runs on a schedule (kind is {self.kind})", key)
            if self.port is None:
                raise invalid("is required", "port")
        if self.name in RESERVED_SERVICE_NAMES:
            raise invalid(f"{self.name!r} is reserved (the <env>-platform stack has that name)", "name")
        if self.port in limits.RESERVED_CONTAINER_PORTS:
            raise invalid(f"{self.port} is reserved by the platform (SSH, MySQL)", "port")
        # AWS docs, "Amazon ECS task definition parameters" (portMappings): with awsvpc the
        # hostPort is left out or equals the containerPort.
        if self.host_port is not None and self.host_port != self.port:
            raise invalid(f"{self.host_port} must equal port {self.port} with awsvpc networking (or be left out)", "host_port")
        counted = self.min_count is not None  # a job keeps no task count (the loader fills none)
        if counted and self.min_count > self.max_count:
            raise invalid(f"{self.min_count} is greater than max_count {self.max_count}", "min_count")
        if counted and not self.min_count <= self.desired_count <= self.max_count:
            raise invalid(f"{self.desired_count} is outside min_count..max_count ({self.min_count}..{self.max_count})", "desired_count")
        # A scheduled action sets the scalable target's minimum ("Scheduled scaling for
        # Application Auto Scaling"): below the environment's min_count it would undercut the
        # floor the environment asks for (production's, typically). Schedules may raise the
        # ceiling, never lower the floor; [overrides.<env>.scaling] sets them per environment.
        for i, schedule in enumerate(self.scaling.schedules):
            if schedule.min_count < self.min_count:
                raise invalid(
                    f"min_count {schedule.min_count} is below the service's min_count {self.min_count}: a schedule "
                    "may not lower the floor (set schedules per environment under [overrides.<env>.scaling])",
                    f"scaling.schedules[{i}].min_count",
                )
        kind = self.kind
        if kind == "web" and self.routes is None:
            raise invalid("is required", "routes")
        if kind != "web" and self.routes is not None:
            raise invalid(f"only web services are routed from the load balancer (kind is {kind})", "routes")
        if kind != "worker" and self.queue is not None:
            raise invalid(f"only worker services have a queue (kind is {kind})", "queue")
        # ARM64 on FARGATE_SPOT is allowed: AWS docs, "CapacityProviderStrategyItem" (Amazon
        # ECS API Reference): FARGATE_SPOT runs ARM64 Linux tasks on platform version 1.4.0
        # or later (LATEST, which the services use). Architecture against EC2 capacity is
        # checked by the loader, which knows the environment's instance type.
        for var, value in self.environment.items():
            if SECRET_LIKE.search(var):
                raise invalid("looks like a credential: put it in [secrets] (values never belong in the JSON)", f"environment.{var}")
            for shape, what in CREDENTIAL_VALUES:
                if shape.search(value):
                    raise invalid(f"{what}: put it in [secrets] (values never belong in the JSON)", f"environment.{var}")
        clash = sorted(set(self.environment) & set(self.secrets))
        if clash:
            raise invalid(f"{clash[0]} is set in both [environment] and [secrets]", "secrets")
        if self.database:
            reserved = sorted((set(self.environment) | set(self.secrets)) & DATABASE_VARS)
            if reserved:
                raise invalid(f"{reserved[0]} is set by the platform for database = true", "environment")
        published = {topic_variable(topic): topic for topic in self.publish}
        for table, values in (("environment", self.environment), ("secrets", self.secrets)):
            clash = sorted(set(values) & set(published))
            if clash:
                raise invalid(f"{clash[0]} is set by the platform for publish = [{published[clash[0]]!r}]", table)
        if self.subscribe and kind != "worker":
            raise invalid(f"only a worker has a queue for topics to deliver to (kind is {kind})", "subscribe")
        if len(self.subscribe) > MAX_SUBSCRIPTIONS:
            raise invalid(f"has {len(self.subscribe)} entries; at most {MAX_SUBSCRIPTIONS} allowed", "subscribe")
        topics = [s.topic for s in self.subscribe]
        for i, topic in enumerate(topics):
            if topic in topics[:i]:
                raise invalid(f"{topic!r} is already subscribed by subscribe[{topics.index(topic)}]", f"subscribe[{i}].topic")
        if self.scaling.requests_per_target is not None and kind != "web":
            raise invalid("only web services get ALB request-count scaling", "scaling.requests_per_target")
        if self.scaling.queue_backlog_per_task is not None and kind != "worker":
            raise invalid("only worker services scale on a queue", "scaling.queue_backlog_per_task")
        if self.scaling.queue_delay is not None and kind != "worker":
            raise invalid("only worker services scale on a queue", "scaling.queue_delay")
        if self.allow_from and kind != "backend":
            reach = "only the load balancer reaches a web service" if kind == "web" else f"a {kind} accepts no connections"
            raise invalid(f"is only for backend services ({reach})", "allow_from")
        if self.name in self.allow_from:
            raise invalid(f"names the service itself ({self.name!r})", "allow_from")
        for p, permission in enumerate(self.permissions):
            for i, resource in enumerate(permission.resources):
                if resource in OWN_RESOURCES and kind != "worker":
                    raise invalid(f"{resource!r}: only a worker has a queue and a dead-letter queue", f"permissions[{p}].resources[{i}]")
        if kind != ServiceKind.JOB.value:  # a job has no ECS service (NOT_FOR_A_JOB: deployment)
            self._deployment_rules()
        return self

    def _deployment_rules(self) -> None:
        deployment, kind = self.deployment, self.kind
        alarms = SERVICE_ALARMS[kind]
        if isinstance(deployment.rollback_alarms, tuple):
            for i, purpose in enumerate(deployment.rollback_alarms):
                if purpose not in alarms:
                    raise invalid(
                        f"{purpose!r} is not an alarm of a {kind} service (its alarms: {', '.join(alarms)})",
                        f"deployment.rollback_alarms[{i}]",
                    )
        if deployment.strategy == DeploymentStrategy.BLUE_GREEN.value:
            # AWS docs, "CodeDeploy blue/green deployments for Amazon ECS" (considerations): the
            # service must use a load balancer, whose listeners CodeDeploy moves between two
            # target groups: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html
            if kind != "web":
                raise invalid(f"blue_green moves load balancer traffic: only web services (kind is {kind})", "deployment.strategy")
            # With the CODE_DEPLOY controller only a CodeDeploy deployment changes the task
            # definition ("UpdateService", ECS API Reference); an external image has no pipeline
            # to create one, so a new image would never reach the tasks.
            if self.image.source == ImageSource.EXTERNAL.value:
                raise invalid(
                    "blue_green deploys through the service's pipeline (CodeDeploy); an external image has none",
                    "deployment.strategy",
                )
            # AWS docs, "Amazon ECS Service Connect components" (Considerations): "Service Connect
            # doesn't support ... Services that use the blue/green powered by CodeDeploy and
            # external deployment types":
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts-deploy.html
            if self.connect:
                raise invalid(
                    "blue_green (CodeDeploy) cannot run with connect = true: ECS Service Connect is not supported"
                    " with the CODE_DEPLOY deployment controller; leave connect out (a backend's"
                    " ${service.<name>.url} is then its Cloud Map DNS name) or use strategy = \"rolling\"",
                    "connect",
                )
            return
        self._deployment_can_progress()

    def _deployment_can_progress(self) -> None:
        """AWS docs, "Deploy Amazon ECS services by replacing tasks" (rolling update): with the
        bounds rounded (minimum up, maximum down), the scheduler must be able to start or stop
        at least one task, or the deployment never finishes:
        https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html"""
        low, high = self.deployment.min_healthy_percent, self.deployment.max_percent
        for count in range(max(1, self.min_count), self.max_count + 1):
            can_start = (count * high) // 100 > count
            can_stop = -((-count * low) // 100) < count
            if not (can_start or can_stop):
                raise_to = -((-(count + 1) * 100) // count)
                lower = f" or min_healthy_percent to at most {((count - 1) * 100) // count}" if count > 1 else ""
                raise invalid(
                    f"{high} with min_healthy_percent {low} lets ECS neither start nor stop a task at {count} running "
                    f"(the service runs {self.min_count}..{self.max_count}), so a deployment never finishes: raise "
                    f"max_percent to at least {raise_to}{lower}",
                    "deployment.max_percent",
                )

    def _job_rules(self) -> None:
        """`kind = "job"`: a scheduled task, without what only an ECS service has."""
        for key, why in NOT_FOR_A_JOB.items():
            if key in self.model_fields_set:
                raise invalid(f"is not for a job: {why}", key)
        if self.schedule is None:
            raise invalid("is required for a job: cron(...) or rate(...)", "schedule")
        if JOB_TIMEOUT_VAR in self.environment or JOB_TIMEOUT_VAR in self.secrets:
            where = "environment" if JOB_TIMEOUT_VAR in self.environment else "secrets"
            raise invalid(f"{JOB_TIMEOUT_VAR} is set by the platform for a job (its timeout)", where)

    @model_validator(mode="after")
    def _container_rules(self) -> "ServiceFile":
        """The task's containers: names, dependencies, ports, limits and volumes, as ECS checks
        them when the task definition is registered or the task starts."""
        main = self.name
        if main in (LOG_ROUTER, TRACE_COLLECTOR):
            raise invalid(f"{main!r} is the name of a container the platform adds", "name")
        firelens = self.logging.driver == LogDriver.FIRELENS.value
        # name -> (essential, has a container health check)
        containers: dict[str, tuple[bool, bool]] = {main: (True, self.image.source == ImageSource.ECR.value)}
        if firelens:
            containers[LOG_ROUTER] = (True, False)
        if self.tracing is not None:
            containers[TRACE_COLLECTOR] = (True, True)  # the collector's own /healthcheck
        if self.kind == ServiceKind.JOB.value:
            containers[DEADLINE_CONTAINER] = (True, False)  # ends a run at its timeout
        reserved_ports = {
            **({port: f"the FireLens log router ([logging] driver = \"firelens\")" for port in limits.LOG_ROUTER_PORTS} if firelens else {}),
            **({port: "the trace collector ([tracing])" for port in limits.TRACE_COLLECTOR_PORTS} if self.tracing else {}),
        }
        if self.port in reserved_ports:
            raise invalid(f"{self.port} is taken by {reserved_ports[self.port]} (the task's containers share one network)", "port")
        ports = {self.port: "the service's container (port)", **reserved_ports}
        if len(self.sidecars) > MAX_SIDECARS:
            raise invalid(f"has {len(self.sidecars)} sidecars; at most {MAX_SIDECARS}", "sidecars")
        for i, sidecar in enumerate(self.sidecars):
            where = f"sidecars[{i}]"
            if sidecar.name in containers:
                other = "the service's container" if sidecar.name == main else "another container of the task"
                raise invalid(f"{sidecar.name!r} is already the name of {other}", f"{where}.name")
            containers[sidecar.name] = (sidecar.essential, False)
            if sidecar.port is not None:
                if sidecar.port in ports:
                    raise invalid(f"{sidecar.port} is taken by {ports[sidecar.port]} (the task's containers share one network)", f"{where}.port")
                ports[sidecar.port] = f"sidecar {sidecar.name!r}"
        # AWS docs, "ContainerDependency" (Amazon ECS API Reference): COMPLETE and SUCCESS "can't
        # be set on an essential container"; HEALTHY "requires that the dependent container has
        # health checks configured".
        graph: dict[str, tuple[str, ...]] = {main: tuple(self.depends_on)}
        dependents = [("depends_on", main, self.depends_on)] + [
            (f"sidecars[{i}].depends_on", s.name, s.depends_on) for i, s in enumerate(self.sidecars)
        ]
        for where, _, depends_on in dependents:
            for target, condition in depends_on.items():
                if target not in containers:
                    known = ", ".join(sorted(containers))
                    raise invalid(f"{target!r} is not a container of the task (its containers: {known})", f"{where}.{target}")
                essential, healthy = containers[target]
                if condition in (DependencyCondition.COMPLETE.value, DependencyCondition.SUCCESS.value) and essential:
                    raise invalid(f"{condition}: {target!r} is essential, and ECS waits for COMPLETE/SUCCESS only on a container marked essential = false", f"{where}.{target}")
                if condition == DependencyCondition.HEALTHY.value and not healthy:
                    raise invalid(f"HEALTHY: {target!r} has no container health check (only our images' containers and the trace collector have one)", f"{where}.{target}")
        for _, name, depends_on in dependents[1:]:
            graph[name] = tuple(depends_on)
        cycle = _cycle(graph)
        if cycle:
            raise invalid(f"the containers wait for each other in a circle ({' -> '.join(cycle)}); ECS would never start the task", "depends_on" if main in cycle else f"sidecars[{[s.name for s in self.sidecars].index(cycle[0])}].depends_on")
        names = [u.name for u in self.ulimits]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise invalid(f"{name!r} is set twice", f"ulimits[{i}].name")
        if self.tracing is not None:
            taken = sorted((set(self.environment) | set(self.secrets)) & TRACING_VARS)
            if taken:
                raise invalid(f"{taken[0]} is set by the platform for [tracing] (the collector's address)", "environment")
        if self.volumes:
            if len(self.volumes) > MAX_VOLUMES:
                raise invalid(f"has {len(self.volumes)} volumes; at most {MAX_VOLUMES}", "volumes")
            uid, _, gid = self.user.partition(":")
            if not uid.isdigit() or (gid and not gid.isdigit()):
                raise invalid(
                    f"{self.user!r} is a user name; an EFS access point needs the numeric uid[:gid] the container runs as", "user"
                )
            seen_names: dict[str, int] = {}
            seen_paths: dict[str, int] = {}
            for i, volume in enumerate(self.volumes):
                if volume.name in seen_names:
                    raise invalid(f"{volume.name!r} is already the name of volumes[{seen_names[volume.name]}]", f"volumes[{i}].name")
                if volume.name == "tmp" or volume.name.startswith("tmp-"):
                    raise invalid(f"{volume.name!r}: tmp and tmp-* name the containers' scratch volumes", f"volumes[{i}].name")
                for path, j in seen_paths.items():
                    if volume.path == path or volume.path.startswith(path + "/") or path.startswith(volume.path + "/"):
                        raise invalid(f"{volume.path!r} overlaps the path of volumes[{j}] ({path!r})", f"volumes[{i}].path")
                seen_names[volume.name] = i
                seen_paths[volume.path] = i
            shared = {v.file_system for v in self.volumes if v.file_system is not None}
            for i, volume in enumerate(self.volumes):
                if volume.file_system is None and volume.name in shared:
                    raise invalid(
                        f"{volume.name!r} is also the name of a shared file system this service mounts; give its own volume another name",
                        f"volumes[{i}].name",
                    )
        return self


def _cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A circle of container dependencies, as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


# Variables the platform sets itself for a database link.
DATABASE_VARS = frozenset({"DB_HOST", "DB_PORT", "DB_NAME", "DB_SECRET"})

# The keys of a job, refused on the other kinds.
JOB_KEYS = ("schedule", "timezone", "timeout", "retries")
# Keys of an ECS service that a job has no use for, and why (a job: infra/service/job.py).
NOT_FOR_A_JOB = {
    "port": "a job accepts no connections",
    "host_port": "a job accepts no connections",
    "routes": "a job is not behind the load balancer",
    "health_check": "a job has no load balancer or ECS service health check",
    "desired_count": "a job runs one task per scheduled run; no ECS service keeps a count",
    "min_count": "a job runs one task per scheduled run; no ECS service keeps a count",
    "max_count": "a job runs one task per scheduled run; no ECS service keeps a count",
    "scaling": "a job is not auto scaled",
    "deployment": "a job has no ECS service to deploy (each run starts the task definition's latest revision)",
    "alarms": "a job's alarms are its own (not-started, run-failed); these thresholds watch an ECS service",
    "connect": "Service Connect configures an ECS service; a job's tasks are started by its schedule",
}
# Set by the platform in a job's container: its `timeout`, so the app can finish in time.
JOB_TIMEOUT_VAR = "JOB_TIMEOUT_SECONDS"


# ---------------------------------------------------------------------------------
# JSON Schema (editors) — generated, checked in under schema/
# ---------------------------------------------------------------------------------
def json_schema(model: type[Model], schema_id: str) -> dict[str, Any]:
    """The model's JSON Schema with each computed default spelled out in its description."""
    schema = model.model_json_schema(mode="validation")
    models = {cls.__name__: cls for cls in _models(model)}
    for name, node in [(model.__name__, schema), *schema.get("$defs", {}).items()]:
        cls = models.get(name)
        if cls is None:
            continue
        for key, prop in node.get("properties", {}).items():
            prop.pop("title", None)
            if key in cls.COMPUTED:
                prop.pop("default", None)
                prop["description"] = f"{prop.get('description', '')} Default: {cls.COMPUTED[key].replace('`', '')}.".strip()
            if prop.get("default") is None and "default" in prop:
                prop.pop("default")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, **schema}


def _models(model: type[Model]) -> list[type[Model]]:
    seen: list[type[Model]] = []

    def visit(cls: type[Model]) -> None:
        if cls in seen:
            return
        seen.append(cls)
        for field in cls.model_fields.values():
            for inner in _nested(field.annotation):
                visit(inner)

    visit(model)
    return seen


def _nested(annotation: Any) -> list[type[Model]]:
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found.extend(_nested(arg))
    return found
