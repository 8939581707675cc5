"""Events between services: `publish` (a service's SNS topics) and `subscribe` (a worker's queue).

The tests' configuration has api publish "orders" and worker subscribe to "api.orders" with a
filter; a small configuration of its own covers the other shapes (several subscriptions, a
body filter, no filter, raw delivery off) and the deploy order with `allow_from`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config.loader import publisher_dependencies
from tests.config_builder import BACKEND, WORKER, Project
from tests.conftest import Synth, data_sources, jsondoc, only, platform_ref, platform_value, ref, resources

TOPIC = "dev-api-orders"  # <prefix>-<service>-<topic> in the default workspace


def document(stack: dict[str, Any], reference: str) -> dict[str, Any]:
    """The aws_iam_policy_document data source a `${data.aws_iam_policy_document.x.json}` names."""
    return data_sources(stack, "aws_iam_policy_document")[reference.split(".")[2]]


def task_statements(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (policy,) = [p for p in resources(stack, "aws_iam_role_policy").values() if p["name"] == "application"]
    return {s["sid"]: s for s in document(stack, policy["policy"])["statement"]}


def topic_arn(name: str) -> str:
    """A topic's ARN as a subscriber builds it: partition and account from its data sources."""
    return f"arn:${{data.aws_partition.partition.partition}}:sns:us-east-1:${{data.aws_caller_identity.account.account_id}}:{name}"


# --- the publisher ------------------------------------------------------------------------
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_published_topic_is_named_for_its_service_and_encrypted_with_the_platform_key(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-api")
    topic = only(stack, "aws_sns_topic")
    assert topic["name"] == f"{env}-api-orders"
    assert platform_value(synth, env, topic["kms_master_key_id"]) == platform_ref(synth, env, "aws_kms_key", "key/key", "arn")
    # The name carries the workspace (infra.naming) like every other name.
    assert synth.raw(f"{env}-api")["resource"]["aws_sns_topic"]["orders"]["name"] == "${local.name_prefix}-api-orders"


def test_the_container_gets_the_topic_arn_and_the_task_role_may_publish_to_exactly_it(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    definition = jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])[0]  # the service's own container is first, its sidecars follow
    environment = {item["name"]: item["value"] for item in definition["environment"]}
    arn = ref(stack, "aws_sns_topic", "topics/orders", "arn")
    assert environment["TOPIC_ORDERS_ARN"] == arn
    statements = task_statements(stack)
    assert statements["PublishOwnTopics"]["actions"] == ["sns:Publish"]
    assert statements["PublishOwnTopics"]["resources"] == [arn]
    # Publishing to a topic encrypted with a customer managed key uses the key on the caller's behalf.
    assert statements["TopicKey"]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert platform_value(synth, "dev", statements["TopicKey"]["resources"][0]) == platform_ref(
        synth, "dev", "aws_kms_key", "key/key", "arn"
    )
    # Nothing else of SNS: no wildcard, no subscribe or topic administration.
    sns = [a for s in statements.values() for a in s["actions"] if a.startswith("sns:")]
    assert sns == ["sns:Publish"]


def test_services_that_publish_nothing_have_no_topic_and_no_sns_permission(synth: Synth) -> None:
    for service in ("web", "worker"):
        stack = synth.stack(f"dev-{service}")
        assert not resources(stack, "aws_sns_topic")
        definition = jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])[0]  # the service's own container is first, its sidecars follow
        assert not [e for e in definition.get("environment", []) if e["name"].startswith("TOPIC_")]
        assert "sns:Publish" not in json.dumps(stack.get("data", {}))


def test_failed_deliveries_of_a_topic_raise_an_alarm_on_the_platform_topic(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    alarm = resources(stack, "aws_cloudwatch_metric_alarm")["orders_delivery_failed"]
    assert alarm["alarm_name"] == f"{TOPIC}-delivery-failed"
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/SNS", "NumberOfNotificationsFailed", "Sum")
    assert alarm["dimensions"] == {"TopicName": ref(stack, "aws_sns_topic", "topics/orders", "name")}
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)
    assert platform_value(synth, "dev", alarm["alarm_actions"][0]) == platform_ref(synth, "dev", "aws_sns_topic", "/topic", "arn")


