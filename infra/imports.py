"""`[[imports]]`: adopt existing resources into a stack through Terraform `import` blocks.

An entry of an environment file (the platform stack) or a service manifest (that service's
stack, in the environments it names) says which resource address of the stack takes over
which existing object:

    [[imports]]
    to = "aws_ecr_repository.web"
    id = "dev/web"

Terraform docs, "Import" / "import block reference" (Terraform >= 1.5): `to` must be the
address of a resource block in the configuration, `id` is the import ID the resource type
documents; `terraform plan` shows "will be imported", `apply` writes it to state, and the
block may stay in the configuration afterwards as a record (a plan of an imported resource
does nothing more). CDKTF (0.20+) writes the block with `TerraformResource.import_from(id)`,
and resolves `to` from the resource itself at synthesis.

The address is only known once the stack is built: `apply_imports` must be the last step of
a stack's construction, after anything that renames logical ids, so it checks the `to` of
each entry against the final addresses. An unknown address stops the synthesis with one
`ConfigError` line naming the file and the field, with a did-you-mean; main.py turns it into
exit code 2 before anything is written.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from cdktf import TerraformResource, TerraformStack

from infra.config.errors import ConfigError
from infra.config.specs import ImportSpec


def resource_addresses(stack: TerraformStack) -> dict[str, TerraformResource]:
    """Every resource of the stack by its Terraform address (`<type>.<logical id>`)."""
    return {
        f"{node.terraform_resource_type}.{node.friendly_unique_id}": node
        for node in stack.node.find_all()
        if isinstance(node, TerraformResource)
    }


def apply_imports(stack: TerraformStack, imports: Sequence[ImportSpec], *, stack_name: str) -> None:
    """An import block for each entry; an address the stack does not have is a ConfigError."""
    if not imports:
        return  # enumerating the resources costs two jsii calls each: only when needed
    addresses = resource_addresses(stack)
    for entry in imports:
        resource = addresses.get(entry.to)
        field = f"{entry.field}.to"
        if resource is None:
            raise ConfigError(entry.file, field, f"no resource {entry.to} in {stack_name}{_hint(entry.to, addresses)}")
        # An address with count or for_each names many instances; `to` would need an index.
        if resource.count is not None or resource.for_each is not None:
            raise ConfigError(entry.file, field, f"{entry.to} in {stack_name} has several instances (count/for_each)")
        resource.import_from(entry.id)


def _hint(address: str, addresses: dict[str, TerraformResource]) -> str:
    # Import ids are per type: only an address of the same type is worth suggesting.
    type_ = address.split(".", 1)[0]
    same_type = sorted(a for a in addresses if a.split(".", 1)[0] == type_)
    close = difflib.get_close_matches(address, same_type, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]}?"
    if same_type:
        return f" (its {type_} resources: {', '.join(same_type)})"
    return f" (it has no {type_} resource)"
