"""`PlatformRef`: the platform of a service's environment, read through its contract.

One `terraform_remote_state` (`data.terraform_remote_state.platform`) reads the state of
`<env>-platform` in the service stack's own workspace, and each contract output becomes a
typed attribute (a Terraform reference). A service stack never sees the platform's
constructs, so it synthesizes alone, and a platform change that keeps the contract never
changes a service's plan.

The contract's version is checked at plan time: a postcondition on the remote state stops
the plan with one message when the platform publishes an incompatible `contract_version`
(another major version, an older minor one, or none: the platform was never applied).
"""

from __future__ import annotations

from typing import Any

from cdktf import (
    DataTerraformRemoteState,
    DataTerraformRemoteStateLocal,
    DataTerraformRemoteStateS3,
    NamedRemoteWorkspace,
    TerraformRemoteState,
    Token,
)
from constructs import Construct

from infra.config.specs import EnvironmentSpec
from infra.platform import contract
from infra.stack_plan import stack_name
from infra.stacks import remote_state_config

WORKSPACE = "${terraform.workspace}"


class PlatformRef(Construct):
    """Typed attributes: one per `infra.platform.contract.OUTPUTS` entry, same name."""

    contract_version: str
    vpc_id: str
    vpc_cidr: str
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    database_subnet_ids: list[str]
    cluster_name: str
    cluster_arn: str
    ec2_capacity_provider_name: str
    alb_arn: str
    alb_arn_suffix: str
    alb_dns_name: str
    alb_zone_id: str
    listener_arn: str
    test_listener_arn: str
    alb_security_group_id: str
    app_security_group_id: str
    database_security_group_id: str
    database_endpoint: str
    database_port: float
    database_name: str
    database_secret_arn: str
    namespace_id: str
    namespace_name: str
    namespace_arn: str
    kms_key_arn: str
    artifacts_bucket_name: str
    artifacts_bucket_arn: str
    logs_bucket_name: str
    alarm_topic_arn: str
    task_role_boundary_arn: str
    exec_log_group_name: str
    private_subnets_by_zone: dict[str, Any]
    file_systems: dict[str, Any]

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec) -> None:
        super().__init__(scope, id_)
        self.stack_name = stack_name(env, "platform")
        self.state = _remote_state(self, env, self.stack_name)
        # The address reads as written by hand: data.terraform_remote_state.platform
        self.state.override_logical_id("platform")
        self.state.add_override("lifecycle", {"postcondition": [_version_check(self.stack_name)]})

    def __getattr__(self, name: str) -> Any:
        """A contract output, read on first use and kept: a stack asks for about half of them,
        and each read is a call into the jsii kernel."""
        output = contract.BY_NAME.get(name)
        if output is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (not in the platform's contract)")
        value = _read(self.state, output)
        setattr(self, name, value)
        return value


def _read(state: TerraformRemoteState, output: contract.Output) -> Any:
    if output.kind is contract.Kind.LIST:
        return state.get_list(output.name)
    if output.kind is contract.Kind.NUMBER:
        return state.get_number(output.name)
    if output.kind is contract.Kind.MAP:
        return Token.as_any_map(state.get(output.name))
    return state.get_string(output.name)


def _version_check(platform_stack: str) -> dict[str, str]:
    major, minor = contract.CONTRACT_VERSION.split(".")
    version = 'try(self.outputs.contract_version, "none")'
    return {
        "condition": (
            f'${{try(split(".", {version})[0] == "{major}" && tonumber(split(".", {version})[1]) >= {minor}, false)}}'
        ),
        "error_message": (
            f"{platform_stack} publishes contract_version ${{{version}}} in this workspace; this service "
            f"stack needs {major}.x with x >= {minor}. Apply the platform stack of the same release first."
        ),
    }


def _remote_state(scope: Construct, env: EnvironmentSpec, platform_stack: str) -> TerraformRemoteState:
    backend, config = remote_state_config(env, platform_stack)
    if backend == "s3":
        return DataTerraformRemoteStateS3(scope, "state", workspace=WORKSPACE, **config)  # type: ignore[arg-type]
    if backend == "remote":
        workspaces = config["workspaces"]
        return DataTerraformRemoteState(
            scope,
            "state",
            organization=str(config["organization"]),
            hostname=str(config["hostname"]),
            workspaces=NamedRemoteWorkspace(str(workspaces["name"])),  # type: ignore[index]
        )
    return DataTerraformRemoteStateLocal(scope, "state", workspace=WORKSPACE, **config)  # type: ignore[arg-type]
