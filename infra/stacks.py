"""What every stack of an environment shares: the provider, its pinned version, the
backend, default tags; and where a stack's state lives, for whoever reads it.

The stacks themselves: `infra.platform.stack.PlatformStack` (`<env>-platform`) and
`infra.service.stack.ServiceStack` (`<env>-<service>`). Each has its own Terraform state,
so a change to one service plans only that service. Service stacks read the platform
through its published contract (`terraform_remote_state` by output name), never through
CDKTF cross-stack references, so one service stack synthesizes alone.
"""

from __future__ import annotations

from typing import Any

import jsii
from cdktf import (
    App,
    CloudBackend,
    IAnyProducer,
    IResolveContext,
    Lazy,
    LocalBackend,
    NamedCloudWorkspace,
    S3Backend,
    TerraformElement,
    TerraformStack,
)
from constructs import Construct

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints

from infra.addresses import Addresses
from infra.config.specs import BackendKind, EnvironmentSpec, LocalEndpoint
from infra.local_endpoints import ENDPOINT_SERVICES
from infra.naming import Names

PROVIDER_VERSION = "5.100.0"
# No `required_version` in the terraform block: Checkov's terraform_json parser fails on
# any scalar there and then scans nothing. S3-native locking needs Terraform >= 1.10.


class EnvironmentStack(TerraformStack):
    """A stack of one environment: provider, pinned versions, backend and tags; its names
    (`infra.naming`), declared as Terraform locals by `Names.bind` (the workspace check resolved
    when the stack is written, once every resource is built)."""

    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, local: LocalEndpoint | None, component: str
    ) -> None:
        super().__init__(scope, id_)
        self.env = env
        self.addresses = Addresses(id_)
        # The JSON's `moved` list: a stack override, resolved when the stack is written, after
        # every element has its address. CDKTF's HCL writer renders no stack-level block but
        # `terraform`, so the HCL gets the same list from an element (`_HclMovedBlocks`).
        self.add_override("moved", Lazy.any_value(_MovedBlocks(self.addresses)))
        _HclMovedBlocks(self, "moved-blocks", addresses=self.addresses)
        self.names = Names(env_name=env.name, stack=id_, workspaces=env.backend.kind is not BackendKind.CLOUD)
        self.names.bind(self)
        tags = {
            "Project": "ecs-platform",
            "Environment": env.name,
            "ManagedBy": "cdktf",
            "Component": component,
            **env.tags,
        }
        self.provider = AwsProvider(
            self,
            "aws",
            region=env.region,
            # `account_id`: the provider refuses credentials of any other account before it
            # plans ("allowed_account_ids", AWS provider documentation).
            allowed_account_ids=[env.account_id] if env.account_id else None,
            default_tags=[AwsProviderDefaultTags(tags=tags)],
            **(_local_provider_options(local) if local else {}),
        )
        # The bindings are generated for exactly this provider version; pin it.
        self.add_override("terraform.required_providers.aws.version", PROVIDER_VERSION)
        _configure_backend(self, env, id_)

    def prepare_stack(self) -> None:
        """Skip CDKTF's preparing pass for JSON output: every element is resolved once, not twice.

        `App.synth` (cdktf 0.21) calls `prepareStack()` on every stack before writing any: it
        makes sure the stack has a backend (ours always has: `_configure_backend`) and resolves
        every element once in advance, only to find CDKTF cross-stack references and add their
        outputs and remote state. Our stacks have none: a service stack reads its platform
        through the named contract (`terraform_remote_state` by output name). Writing the stack
        resolves every element again, so that first pass is ~6% of a synthesis for nothing.
        tests/test_contract.py synthesizes the default app with CDKTF's own pass too and
        requires the same files, with no cross-stack output in them.

        The HCL output (`make hcl`) keeps the pass: `_HclMovedBlocks`, rendered before the
        resources, needs every address allocated by then.
        """
        if App.of(self).hcl_output:
            super().prepare_stack()

    def _allocate_logical_id(self, tf_element: Any) -> str:
        """CDKTF's hook for an element's logical id: readable, name-derived addresses
        (infra.addresses) instead of path hashes."""
        return self.addresses.allocate(tf_element)


@jsii.implements(IAnyProducer)
class _MovedBlocks:
    def __init__(self, addresses: Addresses) -> None:
        self.addresses = addresses

    def produce(self, context: IResolveContext) -> Any:  # noqa: ARG002 (the producer protocol)
        return self.addresses.moved_blocks()


