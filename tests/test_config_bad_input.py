"""Every bad input is refused at load, with one line naming the file and the field.

Table-driven: one row per case, each building its own small configuration (see
tests/config_builder.py) from a valid minimal one, so the row shows exactly what is wrong.
The rows run in-process (`load_app`); a few run the real `python main.py` too, for exit
code 2, no traceback and nothing written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from infra.config import ConfigError
from tests.config_builder import BACKEND, DELETE, ENV, JOB, WEB, WORKER, Project

DEV = "environments/dev.toml"
WEB_TOML = "services/web/service.toml"


class Bad(NamedTuple):
    id: str
    category: str
    build: Callable[[Project], Any]
    file: str
    field: str
    words: str


def env(case: str, category: str, field: str, words: str, **changes: Any) -> Bad:
    return Bad(case, category, lambda p: p.env(**changes), DEV, field, words)


def web(case: str, category: str, field: str, words: str, **changes: Any) -> Bad:
    return Bad(case, category, lambda p: p.service("web", **changes), WEB_TOML, field, words)


JOB_TOML = "services/cleanup/service.toml"


def job(case: str, category: str, field: str, words: str, **changes: Any) -> Bad:
    """A scheduled job `cleanup` (kind = "job") next to the minimal web service."""
    return Bad(case, category, lambda p: p.service("cleanup", JOB, **changes), JOB_TOML, field, words)


def net(**changes: Any) -> dict[str, Any]:
    return {"network": changes}


def routes(**changes: Any) -> dict[str, Any]:
    return {"routes": changes}


def schedule(**changes: Any) -> dict[str, Any]:
    item = {"name": "day", "expression": "cron(0 7 ? * MON-FRI *)", "min_count": 1, "max_count": 2}
    item.update(changes)
    return {"scaling": {"schedules": [item]}}


CERT = "arn:aws:acm:us-east-1:123456789012:certificate/3c1f2a9e-0d4b-4f6e-8a7c-5b9d1e2f3a40"
ZONE = "Z0123456789ABCDEFGHIJ"


def domains(hosts: list[str]) -> Callable[[Project], Project]:
    """The web service with `hosts`, in an environment with a zone and HTTPS."""

    def build(p: Project) -> Project:
        p.env(hosted_zone_id=ZONE, load_balancer={"certificate_arn": CERT})
        return p.service("web", routes={"paths": ["/*"], "hosts": hosts}) if hosts else p

    return build


def permission(**changes: Any) -> dict[str, Any]:
    item = {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::bucket/*"]}
    item.update(changes)
    return {"permissions": [item]}


JOBS_TOML = "services/jobs/service.toml"


def subscriber(case: str, category: str, field: str, words: str, *subscriptions: dict[str, Any], **api: Any) -> Bad:
    """A worker `jobs` with `subscriptions`, beside a backend `api` that publishes "orders" (or `api`'s keys)."""
    return Bad(
        case,
        category,
        lambda p: p.service("api", BACKEND, **({"publish": ["orders"]} | api)).service("jobs", WORKER, subscribe=list(subscriptions)),
        JOBS_TOML,
        field,
        words,
    )


def orders(**changes: Any) -> dict[str, Any]:
    """A subscription to api.orders with `changes` (a filter, its scope)."""
    return {"topic": "api.orders", **changes}


PUBLIC_IDS = ["subnet-0a000000000000001", "subnet-0a000000000000002"]
PRIVATE_IDS = ["subnet-0b000000000000001", "subnet-0b000000000000002"]
DATABASE_IDS = ["subnet-0c000000000000001", "subnet-0c000000000000002"]


def existing(**changes: Any) -> dict[str, Any]:
    """An existing VPC (brownfield) in place of a created one, with `changes`."""
    network = {
        "vpc_cidr": DELETE,
        "vpc_id": "vpc-0123456789abcdef0",
        "public_subnet_ids": PUBLIC_IDS,
        "private_subnet_ids": PRIVATE_IDS,
        "database_subnet_ids": DATABASE_IDS,
    }
    network.update(changes)
    return {"network": network}


def imports(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"imports": list(entries)}


TAGS_46 = {f"Tag{i}": "x" for i in range(46)}
CERT_EU = "arn:aws:acm:eu-west-1:123456789012:certificate/3c1f2a9e-0d4b-4f6e-8a7c-5b9d1e2f3a40"

ENVIRONMENT_ROWS = [
    # -- keys and types ----------------------------------------------------------------
    env("a_top_level_key_is_misspelled", "unknown key", "regoin", "did you mean 'region'", regoin="us-east-1"),
    env("a_network_key_is_misspelled", "unknown key", "network.az_cuont", "did you mean 'az_count'", network={"az_cuont": 3}),
    # A key with a newline or a space in it (TOML allows any quoted key): the field is quoted, the line stays one.
    env("a_key_has_a_newline_in_it", "unknown key", 'load_balancer."\\n"', "unknown key", load_balancer={"\n": 0}),
    env("a_key_has_a_space_in_it", "unknown key", 'network."az count"', "unknown key", network={"az count": 3}),
    env("a_database_key_is_misspelled", "unknown key", "database.db_nmae", "did you mean 'db_name'", database={"db_nmae": "x"}),
    env("an_ec2_key_is_misspelled", "unknown key", "cluster.ec2.instance_typ", "did you mean 'instance_type'", cluster={"ec2": {"instance_typ": "t3.large"}}),
    env("a_local_backend_has_s3_keys", "unknown key", "backend.bucket", "unknown key for a local backend", backend={"bucket": "state-bucket"}),
    env("region_is_a_number", "type", "region", "must be a string, got int 42", region=42),
    env("region_is_empty", "type", "region", "must not be empty", region=""),
    env("az_count_is_a_string", "type", "network.az_count", "must be an integer, got str '2'", network={"az_count": "2"}),
    env("az_count_is_a_boolean", "type", "network.az_count", "must be an integer, got bool", network={"az_count": True}),
    env("az_count_is_a_float", "type", "network.az_count", "must be an integer, got float 2.0", network={"az_count": 2.0}),
    env("network_is_not_a_table", "type", "network", "must be a table", network="10.0.0.0/16"),
    env("deletion_protection_is_a_string", "type", "deletion_protection", "must be true or false", deletion_protection="yes"),
    env("log_retention_is_a_float", "type", "observability.log_retention_days", "must be an integer", observability={"log_retention_days": 30.0}),
    env("a_tag_value_is_a_number", "type", "tags.Owner", "must be a string", tags={"Owner": 7}),
    env("region_is_missing", "required", "region", "is required", region=DELETE),
    env("network_is_missing", "required", "network", "is required", network=DELETE),
    env("admin_cidr_is_missing", "required", "network.admin_cidr", "is required", network={"admin_cidr": DELETE}),
    env("an_s3_backend_has_no_bucket", "required", "backend.bucket", "is required", backend={"type": "s3"}),
    env("a_cloud_backend_has_no_organization", "required", "backend.organization", "is required", backend={"type": "cloud"}),
    env("codestar_has_no_connection", "required", "pipeline.connection_arn", "required", pipeline={"source": "codestar"}),
    # -- AWS names and ranges ------------------------------------------------------------
    env("region_is_not_a_region_name", "aws rule", "region", "AWS region", region="mars-1"),
    env("region_does_not_exist", "aws rule", "region", "is not an AWS region; did you mean", region="us-east-7"),
    env("az_count_is_above_six", "range", "network.az_count", "out of range (2..6)", network={"az_count": 7}),
    env("az_count_is_one", "range", "network.az_count", "out of range (2..6)", network={"az_count": 1}),
    env("az_count_exceeds_the_zones_of_the_region", "aws rule", "network.az_count", "exceeds the 3 availability zones of us-east-2", region="us-east-2", network={"az_count": 4}),
    env("a_zone_is_in_another_region", "aws rule", "network.availability_zones[1]", "not an availability zone of us-east-1", network={"availability_zones": ["us-east-1a", "eu-west-1b"]}),
    env("a_zone_does_not_exist_in_the_region", "aws rule", "network.availability_zones[1]", "not an availability zone of ap-northeast-1", region="ap-northeast-1", network={"availability_zones": ["ap-northeast-1a", "ap-northeast-1b"]}),
    env("zones_are_listed_twice", "aws rule", "network.availability_zones", "more than once", network={"availability_zones": ["us-east-1a", "us-east-1a"]}),
    env("zones_do_not_match_az_count", "network", "network.availability_zones", "az_count is 2", network={"availability_zones": ["us-east-1a", "us-east-1b", "us-east-1c"]}),
    env("zones_of_an_account_mapped_region_are_guessed", "aws rule", "network.availability_zones", "is required in us-west-1", region="us-west-1"),
    env("vpc_cidr_is_not_a_cidr", "network", "network.vpc_cidr", "not an IPv4 CIDR", network={"vpc_cidr": "10.10.0.300/16"}),
    env("vpc_cidr_has_host_bits", "network", "network.vpc_cidr", "host bits", network={"vpc_cidr": "10.10.0.1/16"}),
    env("vpc_cidr_is_too_small", "network", "network.vpc_cidr", "/22", network={"vpc_cidr": "10.10.0.0/24"}),
    env("vpc_cidr_is_public", "network", "network.vpc_cidr", "RFC 1918", network={"vpc_cidr": "8.8.0.0/16"}),
    env("vpc_cidr_is_loopback", "network", "network.vpc_cidr", "RFC 1918", network={"vpc_cidr": "127.0.0.0/16"}),
    env("vpc_cidr_is_link_local", "network", "network.vpc_cidr", "RFC 1918", network={"vpc_cidr": "169.254.0.0/16"}),
    env("vpc_cidr_is_the_benchmark_range", "network", "network.vpc_cidr", "RFC 1918", network={"vpc_cidr": "198.18.0.0/16"}),
    env("nat_mode_is_unknown", "range", "network.nat", "single, per_az", network={"nat": "many"}),
    env("ssh_is_open_to_the_world", "network", "network.admin_cidr", "0.0.0.0/0", network={"admin_cidr": "0.0.0.0/0"}),
    env("subnets_overlap", "network", "network.private_subnets[0]", "overlaps 10.10.0.0/24", network={"public_subnets": ["10.10.0.0/24", "10.10.1.0/24"]}),
    env("a_subnet_is_outside_the_vpc", "network", "network.database_subnets[0]", "does not fit", network={"database_subnets": ["10.99.0.0/24", "10.10.250.0/24"]}),
    env("subnets_do_not_match_az_count", "network", "network.private_subnets", "az_count is 2", network={"private_subnets": ["10.10.0.0/19"]}),
    env("a_subnet_is_smaller_than_28", "network", "network.public_subnets[0]", "between /16 and /28", network={"public_subnets": ["10.10.192.0/29", "10.10.193.0/24"]}),
    env("a_public_subnet_is_smaller_than_27", "aws rule", "network.public_subnets[1]", "10.10.193.0/28 is smaller than /27: the load balancer's subnets", network={"public_subnets": ["10.10.192.0/27", "10.10.193.0/28"]}),
    env("a_22_vpc_has_no_room_for_five_public_27s", "aws rule", "network.vpc_cidr", "too small for 5 zones", network={"vpc_cidr": "10.10.0.0/22", "az_count": 5}),
    env("flow_log_retention_is_not_a_cloudwatch_value", "range", "network.flow_log_retention_days", "valid: 1, 3, 5", network={"flow_log_retention_days": 10}),
    env("state_bucket_has_upper_case", "aws rule", "backend.bucket", "not an S3 bucket name", backend={"type": "s3", "bucket": "Bad_Bucket"}),
    env("state_bucket_is_too_short", "aws rule", "backend.bucket", "3 to 63", backend={"type": "s3", "bucket": "ab"}),
    env("state_bucket_has_adjacent_periods", "aws rule", "backend.bucket", "two adjacent periods", backend={"type": "s3", "bucket": "my..bucket"}),
    env("state_bucket_looks_like_an_ip_address", "aws rule", "backend.bucket", "IP address", backend={"type": "s3", "bucket": "192.168.5.4"}),
    env("state_bucket_starts_with_xn", "aws rule", "backend.bucket", "'xn--'", backend={"type": "s3", "bucket": "xn--state"}),
    env("state_bucket_ends_with_s3alias", "aws rule", "backend.bucket", "'-s3alias'", backend={"type": "s3", "bucket": "state-s3alias"}),
    env("state_is_unencrypted", "security", "backend.encrypt", "must stay true", backend={"type": "s3", "bucket": "state-bucket", "encrypt": False}),
    env("state_has_no_lock", "security", "backend.use_lockfile", "no lock", backend={"type": "s3", "bucket": "state-bucket", "use_lockfile": False}),
    env("state_region_is_unknown", "aws rule", "backend.region", "not an AWS region", backend={"type": "s3", "bucket": "state-bucket", "region": "eu-wst-1"}),
    env("state_key_is_in_another_region", "aws rule", "backend.kms_key_id", "is a key in eu-west-1; the state bucket is in us-east-1", backend={"type": "s3", "bucket": "state-bucket", "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}),
    env("backend_type_is_unknown", "range", "backend.type", "local, s3, cloud", backend={"type": "consul"}),
    env("production_turns_protection_off_alone", "security", "deletion_protection", "allow_destroy", production=True, deletion_protection=False),
    env("log_retention_is_not_a_cloudwatch_value", "range", "observability.log_retention_days", "valid: 1, 3, 5", observability={"log_retention_days": 10}),
    env("an_alarm_email_is_invalid", "range", "observability.alarm_emails[0]", "e-mail", observability={"alarm_emails": ["not-an-email"]}),
    env("db_storage_is_negative", "range", "database.allocated_storage", "out of range (20..65536)", database={"allocated_storage": -5}),
    env("db_storage_is_huge", "range", "database.allocated_storage", "out of range", database={"allocated_storage": 99999999999}),
    env("db_storage_ceiling_is_below_storage", "aws rule", "database.max_allocated_storage", "below allocated_storage", database={"allocated_storage": 200, "max_allocated_storage": 150}),
    env("db_backup_retention_is_above_35", "range", "database.backup_retention_days", "out of range (1..35)", database={"backup_retention_days": 36}),
    env("db_master_user_is_reserved", "aws rule", "database.master_username", "reserved", database={"master_username": "admin"}),
    env("db_master_user_is_a_mysql_reserved_word", "aws rule", "database.master_username", "MySQL reserved word", database={"master_username": "select"}),
    env("db_name_is_a_mysql_reserved_word", "aws rule", "database.db_name", "MySQL reserved word", database={"db_name": "order"}),
    env("db_name_has_a_hyphen", "aws rule", "database.db_name", "MySQL database name", database={"db_name": "my-app"}),
    env("performance_insights_on_a_micro_instance", "aws rule", "database.performance_insights", "not available", database={"instance_class": "db.t4g.micro", "performance_insights": True}),
    env("hosted_zone_id_is_a_zone_name", "aws rule", "hosted_zone_id", "Route 53 hosted zone id", hosted_zone_id="example.com"),
    env("hosted_zone_id_has_the_api_prefix", "aws rule", "hosted_zone_id", "Route 53 hosted zone id", hosted_zone_id="/hostedzone/Z0123456789ABC"),
    env("hosted_zone_id_is_lower_case", "aws rule", "hosted_zone_id", "Route 53 hosted zone id", hosted_zone_id="z0123456789abcdefghij"),
    env("tls_policy_is_weak", "security", "load_balancer.ssl_policy", "TLS 1.2+", load_balancer={"ssl_policy": "ELBSecurityPolicy-2016-08"}),
    env("certificate_and_domain_are_both_set", "cross-field", "load_balancer.domain", "not both", load_balancer={"certificate_arn": CERT_EU.replace("eu-west-1", "us-east-1"), "domain": "x.example.com"}),
    env("certificate_is_in_another_region", "aws rule", "load_balancer.certificate_arn", "is in eu-west-1; the load balancer is in us-east-1", load_balancer={"certificate_arn": CERT_EU}),
    env("idle_timeout_is_zero", "range", "load_balancer.idle_timeout", "out of range (1..4000)", load_balancer={"idle_timeout": 0}),
    env("strategy_mixes_ec2_and_fargate", "aws rule", "cluster.default_strategy", "cannot mix", cluster={"default_strategy": [{"provider": "EC2"}, {"provider": "FARGATE"}]}),
    env("strategy_names_a_provider_twice", "aws rule", "cluster.default_strategy", "more than once", cluster={"default_strategy": [{"provider": "FARGATE"}, {"provider": "FARGATE", "weight": 2}]}),
    env("strategy_has_two_bases", "aws rule", "cluster.default_strategy", "only one capacity provider may have a base", cluster={"default_strategy": [{"provider": "FARGATE", "base": 1}, {"provider": "FARGATE_SPOT", "base": 1}]}),
    env("ec2_min_size_exceeds_max_size", "cross-field", "cluster.ec2.min_size", "greater than max_size", cluster={"ec2": {"min_size": 5, "max_size": 2}}),
    env("strategy_uses_disabled_ec2", "cross-field", "cluster.default_strategy", "cluster.ec2.enabled is false", cluster={"default_strategy": "EC2", "ec2": {"enabled": False}}),
    env("a_tag_key_uses_the_aws_prefix", "aws rule", 'tags."aws:owner"', "tag key", tags={"aws:owner": "x"}),
    env("a_tag_value_has_a_forbidden_character", "aws rule", "tags.Owner", "tag values allow", tags={"Owner": "a<b>"}),
    env("a_tag_replaces_a_platform_tag", "aws rule", "tags.Environment", "set by the platform", tags={"Environment": "other"}),
    env("tags_exceed_fifty_with_the_platform_tags", "aws rule", "tags", "at most 45", tags=TAGS_46),
    env("namespace_is_not_a_dns_name", "aws rule", "namespace", "DNS name", namespace="Dev_Internal"),
    # -- an existing network (brownfield) ---------------------------------------------------------
    env("neither_vpc_cidr_nor_vpc_id_is_given", "required", "network.vpc_cidr", "is required (or vpc_id", network={"vpc_cidr": DELETE}),
    env("vpc_id_is_not_a_vpc_id", "aws rule", "network.vpc_id", "a VPC id", **existing(vpc_id="vpc-main")),
    env("vpc_id_has_upper_case_hex", "aws rule", "network.vpc_id", "a VPC id", **existing(vpc_id="vpc-0123456789ABCDEF0")),
    env("a_subnet_id_is_not_a_subnet_id", "aws rule", "network.private_subnet_ids[1]", "a subnet id", **existing(private_subnet_ids=[PRIVATE_IDS[0], "sn-12345678"])),
    env("vpc_id_comes_without_database_subnets", "required", "network.database_subnet_ids", "is required with vpc_id", **existing(database_subnet_ids=DELETE)),
    env("subnet_ids_come_without_vpc_id", "cross-field", "network.public_subnet_ids", "needs vpc_id as well", network={"public_subnet_ids": PUBLIC_IDS}),
    env("vpc_id_comes_with_vpc_cidr", "cross-field", "network.vpc_cidr", "describes a VPC the platform creates", **existing(vpc_cidr="10.10.0.0/16")),
    env("vpc_id_comes_with_nat", "cross-field", "network.nat", "describes a VPC the platform creates", **existing(nat="per_az")),
    env("vpc_id_comes_with_az_count", "cross-field", "network.az_count", "describes a VPC the platform creates", **existing(az_count=3)),
    env("vpc_id_comes_with_subnet_cidrs", "cross-field", "network.public_subnets", "describes a VPC the platform creates", **existing(public_subnets=["10.10.0.0/24", "10.10.1.0/24"])),
    env("vpc_id_comes_with_flow_log_retention", "cross-field", "network.flow_log_retention_days", "flow logs apply", **existing(flow_log_retention_days=30)),
    env("the_load_balancer_gets_one_public_subnet", "aws rule", "network.public_subnet_ids", "the load balancer needs subnets in at least two", **existing(public_subnet_ids=PUBLIC_IDS[:1])),
    env("the_database_gets_one_subnet", "aws rule", "network.database_subnet_ids", "DB subnet group covers at least two", **existing(database_subnet_ids=DATABASE_IDS[:1])),
    env("a_subnet_is_in_two_tiers", "cross-field", "network.database_subnet_ids[1]", "also listed in private_subnet_ids", **existing(database_subnet_ids=[DATABASE_IDS[0], PRIVATE_IDS[1]])),
    env("a_subnet_is_listed_twice_in_a_tier", "cross-field", "network.public_subnet_ids", "more than once", **existing(public_subnet_ids=[PUBLIC_IDS[0], PUBLIC_IDS[0]])),
    # -- [[imports]] of the platform stack ---------------------------------------------------------
    env("an_import_address_has_no_type", "aws rule", "imports[0].to", "a resource address", **imports({"to": "web", "id": "dev/web"})),
    env("an_import_address_has_an_index", "aws rule", "imports[0].to", "a resource address", **imports({"to": "aws_subnet.public[0]", "id": "subnet-0a000000000000001"})),
    env("an_import_has_no_id", "required", "imports[0].id", "is required", **imports({"to": "aws_s3_bucket.logs"})),
    env("an_import_id_is_blank", "type", "imports[0].id", "must not be empty", **imports({"to": "aws_kms_key.key", "id": " "})),
    env("an_ecr_import_id_has_upper_case", "aws rule", "imports[0].id", "not an ECR repository name", **imports({"to": "aws_ecr_repository.web", "id": "Dev/Web"})),
    env("a_log_group_import_id_has_a_space", "aws rule", "imports[0].id", "CloudWatch Logs group name", **imports({"to": "aws_cloudwatch_log_group.exec", "id": "/ecs/dev exec"})),
    env("a_bucket_import_id_is_not_a_bucket_name", "aws rule", "imports[0].id", "is not an S3 bucket name", **imports({"to": "aws_s3_bucket.logs", "id": "Logs_Bucket"})),
    env("a_queue_import_id_is_a_name_not_a_url", "aws rule", "imports[0].id", "SQS queue URL", **imports({"to": "aws_sqs_queue.jobs", "id": "dev-jobs"})),
    env("two_imports_go_to_one_address", "cross-field", "imports[1].to", "already imported by imports[0]", **imports({"to": "aws_s3_bucket.logs", "id": "a-bucket"}, {"to": "aws_s3_bucket.logs", "id": "b-bucket"})),
    env("an_environment_import_names_environments", "unknown key", "imports[0].environments", "unknown key", **imports({"to": "aws_s3_bucket.logs", "id": "a-bucket", "environments": ["dev"]})),
    # -- safe rollouts and build once, promote (issue #15: 7, 8) -------------------------------------
    env("the_test_listener_takes_the_https_port", "aws rule", "load_balancer.test_listener_port", "port of the load balancer's own listeners", load_balancer={"test_listener_port": 443}),
    env("the_test_listener_port_is_out_of_range", "range", "load_balancer.test_listener_port", "out of range (1..65535)", load_balancer={"test_listener_port": 70000}),
    env("account_id_is_not_twelve_digits", "aws rule", "account_id", "a 12-digit AWS account id", account_id="12345"),
    env("promote_from_names_no_environment", "cross-file", "pipeline.promote_from", "'qa' names no environment", pipeline={"promote_from": "qa"}),
    env("promote_from_names_the_environment_itself", "cross-file", "pipeline.promote_from", "names this environment itself", pipeline={"promote_from": "dev"}),
    Bad("promote_from_crosses_regions", "cross-file", lambda p: p.env("prod", ENV, region="eu-west-1", pipeline={"promote_from": "dev"}), "environments/prod.toml", "pipeline.promote_from", "only within one Region"),
    Bad(
        "promote_from_crosses_accounts",
        "cross-file",
        lambda p: p.env(account_id="111111111111").env("prod", ENV, account_id="222222222222", pipeline={"promote_from": "dev"}),
        "environments/prod.toml",
        "pipeline.promote_from",
        "promotes across AWS accounts or cannot tell (dev: 111111111111; prod: 222222222222)",
    ),
    Bad(
        "promote_from_cannot_tell_the_accounts",
        "cross-file",
        lambda p: p.env(account_id="111111111111").env("prod", ENV, pipeline={"promote_from": "dev"}),
        "environments/prod.toml",
        "pipeline.promote_from",
        "(dev: 111111111111; prod: not set)",
    ),
    Bad(
        "promotions_form_a_chain",
        "cross-file",
        lambda p: p.env("qa", ENV, pipeline={"promote_from": "dev"}).env("prod", ENV, pipeline={"promote_from": "qa"}),
        "environments/prod.toml",
        "pipeline.promote_from",
        "qa is itself promoted from dev",
    ),
    Bad(
        "two_environments_promote_from_one",
        "cross-file",
        lambda p: p.env("qa", ENV, pipeline={"promote_from": "dev"}).env("prod", ENV, pipeline={"promote_from": "dev"}),
        "environments/qa.toml",
        "pipeline.promote_from",
        "environments/prod.toml promotes from dev already",
    ),
]

SERVICE_ROWS = [
    # -- keys and types ----------------------------------------------------------------
    web("a_service_key_is_misspelled", "unknown key", "prot", "did you mean 'port'", prot=8080),
    web("a_required_key_is_misspelled", "unknown key", "permissions[0].resourcez", "did you mean 'resources'", permissions=[{"actions": ["s3:GetObject"], "resourcez": ["*"]}]),
    web("a_strategy_key_is_misspelled", "unknown key", "capacity[0].wieght", "did you mean 'weight'", capacity=[{"provider": "FARGATE", "wieght": 1}]),
    web("a_health_check_key_is_misspelled", "unknown key", "health_check.pth", "did you mean 'path'", health_check={"pth": "/x"}),
    web("an_override_key_is_misspelled", "unknown key", "overrides.dev.cpuu", "did you mean 'cpu'", overrides={"dev": {"cpuu": 512}}),
    web("cpu_is_a_float", "type", "cpu", "must be an integer, got float 256.0", cpu=256.0),
    web("port_is_a_float", "type", "port", "must be an integer, got float 80.5", port=80.5),
    web("database_is_a_string", "type", "database", "must be true or false", database="yes"),
    web("an_environment_value_is_a_number", "type", "environment.WORKERS", "must be a string, got int 4", environment={"WORKERS": 4}),
    web("cpu_target_is_true", "type", "scaling.cpu_target", "a percentage (1..100) or false", scaling={"cpu_target": True}),
    web("cpu_target_is_a_string", "type", "scaling.cpu_target", "must be an integer", scaling={"cpu_target": "60"}),
    web("kind_is_missing", "required", "kind", "is required", kind=DELETE),
    web("web_has_no_routes", "required", "routes", "is required", routes=DELETE),
    web("an_external_image_has_no_uri", "required", "image.uri", "is required", image={"source": "external"}),
    # -- names ---------------------------------------------------------------------------
    web("name_has_unicode", "name", "name", "service name", name="wéb"),
    web("name_has_control_characters", "name", "name", "control characters", name="web\u0007"),
    web("name_is_too_long", "name", "name", "at most 21 allowed", name="a-very-long-service-name-indeed"),
    web("name_is_platform", "name", "name", "reserved", name="platform"),
    Bad("folder_name_has_upper_case", "name", lambda p: p.without_service("web").service("Billing", WEB), "services/Billing/service.toml", "name", "the default: the folder name, services/Billing"),
    Bad("folder_name_has_an_underscore", "name", lambda p: p.without_service("web").service("bill_ing", WEB), "services/bill_ing/service.toml", "name", "'bill_ing' is not a service name"),
    Bad("folder_is_named_platform", "name", lambda p: p.without_service("web").service("platform", WEB), "services/platform/service.toml", "name", "reserved"),
    Bad("two_services_share_a_name", "cross-file", lambda p: p.service("web2", WEB, name="web", routes={"paths": ["/two/*"]}), "services/web2/service.toml", "name", "already used"),
    # -- sizes and counts ----------------------------------------------------------------
    web("kind_is_unknown", "range", "kind", "web, backend, worker", kind="frontend"),
    web("fargate_cpu_is_not_a_fargate_size", "aws rule", "cpu", "valid: 256, 512, 1024", cpu=300),
    web("fargate_memory_does_not_fit_cpu", "aws rule", "memory", "4096 is not valid with cpu=256 on Fargate (valid: 512, 1024, 2048)", memory=4096),
    web("fargate_memory_is_off_the_step", "aws rule", "memory", "cpu=1024", cpu=1024, memory=2500),
    web("port_is_zero", "range", "port", "out of range (1..65535)", port=0),
    web("port_is_above_65535", "range", "port", "out of range (1..65535)", port=70000),
    web("port_is_reserved", "range", "port", "reserved", port=3306),
    web("host_port_differs_from_port", "aws rule", "host_port", "awsvpc", host_port=80),
    web("min_count_exceeds_max_count", "cross-field", "min_count", "greater than max_count", min_count=5, max_count=2),
    web("desired_count_is_negative", "range", "desired_count", "out of range (0..1000)", desired_count=-1),
    web("desired_count_is_outside_min_and_max", "cross-field", "desired_count", "outside min_count..max_count", desired_count=5, min_count=1, max_count=3),
    web("max_count_is_zero", "range", "max_count", "0 is out of range (1..1000)", desired_count=0, min_count=0, max_count=0),
    web("computed_max_count_is_zero", "range", "max_count", "(the default: max(desired_count, min_count))", desired_count=0),
    web("min_healthy_percent_is_above_100", "range", "deployment.min_healthy_percent", "out of range (0..100)", deployment={"min_healthy_percent": 150}),
    web("max_percent_is_below_100", "range", "deployment.max_percent", "out of range (100..200)", deployment={"max_percent": 90}),
    web("min_healthy_percent_moved_into_deployment", "unknown key", "min_healthy_percent", "moved: set it under [deployment]", min_healthy_percent=50),
    web("max_percent_moved_into_deployment", "unknown key", "max_percent", "moved: set it under [deployment]", max_percent=150),
    web(
        "the_bounds_let_ecs_neither_start_nor_stop_a_task",
        "aws rule",
        "deployment.max_percent",
        "150 with min_healthy_percent 100 lets ECS neither start nor stop a task at 1 running (the service runs 1..1)",
        deployment={"max_percent": 150},
    ),
    web(
        "the_bounds_stall_at_the_largest_count",
        "aws rule",
        "deployment.max_percent",
        "at 3 running (the service runs 3..3), so a deployment never finishes: raise max_percent to at least 134 or min_healthy_percent to at most 66",
        desired_count=3,
        deployment={"min_healthy_percent": 75, "max_percent": 125},
    ),
    web("the_strategy_is_unknown", "range", "deployment.strategy", "is not one of rolling, blue_green", deployment={"strategy": "canary"}),
    web("a_rollback_alarm_is_unknown", "range", "deployment.rollback_alarms[0]", "is not one of", deployment={"rollback_alarms": ["5xx"]}),
    web("a_rollback_alarm_belongs_to_another_kind", "cross-field", "deployment.rollback_alarms[1]", "'dlq-not-empty' is not an alarm of a web service", deployment={"rollback_alarms": ["http-5xx", "dlq-not-empty"]}),
    web("rollback_alarms_is_an_empty_list", "cross-field", "deployment.rollback_alarms", "is empty: name the alarms, or false", deployment={"rollback_alarms": []}),
    web("rollback_alarms_is_a_string", "type", "deployment.rollback_alarms", "must be an array", deployment={"rollback_alarms": "http-5xx"}),
    web("a_rollback_alarm_is_listed_twice", "cross-field", "deployment.rollback_alarms", "more than once", deployment={"rollback_alarms": ["http-5xx", "http-5xx"]}),
    web("termination_wait_without_blue_green", "cross-field", "deployment.termination_wait", "only applies to strategy = \"blue_green\"", deployment={"termination_wait": 10}),
    web("termination_wait_exceeds_two_days", "range", "deployment.termination_wait", "out of range (0..2880)", deployment={"strategy": "blue_green", "termination_wait": 3000}),
    Bad("blue_green_on_a_worker", "aws rule", lambda p: p.service("jobs", WORKER, deployment={"strategy": "blue_green"}), "services/jobs/service.toml", "deployment.strategy", "only web services (kind is worker)"),
    web("blue_green_with_an_external_image", "cross-field", "deployment.strategy", "an external image has none", deployment={"strategy": "blue_green"}, image={"source": "external", "uri": "public.ecr.aws/nginx/nginx:1.27"}),
    web("blue_green_without_a_test_listener", "cross-file", "deployment.strategy", "set [load_balancer] test_listener_port in environments/dev.toml", deployment={"strategy": "blue_green"}),
    Bad(
        "blue_green_in_one_environment_without_a_test_listener",
        "cross-file",
        lambda p: p.service(overrides={"dev": {"deployment": {"strategy": "blue_green"}}}),
        WEB_TOML,
        "overrides.dev.deployment.strategy",
        "needs the load balancer's test listener",
    ),
    # Service Connect is not supported with the CODE_DEPLOY controller (AWS docs, "Amazon ECS
    # Service Connect" considerations), whether blue_green is set for every environment or one.
    Bad(
        "blue_green_with_service_connect",
        "aws rule",
        lambda p: p.env(load_balancer={"test_listener_port": 8443}).service(connect=True, deployment={"strategy": "blue_green"}),
        WEB_TOML,
        "connect",
        "ECS Service Connect is not supported with the CODE_DEPLOY deployment controller",
    ),
    Bad(
        "blue_green_in_one_environment_with_service_connect",
        "aws rule",
        lambda p: p.env(load_balancer={"test_listener_port": 8443}).service(connect=True, overrides={"dev": {"deployment": {"strategy": "blue_green"}}}),
        WEB_TOML,
        "connect",
        "ECS Service Connect is not supported with the CODE_DEPLOY deployment controller",
    ),
    Bad(
        "blue_green_second_target_group_name_is_too_long",
        "aws rule",
        lambda p: p.without_service("web")
        .env(load_balancer={"test_listener_port": 8443})
        .env("production", ENV, load_balancer={"test_listener_port": 8443})
        .service("abcdefghijklmnopqrstu", WEB, deployment={"strategy": "blue_green"}),
        "services/abcdefghijklmnopqrstu/service.toml",
        "deployment.strategy",
        "'production-abcdefghijklmnopqrstu-g', longer than the 32 characters",
    ),
    web("cpu_target_is_zero", "range", "scaling.cpu_target", "out of range (1..100)", scaling={"cpu_target": 0}),
    web("arm64_runs_on_x86_ec2_capacity", "aws rule", "architecture", "ARM64 cannot run on the EC2 capacity: t3.medium (cluster.ec2.instance_type in environments/dev.toml) is an x86_64 instance type", architecture="ARM64", capacity="EC2"),
    Bad("x86_runs_on_graviton_ec2_capacity", "aws rule", lambda p: p.env(cluster={"ec2": {"instance_type": "m7g.large"}}).service(capacity="EC2"), WEB_TOML, "architecture", "X86_64 cannot run on the EC2 capacity: m7g.large"),
    Bad("arm64_runs_on_x86_ec2_by_the_default_strategy", "aws rule", lambda p: p.env(cluster={"default_strategy": "EC2"}).service(architecture="ARM64"), WEB_TOML, "architecture", "is an x86_64 instance type"),
    web("capacity_names_an_unknown_provider", "range", "capacity", "FARGATE, FARGATE_SPOT, EC2", capacity="LAMBDA"),
    # -- routes and health checks ------------------------------------------------------------
    web("a_condition_has_four_paths", "aws rule", "routes.paths", "at most 3", **routes(paths=["/a", "/b", "/c", "/d"])),
    web("a_rule_has_six_values", "aws rule", "routes.paths", "a rule allows 5", **routes(paths=["/a", "/b", "/c"], hosts=["a.example.com", "b.example.com", "c.example.com"])),
    web("a_rule_has_six_wildcards", "aws rule", "routes.paths", "6 wildcards", **routes(paths=["/a*/b*/c*", "/d*/e?/f*"])),
    web("a_path_does_not_start_with_a_slash", "aws rule", "routes.paths[0]", "path pattern", **routes(paths=["no-slash"])),
    web("a_host_has_no_dot", "aws rule", "routes.hosts[0]", "is not a host name", **routes(paths=DELETE, hosts=["localhost"])),
    web("priority_is_above_50000", "range", "routes.priority", "out of range (1..50000)", **routes(priority=50001)),
    web("health_path_is_relative", "aws rule", "health_check.path", "HTTP path", health_check={"path": "health"}),
    web("health_timeout_is_not_below_interval", "aws rule", "health_check.timeout", "shorter than interval", health_check={"interval": 10, "timeout": 10}),
    web("matcher_accepts_server_errors", "aws rule", "health_check.matcher", "200 to 499", health_check={"matcher": "200-500"}),
    web("matcher_accepts_informational_codes", "aws rule", "health_check.matcher", "200 to 499", health_check={"matcher": "100"}),
    web("matcher_range_runs_backwards", "aws rule", "health_check.matcher", "runs backwards", health_check={"matcher": "300-200"}),
    web("matcher_is_not_a_code_list", "aws rule", "health_check.matcher", "HTTP code list", health_check={"matcher": "ok"}),
    Bad("hosts_without_a_hosted_zone", "cross-file", lambda p: p.env(load_balancer={"certificate_arn": CERT}).service(routes={"hosts": ["shop.example.com"]}), WEB_TOML, "routes.hosts", "needs hosted_zone_id in environments/dev.toml"),
    Bad("hosts_without_https_on_the_load_balancer", "cross-file", lambda p: p.env(hosted_zone_id=ZONE).service(routes={"hosts": ["shop.example.com"]}), WEB_TOML, "routes.hosts", "needs HTTPS on the load balancer"),
    Bad("a_host_is_a_wildcard", "aws rule", domains(["*.example.com"]), WEB_TOML, "routes.hosts[0]", "wildcards are not supported"),
    Bad("a_host_has_upper_case", "aws rule", domains(["Shop.Example.com"]), WEB_TOML, "routes.hosts[0]", "must be lower case"),
    Bad("a_host_label_starts_with_a_hyphen", "aws rule", domains(["-shop.example.com"]), WEB_TOML, "routes.hosts[0]", "is not a host name"),
    Bad("a_host_has_a_numeric_top_level_domain", "aws rule", domains(["shop.example.123"]), WEB_TOML, "routes.hosts[0]", "is not a host name"),
    Bad("the_first_host_is_too_long_for_a_certificate_name", "aws rule", domains([f"{'a' * 60}.example.com"]), WEB_TOML, "routes.hosts[0]", "at most 64"),
    Bad("a_host_is_listed_twice", "aws rule", domains(["shop.example.com", "shop.example.com"]), WEB_TOML, "routes.hosts", "more than once"),
    Bad("a_condition_has_four_hosts", "aws rule", domains(["a.example.com", "b.example.com", "c.example.com", "d.example.com"]), WEB_TOML, "routes.hosts", "at most 3"),
    Bad(
        "two_services_share_a_host",
        "cross-file",
        lambda p: domains(["shop.example.com"])(p).service("shop", WEB, routes={"paths": ["/shop/*"], "hosts": ["shop.example.com"]}),
        WEB_TOML,
        "routes.hosts[0]",
        "'shop.example.com' is also a host of services/shop/service.toml",
    ),
    Bad(
        "a_load_balancer_would_need_26_certificates",
        "aws rule",
        lambda p: [
            domains([])(p).service(f"w{i:02d}", WEB, routes={"paths": ["/*"], "hosts": [f"w{i:02d}.example.com"], "priority": i + 1})
            for i in range(26)
        ],
        "services/w25/service.toml",
        "routes.hosts",
        "holds 25 certificates",
    ),
    Bad("hosts_on_a_backend", "cross-field", lambda p: p.service("api", BACKEND, routes={"hosts": ["api.example.com"]}), "services/api/service.toml", "routes", "only web services"),
    Bad("routes_are_on_a_worker", "cross-field", lambda p: p.service("jobs", WORKER, routes={"paths": ["/x"]}), "services/jobs/service.toml", "routes", "only web services"),
    Bad("two_services_route_the_same_paths", "cross-file", lambda p: p.service("shop", WEB), WEB_TOML, "routes", "same paths and hosts"),
    Bad(
        "two_services_share_a_priority",
        "cross-file",
        lambda p: p.service("web", routes={"paths": ["/a/*"], "priority": 10}).service("shop", WEB, routes={"paths": ["/b/*"], "priority": 10}),
        WEB_TOML,
        "routes.priority",
        "also the priority",
    ),
    Bad(
        "a_load_balancer_would_need_101_rules",
        "aws rule",
        lambda p: [p.service(f"w{i:03d}", WEB, routes={"paths": [f"/w{i:03d}/*"], "priority": i + 1}) for i in range(100)],
        "services/web/service.toml",
        "routes",
        "a load balancer holds 100 rules",
    ),
    # -- secrets and credentials -------------------------------------------------------------
    web("a_secret_is_given_as_a_value", "secrets", "secrets.DB_PASSWORD", "never the secret value", secrets={"DB_PASSWORD": "hunter2"}),
    web("a_token_is_a_plain_variable", "secrets", "environment.API_TOKEN", "[secrets]", environment={"API_TOKEN": "abc"}),
    web("a_db_pass_is_a_plain_variable", "secrets", "environment.DB_PASS", "looks like a credential", environment={"DB_PASS": "abc"}),
    web("an_access_key_variable_is_plain", "secrets", "environment.AWS_ACCESS_KEY", "looks like a credential", environment={"AWS_ACCESS_KEY": "x"}),
    web("a_url_carries_a_password", "secrets", "environment.DATABASE_URL", "URL with a password", environment={"DATABASE_URL": "mysql://app:s3cret@db.internal:3306/app"}),
    web("a_value_is_an_aws_access_key", "secrets", "environment.UPLOADER", "AWS access key", environment={"UPLOADER": "AKIAIOSFODNN7EXAMPLE"}),
    web("a_value_is_a_private_key", "secrets", "environment.CERT", "private key", environment={"CERT": "-----BEGIN RSA PRIVATE KEY-----\\nabc"}),
    web("a_variable_name_starts_with_a_digit", "type", "environment.1BAD", "environment variable name", environment={"1BAD": "x"}),
    web("a_variable_is_both_plain_and_secret", "cross-field", "secrets", "both [environment] and [secrets]", environment={"KEY_ID": "x"}, secrets={"KEY_ID": "ssm:/a/b"}),
    web("a_database_variable_is_set_by_hand", "cross-field", "environment", "DB_HOST is set by the platform", database=True, environment={"DB_HOST": "x"}),
    web("user_is_root_uid", "security", "user", "root", user="0"),
    web("user_is_root_uid_with_leading_zeros", "security", "user", "root", user="00"),
    web("user_is_root_with_a_group", "security", "user", "root", user="0:1000"),
    web("user_is_root_by_name", "security", "user", "root", user="root"),
    # -- build and image ------------------------------------------------------------------------
    web("dockerfile_escapes_the_folder", "security", "build.dockerfile", "inside the service folder", build={"dockerfile": "../../etc/passwd"}),
    web("dockerfile_is_absolute", "security", "build.dockerfile", "inside the service folder", build={"dockerfile": "/etc/passwd"}),
    Bad("an_ecr_service_has_no_dockerfile", "cross-file", lambda p: p.remove("services/web/Dockerfile"), WEB_TOML, "build.dockerfile", "'Dockerfile' does not exist in web/"),
    web("an_external_image_has_no_tag", "aws rule", "image.uri", "tag or digest", image={"source": "external", "uri": "public.ecr.aws/nginx/nginx"}),
    web("an_ecr_image_has_a_uri", "cross-field", "image.uri", "only used with source", image={"uri": "public.ecr.aws/nginx/nginx:1"}),
    # -- scaling, schedules, queues ------------------------------------------------------------
    web("a_schedule_is_not_an_expression", "aws rule", "scaling.schedules[0].expression", "is not cron(...), rate(...) or at(...)", **schedule(expression="every day")),
    web("a_cron_has_five_fields", "aws rule", "scaling.schedules[0].expression", "six fields", **schedule(expression="cron(0 7 * * MON)")),
    web("a_cron_sets_both_days", "aws rule", "scaling.schedules[0].expression", "exactly one of day-of-month and day-of-week", **schedule(expression="cron(0 7 * * MON *)")),
    web("a_cron_minute_is_61", "aws rule", "scaling.schedules[0].expression", "'61' is not a valid minutes value", **schedule(expression="cron(61 7 ? * MON *)")),
    web("a_cron_month_is_unknown", "aws rule", "scaling.schedules[0].expression", "month", **schedule(expression="cron(0 7 ? FOO MON *)")),
    web("a_rate_is_zero", "aws rule", "scaling.schedules[0].expression", "positive whole number", **schedule(expression="rate(0 minutes)")),
    web("a_rate_of_one_uses_a_plural_unit", "aws rule", "scaling.schedules[0].expression", "singular unit", **schedule(expression="rate(1 minutes)")),
    web("a_rate_uses_weeks", "aws rule", "scaling.schedules[0].expression", "minute(s), hour(s) or day(s)", **schedule(expression="rate(2 weeks)")),
    web("an_at_is_not_a_date", "aws rule", "scaling.schedules[0].expression", "yyyy-mm-ddThh:mm:ss", **schedule(expression="at(2026-13-01T00:00:00)")),
    web("a_time_zone_does_not_exist", "aws rule", "scaling.schedules[0].timezone", "IANA time zone", **schedule(timezone="Mars/Olympus_Mons")),
    web("a_schedule_min_exceeds_max", "cross-field", "scaling.schedules[0].min_count", "greater than max_count", **schedule(min_count=3, max_count=2)),
    web(
        "two_schedules_share_a_name",
        "cross-field",
        "scaling.schedules[1].name",
        "used by another schedule",
        scaling={"schedules": [{"name": "a", "expression": "rate(1 day)", "min_count": 1, "max_count": 2}] * 2},
    ),
    Bad("request_scaling_on_a_worker", "cross-field", lambda p: p.service("jobs", WORKER, scaling={"requests_per_target": 100}), "services/jobs/service.toml", "scaling.requests_per_target", "only web"),
    web("backlog_scaling_on_a_web_service", "cross-field", "scaling.queue_backlog_per_task", "only worker", scaling={"queue_backlog_per_task": 10}),
    web("a_web_service_has_a_queue", "cross-field", "queue", "only worker services have a queue", queue={"visibility_timeout": 30}),
    Bad("queue_visibility_exceeds_twelve_hours", "range", lambda p: p.service("jobs", WORKER, queue={"visibility_timeout": 99999}), "services/jobs/service.toml", "queue.visibility_timeout", "out of range (0..43200)"),
    # -- links to other services and the environment ---------------------------------------------
    Bad("allow_from_names_no_service", "cross-file", lambda p: p.service("api", BACKEND, allow_from=["shop"]), "services/api/service.toml", "allow_from[0]", "'shop' is not a service"),
    web("allow_from_is_on_a_web_service", "cross-field", "allow_from", "only for backend services", allow_from=["api"]),
    Bad("allow_from_names_itself", "cross-field", lambda p: p.service("api", BACKEND, allow_from=["api"]), "services/api/service.toml", "allow_from", "names the service itself"),
    Bad("database_is_disabled_in_the_environment", "cross-file", lambda p: p.env(database={"enabled": False}).service(database=True), WEB_TOML, "database", "disabled in environments/dev.toml"),
    Bad("ec2_is_disabled_in_the_environment", "cross-file", lambda p: p.env(cluster={"ec2": {"enabled": False}}).service(capacity="EC2"), WEB_TOML, "capacity", "cluster.ec2.enabled is false"),
    Bad("a_task_needs_more_cpu_than_its_instance", "cross-file", lambda p: p.service(capacity="EC2", cpu=4096, memory=2048), WEB_TOML, "cpu", "does not fit t3.medium (2048 CPU units)"),
    Bad("a_task_needs_all_memory_of_its_instance", "cross-file", lambda p: p.service(capacity="EC2", cpu=1024, memory=4096), WEB_TOML, "memory", "does not fit t3.medium (4096 MiB"),
    web("an_override_names_no_environment", "cross-file", "overrides.staging", "names no environment", overrides={"staging": {"cpu": 512}}),
    web("an_override_breaks_the_fargate_table", "aws rule", "overrides.dev.memory", "valid: 512, 1024, 2048", overrides={"dev": {"memory": 4096}}),
    web("an_override_names_a_newline", "cross-file", 'overrides."\\n"', "names no environment", overrides={"\n": {"cpu": 512}}),
    web("an_override_changes_the_kind", "unknown key", "overrides.dev.kind", "cannot be overridden", overrides={"dev": {"kind": "worker"}}),
    # -- IAM permissions ------------------------------------------------------------------------
    web("a_permission_grants_every_action", "security", "permissions[0].actions[0]", "grants every action", **permission(actions=["s3:*"])),
    web("a_permission_names_no_service", "aws rule", "permissions[0].actions[0]", "did you mean 'dynamodb'", **permission(actions=["dynamodbb:GetItem"])),
    web("a_permission_uses_star_for_a_scoped_action", "security", "permissions[0].resources[0]", "supports resource-level permissions", **permission(resources=["*"])),
    web("a_permission_names_a_queue_on_a_web_service", "cross-field", "permissions[0].resources[0]", "only a worker has a queue", **permission(actions=["sqs:SendMessage"], resources=["queue"])),
    # -- [[imports]] of a service's stacks ---------------------------------------------------------
    web("an_import_names_no_environment", "cross-file", "imports[0].environments[0]", "'staging' names no environment", **imports({"to": "aws_ecr_repository.web", "id": "staging/web", "environments": ["staging"]})),
    web("an_import_names_an_empty_environment_list", "required", "imports[0].environments", "non-empty array", **imports({"to": "aws_ecr_repository.web", "id": "dev/web", "environments": []})),
    web("two_imports_go_to_one_address_in_one_environment", "cross-field", "imports[1].to", "already imported by imports[0]", **imports({"to": "aws_ecr_repository.web", "id": "dev/web"}, {"to": "aws_ecr_repository.web", "id": "dev/web2", "environments": ["dev"]})),
    web("an_import_key_is_misspelled", "unknown key", "imports[0].environment", "did you mean 'environments'", **imports({"to": "aws_ecr_repository.web", "id": "dev/web", "environment": ["dev"]})),
    # -- events: publish and subscribe (SNS rules: infra/config/sns_filter.py) ------------------------
    web("a_topic_name_has_upper_case", "name", "publish[0]", "is not a topic name", publish=["Orders"]),
    web("a_topic_name_has_an_underscore", "name", "publish[0]", "is not a topic name", publish=["new_orders"]),
    web("a_topic_is_published_twice", "cross-field", "publish", "lists 'orders' more than once", publish=["orders", "orders"]),
    web("a_topic_variable_is_set_by_hand", "cross-field", "environment", "TOPIC_ORDERS_ARN is set by the platform", publish=["orders"], environment={"TOPIC_ORDERS_ARN": "x"}),
    web("a_web_service_subscribes", "cross-field", "subscribe", "only a worker has a queue", subscribe=[{"topic": "web.orders"}]),
    subscriber("a_subscription_names_no_service", "cross-file", "subscribe[0].topic", '"shop.orders" is not published: there is no service \'shop\' in dev', orders(topic="shop.orders")),
    subscriber("a_subscription_names_an_unpublished_topic", "cross-file", "subscribe[0].topic", '"api.order" is not published: api publishes orders; did you mean "api.orders"?', orders(topic="api.order")),
    subscriber("a_subscription_names_a_service_that_publishes_nothing", "cross-file", "subscribe[0].topic", "api publishes no topic (publish = [...] in services/api/service.toml)", orders(), publish=[]),
    subscriber("a_subscription_is_not_service_dot_topic", "aws rule", "subscribe[0].topic", "<service>.<topic>", orders(topic="orders")),
    subscriber("a_topic_is_subscribed_twice", "cross-field", "subscribe[1].topic", "already subscribed by subscribe[0]", orders(), orders()),
    subscriber("a_subscription_key_is_misspelled", "unknown key", "subscribe[0].filtr", "did you mean 'filter'", orders(filtr={"event": ["x"]})),
    subscriber("a_filter_scope_is_unknown", "range", "subscribe[0].filter_scope", "attributes, body", orders(filter_scope="MessageBody")),
    subscriber("a_filter_is_empty", "aws rule", "subscribe[0].filter", "is empty", orders(filter={})),
    subscriber("a_filter_value_is_not_an_array", "aws rule", "subscribe[0].filter.event", 'must be an array of values (e.g. ["order.created"])', orders(filter={"event": "order.created"})),
    subscriber("a_filter_array_is_empty", "aws rule", "subscribe[0].filter.event", "empty array", orders(filter={"event": []})),
    subscriber("an_attribute_filter_nests_keys", "aws rule", "subscribe[0].filter.order", 'filter_scope = "body"', orders(filter={"order": {"state": ["new"]}})),
    subscriber("a_filter_has_six_keys", "aws rule", "subscribe[0].filter", "has 6 keys; SNS allows 5", orders(filter={f"k{i}": ["v"] for i in range(6)})),
    subscriber("a_filter_combines_too_many_values", "aws rule", "subscribe[0].filter", "combines 169 values", orders(filter={"a": [f"v{i}" for i in range(13)], "b": [f"w{i}" for i in range(13)]})),
    subscriber("a_filter_number_is_too_large", "aws rule", "subscribe[0].filter.total[0]", "outside the numbers SNS matches", orders(filter={"total": [2_000_000_000]})),
    subscriber("a_numeric_operator_is_unknown", "aws rule", "subscribe[0].filter.total[0].numeric[0]", "is not one of =, <, <=, >, >=", orders(filter={"total": [{"numeric": ["=>", 100]}]})),
    subscriber("a_numeric_range_runs_backwards", "aws rule", "subscribe[0].filter.total[0].numeric", "is empty", orders(filter={"total": [{"numeric": [">", 100, "<", 10]}]})),
    subscriber("a_numeric_range_starts_with_an_upper_bound", "aws rule", "subscribe[0].filter.total[0].numeric", "a lower bound (> or >=) followed by an upper bound", orders(filter={"total": [{"numeric": ["<", 10, ">", 1]}]})),
    subscriber("a_filter_operator_is_unknown", "aws rule", "subscribe[0].filter.event[0].startswith", "is not an SNS filter operator", orders(filter={"event": [{"startswith": "order."}]})),
    subscriber("an_operator_table_has_two_operators", "aws rule", "subscribe[0].filter.event[0]", "exactly one operator", orders(filter={"event": [{"prefix": "a", "suffix": "b"}]})),
    subscriber("anything_but_mixes_strings_and_numbers", "aws rule", "subscribe[0].filter.event[0].anything-but", "strings and numbers together", orders(filter={"event": [{"anything-but": ["a", 1]}]})),
    subscriber("exists_is_a_string", "aws rule", "subscribe[0].filter.event[0].exists", "must be true or false", orders(filter={"event": [{"exists": "yes"}]})),
    subscriber("a_cidr_is_not_an_ip_range", "aws rule", "subscribe[0].filter.source[0].cidr", "is not an IP address range", orders(filter={"source": [{"cidr": "10.0.0.0/33"}]})),
    subscriber("an_attribute_filter_matches_a_boolean", "aws rule", "subscribe[0].filter.paid[0]", 'write "true"', orders(filter={"paid": [True]})),
    subscriber("a_filter_uses_or", "aws rule", 'subscribe[0].filter."$or"', "($or) are not supported", orders(filter={"$or": [{"a": ["b"]}]})),
    web("a_permission_condition_operator_is_unknown", "aws rule", "permissions[0].conditions[0].test", "not an IAM condition operator", **permission(conditions=[{"test": "Equals", "variable": "aws:SourceVpce", "values": ["vpce-1"]}])),
    # -- scheduled jobs (kind = "job") ---------------------------------------------------------------
    job("a_job_has_no_schedule", "required", "schedule", "is required for a job", schedule=DELETE),
    job("a_job_schedule_runs_once", "aws rule", "schedule", "at() runs once; a job recurs", schedule="at(2026-12-24T18:00:00)"),
    job("a_job_schedule_is_not_an_expression", "aws rule", "schedule", "is not cron(...) or rate(...)", schedule="nightly"),
    job("a_job_cron_has_five_fields", "aws rule", "schedule", "six fields", schedule="cron(30 3 * * *)"),
    job("a_job_cron_sets_both_days", "aws rule", "schedule", "exactly one of day-of-month and day-of-week", schedule="cron(30 3 1 * MON *)"),
    job("a_job_rate_is_in_seconds", "aws rule", "schedule", "minute(s), hour(s) or day(s)", schedule="rate(30 seconds)"),
    job("a_job_time_zone_does_not_exist", "aws rule", "timezone", "IANA time zone", timezone="Europe/Atlantis"),
    job("a_job_timeout_is_below_a_minute", "aws rule", "timeout", "out of range (60..86400)", timeout=30),
    job("a_job_timeout_is_above_a_day", "aws rule", "timeout", "out of range (60..86400)", timeout=90000),
    job("a_job_retries_more_than_scheduler_allows", "aws rule", "retries", "out of range (0..185)", retries=186),
    job("a_job_has_a_port", "cross-field", "port", "a job accepts no connections", port=8080),
    job("a_job_uses_service_connect", "cross-field", "connect", "Service Connect configures an ECS service", connect=True),
    job("a_job_has_routes", "cross-field", "routes", "not behind the load balancer", routes={"paths": ["/cleanup/*"]}),
    job("a_job_has_a_health_check", "cross-field", "health_check", "no load balancer or ECS service health check", health_check={"path": "/health"}),
    job("a_job_has_a_desired_count", "cross-field", "desired_count", "no ECS service keeps a count", desired_count=2),
    job("a_job_has_a_max_count", "cross-field", "max_count", "no ECS service keeps a count", max_count=2),
    job("a_job_is_scaled", "cross-field", "scaling", "a job is not auto scaled", scaling={"cpu_target": 50}),
    job("a_job_has_deployment_percents", "cross-field", "deployment", "no ECS service to deploy", deployment={"min_healthy_percent": 50}),
    job("a_job_has_a_deployment_strategy_in_one_environment", "cross-field", "overrides.dev.deployment", "no ECS service to deploy", overrides={"dev": {"deployment": {"strategy": "blue_green"}}}),
    job("a_job_has_service_alarms", "cross-field", "alarms", "watch an ECS service", alarms={"cpu_high": 90}),
    job("a_job_has_a_queue", "cross-field", "queue", "only worker services have a queue", queue={"visibility_timeout": 30}),
    job("a_job_admits_callers", "cross-field", "allow_from", "a job accepts no connections", allow_from=["web"]),
    job("a_job_sets_the_timeout_variable", "cross-field", "environment", "JOB_TIMEOUT_SECONDS is set by the platform", environment={"JOB_TIMEOUT_SECONDS": "60"}),
    job("a_job_override_sets_a_count", "cross-field", "overrides.dev.desired_count", "no ECS service keeps a count", overrides={"dev": {"desired_count": 1}}),
    job("a_job_override_breaks_the_schedule", "aws rule", "overrides.dev.schedule", "is not cron(...) or rate(...)", overrides={"dev": {"schedule": "daily"}}),
    job("a_job_on_fargate_has_a_bad_size", "aws rule", "memory", "is not valid with cpu=256 on Fargate", memory=4096),
    web("a_service_has_a_schedule", "cross-field", "schedule", "only a job runs on a schedule (kind is web)", schedule="cron(0 3 * * ? *)"),
    web("a_service_has_a_job_timeout", "cross-field", "timeout", "only a job runs on a schedule", timeout=600),
    web("a_service_has_no_port", "required", "port", "is required", port=DELETE),
    Bad("a_service_calls_a_job", "cross-file", lambda p: p.service("cleanup", JOB).service(environment={"CLEANUP_URL": "${service.cleanup.url}"}), WEB_TOML, "environment.CLEANUP_URL", "a job service, which accepts no connections"),
]

# -- the task's containers: options, sidecars, log routing, tracing, EFS volumes (issue #15) --
PROXY = {"name": "proxy", "image": "public.ecr.aws/nginx/nginx:1.27"}


def sidecar(**changes: Any) -> dict[str, Any]:
    return {"sidecars": [{**PROXY, **changes}]}


def volume(**changes: Any) -> dict[str, Any]:
    return {"volumes": [{"name": "data", "path": "/data", **changes}]}


SHARED = {"file_systems": [{"name": "shared"}]}

CONTAINER_ROWS = [
    env("a_file_system_name_has_upper_case", "aws rule", "file_systems[0].name", "file system name", file_systems=[{"name": "Shared"}]),
    env("two_file_systems_share_a_name", "cross-field", "file_systems[1].name", "already the name of another file system", file_systems=[{"name": "a"}, {"name": "a"}]),
    env("a_file_system_key_is_misspelled", "unknown key", "file_systems[0].nmae", "did you mean 'name'", file_systems=[{"nmae": "a"}]),
    web("command_is_empty", "type", "command", "must not be empty", command=[]),
    web("command_is_a_string", "type", "command", "must be an array", command="gunicorn app:app"),
    web("entrypoint_has_a_control_character", "type", "entrypoint[0]", "control characters", entrypoint=["sh\u0007"]),
    web("ephemeral_storage_is_fargates_default", "range", "ephemeral_storage", "out of range (21..200)", ephemeral_storage=20),
    web("ephemeral_storage_exceeds_200", "range", "ephemeral_storage", "out of range (21..200)", ephemeral_storage=201),
    web("ephemeral_storage_on_ec2_capacity", "aws rule", "ephemeral_storage", "only for Fargate tasks", ephemeral_storage=30, capacity="EC2"),
    web("stop_timeout_exceeds_fargates_120", "aws rule", "stop_timeout", "121 exceeds 120", stop_timeout=121),
    web("stop_timeout_is_negative", "range", "stop_timeout", "out of range (0..3600)", stop_timeout=-1),
    web("a_ulimit_name_is_unknown", "range", "ulimits[0].name", "'files' is not one of core, cpu", ulimits=[{"name": "files", "soft": 1, "hard": 1}]),
    web("a_ulimit_soft_exceeds_hard", "aws rule", "ulimits[0].soft", "greater than hard 10", ulimits=[{"name": "nofile", "soft": 20, "hard": 10}]),
    web("a_ulimit_is_set_twice", "cross-field", "ulimits[1].name", "set twice", ulimits=[{"name": "nofile", "soft": 1, "hard": 1}] * 2),
    web("a_ulimit_other_than_nofile_on_fargate", "aws rule", "ulimits[0].name", "'nproc' cannot be changed on Fargate", ulimits=[{"name": "nproc", "soft": 1, "hard": 1}]),
    web("nofile_exceeds_fargates_ceiling", "aws rule", "ulimits[0].hard", "2000000 exceeds 1048576", ulimits=[{"name": "nofile", "soft": 1, "hard": 2000000}]),
    web("a_sidecar_has_no_image", "required", "sidecars[0].image", "is required", sidecars=[{"name": "proxy"}]),
    web("a_sidecar_key_is_misspelled", "unknown key", "sidecars[0].imgae", "did you mean 'image'", **sidecar(imgae="x")),
    web("a_sidecar_takes_the_services_name", "cross-field", "sidecars[0].name", "already the name of the service's container", **sidecar(name="web")),
    job("a_sidecar_takes_the_deadline_containers_name", "cross-field", "sidecars[0].name", "already the name of another container", **sidecar(name="job_deadline")),
    web("two_sidecars_share_a_name", "cross-field", "sidecars[1].name", "already the name of another container", sidecars=[PROXY, PROXY]),
    web("a_sidecar_takes_the_log_routers_name", "cross-field", "sidecars[0].name", "already the name of another container", logging={"driver": "firelens"}, **sidecar(name="log_router")),
    web("a_sidecar_name_has_a_dot", "aws rule", "sidecars[0].name", "container name", **sidecar(name="proxy.v2")),
    web("a_sidecar_image_has_no_tag", "aws rule", "sidecars[0].image", "tag or digest", **sidecar(image="public.ecr.aws/nginx/nginx")),
    web("a_sidecar_image_is_in_a_private_ecr", "security", "sidecars[0].image", "private ECR registry", **sidecar(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:1")),
    web("a_sidecar_port_is_the_services", "aws rule", "sidecars[0].port", "8080 is taken by the service's container", **sidecar(port=8080)),
    web("a_sidecar_port_is_firelens", "aws rule", "sidecars[0].port", "24224 is taken by the FireLens log router", logging={"driver": "firelens"}, **sidecar(port=24224)),
    web("a_sidecar_secret_is_a_value", "secrets", "sidecars[0].secrets.TOKEN", "never the secret value", **sidecar(secrets={"TOKEN": "hunter2"})),
    web("a_sidecar_token_is_a_plain_variable", "secrets", "sidecars[0].environment.API_TOKEN", "looks like a credential", **sidecar(environment={"API_TOKEN": "abc"})),
    web("a_sidecar_runs_as_root", "security", "sidecars[0].user", "root", **sidecar(user="0")),
    web("a_sidecar_refers_to_a_missing_service", "cross-file", "sidecars[0].environment.UPSTREAM", "refers to service 'api', which does not exist", **sidecar(environment={"UPSTREAM": "${service.api.url}"})),
    web("a_sidecar_variable_holds_an_interpolation", "cross-field", "sidecars[0].environment.HOME_DIR", "holds '${'", **sidecar(environment={"HOME_DIR": "${HOME}"})),
    web("depends_on_names_no_container", "cross-field", "depends_on.cache", "'cache' is not a container of the task", depends_on={"cache": "START"}),
    web("depends_on_waits_for_an_essential_sidecar_to_complete", "aws rule", "depends_on.proxy", "COMPLETE: 'proxy' is essential", depends_on={"proxy": "COMPLETE"}, **sidecar()),
    web("depends_on_waits_for_a_sidecar_without_health_check", "aws rule", "depends_on.proxy", "HEALTHY: 'proxy' has no container health check", depends_on={"proxy": "HEALTHY"}, **sidecar()),
    web("depends_on_waits_for_an_external_image_to_be_healthy", "aws rule", "sidecars[0].depends_on.web", "HEALTHY: 'web' has no container health check", image={"source": "external", "uri": "public.ecr.aws/nginx/nginx:1.27"}, **sidecar(depends_on={"web": "HEALTHY"})),
    web("depends_on_condition_is_unknown", "range", "depends_on.proxy", "START, COMPLETE, SUCCESS, HEALTHY", depends_on={"proxy": "READY"}, **sidecar()),
    web("containers_wait_for_each_other", "aws rule", "depends_on", "wait for each other in a circle", depends_on={"proxy": "START"}, **sidecar(depends_on={"web": "START"})),
    web("a_sidecar_waits_for_itself", "cross-field", "sidecars[0].depends_on", "names the sidecar itself", **sidecar(depends_on={"proxy": "START"})),
    web("the_service_waits_for_itself", "aws rule", "depends_on", "wait for each other in a circle", depends_on={"web": "START"}),
    web("a_service_is_named_like_the_trace_collector", "name", "name", "a container the platform adds", name="aws-otel-collector"),
    web("logging_driver_is_unknown", "range", "logging.driver", "awslogs, firelens", logging={"driver": "splunk"}),
    web("a_log_router_image_comes_without_firelens", "cross-field", "logging.image", 'only used with driver = "firelens"', logging={"image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.34.3.20260730"}),
    web("tracing_has_no_collector", "required", "tracing.collector", "is required", tracing={}),
    web("tracing_collector_is_unknown", "range", "tracing.collector", "is not one of adot", tracing={"collector": "jaeger"}),
    web("the_collectors_address_is_set_by_hand", "cross-field", "environment", "OTEL_EXPORTER_OTLP_ENDPOINT is set by the platform", tracing={"collector": "adot"}, environment={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317"}),
    web("the_service_port_is_the_collectors", "aws rule", "port", "4317 is taken by the trace collector", tracing={"collector": "adot"}, port=4317),
    web("a_volume_path_is_relative", "aws rule", "volumes[0].path", "an absolute path", **volume(path="data")),
    web("a_volume_path_is_the_root", "aws rule", "volumes[0].path", "an absolute path below /", **volume(path="/")),
    web("a_volume_path_is_in_tmp", "aws rule", "volumes[0].path", "inside /tmp", **volume(path="/tmp/cache")),
    web("a_volume_path_climbs_up", "aws rule", "volumes[0].path", ". or .. segments", **volume(path="/data/../etc")),
    web("a_volume_is_named_tmp", "cross-field", "volumes[0].name", "scratch volumes", **volume(name="tmp")),
    web("two_volumes_share_a_name", "cross-field", "volumes[1].name", "already the name of volumes[0]", volumes=[{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]),
    web("two_volumes_overlap", "cross-field", "volumes[1].path", "overlaps the path of volumes[0]", volumes=[{"name": "a", "path": "/data"}, {"name": "b", "path": "/data/cache"}]),
    web("a_volume_names_no_shared_file_system", "cross-file", "volumes[0].file_system", "'shared' is not a [[file_systems]] entry of environments/dev.toml (known: none)", **volume(file_system="shared")),
    web("a_volume_needs_a_numeric_user", "aws rule", "user", "an EFS access point needs the numeric uid[:gid]", user="app", **volume()),
    Bad("an_own_volume_is_named_like_a_shared_file_system", "cross-field", lambda p: p.env(**SHARED).service(volumes=[{"name": "shared", "path": "/a"}, {"name": "b", "path": "/b", "file_system": "shared"}]), WEB_TOML, "volumes[0].name", "also the name of a shared file system"),
]

FILE_ROWS = [
    Bad("env_file_name_is_not_an_env_name", "files", lambda p: p.env("Dev_1").file("environments/dev.toml", "x = 1").remove("environments/dev.toml"), "environments/Dev_1.toml", "", "environment name"),
    Bad("a_toml_table_header_is_broken", "files", lambda p: p.file(DEV, 'region = "us-east-1"\n[network\n'), DEV, "", "not valid TOML"),
    Bad("a_file_is_not_utf8", "files", lambda p: p.file(DEV, b'region = "us-east-1"\n# \xff\n'), DEV, "", "not UTF-8"),
    Bad("a_stray_file_is_in_environments", "files", lambda p: p.file("environments/dev.yaml", "x"), "environments/dev.yaml", "", "not an <env>.toml file"),
    Bad("a_service_folder_has_no_manifest", "files", lambda p: p.file("services/empty/README.md", "nothing"), "services/empty", "", "has no service.toml"),
    Bad("a_stray_file_is_in_services", "files", lambda p: p.file("services/notes.txt", "todo"), "services/notes.txt", "", "is not a service folder"),
    Bad("a_dangling_symlink_is_in_services", "files", lambda p: p.symlink("services/old", "../gone"), "services/old", "", "broken symbolic link"),
    Bad("a_manifest_is_broken_toml", "files", lambda p: p.file(WEB_TOML, 'kind = "web\n'), WEB_TOML, "", "not valid TOML"),
]

ROWS = ENVIRONMENT_ROWS + SERVICE_ROWS + FILE_ROWS + CONTAINER_ROWS


def _check(tmp_path: Path, row: Bad) -> None:
    project = Project(tmp_path)
    row.build(project)
    with pytest.raises(ConfigError) as caught:
        project.load()
    error = caught.value
    assert (error.file, error.field) == (row.file, row.field), str(error)
    assert row.words in error.message, str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize("row", ENVIRONMENT_ROWS, ids=[row.id for row in ENVIRONMENT_ROWS])
def test_fails_when_an_environment_file_is_bad(tmp_path: Path, row: Bad) -> None:
    _check(tmp_path, row)


@pytest.mark.parametrize("row", CONTAINER_ROWS, ids=[row.id for row in CONTAINER_ROWS])
def test_fails_when_a_container_option_sidecar_or_volume_is_bad(tmp_path: Path, row: Bad) -> None:
    _check(tmp_path, row)


@pytest.mark.parametrize("row", SERVICE_ROWS, ids=[row.id for row in SERVICE_ROWS])
def test_fails_when_a_service_manifest_is_bad(tmp_path: Path, row: Bad) -> None:
    _check(tmp_path, row)


@pytest.mark.parametrize("row", FILE_ROWS, ids=[row.id for row in FILE_ROWS])
def test_fails_when_the_project_layout_is_bad(tmp_path: Path, row: Bad) -> None:
    _check(tmp_path, row)


def test_fails_when_a_computed_default_is_wrong_with_the_reason_and_the_default(tmp_path: Path) -> None:
    project = Project(tmp_path).without_service("web").service("Billing", WEB)
    with pytest.raises(ConfigError) as caught:
        project.load()
    assert str(caught.value) == (
        "services/Billing/service.toml: name: 'Billing' is not a service name (must match ^[a-z][a-z0-9-]{0,19}[a-z0-9]$)"
        " (the default: the folder name, services/Billing)"
    )


# -- the real entry point: exit code 2, one line, no traceback, nothing written ----------------------
MAIN_ROWS = [row for row in ROWS if row.id in {
    "a_top_level_key_is_misspelled",
    "fargate_memory_does_not_fit_cpu",
    "folder_is_named_platform",
    "a_stray_file_is_in_services",
}]


@pytest.mark.parametrize("row", MAIN_ROWS, ids=[row.id for row in MAIN_ROWS])
def test_fails_when_main_py_meets_bad_input(tmp_path: Path, row: Bad) -> None:
    project = Project(tmp_path)
    row.build(project)
    root = project.write_runnable()
    sentinel = root / "cdktf.out" / "stacks" / "keep" / "cdk.tf.json"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text('{"untouched": true}')
    before = sorted(p.relative_to(root).as_posix() for p in (root / "cdktf.out").rglob("*"))

    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    result = subprocess.run([sys.executable, "main.py"], cwd=root, capture_output=True, text=True, timeout=120, env=env)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = f"error: {row.file}: {row.field}: " if row.field else f"error: {row.file}: "
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr
    assert row.words in result.stderr
    assert sorted(p.relative_to(root).as_posix() for p in (root / "cdktf.out").rglob("*")) == before
    assert sentinel.read_text() == '{"untouched": true}'


def count_by_category() -> Counter[str]:
    """For the README and reviews: `python -c 'from tests.test_config_bad_input import *; print(count_by_category())'`."""
    return Counter(row.category for row in ROWS)
