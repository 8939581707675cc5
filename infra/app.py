"""Build the CDKTF app from a loaded `AppSpec`: the only wiring between specs and stacks.

The stacks and their deploy order are `infra.stack_plan.plan_stacks`; `build_app` builds
them, or only those named in `only` (main.py's second process builds part of the app:
infra/speedups/parallel.py). `services` limits the service stacks built (None: all), and
without `platform` the platform stacks are left out: a service stack needs nothing of its
platform at synthesis.
"""

from __future__ import annotations

from collections.abc import Collection

from cdktf import App, TerraformStack

from infra.config.specs import AppSpec
from infra.service.stack import ServiceStack
from infra.stack_plan import plan_stacks


def build_app(
    spec: AppSpec,
    *,
    outdir: str = "cdktf.out",
    services: Collection[str] | None = None,
    platform: bool = True,
    only: Collection[str] | None = None,
) -> App:
    app = App(outdir=outdir)
    planned = [p for p in plan_stacks(spec, services=services, platform=platform) if only is None or p.name in only]
    if any(p.service is None for p in planned):
        # Imported only when built: a synthesis of some services loads none of the
        # platform's provider modules (a third of a one-stack synthesis).
        from infra.platform.stack import PlatformStack
    built: dict[str, TerraformStack] = {}
    for p in planned:
        if p.service is None:
            built[p.name] = PlatformStack(app, p.name, env=p.env, local=spec.local)
        else:
            built[p.name] = ServiceStack(app, p.name, env=p.env, service=p.service, local=spec.local)
    # Once every stack is built: a backend may be applied after a service built later.
    # A dependency built in another process is written into manifest.json by the parent.
    for p in planned:
        for dependency in p.dependencies:
            if dependency in built:
                built[p.name].add_dependency(built[dependency])
    return app
