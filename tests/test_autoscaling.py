"""Application Auto Scaling per service: the policies each manifest asks for, and nothing else."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Synth, only, resources

SERVICES = ("web", "api", "worker")
REMOTE = re.compile(r"^\$\{data\.terraform_remote_state\.platform\.outputs\.([a-z0-9_]+)\}$")


def ref(stack: dict[str, Any], type_: str, suffix: str, attribute: str) -> str:
    """The interpolation of one attribute of the resource at */suffix."""
    (logical_id,) = [k for k, v in resources(stack, type_).items() if v["//"]["metadata"]["path"].endswith(suffix)]
    return f"${{{type_}.{logical_id}.{attribute}}}"


def platform_value(synth: Synth, env: str, value: str) -> Any:
    """What a service stack reads from the platform's contract (remote state) is in the platform stack."""
    match = REMOTE.match(value)
    assert match, f"{value!r} is not read from the platform's remote state"
    return synth.stack(f"{env}-platform")["output"][match.group(1)]["value"]


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
    assert (target["min_capacity"], target["max_capacity"]) == (low, high)


@pytest.mark.parametrize(
    "service, expected",
    [
        ("web", {"cpu": ("ECSServiceAverageCPUUtilization", 60), "requests": ("ALBRequestCountPerTarget", 500)}),
        ("api", {"cpu": ("ECSServiceAverageCPUUtilization", 60), "memory": ("ECSServiceAverageMemoryUtilization", 75)}),
        ("worker", {}),  # cpu_target = false; it scales on its queue
    ],
)
def test_target_tracking_policies_per_manifest(synth: Synth, service: str, expected: dict[str, tuple[str, int]]) -> None:
    stack = synth.stack(f"dev-{service}")
    tracking = {
        name.removeprefix(f"dev-{service}-"): p
        for name, p in policies(stack).items()
        if p["policy_type"] == "TargetTrackingScaling"
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
def test_worker_steps_out_on_the_backlog_and_in_when_the_queue_is_empty(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-worker")
    found = policies(stack)
    out = found[f"{env}-worker-backlog-out"]
    assert out["policy_type"] == "StepScaling"
    config = out["step_scaling_policy_configuration"]
    assert config["adjustment_type"] == "ChangeInCapacity"
    assert config["cooldown"] == 60
    steps = [
        (s.get("metric_interval_lower_bound"), s.get("metric_interval_upper_bound"), s["scaling_adjustment"])
        for s in config["step_adjustment"]
    ]
    assert steps == [("0", "50", 1), ("50", "200", 2), ("200", None, 4)]
    scale_in = found[f"{env}-worker-backlog-in"]["step_scaling_policy_configuration"]
    assert scale_in["cooldown"] == 300
    assert scale_in["step_adjustment"] == [{"metric_interval_upper_bound": "0", "scaling_adjustment": -1}]

    alarms = {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    queue_name = ref(stack, "aws_sqs_queue", "queues/queue", "name")
    high = alarms[f"{env}-worker-backlog-high"]
    assert (high["metric_name"], high["comparison_operator"], high["threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        "GreaterThanThreshold",
        50,
    )
    assert high["dimensions"] == {"QueueName": queue_name}
    assert high["alarm_actions"] == [ref(stack, "aws_appautoscaling_policy", "scaling/backlog-out", "arn")]
    empty = alarms[f"{env}-worker-backlog-empty"]
    assert (empty["comparison_operator"], empty["threshold"]) == ("LessThanOrEqualToThreshold", 0)
    assert empty["period"] * empty["evaluation_periods"] == 15 * 60
    assert empty["dimensions"] == {"QueueName": queue_name}
    assert empty["alarm_actions"] == [ref(stack, "aws_appautoscaling_policy", "scaling/backlog-in", "arn")]


@pytest.mark.parametrize("service", ["web", "api"])
def test_only_workers_get_step_scaling(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    assert all(p["policy_type"] == "TargetTrackingScaling" for p in policies(stack).values())
    assert not any("backlog" in a["alarm_name"] for a in resources(stack, "aws_cloudwatch_metric_alarm").values())


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
