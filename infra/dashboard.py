"""The environment's CloudWatch dashboard `<env>-platform`.

One page: the load balancer (requests, 5xx, latency), CPU and memory of every ECS service,
the database (CPU, connections, free storage) and the backlog of every worker's queue.
Names follow the platform's conventions (cluster `<env>`, service and queue
`<env>-<service>`), so the dashboard needs no reference to the service stacks.

The body is `json.dumps(..., sort_keys=True)` of data built in a fixed order (services by
name), so the same configuration always gives the same text; the ALB's `arn_suffix` and
the database identifier are tokens that Terraform fills in inside that text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard

from infra.specs import EnvironmentSpec, ServiceKind, ServiceSpec

WIDTH, HEIGHT, COLUMNS = 12, 6, 2
PERIOD = 300


def service_resource_name(env: EnvironmentSpec, service: ServiceSpec) -> str:
    """The ECS service and the worker's SQS queue are both named `<env>-<service>`."""
    return f"{env.name}-{service.name}"


class Dashboard(Construct):
    """Typed outputs: `name`, `arn` (`dashboard_arn`), `body` (the JSON text, for tests)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        services: Sequence[ServiceSpec],
        alb_arn_suffix: str | None,
        db_identifier: str | None,
    ) -> None:
        super().__init__(scope, id_)
        self._region = env.region
        ordered = sorted(services, key=lambda s: s.name)
        cluster = env.name
        widgets: list[dict[str, Any]] = []

        if alb_arn_suffix is not None:
            lb = ["LoadBalancer", alb_arn_suffix]
            widgets.append(self._metrics("Load balancer: requests", "Sum", [
                ["AWS/ApplicationELB", "RequestCount", *lb, {"label": "requests"}],
            ]))
            widgets.append(self._metrics("Load balancer: 5xx", "Sum", [
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb, {"label": "ALB 5xx"}],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb, {"label": "target 5xx"}],
            ]))
            widgets.append(self._metrics("Load balancer: target response time (s)", "p99", [
                ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"label": "p99"}],
                ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"label": "average", "stat": "Average"}],
            ]))

        if ordered:
            for metric, title in (("CPUUtilization", "ECS services: CPU (%)"), ("MemoryUtilization", "ECS services: memory (%)")):
                widgets.append(self._metrics(title, "Average", [
                    ["AWS/ECS", metric, "ClusterName", cluster, "ServiceName", service_resource_name(env, s), {"label": s.name}]
                    for s in ordered
                ], y_max=100))

        if db_identifier is not None:
            db = ["DBInstanceIdentifier", db_identifier]
            widgets.append(self._metrics("Database: CPU (%)", "Average", [["AWS/RDS", "CPUUtilization", *db]], y_max=100))
            widgets.append(self._metrics("Database: connections", "Maximum", [["AWS/RDS", "DatabaseConnections", *db]]))
            widgets.append(self._metrics("Database: free storage (bytes)", "Minimum", [["AWS/RDS", "FreeStorageSpace", *db]]))

        workers = [s for s in ordered if s.kind is ServiceKind.WORKER]
        if workers:
            widgets.append(self._metrics("Worker queues: backlog (visible messages)", "Maximum", [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", service_resource_name(env, s), {"label": s.name}]
                for s in workers
            ]))
            widgets.append(self._metrics("Worker queues: age of oldest message (s)", "Maximum", [
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", service_resource_name(env, s), {"label": s.name}]
                for s in workers
            ]))

        for i, widget in enumerate(widgets):
            widget["x"] = (i % COLUMNS) * WIDTH
            widget["y"] = (i // COLUMNS) * HEIGHT
        self.body = json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
        dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=f"{env.name}-platform", dashboard_body=self.body)
        self.name = dashboard.dashboard_name
        self.arn = dashboard.dashboard_arn

    def _metrics(self, title: str, stat: str, metrics: list[list[Any]], *, y_max: int | None = None) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "title": title,
            "region": self._region,
            "view": "timeSeries",
            "stacked": False,
            "period": PERIOD,
            "stat": stat,
            "metrics": metrics,
        }
        if y_max is not None:
            properties["yAxis"] = {"left": {"min": 0, "max": y_max}}
        return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": properties}
