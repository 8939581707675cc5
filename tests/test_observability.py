"""The alarm topic (encryption, policy, e-mail subscribers) and the platform dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.platform.observability import subscription_id
from tests.conftest import FIXTURE, Synth, by_path, data_sources, jsondoc, only, resources

ENVS = ("dev", "prod")


def _ref(stack: dict[str, Any], type_: str, suffix: str, attr: str) -> str:
    for logical_id, res in resources(stack, type_).items():
        if res["//"]["metadata"]["path"].endswith(suffix):
            return f"${{{type_}.{logical_id}.{attr}}}"
    raise AssertionError(f"no {type_} at */{suffix}")


# --- alarm topic ----------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_alarm_topic_is_named_per_environment_and_encrypted_with_the_platform_key(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    topic = by_path(stack, "aws_sns_topic", "alarms/topic")
    assert topic["name"] == f"{env}-alarms"
    assert topic["kms_master_key_id"] == _ref(stack, "aws_kms_key", "platform/key/key", "arn")


@pytest.mark.parametrize("env", ENVS)
def test_only_cloudwatch_of_this_account_may_publish(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    policy = only(stack, "aws_sns_topic_policy")
    topic_arn = _ref(stack, "aws_sns_topic", "alarms/topic", "arn")
    assert policy["arn"] == topic_arn
    (doc_id,) = [k for k, d in data_sources(stack, "aws_iam_policy_document").items() if d["//"]["metadata"]["path"].endswith("alarms/policy")]
    assert policy["policy"] == f"${{data.aws_iam_policy_document.{doc_id}.json}}"
    (statement,) = data_sources(stack, "aws_iam_policy_document")[doc_id]["statement"]
    assert statement["actions"] == ["sns:Publish"]
    assert statement["resources"] == [topic_arn]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    (condition,) = statement["condition"]
    assert condition["variable"] == "aws:SourceAccount"
    (identity,) = data_sources(stack, "aws_caller_identity")
    assert (condition["test"], condition["values"]) == ("StringEquals", [f"${{data.aws_caller_identity.{identity}.account_id}}"])


@pytest.mark.parametrize("env", ENVS)
def test_each_alarm_email_is_subscribed_under_an_id_derived_from_the_address(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    topic_arn = _ref(stack, "aws_sns_topic", "alarms/topic", "arn")
    subs = resources(stack, "aws_sns_topic_subscription")
    assert len(subs) == 1
    (sub,) = subs.values()
    assert sub["protocol"] == "email" and sub["endpoint"] == "platform-oncall@example.com"
    assert sub["topic_arn"] == topic_arn
    assert sub["//"]["metadata"]["path"].endswith(f"alarms/{subscription_id('platform-oncall@example.com')}")


def test_subscription_ids_depend_only_on_the_address() -> None:
    a, b = "a@example.com", "b@example.com"
    assert subscription_id(a) == subscription_id(" A@Example.com ")
    assert subscription_id(a) != subscription_id(b)
    assert subscription_id(a) == "email-" + __import__("hashlib").sha256(b"a@example.com").hexdigest()[:10]


@pytest.mark.parametrize("env", ENVS)
def test_every_platform_alarm_notifies_the_topic(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    topic_arn = _ref(stack, "aws_sns_topic", "alarms/topic", "arn")
    alarms = resources(stack, "aws_cloudwatch_metric_alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert topic_arn in alarm["alarm_actions"], name


@pytest.mark.parametrize("env", ENVS)
def test_the_topic_is_published_for_the_service_stacks(synth: Synth, env: str) -> None:
    """Service alarms live in the service stacks and notify this topic through the contract."""
    stack = synth.stack(f"{env}-platform")
    assert stack["output"]["alarm_topic_arn"]["value"] == _ref(stack, "aws_sns_topic", "alarms/topic", "arn")


# --- dashboard ------------------------------------------------------------------------
def _dashboard(synth: Synth, env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    stack = synth.stack(f"{env}-platform")
    board = only(stack, "aws_cloudwatch_dashboard")
    return board, jsondoc(board["dashboard_body"])


def _metrics(body: dict[str, Any]) -> list[list[Any]]:
    return [m for w in body["widgets"] for m in w["properties"]["metrics"]]


@pytest.mark.parametrize("env", ENVS)
def test_dashboard_is_named_per_environment_and_laid_out_without_overlap(synth: Synth, env: str) -> None:
    board, body = _dashboard(synth, env)
    assert board["dashboard_name"] == f"{env}-platform"
    cells = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(cells) == len(set(cells))
    assert all(w["properties"]["region"] == "us-east-1" for w in body["widgets"])


@pytest.mark.parametrize("env", ENVS)
def test_dashboard_shows_the_load_balancer_by_its_arn_suffix(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    _, body = _dashboard(synth, env)
    (lb_id,) = resources(stack, "aws_lb")
    suffix = f"${{aws_lb.{lb_id}.arn_suffix}}"
    alb = {m[1] for m in _metrics(body) if m[0] == "AWS/ApplicationELB"}
    assert alb == {"RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "TargetResponseTime"}
    assert all(m[2:4] == ["LoadBalancer", suffix] for m in _metrics(body) if m[0] == "AWS/ApplicationELB")


def _expressions(body: dict[str, Any]) -> list[str]:
    return [m[0]["expression"] for m in _metrics(body) if isinstance(m[0], dict)]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("metric", ["CPUUtilization", "MemoryUtilization"])
def test_dashboard_finds_every_ecs_service_of_the_cluster_by_search(synth: Synth, env: str, metric: str) -> None:
    _, body = _dashboard(synth, env)
    expected = f"SEARCH('{{AWS/ECS,ClusterName,ServiceName}} MetricName=\"{metric}\" ClusterName=\"{env}\"', 'Average', 300)"
    assert expected in _expressions(body)


@pytest.mark.parametrize("env", ENVS)
def test_dashboard_shows_the_database(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    _, body = _dashboard(synth, env)
    ident = _ref(stack, "aws_db_instance", "database/instance", "identifier")
    rds = {m[1]: m[2:4] for m in _metrics(body) if m[0] == "AWS/RDS"}
    assert set(rds) == {"CPUUtilization", "DatabaseConnections", "FreeStorageSpace"}
    assert all(dims == ["DBInstanceIdentifier", ident] for dims in rds.values())


@pytest.mark.parametrize("env", ENVS)
def test_dashboard_finds_worker_queues_by_search(synth: Synth, env: str) -> None:
    _, body = _dashboard(synth, env)
    sqs = [e for e in _expressions(body) if "AWS/SQS" in e]
    assert len(sqs) == 2 and all(f"QueueName={env}'" in e for e in sqs)
    assert any("ApproximateAgeOfOldestMessage" in e for e in sqs)


def test_dashboard_does_not_list_services_so_adding_one_leaves_it_unchanged(synth: Synth) -> None:
    board, _ = _dashboard(synth, "dev")
    for name in ("web", "api", "worker"):
        assert f"dev-{name}" not in board["dashboard_body"]


def test_dashboard_body_is_deterministic() -> None:
    from cdktf import App

    from infra.config import load_app
    from infra.stacks import EnvironmentStack
    from infra.platform.dashboard import Dashboard

    spec = load_app(FIXTURE, environments=["dev"])
    (env,) = spec.environments
    app = App()
    one, two, bare = (EnvironmentStack(app, name, env=env, local=None, component="platform") for name in ("one", "two", "bare"))
    one = Dashboard(one, "dashboard", env=env, alb_arn_suffix="app/x/1", db_identifier="dev-mysql")
    two = Dashboard(two, "dashboard", env=env, alb_arn_suffix="app/x/1", db_identifier="dev-mysql")
    assert one.document == two.document
    bare = Dashboard(bare, "dashboard", env=env, alb_arn_suffix=None, db_identifier=None)
    assert all("AWS/ApplicationELB" not in json.dumps(w) and "AWS/RDS" not in json.dumps(w) for w in bare.document["widgets"])
