"""Terraform input variables: the values an operator may set at apply time, without a synthesis.

    terraform -chdir=cdktf.out/stacks/dev-web apply -var image_tag=3f2c1a9b7d4e -var min_count=2
    terraform -chdir=cdktf.out/stacks/dev-platform apply -var-file=ops.tfvars

Each stack declares its own (`infra.service.variables`, `infra.platform.variables`); this
module holds what they share. Every variable

- has a type, a description and a default equal to the configuration's value, so a plan
  without `-var` is the plan the configuration alone gives;
- is validated by Terraform with the rules `infra.config` applies to the same value at load
  (ranges, whole numbers, the allowed values, and rules between values where Terraform can
  say them: a validation condition may refer to other variables of the module since
  Terraform 1.9, hashicorp/terraform#25609; the README asks for Terraform >= 1.10);
- is one an operator may change in place. What would replace a resource, or needs a value
  only known at synthesis (an alarm threshold derived from an instance class), stays in the
  configuration: changing it is a change to the configuration and a new synthesis.

The declarations (`Knob`) are data: the README's table of variables is generated from them
(`python -m tools.variables_doc`), and a test checks that the synthesized stacks declare
exactly these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cdktf import TerraformVariable, TerraformVariableValidationConfig, Token
from constructs import Construct
from pydantic import BaseModel


@dataclass(frozen=True)
class Knob:
    """One variable: its name, Terraform type and description (as synthesized), where its
    default comes from, what the validation enforces (in words, for the README), and when a
    stack declares it."""

    name: str
    type: str
    description: str
    default_from: str
    rules: str
    present: str = "always"


Validation = tuple[str, str]  # (condition, error message), both Terraform templates


def declare(scope: Construct, knob: Knob, *, default: object, validations: Sequence[Validation]) -> TerraformVariable:
    """The `variable "<knob.name>"` block at the top of the stack (its address is its name).

    `default=None` declares a nullable variable whose default is null: unset, it means "keep
    what is deployed". Numbers are not nullable: `-var x=null` is refused, not read as unset.
    """
    variable = TerraformVariable(
        scope,
        knob.name,
        type=knob.type,
        description=knob.description,
        default=default,
        nullable=default is None,
        validation=[TerraformVariableValidationConfig(condition=c, error_message=m) for c, m in validations],
    )
    if default is None:
        # CDKTF leaves a None default out, which would make the variable required.
        variable.add_override("default", Token.null_value())
    return variable


def schema_range(model: type[BaseModel], field: str) -> tuple[int, int]:
    """The range `infra.config.schema` declares for an integer key (one schema: the variable's
    rule is read from it, not written again)."""
    extra = model.model_fields[field].json_schema_extra
    if not isinstance(extra, dict) or "minimum" not in extra or "maximum" not in extra:
        raise ValueError(f"{model.__name__}.{field} declares no integer range")
    return int(extra["minimum"]), int(extra["maximum"])  # type: ignore[arg-type]


def schema_values(model: type[BaseModel], field: str) -> tuple[int, ...]:
    """The values `infra.config.schema` allows for a key declared with `OneOf(...)`."""
    extra = model.model_fields[field].json_schema_extra
    if not isinstance(extra, dict) or "enum" not in extra:
        raise ValueError(f"{model.__name__}.{field} declares no list of values")
    return tuple(extra["enum"])  # type: ignore[arg-type]


def whole_number(name: str, low: int, high: int) -> Validation:
    """A whole number in low..high (the loader's `Int(low, high)`)."""
    var = f"var.{name}"
    return (
        f"${{{var} == floor({var}) && {var} >= {low} && {var} <= {high}}}",
        f"{name}: ${{{var}}} is not a whole number in {low}..{high}.",
    )


def one_of(name: str, values: Iterable[int]) -> Validation:
    """One of a fixed list of numbers (the loader's `OneOf(...)`)."""
    shown = ", ".join(str(v) for v in values)
    return (
        f"${{contains([{shown}], var.{name})}}",
        f"{name}: ${{var.{name}}} is not allowed (valid: {shown}).",
    )


def not_greater(low: str, high: str) -> Validation:
    """var.<low> <= var.<high> (the loader's "min is greater than max" rule), on `low`."""
    return (
        f"${{var.{low} <= var.{high}}}",
        f"{low}: ${{var.{low}}} is greater than {high} ${{var.{high}}}.",
    )