# --- the subscriber -------------------------------------------------------------------------
def test_the_worker_subscribes_its_queue_to_the_topic_by_the_name_the_publisher_gives_it(synth: Synth) -> None:
    worker = synth.stack("dev-worker")
    subscription = only(worker, "aws_sns_topic_subscription")
    # No reference into the publisher's stack: the ARN from the naming rules, which name the
    # publisher's topic in the same workspace (both read local.name_prefix).
    assert subscription["topic_arn"] == topic_arn(only(synth.stack("dev-api"), "aws_sns_topic")["name"])
    assert synth.raw("dev-worker")["resource"]["aws_sns_topic_subscription"]["api_orders"]["topic_arn"].endswith(
        ":${local.name_prefix}-api-orders"
    )
    assert set(data_sources(worker, "terraform_remote_state")) == {"platform"}  # nothing read from dev-api
    assert subscription["protocol"] == "sqs"
    assert subscription["endpoint"] == ref(worker, "aws_sqs_queue", "queues/queue", "arn")
    assert jsondoc(subscription["filter_policy"]) == {"event": ["order.created"]}
    assert subscription["filter_policy_scope"] == "MessageAttributes"
    assert subscription["raw_message_delivery"] is True
    assert "depends_on" not in subscription  # the queue it names carries its policy


