"""Bastion and Ansible server: placement, hardening, SSM permissions, and switching them off."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.platform.access import AMI_PARAMETER, AMI_PARAMETER_ARM64
from infra.config import load_app
from tests.conftest import FIXTURE, Synth, by_path, data_sources, load_stack, only, ref, resources

ENVS = ("dev", "prod")
HOSTS = {
    # host: (subnet tier, Elastic IP)
    "bastion": ("public", True),
    "ansible": ("private", False),
}


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_host_placement_and_exposure(synth: Synth, env: str, host: str) -> None:
    stack = synth.stack(f"{env}-platform")
    tier, public = HOSTS[host]
    instance = by_path(stack, "aws_instance", f"/access/{host}")
    assert instance["subnet_id"] == ref(stack, "aws_subnet", f"/network/{tier}-0", "id")
    # No automatic public IP on either host: the bastion's address is an Elastic IP.
    # Unset on purpose (see infra/platform/access.py); no subnet maps public IPs on launch.
    assert "associate_public_ip_address" not in instance
    subnet = by_path(stack, "aws_subnet", f"/network/{tier}-0")
    assert subnet["map_public_ip_on_launch"] is False
    eips = [e for e in resources(stack, "aws_eip").values() if e.get("instance") == ref(stack, "aws_instance", f"/access/{host}", "id")]
    assert len(eips) == int(public)
    if public:
        assert eips[0]["domain"] == "vpc"
        assert eips[0]["//"]["metadata"]["path"].endswith(f"/access/{host}-ip")
    assert instance["vpc_security_group_ids"] == [ref(stack, "aws_security_group", f"/security/{host}", "id")]
    assert instance["tags"]["Name"] == f"{env}-{host}"


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_host_hardening(synth: Synth, env: str, host: str) -> None:
    stack = synth.stack(f"{env}-platform")
    spec = load_app(FIXTURE, environments=[env]).environments[0].access
    instance = by_path(stack, "aws_instance", f"/access/{host}")
    assert instance["metadata_options"]["http_tokens"] == "required"
    assert instance["metadata_options"]["http_endpoint"] == "enabled"
    assert instance["metadata_options"]["http_put_response_hop_limit"] == 1
    root = instance["root_block_device"]
    assert root["encrypted"] is True and root["volume_type"] == "gp3" and root["volume_size"] >= 8
    assert root["kms_key_id"] == ref(stack, "aws_kms_key", "/key/key", "arn")
    assert instance["monitoring"] is True and instance["ebs_optimized"] is True
    assert instance["instance_type"] == spec.instance_type
    assert instance.get("key_name") == spec.key_name
    assert instance["ami"] == ref(stack, "aws_ssm_parameter", "/access/host-ami", "insecure_value", data=True)
    assert instance["lifecycle"] == {"ignore_changes": ["ami"]}
    assert "user_data" not in instance
    # Only the Ansible host has a first-boot script; a new script means a new host.
    assert ("user_data_base64" in instance) is (host == "ansible")
    assert instance.get("user_data_replace_on_change") is (True if host == "ansible" else None)


def data_by_path(stack: dict[str, Any], type_: str, suffix: str) -> dict[str, Any]:
    (found,) = [d for d in data_sources(stack, type_).values() if d["//"]["metadata"]["path"].endswith(suffix)]
    return found


def test_ami_is_amazon_linux_2023_from_the_public_parameter(synth: Synth) -> None:
    param = data_by_path(synth.stack("dev-platform"), "aws_ssm_parameter", "/access/host-ami")
    assert param["name"] == AMI_PARAMETER == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_instance_role_allows_session_manager_only_through_inline_policy(synth: Synth, host: str) -> None:
    stack = synth.stack("dev-platform")
    instance = by_path(stack, "aws_instance", f"/access/{host}")
    assert instance["iam_instance_profile"] == ref(stack, "aws_iam_instance_profile", f"/access/{host}-profile", "name")
    profile = by_path(stack, "aws_iam_instance_profile", f"/access/{host}-profile")
    assert profile["role"] == ref(stack, "aws_iam_role", f"/access/{host}-role", "name")
    role = by_path(stack, "aws_iam_role", f"/access/{host}-role")
    assert role["name"] == f"dev-access-{host}"
    trust = data_by_path(stack, "aws_iam_policy_document", "/access/trust")
    assert trust["statement"][0]["principals"][0]["identifiers"] == ["ec2.amazonaws.com"]
    assert role["assume_role_policy"] == ref(stack, "aws_iam_policy_document", "/access/trust", "json", data=True)

    policy = by_path(stack, "aws_iam_role_policy", f"/access/{host}-ssm")
    assert policy["role"] == ref(stack, "aws_iam_role", f"/access/{host}-role", "id")
    assert policy["policy"] == ref(stack, "aws_iam_policy_document", f"/access/{host}-policy", "json", data=True)
    document = data_by_path(stack, "aws_iam_policy_document", f"/access/{host}-policy")
    statements = {s["sid"]: s for s in document["statement"]}
    assert statements["RegisterWithSsm"]["actions"] == ["ssm:UpdateInstanceInformation"]
    assert statements["RegisterWithSsm"]["resources"][0].endswith(":instance/*")
    assert {a.split(":")[1] for a in statements["SessionChannels"]["actions"]} == {
        "CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel"
    }
    assert all(a.startswith("ec2messages:") for a in statements["AgentMessages"]["actions"])
    for statement in document["statement"]:
        assert not any(a == "*" or a.endswith(":*") for a in statement["actions"])
    # Only the Ansible server discovers hosts, and it may only read them.
    assert ("Inventory" in statements) is (host == "ansible")
    if host == "ansible":
        assert statements["Inventory"]["actions"] == ["ec2:DescribeInstances"]
        assert statements["Inventory"]["resources"] == ["*"]
        write = [a for st in document["statement"] if st["sid"] not in ("RegisterWithSsm", "SessionChannels", "AgentMessages")
                 for a in st["actions"] if not a.split(":")[1].startswith(("Describe", "List", "Get"))]
        assert not write
    access_attachments = [
        a for a in resources(stack, "aws_iam_role_policy_attachment").values() if "/access/" in a["//"]["metadata"]["path"]
    ]
    assert not access_attachments


def test_access_disabled_removes_the_hosts(tmp_path: Path) -> None:
    from cdktf import App

    from infra.platform.stack import PlatformStack

    app_spec = load_app(FIXTURE, environments=["dev"])
    dev = app_spec.environments[0]
    assert dev.access.enabled
    off = dataclasses.replace(dev, access=dataclasses.replace(dev.access, enabled=False))
    app = App(outdir=str(tmp_path))
    platform = PlatformStack(app, "dev-platform", env=off, local=None).platform
    app.synth()
    assert platform.access is None
    stack = load_stack(tmp_path / "stacks" / "dev-platform" / "cdk.tf.json")
    assert not resources(stack, "aws_instance")
    assert not [e for e in resources(stack, "aws_eip").values() if "/access/" in e["//"]["metadata"]["path"]]
    assert not [
        r
        for type_ in ("aws_iam_role", "aws_iam_instance_profile", "aws_iam_role_policy")
        for r in resources(stack, type_).values()
        if "/access/" in r["//"]["metadata"]["path"]
    ]
    assert not [d for d in data_sources(stack, "aws_ssm_parameter").values() if "/access/" in d["//"]["metadata"]["path"]]
    # The rest of the platform is still there.
    assert resources(stack, "aws_lb") and resources(stack, "aws_security_group")


def _platform_with(tmp_path: Path, env: Any) -> dict[str, Any]:
    from cdktf import App

    from infra.platform.stack import PlatformStack

    app = App(outdir=str(tmp_path))
    PlatformStack(app, "dev-platform", env=env, local=None)
    app.synth()
    return load_stack(tmp_path / "stacks" / "dev-platform" / "cdk.tf.json")


@pytest.mark.parametrize(("instance_type", "parameter"), [("t4g.small", AMI_PARAMETER_ARM64), ("m7g.medium", AMI_PARAMETER_ARM64), ("t3.small", AMI_PARAMETER)])
def test_graviton_hosts_boot_the_arm64_ami(tmp_path: Path, instance_type: str, parameter: str) -> None:
    """An x86_64 AMI never boots on a Graviton instance type ("Amazon EC2 instance types")."""
    dev = load_app(FIXTURE, environments=["dev"]).environments[0]
    env = dataclasses.replace(dev, access=dataclasses.replace(dev.access, instance_type=instance_type))
    stack = _platform_with(tmp_path, env)
    assert data_by_path(stack, "aws_ssm_parameter", "/access/host-ami")["name"] == parameter
    assert parameter.endswith("-arm64" if "g." in instance_type else "-x86_64")
    for host in HOSTS:
        instance = by_path(stack, "aws_instance", f"/access/{host}")
        assert instance["instance_type"] == instance_type
        assert instance["ami"] == ref(stack, "aws_ssm_parameter", "/access/host-ami", "insecure_value", data=True)


# ---------------------------------------------------------------------------------
# The Ansible host installs Ansible with a dynamic inventory of the ECS capacity
# ---------------------------------------------------------------------------------
def ansible_script(stack: dict[str, Any]) -> str:
    instance = by_path(stack, "aws_instance", "/access/ansible")
    return base64.b64decode(instance["user_data_base64"]).decode()


def inventory_of(script: str) -> dict[str, Any]:
    import yaml

    body = re.search(r"cat > /etc/ansible/aws_ec2\.yml <<'EOF'\n(.*?)\nEOF\n", script, re.S)
    assert body, script
    return yaml.safe_load(body[1])


@pytest.mark.parametrize("env", ENVS)
def test_ansible_host_installs_ansible_at_first_boot(synth: Synth, env: str) -> None:
    script = ansible_script(synth.stack(f"{env}-platform"))
    assert script.startswith("#!/bin/bash\n")
    lines = script.splitlines()
    assert any(line.startswith("dnf install -y ansible-core") and "python3-boto3" in line for line in lines)
    assert "ansible-collection-amazon-aws" in script and "ansible-galaxy collection install amazon.aws" in script
    assert "inventory = /etc/ansible/aws_ec2.yml" in lines and "remote_user = ec2-user" in lines
    # Deterministic text: nothing Terraform would interpolate, no time of synthesis.
    assert "${" not in script and "%{" not in script
    assert not re.search(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}", script)


@pytest.mark.parametrize("env", ENVS)
def test_ansible_inventory_selects_the_running_ecs_capacity_of_its_environment(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    inventory = inventory_of(ansible_script(stack))
    group = only(stack, "aws_autoscaling_group")
    assert inventory["plugin"] == "amazon.aws.aws_ec2"
    assert inventory["regions"] == ["us-east-1"]  # no DescribeRegions, which the role may not call
    # EC2 Auto Scaling tags its instances with the group's name.
    assert inventory["filters"] == {"instance-state-name": "running", "tag:aws:autoscaling:groupName": group["name"]}
    assert group["name"] == f"{env}-ecs"
    assert inventory["compose"]["ansible_user"] == "'ec2-user'"
    assert inventory["hostnames"] == ["private-ip-address"]


def test_ansible_user_data_is_the_same_text_every_synthesis() -> None:
    from infra.platform.access import ansible_user_data

    first = ansible_user_data(prefix="dev", region="eu-west-1")
    assert first == ansible_user_data(prefix="dev", region="eu-west-1")
    assert inventory_of(first)["regions"] == ["eu-west-1"]
    assert inventory_of(first)["filters"]["tag:aws:autoscaling:groupName"] == "dev-ecs"
