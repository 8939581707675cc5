"""Worker loop against SQS mocked in-process by moto (no network, no Docker)."""

import json
import threading

import boto3
import pytest
from moto import mock_aws

from worker_app import Worker

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def make_queue(sqs, name="jobs", visibility_timeout=30, dlq_max_receive_count=None):
    attrs = {"VisibilityTimeout": str(visibility_timeout)}
    dlq_url = None
    if dlq_max_receive_count:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attrs["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(dlq_max_receive_count)}
        )
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return url, dlq_url


def counts(sqs, url):
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def send(sqs, url, body):
    sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))


def test_good_message_is_deleted(sqs):
    url, _ = make_queue(sqs)
    send(sqs, url, {"type": "resize", "id": "img-1", "width": 64, "height": 64})
    result = Worker(sqs, url, wait_time_seconds=0).poll_once()
    assert (result.received, result.succeeded, result.failed) == (1, 1, 0)
    assert counts(sqs, url) == (0, 0)


def test_bad_message_is_not_deleted(sqs):
    url, _ = make_queue(sqs, visibility_timeout=30)
    send(sqs, url, {"type": "resize", "id": "ok-1"})
    send(sqs, url, "this is not json")
    send(sqs, url, {"type": "resize"})  # missing id
    result = Worker(sqs, url, wait_time_seconds=0).poll_once()
    assert (result.received, result.succeeded, result.failed) == (3, 1, 2)
    # The two failures are still on the queue (in flight until the visibility
    # timeout expires); only the good one was deleted.
    assert counts(sqs, url) == (0, 2)


def test_bad_message_is_redelivered_then_dead_lettered(sqs):
    url, dlq_url = make_queue(sqs, visibility_timeout=0, dlq_max_receive_count=2)
    send(sqs, url, {"type": "unknown-type"})
    worker = Worker(sqs, url, wait_time_seconds=0)
    assert worker.poll_once().failed == 1  # receive 1
    assert worker.poll_once().failed == 1  # receive 2 (redelivered)
    assert worker.poll_once().received == 0  # now moved to the DLQ
    body = sqs.receive_message(QueueUrl=dlq_url)["Messages"][0]["Body"]
    assert json.loads(body) == {"type": "unknown-type"}


def test_receive_uses_long_polling_batches_of_ten_by_default():
    calls = []

    class RecordingSqs:
        def receive_message(self, **kwargs):
            calls.append(kwargs)
            return {}

    Worker(RecordingSqs(), "https://sqs.eu-west-1.amazonaws.com/1/jobs").poll_once()
    assert calls[0]["WaitTimeSeconds"] == 20
    assert calls[0]["MaxNumberOfMessages"] == 10


def test_batches_larger_than_ten_take_several_polls(sqs):
    url, _ = make_queue(sqs)
    for i in range(15):
        send(sqs, url, {"type": "resize", "id": i})
    worker = Worker(sqs, url, wait_time_seconds=0)
    total = 0
    for _ in range(5):
        result = worker.poll_once()
        assert result.received <= 10
        total += result.succeeded
    assert total == 15
    assert counts(sqs, url) == (0, 0)


def test_loop_stops_on_stop_event(sqs):
    url, _ = make_queue(sqs)
    stop = threading.Event()
    worker = Worker(sqs, url, wait_time_seconds=1)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    send(sqs, url, {"type": "ping"})
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_stop_during_a_batch_finishes_and_deletes_the_whole_batch(sqs):
    url, _ = make_queue(sqs)
    for i in range(3):
        send(sqs, url, {"type": "resize", "id": i})
    stop = threading.Event()
    seen = []

    def processor(body):
        seen.append(json.loads(body)["id"])
        stop.set()  # e.g. SIGTERM arrives while the first message is processed

    Worker(sqs, url, wait_time_seconds=0, processor=processor).run(stop)
    assert sorted(seen) == [0, 1, 2]
    assert counts(sqs, url) == (0, 0)


def test_sqs_errors_back_off_instead_of_crashing(sqs):
    stop = threading.Event()
    missing = f"https://sqs.{REGION}.amazonaws.com/123456789012/does-not-exist"

    worker = Worker(sqs, missing, wait_time_seconds=0, error_backoff_seconds=0.01)
    original = worker.poll_once
    attempts = []

    def poll_once():
        attempts.append(1)
        if len(attempts) == 2:
            stop.set()
        return original()

    worker.poll_once = poll_once
    worker.run(stop)  # returns instead of raising QueueDoesNotExist
    assert len(attempts) == 2