def test_the_queue_accepts_messages_from_sns_only_for_the_subscribed_topic(synth: Synth) -> None:
    worker = synth.stack("dev-worker")
    queues = resources(worker, "aws_sqs_queue")
    assert not resources(worker, "aws_sqs_queue_policy")  # the queue's own policy argument
    assert "policy" not in queues["dlq"]
    (statement,) = document(worker, queues["queue"]["policy"])["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
    assert statement["actions"] == ["sqs:SendMessage"]
    # The queue's own ARN, from its name (the queue takes the document, so no reference to itself).
    assert statement["resources"] == [
        f"arn:${{data.aws_partition.partition.partition}}:sqs:us-east-1:${{data.aws_caller_identity.account.account_id}}:{queues['queue']['name']}"
    ]
    assert statement["condition"] == [{"test": "ArnEquals", "variable": "aws:SourceArn", "values": [topic_arn(TOPIC)]}]
    assert statement.get("effect", "Allow") == "Allow"


def test_sns_may_use_the_key_of_the_topic_and_of_the_encrypted_queue(synth: Synth) -> None:
    """The topic and the queue share the platform key, whose policy lets the SNS service
    principal encrypt (publish) and deliver into the queue: without it SNS drops every message."""
    worker = synth.stack("dev-worker")
    queue = resources(worker, "aws_sqs_queue")["queue"]
    key_arn = platform_ref(synth, "dev", "aws_kms_key", "key/key", "arn")
    assert platform_value(synth, "dev", queue["kms_master_key_id"]) == key_arn
    key = only(synth.stack("dev-platform"), "aws_kms_key")
    statements = jsondoc(key["policy"])["Statement"]
    sns = [s for s in statements if "sns.amazonaws.com" in json.dumps(s.get("Principal", {}))]
    assert sns and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(sns[0]["Action"])
    assert "Condition" not in sns[0]


def test_the_subscriber_is_applied_after_the_publisher(synth: Synth) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert "dev-api" in manifest["stacks"]["dev-worker"]["dependencies"]
    assert "dev-worker" not in manifest["stacks"]["dev-api"]["dependencies"]


# --- other shapes, on a configuration of their own -----------------------------------------
SUBSCRIBER = {
    **WORKER,
    "subscribe": [
        {"topic": "api.orders", "filter": {"order": {"total": [{"numeric": [">", 0, "<=", 150]}]}}, "filter_scope": "body"},
        {"topic": "api.refunds", "raw_message_delivery": False},
    ],
}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infra.app import build_app

    tmp = tmp_path_factory.mktemp("events")
    project = Project(tmp).service("api", BACKEND, publish=["orders", "refunds"]).service("jobs", SUBSCRIBER)
    build_app(project.load(), outdir=str(tmp / "out"), services=["api", "jobs"], platform=False).synth()
    return {name: json.loads((tmp / "out" / "stacks" / name / "cdk.tf.json").read_text()) for name in ("dev-api", "dev-jobs")}


def test_each_published_topic_has_its_variable(shapes: dict[str, Any]) -> None:
    api = shapes["dev-api"]
    assert sorted(resources(api, "aws_sns_topic")) == ["orders", "refunds"]
    definition = jsondoc(only(api, "aws_ecs_task_definition")["container_definitions"])[0]  # the service's own container is first, its sidecars follow
    environment = {item["name"]: item["value"] for item in definition["environment"]}
    assert environment["TOPIC_ORDERS_ARN"] == "${aws_sns_topic.orders.arn}"
    assert environment["TOPIC_REFUNDS_ARN"] == "${aws_sns_topic.refunds.arn}"
    assert task_statements(api)["PublishOwnTopics"]["resources"] == ["${aws_sns_topic.orders.arn}", "${aws_sns_topic.refunds.arn}"]


def test_a_body_filter_keeps_its_nesting_and_a_subscription_without_a_filter_gets_every_message(shapes: dict[str, Any]) -> None:
    jobs = shapes["dev-jobs"]
    subscriptions = resources(jobs, "aws_sns_topic_subscription")
    assert sorted(subscriptions) == ["api_orders", "api_refunds"]
    orders, refunds = subscriptions["api_orders"], subscriptions["api_refunds"]
    assert jsondoc(orders["filter_policy"]) == {"order": {"total": [{"numeric": [">", 0, "<=", 150]}]}}
    assert orders["filter_policy_scope"] == "MessageBody"
    assert "filter_policy" not in refunds and "filter_policy_scope" not in refunds
    assert refunds["raw_message_delivery"] is False
    (statement,) = document(jobs, resources(jobs, "aws_sqs_queue")["queue"]["policy"])["statement"]
    names = ["${local.name_prefix}-api-orders", "${local.name_prefix}-api-refunds"]
    assert statement["condition"][0]["values"] == [topic_arn(name) for name in names]


# --- deploy order when the publisher also admits the subscriber -------------------------------
def test_a_publisher_that_admits_its_subscriber_is_not_made_its_dependency_and_the_loader_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = Project(tmp_path).service("api", BACKEND, publish=["orders"], allow_from=["worker"]).service(
        "worker", WORKER, subscribe=[{"topic": "api.orders"}]
    )
    app = project.load()
    # api's stack needs worker's security group (allow_from), so worker cannot wait for api.
    assert publisher_dependencies(app.services["dev"]) == {"api": (), "web": (), "worker": ()}
    (warning,) = app.warnings
    assert warning.startswith('services/worker/service.toml: subscribe[0].topic: "api.orders": api is applied after worker')
    assert "apply api, then worker again" in warning
    assert warning in capsys.readouterr().err


def test_without_allow_from_the_subscriber_waits_for_its_publisher(tmp_path: Path) -> None:
    project = Project(tmp_path).service("api", BACKEND, publish=["orders"]).service(
        "worker", WORKER, subscribe=[{"topic": "api.orders"}]
    )
    app = project.load()
    assert publisher_dependencies(app.services["dev"])["worker"] == ("api",)
    assert app.warnings == ()


def test_every_operator_sns_documents_is_accepted_as_written(tmp_path: Path) -> None:
    policy = {
        "event": ["order.created", {"prefix": "order."}, {"suffix": ".paid"}, {"equals-ignore-case": "ORDER.NEW"}],
        "store": [{"anything-but": ["test", "staging"]}],
        "region": [{"anything-but": {"prefix": "us-"}}],
        "total": [{"numeric": [">=", 0, "<", 1000.5]}, 7],
        "customer": {"tier": [{"exists": True}], "vip": [True], "source": [{"cidr": "10.0.0.0/8"}]},
    }
    project = Project(tmp_path).service("api", BACKEND, publish=["orders"]).service(
        "jobs", WORKER, subscribe=[{"topic": "api.orders", "filter": policy, "filter_scope": "body"}]
    )
    (subscription,) = next(s for s in project.load().services["dev"] if s.name == "jobs").subscribe
    assert (subscription.service, subscription.topic) == ("api", "orders")
    assert subscription.filter_policy == policy
    assert subscription.filter_scope == "MessageBody"
    assert subscription.raw_message_delivery is True
