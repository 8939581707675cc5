"""Blue/green deployments of a web service through CodeDeploy (`[deployment] strategy = "blue_green"`).

    application       CodeDeploy application `<env>-<service>`, ECS compute platform
    deployment group  `<env>-<service>`: the ECS service, the production listener and the
                      platform's test listener, the two target groups (infra.service.route),
                      all traffic at once once the new tasks are healthy, automatic rollback on
                      a failed deployment and on the rollback alarms, the old tasks kept
                      `termination_wait` minutes after the traffic moved
    role              `<env>-<service>-codedeploy`: what CodeDeploy does on the service's behalf

The ECS service runs the CODE_DEPLOY deployment controller (infra.service.composer): from then
on only a CodeDeploy deployment changes its task definition and target group, and the
service's pipeline creates them (its deploy action is `CodeDeployToECS`, infra.service.pipeline).

Why CodeDeploy: the pinned provider, hashicorp/aws 5.100.0, has no ECS-native blue/green
(`deployment_configuration.strategy` arrived in 6.x). The manifest says only *what* it wants
(`strategy`, `rollback_alarms`, `termination_wait`); moving to the ECS-native strategy later
changes this module and the pipeline's deploy action, not the manifest.

The role is `AWSCodeDeployRoleForECS` narrowed to this service (AWS managed policy reference:
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECS.html):
task sets of its own ECS service, its own two listener rules, its own alarms, the pipeline's
artifacts (the revision CodePipeline hands over), and passing only its own task roles.
No Lambda hooks, no SNS triggers: nothing of theirs is granted.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.codedeploy_app import CodedeployApp
from cdktf_cdktf_provider_aws.codedeploy_deployment_group import (
    CodedeployDeploymentGroup,
    CodedeployDeploymentGroupAlarmConfiguration,
    CodedeployDeploymentGroupAutoRollbackConfiguration,
    CodedeployDeploymentGroupBlueGreenDeploymentConfig,
    CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption,
    CodedeployDeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccess,
    CodedeployDeploymentGroupDeploymentStyle,
    CodedeployDeploymentGroupEcsService,
    CodedeployDeploymentGroupLoadBalancerInfo,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfo,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRoute,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroup,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRoute,
)

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from cdktf_cdktf_provider_aws.iam_role import IamRole

from infra import naming
from infra.addresses import named
from infra.arns import Arns
from infra.config.specs import EnvironmentSpec, ServiceSpec
from infra.iam import ECS_TASKS, condition, inline_policy, service_role, statement
from infra.naming import Names
from infra.service.platform_ref import PlatformRef
from infra.service.route import LoadBalancerRoute

CODEDEPLOY = "codedeploy.amazonaws.com"
# All traffic at once, after the new tasks passed the target group's health check and the test
# listener served them (AWS docs, CodeDeploy "Deployment configurations on an Amazon ECS compute
# platform": https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
DEPLOYMENT_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
# The platform's cluster is named by the prefix alone (infra.platform.cluster).
CLUSTER = naming.PREFIX


def codedeploy_names(prefix: str, service: str) -> tuple[str, str]:
    """(application, deployment group) of a service, from an environment's prefix: the
    service's own stack creates them; a pipeline in another environment's stack names them."""
    name = f"{prefix}-{service}"
    return name, name


def artifacts_bucket_name(prefix: str, account_id: str) -> str:
    """The platform's artifacts bucket of the environment with `prefix` (infra.platform.storage)."""
    return f"ecs-platform-{prefix}-artifacts-{account_id}"


def platform_key_alias(prefix: str) -> str:
    """The alias of the platform key of the environment with `prefix` (infra.platform.encryption)."""
    return f"alias/ecs-platform-{prefix}"


