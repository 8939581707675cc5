"""Application Auto Scaling per service: the policies each manifest asks for, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.config_builder import Project

from tests.conftest import Synth, only, platform_value, ref, resources, variable

SERVICES = ("web", "api", "worker")


def policies(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in resources(stack, "aws_appautoscaling_policy").values()}


@pytest.mark.parametrize(
    "env, service, low, high",
    [
        ("dev", "web", 2, 6),
        ("dev", "api", 1, 4),
        ("dev", "worker", 1, 5),
        ("prod", "web", 3, 12),
        ("prod", "api", 3, 10),
        ("prod", "worker", 1, 10),
    ],
)
def test_scalable_target_is_the_ecs_service_with_the_manifest_bounds(
    synth: Synth, env: str, service: str, low: int, high: int
) -> None:
    stack = synth.stack(f"{env}-{service}")
    target = only(stack, "aws_appautoscaling_target")
    service_name = ref(stack, "aws_ecs_service", "service/service", "name")
    prefix, cluster, name = target["resource_id"].split("/")
    assert (prefix, name) == ("service", service_name)
    # The cluster comes from the platform's contract: the environment's own cluster.
    assert platform_value(synth, env, cluster) == ref(synth.stack(f"{env}-platform"), "aws_ecs_cluster", "cluster/cluster", "name")
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    assert target["service_namespace"] == "ecs"
    # Operators' knobs (infra.service.variables), the manifest's bounds without -var.
    assert variable(stack, target["min_capacity"], "min_count") == low
    assert variable(stack, target["max_capacity"], "max_count") == high


@pytest.mark.parametrize(
    "service, expected",
    [
        ("web", {"cpu": ("ECSServiceAverageCPUUtilization", 60), "requests": ("ALBRequestCountPerTarget", 500)}),
        ("api", {"cpu": ("ECSServiceAverageCPUUtilization", 60), "memory": ("ECSServiceAverageMemoryUtilization", 75)}),
        ("worker", {}),  # cpu_target = false; it scales on its queue (metric math, below)
    ],
)
def test_target_tracking_policies_per_manifest(synth: Synth, service: str, expected: dict[str, tuple[str, int]]) -> None:
    stack = synth.stack(f"dev-{service}")
    tracking = {
        name.removeprefix(f"dev-{service}-"): p
        for name, p in policies(stack).items()
        if "predefined_metric_specification" in p["target_tracking_scaling_policy_configuration"]
    }
    found = {
        purpose: (
            p["target_tracking_scaling_policy_configuration"]["predefined_metric_specification"]["predefined_metric_type"],
            p["target_tracking_scaling_policy_configuration"]["target_value"],
        )
        for purpose, p in tracking.items()
    }
    assert found == expected
    target = ref(stack, "aws_appautoscaling_target", "scaling/target", "resource_id")
    for policy in tracking.values():
        assert policy["resource_id"] == target
        config = policy["target_tracking_scaling_policy_configuration"]
        assert (config["scale_in_cooldown"], config["scale_out_cooldown"]) == (300, 60)


def test_request_count_tracking_is_labelled_with_the_alb_and_the_target_group(synth: Synth) -> None:
    stack = synth.stack("dev-web")
    spec = policies(stack)["dev-web-requests"]["target_tracking_scaling_policy_configuration"]
    alb, group = spec["predefined_metric_specification"]["resource_label"].split("}/")
    assert platform_value(synth, "dev", alb + "}") == ref(synth.stack("dev-platform"), "aws_lb", "alb/alb", "arn_suffix")
    assert group == ref(stack, "aws_lb_target_group", "route/target-group", "arn_suffix")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_worker_tracks_its_backlog_per_running_task_both_ways(synth: Synth, env: str) -> None:
    """Issue #13 (5): not total visible messages (which ratchets up and scales in only on an
    empty queue) but visible messages per running task, by metric math, in both directions."""
    stack = synth.stack(f"{env}-worker")
    found = policies(stack)
    assert set(found) == {f"{env}-worker-backlog"}  # the sample worker turns cpu_target off
    policy = found[f"{env}-worker-backlog"]
    assert policy["policy_type"] == "TargetTrackingScaling"
    config = policy["target_tracking_scaling_policy_configuration"]
    assert config["target_value"] == 50
    assert "disable_scale_in" not in config
    assert (config["scale_in_cooldown"], config["scale_out_cooldown"]) == (300, 60)
    metrics = {m["id"]: m for m in config["customized_metric_specification"]["metrics"]}
    assert metrics["backlog_per_task"]["expression"] == "IF(tasks > 0, visible / tasks, visible)"
    assert [m["id"] for m in metrics.values() if m["return_data"]] == ["backlog_per_task"]
    visible = metrics["visible"]["metric_stat"]["metric"]
    assert (visible["namespace"], visible["metric_name"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert visible["dimensions"] == [{"name": "QueueName", "value": ref(stack, "aws_sqs_queue", "queues/queue", "name")}]
    tasks = metrics["tasks"]["metric_stat"]["metric"]
    assert (tasks["namespace"], tasks["metric_name"]) == ("ECS/ContainerInsights", "RunningTaskCount")
    assert tasks["dimensions"] == [
        {"name": "ClusterName", "value": "${data.terraform_remote_state.platform.outputs.cluster_name}"},
        {"name": "ServiceName", "value": ref(stack, "aws_ecs_service", "service/service", "name")},
    ]
    # No alarm drives scaling any more: the worker's alarms are its own (CPU, memory, queue age, DLQ).
    assert not [a for a in resources(stack, "aws_cloudwatch_metric_alarm").values() if "backlog" in a["alarm_name"]]


def test_a_latency_target_becomes_the_backlog_per_task(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`[scaling.queue_delay]`: 10 minutes acceptable at 250 ms a message = 2400 messages per task."""
    manifest = 'kind = "worker"\nport = 8082\ncpu = 256\nmemory = 512\n[scaling.queue_delay]\nacceptable_latency = 600\nmsg_processing_ms = 250\n'
    (spec,) = Project(tmp_path).without_service("web").manifest("jobs", manifest).load().services["dev"]
    assert spec.scaling.queue_backlog_per_task == 2400


