import json
import logging
import urllib.error

import pytest

from web_app import Config, ConfigError, create_app, load_config
from web_app.upstream import ApiClient, UpstreamError


class FakeApi:
    """Stands in for ApiClient; records calls, answers or fails on demand."""

    def __init__(self, greeting=None, error=None):
        self._greeting = greeting or {"message": "Hello from api"}
        self._error = error
        self.calls = []

    def greeting(self, headers=None):
        self.calls.append(("greeting", headers))
        if self._error:
            raise self._error
        return self._greeting

    def get_json(self, path, headers=None):
        self.calls.append(("get_json", path))
        if self._error:
            raise self._error
        return {"status": "ok"}


CONFIG = Config(api_url="http://api.test.internal:8081", api_timeout_seconds=0.5)


def make_client(api):
    return create_app(CONFIG, api_client=api).test_client()


def test_health_is_ok_even_when_api_is_down():
    client = make_client(FakeApi(error=UpstreamError("down")))
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "service": "web"}


def test_ready_reflects_api_availability():
    assert make_client(FakeApi()).get("/ready").status_code == 200
    resp = make_client(FakeApi(error=UpstreamError("down"))).get("/ready")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "unavailable"


def test_index_serves_html():
    resp = make_client(FakeApi()).get("/")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    assert b"<h1>" in resp.data


def test_greeting_passes_through_api_message_and_trace_header():
    api = FakeApi(greeting={"message": "Hi there"})
    resp = make_client(api).get("/api/greeting", headers={"X-Amzn-Trace-Id": "Root=1-abc"})
    assert resp.status_code == 200
    assert resp.get_json() == {"message": "Hi there", "source": "api"}
    assert api.calls == [("greeting", {"X-Amzn-Trace-Id": "Root=1-abc"})]


def test_greeting_returns_502_json_when_api_unreachable():
    api = FakeApi(error=UpstreamError("api service at http://x/greeting is unreachable: refused"))
    resp = make_client(api).get("/api/greeting")
    assert resp.status_code == 502
    body = resp.get_json()
    assert body["error"] == "bad_gateway"
    assert "unreachable" in body["message"]


def test_unknown_route_is_json_404():
    resp = make_client(FakeApi()).get("/nope")
    assert resp.status_code == 404
    assert resp.get_json()["error"] == "not_found"


def test_one_json_log_line_per_request(capsys):
    client = make_client(FakeApi())
    capsys.readouterr()
    client.get("/health")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["service"] == "web"
    assert record["path"] == "/health"
    assert record["status"] == 200
    assert record["method"] == "GET"


# --- ApiClient against a mocked urlopen (no network) ---------------------------


class _FakeResponse:
    def __init__(self, body: bytes):
        self._body = body

    def read(self):
        return self._body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_api_client_uses_timeout_and_parses_json(monkeypatch):
    seen = {}

    def fake_urlopen(req, timeout):
        seen["url"] = req.full_url
        seen["timeout"] = timeout
        return _FakeResponse(b'{"message": "hello"}')

    monkeypatch.setattr("web_app.upstream.urllib.request.urlopen", fake_urlopen)
    client = ApiClient("http://api.test.internal:8081/", timeout_seconds=1.5)
    assert client.greeting() == {"message": "hello"}
    assert seen == {"url": "http://api.test.internal:8081/greeting", "timeout": 1.5}


@pytest.mark.parametrize(
    "exc",
    [
        urllib.error.URLError("Name or service not known"),
        TimeoutError("timed out"),
        ConnectionRefusedError("refused"),
    ],
)
def test_api_client_maps_network_errors(monkeypatch, exc):
    def fake_urlopen(req, timeout):
        raise exc

    monkeypatch.setattr("web_app.upstream.urllib.request.urlopen", fake_urlopen)
    with pytest.raises(UpstreamError, match="unreachable"):
        ApiClient("http://api.test.internal:8081", 1).greeting()


def test_api_client_maps_bad_payload(monkeypatch):
    monkeypatch.setattr(
        "web_app.upstream.urllib.request.urlopen", lambda req, timeout: _FakeResponse(b"<html>")
    )
    with pytest.raises(UpstreamError, match="invalid JSON"):
        ApiClient("http://api.test.internal:8081", 1).greeting()


def test_end_to_end_502_with_real_client_and_refused_connection(monkeypatch):
    def refused(req, timeout):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("web_app.upstream.urllib.request.urlopen", refused)
    app = create_app(CONFIG)
    resp = app.test_client().get("/api/greeting")
    assert resp.status_code == 502
    assert "api.test.internal:8081" in resp.get_json()["message"]


# --- configuration -------------------------------------------------------------


def test_config_requires_api_url():
    with pytest.raises(ConfigError, match="API_URL"):
        load_config({})


def test_config_rejects_non_http_api_url():
    with pytest.raises(ConfigError, match="API_URL"):
        load_config({"API_URL": "api.dev.internal:8081"})


def test_config_rejects_bad_timeout():
    with pytest.raises(ConfigError, match="API_TIMEOUT_SECONDS"):
        load_config({"API_URL": "http://api:8081", "API_TIMEOUT_SECONDS": "soon"})


def test_config_defaults():
    cfg = load_config({"API_URL": "http://api.dev.internal:8081/"})
    assert cfg == Config(api_url="http://api.dev.internal:8081", api_timeout_seconds=2.0)


def test_create_app_reads_environment(monkeypatch):
    monkeypatch.delenv("API_URL", raising=False)
    with pytest.raises(ConfigError, match="API_URL"):
        create_app()
    monkeypatch.setenv("API_URL", "http://api.dev.internal:8081")
    assert create_app().test_client().get("/health").status_code == 200


@pytest.fixture(autouse=True)
def _restore_root_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
