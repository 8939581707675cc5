"""Static checks of the container contract (no Docker needed)."""

from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[1]


def test_dockerfile_contract():
    text = (SERVICE_DIR / "Dockerfile").read_text()
    assert "python:3.11." in text and "-slim-bookworm" in text
    assert "USER 10001:10001" in text
    assert "EXPOSE 8082" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    assert "--no-cache-dir" in text
    assert "http://127.0.0.1:8082/health" in text
    assert 'CMD ["python", "-m", "worker_app"]' in text


def test_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (SERVICE_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all("==" in line for line in lines)
    assert any(line.startswith("boto3==") for line in lines)
