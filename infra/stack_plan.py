"""Which stacks an app has, in the order they are built, and what each is applied after.

Pure: it reads the loaded specs only (no cdktf), so main.py can decide how to share the
stacks between two processes (infra/speedups/parallel.py) before anything is built.
Deploy order is recorded as stack dependencies (cdktf deploy follows them): the platform
first, then a backend after the services named in its `allow_from` (it adds rules to their
security groups, so they must exist), and a worker after the services whose topics it
subscribes to (its subscriptions need the topics: infra.service.events), unless that would
close a loop with allow_from (the loader warns: see `publisher_dependencies`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from infra.config.loader import publisher_dependencies
from infra.config.specs import AppSpec, EnvironmentSpec, ServiceSpec


def stack_name(env: EnvironmentSpec, part: str) -> str:
    return f"{env.name}-{part}"


# What a stack costs to synthesize, in service stacks: the platform stack takes about as long
# as five (cProfile of the default app; it holds the network, cluster, ALB, database, ...).
# Only used to share an app's stacks between two processes (infra/speedups/parallel.py).
PLATFORM_WEIGHT = 5


@dataclass(frozen=True)
class PlannedStack:
    name: str
    env: EnvironmentSpec
    service: ServiceSpec | None  # None: the environment's platform stack
    # The stacks it is applied after, in the order cdktf lists them in manifest.json.
    dependencies: tuple[str, ...]

    @property
    def weight(self) -> int:
        return 1 if self.service is not None else PLATFORM_WEIGHT


def plan_stacks(spec: AppSpec, *, services: Collection[str] | None = None, platform: bool = True) -> list[PlannedStack]:
    planned: list[PlannedStack] = []
    for env in spec.environments:
        platform_name = stack_name(env, "platform") if platform else None
        if platform_name is not None:
            planned.append(PlannedStack(platform_name, env, None, ()))
        chosen = [s for s in spec.services[env.name] if services is None or s.name in services]
        names = {s.name for s in chosen}
        after: dict[str, list[str]] = {s.name: [platform_name] if platform_name else [] for s in chosen}
        for service in spec.services[env.name]:
            for caller in service.allow_from:
                if service.name in names and caller in names:
                    after[service.name].append(stack_name(env, caller))
        for subscriber, publishers in publisher_dependencies(spec.services[env.name]).items():
            for publisher in publishers:
                if subscriber in names and publisher in names:
                    after[subscriber].append(stack_name(env, publisher))
        for service in chosen:
            # cdktf's addDependency keeps the first of two equal dependencies.
            planned.append(PlannedStack(stack_name(env, service.name), env, service, tuple(dict.fromkeys(after[service.name]))))
    return planned
