"""localaws -- moto on loopback, plus shims for the gaps the Terraform AWS provider hits.

See FINDINGS.md in this directory for what works against moto and what does not.
"""

from .endpoints import ENDPOINT_SERVICES, provider_config, provider_endpoints
from .shims import seed_hosted_zone
from .server import (
    LocalAWS,
    build_app,
    running,
    serve_forever,
    start_detached,
    status,
    stop_detached,
    wait_until_ready,
)

__all__ = [
    "ENDPOINT_SERVICES",
    "LocalAWS",
    "build_app",
    "provider_config",
    "provider_endpoints",
    "running",
    "seed_hosted_zone",
    "serve_forever",
    "start_detached",
    "status",
    "stop_detached",
    "wait_until_ready",
]
