"""Build the CDKTF app from a loaded `AppSpec`: the only wiring between specs and stacks."""

from __future__ import annotations

from cdktf import App

from infra.config.specs import AppSpec
from infra.stacks import PlatformStack, ServiceStack, stack_name


def build_app(spec: AppSpec, *, outdir: str = "cdktf.out") -> App:
    app = App(outdir=outdir)
    for env in spec.environments:
        services = spec.services[env.name]
        platform_stack = PlatformStack(app, stack_name(env, "platform"), env=env, services=services, local=spec.local)
        for service in services:
            ServiceStack(
                app,
                stack_name(env, service.name),
                env=env,
                service=service,
                platform=platform_stack.platform,
                local=spec.local,
            )
    return app
