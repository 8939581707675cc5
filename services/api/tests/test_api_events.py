"""Order events: a created item is published to the orders topic (TOPIC_ORDERS_ARN)."""

import json

import pytest

from api_app import Config, ConfigError, InMemoryEventPublisher, InMemoryItemRepository, SnsEventPublisher, create_app, load_config

TOPIC = "arn:aws:sns:us-east-1:123456789012:dev-api-orders"
DB = {"DB_HOST": "db.internal", "DB_NAME": "app", "DB_SECRET": '{"username": "u", "password": "p"}'}


def test_a_created_item_publishes_an_order_created_event():
    events = InMemoryEventPublisher()
    client = create_app(repository=InMemoryItemRepository(), events=events).test_client()
    created = client.post("/items", json={"name": "widget"}).get_json()
    assert events.events == [("order.created", created)]


def test_an_item_is_created_even_when_its_event_cannot_be_published(capsys):
    client = create_app(repository=InMemoryItemRepository(), events=InMemoryEventPublisher(fail=True)).test_client()
    resp = client.post("/items", json={"name": "widget"})
    assert resp.status_code == 201
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    (error,) = [line for line in lines if line["message"] == "order event not published"]
    assert error["level"] == "ERROR" and error["item_id"] == resp.get_json()["id"]


def test_a_refused_item_publishes_nothing():
    events = InMemoryEventPublisher()
    client = create_app(repository=InMemoryItemRepository(), events=events).test_client()
    assert client.post("/items", json={"name": ""}).status_code == 400
    assert events.events == []


def test_the_topic_comes_from_topic_orders_arn():
    assert load_config({**DB, "TOPIC_ORDERS_ARN": TOPIC}).orders_topic_arn == TOPIC
    assert load_config(DB).orders_topic_arn is None
    with pytest.raises(ConfigError, match="TOPIC_ORDERS_ARN must be an SNS topic ARN"):
        load_config({**DB, "TOPIC_ORDERS_ARN": "dev-api-orders"})


def test_with_a_topic_configured_the_app_publishes_to_it():
    class Recorder:
        def __init__(self):
            self.calls = []

        def publish(self, **kwargs):
            self.calls.append(kwargs)
            return {"MessageId": "m-1"}

    sns = Recorder()
    config = Config(db_host="h", db_name="app", orders_topic_arn=TOPIC)
    client = create_app(config, repository=InMemoryItemRepository(), events=SnsEventPublisher(TOPIC, client=sns)).test_client()
    created = client.post("/items", json={"name": "widget"}).get_json()
    (call,) = sns.calls
    assert call["TopicArn"] == TOPIC
    assert json.loads(call["Message"]) == {"type": "order.created", **created}
    assert call["MessageAttributes"] == {"event": {"DataType": "String", "StringValue": "order.created"}}


def test_a_subscribed_queue_with_the_workers_filter_gets_the_event_as_published(monkeypatch):
    """SNS (moto) delivers to a queue subscribed as the worker's manifest asks: raw delivery and
    filter = { event = ["order.created"] }; an event of another type is filtered out."""
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        import boto3

        sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="dev-api-orders")["TopicArn"]
        queue = sqs.create_queue(QueueName="dev-worker")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"event": ["order.created"]})},
        )
        publisher = SnsEventPublisher(topic)
        publisher.publish("order.created", {"id": 1, "name": "widget", "created_at": "2026-01-01T00:00:00Z"})
        publisher.publish("order.cancelled", {"id": 1})
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        assert [json.loads(m["Body"]) for m in messages] == [
            {"type": "order.created", "id": 1, "name": "widget", "created_at": "2026-01-01T00:00:00Z"}
        ]
