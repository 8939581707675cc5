"""The service stacks: each sample service's resources and how they are wired to the platform."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import SECRET_LIKE
from tests.conftest import REMOTE, Synth, by_path, data_sources, env_of, jsondoc, logical_id, only, platform_ref, platform_value, ref, resources, spec_of, variable

SERVICES = ("web", "api", "worker")
HEALTH_PROBE = (
    "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen("
    "'http://127.0.0.1:{port}/health', timeout=3).status == 200 else 1)"
)

# What each sample service's stack holds in dev (types not listed: none).
EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "web": {
        "aws_cloudwatch_log_group": 2,  # service + build logs
        "aws_ssm_parameter": 1,
        "aws_ecs_task_definition": 1,
        "aws_ecs_service": 1,
        "aws_service_discovery_service": 1,
        "aws_lb_target_group": 1,
        "aws_lb_listener_rule": 1,
        "aws_cloudwatch_metric_alarm": 4,  # cpu, memory, 5xx, unhealthy hosts
        "aws_iam_role_policy": 5,  # execution, task (the trace collector's X-Ray writes), build, record, pipeline
        "aws_vpc_security_group_ingress_rule": 1,  # from the ALB
        "aws_vpc_security_group_egress_rule": 2,  # HTTPS out; the ALB's egress to it
        # what the service owns since it no longer lives in the platform
        "aws_ecr_repository": 1,
        "aws_ecr_lifecycle_policy": 1,
        "aws_iam_role": 5,  # exec, task, build, record, pipeline
        "aws_security_group": 1,
        "aws_appautoscaling_target": 1,
        "aws_appautoscaling_policy": 2,  # cpu, requests
        "aws_codebuild_project": 2,  # build, record
        "aws_codepipeline": 1,
    },
    "api": {
        "aws_cloudwatch_log_group": 2,
        "aws_ssm_parameter": 1,
        "aws_ecs_task_definition": 1,
        "aws_ecs_service": 1,
        "aws_service_discovery_service": 1,
        "aws_cloudwatch_metric_alarm": 3,  # cpu, memory, orders delivery failures
        "aws_sns_topic": 1,  # orders (publish)
        "aws_iam_role_policy": 5,  # execution (with the database secret), task (re-reads it, publishes), build, record, pipeline
        "aws_vpc_security_group_ingress_rule": 3,  # from web (allow_from); the database's from it; the shared file system's from it
        "aws_vpc_security_group_egress_rule": 4,  # HTTPS out, MySQL out, NFS out; web's egress to it
        "aws_efs_access_point": 1,  # its directory of the shared file system
        # what the service owns since it no longer lives in the platform
        "aws_ecr_repository": 1,
        "aws_ecr_lifecycle_policy": 1,
        "aws_iam_role": 5,  # exec, task, build, record, pipeline
        "aws_security_group": 1,
        "aws_appautoscaling_target": 1,
        "aws_appautoscaling_policy": 2,  # cpu, memory
        "aws_appautoscaling_scheduled_action": 2,
        "aws_codebuild_project": 2,  # build, record
        "aws_codepipeline": 1,
    },
    "worker": {
        "aws_cloudwatch_log_group": 2,
        "aws_ssm_parameter": 1,
        "aws_ecs_task_definition": 1,
        "aws_ecs_service": 1,
        "aws_service_discovery_service": 1,
        "aws_sqs_queue": 2,  # the queue's policy admits SNS for api's orders (subscribe)
        "aws_sqs_queue_redrive_allow_policy": 1,
        "aws_sns_topic_subscription": 1,  # api.orders
        "aws_cloudwatch_metric_alarm": 4,  # cpu, memory, queue age, DLQ
        "aws_iam_role_policy": 5,  # execution, task (its queue), build, record, pipeline
        "aws_vpc_security_group_egress_rule": 2,  # HTTPS out, NFS to its file system; no ingress to it
        "aws_vpc_security_group_ingress_rule": 1,  # its file system's mount targets admit it
        # its own EFS volume: file system, policy, mount targets (one resource, an instance per zone), access point
        "aws_efs_file_system": 1,
        "aws_efs_file_system_policy": 1,
        "aws_efs_mount_target": 1,
        "aws_efs_access_point": 1,
        # what the service owns since it no longer lives in the platform
        "aws_ecr_repository": 1,
        "aws_ecr_lifecycle_policy": 1,
        "aws_iam_role": 5,  # exec, task, build, record, pipeline
        "aws_security_group": 2,  # its tasks, its file system's mount targets
        "aws_appautoscaling_target": 1,
        "aws_appautoscaling_policy": 1,  # backlog per running task
        "aws_codebuild_project": 2,  # build, record
        "aws_codepipeline": 1,
    },
}


def container(stack: dict[str, Any]) -> dict[str, Any]:
    """The service's own container: the first of its task (sidecars follow it)."""
    task = only(stack, "aws_ecs_task_definition")
    definition = jsondoc(task["container_definitions"])[0]
    assert task["family"].endswith(f"-{definition['name']}")
    return definition


