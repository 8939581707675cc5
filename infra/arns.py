"""The one place ARNs are built from names.

Constructs that know a resource only by the name another construct gives it (a role that
may write `/ecs/<env>/<service>` before the log group exists, a boundary over every queue of
the account) build its ARN here, from the stack's own partition, region and account (data
sources, so nothing account-specific is synthesized). The formats are those of AWS's
"Service Authorization Reference" resource types for each service.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition


class Arns:
    """ARNs in one account and region. `Arns.of(scope)` adds the two data sources it needs."""

    def __init__(self, *, partition: str, region: str, account_id: str) -> None:
        self.partition = partition
        self.region = region
        self.account_id = account_id

    @classmethod
    def of(cls, scope: Construct, *, region: str) -> "Arns":
        """From `data.aws_partition.current` and `data.aws_caller_identity.current`, created under `scope`."""
        partition = DataAwsPartition(scope, "partition").partition
        account_id = DataAwsCallerIdentity(scope, "account").account_id
        return cls(partition=partition, region=region, account_id=account_id)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def account_root(self) -> str:
        return self.arn("iam", "root", regional=False)

    def role(self, name: str) -> str:
        return self.arn("iam", f"role/{name}", regional=False)

    def bucket(self, name: str) -> str:
        # S3 bucket ARNs carry neither region nor account.
        return f"arn:{self.partition}:s3:::{name}"

    def repository(self, name: str) -> str:
        return self.arn("ecr", f"repository/{name}")

    def log_group(self, name: str) -> str:
        # ":*" covers the group's streams, which is where CreateLogStream/PutLogEvents act.
        return self.arn("logs", f"log-group:{name}:*")

    def queue(self, name: str) -> str:
        # arn:${Partition}:sqs:${Region}:${Account}:${QueueName} ("Actions, resources, and
        # condition keys for Amazon SQS", Service Authorization Reference).
        return self.arn("sqs", name)

    def cluster(self, cluster: str) -> str:
        return self.arn("ecs", f"cluster/{cluster}")

    def container_instances(self, cluster: str) -> str:
        return self.arn("ecs", f"container-instance/{cluster}/*")

    def ecs_service(self, cluster: str, service: str) -> str:
        return self.arn("ecs", f"service/{cluster}/{service}")

    def task_sets(self, cluster: str, service: str) -> str:
        return self.arn("ecs", f"task-set/{cluster}/{service}/*")

    def codedeploy_application(self, name: str) -> str:
        return self.arn("codedeploy", f"application:{name}")

    def codedeploy_deployment_group(self, application: str, group: str) -> str:
        return self.arn("codedeploy", f"deploymentgroup:{application}/{group}")

    def codedeploy_config(self, name: str) -> str:
        return self.arn("codedeploy", f"deploymentconfig:{name}")

    def keys(self) -> str:
        """Every KMS key of the account and Region (narrowed by a condition, e.g. kms:ResourceAliases)."""
        return self.arn("kms", "key/*")

    def ecs_tasks(self, cluster: str) -> str:
        return self.arn("ecs", f"task/{cluster}/*")

    def task_definitions(self, family: str) -> str:
        return self.arn("ecs", f"task-definition/{family}:*")

    def build_project(self, name: str) -> str:
        return self.arn("codebuild", f"project/{name}")

    def parameter(self, name: str) -> str:
        # Parameter names start with "/", which the ARN's "parameter" prefix absorbs.
        return self.arn("ssm", f"parameter{name}")

    def secret(self, name: str) -> str:
        # A secret's full ARN ends in a random suffix; ECS and IAM accept the partial ARN + "-*".
        return self.arn("secretsmanager", f"secret:{name}")

    def instances(self) -> str:
        return self.arn("ec2", "instance/*")
