"""The variables of a service stack `<env>-<service>`: what an operator turns at apply time.

    image_tag      ECR images: pin the image the task definition runs, by tag or digest
                   (default null: the digest the pipeline recorded in
                   /ecs-platform/<env>/<service>/image-tag)
    desired_count  tasks when the ECS service is created (these three: not for a job, which
                   has no ECS service; its image tag is its only variable)
    min_count      Application Auto Scaling minimum (the running count never goes below it)
    max_count      Application Auto Scaling maximum (the running count never goes above it)

The image tag
-------------
Unset (null, the default), the task definition's image is the parameter's value: the digest
the pipeline's record step wrote after a successful deployment, as `<repository>@sha256:...`
(see `infra.service.composer`), or before the first run the initial tag, `<repository>:<tag>`.
Set, the task definition runs `<repository>:<image_tag>`, or `<repository>@<image_tag>` for a
digest `sha256:<64 hex>` — a pin, to roll back to a known image or to hold one. (A blue/green
service only registers that revision: CodeDeploy owns its task definition, and its next
deployment rolls the revision out; infra.service.blue_green.) The pin lives only in the plan it is
given to: the parameter keeps the pipeline's tag (Terraform ignores its value), the next
pipeline run deploys its own image through the ECS deploy action, and the next apply without
`-var image_tag` returns the task definition to the recorded tag. Put a pin that must last in
a `-var-file` kept with the deployment. The tag must exist in the repository: ECR tags are
immutable here, and a tag that does not exist fails the deployment, which the circuit
breaker rolls back ("Amazon ECS deployment circuit breaker").

The task count
--------------
The ECS service's `desired_count` is read when the service is created; afterwards Application
Auto Scaling owns the running count (the service ignores changes to `desired_count`, or
every apply would undo a scale-out under load). To change the running count of a deployed
service, set `min_count` / `max_count`: RegisterScalableTarget moves the current capacity into
the new range at once ("RegisterScalableTarget", Application Auto Scaling API Reference), and
the provider updates the target in place (min_capacity and max_capacity are not ForceNew in
the aws_appautoscaling_target resource). `-var min_count=4 -var max_count=4` holds four
tasks. A scheduled action sets the range again at its time (`scaling.schedules`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Token
from constructs import Construct

from infra.config.schema import IMAGE_DIGEST, IMAGE_TAG, ServiceFile
from infra.config.specs import ImageSource, ServiceSpec
from infra.variables import Knob, Validation, declare, not_greater, schema_range, whole_number

# A job (kind = "job") keeps no task count: no ECS service, one task per scheduled run.
SERVICES_ONLY = 'services, not jobs (`kind = "job"`)'
# The loader's rules for the same keys, read from the one schema.
DESIRED = schema_range(ServiceFile, "desired_count")
MINIMUM = schema_range(ServiceFile, "min_count")
MAXIMUM = schema_range(ServiceFile, "max_count")

IMAGE_TAG_KNOB = Knob(
    "image_tag",
    "string",
    "Image tag or digest (sha256:...) the task definition runs (must exist in the service's ECR "
    "repository); null: the digest the pipeline recorded in SSM after its last successful deployment.",
    default_from="null: the digest (or initial tag) in SSM `/ecs-platform/<env>/<service>/image-tag`",
    rules="null, a Docker tag `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, or a digest `sha256:[a-f0-9]{64}`",
    present="ECR images (`[image] source = \"ecr\"`)",
)
DESIRED_COUNT = Knob(
    "desired_count",
    "number",
    "Tasks when the ECS service is created; afterwards Application Auto Scaling owns the count "
    "(change min_count/max_count to move it).",
    default_from="`desired_count`",
    rules="whole number {}..{}, within min_count..max_count".format(*DESIRED),
    present=SERVICES_ONLY,
)
MIN_COUNT = Knob(
    "min_count",
    "number",
    "Application Auto Scaling minimum: the running count is raised to it at once.",
    default_from="`min_count`",
    rules="whole number {}..{}, at most max_count and at most every schedule's min_count".format(*MINIMUM),
    present=SERVICES_ONLY,
)
MAX_COUNT = Knob(
    "max_count",
    "number",
    "Application Auto Scaling maximum: the running count is lowered to it at once.",
    default_from="`max_count`",
    rules="whole number {}..{}".format(*MAXIMUM),
    present=SERVICES_ONLY,
)
KNOBS: tuple[Knob, ...] = (IMAGE_TAG_KNOB, DESIRED_COUNT, MIN_COUNT, MAX_COUNT)


@dataclass(frozen=True)
class ServiceKnobs:
    """What the service's resources read instead of the spec's values: references to the
    stack's variables (`declare`), or the spec's values themselves (`of`, where no variable is
    declared). `image_tag` is None when no pin can be given (external images, or `of`)."""

    desired_count: float
    min_count: float
    max_count: float
    image_tag: str | None = None

    @classmethod
    def of(cls, spec: ServiceSpec) -> "ServiceKnobs":
        return cls(desired_count=spec.desired_count, min_count=spec.min_count, max_count=spec.max_count)

    @classmethod
    def declare(cls, stack: Construct, spec: ServiceSpec) -> "ServiceKnobs":
        """The stack's variables, with the spec's values as defaults and the loader's rules."""
        image_tag = None
        if spec.image.source is ImageSource.ECR:
            # The loader's pattern for `[image] tag` (Docker's tag grammar); RE2 reads it alike.
            tag = declare(
                stack,
                IMAGE_TAG_KNOB,
                default=None,
                validations=[
                    (
                        f'${{var.image_tag == null || can(regex("{IMAGE_TAG.pattern}", var.image_tag))'
                        f' || can(regex("{IMAGE_DIGEST.pattern}", var.image_tag))}}',
                        f"image_tag: ${{jsonencode(var.image_tag)}} is not an image tag (must match {IMAGE_TAG.pattern})"
                        f" or digest ({IMAGE_DIGEST.pattern}).",
                    )
                ],
            )
            image_tag = tag.string_value
        if spec.job is not None:  # a job keeps no task count: the image tag is its only knob
            return cls(desired_count=0, min_count=0, max_count=0, image_tag=image_tag)
        desired = declare(
            stack,
            DESIRED_COUNT,
            default=spec.desired_count,
            validations=[
                whole_number("desired_count", *DESIRED),
                (
                    "${var.desired_count >= var.min_count && var.desired_count <= var.max_count}",
                    "desired_count: ${var.desired_count} is outside min_count..max_count (${var.min_count}..${var.max_count}).",
                ),
            ],
        )
        low = declare(
            stack,
            MIN_COUNT,
            default=spec.min_count,
            validations=[whole_number("min_count", *MINIMUM), not_greater("min_count", "max_count"), *_schedule_floor(spec)],
        )
        high = declare(stack, MAX_COUNT, default=spec.max_count, validations=[whole_number("max_count", *MAXIMUM)])
        return cls(
            desired_count=desired.number_value,
            min_count=low.number_value,
            max_count=high.number_value,
            image_tag=image_tag,
        )

    def image(self, repository_url: str, recorded_tag: str) -> str:
        """`<repository>@<digest>` or `<repository>:<tag>`: the pinned one when given, else the
        recorded one (`coalesce` skips null; the validation refuses an empty tag). A digest is
        `sha256:...` (no tag can be: a tag has no colon)."""
        reference = recorded_tag if self.image_tag is None else Fn.coalesce([self.image_tag, recorded_tag])
        separator = Token.as_string(Fn.conditional(Fn.startswith(reference, "sha256:"), "@", ":"))
        return f"{repository_url}{separator}{reference}"


def _schedule_floor(spec: ServiceSpec) -> list[Validation]:
    """The loader's rule that a schedule may not lower the service's floor, seen from the
    other side: min_count may not rise above the lowest min_count of a schedule."""
    if not spec.scaling.schedules:
        return []
    lowest = min(spec.scaling.schedules, key=lambda s: s.min_count)
    return [
        (
            f"${{var.min_count <= {lowest.min_count}}}",
            f"min_count: ${{var.min_count}} is above the min_count {lowest.min_count} of the schedule "
            f"{lowest.name!r}, which would lower the floor at its time.",
        )
    ]
