"""Static checks of the container contract (no Docker needed)."""

from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[1]


def test_dockerfile_contract():
    text = (SERVICE_DIR / "Dockerfile").read_text()
    # A slim Debian base: it has `sh` and `sleep`, which the platform's deadline container runs.
    assert "python:3.11." in text and "-slim-bookworm" in text
    assert "USER 10001:10001" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    assert '["python", "-m", "cleanup_app"]' in text
    # A job accepts no connections and has nothing to probe.
    assert "EXPOSE" not in text and "HEALTHCHECK" not in text


def test_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (SERVICE_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all("==" in line for line in lines)
