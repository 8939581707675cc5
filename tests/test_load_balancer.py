"""The public ALB: listeners per environment, access logs, protection, WAF and platform alarms."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from infra.config import load_app
from tests.conftest import FIXTURE, Synth, by_path, load_stack, only, ref, resources, variable

ENVS = ("dev", "prod")
WAF_TYPES = (
    "aws_wafv2_web_acl",
    "aws_wafv2_web_acl_association",
    "aws_wafv2_web_acl_logging_configuration",
)
NOT_FOUND = {"type": "fixed-response", "fixed_response": {"content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}}


def env_spec(name: str):  # type: ignore[no-untyped-def]
    return load_app(FIXTURE, environments=[name]).environments[0]


@pytest.mark.parametrize("env", ENVS)
def test_http_redirects_and_tls_terminates_with_the_configured_policy(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    spec = env_spec(env).load_balancer
    # prod also has the test listener of blue/green deployments (test_blue_green.py).
    assert len(resources(stack, "aws_lb_listener")) == (3 if spec.test_listener_port else 2)
    http = by_path(stack, "aws_lb_listener", "/alb/http")
    assert http["port"] == 80 and http["protocol"] == "HTTP"
    assert http["default_action"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
    ]
    https = by_path(stack, "aws_lb_listener", "/alb/https")
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["ssl_policy"] == spec.ssl_policy and "TLS13-1-2" in https["ssl_policy"]
    assert https["certificate_arn"] == spec.certificate_arn
    assert https["default_action"] == [NOT_FOUND]
    # Service stacks attach their listener rules to the listener the contract publishes: HTTPS.
    assert stack["output"]["listener_arn"]["value"] == ref(stack, "aws_lb_listener", "/alb/https", "arn")


@pytest.mark.parametrize("env", ENVS)
def test_alb_is_public_in_the_public_subnets_behind_its_group(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    spec = env_spec(env)
    lb = only(stack, "aws_lb")
    assert lb["name"] == f"{env}-alb"
    assert lb["internal"] is False and lb["load_balancer_type"] == "application"
    assert lb["security_groups"] == [ref(stack, "aws_security_group", "/security/alb", "id")]
    # Service stacks admit the ALB on their port through this published group.
    assert stack["output"]["alb_security_group_id"]["value"] == lb["security_groups"][0]
    assert len(lb["subnets"]) == spec.network.az_count
    assert all(s.startswith("${aws_subnet.public_") for s in lb["subnets"])
    assert variable(stack, lb["idle_timeout"], "alb_idle_timeout") == spec.load_balancer.idle_timeout


@pytest.mark.parametrize("env", ENVS)
def test_access_logs_go_to_the_logs_bucket_after_its_policy(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    lb = only(stack, "aws_lb")
    assert lb["access_logs"] == {
        "bucket": ref(stack, "aws_s3_bucket", "/storage/logs/bucket", "id"),
        "prefix": "alb",
        "enabled": True,
    }
    policy = ref(stack, "aws_s3_bucket_policy", "/storage/logs/policy", "id")
    assert policy.removeprefix("${").removesuffix(".id}") in lb["depends_on"]


@pytest.mark.parametrize(("env", "protected"), [("dev", True), ("prod", True)])  # dev opts in
def test_invalid_headers_dropped_and_deletion_protection_as_configured(synth: Synth, env: str, protected: bool) -> None:
    lb = only(synth.stack(f"{env}-platform"), "aws_lb")
    assert lb["drop_invalid_header_fields"] is True
    assert lb["enable_deletion_protection"] is protected


@pytest.mark.parametrize("env", ENVS)
def test_waf_runs_managed_rules_on_the_alb_and_logs_encrypted(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    acl = only(stack, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
    groups = [r["statement"]["managed_rule_group_statement"] for r in acl["rule"]]
    assert [g["name"] for g in groups][:2] == ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
    assert all(g["vendor_name"] == "AWS" for g in groups)
    assert all(r["override_action"] == {"none": {}} for r in acl["rule"])
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"])
    association = only(stack, "aws_wafv2_web_acl_association")
    assert association["resource_arn"] == ref(stack, "aws_lb", "/alb/alb", "arn")
    assert association["web_acl_arn"] == ref(stack, "aws_wafv2_web_acl", "/alb/waf", "arn")
    logging = only(stack, "aws_wafv2_web_acl_logging_configuration")
    assert logging["resource_arn"] == association["web_acl_arn"]
    assert logging["log_destination_configs"] == [ref(stack, "aws_cloudwatch_log_group", "/alb/waf-logs", "arn")]
    group = by_path(stack, "aws_cloudwatch_log_group", "/alb/waf-logs")
    assert group["name"] == f"aws-waf-logs-{env}"
    assert group["kms_key_id"] == ref(stack, "aws_kms_key", "/key/key", "arn")
    assert group["retention_in_days"] >= 365


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(
    ("construct", "name", "metric"),
    [
        ("alarm-5xx", "alb-5xx", "HTTPCode_ELB_5XX_Count"),
        ("alarm-unhealthy-hosts", "alb-unhealthy-hosts", "UnHealthyHostCount"),
        ("alarm-latency", "alb-target-response-p95", "TargetResponseTime"),
    ],
)
def test_platform_alarms_watch_this_alb_and_notify_the_alarm_topic(
    synth: Synth, env: str, construct: str, name: str, metric: str
) -> None:
    stack = synth.stack(f"{env}-platform")
    alarm = by_path(stack, "aws_cloudwatch_metric_alarm", f"/alb/{construct}")
    topic = ref(stack, "aws_sns_topic", "/alarms/topic", "arn")
    assert alarm["alarm_name"] == f"{env}-{name}"
    assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic]
    suffix = ref(stack, "aws_lb", "/alb/alb", "arn_suffix")
    if "metric_query" in alarm:
        (query,) = alarm["metric_query"]
        # Terraform's format() puts the suffix in: the query quotes its namespace (infra.expressions).
        assert query["expression"].startswith(f'${{format("SELECT MAX({metric}) FROM SCHEMA(\\"AWS/ApplicationELB\\"')
        assert query["expression"].endswith(f"WHERE LoadBalancer = '%s'\", {suffix[2:-1]})}}")
        assert query["return_data"] is True
    else:
        assert alarm["metric_name"] == metric and alarm["namespace"] == "AWS/ApplicationELB"
        assert alarm["dimensions"] == {"LoadBalancer": suffix}
    if metric == "TargetResponseTime":
        assert alarm["extended_statistic"] == "p95"


def test_listener_attributes_follow_the_certificate(tmp_path: Path) -> None:
    """Without a certificate: one HTTP listener answering 404 and no WAF when it is off.
    With `domain` set: ACM certificate with DNS validation, records as output, no Route 53."""
    from cdktf import App

    from infra.platform.stack import PlatformStack

    app_spec = load_app(FIXTURE, environments=["dev"])
    configured = app_spec.environments[0]
    dev = dataclasses.replace(
        configured, load_balancer=dataclasses.replace(configured.load_balancer, certificate_arn=None, waf=False)
    )
    domain_env = dataclasses.replace(
        dev, load_balancer=dataclasses.replace(dev.load_balancer, domain="app.example.com", certificate_arn=None)
    )
    app = App(outdir=str(tmp_path))
    plain = PlatformStack(app, "dev-platform", env=dev, local=None).platform
    with_domain = PlatformStack(app, "domain-platform", env=domain_env, local=None).platform
    app.synth()

    assert plain.load_balancer.https is False and plain.load_balancer.https_listener_arn is None
    assert plain.load_balancer.listener_arn == plain.load_balancer.http_listener_arn
    lb = with_domain.load_balancer
    assert lb.https is True and lb.https_listener_arn is not None
    assert lb.listener_arn == lb.https_listener_arn != lb.http_listener_arn

    bare = load_stack(tmp_path / "stacks" / "dev-platform" / "cdk.tf.json")
    listener = only(bare, "aws_lb_listener")
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["default_action"] == [NOT_FOUND]
    assert not resources(bare, "aws_acm_certificate")
    for type_ in WAF_TYPES:
        assert not resources(bare, type_)
    assert not [g for g in resources(bare, "aws_cloudwatch_log_group").values() if g["name"].startswith("aws-waf-logs-")]
    # Services add their listener rules to the listener the contract names: here the HTTP one.
    assert bare["output"]["listener_arn"]["value"] == ref(bare, "aws_lb_listener", "/alb/http", "arn")

    stack = load_stack(tmp_path / "stacks" / "domain-platform" / "cdk.tf.json")
    cert = only(stack, "aws_acm_certificate")
    assert cert["domain_name"] == "app.example.com" and cert["validation_method"] == "DNS"
    assert cert["lifecycle"] == {"create_before_destroy": True}
    validation = only(stack, "aws_acm_certificate_validation")
    assert validation["certificate_arn"] == ref(stack, "aws_acm_certificate", "/alb/certificate", "arn")
    https = by_path(stack, "aws_lb_listener", "/alb/https")
    assert https["certificate_arn"] == ref(stack, "aws_acm_certificate_validation", "/alb/certificate-validation", "certificate_arn")
    assert by_path(stack, "aws_lb_listener", "/alb/http")["default_action"][0]["type"] == "redirect"
    assert stack["output"]["listener_arn"]["value"] == ref(stack, "aws_lb_listener", "/alb/https", "arn")
    outputs = [o for o in stack["output"].values() if "domain_validation_options" in str(o["value"])]
    assert len(outputs) == 1
    assert not [t for t in stack["resource"] if t.startswith("aws_route53")]
