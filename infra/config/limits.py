"""AWS limits the loader validates against, kept as data (as pulumi-awsx keeps its Fargate table).

Every value here is quoted back to the user in error messages, so a wrong manifest is
answered with the values that would have been accepted.
"""

from __future__ import annotations

import ipaddress
import re

# Fargate task sizes: cpu units -> the memory values (MiB) allowed with it.
# AWS docs, "Amazon ECS task definition parameters for Fargate" (Task size).
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# AWS docs, "PutRetentionPolicy" (CloudWatch Logs API): retentionInDays values.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# ALB and target group names: at most 32 characters, letters, digits and hyphens,
# no leading or trailing hyphen (AWS docs, "CreateLoadBalancer" / "CreateTargetGroup": Name).
LB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
# A blue/green service's second target group: `<env>-<service>` and this suffix.
SECOND_TARGET_GROUP_SUFFIX = "-g"
# AWS docs, "CreateService" (ECS API): serviceName, up to 255 letters, digits, hyphens, underscores.
ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
IAM_ROLE_NAME_MAX = 64  # AWS docs, "IAM and AWS STS quotas" (role name length)
# RDS identifiers: 1-63 characters, a letter first, no "--", no trailing hyphen
# (AWS docs, "Naming constraints in Amazon RDS").
RDS_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")

PORT_RANGE = (1, 65535)
# Host ports the ALB and the platform use themselves.
RESERVED_CONTAINER_PORTS = frozenset({22, 3306})

# ALB listener rules (AWS docs, "Listener rules for your Application Load Balancer" and
# "Quotas for your Application Load Balancers"): priorities 1-50000, up to three match
# evaluations per condition and five per rule, at most five wildcards per rule.
RULE_PRIORITY_RANGE = (1, 50000)
RULE_MAX_VALUES_PER_CONDITION = 3
RULE_MAX_CONDITION_VALUES = 5
RULE_MAX_WILDCARDS = 5
# Rules per load balancer, not counting the default rules (same page, "Quotas").
RULES_PER_LOAD_BALANCER = 100

# Custom domains ([routes] hosts): each web service with hosts adds its own certificate to the
# HTTPS listener's certificate list. AWS docs, "Quotas for your Application Load Balancers"
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
# certificates per load balancer, not counting default certificates, 25.
CERTIFICATES_PER_LOAD_BALANCER = 25
# AWS docs, ACM API "RequestCertificate" (DomainName,
# https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html): the
# certificate's domain name (its Common Name, RFC 5280) is at most 64 characters; the subject
# alternative names up to 253.
CERTIFICATE_COMMON_NAME_MAX = 64

# Private address ranges (RFC 1918; AWS docs, "VPC CIDR blocks").
RFC1918 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)

AZ_COUNT_RANGE = (2, 6)

# RDS MySQL: allocated storage (GiB) for gp3 (AWS docs, "Amazon RDS DB instance storage").
RDS_STORAGE_RANGE = (20, 65536)
RDS_BACKUP_RETENTION_RANGE = (1, 35)  # AWS docs, "Backup retention period"
RDS_MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)  # AWS docs, "Setting up and enabling Enhanced Monitoring"
RDS_LOG_EXPORTS = ("audit", "error", "general", "slowquery")  # AWS docs, "Publishing MySQL logs to Amazon CloudWatch Logs"
# Performance Insights is not offered on the smallest burstable classes (AWS docs,
# "Supported DB engines, Regions, and instance classes for Performance Insights").
RDS_NO_PERFORMANCE_INSIGHTS = re.compile(r"^db\.t[234]g?\.(micro|small)$")

# ECS services and Application Auto Scaling. Health checks: AWS docs, "Health checks for
# Application Load Balancer target groups" (interval 5-300 s, timeout 2-120 s, thresholds 2-10).
SERVICE_COUNT_RANGE = (0, 1000)
HEALTH_CHECK_INTERVAL_RANGE = (5, 300)
HEALTH_CHECK_TIMEOUT_RANGE = (2, 120)
HEALTH_CHECK_THRESHOLD_RANGE = (2, 10)
HEALTH_CHECK_GRACE_RANGE = (0, 7200)

# SQS (AWS docs, "SetQueueAttributes": VisibilityTimeout 0-43200 s, MessageRetentionPeriod
# 60-1209600 s; "Using dead-letter queues in Amazon SQS": maxReceiveCount 1-1000).
SQS_VISIBILITY_RANGE = (0, 43200)
SQS_RETENTION_RANGE = (60, 1209600)
SQS_MAX_RECEIVE_RANGE = (1, 1000)

# AWS docs, "Application Load Balancers" (Elastic Load Balancing, Subnets for your load
# balancer): each subnet of a load balancer needs a CIDR block of at least /27 and at least
# 8 free IP addresses (the load balancer adds nodes, and addresses, as it scales).
ALB_SUBNET_MAX_PREFIX = 27

# Jobs (infra/service/job.py). AWS docs, EventBridge Scheduler API Reference, "RetryPolicy"
# (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html):
# MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400. A job's `timeout` is also the
# event age of its runs (a start is not retried later than a run may last), hence its range.
JOB_TIMEOUT_RANGE = (60, 86400)
JOB_RETRIES_RANGE = (0, 185)
# Containers of a task (AWS docs, "ContainerDefinition", Amazon ECS API Reference):
# ulimit names ("Ulimit": name), the Fargate stop timeout ("stopTimeout": "For tasks that use
# the Fargate launch type, the max stop timeout value is 120 seconds") and task storage
# ("EphemeralStorage": sizeInGiB from 21 to 200, Fargate platform version 1.4.0 or later).
ULIMIT_NAMES = (
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
    "rtprio", "rttime", "sigpending", "stack",
)
ULIMIT_VALUE_RANGE = (0, 2**31 - 1)  # the API's Integer
# "Ulimit": Fargate tasks keep the operating system's limits except nofile, which Fargate sets
# (65535 by default); the kernel's nr_open (1048576) bounds what a container may raise it to.
FARGATE_ULIMITS = ("nofile",)
FARGATE_NOFILE_MAX = 1048576
STOP_TIMEOUT_RANGE = (0, 3600)  # an hour: a bound for EC2 capacity, where ECS documents none
FARGATE_STOP_TIMEOUT_MAX = 120
EPHEMERAL_STORAGE_RANGE = (21, 200)
# Ports the platform's own sidecars listen on inside the task (awsvpc: one network namespace,
# so no other container may bind them): FireLens' forward input ("Send Amazon ECS logs to an
# AWS service or AWS Partner": "FireLens listens on port 24224"); the ADOT collector's OTLP
# gRPC and HTTP receivers and its health_check extension (config/ecs/ecs-xray.yaml).
LOG_ROUTER_PORTS = (24224,)
TRACE_COLLECTOR_PORTS = (4317, 4318, 13133)
# NFS, the only port an EFS mount target answers on (AWS docs, "Using VPC security groups for
# Amazon EC2 instances and mount targets").
NFS_PORT = 2049
