"""`${service.<name>.url}` in a manifest's [environment]: resolved per environment, refused
when the service does not exist or could not be reached (issue #13 (14))."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError
from tests.config_builder import Project

WEB = 'kind = "web"\nport = 8080\ncpu = 256\nmemory = 512\n[routes]\npaths = ["/*"]\n[environment]\nAPI_URL = "{value}"\n'
API = 'kind = "backend"\nport = 8081\ncpu = 256\nmemory = 512\nallow_from = ["web"]\n'
WORKER = 'kind = "worker"\nport = 8082\ncpu = 256\nmemory = 512\n'


def project(tmp_path: Path, **services: str) -> Project:
    built = Project(tmp_path).without_service("web")
    for name, text in services.items():
        built.manifest(name, text)
    return built


def test_a_reference_resolves_to_the_service_of_each_environment(tmp_path: Path) -> None:
    app = project(tmp_path, web=WEB.format(value="${service.api.url}/v1"), api=API).env("staging", namespace="stage.local").load()
    urls = {env: dict(next(s for s in app.services[env] if s.name == "web").environment) for env in ("dev", "staging")}
    assert urls == {"dev": {"API_URL": "http://api.dev.internal:8081/v1"}, "staging": {"API_URL": "http://api.stage.local:8081/v1"}}


@pytest.mark.parametrize(
    "value, services, message",
    [
        ("${service.shop.url}", {"api": API}, "refers to service 'shop', which does not exist (known: api, web)"),
        ("${service.api.arn}", {"api": API}, "a service offers only .url"),
        ("${service.api.url}", {"api": API.replace('allow_from = ["web"]\n', "")}, "whose allow_from does not list 'web'"),
        ("${service.jobs.url}", {"jobs": WORKER}, "a worker service, which accepts no connections"),
        ("${var.api}", {"api": API}, "the only reference allowed is ${service.<name>.url}"),
        ("%{ if true }x%{ endif }", {"api": API}, "the only reference allowed is ${service.<name>.url}"),
    ],
    ids=["unknown-service", "unknown-attribute", "not-allowed", "worker", "terraform-interpolation", "terraform-directive"],
)
def test_fails_when_a_reference_names_no_reachable_service(tmp_path: Path, value: str, services: dict[str, str], message: str) -> None:
    built = project(tmp_path, web=WEB.format(value=value), **services)
    with pytest.raises(ConfigError) as info:
        built.load()
    assert str(info.value).startswith("services/web/service.toml: environment.API_URL: "), str(info.value)
    assert message in str(info.value)


def test_a_reference_to_a_web_service_is_refused(tmp_path: Path) -> None:
    other = WEB.format(value="x").replace('paths = ["/*"]', 'paths = ["/shop/*"]')
    built = project(tmp_path, web=WEB.format(value="${service.shop.url}"), shop=other)
    with pytest.raises(ConfigError, match="a web service, which is reached through the load balancer"):
        built.load()