def env_vars(definition: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in definition.get("environment", [])}


def _keys(value: Any) -> list[str]:
    """Every mapping key in a JSON structure, recursively."""
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *_keys(v))]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


# --- the stack as a whole ----------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_service_stack_holds_exactly_its_resources(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    counts = {type_: len(items) for type_, items in stack["resource"].items()}
    assert counts == EXPECTED_COUNTS[service]


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_account_and_partition_come_from_data_sources(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    for type_ in ("aws_caller_identity", "aws_partition"):
        assert len(data_sources(stack, type_)) == 1, type_


# --- task definition ---------------------------------------------------------------
@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_task_definition_runs_with_the_roles_of_its_own_stack(synth: Synth, env: str, service: str) -> None:
    task = only(synth.stack(f"{env}-{service}"), "aws_ecs_task_definition")
    spec = spec_of(env, service)
    assert task["family"] == f"{env}-{service}"
    assert task["network_mode"] == "awsvpc"
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert (task["cpu"], task["memory"]) == (str(spec.cpu), str(spec.memory))
    assert task["runtime_platform"] == {"cpu_architecture": "X86_64", "operating_system_family": "LINUX"}
    stack = synth.stack(f"{env}-{service}")
    assert task["execution_role_arn"] == ref(stack, "aws_iam_role", "service/iam/exec", "arn")
    assert task["task_role_arn"] == ref(stack, "aws_iam_role", "service/iam/task", "arn")
    # Each container's own /tmp, then the EFS volumes (tests/test_containers.py).
    scratch = {"web": ["tmp", "tmp-statsd", "tmp-aws-otel-collector"], "api": ["tmp", "tmp-log_router"], "worker": ["tmp"]}
    assert [v["name"] for v in task["volume"] if "efs_volume_configuration" not in v] == scratch[service]
    assert [v["name"] for v in task["volume"] if "efs_volume_configuration" in v] == {"api": ["reports"], "worker": ["spool"]}.get(service, [])


@pytest.mark.parametrize(
    "service, port, stop_timeout", [("web", 8080, None), ("api", 8081, None), ("worker", 8082, 90)]
)
def test_container_definition(synth: Synth, service: str, port: int, stop_timeout: int | None) -> None:
    stack = synth.stack(f"dev-{service}")
    definition = container(stack)
    assert definition["name"] == service
    assert definition["essential"] is True
    # api serves Service Connect: its port mapping is named (tests/test_domains.py).
    served = {"name": "api", "appProtocol": "http"} if service == "api" else {}
    assert definition["portMappings"] == [{"containerPort": port, "protocol": "tcp", **served}]
    assert definition["readonlyRootFilesystem"] is True
    assert definition["mountPoints"][0] == {"containerPath": "/tmp", "readOnly": False, "sourceVolume": "tmp"}
    assert definition["user"] == "10001"
    assert definition["healthCheck"]["command"] == ["CMD", "python", "-c", HEALTH_PROBE.format(port=port)]
    awslogs = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": ref(stack, "aws_cloudwatch_log_group", "service/logs", "name"),
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": service,
        },
    }
    if service == "api":  # [logging] driver = "firelens": awslogs is the log router's (tests/test_containers.py)
        (router,) = [c for c in jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"]) if c["name"] == "log_router"]
        assert router["logConfiguration"] == awslogs
        assert definition["logConfiguration"]["logDriver"] == "awsfirelens"
    else:
        assert definition["logConfiguration"] == awslogs
    assert definition.get("stopTimeout") == stop_timeout
    assert "linuxParameters" not in definition  # enable_exec is off in every sample
    assert "privileged" not in definition


@pytest.mark.parametrize("service", SERVICES)
def test_container_definitions_are_terraform_jsonencode_with_sorted_environment(synth: Synth, service: str) -> None:
    """An expression, not JSON text (infra.expressions: the HCL output carries it too); Terraform
    writes the text, compact and with sorted keys."""
    text = only(synth.stack(f"dev-{service}"), "aws_ecs_task_definition")["container_definitions"]
    assert text.startswith("${jsonencode([{") and isinstance(jsondoc(text), list)
    names = [item["name"] for item in container(synth.stack(f"dev-{service}")).get("environment", [])]
    assert names == sorted(names)


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_log_group_is_encrypted_with_the_platform_key(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    logs = [r for r in resources(stack, "aws_cloudwatch_log_group").values() if r["name"] == f"/ecs/{env}/{service}"]
    assert len(logs) == 1
    assert logs[0]["retention_in_days"] == env_of(env).observability.log_retention_days
    assert platform_value(synth, env, logs[0]["kms_key_id"]) == platform_ref(synth, env, "aws_kms_key", "key/key", "arn")


# --- image -------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_image_is_its_own_repository_at_the_tag_the_parameter_holds(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    parameter = only(stack, "aws_ssm_parameter")
    assert parameter["name"] == f"/ecs-platform/dev/{service}/image-tag"
    # Issue #13 (9): an image tag is not a secret; read as insecure_value it shows in plans.
    assert parameter["insecure_value"] == "bootstrap"
    assert parameter["lifecycle"] == {"ignore_changes": ["insecure_value"]}
    assert parameter["type"] == "String"
    assert "value" not in parameter and "key_id" not in parameter

    # The recorded digest (or the initial tag), unless an operator pins one with -var image_tag
    # (infra.service.variables): `<repository>@sha256:...` for a digest, `<repository>:<tag>` else.
    recorded = ref(stack, "aws_ssm_parameter", "service/image-tag", "insecure_value")
    reference = "coalesce(var.image_tag, " + recorded[2:-1] + ")"
    repository = ref(stack, "aws_ecr_repository", "service/registry/repository", "repository_url")
    assert container(stack)["image"] == f'{repository}${{startswith({reference}, "sha256:") ? "@" : ":"}}${{{reference}}}'
    assert stack["variable"]["image_tag"]["default"] is None


# --- secrets -----------------------------------------------------------------------
def test_api_reads_the_database_through_platform_outputs_and_its_secret_through_ecs(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    definition = container(stack)
    variables = env_vars(definition)
    assert platform_value(synth, "dev", variables["DB_HOST"]) == platform_ref(
        synth, "dev", "aws_db_instance", "database/instance", "address"
    )
    port = variables["DB_PORT"]  # a number output, made a string: ECS wants strings
    assert port.startswith("${tostring(") and platform_value(synth, "dev", "${" + port[len("${tostring(") : -2] + "}") == 3306
    assert platform_value(synth, "dev", variables["DB_NAME"]) == "app"
    assert variables["LOG_LEVEL"] == "info"
    assert "DB_SECRET" not in variables
    # Issue #13 (6): the app re-reads the rotated secret by ARN, with its task role.
    assert variables["DB_SECRET_ARN"] == "${data.terraform_remote_state.platform.outputs.database_secret_arn}"
    task_policy = by_path(stack, "aws_iam_role_policy", "iam/task-policy")
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[task_policy["policy"].split(".")[2]]["statement"]}
    assert statements["ReadRotatedDatabaseSecret"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert statements["ReadRotatedDatabaseSecret"]["resources"] == [variables["DB_SECRET_ARN"]]

    (secret,) = definition["secrets"]
    assert set(secret) == {"name", "valueFrom"}
    assert secret["name"] == "DB_SECRET"
    secret_arn = platform_ref(synth, "dev", "aws_db_instance", "database/instance", "master_user_secret[0].secret_arn")
    assert platform_value(synth, "dev", secret["valueFrom"]) == secret_arn


def test_execution_role_may_read_exactly_the_database_secret(synth: Synth) -> None:
    stack = synth.stack("dev-api")
    policies = {p["name"]: p for p in resources(stack, "aws_iam_role_policy").values()}
    policy = policies["task-execution"]
    assert policy["role"] == ref(stack, "aws_iam_role", "service/iam/exec", "id")
    document_id = policy["policy"].split(".")[2]
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[document_id]["statement"]}
    assert set(statements) == {"EcrLogin", "PullOwnImage", "WriteOwnLogs", "ReadOwnSecrets", "DecryptWithPlatformKey"}
    assert statements["ReadOwnSecrets"]["actions"] == ["secretsmanager:GetSecretValue"]
    (resource,) = statements["ReadOwnSecrets"]["resources"]
    assert resource == container(stack)["secrets"][0]["valueFrom"]
    assert statements["DecryptWithPlatformKey"]["actions"] == ["kms:Decrypt"]


@pytest.mark.parametrize("service", ["web", "worker"])
def test_services_without_secrets_get_no_secret_statement(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    assert "secrets" not in container(stack)
    sids = {s.get("sid") for d in data_sources(stack, "aws_iam_policy_document").values() for s in d["statement"]}
    assert "ReadOwnSecrets" not in sids and "ReadOwnParameters" not in sids


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_no_secret_value_is_read_or_written_anywhere(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    for reader in ("aws_secretsmanager_secret_version", "aws_ssm_parameter", "aws_secretsmanager_secret"):
        assert reader not in stack.get("data", {}), reader
    assert "aws_secretsmanager_secret_version" not in stack["resource"]
    assert not [key for key in _keys(stack["resource"]) if "password" in key.lower()]
    definition = container(stack)
    for name, value in env_vars(definition).items():
        if name == "DB_SECRET_ARN":  # where the app re-reads the rotated secret: an ARN, never a value
            assert value == "${data.terraform_remote_state.platform.outputs.database_secret_arn}"
            continue
        assert not SECRET_LIKE.search(name), name
        assert "secret" not in value, (name, value)
    # The database secret only ever appears as a reference: in valueFrom and the policy.
    for item in definition.get("secrets", []):
        assert REMOTE.match(item["valueFrom"]) or item["valueFrom"].startswith("arn:")


# --- queue (worker) ----------------------------------------------------------------
def test_worker_has_a_queue_a_dead_letter_queue_and_a_redrive(synth: Synth) -> None:
    stack = synth.stack("dev-worker")
    queues = {q["name"]: q for q in resources(stack, "aws_sqs_queue").values()}
    assert set(queues) == {"dev-worker", "dev-worker-dlq"}
    queue, dlq = queues["dev-worker"], queues["dev-worker-dlq"]
    key = platform_ref(synth, "dev", "aws_kms_key", "key/key", "arn")
    for q in (queue, dlq):
        assert platform_value(synth, "dev", q["kms_master_key_id"]) == key
        assert q["kms_data_key_reuse_period_seconds"] == 300
    assert queue["visibility_timeout_seconds"] == 120
    assert queue["message_retention_seconds"] == 345600
    assert dlq["message_retention_seconds"] == 14 * 24 * 3600
    dlq_arn = ref(stack, "aws_sqs_queue", "service/queues/dlq", "arn")
    assert jsondoc(queue["redrive_policy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    allow = only(stack, "aws_sqs_queue_redrive_allow_policy")
    assert allow["queue_url"] == ref(stack, "aws_sqs_queue", "service/queues/dlq", "url")
    # Only the worker's own queue may use the DLQ: its ARN built from its name, so the policy
    # does not wait for the queue's creation (infra/service/queue.py).
    assert jsondoc(allow["redrive_allow_policy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [
            "arn:${data.aws_partition.partition.partition}:sqs:us-east-1:${data.aws_caller_identity.account.account_id}:dev-worker"
        ],
    }
    assert env_vars(container(stack))["QUEUE_URL"] == ref(stack, "aws_sqs_queue", "service/queues/queue", "url")


def test_worker_task_role_may_consume_only_its_queue(synth: Synth) -> None:
    stack = synth.stack("dev-worker")
    policy = {p["name"]: p for p in resources(stack, "aws_iam_role_policy").values()}["application"]
    assert policy["role"] == ref(stack, "aws_iam_role", "service/iam/task", "id")
    document_id = policy["policy"].split(".")[2]
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[document_id]["statement"]}
    assert statements["ConsumeOwnQueue"]["actions"] == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert statements["ConsumeOwnQueue"]["resources"] == [ref(stack, "aws_sqs_queue", "service/queues/queue", "arn")]
    assert statements["QueueKey"]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert not any("*" in r for s in statements.values() for r in s["resources"])


@pytest.mark.parametrize("service", ["web", "api"])
def test_only_workers_have_queues(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    assert not resources(stack, "aws_sqs_queue")
    assert "QUEUE_URL" not in env_vars(container(stack))


# --- load balancing (web) ----------------------------------------------------------
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_web_gets_a_target_group_and_a_listener_rule(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-web")
    # Service rules go to the HTTPS listener when there is a certificate, else to HTTP.
    listener = "alb/https" if env_of(env).load_balancer.https else "alb/http"
    spec = spec_of(env, "web")
    group = by_path(stack, "aws_lb_target_group", "service/route/target-group")
    assert (group["name"], group["port"], group["protocol"], group["target_type"]) == (f"{env}-web", 8080, "HTTP", "ip")
    assert group["deregistration_delay"] == "30"
    assert platform_value(synth, env, group["vpc_id"]) == platform_ref(synth, env, "aws_vpc", "network/vpc", "id")
    assert group["health_check"] == {
        "enabled": True,
        "protocol": "HTTP",
        "port": "traffic-port",
        "path": "/health",
        "interval": 30,
        "timeout": 5,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
        "matcher": "200-399",
    }
    rule = by_path(stack, "aws_lb_listener_rule", "service/route/listener-rule")
    assert spec.route is not None
    assert rule["priority"] == spec.route.priority
    # prod's web answers its custom domain too (tests/test_domains.py).
    hosts = [{"host_header": {"values": ["shop.example.com"]}}] if env == "prod" else []
    assert rule["condition"] == [{"path_pattern": {"values": ["/*"]}}, *hosts]
    assert rule["action"] == [
        {"type": "forward", "target_group_arn": ref(stack, "aws_lb_target_group", "service/route/target-group", "arn")}
    ]
    assert platform_value(synth, env, rule["listener_arn"]) == platform_ref(synth, env, "aws_lb_listener", listener, "arn")
    # Blue/green in prod: CodeDeploy moves the rule between the two target groups, so Terraform
    # leaves its action alone (infra.service.route); rolling in dev: Terraform owns it.
    assert rule.get("lifecycle") == ({"ignore_changes": ["action"]} if spec.deployment.blue_green else None)


def test_catch_all_route_gets_a_late_priority_derived_from_the_name(synth: Synth) -> None:
    from infra.config import default_priority

    rule = only(synth.stack("dev-web"), "aws_lb_listener_rule")
    assert rule["priority"] == default_priority("web", ["/*"], []) > 49000


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_web_service_is_attached_to_its_target_group_after_the_rule_exists(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-web")
    service = only(stack, "aws_ecs_service")
    assert service["load_balancer"] == [
        {
            "container_name": "web",
            "container_port": 8080,
            "target_group_arn": ref(stack, "aws_lb_target_group", "service/route/target-group", "arn"),
        }
    ]
    assert service["health_check_grace_period_seconds"] == 30
    assert service["depends_on"][0] == f"aws_lb_listener_rule.{logical_id(stack, 'aws_lb_listener_rule', 'service/route/listener-rule')}"


@pytest.mark.parametrize("service, policies", [("api", ["iam/exec-policy", "iam/task-policy"]), ("worker", ["iam/exec-policy", "iam/task-policy"])])
def test_service_starts_only_once_its_tasks_may_read_their_secrets_and_queue(synth: Synth, service: str, policies: list[str]) -> None:
    stack = synth.stack(f"dev-{service}")
    ecs = only(stack, "aws_ecs_service")
    policy_ids = [f"aws_iam_role_policy.{logical_id(stack, 'aws_iam_role_policy', p)}" for p in policies]
    assert ecs["depends_on"][: len(policy_ids)] == policy_ids
    # Then what its EFS volume needs to mount (tests/test_containers.py): nothing else.
    assert all(d.startswith(("aws_efs_", "aws_vpc_security_group_")) for d in ecs["depends_on"][len(policy_ids):])


@pytest.mark.parametrize("service", ["api", "worker"])
def test_backend_and_worker_are_not_behind_the_load_balancer(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    assert not resources(stack, "aws_lb_target_group")
    assert not resources(stack, "aws_lb_listener_rule")
    ecs = only(stack, "aws_ecs_service")
    assert "load_balancer" not in ecs
    assert "health_check_grace_period_seconds" not in ecs
    assert not any("aws_lb_listener_rule" in d for d in ecs.get("depends_on", []))


# --- discovery and the ECS service -------------------------------------------------
@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_service_registers_in_cloud_map(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    discovery = only(stack, "aws_service_discovery_service")
    assert discovery["name"] == service
    dns = discovery["dns_config"]
    assert platform_value(synth, env, dns["namespace_id"]) == platform_ref(
        synth, env, "aws_service_discovery_private_dns_namespace", "discovery/namespace", "id"
    )
    assert dns["dns_records"] == [{"ttl": 10, "type": "A"}]
    assert dns["routing_policy"] == "MULTIVALUE"
    assert discovery["health_check_custom_config"] == {"failure_threshold": 1}
    ecs = only(stack, "aws_ecs_service")
    assert ecs["service_registries"] == {
        "registry_arn": ref(stack, "aws_service_discovery_service", "service/discovery", "arn")
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_ecs_service_runs_privately_with_a_rolling_back_circuit_breaker(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    ecs = only(stack, "aws_ecs_service")
    spec = spec_of(env, service)
    assert ecs["name"] == f"{env}-{service}"
    assert platform_value(synth, env, ecs["cluster"]) == platform_ref(synth, env, "aws_ecs_cluster", "cluster/cluster", "arn")
    assert ecs["task_definition"] == ref(stack, "aws_ecs_task_definition", "service/task", "arn")
    if spec.deployment.blue_green:
        # prod-web: CodeDeploy's controller; no circuit breaker or ECS alarms (ECS controller only).
        assert ecs["deployment_controller"] == {"type": "CODE_DEPLOY"}
        assert "deployment_circuit_breaker" not in ecs and "alarms" not in ecs
        assert ecs["lifecycle"] == {"ignore_changes": ["desired_count", "task_definition", "load_balancer"]}
    else:
        assert "deployment_controller" not in ecs
        assert ecs["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
        purposes = {"web": ["http-5xx", "unhealthy-hosts"]}.get(service, ["cpu-high", "memory-high"])
        assert ecs["alarms"] == {
            "alarm_names": [ref(stack, "aws_cloudwatch_metric_alarm", f"alarms/{p}", "alarm_name") for p in purposes],
            "enable": True,
            "rollback": True,
        }
        assert ecs["lifecycle"] == {"ignore_changes": ["desired_count"]}
    assert ecs["deployment_minimum_healthy_percent"] == 100
    assert ecs["deployment_maximum_percent"] == 200
    assert variable(stack, ecs["desired_count"], "desired_count") == spec.desired_count
    assert ecs["enable_execute_command"] is False
    assert ecs["propagate_tags"] == "SERVICE"
    assert ecs["enable_ecs_managed_tags"] is True
    assert ecs["wait_for_steady_state"] is False
    network = ecs["network_configuration"]
    assert network["assign_public_ip"] is False
    (group,) = network["security_groups"]
    assert group == ref(stack, "aws_security_group", "service/security/group", "id")
    subnets = platform_value(synth, env, network["subnets"])
    azs = 2 if env == "dev" else 3
    assert subnets == [platform_ref(synth, env, "aws_subnet", f"network/private-{i}", "id") for i in range(azs)]
    assert "ordered_placement_strategy" not in ecs  # Fargate only in the samples


@pytest.mark.parametrize(
    "env, service, strategy",
    [
        ("dev", "web", [("FARGATE", 1, 1), ("FARGATE_SPOT", 3, 0)]),
        ("dev", "worker", [("FARGATE_SPOT", 1, 0)]),
        ("prod", "api", [("FARGATE", 1, 0)]),
        ("prod", "worker", [("FARGATE", 1, 1), ("FARGATE_SPOT", 2, 0)]),
    ],
)
def test_capacity_provider_strategy_follows_the_manifest(
    synth: Synth, env: str, service: str, strategy: list[tuple[str, int, int]]
) -> None:
    ecs = only(synth.stack(f"{env}-{service}"), "aws_ecs_service")
    assert [(s["capacity_provider"], s["weight"], s["base"]) for s in ecs["capacity_provider_strategy"]] == strategy


# --- alarms ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "service, expected",
    [
        ("web", {"cpu-high": 85, "memory-high": 85, "http-5xx": 10, "unhealthy-hosts": 0}),
        ("api", {"cpu-high": 85, "memory-high": 85}),
        ("worker", {"cpu-high": 85, "memory-high": 85, "queue-age": 900, "dlq-not-empty": 0}),
    ],
)
def test_service_alarms_notify_the_platform_topic(synth: Synth, service: str, expected: dict[str, int]) -> None:
    stack = synth.stack(f"dev-{service}")
    alarms = {
        a["alarm_name"].removeprefix(f"dev-{service}-"): a
        for a in resources(stack, "aws_cloudwatch_metric_alarm").values()
        if "/service/alarms/" in a["//"]["metadata"]["path"]
    }
    assert {name: a["threshold"] for name, a in alarms.items()} == expected
    topic = platform_ref(synth, "dev", "aws_sns_topic", "alarms/topic", "arn")
    # By name, not a reference: the service names some of them as its rollback alarms.
    service_name = only(stack, "aws_ecs_service")["name"]
    assert service_name == f"dev-{service}"
    for name, alarm in alarms.items():
        assert [platform_value(synth, "dev", a) for a in alarm["alarm_actions"]] == [topic], name
        assert alarm["treat_missing_data"] == "notBreaching"
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
    for name in ("cpu-high", "memory-high"):
        assert alarms[name]["namespace"] == "AWS/ECS"
        assert platform_value(synth, "dev", alarms[name]["dimensions"]["ClusterName"]).startswith("${aws_ecs_cluster.")
        assert alarms[name]["dimensions"]["ServiceName"] == service_name


def test_web_5xx_alarm_watches_its_own_target_group(synth: Synth) -> None:
    stack = synth.stack("dev-web")
    alarm = next(a for a in resources(stack, "aws_cloudwatch_metric_alarm").values() if a["alarm_name"] == "dev-web-http-5xx")
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        "Sum",
    )
    dims = alarm["dimensions"]
    assert platform_value(synth, "dev", dims["LoadBalancer"]) == platform_ref(synth, "dev", "aws_lb", "alb/alb", "arn_suffix")
    assert dims["TargetGroup"] == ref(stack, "aws_lb_target_group", "service/route/target-group", "arn_suffix")


def test_worker_queue_alarms_watch_the_queue_age_and_the_dead_letter_queue(synth: Synth) -> None:
    stack = synth.stack("dev-worker")
    alarms = {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    age = alarms["dev-worker-queue-age"]
    assert (age["namespace"], age["metric_name"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert age["dimensions"] == {"QueueName": ref(stack, "aws_sqs_queue", "service/queues/queue", "name")}
    dlq = alarms["dev-worker-dlq-not-empty"]
    assert dlq["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["dimensions"] == {"QueueName": ref(stack, "aws_sqs_queue", "service/queues/dlq", "name")}
