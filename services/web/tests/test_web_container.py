"""Static checks of the container contract (no Docker needed)."""

import runpy
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[1]


def test_gunicorn_config_is_read_only_rootfs_friendly():
    cfg = runpy.run_path(str(SERVICE_DIR / "gunicorn.conf.py"))
    assert cfg["bind"] == "0.0.0.0:8080"
    assert cfg["worker_tmp_dir"] == "/tmp"
    assert cfg["control_socket_disable"] is True
    assert cfg["graceful_timeout"] < 30  # below ECS' default stopTimeout


def test_dockerfile_contract():
    text = (SERVICE_DIR / "Dockerfile").read_text()
    assert "python:3.11." in text and "-slim-bookworm" in text
    assert "USER 10001:10001" in text
    assert "EXPOSE 8080" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    assert "--no-cache-dir" in text
    assert "http://127.0.0.1:8080/health" in text
    assert '"--worker-tmp-dir", "/tmp"' in text
    assert "web_app:create_app()" in text


def test_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (SERVICE_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all("==" in line for line in lines)
