"""__NAME__'s own tests: run by the pipeline's build before the image is built, and by `make test`."""

import json
import logging

from __PKG__ import JsonFormatter, create_app


def client():
    return create_app().test_client()


def test_health_answers_ok():
    response = client().get("__HEALTH__")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_the_root_and_the_routed_prefix_answer():
    for path in ("/", "/__NAME__", "/__NAME__/"):
        response = client().get(path)
        assert response.status_code == 200, path
        assert response.get_json()["service"] == "__NAME__"


def test_an_unknown_path_is_404():
    assert client().get("/no-such-page").status_code == 404


def test_logs_are_one_json_object_per_line():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "started", None, None)
    assert json.loads(JsonFormatter().format(record)) == {"level": "INFO", "service": "__NAME__", "message": "started"}
