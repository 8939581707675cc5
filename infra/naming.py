"""The one naming scheme: every AWS name carries the Terraform workspace outside `default`.

A stack is an ordinary Terraform root, so `terraform workspace new pr-42 && terraform apply`
makes a second copy of it in the same account. AWS names are unique per account (IAM roles,
S3 buckets: per partition) or per Region (clusters, load balancers, log groups, ...), so a
copy needs names of its own. Every name is built here from one prefix, written into the
synthesized JSON as a Terraform expression, so the same `cdk.tf.json` serves every workspace:

    locals {
      workspace   = <terraform.workspace, checked: the stack's names must fit AWS's limits>
      name_prefix = terraform.workspace == "default" ? "dev" : "dev-${local.workspace}"
    }
    resource "aws_iam_role" ... { name = "${local.name_prefix}-web-exec" }

In `default` the prefix is the environment name, so every name is exactly what it was
before workspaces were supported (nothing deployed is replaced). In `pr-42` it is `dev-pr-42`:
`dev-pr-42-web-exec`, `dev-pr-42-alb`, `ecs-platform-dev-pr-42-logs-<account>`.

The workspace cannot be known at synthesis, so its limits are enforced by Terraform. Each
name is registered with the AWS limit of its kind (`Limit`, below); the stack's tightest
name says how long a workspace it can hold (`Names.max_workspace_length`), and the
`workspace` local refuses, with one message, a workspace that is longer or is not a label of
lower-case letters, digits and single hyphens (S3 bucket and ECR repository names are lower
case; RDS identifiers allow no `--` and no trailing hyphen). The check has to live in the
local itself: `terraform validate` and `plan` run the provider's own name checks (e.g.
`"name" cannot be longer than 32 characters`) before any precondition or `check` block is
evaluated, and a `check` block only warns. Terraform has no function that raises an error,
so the local calls `tobool()` on the message, the usual way to stop a plan from an expression
(HCL reports the diagnostics of the chosen branch of a conditional only, so the default
workspace and a valid one never see it).

Names that are not AWS-unique stay literal: inline policy names (unique within their role),
DB parameter names, Cloud Map service names (unique within their namespace), and the Cloud Map
namespace itself: it is a private hosted zone of the copy's own VPC, and Route 53 allows
private hosted zones with the same name in different VPCs (AWS docs, Route 53 Developer
Guide, "Considerations when working with a private hosted zone": split-view DNS and private
hosted zones that have overlapping namespaces), so `${service.api.url}` is the same URL in
every copy and resolves inside that copy.

DNS names a copy creates (a web service's `[routes] hosts`: its certificate's names, its alias
and validation records, its listener rule's host condition) carry the workspace as their first
label instead (`Names.host`, the `host_prefix` local): `shop.example.com` in `default`,
`pr-42.shop.example.com` in `pr-42`, in the same zone, with the copy's own certificate. Two
copies never write the same record, and the certificate's name (at most 64 characters) counts
towards the longest workspace the stack accepts.

With `backend.cloud` a stack is one named HCP Terraform workspace: there are no CLI
workspaces (`terraform workspace new` is refused for a `cloud` block with `workspaces.name`,
Terraform docs, "cloud block"), and what `terraform.workspace` reports in a remote run is
HCP's business, so the prefix there is the environment name, always.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from cdktf import IResolveContext, IStringProducer, Lazy, TerraformLocal, TerraformStack
from constructs import Construct

from infra.speedups import construct_scopes

PREFIX = "${local.name_prefix}"
WORKSPACE = "${local.workspace}"
# DNS names of this copy (a service's custom domains): nothing in `default`, `<workspace>.`
# elsewhere, so a copy answers pr-42.shop.example.com beside the default's shop.example.com.
HOST_PREFIX = "${local.host_prefix}"
# A copy's workspace label: what every name it goes into accepts.
LABEL = "^[a-z0-9]+(-[a-z0-9]+)*$"
# Account ids are 12 digits (AWS docs, "View AWS account identifiers").
ACCOUNT_ID_LENGTH = 12


@dataclass(frozen=True)
class Limit:
    """The most characters AWS allows in one kind of name, and where AWS says so."""

    max_len: int
    kind: str
    source: str


# --- AWS name limits, one per kind of name (the API reference's Length Constraints) ---------
LOAD_BALANCER = Limit(32, "load balancer name", 'AWS docs, Elastic Load Balancing API, "CreateLoadBalancer": Name')
TARGET_GROUP = Limit(32, "target group name", 'AWS docs, Elastic Load Balancing API, "CreateTargetGroup": Name')
IAM_ROLE = Limit(64, "IAM role name", 'AWS docs, "IAM and AWS STS quotas": role name')
IAM_INSTANCE_PROFILE = Limit(128, "instance profile name", 'AWS docs, "IAM and AWS STS quotas": instance profile name')
IAM_POLICY = Limit(128, "IAM policy name", 'AWS docs, "IAM and AWS STS quotas": policy name')
S3_BUCKET = Limit(63, "S3 bucket name", 'AWS docs, Amazon S3 User Guide, "General purpose bucket naming rules"')
RDS_IDENTIFIER = Limit(63, "DB instance identifier", 'AWS docs, "Naming constraints in Amazon RDS"')
RDS_GROUP = Limit(255, "DB subnet / parameter / option group name", 'AWS docs, "Naming constraints in Amazon RDS"')
RDS_SNAPSHOT = Limit(255, "DB snapshot identifier", 'AWS docs, RDS API, "CreateDBSnapshot": DBSnapshotIdentifier')
SQS_QUEUE = Limit(80, "SQS queue name", 'AWS docs, SQS API, "CreateQueue": QueueName')
ECS_NAME = Limit(255, "ECS cluster / service / task family / capacity provider name", 'AWS docs, ECS API, "CreateService": serviceName')
ECR_REPOSITORY = Limit(256, "ECR repository name", 'AWS docs, ECR API, "CreateRepository": repositoryName')
LOG_GROUP = Limit(512, "log group name", 'AWS docs, CloudWatch Logs API, "CreateLogGroup": logGroupName')
ALARM = Limit(255, "alarm name", 'AWS docs, CloudWatch API, "PutMetricAlarm": AlarmName')
DASHBOARD = Limit(255, "dashboard name", 'AWS docs, CloudWatch API, "PutDashboard": DashboardName')
SNS_TOPIC = Limit(256, "SNS topic name", 'AWS docs, SNS API, "CreateTopic": Name')
KMS_ALIAS = Limit(256, "KMS alias name", 'AWS docs, KMS API, "CreateAlias": AliasName')
SSM_PARAMETER = Limit(1011, "SSM parameter name", 'AWS docs, "Creating Parameter Store parameters in Systems Manager" (1011 characters, without the ARN prefix)')
SECURITY_GROUP = Limit(255, "security group name", 'AWS docs, EC2 API, "CreateSecurityGroup": GroupName')
TAG_VALUE = Limit(256, "tag value", 'AWS docs, "Tag naming limits and requirements"')
LAUNCH_TEMPLATE = Limit(128, "launch template name", 'AWS docs, EC2 API, "CreateLaunchTemplate": LaunchTemplateName')
AUTOSCALING_GROUP = Limit(255, "Auto Scaling group name", 'AWS docs, EC2 Auto Scaling API, "CreateAutoScalingGroup": AutoScalingGroupName')
SCALING_POLICY = Limit(256, "scaling policy / scheduled action name", 'AWS docs, Application Auto Scaling API, "PutScalingPolicy": PolicyName')
CODEBUILD_PROJECT = Limit(150, "CodeBuild project name", 'AWS docs, CodeBuild API, "CreateProject": name (2-150)')
CODEPIPELINE = Limit(100, "pipeline name", 'AWS docs, CodePipeline, "Quotas in AWS CodePipeline": pipeline name')
CODEDEPLOY_NAME = Limit(100, "CodeDeploy application / deployment group name", 'AWS docs, CodeDeploy API, "CreateApplication" / "CreateDeploymentGroup": 1-100 characters')
WAF_NAME = Limit(128, "web ACL / metric name", 'AWS docs, WAFV2 API, "CreateWebACL": Name, VisibilityConfig.MetricName')
SCHEDULE = Limit(64, "schedule / schedule group name", 'AWS docs, EventBridge Scheduler API, "CreateSchedule": Name, "CreateScheduleGroup": Name')
EVENT_RULE = Limit(64, "EventBridge rule name", 'AWS docs, EventBridge API, "PutRule": Name')
CERTIFICATE_NAME = Limit(
    64, "certificate domain name", 'AWS docs, ACM API, "RequestCertificate": DomainName (the Common Name, RFC 5280)'
)


@dataclass(frozen=True)
class Tightest:
    """The registered name with the least room for a workspace."""

    default_name: str
    limit: Limit
    # How the name reads in a workspace, for the refusal message (default: the prefix widened).
    example: str | None = None

    @property
    def room(self) -> int:
        """Characters left for `-<workspace>`."""
        return self.limit.max_len - len(self.default_name) - 1


class Names:
    """The names of one stack. Constructs find it with `Names.of(scope)`; each name is built by
    `name()` from a template with `{prefix}` (and `{account}` where the account id goes)."""

    def __init__(self, *, env_name: str, stack: str, workspaces: bool = True) -> None:
        self.env_name = env_name
        self.stack = stack
        self.workspaces = workspaces
        self.tightest: Tightest | None = None
        self.prefix_ref: str | None = None
        self._stack: TerraformStack | None = None
        self._host_local: TerraformLocal | None = None
        self._peer_prefixes: dict[str, str] = {}

    def bind(self, stack: TerraformStack) -> None:
        """Declare the `name_prefix` local in `stack`, and keep a reference to it for the names
        that go inside Terraform expressions (infra.expressions.jsonencode): there CDKTF escapes
        a literal `${local.name_prefix}`, but writes a reference as an interpolation."""
        self._stack = stack
        local = TerraformLocal(stack, "name_prefix", prefix_expression(self.env_name) if self.workspaces else self.env_name)
        self.prefix_ref = local.as_string
        self._stack = stack
        # Its check depends on the stack's tightest name, known once every resource is built:
        # computed when the stack is written.
        TerraformLocal(stack, "workspace", Lazy.string_value(_WorkspaceLocal(self)))

    @staticmethod
    def of(scope: Construct) -> "Names":
        names = getattr(_stack_of(scope), "names", None)
        if not isinstance(names, Names):
            raise TypeError(f"{scope.node.path}: a named resource must be built inside an EnvironmentStack (infra.stacks)")
        return names

    def name(self, template: str, limit: Limit, *, account: str | None = None) -> str:
        """`template` with `{prefix}` replaced by the workspace-aware prefix (a Terraform
        expression; a name that already holds it is taken as it is); registers its length in
        `default` against `limit`. `{account}` stands for the 12-digit account id."""
        text = template.replace("{prefix}", PREFIX)
        if PREFIX not in text:
            raise ValueError(f"{template!r}: a name carries the prefix (it must differ in each workspace)")
        if ("{account}" in text) != (account is not None):
            raise ValueError(f"{template!r}: {{account}} and account= go together")
        default = in_default(text, self.env_name).replace("{account}", "0" * ACCOUNT_ID_LENGTH)
        if len(default) > limit.max_len:
            raise ValueError(f"{default!r} is longer than {limit.max_len} characters, the limit of a {limit.kind} ({limit.source})")
        candidate = Tightest(default, limit)
        if self.tightest is None or candidate.room < self.tightest.room:
            self.tightest = candidate
        return text.replace("{account}", account) if account is not None else text

    def host(self, host: str, limit: Limit | None = None) -> str:
        """A DNS name of this copy: `host` in `default`, `<workspace>.<host>` elsewhere (the
        `host_prefix` local, declared with the first host; none with the cloud backend, whose
        stacks have no CLI workspaces). A `limit` counts the whole name: the workspace check
        then leaves room for `<workspace>.`."""
        if limit is not None:
            if len(host) > limit.max_len:
                raise ValueError(f"{host!r} is longer than {limit.max_len} characters, the limit of a {limit.kind} ({limit.source})")
            candidate = Tightest(host, limit, example=f"<workspace>.{host}")
            if self.tightest is None or candidate.room < self.tightest.room:
                self.tightest = candidate
        if not self.workspaces:
            return host
        if self._host_local is None:
            if self._stack is None:
                raise RuntimeError(f"{self.stack}: Names.bind must run before a host name is built")
            self._host_local = TerraformLocal(self._stack, "host_prefix", host_prefix_expression())
        return f"{HOST_PREFIX}{host}"
    def peer_prefix(self, env_name: str, *, workspaces: bool) -> str:
        """The prefix of another environment's names, as they are in this stack's workspace:
        a reference to the local `<env>_name_prefix` (declared once per stack). A stack that
        names another environment's resources (a pipeline that deploys it) follows the same
        scheme without reading its state: `dev` in `default`, `dev-<workspace>` elsewhere (the
        environment's name itself when either stack has no CLI workspaces: a cloud backend).
        Not registered against a limit: that environment's own stacks hold these names."""
        if self._stack is None:
            raise ValueError(f"{self.stack}: peer_prefix needs the stack's names bound first")
        found = self._peer_prefixes.get(env_name)
        if found is None:
            value = prefix_expression(env_name) if workspaces and self.workspaces else env_name
            found = self._peer_prefixes[env_name] = TerraformLocal(self._stack, f"{env_name}_name_prefix", value).as_string
        return found

    def tag(self, template: str) -> str:
        """A `Name` tag: not unique in AWS, but how operators and scripts tell copies apart."""
        return self.name(template, TAG_VALUE)

    @property
    def max_workspace_length(self) -> int:
        return self.tightest.room if self.tightest is not None else TAG_VALUE.max_len

    def workspace_local(self) -> str:
        """The `workspace` local, checked against the names (see the module's doc); `name_prefix` is declared by `bind`."""
        return self._checked_workspace() if self.workspaces else "${terraform.workspace}"

    def _checked_workspace(self) -> str:
        ws = "terraform.workspace"
        most = self.max_workspace_length
        if self.tightest is None or most < 1:
            fits = "false"
        else:
            fits = f"length({ws}) <= {most} && can(regex({json.dumps(LABEL)}, {ws}))"
        message = self.refusal()
        return f"${{{ws} == \"default\" || {fits} ? {ws} : tobool({json.dumps(message)})}}"

    def refusal(self) -> str:
        """The one message a plan in a workspace this stack cannot hold stops with."""
        tight = self.tightest
        if tight is None:
            return f"Workspace ${{terraform.workspace}}: {self.stack} has no named resources."
        most = tight.room
        example = tight.example or tight.default_name.replace(self.env_name, f"{self.env_name}-<workspace>", 1)
        if most < 1:
            return (
                f"Workspace ${{terraform.workspace}}: {self.stack} cannot be copied into another workspace: its {tight.limit.kind} "
                f"{tight.default_name} leaves no room for one in the {tight.limit.max_len} characters AWS allows."
            )
        return (
            f"Workspace ${{terraform.workspace}} cannot hold a copy of {self.stack}: use a workspace name of at most {most} "
            f"lower-case letters, digits and single hyphens (its {tight.limit.kind} {example} may have at most "
            f"{tight.limit.max_len} characters)."
        )


@jsii.implements(IStringProducer)
class _WorkspaceLocal:
    def __init__(self, names: Names) -> None:
        self.names = names

    def produce(self, context: IResolveContext) -> str:  # noqa: ARG002 (the producer protocol)
        return self.names.workspace_local()


def prefix_expression(env_name: str) -> str:
    """The prefix of every name: the environment in `default`, `<env>-<workspace>` elsewhere."""
    return f'${{terraform.workspace == "default" ? "{env_name}" : "{env_name}-${{local.workspace}}"}}'


def host_prefix_expression() -> str:
    """The prefix of every DNS name of a copy: nothing in `default`, `<workspace>.` elsewhere."""
    return '${terraform.workspace == "default" ? "" : "${local.workspace}."}'


def in_default(value: str, env_name: str) -> str:
    """What a name of this scheme is in the `default` workspace (for tests and tools)."""
    return value.replace(PREFIX, env_name).replace(HOST_PREFIX, "")


def base64_script(script: str) -> str:
    """Base64 user data that names resources of this copy: Terraform encodes the text once it
    filled in the prefix (`base64encode`, Terraform docs, "base64encode Function"). In `default`
    the result is byte for byte the base64 of the script with the environment's name, so a
    launch template or host built before keeps its version. No other `${` or `%{` may occur:
    Terraform would read them as template sequences."""
    rest = script.replace(PREFIX, "")
    if "${" in rest or "%{" in rest:
        raise ValueError("a script passed to base64_script must not contain ${ or %{ (Terraform template sequences)")
    return f"${{base64encode({json.dumps(script)})}}"


def _stack_of(scope: Construct) -> TerraformStack:
    """`TerraformStack.of(scope)`: the nearest stack at or above it, found among the scopes the
    fast kernel knows without a request to the kernel (a service stack asks for its Names
    about fifteen times), else asked of the kernel."""
    for construct in construct_scopes(scope) or ():
        if isinstance(construct, TerraformStack):
            return construct
    return TerraformStack.of(scope)
