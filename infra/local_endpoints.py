"""The AWS APIs the platform calls, by their key in the provider's `endpoints` block.

In local mode (`PLATFORM_LOCAL_ENDPOINT`, used by `make local-deploy` and the end-to-end
test) every one of them is pointed at the moto server on loopback, so no request can
leave the machine. A resource type added to the platform needs its API listed here.
Only canonical keys (checked against `terraform providers schema -json` of 5.100.0):
setting an alias such as `applicationautoscaling` next to `appautoscaling` is an error.
"""

ENDPOINT_SERVICES: tuple[str, ...] = (
    "acm",
    "appautoscaling",
    "autoscaling",
    "cloudwatch",
    "codebuild",
    "codedeploy",
    "codepipeline",
    "codestarconnections",
    "ec2",
    "ecr",
    "ecs",
    "efs",
    "elbv2",
    "events",
    "iam",
    "kms",
    "logs",
    "rds",
    "route53",
    "s3",
    "scheduler",
    "secretsmanager",
    "servicediscovery",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "wafv2",
)