class _HclMovedBlocks(TerraformElement):
    """The `moved` blocks in `cdktf synth --hcl` output (the exit ramp, tools/hcl.py).

    CDKTF's HCL writer (cdktf 0.21 TerraformStack.toHclTerraform) renders the `moved` fragment
    of each element and, of the stack's own overrides, only `terraform`: the JSON's stack-level
    `moved` list never reaches the HCL. This element returns the same list as a fragment, in
    the form the writer renders as `moved { from = <address> to = <address> }`. Its JSON
    fragment is empty (the stack override writes the JSON's). Every address is allocated by
    then: `App.synth` resolves every element of every stack once (`prepareStack`) before it
    writes any, so the list is complete wherever this element stands in the tree.
    """

    def __init__(self, scope: Construct, id_: str, *, addresses: Addresses) -> None:
        super().__init__(scope, id_)
        self._addresses = addresses

    def to_terraform(self) -> Any:
        return {}

    def to_hcl_terraform(self) -> Any:
        moves = self._addresses.moved_blocks()
        if not moves:
            return {}
        return {"moved": [{"from": _hcl_reference(move["from"]), "to": _hcl_reference(move["to"])} for move in moves]}


def _hcl_reference(address: str) -> dict[str, Any]:
    """An address as CDKTF's HCL writer takes a reference: written bare, not quoted."""
    return {"value": address, "isBlock": False, "type": "simple", "storageClassType": "reference"}


def _local_provider_options(local: LocalEndpoint) -> dict[str, object]:
    return {
        "access_key": "test",
        "secret_key": "test",
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        # The account id is requested (moto answers 123456789012): without it the provider
        # reads security-group rule references back as "<account>/sg-..." and drifts.
        "s3_use_path_style": True,
        "endpoints": [AwsProviderEndpoints(**{service: local.url for service in ENDPOINT_SERVICES})],
    }


def _configure_backend(stack: TerraformStack, env: EnvironmentSpec, name: str) -> None:
    backend = env.backend
    if backend.kind is BackendKind.S3:
        s3 = _required(backend.s3, env, "backend.s3")
        S3Backend(
            stack,
            bucket=s3.bucket,
            key=f"{s3.key_prefix}/{name}.tfstate",
            region=s3.region,
            encrypt=True,
            dynamodb_table=s3.dynamodb_table,
            kms_key_id=s3.kms_key_id,
            workspace_key_prefix=s3.workspace_key_prefix,
        )
        if s3.use_lockfile:
            # S3-native locking (Terraform >= 1.10) is newer than CDKTF's S3Backend props.
            stack.add_override("terraform.backend.s3.use_lockfile", True)
    elif backend.kind is BackendKind.CLOUD:
        cloud = _required(backend.cloud, env, "backend.cloud")
        CloudBackend(
            stack,
            organization=cloud.organization,
            hostname=cloud.hostname,
            workspaces=NamedCloudWorkspace(f"{cloud.workspace_prefix}{name}"),
        )
    else:
        LocalBackend(stack, **local_state_paths(name))


def local_state_paths(stack_name_: str) -> dict[str, str]:
    """Relative to the stack's working directory (cdktf.out/stacks/<stack>): the state
    lives at the project root, outside cdktf.out, and survives re-synthesis."""
    return {
        "path": f"../../../terraform.{stack_name_}.tfstate",
        "workspace_dir": f"../../../terraform.tfstate.d/{stack_name_}",
    }


def remote_state_config(env: EnvironmentSpec, stack_name_: str) -> tuple[str, dict[str, object]]:
    """(backend type, config) of a `terraform_remote_state` that reads `stack_name_`'s state,
    written exactly as `_configure_backend` stores it."""
    backend = env.backend
    if backend.kind is BackendKind.S3:
        s3 = _required(backend.s3, env, "backend.s3")
        config: dict[str, object] = {
            "bucket": s3.bucket,
            "key": f"{s3.key_prefix}/{stack_name_}.tfstate",
            "region": s3.region,
            "encrypt": True,
            "workspace_key_prefix": s3.workspace_key_prefix,
        }
        if s3.kms_key_id:
            config["kms_key_id"] = s3.kms_key_id
        return "s3", config
    if backend.kind is BackendKind.CLOUD:
        cloud = _required(backend.cloud, env, "backend.cloud")
        return "remote", {
            "hostname": cloud.hostname,
            "organization": cloud.organization,
            "workspaces": {"name": f"{cloud.workspace_prefix}{stack_name_}"},
        }
    return "local", dict(local_state_paths(stack_name_))


def _required(value, env: EnvironmentSpec, field: str):  # type: ignore[no-untyped-def]
    if value is None:
        raise ValueError(f"{env.file}: {field}: missing although the backend type needs it")
    return value
