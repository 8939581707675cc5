"""What an environment will cost per month, before it exists: `make cost ENV=dev`.

    python -m tools.cost dev[,prod] [--out cdktf.out] [--markdown]   # make cost ENV=dev,prod
    python -m tools.cost --readme   # rewrite the README's dev/prod table (tests/fixtures/app)
    python -m tools.cost --check    # exit 1 when that table is not current

It reads what Terraform will create: the synthesized `cdktf.out/stacks/<env>-*/cdk.tf.json`
(every stack of the environment), with each `${var.x}` at its declared default, and prices it
with the table `tools/prices/<region>.toml` (on-demand list prices, with the date and region they
are for). One line per kind of resource, the total, and what is not counted: charges that depend
on traffic or data (data transfer, NAT data processing, load balancer capacity units, requests,
log and metric volume, storage that grows) and tasks that scheduled jobs run. Prices for a kind
or instance type the table lacks are reported as "not priced", never as zero.

ECS tasks are priced at each service's desired count, split between Fargate and Fargate Spot
the way ECS places them: the provider with a `base` takes that many tasks first, the rest go by
weight (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html).
Tasks placed on the EC2 capacity provider cost nothing more than the instances, which are priced
at the Auto Scaling group's minimum size.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).resolve().parent / "prices"
BEGIN = "<!-- BEGIN GENERATED: cost (python -m tools.cost --readme) -->"
END = "<!-- END GENERATED: cost -->"
README_ENVS = ("dev", "prod")
# The README's table prices the example configuration the construct tests use (the samples'
# platform with web, api and worker), so adding a service of one's own keeps `make test` green.
README_CONFIG = ROOT / "tests" / "fixtures" / "app"

# The kinds of the estimate, in the order they print.
KINDS = (
    "NAT gateways",
    "Public IPv4 addresses",
    "Load balancer",
    "Fargate tasks",
    "Fargate Spot tasks",
    "EC2 capacity (ASG minimum)",
    "RDS instance",
    "RDS storage",
    "WAF",
    "KMS keys",
    "CloudWatch alarms",
    "CloudWatch dashboards",
    "Container Insights",
    "Secrets Manager",
    "Bastion and Ansible hosts",
    "Cloud Map and private DNS",
    "CodePipeline",
)

NOT_COUNTED = (
    "data transfer out and between zones, and NAT gateway data processing ($0.045/GB)",
    "load balancer capacity units (LCUs: new connections, active connections, bytes, rule evaluations)",
    "WAF requests ($0.60 per million) and CloudWatch Logs ingestion ($0.50/GB) and storage ($0.03/GB-month)"
    " of the application, flow, WAF, database and ECS Exec logs",
    "ECR image storage, S3 (ALB access logs, pipeline artifacts), RDS backup storage above the database's size",
    "CodeBuild build minutes, V2 pipeline action minutes, SQS / SNS requests, EventBridge Scheduler invocations",
    "tasks above the desired count (autoscaling) and EC2 instances above the group's minimum",
    "the tasks that scheduled jobs run (their cost is task hours per run × runs)",
)


class CostError(Exception):
    """A problem with the input: printed as one line, exit 2."""


@dataclass
class Line:
    kind: str
    monthly: float = 0.0
    basis: list[str] = field(default_factory=list)

    def add(self, monthly: float, basis: str) -> None:
        self.monthly += monthly
        self.basis.append(basis)


@dataclass
class Estimate:
    env: str
    region: str
    prices: dict[str, Any]
    lines: dict[str, Line] = field(default_factory=dict)
    unpriced: list[str] = field(default_factory=list)

    def add(self, kind: str, monthly: float, basis: str) -> None:
        self.lines.setdefault(kind, Line(kind)).add(monthly, basis)

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines.values())


# --- reading the synthesized stacks ---------------------------------------------------------

VAR = re.compile(r"^\$\{var\.([A-Za-z0-9_]+)\}$")
REF = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_]+)\.[a-z_]+\}$")


def with_defaults(stack: dict[str, Any]) -> dict[str, Any]:
    """The stack with every value that is exactly `${var.x}` replaced by x's default."""
    defaults = {name: spec.get("default") for name, spec in stack.get("variable", {}).items()}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str):
            match = VAR.match(value)
            if match and match.group(1) in defaults:
                return defaults[match.group(1)]
        return value

    return {key: resolve(value) for key, value in stack.items() if key != "variable"}