@pytest.mark.parametrize("service", ["web", "api"])
def test_only_workers_track_a_queue(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    assert all("customized_metric_specification" not in p["target_tracking_scaling_policy_configuration"] for p in policies(stack).values())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_api_schedules_change_the_bounds_in_its_time_zone(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-api")
    actions = {a["name"]: a for a in resources(stack, "aws_appautoscaling_scheduled_action").values()}
    assert set(actions) == {f"{env}-api-business-hours", f"{env}-api-night"}
    morning = actions[f"{env}-api-business-hours"]
    assert morning["schedule"] == "cron(0 7 ? * MON-FRI *)"
    assert morning["timezone"] == "Europe/Berlin"
    # prod sets its own schedules, never below its min_count of 3 (issue #13 (4)).
    morning_bounds, night_bounds = {"dev": (("2", "4"), ("1", "2")), "prod": (("4", "10"), ("3", "6"))}[env]
    assert morning["scalable_target_action"] == dict(zip(("min_capacity", "max_capacity"), morning_bounds))
    assert actions[f"{env}-api-night"]["scalable_target_action"] == dict(zip(("min_capacity", "max_capacity"), night_bounds))
    target = ref(stack, "aws_appautoscaling_target", "scaling/target", "resource_id")
    assert all(a["resource_id"] == target for a in actions.values())


@pytest.mark.parametrize("service", ["web", "worker"])
def test_services_without_schedules_get_no_scheduled_actions(synth: Synth, service: str) -> None:
    assert not resources(synth.stack(f"dev-{service}"), "aws_appautoscaling_scheduled_action")


def test_fails_when_a_worker_tracks_its_backlog_without_container_insights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from infra.config import ConfigError

    worker = 'kind = "worker"\nport = 8082\ncpu = 256\nmemory = 512\n'
    built = Project(tmp_path).without_service("web").env("dev", cluster={"container_insights": False})
    with pytest.raises(ConfigError) as info:
        built.manifest("jobs", worker + "[scaling]\nqueue_backlog_per_task = 10\n").load()
    assert str(info.value).startswith("services/jobs/service.toml: scaling.queue_backlog_per_task: needs the running task count")
    # Without the explicit setting the worker keeps CPU scaling and no backlog default.
    (spec,) = built.manifest("jobs", worker).load().services["dev"]
    assert spec.scaling.queue_backlog_per_task is None and spec.scaling.cpu_target == 60
