"""The environment's CloudWatch dashboard `<env>-platform`.

One page: the load balancer (requests, 5xx, latency), CPU and memory of every ECS service,
the database (CPU, connections, free storage) and the backlog of every worker's queue.
Services and queues are found by CloudWatch search expressions over the platform's naming
conventions (cluster `<env>`, queues `<env>-<service>`), not listed one by one: adding or
removing a service must not change a resource of the platform stack.

The body is Terraform's `jsonencode` of data built in a fixed order (infra.expressions: so the
HCL output carries it too), so the same configuration always gives the same text; the ALB's
`arn_suffix` and the database identifier are references inside that document.
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard

from infra import naming
from infra.naming import Names
from infra.config.specs import EnvironmentSpec
from infra.expressions import jsonencode

WIDTH, HEIGHT, COLUMNS = 12, 6, 2
PERIOD = 300


class Dashboard(Construct):
    """Typed outputs: `name`, `arn` (`dashboard_arn`), `document` (the body as data, for tests)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        alb_arn_suffix: str | None,
        db_identifier: str | None,
    ) -> None:
        super().__init__(scope, id_)
        self._region = env.region
        names = Names.of(self)
        cluster = naming.PREFIX  # the cluster's name, and the first word of every queue's
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

        for metric, title in (("CPUUtilization", "ECS services: CPU (%)"), ("MemoryUtilization", "ECS services: memory (%)")):
            widgets.append(self._metrics(title, "Average", [
                [{"expression": self._search("{AWS/ECS,ClusterName,ServiceName}", metric, f'ClusterName="{cluster}"', "Average"),
                  "id": "services", "label": ""}],
            ], y_max=100))

        if db_identifier is not None:
            db = ["DBInstanceIdentifier", db_identifier]
            widgets.append(self._metrics("Database: CPU (%)", "Average", [["AWS/RDS", "CPUUtilization", *db]], y_max=100))
            widgets.append(self._metrics("Database: connections", "Maximum", [["AWS/RDS", "DatabaseConnections", *db]]))
            widgets.append(self._metrics("Database: free storage (bytes)", "Minimum", [["AWS/RDS", "FreeStorageSpace", *db]]))

        for metric, title in (
            ("ApproximateNumberOfMessagesVisible", "Worker queues: backlog (visible messages)"),
            ("ApproximateAgeOfOldestMessage", "Worker queues: age of oldest message (s)"),
        ):
            widgets.append(self._metrics(title, "Maximum", [
                [{"expression": self._search("{AWS/SQS,QueueName}", metric, f"QueueName={cluster}", "Maximum"),
                  "id": "queues", "label": ""}],
            ]))

        for i, widget in enumerate(widgets):
            widget["x"] = (i % COLUMNS) * WIDTH
            widget["y"] = (i // COLUMNS) * HEIGHT
        self.document = {"widgets": widgets}
        dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=names.name("{prefix}-platform", naming.DASHBOARD),
            dashboard_body=jsonencode(self.document, scope=self),
        )
        self.name = dashboard.dashboard_name
        self.arn = dashboard.dashboard_arn

    @staticmethod
    def _search(schema: str, metric: str, match: str, stat: str) -> str:
        return f"SEARCH('{schema} MetricName=\"{metric}\" {match}', '{stat}', {PERIOD})"

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
