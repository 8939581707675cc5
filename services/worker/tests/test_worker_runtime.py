"""Health server, signal handling and the real entry point (loopback only)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from worker_app.health import start_health_server
from worker_app.main import install_signal_handlers

SERVICE_DIR = Path(__file__).resolve().parents[1]


def test_health_endpoint():
    server = start_health_server(0, host="127.0.0.1")
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            assert resp.status == 200
            assert json.loads(resp.read()) == {"status": "ok", "service": "worker"}
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
        assert info.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_sigterm_sets_the_stop_event():
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    stop = threading.Event()
    try:
        install_signal_handlers(stop)
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_entry_point_processes_messages_and_exits_cleanly_on_sigterm(tmp_path):
    """``python -m worker_app`` against a local moto server via AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    moto_port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{moto_port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": endpoint,
            "PYTHONPATH": str(SERVICE_DIR),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        sqs = boto3.client(
            "sqs",
            region_name="eu-west-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"type": "resize", "id": "e2e"}))
        health_port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker_app"],
            env={
                **env,
                "QUEUE_URL": url,
                "WAIT_TIME_SECONDS": "1",
                "HEALTH_PORT": str(health_port),
            },
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            remaining = None
            while time.monotonic() < deadline:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                    ],
                )["Attributes"]
                remaining = sum(int(v) for v in attrs.values())
                if remaining == 0:
                    break
                time.sleep(0.2)
            assert remaining == 0, "worker did not delete the processed message"
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/health", timeout=5) as r:
                assert r.status == 200
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, out
        records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        messages = [r["message"] for r in records]
        assert "message processed" in messages
        assert "worker stopped" in messages
        assert all(r["service"] == "worker" for r in records)
    finally:
        server.stop()


def test_entry_point_fails_fast_with_clear_config_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QUEUE_URL"}
    env["PYTHONPATH"] = str(SERVICE_DIR)
    proc = subprocess.run(
        [sys.executable, "-m", "worker_app"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "QUEUE_URL" in proc.stdout
