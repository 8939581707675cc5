"""The platform database: RDS MySQL flags per environment, its parameter and subnet groups,
enhanced monitoring, log groups and alarms, and what happens when it is disabled."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infra.platform.database import connections_threshold, estimated_memory_gib, free_storage_threshold_bytes
from tests.conftest import FIXTURE, Synth, by_path, data_sources, in_default, only, resources, variable

ENVS = ("dev", "prod")


def _db(synth: Synth, env: str) -> dict[str, Any]:
    return only(synth.stack(f"{env}-platform"), "aws_db_instance")


def _ref(stack: dict[str, Any], type_: str, suffix: str, attr: str) -> str:
    """The `${type.logical_id.attr}` expression of the resource at */suffix."""
    for logical_id, res in resources(stack, type_).items():
        if res["//"]["metadata"]["path"].endswith(suffix):
            return f"${{{type_}.{logical_id}.{attr}}}"
    raise AssertionError(f"no {type_} at */{suffix}")


def _key_arn(stack: dict[str, Any]) -> str:
    return _ref(stack, "aws_kms_key", "platform/key/key", "arn")


@pytest.mark.parametrize("env", ENVS)
def test_database_is_encrypted_private_and_uses_a_managed_secret(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    db = _db(synth, env)
    key = _key_arn(stack)
    assert db["identifier"] == f"{env}-mysql"
    # The default: 8.4, in RDS standard support (8.0 left it on 2026-07-31).
    assert db["engine"] == "mysql" and db["engine_version"] == "8.4"
    # A change of engine_version is a major version upgrade in place (docs/UPGRADE.md).
    assert db["allow_major_version_upgrade"] is True
    assert db["port"] == 3306
    assert db["storage_encrypted"] is True and db["kms_key_id"] == key
    assert db["manage_master_user_password"] is True
    assert db["master_user_secret_kms_key_id"] == key
    assert db["publicly_accessible"] is False
    assert db["iam_database_authentication_enabled"] is True
    assert db["copy_tags_to_snapshot"] is True
    assert db["auto_minor_version_upgrade"] is True
    assert db["storage_type"] == "gp3"
    ceiling = variable(synth.stack(f"{env}-platform"), db["max_allocated_storage"], "database_max_allocated_storage")
    assert ceiling > db["allocated_storage"]
    assert db["vpc_security_group_ids"] == [_ref(stack, "aws_security_group", "security/database", "id")]


@pytest.mark.parametrize("env", ENVS)
def test_no_password_anywhere_in_the_platform_json(synth: Synth, env: str) -> None:
    db = _db(synth, env)
    assert "password" not in db and "password_wo" not in db
    assert "password" not in json.dumps(synth.stack(f"{env}-platform")).replace("manage_master_user_password", "")


@pytest.mark.parametrize("env", ENVS)
def test_database_is_published_in_the_contract(synth: Synth, env: str) -> None:
    """Services read the database only through these outputs (never the instance itself)."""
    stack = synth.stack(f"{env}-platform")
    outputs = {name: output["value"] for name, output in stack["output"].items()}
    db = _db(synth, env)
    instance = "database/instance"
    assert outputs["database_endpoint"] == _ref(stack, "aws_db_instance", instance, "address")
    assert outputs["database_port"] == db["port"] == 3306
    assert outputs["database_name"] == db["db_name"]
    assert outputs["database_secret_arn"] == _ref(stack, "aws_db_instance", instance, "master_user_secret[0].secret_arn")
    assert outputs["database_security_group_id"] == _ref(stack, "aws_security_group", "security/database", "id")


@pytest.mark.parametrize(
    "env, multi_az, deletion_protection, skip_final, final_id, prevent_destroy, backups, storage, max_storage",
    [
        ("dev", False, True, True, None, True, 3, 20, 100),  # dev opts into deletion protection
        ("prod", True, True, False, "prod-mysql-final", True, 14, 100, 500),
    ],
)
def test_production_flags_differ_from_dev(
    synth: Synth,
    env: str,
    multi_az: bool,
    deletion_protection: bool,
    skip_final: bool,
    final_id: str | None,
    prevent_destroy: bool | None,
    backups: int,
    storage: int,
    max_storage: int,
) -> None:
    db = _db(synth, env)
    assert db["multi_az"] is multi_az
    assert db["deletion_protection"] is deletion_protection
    assert db["skip_final_snapshot"] is skip_final
    assert db.get("final_snapshot_identifier") == final_id
    assert db.get("lifecycle", {}).get("prevent_destroy") == prevent_destroy
    stack = synth.stack(f"{env}-platform")
    assert variable(stack, db["backup_retention_period"], "database_backup_retention_days") == backups
    assert db["allocated_storage"] == storage
    assert variable(stack, db["max_allocated_storage"], "database_max_allocated_storage") == max_storage


@pytest.mark.parametrize("env, enabled", [("dev", False), ("prod", True)])
def test_performance_insights_follows_the_instance_class(synth: Synth, env: str, enabled: bool) -> None:
    db = _db(synth, env)
    assert db["performance_insights_enabled"] is enabled
    if enabled:
        assert db["performance_insights_kms_key_id"] == _key_arn(synth.stack(f"{env}-platform"))
        assert db["performance_insights_retention_period"] == 7
    else:
        assert "performance_insights_kms_key_id" not in db


@pytest.mark.parametrize("env", ENVS)
def test_log_exports_go_to_encrypted_log_groups_created_first(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    db = _db(synth, env)
    assert db["enabled_cloudwatch_logs_exports"] == ["audit", "error", "slowquery"]
    retention = {"dev": 365, "prod": 365}[env]
    for log in db["enabled_cloudwatch_logs_exports"]:
        group = by_path(stack, "aws_cloudwatch_log_group", f"database/log-{log}")
        assert group["name"] == f"/aws/rds/instance/{env}-mysql/{log}"
        assert group["kms_key_id"] == _key_arn(stack)
        assert group["retention_in_days"] == retention
        logical_id = _ref(stack, "aws_cloudwatch_log_group", f"database/log-{log}", "x").split(".")[1]
        assert f"aws_cloudwatch_log_group.{logical_id}" in db["depends_on"]


@pytest.mark.parametrize("env", ENVS)
def test_audit_export_has_the_audit_plugin(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    options = only(stack, "aws_db_option_group")
    assert (options["engine_name"], options["major_engine_version"]) == ("mysql", "8.4")
    assert options["name"] == f"{env}-mysql84"
    assert options["lifecycle"] == {"create_before_destroy": True}
    assert [o["option_name"] for o in options["option"]] == ["MARIADB_AUDIT_PLUGIN"]
    assert _db(synth, env)["option_group_name"] == _ref(stack, "aws_db_option_group", "database/options", "name")


@pytest.mark.parametrize("env", ENVS)
def test_parameter_group_requires_tls_and_logs_slow_queries(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    group = only(stack, "aws_db_parameter_group")
    assert group["family"] == "mysql8.4" and group["name"] == f"{env}-mysql84"
    # A new major version's group is created before the instance moves to it.
    assert group["lifecycle"] == {"create_before_destroy": True}
    params = {p["name"]: p["value"] for p in group["parameter"]}
    # RDS instance groups use 1/0 for MySQL booleans (what AWS reads back, and what Checkov checks).
    assert params["require_secure_transport"] == "1"
    assert params["slow_query_log"] == "1"
    assert params["log_output"] == "FILE"
    assert _db(synth, env)["parameter_group_name"] == _ref(stack, "aws_db_parameter_group", "database/parameters", "name")


@pytest.mark.parametrize("env, az_count", [("dev", 2), ("prod", 3)])
def test_subnet_group_uses_exactly_the_database_subnets(synth: Synth, env: str, az_count: int) -> None:
    stack = synth.stack(f"{env}-platform")
    group = only(stack, "aws_db_subnet_group")
    expected = [_ref(stack, "aws_subnet", f"network/database-{i}", "id") for i in range(az_count)]
    assert group["subnet_ids"] == expected
    assert _db(synth, env)["db_subnet_group_name"] == _ref(stack, "aws_db_subnet_group", "database/subnets", "name")


@pytest.mark.parametrize("env", ENVS)
def test_enhanced_monitoring_role_is_inline_and_trusted_by_rds_monitoring(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    db = _db(synth, env)
    assert db["monitoring_interval"] == 60
    assert db["monitoring_role_arn"] == _ref(stack, "aws_iam_role", "database/monitoring-role", "arn")
    role = by_path(stack, "aws_iam_role", "database/monitoring-role")
    assert "managed_policy_arns" not in role
    assert not [
        a for a in resources(stack, "aws_iam_role_policy_attachment").values() if "RDSEnhancedMonitoring" in a["policy_arn"]
    ]
    trust = [d for d in data_sources(stack, "aws_iam_policy_document").values() if d["//"]["metadata"]["path"].endswith("database/monitoring-trust")]
    assert trust[0]["statement"][0]["principals"][0]["identifiers"] == ["monitoring.rds.amazonaws.com"]
    policy = by_path(stack, "aws_iam_role_policy", "database/monitoring-policy")
    assert policy["role"] == _ref(stack, "aws_iam_role", "database/monitoring-role", "id")
    perms = [d for d in data_sources(stack, "aws_iam_policy_document").values() if d["//"]["metadata"]["path"].endswith("database/monitoring-permissions")]
    actions = {a for s in perms[0]["statement"] for a in s["actions"]}
    assert actions == {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"}
    assert all("*" not in s["resources"] for s in perms[0]["statement"])


@pytest.mark.parametrize(
    "env, alarm, metric, comparison, threshold, periods",
    [
        ("dev", "cpu-high", "CPUUtilization", "GreaterThanThreshold", 80, 3),
        ("dev", "storage-low", "FreeStorageSpace", "LessThanThreshold", 20 * 1024**3 // 10, 1),
        ("dev", "connections-high", "DatabaseConnections", "GreaterThanThreshold", 68, 3),
        ("prod", "cpu-high", "CPUUtilization", "GreaterThanThreshold", 80, 3),
        ("prod", "storage-low", "FreeStorageSpace", "LessThanThreshold", 100 * 1024**3 // 10, 1),
        ("prod", "connections-high", "DatabaseConnections", "GreaterThanThreshold", 545, 3),
    ],
)
def test_database_alarms_notify_the_alarm_topic(
    synth: Synth, env: str, alarm: str, metric: str, comparison: str, threshold: int, periods: int
) -> None:
    stack = synth.stack(f"{env}-platform")
    item = by_path(stack, "aws_cloudwatch_metric_alarm", f"database/alarm-{alarm}")
    topic = _ref(stack, "aws_sns_topic", "alarms/topic", "arn")
    assert item["alarm_name"] == f"{env}-mysql-{alarm}"
    assert item["namespace"] == "AWS/RDS" and item["metric_name"] == metric
    assert item["dimensions"] == {"DBInstanceIdentifier": _ref(stack, "aws_db_instance", "database/instance", "identifier")}
    assert item["comparison_operator"] == comparison
    assert item["threshold"] == threshold
    assert item["period"] * item["evaluation_periods"] == 300 * periods
    assert item["alarm_actions"] == [topic] and item["ok_actions"] == [topic]


@pytest.mark.parametrize(
    "instance_class, memory_gib",
    [("db.t4g.micro", 1), ("db.t3.medium", 4), ("db.m6g.large", 8), ("db.r6g.xlarge", 32), ("db.m5.24xlarge", 384), ("db.q9.large", 1)],
)
def test_memory_estimate_per_instance_class(instance_class: str, memory_gib: int) -> None:
    assert estimated_memory_gib(instance_class) == memory_gib


def test_connection_threshold_grows_with_memory() -> None:
    assert connections_threshold("db.t4g.micro") < connections_threshold("db.m6g.large") < connections_threshold("db.r6g.xlarge")


def test_storage_threshold_is_ten_percent_in_bytes() -> None:
    from infra.config import load_app

    env = load_app(FIXTURE, environments=["prod"]).environments[0]
    assert free_storage_threshold_bytes(env.database) == 10 * 1024**3


def test_disabled_database_builds_nothing(tmp_path: Path) -> None:
    from cdktf import App, Testing

    from infra.config import load_app
    from infra.platform.stack import PlatformStack

    spec = load_app(FIXTURE, environments=["dev"])
    (env,) = spec.environments
    env = replace(env, database=replace(env.database, enabled=False))
    app = App(outdir=str(tmp_path))
    stack = PlatformStack(app, "dev-platform", env=env, local=None)
    assert stack.platform.database is None
    out = in_default(json.loads(Testing.synth(stack)))
    for type_ in ("aws_db_instance", "aws_db_subnet_group", "aws_db_parameter_group", "aws_db_option_group"):
        assert not resources(out, type_)
    assert not [a for a in resources(out, "aws_cloudwatch_metric_alarm").values() if "AWS/RDS" in json.dumps(a)]
    # Nor does the contract offer a database to services.
    database_outputs = {"database_endpoint", "database_port", "database_name", "database_secret_arn"}
    assert not database_outputs & set(out["output"])
    body = only(out, "aws_cloudwatch_dashboard")["dashboard_body"]
    assert "AWS/RDS" not in body and "AWS/ECS" in body


# ---------------------------------------------------------------------------------
# Engine support: 8.4 by default; 8.0 (RDS Extended Support) still accepted, with a warning
# ---------------------------------------------------------------------------------
def test_mysql_80_still_builds_its_own_family_and_option_group(tmp_path: Path) -> None:
    from cdktf import App, Testing

    from infra.platform.stack import PlatformStack
    from tests.config_builder import Project

    spec = Project(tmp_path).env(database={"engine_version": "8.0.40"}).load()
    (env,) = spec.environments
    assert env.database.engine_version == "8.0.40"
    out = in_default(json.loads(Testing.synth(PlatformStack(App(outdir=str(tmp_path / "out")), "dev-platform", env=env, local=None))))
    group = only(out, "aws_db_parameter_group")
    assert (group["family"], group["name"]) == ("mysql8.0", "dev-mysql80")
    options = only(out, "aws_db_option_group")
    assert (options["major_engine_version"], options["name"]) == ("8.0", "dev-mysql80")
    assert only(out, "aws_db_instance")["engine_version"] == "8.0.40"


def test_mysql_80_loads_with_one_warning_line_naming_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.config_builder import Project

    spec = Project(tmp_path).env(database={"engine_version": "8.0"}).load()
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("warning: environments/dev.toml: database.engine_version: '8.0': MySQL 8.0 left RDS standard support on 2026-07-31")
    assert spec.warnings == (err.removeprefix("warning: ").rstrip("\n"),)


def test_mysql_84_and_a_disabled_database_load_without_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.config_builder import Project

    assert Project(tmp_path / "a").load().warnings == ()
    assert Project(tmp_path / "b").env(database={"enabled": False, "engine_version": "8.0"}).load().warnings == ()
    assert capsys.readouterr().err == ""


def test_main_py_prints_the_warning_once_and_exits_0(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.config_builder import Project

    root = Project(tmp_path).env(database={"engine_version": "8.0"}).write_runnable()
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    result = subprocess.run([sys.executable, "main.py"], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [line for line in result.stderr.splitlines() if "engine_version" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: environments/dev.toml: database.engine_version: ")
