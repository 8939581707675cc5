"""Sidecars, log routing, tracing, container options and EFS volumes (issue #15, items 3 and 4),
on the JSON Terraform sees.

The tests' configuration (tests/fixtures/app) uses each: the web service runs a `statsd` sidecar
and the ADOT collector (`[tracing]`), the api routes its logs through FireLens and mounts its
directory of the environment's shared file system (`[[file_systems]] name = "shared"`) read-only,
the worker mounts an EFS file system of its own and raises `nofile`. Options that need another
capacity (EC2) or no other service are synthesized from a small configuration of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config.limits import NFS_PORT
from tests.conftest import Synth, env_of, jsondoc, only, ref, resources
from tests.config_builder import Project

ENVS = ("dev", "prod")
REMOTE_STATE = "${data.terraform_remote_state.platform.outputs.%s}"


def containers(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])}


def policy_document(stack: dict[str, Any], attribute: str) -> dict[str, Any]:
    """The data.aws_iam_policy_document an attribute (`${data.aws_iam_policy_document.x.json}`) names."""
    name = attribute.split(".")[2]
    return stack["data"]["aws_iam_policy_document"][name]


def task_statements(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (policy,) = [p for p in resources(stack, "aws_iam_role_policy").values() if p["name"] == "application"]
    return {s["sid"]: s for s in policy_document(stack, policy["policy"])["statement"]}


def efs_volume(stack: dict[str, Any], name: str) -> dict[str, Any]:
    (volume,) = [v for v in only(stack, "aws_ecs_task_definition")["volume"] if v["name"] == name]
    return volume["efs_volume_configuration"]


# --- a service's own EFS file system ------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_a_volume_without_file_system_gets_an_encrypted_file_system_of_its_own(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-worker")
    (fs,) = resources(stack, "aws_efs_file_system").values()
    assert fs["encrypted"] is True
    assert fs["kms_key_id"] == REMOTE_STATE % "kms_key_arn"
    assert fs["tags"]["Name"] == f"{env}-worker-spool"
    # Its data outlives configuration changes where the environment protects what it deletes.
    assert (fs.get("lifecycle") == {"prevent_destroy": True}) == env_of(env).deletion_protection
    # A mount target in each zone of the private subnets, keyed by zone (the platform's map).
    (targets,) = resources(stack, "aws_efs_mount_target").values()
    assert targets["for_each"] == REMOTE_STATE % "private_subnets_by_zone"
    assert targets["subnet_id"] == "${each.value}"
    assert targets["file_system_id"] == ref(stack, "aws_efs_file_system", "volumes/spool/file-system", "id")
    assert targets["security_groups"] == [ref(stack, "aws_security_group", "volumes/spool/group", "id")]
    group = stack["resource"]["aws_security_group"]["spool_efs"]
    assert group["name"] == f"{env}-worker-spool-efs"
    assert group["vpc_id"] == REMOTE_STATE % "vpc_id"


@pytest.mark.parametrize("env", ENVS)
def test_automatic_backups_are_on_in_production_only(synth: Synth, env: str) -> None:
    for name in (f"{env}-worker", f"{env}-platform"):
        backups = resources(synth.stack(name), "aws_efs_backup_policy")
        if env_of(env).production:
            assert [b["backup_policy"] for b in backups.values()] == [{"status": "ENABLED"}], name
        else:
            assert backups == {}, name


@pytest.mark.parametrize("stack_name, fs_type_suffix", [("dev-worker", "volumes/spool"), ("dev-platform", "file-systems/shared")])
def test_a_file_system_refuses_clients_without_tls_or_access_point(synth: Synth, stack_name: str, fs_type_suffix: str) -> None:
    """With a policy of ours in effect EFS's default one (any client that reaches a mount target
    may mount) ends: only IAM identities allowed ClientMount get in, through their access point."""
    stack = synth.stack(stack_name)
    (policy,) = resources(stack, "aws_efs_file_system_policy").values()
    arn = ref(stack, "aws_efs_file_system", f"{fs_type_suffix}/file-system", "arn")
    assert policy["file_system_id"] == ref(stack, "aws_efs_file_system", f"{fs_type_suffix}/file-system", "id")
    statements = {s["sid"]: s for s in policy_document(stack, policy["policy"])["statement"]}
    assert set(statements) == {"RefuseClientsWithoutTls", "RefuseMountsWithoutAccessPoint"}
    client_actions = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess", "elasticfilesystem:ClientWrite"]
    for statement in statements.values():
        assert statement["effect"] == "Deny"
        assert statement["principals"] == [{"identifiers": ["*"], "type": "AWS"}]
        # Client actions only: denying the API too would lock the operators out of the policy.
        assert statement["actions"] == client_actions
        assert statement["resources"] == [arn]
    assert statements["RefuseClientsWithoutTls"]["condition"] == [
        {"test": "Bool", "values": ["false"], "variable": "aws:SecureTransport"}
    ]
    assert statements["RefuseMountsWithoutAccessPoint"]["condition"] == [
        {"test": "Null", "values": ["true"], "variable": "elasticfilesystem:AccessPointArn"}
    ]


def test_each_volume_mounts_through_its_access_point_with_tls_and_iam(synth: Synth) -> None:
    stack = synth.stack("dev-worker")
    (access_point,) = resources(stack, "aws_efs_access_point").values()
    assert access_point["file_system_id"] == ref(stack, "aws_efs_file_system", "volumes/spool/file-system", "id")
    # The container's user owns the service's directory; it sees nothing above it.
    assert access_point["posix_user"] == {"uid": 10001, "gid": 10001}
    assert access_point["root_directory"] == {
        "path": "/worker/spool",
        "creation_info": {"owner_uid": 10001, "owner_gid": 10001, "permissions": "0750"},
    }
    assert efs_volume(stack, "spool") == {
        "file_system_id": ref(stack, "aws_efs_file_system", "volumes/spool/file-system", "id"),
        "transit_encryption": "ENABLED",
        "authorization_config": {"access_point_id": ref(stack, "aws_efs_access_point", "volumes/spool-access-point", "id"), "iam": "ENABLED"},
    }
    assert "root_directory" not in efs_volume(stack, "spool")  # the access point's path applies
    assert containers(stack)["worker"]["mountPoints"][1:] == [
        {"sourceVolume": "spool", "containerPath": "/var/spool/worker", "readOnly": False}
    ]


def test_the_task_role_may_mount_and_write_only_through_its_access_point(synth: Synth) -> None:
    stack = synth.stack("dev-worker")
    mount = task_statements(stack)["MountVolumeSpool"]
    assert mount["actions"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert mount["resources"] == [ref(stack, "aws_efs_file_system", "volumes/spool/file-system", "arn")]
    assert mount["condition"] == [
        {
            "test": "StringEquals",
            "variable": "elasticfilesystem:AccessPointArn",
            "values": [ref(stack, "aws_efs_access_point", "volumes/spool-access-point", "arn")],
        }
    ]
    assert "ClientRootAccess" not in str(task_statements(stack))


def test_nfs_reaches_the_mount_targets_from_the_service_group_only(synth: Synth) -> None:
    stack = synth.stack("dev-worker")
    own = ref(stack, "aws_security_group", "security/group", "id")
    targets = ref(stack, "aws_security_group", "volumes/spool/group", "id")
    ingress = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values() if r["security_group_id"] == targets]
    assert [(r["from_port"], r["to_port"], r["referenced_security_group_id"], r.get("cidr_ipv4")) for r in ingress] == [
        (NFS_PORT, NFS_PORT, own, None)
    ]
    egress = [r for r in resources(stack, "aws_vpc_security_group_egress_rule").values() if r.get("referenced_security_group_id") == targets]
    assert [(r["security_group_id"], r["from_port"]) for r in egress] == [(own, NFS_PORT)]


@pytest.mark.parametrize("service", ["worker", "api"])
def test_the_service_starts_once_its_volumes_can_be_mounted(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    waits = set(only(stack, "aws_ecs_service")["depends_on"])
    volume = {"worker": "spool", "api": "reports"}[service]
    assert f"aws_efs_access_point.{volume}" in waits
    rules = {"worker": "spool", "api": "shared"}[service]
    assert {f"aws_vpc_security_group_ingress_rule.{rules}_nfs_in", f"aws_vpc_security_group_egress_rule.{rules}_nfs_out"} <= waits
    assert ("aws_efs_mount_target.spool" in waits) == (service == "worker")


# --- the platform's shared file systems ------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_the_platform_creates_the_shared_file_system_and_publishes_it(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    fs = stack["resource"]["aws_efs_file_system"]["shared"]
    assert fs["encrypted"] is True and fs["kms_key_id"] == ref(stack, "aws_kms_key", "key/key", "arn")
    assert fs["tags"]["Name"] == f"{env}-platform-shared"
    group = stack["resource"]["aws_security_group"]["shared_efs"]
    assert group["name"] == f"{env}-platform-shared-efs"
    # The platform knows no service: no rule on that group here, each service stack adds its own.
    group_ref = ref(stack, "aws_security_group", "file-systems/shared/group", "id")
    for type_ in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        assert not [r for r in resources(stack, type_).values() if group_ref in (r["security_group_id"], r.get("referenced_security_group_id"))]
    zones = env_of(env).network.availability_zones
    subnets = {az: ref(stack, "aws_subnet", f"network/private-{i}", "id") for i, az in enumerate(zones)}
    targets = stack["resource"]["aws_efs_mount_target"]["shared"]
    assert targets["for_each"] == subnets
    outputs = stack["output"]
    assert outputs["private_subnets_by_zone"]["value"] == subnets
    assert outputs["file_systems"]["value"] == {
        "shared": {
            "id": ref(stack, "aws_efs_file_system", "file-systems/shared/file-system", "id"),
            "arn": ref(stack, "aws_efs_file_system", "file-systems/shared/file-system", "arn"),
            "security_group_id": group_ref,
        }
    }


def test_a_service_mounts_its_own_directory_of_a_shared_file_system_read_only(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    shared = "${data.terraform_remote_state.platform.outputs.file_systems.shared.%s}"
    assert not resources(stack, "aws_efs_file_system")  # the platform's, not the service's
    (access_point,) = resources(stack, "aws_efs_access_point").values()
    assert access_point["file_system_id"] == shared % "id"
    assert access_point["root_directory"]["path"] == "/api/reports"
    assert efs_volume(stack, "reports")["file_system_id"] == shared % "id"
    mount = task_statements(stack)["MountVolumeReports"]
    assert mount["actions"] == ["elasticfilesystem:ClientMount"]  # read_only: no ClientWrite
    assert mount["resources"] == [shared % "arn"]
    assert containers(stack)["api"]["mountPoints"][1:] == [
        {"sourceVolume": "reports", "containerPath": "/srv/reports", "readOnly": True}
    ]
    own = ref(stack, "aws_security_group", "security/group", "id")
    ingress = stack["resource"]["aws_vpc_security_group_ingress_rule"]["shared_nfs_in"]
    assert (ingress["security_group_id"], ingress["referenced_security_group_id"], ingress["from_port"]) == (
        shared % "security_group_id", own, NFS_PORT
    )


def test_task_roles_may_mount_file_systems_under_the_boundary(synth: Synth) -> None:
    platform = synth.stack("dev-platform")
    (boundary,) = [p for p in resources(platform, "aws_iam_policy").values() if p["name"] == "dev-task-boundary"]
    statements = {s["sid"]: s for s in policy_document(platform, boundary["policy"])["statement"]}
    assert statements["FileSystems"]["actions"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert statements["FileSystems"]["resources"][0].endswith(":file-system/*")


# --- FireLens and the ADOT collector -------------------------------------------------------
def test_firelens_routes_the_service_logs_and_the_router_writes_only_its_own_group(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    task = containers(stack)
    assert list(task) == ["api", "log_router"]
    group = ref(stack, "aws_cloudwatch_log_group", "service/logs", "name")
    assert task["api"]["logConfiguration"]["options"]["log_group_name"] == group
    assert task["log_router"]["logConfiguration"]["options"]["awslogs-group"] == group
    statement = task_statements(stack)["LogRouterWritesOwnLogs"]
    assert statement["actions"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["resources"] == [f"arn:${{data.aws_partition.partition.partition}}:logs:us-east-1:${{data.aws_caller_identity.account.account_id}}:log-group:{group}:*"]
    scratch = [v["name"] for v in only(stack, "aws_ecs_task_definition")["volume"] if "efs_volume_configuration" not in v]
    assert scratch == ["tmp", "tmp-log_router"]


def test_tracing_grants_the_x_ray_writes_the_adot_sidecar_needs(synth: Synth) -> None:
    stack = synth.stack("dev-web")
    assert list(containers(stack)) == ["web", "statsd", "aws-otel-collector"]
    statement = task_statements(stack)["CollectorWritesTraces"]
    assert statement["actions"] == [
        "xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries", "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    ]
    assert statement["resources"] == ["*"]  # X-Ray has no resource-level permissions for them
    environment = {e["name"]: e["value"] for e in containers(stack)["web"]["environment"]}
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"


def test_services_without_firelens_or_tracing_grant_neither(synth: Synth) -> None:
    for service, absent in (("worker", ("LogRouterWritesOwnLogs", "CollectorWritesTraces")), ("api", ("CollectorWritesTraces",))):
        assert not set(absent) & set(task_statements(synth.stack(f"dev-{service}"))), service


def test_a_sidecar_secret_is_read_by_the_execution_role_like_the_services(tmp_path: Path) -> None:
    stack = _synth_web(tmp_path, sidecars=[{"name": "proxy", "image": "public.ecr.aws/nginx/nginx:1.27", "secrets": {"CERT": "secretsmanager:web/cert"}}])
    (proxy,) = [c for c in containers(stack).values() if c["name"] == "proxy"]
    assert proxy["secrets"][0]["valueFrom"].endswith(":secret:web/cert")
    (exec_policy,) = [p for p in resources(stack, "aws_iam_role_policy").values() if p["name"] == "task-execution"]
    statements = {s["sid"]: s for s in policy_document(stack, exec_policy["policy"])["statement"]}
    assert statements["ReadOwnSecrets"]["resources"][0].endswith(":secret:web/cert-??????")


def test_a_sidecar_reaches_other_services_by_reference_like_the_service(tmp_path: Path) -> None:
    from tests.config_builder import BACKEND

    project = Project(tmp_path).service("api", BACKEND, allow_from=["web"]).service(
        "web", sidecars=[{"name": "proxy", "image": "public.ecr.aws/nginx/nginx:1.27", "environment": {"UPSTREAM": "${service.api.url}"}}]
    )
    (web,) = [s for s in project.load().services["dev"] if s.name == "web"]
    assert web.sidecars[0].environment == {"UPSTREAM": "http://api.dev.internal:8081"}


# --- options that depend on the capacity ---------------------------------------------------
def _synth_web(tmp_path: Path, env: dict[str, Any] | None = None, **web: Any) -> dict[str, Any]:
    from infra.app import build_app

    project = Project(tmp_path).env(**(env or {})).service("web", **web)
    outdir = tmp_path / "out"
    build_app(project.load(), outdir=str(outdir), services=["web"], platform=False).synth()
    return Synth(outdir).stack("dev-web")


def test_fargate_tasks_get_more_ephemeral_storage_when_asked(tmp_path: Path) -> None:
    task = only(_synth_web(tmp_path, ephemeral_storage=50), "aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["ephemeral_storage"] == {"size_in_gib": 50}


def test_ec2_tasks_take_longer_stop_timeouts_other_ulimits_and_volumes(tmp_path: Path) -> None:
    """On EC2 capacity ECS documents no 120-second ceiling and keeps every ulimit; EFS volumes
    work as on Fargate (the ECS-optimized AMI's agent mounts them)."""
    stack = _synth_web(
        tmp_path,
        capacity="EC2",
        stop_timeout=300,
        ulimits=[{"name": "nproc", "soft": 512, "hard": 1024}, {"name": "nofile", "soft": 1024, "hard": 2000000}],
        volumes=[{"name": "cache", "path": "/var/cache/app"}],
    )
    task = only(stack, "aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["EC2"]
    assert "ephemeral_storage" not in task
    web = containers(stack)["web"]
    assert web["stopTimeout"] == 300
    assert web["ulimits"] == [
        {"name": "nproc", "softLimit": 512, "hardLimit": 1024}, {"name": "nofile", "softLimit": 1024, "hardLimit": 2000000}
    ]
    assert efs_volume(stack, "cache")["transit_encryption"] == "ENABLED"


def test_a_hyphenated_shared_file_system_is_read_by_name(tmp_path: Path) -> None:
    stack = _synth_web(
        tmp_path, env={"file_systems": [{"name": "team-data"}]}, volumes=[{"name": "team", "path": "/team", "file_system": "team-data"}]
    )
    (access_point,) = resources(stack, "aws_efs_access_point").values()
    assert access_point["file_system_id"].startswith("${data.terraform_remote_state.platform.outputs.file_systems")
    assert "team-data" in access_point["file_system_id"]
    assert set(stack["resource"]["aws_vpc_security_group_ingress_rule"]) >= {"team_data_nfs_in"}


def test_in_local_mode_the_file_system_apis_reach_the_emulator(tmp_path: Path) -> None:
    """`make local-deploy` points every API the stacks call at moto; EFS is one of them now (a
    missing key sends the provider to the real endpoint, which fails offline or, worse, not)."""
    from infra.app import build_app

    project = Project(tmp_path).service("web", volumes=[{"name": "data", "path": "/data"}])
    outdir = tmp_path / "out"
    build_app(project.load(local_endpoint="http://127.0.0.1:4566"), outdir=str(outdir), services=["web"], platform=False).synth()
    (provider,) = Synth(outdir).stack("dev-web")["provider"]["aws"]
    (endpoints,) = provider["endpoints"]
    assert endpoints["efs"] == "http://127.0.0.1:4566"
    assert set(endpoints.values()) == {"http://127.0.0.1:4566"}
