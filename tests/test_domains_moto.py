"""Custom domains on the emulator: a web service's certificate, validation records, listener
certificate and alias records, applied from its own stack.

boto3 makes what the service stack reads from the platform (a load balancer with an HTTPS
listener) and the environment's public zone, with the id the environment names; a platform
state holding just the contract outputs the domain needs stands in for the platform's apply
(tests/test_e2e.py applies whole platforms). The web stack, synthesized in local mode, is
planned and applied with -target on its domain: while the zone holds other names, the plan
stops with one message (the zone's postcondition); with the right zone, ACM issues the
certificate only once the validation records are in it (localaws shim S17, as AWS does), the
listener gets the certificate, each host an alias A record to the load balancer; a second plan
is empty; a destroy leaves the zone and the listener as they were. One flow, one `terraform
init`: each Terraform command costs seconds of provider start-up, each Route 53 change about
15 s of the provider's wait for INSYNC.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.platform.contract import CONTRACT_VERSION
from localaws import running, seed_hosted_zone
from tests.config_builder import Project

pytestmark = [pytest.mark.terraform, pytest.mark.timeout(900)]

ZONE_ID = "Z0123456789DOMAINTEST"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/3c1f2a9e-0d4b-4f6e-8a7c-5b9d1e2f3a40"
HOSTS = ["shop.example.com", "www.shop.example.com"]


@pytest.fixture(scope="module")
def endpoint():
    with running() as url:
        yield url


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _load_balancer(endpoint: str) -> dict[str, str]:
    """An internet-facing load balancer with an HTTPS listener whose default certificate is
    the environment's (one ACM does not hold: localaws shim S12)."""
    ec2, elbv2 = _client("ec2", endpoint), _client("elbv2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    (lb,) = elbv2.create_load_balancer(Name="dev-alb", Subnets=subnets)["LoadBalancers"]
    (listener,) = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": CERTIFICATE}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"]
    return {"listener_arn": listener["ListenerArn"], "alb_dns_name": lb["DNSName"], "alb_zone_id": lb["CanonicalHostedZoneId"]}


def _web_stack(tmp: Path, endpoint: str, hosts: list[str], platform: dict[str, str]) -> Path:
    """dev-web in local mode, with a platform state that publishes `platform` (and the version)."""
    from infra.app import build_app

    project = Project(tmp).env(hosted_zone_id=ZONE_ID, load_balancer={"certificate_arn": CERTIFICATE})
    project.service("web", routes={"paths": ["/*"], "hosts": hosts})
    outdir = tmp / "cdktf.out"
    build_app(project.load(local_endpoint=endpoint), outdir=str(outdir), services=["web"], platform=False).synth()
    outputs = {"contract_version": CONTRACT_VERSION, **platform}
    state = {
        "version": 4,
        "terraform_version": "1.11.0",
        "serial": 1,
        "lineage": "domains-test",
        "outputs": {name: {"value": value, "type": "string"} for name, value in outputs.items()},
        "resources": [],
    }
    (tmp / "terraform.dev-platform.tfstate").write_text(json.dumps(state))
    return outdir / "stacks" / "dev-web"


def _terraform(stack_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args, "-no-color"], cwd=stack_dir, env=env, capture_output=True, text=True, timeout=600)


def _targets(stack_dir: Path) -> list[str]:
    """-target of every resource of the web service's domain (Terraform adds what they read)."""
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    return [
        f"-target={type_}.{name}"
        for type_, items in stack["resource"].items()
        for name, item in items.items()
        if "/domain/" in item["//"]["metadata"]["path"]
    ]


def _state_value(stack_dir: Path, env: dict[str, str], address: str, attribute: str) -> Any:
    shown = json.loads(_terraform(stack_dir, env, "show", "-json").stdout)
    (resource,) = [r for r in shown["values"]["root_module"]["resources"] if r["address"] == address]
    return resource["values"][attribute]


