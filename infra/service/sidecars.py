"""What the task role needs for the containers the platform adds beside the service's, as
statements (the containers themselves: infra.service.container_definition).

    firelens  the log router writes the service's log group with the task's credentials: it may
              create streams in that group and put events there, nothing else (the group exists,
              this stack owns it, so no logs:CreateLogGroup). AWS docs, "Send Amazon ECS logs to
              an AWS service or AWS Partner": the task role "provides the permissions necessary
              to use any AWS services that the tasks require"; Fluent Bit's cloudwatch_logs output
              calls CreateLogStream and PutLogEvents (Fluent Bit docs, "Amazon CloudWatch").
    adot      the collector sends traces to X-Ray and reads its sampling rules: the actions of
              AWS's policy for the ADOT sidecar (AWS docs, "Required IAM permissions for AWS
              Distro for OpenTelemetry integration with AWS X-Ray", Amazon ECS Developer Guide;
              the same as the AWS-managed AWSXRayDaemonWriteAccess). X-Ray supports no
              resource-level permissions for them ("Actions, resources, and condition keys for
              AWS X-Ray"): "*". Our configuration (ecs-xray.yaml) exports no metrics, so no
              CloudWatch Logs permission for EMF.

The platform's permissions boundary allows both (Logs on this account's log groups; the X-Ray
actions among the ones without resource-level permissions).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement

from infra.arns import Arns
from infra.config.specs import ServiceSpec
from infra.iam import statement

LOG_ROUTER_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
XRAY_WRITE_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingStatisticSummaries",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]


def task_statements(spec: ServiceSpec, arns: Arns, log_group_name: str) -> list[DataAwsIamPolicyDocumentStatement]:
    statements = []
    if spec.firelens:
        statements.append(statement("LogRouterWritesOwnLogs", LOG_ROUTER_ACTIONS, [arns.log_group(log_group_name)]))
    if spec.tracing is not None:
        statements.append(statement("CollectorWritesTraces", XRAY_WRITE_ACTIONS, ["*"]))
    return statements
