"""Configuration loading: the checked-in files load into typed specs; bad files fail clearly.

Every bad case runs the real entry point (`python main.py`) on a copy of the project
and checks: exit code 2, the message names the file and the field, no traceback, and
`cdktf.out/` is left exactly as it was.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import ConfigError, default_priority, load_app
from infra.config.specs import BackendKind, CapacityProvider, NatMode, ServiceKind

ROOT = Path(__file__).resolve().parent.parent

ENV = """\
region = "us-east-1"

[network]
vpc_cidr = "10.10.0.0/16"
az_count = 2
admin_cidr = "203.0.113.0/24"
"""

WEB = """\
kind = "web"
port = 8080
cpu = 256
memory = 512

[routes]
paths = ["/*"]
"""

WORKER = """\
kind = "worker"
port = 8082
cpu = 256
memory = 512
"""


def test_checked_in_configuration_loads_into_typed_specs() -> None:
    app = load_app(ROOT)
    envs = {env.name: env for env in app.environments}
    assert set(envs) >= {"dev", "prod"}
    dev, prod = envs["dev"], envs["prod"]
    assert dev.network.vpc_cidr == ipaddress.IPv4Network("10.10.0.0/16")
    assert dev.network.nat is NatMode.SINGLE and prod.network.nat is NatMode.PER_AZ
    assert dev.backend.kind is BackendKind.LOCAL and prod.backend.kind is BackendKind.S3
    assert prod.deletion_protection and dev.deletion_protection  # dev opts in explicitly
    assert load_app(ROOT, local_endpoint="http://127.0.0.1:4566").environments[0].deletion_protection is False
    assert prod.database.multi_az and not dev.database.multi_az
    assert len(prod.network.private_subnets) == prod.network.az_count == 3
    services = {s.name: s for s in app.services["dev"]}
    assert {name: s.kind for name, s in services.items()} == {
        "web": ServiceKind.WEB,
        "api": ServiceKind.BACKEND,
        "worker": ServiceKind.WORKER,
    }
    assert services["worker"].queue is not None and services["web"].route is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        dev.region = "eu-west-1"  # type: ignore[misc]


def test_overrides_apply_only_to_their_environment() -> None:
    app = load_app(ROOT)
    dev = {s.name: s for s in app.services["dev"]}
    prod = {s.name: s for s in app.services["prod"]}
    assert (dev["web"].cpu, dev["web"].memory) == (256, 512)
    assert (prod["web"].cpu, prod["web"].memory) == (512, 1024)
    assert prod["web"].environment["API_URL"].startswith("http://api.prod.internal")
    assert [i.provider for i in prod["api"].capacity] == [CapacityProvider.FARGATE]


def test_listener_priorities_depend_only_on_the_service() -> None:
    assert default_priority("web", ["/*"], []) == default_priority("web", ["/*"], [])
    assert default_priority("shop", ["/shop/*"], []) < default_priority("web", ["/*"], [])


def write_project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    for name in ("infra", "tools"):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        import shutil

        shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "main.py").write_text((ROOT / "main.py").read_text())
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return root


def project(env: str = ENV, web: str = WEB, **extra: str) -> dict[str, str]:
    files = {"environments/dev.toml": env, "services/web/service.toml": web}
    files.update({k.replace("__", "/"): v for k, v in extra.items()})
    return files


def test_minimal_project_loads(tmp_path: Path) -> None:
    root = write_project(tmp_path, project())
    app = load_app(root)
    (web,) = app.services["dev"]
    assert web.health_check.path == "/health" and web.read_only_root_filesystem and web.user == "10001"


# (id, files, expected file, expected field, expected words in the message)
BAD = [
    ("unknown_top_level_key", project('regoin = "x"\n' + ENV), "environments/dev.toml", "regoin", "did you mean 'region'"),
    ("unknown_service_key", project(web=WEB.replace("port =", "prot = 1\nport =")), "services/web/service.toml", "prot", "did you mean 'port'"),
    ("region_wrong_type", project(ENV.replace('"us-east-1"', "42")), "environments/dev.toml", "region", "must be a string"),
    ("region_empty", project(ENV.replace('"us-east-1"', '""')), "environments/dev.toml", "region", "must not be empty"),
    ("region_not_a_region", project(ENV.replace('"us-east-1"', '"mars-1"')), "environments/dev.toml", "region", "AWS region"),
    ("missing_region", project(ENV.replace('region = "us-east-1"\n', "")), "environments/dev.toml", "region", "is required"),
    ("missing_network", project('region = "us-east-1"\n'), "environments/dev.toml", "network", "is required"),
    ("bad_cidr", project(ENV.replace("10.10.0.0/16", "10.10.0.300/16")), "environments/dev.toml", "network.vpc_cidr", "not an IPv4 CIDR"),
    ("cidr_host_bits", project(ENV.replace("10.10.0.0/16", "10.10.0.1/16")), "environments/dev.toml", "network.vpc_cidr", "host bits"),
    ("cidr_too_small", project(ENV.replace("10.10.0.0/16", "10.10.0.0/24")), "environments/dev.toml", "network.vpc_cidr", "/22"),
    ("cidr_public", project(ENV.replace("10.10.0.0/16", "8.8.0.0/16")), "environments/dev.toml", "network.vpc_cidr", "private"),
    ("az_count_too_high", project(ENV.replace("az_count = 2", "az_count = 7")), "environments/dev.toml", "network.az_count", "out of range (2..6)"),
    ("az_count_too_low", project(ENV.replace("az_count = 2", "az_count = 1")), "environments/dev.toml", "network.az_count", "out of range"),
    ("az_count_string", project(ENV.replace("az_count = 2", 'az_count = "2"')), "environments/dev.toml", "network.az_count", "must be an integer"),
    ("az_count_bool", project(ENV.replace("az_count = 2", "az_count = true")), "environments/dev.toml", "network.az_count", "must be an integer"),
    ("nat_mode_unknown", project(ENV + 'nat = "many"\n'), "environments/dev.toml", "network.nat", "single, per_az"),
    ("ssh_from_anywhere", project(ENV.replace("203.0.113.0/24", "0.0.0.0/0")), "environments/dev.toml", "network.admin_cidr", "0.0.0.0/0"),
    ("az_of_another_region", project(ENV + 'availability_zones = ["us-east-1a", "eu-west-1b"]\n'), "environments/dev.toml", "network.availability_zones[1]", "availability zone of us-east-1"),
    ("az_wrong_count", project(ENV + 'availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]\n'), "environments/dev.toml", "network.availability_zones", "az_count is 2"),
    ("admin_cidr_missing", project(ENV.replace('admin_cidr = "203.0.113.0/24"\n', "")), "environments/dev.toml", "network.admin_cidr", "is required"),
    (
        "subnets_overlap",
        project(ENV + 'public_subnets = ["10.10.0.0/24", "10.10.1.0/24"]\n'),
        "environments/dev.toml",
        "network.private_subnets[0]",
        "overlaps 10.10.0.0/24",
    ),
    (
        "subnet_outside_vpc",
        project(ENV + 'database_subnets = ["10.99.0.0/24", "10.10.250.0/24"]\n'),
        "environments/dev.toml",
        "network.database_subnets[0]",
        "does not fit",
    ),
    (
        "subnet_count_mismatch",
        project(ENV + 'private_subnets = ["10.10.0.0/19"]\n'),
        "environments/dev.toml",
        "network.private_subnets",
        "az_count is 2",
    ),
    ("s3_backend_without_bucket", project(ENV + '[backend]\ntype = "s3"\n'), "environments/dev.toml", "backend.bucket", "is required"),
    ("s3_backend_bad_bucket", project(ENV + '[backend]\ntype = "s3"\nbucket = "Bad_Bucket"\n'), "environments/dev.toml", "backend.bucket", "S3 bucket name"),
    (
        "s3_backend_unencrypted",
        project(ENV + '[backend]\ntype = "s3"\nbucket = "state-bucket"\nencrypt = false\n'),
        "environments/dev.toml",
        "backend.encrypt",
        "must stay true",
    ),
    (
        "s3_backend_without_lock",
        project(ENV + '[backend]\ntype = "s3"\nbucket = "state-bucket"\nuse_lockfile = false\n'),
        "environments/dev.toml",
        "backend.use_lockfile",
        "no lock",
    ),
    ("backend_unknown_type", project(ENV + '[backend]\ntype = "consul"\n'), "environments/dev.toml", "backend.type", "local, s3, cloud"),
    ("local_backend_extra_key", project(ENV + '[backend]\nbucket = "x-y-z"\n'), "environments/dev.toml", "backend.bucket", "unknown key"),
    ("cloud_backend_without_org", project(ENV + '[backend]\ntype = "cloud"\n'), "environments/dev.toml", "backend.organization", "is required"),
    ("prod_without_protection", project("production = true\ndeletion_protection = false\n" + ENV), "environments/dev.toml", "deletion_protection", "production"),
    ("log_retention_invalid", project(ENV + "[observability]\nlog_retention_days = 10\n"), "environments/dev.toml", "observability.log_retention_days", "valid: 1, 3, 5"),
    ("alarm_email_invalid", project(ENV + '[observability]\nalarm_emails = ["not-an-email"]\n'), "environments/dev.toml", "observability.alarm_emails[0]", "e-mail"),
    ("db_storage_negative", project(ENV + "[database]\nallocated_storage = -5\n"), "environments/dev.toml", "database.allocated_storage", "out of range"),
    ("db_storage_huge", project(ENV + "[database]\nallocated_storage = 99999999999\n"), "environments/dev.toml", "database.allocated_storage", "out of range"),
    ("db_reserved_user", project(ENV + '[database]\nmaster_username = "admin"\n'), "environments/dev.toml", "database.master_username", "reserved"),
    ("db_pi_on_micro", project(ENV + '[database]\ninstance_class = "db.t4g.micro"\nperformance_insights = true\n'), "environments/dev.toml", "database.performance_insights", "not available"),
    ("tls_policy_weak", project(ENV + '[load_balancer]\nssl_policy = "ELBSecurityPolicy-2016-08"\n'), "environments/dev.toml", "load_balancer.ssl_policy", "TLS 1.2+"),
    ("certificate_and_domain", project(ENV + '[load_balancer]\ncertificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc-1"\ndomain = "x.example.com"\n'), "environments/dev.toml", "load_balancer.domain", "not both"),
    ("strategy_mixes_ec2", project(ENV + '[cluster]\ndefault_strategy = [{ provider = "EC2" }, { provider = "FARGATE" }]\n'), "environments/dev.toml", "cluster.default_strategy", "cannot mix"),
    ("codestar_without_connection", project(ENV + '[pipeline]\nsource = "codestar"\n'), "environments/dev.toml", "pipeline.connection_arn", "required"),
    ("tag_key_reserved", project(ENV + '[tags]\n"aws:owner" = "x"\n'), "environments/dev.toml", "tags.aws:owner", "tag key"),
    ("env_file_name_bad", {"environments/Dev_1.toml": ENV, "services/web/service.toml": WEB}, "environments/Dev_1.toml", "", "environment name"),
    ("toml_syntax_error", project(ENV + "[network\n"), "environments/dev.toml", "", "not valid TOML"),
    ("not_utf8", project(ENV + '# \udcff\n'), "environments/dev.toml", "", "not UTF-8"),
    # -- services --------------------------------------------------------------------
    ("kind_unknown", project(web=WEB.replace('"web"', '"frontend"')), "services/web/service.toml", "kind", "web, backend, worker"),
    ("fargate_cpu_invalid", project(web=WEB.replace("cpu = 256", "cpu = 300")), "services/web/service.toml", "cpu", "valid: 256, 512, 1024"),
    ("fargate_memory_mismatch", project(web=WEB.replace("memory = 512", "memory = 4096")), "services/web/service.toml", "memory", "valid: 512, 1024, 2048"),
    ("fargate_memory_step", project(web=WEB.replace("cpu = 256", "cpu = 1024").replace("memory = 512", "memory = 2500")), "services/web/service.toml", "memory", "cpu=1024"),
    ("port_zero", project(web=WEB.replace("port = 8080", "port = 0")), "services/web/service.toml", "port", "out of range (1..65535)"),
    ("port_huge", project(web=WEB.replace("port = 8080", "port = 70000")), "services/web/service.toml", "port", "out of range"),
    ("port_float", project(web=WEB.replace("port = 8080", "port = 80.5")), "services/web/service.toml", "port", "must be an integer"),
    ("port_reserved", project(web=WEB.replace("port = 8080", "port = 3306")), "services/web/service.toml", "port", "reserved"),
    ("host_port_differs", project(web=WEB.replace("port = 8080", "port = 8080\nhost_port = 80")), "services/web/service.toml", "host_port", "awsvpc"),
    ("counts_inverted", project(web="min_count = 5\nmax_count = 2\n" + WEB), "services/web/service.toml", "min_count", "greater than max_count"),
    ("desired_negative", project(web=WEB.replace("kind =", "desired_count = -1\nkind =")), "services/web/service.toml", "desired_count", "out of range"),
    ("name_unicode", project(web=WEB.replace("kind =", 'name = "wéb"\nkind =')), "services/web/service.toml", "name", "service name"),
    ("name_control_chars", project(web=WEB.replace("kind =", 'name = "web\\u0007"\nkind =')), "services/web/service.toml", "name", "control characters"),
    ("name_too_long", project(web=WEB.replace("kind =", 'name = "a-very-long-service-name-indeed"\nkind =')), "services/web/service.toml", "name", "service name"),
    ("duplicate_service_names", project(**{"services__web2__service.toml": WEB.replace("kind =", 'name = "web"\nkind =').replace('"/*"', '"/two/*"')}), "services/web2/service.toml", "name", "already used"),
    ("duplicate_routes", project(**{"services__shop__service.toml": WEB}), "services/web/service.toml", "routes", "same paths and hosts"),
    (
        "priorities_collide",
        project(
            web=WEB.replace('["/*"]', '["/a/*"]\npriority = 10'),
            **{"services__shop__service.toml": WEB.replace('["/*"]', '["/b/*"]\npriority = 10')},
        ),
        "services/web/service.toml",
        "routes.priority",
        "also the priority",
    ),
    ("route_missing_for_web", project(web=WEB.split("[routes]")[0]), "services/web/service.toml", "routes", "is required"),
    ("routes_on_worker", project(**{"services__jobs__service.toml": WORKER + '[routes]\npaths = ["/x"]\n'}), "services/jobs/service.toml", "routes", "only web services"),
    ("route_too_many_values", project(web=WEB.replace('["/*"]', '["/a", "/b", "/c", "/d"]\nhosts = ["a.example.com", "b.example.com"]')), "services/web/service.toml", "routes.paths", "a rule allows 5"),
    ("route_path_bad", project(web=WEB.replace('["/*"]', '["no-slash"]')), "services/web/service.toml", "routes.paths[0]", "path pattern"),
    ("priority_out_of_range", project(web=WEB.replace('["/*"]', '["/*"]\npriority = 50001')), "services/web/service.toml", "routes.priority", "out of range"),
    ("secret_value_inline", project(web=WEB + '[secrets]\nDB_PASSWORD = "hunter2"\n'), "services/web/service.toml", "secrets.DB_PASSWORD", "never the secret value"),
    ("secret_in_environment", project(web=WEB + '[environment]\nAPI_TOKEN = "abc"\n'), "services/web/service.toml", "environment.API_TOKEN", "[secrets]"),
    ("env_var_bad_name", project(web=WEB + '[environment]\n"1BAD" = "x"\n'), "services/web/service.toml", "environment.1BAD", "environment variable name"),
    ("dockerfile_traversal", project(web=WEB + '[build]\ndockerfile = "../../etc/passwd"\n'), "services/web/service.toml", "build.dockerfile", "inside the service folder"),
    ("dockerfile_absolute", project(web=WEB + '[build]\ndockerfile = "/etc/passwd"\n'), "services/web/service.toml", "build.dockerfile", "inside the service folder"),
    ("health_path_relative", project(web=WEB + '[health_check]\npath = "health"\n'), "services/web/service.toml", "health_check.path", "HTTP path"),
    ("health_timeout_too_long", project(web=WEB + "[health_check]\ninterval = 10\ntimeout = 10\n"), "services/web/service.toml", "health_check.timeout", "shorter than interval"),
    ("run_as_root", project(web=WEB.replace("kind =", 'user = "0"\nkind =')), "services/web/service.toml", "user", "root"),
    ("database_without_db", project(ENV + "[database]\nenabled = false\n", web=WEB.replace("kind =", "database = true\nkind =")), "services/web/service.toml", "database", "disabled"),
    ("arm_on_spot", project(web=WEB.replace("kind =", 'architecture = "ARM64"\ncapacity = "FARGATE_SPOT"\nkind =')), "services/web/service.toml", "architecture", "FARGATE_SPOT"),
    ("override_unknown_env", project(web=WEB + "[overrides.staging]\ncpu = 512\n"), "services/web/service.toml", "overrides.staging", "names no environment"),
    ("override_bad_memory", project(web=WEB + "[overrides.dev]\nmemory = 4096\n"), "services/web/service.toml", "overrides.dev.memory", "valid: 512, 1024, 2048"),
    ("override_not_allowed", project(web=WEB + "[overrides.dev]\nkind = \"worker\"\n"), "services/web/service.toml", "overrides.dev.kind", "cannot be overridden"),
    ("scaling_requests_on_worker", project(**{"services__jobs__service.toml": WORKER + "[scaling]\nrequests_per_target = 100\n"}), "services/jobs/service.toml", "scaling.requests_per_target", "only web"),
    ("schedule_bad_expression", project(web=WEB + '[[scaling.schedules]]\nname = "x"\nexpression = "every day"\nmin_count = 1\nmax_count = 2\n'), "services/web/service.toml", "scaling.schedules[0].expression", "cron"),
    ("queue_on_web", project(web=WEB + "[queue]\nvisibility_timeout = 30\n"), "services/web/service.toml", "queue", "only worker"),
    ("queue_visibility_huge", project(**{"services__jobs__service.toml": WORKER + "[queue]\nvisibility_timeout = 99999\n"}), "services/jobs/service.toml", "queue.visibility_timeout", "out of range"),
    ("external_image_without_uri", project(web=WEB + '[image]\nsource = "external"\n'), "services/web/service.toml", "image.uri", "is required"),
    ("external_image_without_tag", project(web=WEB + '[image]\nsource = "external"\nuri = "public.ecr.aws/nginx/nginx"\n'), "services/web/service.toml", "image.uri", "tag or digest"),
    ("service_without_manifest", project(**{"services__empty__README.md": "nothing"}), "services/empty", "", "has no service.toml"),
    ("ec2_capacity_disabled", project(ENV + "[cluster.ec2]\nenabled = false\n", web=WEB.replace("kind =", 'capacity = "EC2"\nkind =')), "services/web/service.toml", "capacity", "cluster.ec2.enabled is false"),
]


@pytest.mark.parametrize(("case", "files", "file", "field", "words"), BAD, ids=[row[0] for row in BAD])
def test_fails_when_config_is_bad(tmp_path: Path, case: str, files: dict[str, str], file: str, field: str, words: str) -> None:
    root = write_project(tmp_path, files)
    sentinel = root / "cdktf.out" / "stacks" / "keep" / "cdk.tf.json"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text('{"untouched": true}')
    before = sorted(p.relative_to(root).as_posix() for p in (root / "cdktf.out").rglob("*"))

    result = subprocess.run([sys.executable, "main.py"], cwd=root, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    where = f"{file}: {field}:" if field else f"{file}:"
    assert where in result.stderr, result.stderr
    assert words in result.stderr, result.stderr
    assert sorted(p.relative_to(root).as_posix() for p in (root / "cdktf.out").rglob("*")) == before
    assert sentinel.read_text() == '{"untouched": true}'


def test_bad_cases_cover_the_required_kinds() -> None:
    assert len(BAD) >= 40
    assert len({row[0] for row in BAD}) == len(BAD)


def test_config_error_message_names_file_and_field() -> None:
    error = ConfigError("services/web/service.toml", "cpu", "300 is not a Fargate size")
    assert str(error) == "services/web/service.toml: cpu: 300 is not a Fargate size"