def _records(endpoint: str) -> dict[tuple[str, str], dict[str, Any]]:
    route53 = _client("route53", endpoint)
    found = route53.list_resource_record_sets(HostedZoneId=ZONE_ID)["ResourceRecordSets"]
    return {(r["Name"].rstrip("."), r["Type"]): r for r in found if r["Type"] not in ("NS", "SOA")}


def test_a_web_service_gets_its_certificate_and_alias_records_in_the_zone(tmp_path: Path, endpoint: str, terraform_env: dict[str, str]) -> None:
    platform = _load_balancer(endpoint)
    stack_dir = _web_stack(tmp_path, endpoint, HOSTS, platform)
    targets = _targets(stack_dir)
    # No AAAA aliases: the platform's load balancer is IPv4 only.
    assert targets == [
        "-target=aws_acm_certificate.web",
        "-target=aws_acm_certificate_validation.web",
        "-target=aws_lb_listener_certificate.web",
        "-target=aws_route53_record.web",
        "-target=aws_route53_record.web_validation",
    ]
    assert (init := _terraform(stack_dir, terraform_env, "init", "-input=false")).returncode == 0, init.stdout + init.stderr

    # 1. The zone the environment names holds other names: the plan stops with one message.
    route53 = _client("route53", endpoint)
    seed_hosted_zone(ZONE_ID, "example.net")
    planned = _terraform(stack_dir, terraform_env, "plan", "-input=false", *targets)
    assert planned.returncode == 1, planned.stdout
    text = " ".join(planned.stderr.split())
    assert "Resource postcondition failed" in text
    assert (
        f"Every host of [routes] hosts in services/web/service.toml must be inside the zone example.net ({ZONE_ID},"
        " hosted_zone_id): shop.example.com, www.shop.example.com." in text
    )
    route53.delete_hosted_zone(Id=ZONE_ID)

    # 2. The right zone: certificate issued once its records exist, in the listener, aliases.
    seed_hosted_zone(ZONE_ID, "example.com")
    applied = _terraform(stack_dir, terraform_env, "apply", "-auto-approve", "-input=false", *targets)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    acm, elbv2 = _client("acm", endpoint), _client("elbv2", endpoint)
    arn = _state_value(stack_dir, terraform_env, "aws_acm_certificate.web", "arn")
    certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert certificate["Status"] == "ISSUED"
    assert certificate["DomainName"] == HOSTS[0] and set(certificate["SubjectAlternativeNames"]) >= set(HOSTS)
    records = _records(endpoint)
    for option in certificate["DomainValidationOptions"]:
        cname = records[(option["ResourceRecord"]["Name"].rstrip("."), "CNAME")]
        assert [r["Value"] for r in cname["ResourceRecords"]] == [option["ResourceRecord"]["Value"]]
    for host in HOSTS:
        alias = records[(host, "A")]["AliasTarget"]
        assert alias["DNSName"].rstrip(".").lower() == platform["alb_dns_name"].lower()
        assert alias["HostedZoneId"] == platform["alb_zone_id"] and alias["EvaluateTargetHealth"] is True
        assert (host, "AAAA") not in records
    listed = elbv2.describe_listener_certificates(ListenerArn=platform["listener_arn"])["Certificates"]
    assert arn in [c["CertificateArn"] for c in listed]

    # 3. Converged: a second plan has nothing to do.
    again = _terraform(stack_dir, terraform_env, "plan", "-input=false", "-detailed-exitcode", *targets)
    assert again.returncode == 0, again.stdout + again.stderr

    # 4. Destroyed: the zone and the listener are as they were.
    destroyed = _terraform(stack_dir, terraform_env, "destroy", "-auto-approve", "-input=false", *targets)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert _records(endpoint) == {}
    with pytest.raises(acm.exceptions.ResourceNotFoundException):
        acm.describe_certificate(CertificateArn=arn)
    listed = elbv2.describe_listener_certificates(ListenerArn=platform["listener_arn"])["Certificates"]
    assert arn not in [c["CertificateArn"] for c in listed]
