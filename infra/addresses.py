"""Terraform addresses that read like hand-written Terraform, and the `moved` blocks that
keep them stable.

CDKTF's default address is the construct path plus a hash of it
(`aws_ecs_service.service_E7C408F2`): nobody would write it by hand, and moving a construct
changes it, which Terraform plans as destroy-and-create. Every stack of ours allocates
addresses here instead (`EnvironmentStack._allocate_logical_id`, CDKTF's documented hook:
"this method can be overridden to customize this behavior"):

- a resource or data source is addressed by its construct's own id, `-` written `_`
  (`security/alb` → `aws_security_group.alb`, `iam/exec-policy` → `aws_iam_role_policy.exec_policy`),
  prefixed by the id of each enclosing construct declared a `namespace()` (the two buckets'
  parts: `storage/logs/policy` → `aws_s3_bucket_policy.logs_policy`), or by the name a
  construct gives it with `named()` (a service's ECS service, task definition, repository,
  ... carry the service's name: `aws_ecs_service.web`);
- two resources of one type with one address is a programming error, raised at synthesis
  with both construct paths; nothing is numbered or hashed to make them unique, so an address
  never depends on what else is in the stack;
- anything else (outputs, variables, the provider, remote state) keeps CDKTF's own id.

Renames ship a `moved` block (https://developer.hashicorp.com/terraform/language/modules/develop/refactoring):
every resource moves from the hashed address CDKTF gave it before this scheme, so a stack
applied with an earlier version plans no replacement; `named(..., was=...)` records a later
rename as the next link of the chain (hashed → was → name: Terraform follows a chain and
refuses two moves to one address). A `moved` block whose `from` is not in the state is
ignored by Terraform, so a fresh stack is unaffected. The JSON and the HCL output
(`make hcl`) carry the same blocks (infra.stacks).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cdktf import TerraformDataSource, TerraformResource, TerraformStack

from infra.speedups import construct_path

_ADDRESS = "_tf_address"
_RENAMED_FROM = "_tf_renamed_from"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPES: dict[type, str] = {}


def namespace(construct: Any) -> None:
    """Declare a construct a namespace: its id prefixes the addresses inside it (a reusable
    construct used twice in one stack, like a bucket with its policy and settings)."""
    TerraformStack.of(construct).addresses.namespaces.add(construct.node.path)


def named(element: Any, name: str, *, was: str | None = None) -> Any:
    """Give a resource or data source the address `<type>.<name>` (call it before anything
    references the element); `was`: the name it had before, for a `moved` block. A service
    name's '-' becomes '_' (`new-api` → `aws_ecs_service.new_api`), as in construct ids."""
    name = name.replace("-", "_")
    was = None if was is None else was.replace("-", "_")
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a Terraform resource name (letters, digits, underscores; not a digit first)")
    setattr(element, _ADDRESS, name)
    if was is not None:
        setattr(element, _RENAMED_FROM, was)
    return element


def address_name(construct_id: str) -> str:
    """The name part of an address derived from a construct id: `exec-policy` → `exec_policy`."""
    return re.sub(r"[^A-Za-z0-9_]", "", construct_id.replace("-", "_"))


def legacy_logical_id(components: list[str]) -> str:
    """CDKTF 0.21's default logical id for a construct path below its stack (cdktf
    lib/private/unique.js `makeUniqueId`): what every resource was addressed by before."""
    components = [c for c in components if c != "Default"]
    if len(components) == 1:
        return re.sub(r"[^A-Za-z0-9_-]", "", components[0])
    digest = hashlib.md5("/".join(components).encode()).hexdigest()[:8].upper()
    human: list[str] = []
    for component in components:
        if not human or not human[-1].endswith(component):
            human.append(component)
    readable = "_".join(re.sub(r"[^A-Za-z0-9_-]", "", c) for c in human if c != "Resource")[:240]
    return f"{readable}_{digest}"


def _path(element: Any) -> str:
    """An element's construct path. The fast kernel knows it for what Python created; else it
    is the construct's string form (constructs' Construct.toString(): `this.node.path`,
    overridden by neither cdktf's elements nor the generated provider classes): one jsii call
    instead of two (`node`, then its `path`). tests/test_addresses.py checks it against the
    path CDKTF writes."""
    return construct_path(element) or element.to_string()


def _type_of(element: Any) -> str:
    cls = type(element)
    found = _TYPES.get(cls)
    if found is None:
        found = _TYPES[cls] = cls.TF_RESOURCE_TYPE
    return found


class Addresses:
    """One stack's address book: allocates each element's address once, refuses two
    resources of one type at one address, and collects the `moved` blocks."""

    def __init__(self, stack_id: str) -> None:
        self.stack_id = stack_id
        self.paths: dict[tuple[str, str, str], str] = {}
        # Construct paths whose id prefixes the addresses of everything inside them.
        self.namespaces: set[str] = set()
        self.moves: list[dict[str, str]] = []

    def allocate(self, element: Any) -> str:
        if isinstance(element, TerraformResource):
            kind = "resource"
        elif isinstance(element, TerraformDataSource):
            kind = "data"
        else:
            # Not its string form: a variable's, a local's or an output's is a reference to it.
            return legacy_logical_id((construct_path(element) or element.node.path).split("/")[1:])
        path = _path(element)
        components = path.split("/")[1:]
        legacy = legacy_logical_id(components)
        type_ = _type_of(element)
        name = getattr(element, _ADDRESS, None) or self._derived(components)
        if not _NAME.match(name):
            raise ValueError(f"{path}: {name!r} is not a Terraform resource name; give it one with infra.addresses.named")
        key = (kind, type_, name)
        other = self.paths.setdefault(key, path)
        if other != path:
            raise ValueError(
                f"{self.stack_id}: {path} and {other} would both be {'data.' if kind == 'data' else ''}{type_}.{name};"
                " give one of them another construct id or an explicit name (infra.addresses.named)"
            )
        if kind == "resource":
            # One chain per resource, oldest first: the hashed address, then the name it had
            # before a rename. Terraform refuses two moves to one address ("Ambiguous move
            # statements: each resource can have moved from only one source") and follows a chain.
            chain: list[str] = []
            for step in (legacy, getattr(element, _RENAMED_FROM, None)):
                if step is not None and step != name and step not in chain:
                    chain.append(step)
            chain.append(name)
            for earlier, later in zip(chain, chain[1:]):
                self.moves.append({"from": f"{type_}.{earlier}", "to": f"{type_}.{later}"})
        return name

    def _derived(self, components: list[str]) -> str:
        path = self.stack_id
        prefix = []
        for component in components[:-1]:
            path = f"{path}/{component}"
            if path in self.namespaces:
                prefix.append(component)
        return address_name("_".join([*prefix, components[-1]]))

    def moved_blocks(self) -> list[dict[str, str]]:
        return sorted(self.moves, key=lambda move: move["to"])
