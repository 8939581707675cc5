import json

import pytest

from worker_app import ConfigError, InvalidMessage, load_config, process_message

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"


def test_resize_message():
    assert process_message(json.dumps({"type": "resize", "id": 7})) == {
        "id": "7",
        "width": 256,
        "height": 256,
    }


def test_order_created_event_from_the_api_topic():
    # As the api publishes it (api_app.events) and SNS delivers it raw.
    body = json.dumps({"type": "order.created", "id": 12, "name": "widget", "created_at": "2026-01-01T00:00:00Z"})
    assert process_message(body) == {"id": "12", "status": "accepted"}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"id": 1}', "unknown message type"),
        ('{"type": "explode", "id": 1}', "unknown message type"),
        ('{"type": "resize"}', "'id'"),
        ('{"type": "resize", "id": true}', "'id'"),
        ('{"type": "resize", "id": 1, "width": 0}', "'width'"),
        ('{"type": "order.created"}', "'id'"),
    ],
)
def test_invalid_messages(body, fragment):
    with pytest.raises(InvalidMessage, match=fragment):
        process_message(body)


def test_config_defaults_and_region_from_queue_url():
    cfg = load_config({"QUEUE_URL": QUEUE})
    assert cfg.region == "eu-west-1"
    assert (cfg.wait_time_seconds, cfg.max_messages, cfg.health_port) == (20, 10, 8082)
    assert cfg.visibility_timeout_seconds is None


def test_config_region_env_wins():
    assert load_config({"QUEUE_URL": QUEUE, "AWS_REGION": "us-east-1"}).region == "us-east-1"


def test_config_requires_queue_url():
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        load_config({})


def test_config_rejects_non_url_queue():
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        load_config({"QUEUE_URL": "jobs"})


@pytest.mark.parametrize(
    "name, value",
    [("WAIT_TIME_SECONDS", "21"), ("MAX_MESSAGES", "11"), ("MAX_MESSAGES", "ten"), ("HEALTH_PORT", "-1")],
)
def test_config_rejects_out_of_range_numbers(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({"QUEUE_URL": QUEUE, name: value})
