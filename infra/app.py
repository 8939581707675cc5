"""Build the CDKTF app from a loaded `AppSpec`: the only wiring between specs and stacks.

`services` limits the service stacks built (None: all), and without `platform` the platform
stacks are left out: a service stack needs nothing of its platform at synthesis.
Deploy order is recorded as stack dependencies (cdktf deploy follows them): the platform
first, then a backend after the services named in its `allow_from` (it adds rules to their
security groups, so they must exist), and a worker after the services whose topics it
subscribes to (its subscriptions need the topics: infra.service.events), unless that would
close a loop with allow_from (the loader warns: see `publisher_dependencies`).
"""

from __future__ import annotations

from collections.abc import Collection

from cdktf import App, TerraformStack

from infra.config.loader import publisher_dependencies
from infra.config.specs import AppSpec
from infra.service.stack import ServiceStack
from infra.stacks import stack_name


def build_app(
    spec: AppSpec, *, outdir: str = "cdktf.out", services: Collection[str] | None = None, platform: bool = True
) -> App:
    app = App(outdir=outdir)
    if platform:
        # Imported only when built: a synthesis of some services loads none of the
        # platform's provider modules (a third of a one-stack synthesis).
        from infra.platform.stack import PlatformStack
    for env in spec.environments:
        platform_stack = PlatformStack(app, stack_name(env, "platform"), env=env, local=spec.local) if platform else None
        stacks: dict[str, TerraformStack] = {}
        for service in spec.services[env.name]:
            if services is not None and service.name not in services:
                continue
            stack = ServiceStack(app, stack_name(env, service.name), env=env, service=service, local=spec.local)
            if platform_stack is not None:
                stack.add_dependency(platform_stack)
            stacks[service.name] = stack
        for service in spec.services[env.name]:
            for caller in service.allow_from:
                if service.name in stacks and caller in stacks:
                    stacks[service.name].add_dependency(stacks[caller])
        for subscriber, publishers in publisher_dependencies(spec.services[env.name]).items():
            for publisher in publishers:
                if subscriber in stacks and publisher in stacks:
                    stacks[subscriber].add_dependency(stacks[publisher])
    return app