class BlueGreenDeployment(Construct):
    """Typed outputs: `application_name`, `deployment_group_name`, `role_arn`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        arns: Arns,
        name: str,
        service_name: str,
        route: LoadBalancerRoute,
        alarm_names: Sequence[str],
        alarm_arns: Sequence[str],
        execution_role_arn: str,
        task_role_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        if route.second_target_group is None or route.test_listener_rule is None:
            raise ValueError(f"{spec.file}: deployment.strategy: blue_green needs the route's second target group and test rule")
        names = Names.of(self)
        deployment = spec.deployment
        role = self._role(
            env, spec, platform, arns, name, route, alarm_arns, execution_role_arn, task_role_arn, names
        )
        application_name, group_name = codedeploy_names(naming.PREFIX, spec.name)
        application = named(
            CodedeployApp(self, "application", name=names.name(application_name, naming.CODEDEPLOY_NAME), compute_platform="ECS"),
            spec.name,
        )
        rollback_events = ["DEPLOYMENT_FAILURE", *(["DEPLOYMENT_STOP_ON_ALARM"] if alarm_names else [])]
        group = CodedeployDeploymentGroup(
            self,
            "deployment-group",
            app_name=application.name,
            deployment_group_name=names.name(group_name, naming.CODEDEPLOY_NAME),
            service_role_arn=role.arn,
            deployment_config_name=DEPLOYMENT_CONFIG,
            deployment_style=CodedeployDeploymentGroupDeploymentStyle(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            blue_green_deployment_config=CodedeployDeploymentGroupBlueGreenDeploymentConfig(
                # Traffic moves as soon as the new task set is healthy (no manual hold).
                deployment_ready_option=CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption(
                    action_on_timeout="CONTINUE_DEPLOYMENT"
                ),
                terminate_blue_instances_on_deployment_success=(
                    CodedeployDeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccess(
                        action="TERMINATE", termination_wait_time_in_minutes=deployment.termination_wait
                    )
                ),
            ),
            # AWS docs, CodeDeploy "Redeploy and roll back a deployment" (automatic rollbacks: on
            # a failed deployment, and when a monitored alarm goes off):
            # https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html
            auto_rollback_configuration=CodedeployDeploymentGroupAutoRollbackConfiguration(enabled=True, events=rollback_events),
            alarm_configuration=(
                CodedeployDeploymentGroupAlarmConfiguration(alarms=list(alarm_names), enabled=True) if alarm_names else None
            ),
            ecs_service=CodedeployDeploymentGroupEcsService(cluster_name=platform.cluster_name, service_name=service_name),
            load_balancer_info=CodedeployDeploymentGroupLoadBalancerInfo(
                target_group_pair_info=CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfo(
                    prod_traffic_route=CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRoute(
                        listener_arns=[platform.listener_arn]
                    ),
                    test_traffic_route=CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRoute(
                        listener_arns=[platform.test_listener_arn]
                    ),
                    target_group=[
                        CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroup(name=tg.name)
                        for tg in route.target_groups
                    ],
                )
            ),
            # CodeDeploy checks its role when the group is created: the policy first.
            depends_on=[self.policy],
        )
        named(group, spec.name)
        self.application_name = application.name
        self.deployment_group_name = group.deployment_group_name
        self.role_arn = role.arn

    def _role(
        self,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        arns: Arns,
        name: str,
        route: LoadBalancerRoute,
        alarm_arns: Sequence[str],
        execution_role_arn: str,
        task_role_arn: str,
        names: Names,
    ) -> IamRole:
        role = service_role(
            self,
            "codedeploy",
            name=names.name(f"{{prefix}}-{spec.name}-codedeploy", naming.IAM_ROLE),
            principal=CODEDEPLOY,
            source_account=arns.account_id,
        )
        service_arn = arns.ecs_service(CLUSTER, name)
        bucket_arn, key_statement = _revision_store(self, env, platform, arns)
        statements = [
            statement("OwnService", ["ecs:DescribeServices", "ecs:UpdateServicePrimaryTaskSet"], [service_arn]),
            # CreateTaskSet has no resource type in the Service Authorization Reference; the
            # ecs:service condition keeps it to this service.
            statement("CreateOwnTaskSets", ["ecs:CreateTaskSet"], ["*"], [condition("ArnEquals", "ecs:service", [service_arn])]),
            statement("DeleteOwnTaskSets", ["ecs:DeleteTaskSet"], [arns.task_sets(CLUSTER, name)]),
            # Describe calls of Elastic Load Balancing support no resource-level permissions.
            statement(
                "ReadLoadBalancer",
                ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups"],
                ["*"],
            ),
            # Only its own two rules: never the listeners' default actions or another service's rules.
            statement("MoveOwnTraffic", ["elasticloadbalancing:ModifyRule"], [rule.arn for rule in route.listener_rules]),
            statement("ReadRevision", ["s3:GetObject", "s3:GetObjectVersion"], [f"{bucket_arn}/*"]),
            key_statement,
            statement(
                "PassOwnTaskRoles",
                ["iam:PassRole"],
                [execution_role_arn, task_role_arn],
                [condition("StringEquals", "iam:PassedToService", [ECS_TASKS])],
            ),
        ]
        if alarm_arns:
            statements.append(statement("WatchOwnAlarms", ["cloudwatch:DescribeAlarms"], list(alarm_arns)))
        self.policy = inline_policy(self, "codedeploy-policy", role=role, name="codedeploy", statements=statements)
        return role


def _revision_store(
    scope: Construct, env: EnvironmentSpec, platform: PlatformRef, arns: Arns
) -> tuple[str, DataAwsIamPolicyDocumentStatement]:
    """Where the pipeline that deploys this service keeps its artifacts, which CodeDeploy reads
    the revision from: this environment's, or with `[pipeline] promote_from` in another
    environment, that environment's bucket and key, named by the naming scheme (same account,
    checked at load). The other key is named by its alias: IAM matches it with the
    kms:ResourceAliases condition key (AWS docs, "ABAC for AWS KMS", Using aliases to control
    access: https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html)."""
    home = env.pipeline.promoted_to
    if home is None:
        return platform.artifacts_bucket_arn, statement("RevisionKey", ["kms:Decrypt"], [platform.kms_key_arn])
    prefix = Names.of(scope).peer_prefix(home.name, workspaces=home.workspaces)
    bucket = arns.bucket(artifacts_bucket_name(prefix, arns.account_id))
    key = statement(
        "RevisionKey",
        ["kms:Decrypt"],
        [arns.keys()],
        [condition("ForAnyValue:StringEquals", "kms:ResourceAliases", [platform_key_alias(prefix)])],
    )
    return bucket, key