def read_environment(out: Path, env: str) -> list[dict[str, Any]]:
    paths = sorted((out / "stacks").glob(f"{env}-*/cdk.tf.json"))
    if not paths:
        raise CostError(f"{out}/stacks: no stack of environment {env!r} (run `make synth ENVS={env}` first)")
    return [with_defaults(json.loads(path.read_text())) for path in paths]


def resources(stacks: Iterable[dict[str, Any]], type_: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(stack, resource) for every resource of one type across the stacks."""
    for stack in stacks:
        for body in stack.get("resource", {}).get(type_, {}).values():
            yield stack, body


def referenced(stack: dict[str, Any], expression: Any) -> dict[str, Any] | None:
    """The resource of the same stack that `${type.name.attr}` points at."""
    match = REF.match(expression) if isinstance(expression, str) else None
    if not match:
        return None
    return stack.get("resource", {}).get(match.group(1), {}).get(match.group(2))


def region_of(stacks: list[dict[str, Any]]) -> str:
    regions = {p.get("region") for stack in stacks for p in stack.get("provider", {}).get("aws", [])}
    regions.discard(None)
    if len(regions) != 1:
        raise CostError(f"the stacks name {len(regions)} regions ({sorted(regions)}); one is expected")
    return regions.pop()


def load_prices(region: str) -> dict[str, Any]:
    path = PRICES / f"{region}.toml"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in PRICES.glob("*.toml")))
        raise CostError(f"{path.relative_to(ROOT)}: no price table for region {region} (have: {have})")
    return tomllib.loads(path.read_text())


# --- pricing, one function per kind -----------------------------------------------------------

def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CostError(f"{what}: {value!r} is not a number after variable defaults") from None


def price_network(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    p, hours = est.prices["vpc"], est.prices["hours_per_month"]
    nats = sum(1 for _ in resources(stacks, "aws_nat_gateway"))
    if nats:
        est.add("NAT gateways", nats * p["nat_gateway_hour"] * hours, f"{nats} × ${p['nat_gateway_hour']}/h")
    eips = sum(1 for _ in resources(stacks, "aws_eip"))
    # An internet-facing load balancer holds one public address per subnet (zone).
    alb_ips = sum(len(lb.get("subnets", [])) for _, lb in resources(stacks, "aws_lb") if not lb.get("internal"))
    ips = eips + alb_ips
    if ips:
        est.add(
            "Public IPv4 addresses",
            ips * p["public_ipv4_hour"] * hours,
            f"{eips} Elastic IPs + {alb_ips} load balancer × ${p['public_ipv4_hour']}/h",
        )


def price_load_balancers(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    p, hours = est.prices["elb"], est.prices["hours_per_month"]
    for _, lb in resources(stacks, "aws_lb"):
        if lb.get("load_balancer_type", "application") != "application":
            est.unpriced.append(f"load balancer of type {lb.get('load_balancer_type')}")
            continue
        est.add("Load balancer", p["alb_hour"] * hours, f"1 ALB × ${p['alb_hour']}/h")


def _strategy(stack: dict[str, Any], service: dict[str, Any], default: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if service.get("capacity_provider_strategy"):
        return service["capacity_provider_strategy"]
    if service.get("launch_type"):
        return [{"capacity_provider": service["launch_type"], "weight": 1, "base": 0}]
    return default or [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}]


def split(count: float, strategy: list[dict[str, Any]]) -> dict[str, float]:
    """Tasks per capacity provider: bases first, the rest by weight (ECS's placement)."""
    placed: dict[str, float] = defaultdict(float)
    remaining = count
    for item in strategy:
        base = min(float(item.get("base") or 0), remaining)
        placed[item["capacity_provider"]] += base
        remaining -= base
    weights = sum(float(item.get("weight") or 0) for item in strategy)
    for item in strategy:
        if weights and remaining:
            placed[item["capacity_provider"]] += remaining * float(item.get("weight") or 0) / weights
    return dict(placed)


def price_tasks(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    p, hours = est.prices["fargate"], est.prices["hours_per_month"]
    default: list[dict[str, Any]] = []
    for _, providers in resources(stacks, "aws_ecs_cluster_capacity_providers"):
        default = providers.get("default_capacity_provider_strategy", [])
    for stack, service in resources(stacks, "aws_ecs_service"):
        task = referenced(stack, service.get("task_definition"))
        name = service.get("name", "?").replace("${local.name_prefix}", est.env)
        if task is None:
            est.unpriced.append(f"service {name}: its task definition is not in its stack")
            continue
        count = _number(service.get("desired_count", 1), f"{name}: desired_count")
        vcpu = _number(task.get("cpu"), f"{name}: cpu") / 1024
        memory = _number(task.get("memory"), f"{name}: memory") / 1024
        arch = "arm64" if (task.get("runtime_platform") or {}).get("cpu_architecture") == "ARM64" else "x86_64"
        extra_disk = max(0.0, float((task.get("ephemeral_storage") or {}).get("size_in_gib", 20)) - 20)
        for provider, tasks in split(count, _strategy(stack, service, default)).items():
            if not tasks:
                continue
            if provider not in ("FARGATE", "FARGATE_SPOT"):
                continue  # on the EC2 capacity provider: the instances are priced
            spot = "spot_" if provider == "FARGATE_SPOT" else ""
            hourly = vcpu * p[f"{spot}{arch}_vcpu_hour"] + memory * p[f"{spot}{arch}_gb_hour"]
            hourly += extra_disk * p["ephemeral_gb_hour"]
            kind = "Fargate Spot tasks" if spot else "Fargate tasks"
            est.add(kind, tasks * hourly * hours, f"{name}: {tasks:g} × {vcpu:g} vCPU / {memory:g} GB {arch}")


def _instance_hour(est: Estimate, instance_type: str, what: str) -> float | None:
    price = est.prices["ec2"]["instance_hour"].get(instance_type)
    if price is None:
        est.unpriced.append(f"{what}: EC2 instance type {instance_type}")
    return price


def price_ec2(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    p, hours = est.prices["ec2"], est.prices["hours_per_month"]
    for stack, group in resources(stacks, "aws_autoscaling_group"):
        template = referenced(stack, (group.get("launch_template") or {}).get("id"))
        size = _number(group.get("min_size", 0), "autoscaling group: min_size")
        if template is None or not size:
            continue
        price = _instance_hour(est, template["instance_type"], "ECS capacity")
        disk = sum(float(m.get("ebs", {}).get("volume_size", 0)) for m in template.get("block_device_mappings", []))
        if price is not None:
            monthly = size * (price * hours + disk * p["ebs_gp3_gb_month"])
            est.add("EC2 capacity (ASG minimum)", monthly, f"{size:g} × {template['instance_type']} + {disk:g} GB gp3")
    for _, instance in resources(stacks, "aws_instance"):
        role = (instance.get("tags") or {}).get("Role", "instance")
        price = _instance_hour(est, instance["instance_type"], role)
        disk = float((instance.get("root_block_device") or {}).get("volume_size", 8))
        if price is not None:
            est.add(
                "Bastion and Ansible hosts",
                price * hours + disk * p["ebs_gp3_gb_month"],
                f"{role}: {instance['instance_type']} + {disk:g} GB gp3",
            )


def price_database(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    p, hours = est.prices["rds"], est.prices["hours_per_month"]
    for _, db in resources(stacks, "aws_db_instance"):
        engine, klass = db.get("engine"), db.get("instance_class")
        copies = 2 if db.get("multi_az") else 1
        price = p.get(f"{engine}_instance_hour", {}).get(klass)
        if price is None:
            est.unpriced.append(f"RDS {engine} instance class {klass}")
        else:
            est.add("RDS instance", copies * price * hours, f"{klass} × {copies} ({'Multi-AZ' if copies == 2 else 'Single-AZ'})")
        storage = _number(db.get("allocated_storage", 0), "database: allocated_storage")
        rate = p["multi_az_gp_storage_gb_month"] if copies == 2 else p["gp_storage_gb_month"]
        est.add("RDS storage", storage * rate, f"{storage:g} GB × ${rate}/GB-month")
        if db.get("manage_master_user_password"):
            sm = est.prices["secretsmanager"]
            est.add("Secrets Manager", sm["secret_month"], "the database's RDS-managed master secret")


def price_security(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    waf = est.prices["waf"]
    for _, acl in resources(stacks, "aws_wafv2_web_acl"):
        rules = acl.get("rule", [])
        monthly = waf["web_acl_month"] + len(rules) * waf["rule_month"]
        bot = [r for r in rules if "BotControl" in json.dumps(r.get("statement", {}))]
        monthly += len(bot) * waf["bot_control_month"]
        est.add("WAF", monthly, f"1 web ACL + {len(rules)} rules")
    keys = sum(1 for _ in resources(stacks, "aws_kms_key"))
    if keys:
        est.add("KMS keys", keys * est.prices["kms"]["customer_key_month"], f"{keys} customer managed")
    secrets = sum(1 for _ in resources(stacks, "aws_secretsmanager_secret"))
    if secrets:
        est.add("Secrets Manager", secrets * est.prices["secretsmanager"]["secret_month"], f"{secrets} secrets")


def _alarm_metrics(alarm: dict[str, Any]) -> int:
    queries = alarm.get("metric_query") or []
    if not queries:
        return 1
    # Metric math is billed per metric it reads; a Metrics Insights query counts as one here.
    return max(1, sum(1 for q in queries if q.get("metric") or "SELECT" in str(q.get("expression", ""))))


def price_observability(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    cw = est.prices["cloudwatch"]
    metrics = high = 0
    for _, alarm in resources(stacks, "aws_cloudwatch_metric_alarm"):
        n = _alarm_metrics(alarm)
        if _number(alarm.get("period", 60), "alarm period") < 60:
            high += n
        else:
            metrics += n
    if metrics or high:
        monthly = metrics * cw["alarm_metric_month"] + high * cw["high_resolution_alarm_metric_month"]
        est.add("CloudWatch alarms", monthly, f"{metrics + high} alarm metrics")
    dashboards = sum(1 for _ in resources(stacks, "aws_cloudwatch_dashboard"))
    if dashboards:
        est.add("CloudWatch dashboards", dashboards * cw["dashboard_month"], f"{dashboards} dashboard{'s' * (dashboards != 1)}")
    insights = [
        c for _, c in resources(stacks, "aws_ecs_cluster")
        if any(s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced") for s in c.get("setting", []))
    ]
    if insights:
        per = cw["container_insights_metrics"]
        services = sum(1 for _ in resources(stacks, "aws_ecs_service"))
        families = sum(1 for _ in resources(stacks, "aws_ecs_task_definition"))
        count = len(insights) * per["per_cluster"] + services * per["per_service"] + families * per["per_task_family"]
        est.add(
            "Container Insights",
            count * cw["custom_metric_month"],
            f"{count} metrics ({services} services, {families} task families)",
        )


def price_discovery(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    zones = sum(1 for _ in resources(stacks, "aws_service_discovery_private_dns_namespace"))
    zones += sum(1 for _ in resources(stacks, "aws_route53_zone"))
    if zones:
        est.add("Cloud Map and private DNS", zones * est.prices["route53"]["hosted_zone_month"], f"{zones} hosted zone{'s' * (zones != 1)}")
    instances = sum(
        _number(s.get("desired_count", 1), "desired_count")
        for _, s in resources(stacks, "aws_ecs_service")
        if s.get("service_registries")
    )
    if instances:
        rate = est.prices["cloudmap"]["registered_instance_month"]
        est.add("Cloud Map and private DNS", instances * rate, f"{instances:g} registered tasks")


def price_pipelines(est: Estimate, stacks: list[dict[str, Any]]) -> None:
    v1 = sum(1 for _, p in resources(stacks, "aws_codepipeline") if p.get("pipeline_type", "V1") == "V1")
    if v1:
        est.add("CodePipeline", v1 * est.prices["codepipeline"]["v1_pipeline_month"], f"{v1} V1 pipelines")


PRICERS = (
    price_network,
    price_load_balancers,
    price_tasks,
    price_ec2,
    price_database,
    price_security,
    price_observability,
    price_discovery,
    price_pipelines,
)


def estimate(out: Path, env: str) -> Estimate:
    stacks = read_environment(out, env)
    region = region_of(stacks)
    est = Estimate(env=env, region=region, prices=load_prices(region))
    for pricer in PRICERS:
        pricer(est, stacks)
    unknown = set(est.lines) - set(KINDS)
    if unknown:  # a pricer and KINDS disagree: a bug here, not in the input
        raise RuntimeError(f"kinds missing from KINDS: {sorted(unknown)}")
    return est


# --- output ---------------------------------------------------------------------------------

def _money(value: float) -> str:
    return f"${value:,.2f}"


def header(estimates: list[Estimate]) -> str:
    prices = estimates[0].prices
    return (
        f"Monthly estimate in {prices['currency']}: on-demand prices for {prices['region']} as of {prices['as_of']}"
        f" (tools/prices/{prices['region']}.toml), {prices['hours_per_month']} hours a month"
    )


def text(estimates: list[Estimate]) -> str:
    rows = [("kind", *(e.env for e in estimates))]
    kinds = [k for k in KINDS if any(k in e.lines for e in estimates)]
    rows += [(k, *(_money(e.lines[k].monthly) if k in e.lines else "-" for e in estimates)) for k in kinds]
    rows.append(("total", *(_money(e.total) for e in estimates)))
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [header(estimates), ""]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("  ".join("-" * w for w in width))
        lines.append("  ".join(c.ljust(width[0]) if j == 0 else c.rjust(width[j]) for j, c in enumerate(row)))
    if len(estimates) == 1:
        lines += ["", "basis:"]
        lines += [f"  {k}: {'; '.join(estimates[0].lines[k].basis)}" for k in kinds]
    return "\n".join(lines + footer(estimates))


def footer(estimates: list[Estimate]) -> list[str]:
    lines = ["", "Not counted (they depend on traffic, data or time):"]
    lines += [f"  - {item}" for item in NOT_COUNTED]
    unpriced = sorted({u for e in estimates for u in e.unpriced})
    if unpriced:
        lines += ["", "Not priced (missing from the price table; the total leaves them out):"]
        lines += [f"  - {item}" for item in unpriced]
    return lines


def markdown(estimates: list[Estimate]) -> str:
    kinds = [k for k in KINDS if any(k in e.lines for e in estimates)]
    lines = [
        header(estimates) + ".",
        "",
        "| kind | " + " | ".join(e.env for e in estimates) + " |",
        "|---|" + "---:|" * len(estimates),
    ]
    lines += [f"| {k} | " + " | ".join(_money(e.lines[k].monthly) if k in e.lines else "–" for e in estimates) + " |" for k in kinds]
    lines.append("| **total** | " + " | ".join(f"**{_money(e.total)}**" for e in estimates) + " |")
    lines += ["", "Not counted, because they depend on traffic, data or time:", ""]
    lines += [f"- {item}" for item in NOT_COUNTED]
    unpriced = sorted({u for e in estimates for u in e.unpriced})
    if unpriced:
        lines += ["", "Not priced (missing from the price table):", ""] + [f"- {u}" for u in unpriced]
    return "\n".join(lines)


def synthesize_example() -> Path:
    """The README's example configuration, synthesized into a temporary folder."""
    import tempfile

    from infra import speedups

    speedups.install("all")  # before anything imports jsii
    from infra.app import build_app
    from infra.config import load_app

    out = Path(tempfile.mkdtemp(prefix="cost-")) / "cdktf.out"
    build_app(load_app(README_CONFIG), outdir=str(out)).synth()
    return out


def readme_table(out: Path) -> str:
    return markdown([estimate(out, env) for env in README_ENVS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="environments, side by side, or comma-separated (default: dev)")
    parser.add_argument("--out", type=Path, default=ROOT / "cdktf.out", help="synthesized output (default: cdktf.out)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's dev/prod table")
    parser.add_argument("--check", action="store_true", help="exit 1 when the README's table is not current")
    args = parser.parse_args(argv)
    try:
        if args.readme or args.check:
            from tools import readme_block

            table = readme_table(args.out if args.out != ROOT / "cdktf.out" else synthesize_example())
            return readme_block.main(
                ["--check"] if args.check else [],
                lambda readme: readme_block.render(readme, BEGIN, END, table),
                what="the cost table is",
                tool="tools.cost --readme",
            )
        envs = [env for arg in args.envs for env in arg.split(",") if env] or ["dev"]
        estimates = [estimate(args.out, env) for env in envs]
    except CostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(estimates) if args.markdown else text(estimates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
