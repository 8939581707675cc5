"""Custom domains (`[routes] hosts`, `hosted_zone_id`) and Service Connect (`connect`), on the
synthesized JSON of the tests' configuration: prod's web answers shop.example.com; api serves
Service Connect (tests/fixtures/app). web has no `connect` (its prod deployment is blue/green,
which Service Connect does not support) and calls api by its Cloud Map DNS name; a Service
Connect client is built here in a small configuration of its own. The emulator applies the
domain in tests/test_domains_moto.py and Service Connect in tests/test_e2e.py (the samples)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_app
from tests.config_builder import BACKEND, WORKER, Project
from tests.conftest import REMOTE, Synth, data_sources, env_of, jsondoc, only, platform_value, ref, resources
from tests.test_iam import arn, document, statements_by_sid

HOST = "shop.example.com"
ZONE = "Z04817392KQ1F8XEXAMPLE"


def _remote(value: str) -> str:
    """The contract output a value reads from the platform's remote state."""
    match = REMOTE.match(value)
    assert match, f"{value!r} is not read from the platform's contract"
    return match.group(1)


# --- custom domains ---------------------------------------------------------------------------
def test_the_certificate_covers_the_hosts_and_is_validated_by_dns(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    (address, certificate), = resources(stack, "aws_acm_certificate").items()
    assert address == "web"
    assert certificate["domain_name"] == HOST and "subject_alternative_names" not in certificate
    assert certificate["validation_method"] == "DNS"
    # A change of hosts replaces it: the new one is in the listener before the old one goes.
    assert certificate["lifecycle"] == {"create_before_destroy": True}
    assert certificate["options"] == {"certificate_transparency_logging_preference": "ENABLED"}
    assert certificate["tags"] == {"Name": "prod-web"}


def test_a_validation_record_per_host_in_the_zone_with_acms_name_and_value(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    record = resources(stack, "aws_route53_record")["web_validation"]
    # Keyed by host, known at synthesis (not by the certificate's set, unknown until it exists).
    assert record["for_each"] == f'${{toset(["{HOST}"])}}'
    assert record["zone_id"] == ref(stack, "aws_route53_zone", "domain/zone", "zone_id", data=True)
    for attribute, value in (("name", record["name"]), ("type", record["type"]), ("records", record["records"][0])):
        assert value == (
            "${{ for o in aws_acm_certificate.web.domain_validation_options : o.domain_name => o.resource_record_"
            f"{'value' if attribute == 'records' else attribute} }}[\"${{each.key}}\"]}}"
        )
    assert record["ttl"] == 60 and record["allow_overwrite"] is True


def test_the_listener_gets_the_issued_certificate(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    validation = only(stack, "aws_acm_certificate_validation")
    assert validation["certificate_arn"] == "${aws_acm_certificate.web.arn}"
    assert validation["validation_record_fqdns"] == "${[ for key, val in aws_route53_record.web_validation: val.fqdn]}"
    attached = only(stack, "aws_lb_listener_certificate")
    assert attached["certificate_arn"] == "${aws_acm_certificate_validation.web.certificate_arn}"
    assert _remote(attached["listener_arn"]) == "listener_arn"
    # The platform's listener_arn is its HTTPS listener (prod has a certificate).
    assert platform_value(synth, "prod", attached["listener_arn"]) == ref(synth.stack("prod-platform"), "aws_lb_listener", "alb/https", "arn")


def test_each_host_gets_an_alias_a_record_to_the_load_balancer_after_the_certificate(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    alias = resources(stack, "aws_route53_record")["web"]
    assert alias["for_each"] == f'${{toset(["{HOST}"])}}' and alias["name"] == "${each.value}"
    assert alias["type"] == "A"
    assert {k: _remote(v) if isinstance(v, str) else v for k, v in alias["alias"].items()} == {
        "name": "alb_dns_name",
        "zone_id": "alb_zone_id",
        "evaluate_target_health": True,
    }
    assert alias["depends_on"] == ["aws_lb_listener_certificate.web"]
    # A record that already answers elsewhere is not taken over.
    assert "allow_overwrite" not in alias
    # IPv4 load balancer: no AAAA.
    assert set(resources(stack, "aws_route53_record")) == {"web", "web_validation"}


def test_the_zone_is_checked_at_plan_time(synth: Synth) -> None:
    zone = data_sources(synth.stack("prod-web"), "aws_route53_zone")["web"]
    assert zone["zone_id"] == ZONE
    private, inside = zone["lifecycle"]["postcondition"]
    assert private["condition"] == "${!self.private_zone}"
    assert inside["condition"] == (
        f'${{alltrue([for h in ["{HOST}"] : h == trimsuffix(self.name, ".") || endswith(h, ".${{trimsuffix(self.name, ".")}}")])}}'
    )
    assert "services/web/service.toml" in inside["error_message"] and ZONE in inside["error_message"]


def test_the_rule_matches_the_host_and_the_url_is_the_host(synth: Synth) -> None:
    # prod's web is blue/green: its rule on the test listener has the same conditions.
    rules = resources(synth.stack("prod-web"), "aws_lb_listener_rule")
    assert set(rules) == {"web", "web_test"}
    for rule in rules.values():
        conditions = {key: value for condition in rule["condition"] for key, value in condition.items()}
        assert conditions == {"path_pattern": {"values": ["/*"]}, "host_header": {"values": [HOST]}}
    assert synth.stack("prod-web")["output"]["url"]["value"] == f"https://{HOST}/"


def test_an_environment_without_hosts_gets_no_domain(synth: Synth) -> None:
    stack = synth.stack("dev-web")
    for type_ in ("aws_acm_certificate", "aws_acm_certificate_validation", "aws_lb_listener_certificate", "aws_route53_record"):
        assert not resources(stack, type_), type_
    assert not data_sources(stack, "aws_route53_zone")
    assert "host_header" not in str(only(stack, "aws_lb_listener_rule")["condition"])


@pytest.fixture(scope="module")
def dualstack(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Two hosts on a dualstack load balancer (the spec's address type; the platform has no key for it yet)."""
    from infra.app import build_app

    project = Project(tmp_path_factory.mktemp("dualstack"))
    project.env(hosted_zone_id="Z0123456789ABCDEFGHIJ", load_balancer={"certificate_arn": env_of("dev").load_balancer.certificate_arn})
    project.service("web", routes={"paths": ["/*"], "hosts": ["shop.example.com", "www.shop.example.com"]})
    app = project.load()
    (env,) = app.environments
    env = dataclasses.replace(env, load_balancer=dataclasses.replace(env.load_balancer, ip_address_type="dualstack"))
    app = dataclasses.replace(app, environments=(env,), services={env.name: app.services[env.name]})
    outdir = tmp_path_factory.mktemp("dualstack-out") / "cdktf.out"
    build_app(app, outdir=str(outdir), services=["web"], platform=False).synth()
    return Synth(outdir)


def test_more_hosts_are_subject_alternative_names_and_a_dualstack_load_balancer_gets_aaaa(dualstack: Synth) -> None:
    stack = dualstack.stack("dev-web")
    certificate = only(stack, "aws_acm_certificate")
    assert certificate["domain_name"] == "shop.example.com"
    assert certificate["subject_alternative_names"] == ["www.shop.example.com"]
    records = resources(stack, "aws_route53_record")
    assert set(records) == {"web", "web_ipv6", "web_validation"}
    assert records["web_ipv6"]["type"] == "AAAA" and records["web_ipv6"]["alias"] == records["web"]["alias"]
    assert records["web_ipv6"]["for_each"] == records["web"]["for_each"] == '${toset(["shop.example.com", "www.shop.example.com"])}'


# --- Service Connect --------------------------------------------------------------------------
def _service(synth: Synth, stack: str) -> dict[str, Any]:
    return only(synth.stack(stack), "aws_ecs_service")


def _container(synth: Synth, stack: str) -> dict[str, Any]:
    container = jsondoc(only(synth.stack(stack), "aws_ecs_task_definition")["container_definitions"])[0]  # the service's own container is first, its sidecars follow
    return container


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_connect_backend_serves_its_named_port_under_its_short_name(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-api")
    config = _service(synth, f"{env}-api")["service_connect_configuration"]
    assert config["enabled"] is True
    assert _remote(config["namespace"]) == "namespace_arn"
    assert config["service"] == [
        {"port_name": "api", "discovery_name": "api_connect", "client_alias": {"dns_name": "api", "port": 8081}}
    ]
    assert config["log_configuration"] == {
        "log_driver": "awslogs",
        "options": {
            "awslogs-group": ref(stack, "aws_cloudwatch_log_group", "service/logs", "name"),
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "service-connect",
        },
    }
    assert _container(synth, f"{env}-api")["portMappings"] == [
        {"containerPort": 8081, "protocol": "tcp", "name": "api", "appProtocol": "http"}
    ]
    # Beside its Cloud Map DNS name, which stays.
    assert _service(synth, f"{env}-api")["service_registries"]["registry_arn"] == ref(stack, "aws_service_discovery_service", "discovery", "arn")


@pytest.fixture(scope="module")
def connect_client(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A web service with `connect = true` (rolling) calling a Service Connect backend: its
    synthesized stack, built once for the module."""
    from infra.app import build_app

    tmp = tmp_path_factory.mktemp("connect-client")
    project = Project(tmp)
    project.service("api", BACKEND, connect=True, allow_from=["web"])
    project.service("web", connect=True, environment={"API_URL": "${service.api.url}"})
    build_app(project.load(), outdir=str(tmp / "out"), services=["web"], platform=False).synth()
    return json.loads((tmp / "out" / "stacks" / "dev-web" / "cdk.tf.json").read_text())


def test_a_connect_client_publishes_nothing_and_calls_the_short_name(connect_client: dict[str, Any]) -> None:
    config = only(connect_client, "aws_ecs_service")["service_connect_configuration"]
    assert "service" not in config
    assert config["enabled"] is True and _remote(config["namespace"]) == "namespace_arn"
    (container,) = jsondoc(only(connect_client, "aws_ecs_task_definition")["container_definitions"])
    assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert {"name": "API_URL", "value": "http://api:8081"} in container["environment"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_caller_without_connect_calls_a_connect_backend_by_its_cloud_map_name(synth: Synth, env: str) -> None:
    """The fixture's web has no Service Connect (blue/green in prod): its API_URL is api's DNS
    name in the namespace, which api keeps beside Service Connect (its service_registries)."""
    assert "service_connect_configuration" not in _service(synth, f"{env}-web")
    assert {"name": "API_URL", "value": f"http://api.{env}.internal:8081"} in _container(synth, f"{env}-web")["environment"]
    api = synth.stack(f"{env}-api")
    assert _service(synth, f"{env}-api")["service_registries"]["registry_arn"] == ref(api, "aws_service_discovery_service", "discovery", "arn")


def test_a_service_without_connect_has_no_service_connect(synth: Synth) -> None:
    assert "service_connect_configuration" not in _service(synth, "dev-worker")
    assert "name" not in _container(synth, "dev-worker")["portMappings"][0]


def test_the_service_connect_log_group_is_one_the_execution_role_writes(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    group = _service(synth, "dev-api")["service_connect_configuration"]["log_configuration"]["options"]["awslogs-group"]
    statements = statements_by_sid(document(stack, "/iam/exec-policy-document"))
    assert statements["WriteOwnLogs"]["resources"] == [arn("logs", f"log-group:{group}:*")]


def test_connect_urls_per_caller(tmp_path: Path) -> None:
    """A backend with connect is http://<name>:<port> for a caller with connect; for a caller
    without (no proxy in its tasks to answer the short name), and for a backend without
    connect, its Cloud Map name."""
    project = Project(tmp_path).without_service("web")
    project.service("api", BACKEND, connect=True, allow_from=["jobs", "reports"])
    project.service("db-proxy", BACKEND, port=8090, allow_from=["jobs"])
    project.service("jobs", WORKER, connect=True, environment={"API": "${service.api.url}", "PROXY": "${service.db-proxy.url}"})
    project.service("reports", WORKER, port=8083, environment={"API": "${service.api.url}"})
    (env,) = load_app(project.write()).environments
    services = {s.name: s for s in load_app(project.root).services["dev"]}
    assert services["jobs"].environment == {"API": "http://api:8081", "PROXY": "http://db-proxy.dev.internal:8090"}
    assert services["reports"].environment == {"API": "http://api.dev.internal:8081"}
    assert env.hosted_zone_id is None


# --- workspaces: a copy answers <workspace>.<host> ----------------------------------------------
def test_in_another_workspace_every_dns_name_carries_the_workspace_as_its_first_label(synth: Synth) -> None:
    raw = synth.raw("prod-web")
    assert raw["locals"]["host_prefix"] == '${terraform.workspace == "default" ? "" : "${local.workspace}."}'
    certificate = only(raw, "aws_acm_certificate")
    assert certificate["domain_name"] == "${local.host_prefix}shop.example.com"
    records = resources(raw, "aws_route53_record")
    assert records["web"]["name"] == "${local.host_prefix}${each.value}"
    assert '["${local.host_prefix}${each.key}"]' in records["web_validation"]["name"]
    for rule in resources(raw, "aws_lb_listener_rule").values():  # production and test listener (blue/green)
        assert {"host_header": {"values": ["${local.host_prefix}shop.example.com"]}} in rule["condition"]
    assert raw["output"]["url"]["value"] == "https://${local.host_prefix}shop.example.com/"
    # A stack without a domain declares no such local.
    assert "host_prefix" not in synth.raw("prod-api")["locals"]


def test_the_certificate_name_counts_towards_the_longest_workspace(tmp_path: Path) -> None:
    """A 60-character first host leaves room for a 3-character workspace (64 in all)."""
    from infra.app import build_app

    host = f"{'a' * 48}.example.com"
    project = Project(tmp_path).env(hosted_zone_id="Z0123456789ABCDEFGHIJ", load_balancer={"certificate_arn": env_of("dev").load_balancer.certificate_arn})
    project.service("web", routes={"paths": ["/*"], "hosts": [host]})
    build_app(project.load(), outdir=str(tmp_path / "out"), services=["web"], platform=False).synth()
    workspace = json.loads((tmp_path / "out" / "stacks" / "dev-web" / "cdk.tf.json").read_text())["locals"]["workspace"]
    assert "length(terraform.workspace) <= 3 " in workspace
    assert f"(its certificate domain name <workspace>.{host} may have at most 64 characters)" in workspace


@pytest.mark.terraform
def test_terraform_names_the_hosts_of_each_workspace(synth: Synth, terraform_env: dict[str, str], tmp_path: Path) -> None:
    """The locals alone, as Terraform evaluates them (no provider)."""
    work = tmp_path / "locals"
    work.mkdir()
    (work / "main.tf.json").write_text(json.dumps({
        "locals": synth.raw("prod-web")["locals"], "output": {"host": {"value": "${local.host_prefix}shop.example.com"}},
    }))
    run = lambda args, workspace: subprocess.run(  # noqa: E731
        ["terraform", *args, "-no-color"], cwd=work, env=dict(terraform_env, TF_WORKSPACE=workspace), capture_output=True, text=True, timeout=300
    )
    assert run(["init", "-input=false"], "default").returncode == 0
    for workspace, host in (("default", "shop.example.com"), ("pr-42", "pr-42.shop.example.com")):
        applied = run(["apply", "-auto-approve", "-input=false"], workspace)
        assert applied.returncode == 0, applied.stderr
        assert run(["output", "-raw", "host"], workspace).stdout == host
