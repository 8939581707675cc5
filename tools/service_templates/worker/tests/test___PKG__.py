"""__NAME__'s own tests: run by the pipeline's build before the image is built, and by `make test`."""

import json
import urllib.request

import pytest

from __PKG__ import consume_once, main, serve_health


class FakeSqs:
    def __init__(self, bodies):
        self.messages = [{"MessageId": str(i), "ReceiptHandle": f"r{i}", "Body": body} for i, body in enumerate(bodies)]
        self.deleted = []

    def receive_message(self, **kwargs):
        assert kwargs["WaitTimeSeconds"] == 20  # long polling
        return {"Messages": self.messages}

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append(ReceiptHandle)


URL = "https://sqs.us-east-1.amazonaws.com/123456789012/dev-__NAME__"


def test_handled_messages_are_deleted():
    sqs = FakeSqs([json.dumps({"id": 1}), json.dumps({"id": 2})])
    seen = []
    assert consume_once(sqs, URL, seen.append) == 2
    assert seen == [{"id": 1}, {"id": 2}] and sqs.deleted == ["r0", "r1"]


def test_a_failed_message_stays_for_a_retry():
    def fail_on_two(body):
        if body["id"] == 2:
            raise ValueError("boom")

    sqs = FakeSqs([json.dumps({"id": 1}), json.dumps({"id": 2})])
    assert consume_once(sqs, URL, fail_on_two) == 1
    assert sqs.deleted == ["r0"]


def test_a_message_that_is_not_json_stays_too():
    sqs = FakeSqs(["not json"])
    assert consume_once(sqs, URL, lambda body: None) == 0 and sqs.deleted == []


def test_it_refuses_to_start_without_a_queue_url():
    assert main({"QUEUE_URL": "nope"}) == 2


def test_health_answers_ok():
    server = serve_health(0)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}__HEALTH__", timeout=3) as response:
            assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}
    finally:
        server.shutdown()
        server.server_close()
