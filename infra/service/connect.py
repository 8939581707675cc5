"""ECS Service Connect (`connect = true`), beside the Cloud Map DNS name every service keeps.

With Service Connect, ECS adds a proxy to each task of the service and registers the service
in a Cloud Map namespace; tasks of other Service Connect services in that namespace reach it
by a short client alias through their own proxy (retries, outlier detection, per-request
metrics in CloudWatch), without DNS caching or TTLs (AWS docs, "Use Service Connect to
connect Amazon ECS services with short names",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect.html).

- The namespace is the platform's Cloud Map namespace (contract output `namespace_arn`), the
  private DNS namespace the services' DNS names already live in: "The type of namespace
  doesn't affect Service Connect" (ECS API, "ServiceConnectConfiguration", namespace,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectConfiguration.html).
- A backend is client and server: its container's port mapping gets a name and
  `appProtocol = "http"` (the proxy then speaks HTTP: retries and HTTP metrics), and the
  service publishes it with the client alias `<name>:<port>`, which is what
  `${service.<name>.url}` resolves to (`http://<name>:<port>`). Web and worker services are
  clients only: nothing but the load balancer or a queue reaches them. The short name resolves
  only through a task's own proxy, so a service that names a Service Connect backend in
  `${service.<name>.url}` without `connect = true` itself (a blue/green web service cannot
  have it: Service Connect is not supported with the CODE_DEPLOY deployment controller) gets
  the backend's Cloud Map DNS name `http://<name>.<namespace>:<port>` instead, which the
  backend keeps (the ECS service's `service_registries` stay beside Service Connect).
- ECS creates a Cloud Map service for the backend (`discovery_name`, unique in the
  namespace). Its name `<name>_connect` cannot be a service name (those have no `_`), so it
  never meets the DNS service `<name>` that infra.service.route keeps for every service
  (ECS API, "ServiceConnectService": discoveryName, lower-case letters, digits, `_` and `-`,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html).
- The proxy's own log goes to the service's log group with the stream prefix
  `service-connect` (the task execution role may already write there).
- Callers reach the proxy of the backend's tasks on the container port (`ingressPortOverride`
  left out: in awsvpc mode the proxy listens on the container port, ECS API
  "ServiceConnectService"), so the security group rules of `allow_from` stay as they are.
"""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_aws.ecs_service import (
    EcsServiceServiceConnectConfiguration,
    EcsServiceServiceConnectConfigurationLogConfiguration,
    EcsServiceServiceConnectConfigurationService,
    EcsServiceServiceConnectConfigurationServiceClientAlias,
)

from infra.config.specs import ServiceKind, ServiceSpec

# The application protocol of the port mapping a backend publishes (`portMappings[].appProtocol`).
APP_PROTOCOL = "http"
LOG_STREAM_PREFIX = "service-connect"


def serves(spec: ServiceSpec) -> bool:
    """A backend with `connect = true` is a Service Connect server (and a client)."""
    return spec.connect and spec.kind is ServiceKind.BACKEND


def port_name(spec: ServiceSpec) -> str:
    return spec.name


def discovery_name(spec: ServiceSpec) -> str:
    return f"{spec.name}_connect"


def port_mapping(spec: ServiceSpec) -> dict[str, Any]:
    """The container's port mapping: named, with its application protocol, when it serves."""
    mapping: dict[str, Any] = {"containerPort": spec.port, "protocol": "tcp"}
    if serves(spec):
        mapping.update(name=port_name(spec), appProtocol=APP_PROTOCOL)
    return mapping


def configuration(
    spec: ServiceSpec, *, namespace_arn: str, log_group: str, region: str
) -> EcsServiceServiceConnectConfiguration | None:
    """The ECS service's `service_connect_configuration`; None without `connect`."""
    if not spec.connect:
        return None
    return EcsServiceServiceConnectConfiguration(
        enabled=True,
        namespace=namespace_arn,
        log_configuration=EcsServiceServiceConnectConfigurationLogConfiguration(
            log_driver="awslogs",
            options={"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": LOG_STREAM_PREFIX},
        ),
        service=(
            [
                EcsServiceServiceConnectConfigurationService(
                    port_name=port_name(spec),
                    discovery_name=discovery_name(spec),
                    client_alias=EcsServiceServiceConnectConfigurationServiceClientAlias(dns_name=spec.name, port=spec.port),
                )
            ]
            if serves(spec)
            else None
        ),
    )
