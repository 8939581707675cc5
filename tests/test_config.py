"""Configuration loading: what a configuration means, tested on small configurations.

Each test builds the configuration it needs (tests/config_builder.py) and asserts on the
specs the constructs receive. The checked-in samples get one test: that they load.
Bad input is in tests/test_config_bad_input.py.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from infra.config import load_app
from infra.config.specs import (
    BackendKind,
    CapacityProvider,
    NatMode,
    PipelineSource,
    ServiceKind,
    StrategyItem,
)
from tests.config_builder import BACKEND, WEB, WORKER, Project

ROOT = Path(__file__).resolve().parent.parent


def test_the_checked_in_samples_load() -> None:
    app = load_app(ROOT)
    assert [env.name for env in app.environments] == ["dev", "prod"]
    assert all(app.services[env.name] for env in app.environments)


def test_a_minimal_environment_gets_the_documented_defaults(tmp_path: Path) -> None:
    (dev,) = Project(tmp_path).load().environments
    assert dev.region == "us-east-1" and not dev.production
    assert dev.deletion_protection is False
    assert dev.namespace == "dev.internal"
    assert dev.network.nat is NatMode.SINGLE
    assert dev.network.availability_zones == ("us-east-1a", "us-east-1b")
    assert dev.network.private_subnets == ("10.10.0.0/19", "10.10.32.0/19")
    assert dev.network.public_subnets == ("10.10.192.0/22", "10.10.196.0/22")
    assert dev.network.database_subnets == ("10.10.224.0/22", "10.10.228.0/22")
    assert dev.backend.kind is BackendKind.LOCAL
    assert dev.cluster.default_strategy == (StrategyItem(provider=CapacityProvider.FARGATE, weight=1, base=1),)
    assert not dev.load_balancer.waf and not dev.database.multi_az and not dev.pipeline.manual_approval
    assert dev.database.performance_insights is False  # db.t4g.micro has none
    assert dev.database.max_allocated_storage == 100
    assert dev.pipeline.source is PipelineSource.S3


def test_production_turns_on_the_production_defaults(tmp_path: Path) -> None:
    (prod,) = Project(tmp_path).env(production=True).load().environments
    assert prod.deletion_protection and prod.load_balancer.waf and prod.database.multi_az
    assert prod.pipeline.manual_approval
    assert prod.network.nat is NatMode.PER_AZ


def test_production_can_drop_protection_with_a_second_flag(tmp_path: Path) -> None:
    (prod,) = Project(tmp_path).env(production=True, deletion_protection=False, allow_destroy=True).load().environments
    assert prod.deletion_protection is False


@pytest.mark.parametrize(
    ("region", "az_count", "zones"),
    [
        ("ap-northeast-1", 3, ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d")),
        ("ca-central-1", 3, ("ca-central-1a", "ca-central-1b", "ca-central-1d")),
        ("us-east-1", 6, tuple(f"us-east-1{letter}" for letter in "abcdef")),
    ],
)
def test_default_zones_are_the_zones_the_region_has(tmp_path: Path, region: str, az_count: int, zones: tuple[str, ...]) -> None:
    (env,) = Project(tmp_path).env(region=region, network={"az_count": az_count}).load().environments
    assert env.network.availability_zones == zones


def test_explicit_zones_are_taken_as_given(tmp_path: Path) -> None:
    zones = ["us-west-1b", "us-west-1c"]
    (env,) = Project(tmp_path).env(region="us-west-1", network={"availability_zones": zones}).load().environments
    assert env.network.availability_zones == tuple(zones)


def test_explicit_subnets_replace_the_derived_ones(tmp_path: Path) -> None:
    subnets = ["10.10.250.0/24", "10.10.251.0/24"]
    (env,) = Project(tmp_path).env(network={"public_subnets": subnets}).load().environments
    assert env.network.public_subnets == tuple(subnets)
    assert env.network.vpc_cidr == ipaddress.IPv4Network("10.10.0.0/16")


def test_an_s3_backend_defaults_to_the_environment_region_and_name(tmp_path: Path) -> None:
    project = Project(tmp_path).env(region="eu-west-1", backend={"type": "s3", "bucket": "state-bucket"})
    (env,) = project.load().environments
    assert env.backend.s3 is not None
    assert (env.backend.s3.region, env.backend.s3.key_prefix, env.backend.s3.use_lockfile) == ("eu-west-1", "ecs-platform/dev", True)


def test_the_local_endpoint_makes_every_environment_disposable(tmp_path: Path) -> None:
    project = Project(tmp_path).env(production=True, backend={"type": "s3", "bucket": "state-bucket"})
    (env,) = project.load(local_endpoint="http://127.0.0.1:4566").environments
    assert env.backend.kind is BackendKind.LOCAL and env.deletion_protection is False


def test_a_minimal_service_gets_the_documented_defaults(tmp_path: Path) -> None:
    (web,) = Project(tmp_path).load().services["dev"]
    assert (web.name, web.kind) == ("web", ServiceKind.WEB)
    assert web.capacity == (StrategyItem(provider=CapacityProvider.FARGATE, weight=1, base=1),)
    assert (web.desired_count, web.min_count, web.max_count) == (1, 1, 1)
    assert web.health_check.path == "/health" and web.health_check.matcher == "200-399"
    assert web.user == "10001" and web.read_only_root_filesystem and not web.enable_exec
    assert web.image.tag == "bootstrap" and web.build.dockerfile == "Dockerfile"
    assert web.scaling.cpu_target == 60 and web.scaling.queue_backlog_per_task is None
    assert web.queue is None


def test_a_service_takes_the_cluster_strategy_unless_it_sets_its_own(tmp_path: Path) -> None:
    strategy = [{"provider": "FARGATE_SPOT", "weight": 2}]
    project = Project(tmp_path).env(cluster={"default_strategy": strategy}).service("jobs", WORKER, capacity="FARGATE")
    services = {s.name: s for s in project.load().services["dev"]}
    assert services["web"].capacity == (StrategyItem(provider=CapacityProvider.FARGATE_SPOT, weight=2, base=0),)
    assert services["jobs"].capacity == (StrategyItem(provider=CapacityProvider.FARGATE, weight=1, base=0),)


def test_a_worker_gets_a_queue_and_backlog_scaling(tmp_path: Path) -> None:
    project = Project(tmp_path).service("jobs", WORKER, scaling={"cpu_target": False})
    jobs = {s.name: s for s in project.load().services["dev"]}["jobs"]
    assert jobs.queue is not None and jobs.queue.max_receive_count == 5
    assert jobs.scaling.queue_backlog_per_task == 100
    assert jobs.scaling.cpu_target is None


def test_counts_default_from_desired_count(tmp_path: Path) -> None:
    (web,) = Project(tmp_path).service(desired_count=3).load().services["dev"]
    assert (web.min_count, web.max_count) == (3, 3)
    (web,) = Project(tmp_path / "b").service(desired_count=2, min_count=1).load().services["dev"]
    assert (web.min_count, web.max_count) == (1, 2)


def test_overrides_apply_only_to_their_environment(tmp_path: Path) -> None:
    project = Project(tmp_path).env("prod", production=True).service(
        environment={"LOG_LEVEL": "info", "API_URL": "http://api.dev.internal"},
        overrides={"prod": {"cpu": 512, "memory": 1024, "environment": {"API_URL": "http://api.prod.internal"}}},
    )
    app = project.load()
    (dev,), (prod,) = app.services["dev"], app.services["prod"]
    assert (dev.cpu, dev.memory, dev.environment["API_URL"]) == (256, 512, "http://api.dev.internal")
    assert (prod.cpu, prod.memory, prod.environment["API_URL"]) == (512, 1024, "http://api.prod.internal")
    assert prod.environment["LOG_LEVEL"] == "info"


def test_secrets_are_references_by_name_or_arn(tmp_path: Path) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/signing-AbCdEf"
    secrets = {"STRIPE_KEY": "secretsmanager:web/stripe", "SESSION_KEY": "ssm:/web/session", "SIGNING_KEY": arn}
    (web,) = Project(tmp_path).service(secrets=secrets).load().services["dev"]
    refs = {name: (ref.kind, ref.arn, ref.name) for name, ref in web.secrets.items()}
    assert refs == {
        "STRIPE_KEY": ("secretsmanager", None, "web/stripe"),
        "SESSION_KEY": ("ssm", None, "/web/session"),
        "SIGNING_KEY": ("secretsmanager", arn, arn),
    }


def test_plain_values_that_are_not_credentials_pass(tmp_path: Path) -> None:
    environment = {"API_URL": "https://user@api.example.com/v1", "BYPASS_CACHE": "1", "KEYBOARD": "us", "PASSENGERS": "4"}
    (web,) = Project(tmp_path).service(environment=environment).load().services["dev"]
    assert dict(web.environment) == environment


def test_a_listener_priority_does_not_move_when_another_service_arrives(tmp_path: Path) -> None:
    (alone,) = Project(tmp_path / "a").load().services["dev"]
    project = Project(tmp_path / "b").service("shop", WEB, routes={"paths": ["/shop/*"]})
    services = {s.name: s for s in project.load().services["dev"]}
    assert alone.route is not None and services["web"].route is not None and services["shop"].route is not None
    assert services["web"].route.priority == alone.route.priority
    # The catch-all route goes after the specific one, whatever the names.
    assert services["shop"].route.priority < services["web"].route.priority


def test_an_ec2_task_that_fits_its_instance_is_accepted(tmp_path: Path) -> None:
    project = Project(tmp_path).env(cluster={"ec2": {"instance_type": "m6i.large"}}).service(capacity="EC2", cpu=2048, memory=6144)
    (web,) = project.load().services["dev"]
    assert web.capacity == (StrategyItem(provider=CapacityProvider.EC2, weight=1, base=0),) and not web.uses_fargate


def test_an_external_image_needs_no_dockerfile(tmp_path: Path) -> None:
    project = Project(tmp_path).service(image={"source": "external", "uri": "public.ecr.aws/nginx/nginx:1.27"})
    (web,) = project.remove("services/web/Dockerfile").load().services["dev"]
    assert web.image.uri == "public.ecr.aws/nginx/nginx:1.27"


def test_backends_admit_the_services_they_name(tmp_path: Path) -> None:
    project = Project(tmp_path).service("api", BACKEND, allow_from=["web"])
    api = {s.name: s for s in project.load().services["dev"]}["api"]
    assert api.allow_from == ("web",)


def test_hidden_files_in_services_are_ignored(tmp_path: Path) -> None:
    project = Project(tmp_path).file("services/.DS_Store", "x")
    assert [s.name for s in project.load().services["dev"]] == ["web"]


def test_specs_cannot_be_changed_after_loading(tmp_path: Path) -> None:
    (dev,) = Project(tmp_path).load().environments
    with pytest.raises(dataclasses.FrozenInstanceError):
        dev.region = "eu-west-1"  # type: ignore[misc]


def _sized_network(prefix: int, az_count: int) -> dict[str, object]:
    zones = [f"us-east-1{letter}" for letter in "abcdef"[:az_count]]
    return {"vpc_cidr": f"10.10.0.0/{prefix}", "az_count": az_count, "availability_zones": zones}


# A /22 holds only four public /27s: five or six zones are refused
# (test_a_22_vpc_is_refused_for_more_than_four_zones).
SIZES = [(prefix, zones) for prefix in range(16, 23) for zones in range(2, 7) if not (prefix == 22 and zones > 4)]


@pytest.mark.parametrize("prefix, az_count", SIZES)
def test_derived_subnets_fit_every_allowed_vpc_size(tmp_path: Path, prefix: int, az_count: int) -> None:
    (env,) = Project(tmp_path).env(network=_sized_network(prefix, az_count)).load().environments
    subnets = [ipaddress.IPv4Network(s) for s in (*env.network.public_subnets, *env.network.private_subnets, *env.network.database_subnets)]
    assert len(subnets) == 3 * az_count
    assert all(net.subnet_of(env.network.vpc_cidr) for net in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
    # AWS docs, "Application Load Balancers" (Subnets for your load balancer): at least /27.
    assert all(ipaddress.IPv4Network(s).prefixlen <= 27 for s in env.network.public_subnets)


@pytest.mark.parametrize("prefix", range(16, 22))
def test_derived_subnets_of_16_to_21_are_where_they_always_were(tmp_path: Path, prefix: int) -> None:
    """Deployed VPCs keep their subnets: only the /22 layout changed (its public /28s)."""
    (env,) = Project(tmp_path).env(network=_sized_network(prefix, 2)).load().environments
    vpc = env.network.vpc_cidr
    eighths = list(vpc.subnets(new_prefix=prefix + 3))
    assert env.network.private_subnets == tuple(str(n) for n in eighths[:2])
    assert env.network.public_subnets == tuple(str(n) for n in list(eighths[6].subnets(new_prefix=prefix + 6))[:2])
    assert env.network.database_subnets == tuple(str(n) for n in list(eighths[7].subnets(new_prefix=prefix + 6))[:2])


def test_a_22_vpc_gets_public_27s(tmp_path: Path) -> None:
    (env,) = Project(tmp_path).env(network=_sized_network(22, 4)).load().environments
    assert env.network.public_subnets == ("10.10.3.0/27", "10.10.3.32/27", "10.10.3.64/27", "10.10.3.96/27")
    assert env.network.database_subnets == ("10.10.3.128/28", "10.10.3.144/28", "10.10.3.160/28", "10.10.3.176/28")
    assert env.network.private_subnets == ("10.10.0.0/25", "10.10.0.128/25", "10.10.1.0/25", "10.10.1.128/25")


@pytest.mark.parametrize("az_count", [5, 6])
def test_a_22_vpc_is_refused_for_more_than_four_zones(tmp_path: Path, az_count: int) -> None:
    from infra.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        Project(tmp_path).env(network=_sized_network(22, az_count)).load()
    assert (caught.value.file, caught.value.field) == ("environments/dev.toml", "network.vpc_cidr")
    assert caught.value.message == (
        f"10.10.0.0/22 is too small for {az_count} zones: public subnets must be at least /27 for the load balancer"
        " (32 addresses), and the public slot of a /22 (10.10.3.0/25) holds 4; use a /21 or larger, az_count <= 4,"
        " or list public_subnets"
    )


# The smallest and largest Fargate sizes of each CPU value ("Amazon ECS task definition
# parameters for Fargate", Task size), written out here rather than read from the loader's table.
@pytest.mark.parametrize(
    ("cpu", "memory"),
    [(256, 512), (256, 2048), (512, 1024), (512, 4096), (1024, 2048), (1024, 8192), (2048, 16384),
     (4096, 8192), (4096, 30720), (8192, 16384), (8192, 61440), (16384, 32768), (16384, 122880)],
)
def test_every_documented_fargate_size_loads(tmp_path: Path, cpu: int, memory: int) -> None:
    (web,) = Project(tmp_path).service(cpu=cpu, memory=memory).load().services["dev"]
    assert (web.cpu, web.memory) == (cpu, memory)


# AWS docs, "CapacityProviderStrategyItem" (Amazon ECS API Reference): FARGATE_SPOT runs
# ARM64 Linux tasks on platform version 1.4.0 or later.
def test_arm64_runs_on_fargate_spot(tmp_path: Path) -> None:
    (web,) = Project(tmp_path).service(architecture="ARM64", capacity="FARGATE_SPOT").load().services["dev"]
    assert web.architecture.value == "ARM64"
    assert [item.provider for item in web.capacity] == [CapacityProvider.FARGATE_SPOT]


@pytest.mark.parametrize(("instance_type", "architecture"), [("m7g.large", "ARM64"), ("t4g.medium", "ARM64"), ("a1.large", "ARM64"), ("m6i.large", "X86_64")])
def test_a_service_on_ec2_capacity_of_its_own_architecture_loads(tmp_path: Path, instance_type: str, architecture: str) -> None:
    project = Project(tmp_path).env(cluster={"ec2": {"instance_type": instance_type}})
    (web,) = project.service(capacity="EC2", architecture=architecture).load().services["dev"]
    assert web.architecture.value == architecture
