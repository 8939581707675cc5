"""ECS cluster: settings, ECS Exec, capacity providers and the EC2 capacity behind one."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.platform.cluster import AMI_PARAMETER, AMI_PARAMETER_ARM64
from infra.config import load_app
from infra.config.specs import CapacityProvider, StrategyItem
from tests.conftest import FIXTURE, Synth, by_path, data_sources, load_stack, only, ref, resources, variable

ENVS = ("dev", "prod")
# env: default strategy as (provider, weight, base), instance type, min, max
EXPECTED = {
    "dev": ([("FARGATE", 1, 1), ("FARGATE_SPOT", 3, 0)], "t3.medium", 0, 2),
    "prod": ([("FARGATE", 1, 2)], "m6i.large", 0, 6),
}


@pytest.mark.parametrize("env", ENVS)
def test_cluster_insights_and_encrypted_exec_sessions(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    cluster = only(stack, "aws_ecs_cluster")
    key = ref(stack, "aws_kms_key", "/key/key", "arn")
    assert cluster["name"] == env
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert cluster["configuration"]["execute_command_configuration"] == {
        "kms_key_id": key,
        "logging": "OVERRIDE",
        "log_configuration": {
            "cloud_watch_encryption_enabled": True,
            "cloud_watch_log_group_name": ref(stack, "aws_cloudwatch_log_group", "/cluster/exec-logs", "name"),
        },
    }
    group = by_path(stack, "aws_cloudwatch_log_group", "/cluster/exec-logs")
    assert group["kms_key_id"] == key
    assert group["retention_in_days"] >= 365


@pytest.mark.parametrize("env", ENVS)
def test_capacity_providers_and_default_strategy(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    strategy, *_ = EXPECTED[env]
    association = only(stack, "aws_ecs_cluster_capacity_providers")
    assert association["cluster_name"] == ref(stack, "aws_ecs_cluster", "/cluster/cluster", "name")
    assert association["capacity_providers"] == [
        "FARGATE",
        "FARGATE_SPOT",
        ref(stack, "aws_ecs_capacity_provider", "/cluster/ec2-capacity-provider", "name"),
    ]
    assert [
        (s["capacity_provider"], s["weight"], s["base"]) for s in association["default_capacity_provider_strategy"]
    ] == strategy


@pytest.mark.parametrize("env", ENVS)
def test_ec2_capacity_provider_is_managed(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    provider = only(stack, "aws_ecs_capacity_provider")
    assert provider["name"] == f"ec2-{env}"
    group_provider = provider["auto_scaling_group_provider"]
    assert group_provider["auto_scaling_group_arn"] == ref(stack, "aws_autoscaling_group", "/cluster/asg", "arn")
    assert group_provider["managed_termination_protection"] == "ENABLED"
    assert group_provider["managed_scaling"] == {"status": "ENABLED", "target_capacity": 100}


@pytest.mark.parametrize("env", ENVS)
def test_auto_scaling_group(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    *_, low, high = EXPECTED[env]
    group = only(stack, "aws_autoscaling_group")
    assert group["protect_from_scale_in"] is True
    assert variable(stack, group["min_size"], "ec2_min_size") == low
    assert variable(stack, group["max_size"], "ec2_max_size") == high
    assert "desired_capacity" not in group  # ECS managed scaling owns it
    assert {"key": "AmazonECSManaged", "value": "true", "propagate_at_launch": True} in group["tag"]
    network = load_app(FIXTURE, environments=[env]).environments[0].network
    assert group["vpc_zone_identifier"] == [
        ref(stack, "aws_subnet", f"/network/private-{i}", "id") for i in range(network.az_count)
    ]
    assert group["launch_template"] == {
        "id": ref(stack, "aws_launch_template", "/cluster/launch-template", "id"),
        "version": ref(stack, "aws_launch_template", "/cluster/launch-template", "latest_version"),
    }


@pytest.mark.parametrize("env", ENVS)
def test_launch_template_hardening(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    _, instance_type, *_ = EXPECTED[env]
    template = only(stack, "aws_launch_template")
    assert template["instance_type"] == instance_type
    assert template["metadata_options"] == {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1}
    (device,) = template["block_device_mappings"]
    assert device["ebs"]["encrypted"] == "true"
    assert device["ebs"]["kms_key_id"] == ref(stack, "aws_kms_key", "/key/key", "arn")
    # The container-instance role is the cluster's own (it exists only with EC2 capacity).
    assert template["iam_instance_profile"] == {"arn": ref(stack, "aws_iam_instance_profile", "/cluster/instance-profile", "arn")}
    profile = by_path(stack, "aws_iam_instance_profile", "/cluster/instance-profile")
    assert profile["role"] == ref(stack, "aws_iam_role", "/cluster/instance-role", "name")
    assert by_path(stack, "aws_iam_role", "/cluster/instance-role")["name"] == f"{env}-ecs-instance"
    assert template["vpc_security_group_ids"] == [ref(stack, "aws_security_group", "/security/app", "id")]
    assert "network_interfaces" not in template  # no public IP: private subnets, no interface override
    assert template["image_id"] == ref(stack, "aws_ssm_parameter", "/cluster/instance-ami", "insecure_value", data=True)
    (ami,) = [d for d in data_sources(stack, "aws_ssm_parameter").values() if d["//"]["metadata"]["path"].endswith("/cluster/instance-ami")]
    assert ami["name"] == AMI_PARAMETER == "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


@pytest.mark.parametrize("env", ENVS)
def test_user_data_joins_the_right_cluster(synth: Synth, env: str) -> None:
    template = only(synth.stack(f"{env}-platform"), "aws_launch_template")
    script = base64.b64decode(template["user_data"]).decode()
    assert script.startswith("#!/bin/bash\n")
    assert "/etc/ecs/ecs.config" in script
    config_lines = [line for line in script.splitlines() if line.startswith("ECS_")]
    assert f"ECS_CLUSTER={env}" in config_lines
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in config_lines
    # Session Manager: the SSM agent is installed and started; nothing Terraform would interpolate.
    assert "dnf install -y amazon-ssm-agent" in script.splitlines()
    assert "systemctl enable --now amazon-ssm-agent" in script.splitlines()
    assert "${" not in script and "%{" not in script


@pytest.mark.parametrize("env", ENVS)
def test_launch_template_carries_the_operators_key_pair(synth: Synth, env: str) -> None:
    """SSH from the Ansible host (allowed by the app group: tests/test_security.py) with the
    `[access] key_name` key pair."""
    key_name = load_app(FIXTURE, environments=[env]).environments[0].access.key_name
    assert key_name == "platform-admin"
    assert only(synth.stack(f"{env}-platform"), "aws_launch_template")["key_name"] == key_name


@pytest.mark.parametrize("env", ENVS)
def test_container_instances_allow_session_manager_through_an_inline_policy(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    policy = by_path(stack, "aws_iam_role_policy", "/cluster/instance-ssm")
    assert policy["name"] == "ssm-session-manager"
    assert policy["role"] == ref(stack, "aws_iam_role", "/cluster/instance-role", "id")
    assert policy["policy"] == ref(stack, "aws_iam_policy_document", "/cluster/instance-ssm-document", "json", data=True)
    (document,) = [
        d for d in data_sources(stack, "aws_iam_policy_document").values()
        if d["//"]["metadata"]["path"].endswith("/cluster/instance-ssm-document")
    ]
    statements = {st["sid"]: st for st in document["statement"]}
    assert statements["RegisterWithSsm"]["actions"] == ["ssm:UpdateInstanceInformation"]
    assert statements["RegisterWithSsm"]["resources"][0].endswith(":instance/*")
    assert {a.split(":")[1] for a in statements["SessionChannels"]["actions"]} == {
        "CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel"
    }
    assert all(a.startswith("ec2messages:") for a in statements["AgentMessages"]["actions"])
    # No AWS-managed policy (AmazonSSMManagedInstanceCore) attached to the instance role.
    assert not [a for a in resources(stack, "aws_iam_role_policy_attachment").values() if "/cluster/" in a["//"]["metadata"]["path"]]


# ---------------------------------------------------------------------------------
# Variants: no EC2 capacity; EC2 in the default strategy on Graviton, no insights
# ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Any]]:
    from cdktf import App

    from infra.platform.stack import PlatformStack

    app_spec = load_app(FIXTURE, environments=["dev"])
    dev = app_spec.environments[0]
    cluster = dev.cluster
    envs = {
        "no-ec2": dataclasses.replace(
            dev,
            cluster=dataclasses.replace(
                cluster,
                default_strategy=(StrategyItem(provider=CapacityProvider.FARGATE_SPOT, weight=1, base=0),),
                ec2=dataclasses.replace(cluster.ec2, enabled=False),
            ),
        ),
        "ec2-default": dataclasses.replace(
            dev,
            cluster=dataclasses.replace(
                cluster,
                container_insights=False,
                default_strategy=(StrategyItem(provider=CapacityProvider.EC2, weight=1, base=1),),
                ec2=dataclasses.replace(cluster.ec2, instance_type="m7g.large", target_capacity=80),
            ),
        ),
    }
    outdir: Path = tmp_path_factory.mktemp("cluster-variants")
    app = App(outdir=str(outdir))
    platforms = {
        name: PlatformStack(app, name, env=env, local=None).platform
        for name, env in envs.items()
    }
    app.synth()
    return {
        name: (load_stack(outdir / "stacks" / name / "cdk.tf.json"), platform)
        for name, platform in platforms.items()
    }


def test_without_ec2_only_fargate_providers_remain(variants: dict[str, tuple[dict[str, Any], Any]]) -> None:
    stack, platform = variants["no-ec2"]
    for type_ in ("aws_launch_template", "aws_autoscaling_group", "aws_ecs_capacity_provider"):
        assert not resources(stack, type_), type_
    assert not [d for d in data_sources(stack, "aws_ssm_parameter").values() if "/cluster/" in d["//"]["metadata"]["path"]]
    # No container instances, so no container-instance role or profile.
    for type_ in ("aws_iam_role", "aws_iam_instance_profile", "aws_iam_role_policy"):
        assert not [r for r in resources(stack, type_).values() if "/cluster/" in r["//"]["metadata"]["path"]], type_
    association = only(stack, "aws_ecs_cluster_capacity_providers")
    assert association["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert association["default_capacity_provider_strategy"] == [{"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    assert platform.cluster.ec2_capacity_provider_name is None
    assert "ec2_capacity_provider_name" not in stack["output"]  # services find no EC2 provider in the contract
    assert platform.cluster.capacity_provider_names == ("FARGATE", "FARGATE_SPOT")
    assert platform.cluster.name == "${local.name_prefix}"  # `dev` in the default workspace (infra.naming)


def test_ec2_in_the_default_strategy_maps_to_the_ec2_provider(variants: dict[str, tuple[dict[str, Any], Any]]) -> None:
    stack, platform = variants["ec2-default"]
    association = only(stack, "aws_ecs_cluster_capacity_providers")
    assert association["default_capacity_provider_strategy"] == [{"capacity_provider": "ec2-dev", "weight": 1, "base": 1}]
    assert platform.cluster.ec2_capacity_provider_name == "ec2-${local.name_prefix}"
    assert stack["output"]["ec2_capacity_provider_name"]["value"] == ref(
        stack, "aws_ecs_capacity_provider", "/cluster/ec2-capacity-provider", "name"
    )
    assert platform.cluster.capacity_provider_names == ("FARGATE", "FARGATE_SPOT", "ec2-${local.name_prefix}")
    assert only(stack, "aws_ecs_capacity_provider")["auto_scaling_group_provider"]["managed_scaling"]["target_capacity"] == 80
    assert only(stack, "aws_ecs_cluster")["setting"] == [{"name": "containerInsights", "value": "disabled"}]


def test_graviton_instance_types_get_the_arm64_ami(variants: dict[str, tuple[dict[str, Any], Any]]) -> None:
    stack, _ = variants["ec2-default"]
    (ami,) = [d for d in data_sources(stack, "aws_ssm_parameter").values() if d["//"]["metadata"]["path"].endswith("/cluster/instance-ami")]
    assert ami["name"] == AMI_PARAMETER_ARM64
    assert only(stack, "aws_launch_template")["instance_type"] == "m7g.large"


# ---------------------------------------------------------------------------------
# The key policy names the Auto Scaling service-linked role: it must exist first
# ("Required AWS KMS key policy for use with encrypted volumes")
# ---------------------------------------------------------------------------------
def key_policy(stack: dict[str, Any]) -> str:
    return only(stack, "aws_kms_key")["policy"]


@pytest.mark.parametrize("env", ENVS)
def test_the_environment_creates_its_own_auto_scaling_role_before_the_key_names_it(synth: Synth, env: str) -> None:
    """Issue #13 (7): a fresh account has no Auto Scaling service-linked role, and AWS refuses a
    key policy naming a principal that does not exist. A custom-suffix role per environment
    exists whatever the account holds, and clashes with nothing."""
    stack = synth.stack(f"{env}-platform")
    role = by_path(stack, "aws_iam_service_linked_role", "/key/autoscaling-role")
    assert (role["aws_service_name"], role["custom_suffix"]) == ("autoscaling.amazonaws.com", f"{env}-ecs")
    role_address = ref(stack, "aws_iam_service_linked_role", "/key/autoscaling-role", "arn").strip("${}").rsplit(".", 1)[0]
    # The key depends on the role: Terraform creates the role before the key names it.
    assert only(stack, "aws_kms_key")["depends_on"] == [role_address]
    policy = key_policy(stack)
    assert "AutoScalingUsesKeyForVolumes" in policy and "AutoScalingGrantsForVolumes" in policy
    # The role's own ARN (IAM reports aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling_<env>-ecs).
    assert policy.count('"AWS" = ' + ref(stack, "aws_iam_service_linked_role", "/key/autoscaling-role", "arn").strip("${}")) == 2
    # ... and the Auto Scaling group launches with exactly that role.
    group = only(stack, "aws_autoscaling_group")
    assert group["service_linked_role_arn"] == ref(stack, "aws_iam_service_linked_role", "/key/autoscaling-role", "arn")


def test_without_ec2_capacity_the_key_names_no_auto_scaling_role(variants: dict[str, tuple[dict[str, Any], Any]]) -> None:
    stack, _ = variants["no-ec2"]
    assert not resources(stack, "aws_iam_service_linked_role")
    policy = key_policy(stack)
    assert "AWSServiceRoleForAutoScaling" not in policy and "aws_iam_service_linked_role" not in policy
    assert "AutoScaling" not in policy
