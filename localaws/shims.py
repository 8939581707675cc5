"""Shims: stand-ins for gaps in moto 5.2.1 that the Terraform AWS provider trips over.

Everything in this module exists ONLY because moto (the local AWS emulator) does
not behave like AWS for a call that hashicorp/aws 5.100.0 makes. None of it is
part of our infrastructure, and none of it changes what we deploy to real AWS.
Each shim documents:

* the AWS API it touches,
* what the provider does without it (the symptom),
* that it is a stand-in for a moto gap (so it can be deleted once moto catches up).

Two kinds of shims live here:

1. ``ShimMiddleware`` -- a WSGI middleware in front of moto's werkzeug app that
   answers a handful of calls moto does not implement at all.
2. ``apply_moto_patches()`` -- small monkeypatches of moto internals where moto
   implements the call but returns/validates something differently from AWS.

Both are applied by :mod:`localaws.server`; see FINDINGS.md for the evidence.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any, Callable, Iterable

# --------------------------------------------------------------------------------------
# 1. WSGI middleware
# --------------------------------------------------------------------------------------

AAS_TARGET_PREFIX = "AnyScaleFrontendService."


def _json_response(
    start_response: Callable[..., Any], status: str, payload: dict[str, Any]
) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", "localaws-shim"),
        ],
    )
    return [body]


class AppAutoScalingTagStore:
    """In-memory tags for Application Auto Scaling, keyed by ResourceARN.

    Thread-safe; lives as long as the server process (like moto's own state).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tags: dict[str, dict[str, str]] = {}
        # (ServiceNamespace, ResourceId, ScalableDimension) -> ScalableTargetARN,
        # learnt from RegisterScalableTarget responses so Deregister can drop tags.
        self._targets: dict[tuple[str, str, str], str] = {}

    def get(self, arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._tags.get(arn, {}))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self._lock:
            self._tags.setdefault(arn, {}).update(tags)

    def untag(self, arn: str, keys: Iterable[str]) -> None:
        with self._lock:
            current = self._tags.get(arn, {})
            for key in keys:
                current.pop(key, None)

    def remember_target(self, key: tuple[str, str, str], arn: str) -> None:
        with self._lock:
            self._targets[key] = arn

    def forget_target(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            arn = self._targets.pop(key, None)
            if arn:
                self._tags.pop(arn, None)

    def clear(self) -> None:
        with self._lock:
            self._tags.clear()
            self._targets.clear()


class ShimMiddleware:
    """WSGI middleware answering API calls moto 5.2.1 lacks.

    SHIM (Application Auto Scaling tagging) -- APIs ``TagResource``,
    ``UntagResource``, ``ListTagsForResource`` (JSON 1.1 protocol,
    ``X-Amz-Target: AnyScaleFrontendService.<Action>``).
    Why: moto has no tagging for application-autoscaling. After
    ``RegisterScalableTarget`` the provider's ``aws_appautoscaling_target`` read
    calls ``ListTagsForResource`` (always, because of transparent tagging / provider
    ``default_tags``); moto answers "not implemented" and the provider keeps
    retrying that for many minutes before failing the apply.
    Fix: keep tags in memory keyed by ResourceARN, also capture the ``Tags`` of
    ``RegisterScalableTarget`` (moto ignores them) and drop them on
    ``DeregisterScalableTarget``. Stand-in for moto's gap, not our infrastructure.
    """

    def __init__(self, app: Callable[..., Any], tags: AppAutoScalingTagStore | None = None):
        self.app = app
        self.aas_tags = tags or AppAutoScalingTagStore()

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        # Re-arm the input stream so moto can read the body again.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return body

    def _call_inner(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def _sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = headers
            return lambda _data: None

        chunks = self.app(environ, _sr)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return captured["status"], captured["headers"], body

    # -- WSGI entry point -------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(AAS_TARGET_PREFIX):
            action = target[len(AAS_TARGET_PREFIX):]
            handler = getattr(self, f"_aas_{action}", None)
            if handler is not None:
                return handler(environ, start_response)
        return self.app(environ, start_response)

    # -- Application Auto Scaling: tagging (moto gap) ---------------------------------
    def _aas_params(self, environ: dict[str, Any]) -> dict[str, Any]:
        body = self._read_body(environ)
        try:
            return json.loads(body or b"{}")
        except ValueError:
            return {}

    def _aas_ListTagsForResource(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        params = self._aas_params(environ)
        return _json_response(start_response, "200 OK", {"Tags": self.aas_tags.get(params.get("ResourceARN", ""))})

    def _aas_TagResource(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        params = self._aas_params(environ)
        self.aas_tags.tag(params.get("ResourceARN", ""), params.get("Tags") or {})
        return _json_response(start_response, "200 OK", {})

    def _aas_UntagResource(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        params = self._aas_params(environ)
        self.aas_tags.untag(params.get("ResourceARN", ""), params.get("TagKeys") or [])
        return _json_response(start_response, "200 OK", {})

    def _aas_RegisterScalableTarget(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # Pass through to moto, then remember the Tags moto silently drops.
        params = self._aas_params(environ)
        status, headers, body = self._call_inner(environ)
        if status.startswith("200"):
            try:
                arn = json.loads(body or b"{}").get("ScalableTargetARN")
            except ValueError:
                arn = None
            if arn:
                key = (
                    params.get("ServiceNamespace", ""),
                    params.get("ResourceId", ""),
                    params.get("ScalableDimension", ""),
                )
                self.aas_tags.remember_target(key, arn)
                if params.get("Tags"):
                    self.aas_tags.tag(arn, params["Tags"])
        start_response(status, headers)
        return [body]

    def _aas_DeregisterScalableTarget(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        params = self._aas_params(environ)
        status, headers, body = self._call_inner(environ)
        if status.startswith("200"):
            self.aas_tags.forget_target(
                (
                    params.get("ServiceNamespace", ""),
                    params.get("ResourceId", ""),
                    params.get("ScalableDimension", ""),
                )
            )
        start_response(status, headers)
        return [body]


# --------------------------------------------------------------------------------------
# 2. Monkeypatches of moto internals
# --------------------------------------------------------------------------------------

_PATCHED = False
_PATCH_LOCK = threading.Lock()


def _patch_codepipeline_metadata() -> None:
    """SHIM (CodePipeline ``GetPipeline`` / ``ListPipelines``).

    Why: moto returns ``metadata.created`` / ``metadata.updated`` as ISO-8601
    strings; the real API (and the Go SDK) uses epoch-seconds numbers. The
    provider's ``aws_codepipeline`` read then fails to deserialize GetPipeline
    ("expected Timestamp to be a JSON Number, got string") and the apply errors
    after the pipeline was created. Fix: emit epoch floats.
    Stand-in for moto's gap, not our infrastructure.
    """
    from moto.codepipeline import models as cp_models

    def metadata(self: Any) -> dict[str, Any]:
        return {
            "pipelineArn": self._arn,
            "created": self._created.timestamp(),
            "updated": self._updated.timestamp(),
        }

    cp_models.CodePipeline.metadata = property(metadata)  # type: ignore[assignment]


def _normalize_trust_policy(document: str) -> str:
    """Collapse list-valued ``Principal.Service`` so moto's string compare works."""
    try:
        doc = json.loads(document)
    except (TypeError, ValueError):
        return document
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for stmt in statements:
        principal = stmt.get("Principal")
        if not isinstance(principal, dict):
            stmt["Principal"] = {"Service": ""}
            continue
        service = principal.get("Service", "")
        if isinstance(service, list):
            service = (
                "codepipeline.amazonaws.com"
                if "codepipeline.amazonaws.com" in service
                else (service[0] if service else "")
            )
        principal["Service"] = service
    doc["Statement"] = statements
    return json.dumps(doc)


class _TrustNormalizingIAM:
    """Read-only view of moto's IAM backend used by the CodePipeline backend only."""

    class _Role:
        def __init__(self, role: Any):
            self._role = role
            self.assume_role_policy_document = _normalize_trust_policy(role.assume_role_policy_document)

        def __getattr__(self, item: str) -> Any:
            return getattr(self._role, item)

    def __init__(self, iam: Any):
        self._iam = iam

    def get_role_by_arn(self, arn: str) -> Any:
        return self._Role(self._iam.get_role_by_arn(arn))

    def __getattr__(self, item: str) -> Any:
        return getattr(self._iam, item)


def _patch_codepipeline_trust_policy() -> None:
    """SHIM (CodePipeline ``CreatePipeline``).

    Why: moto checks the pipeline role's trust policy with
    ``"codepipeline.amazonaws.com" in [stmt["Principal"]["Service"], ...]``, so it
    only accepts a plain string principal (a list such as
    ``["codepipeline.amazonaws.com", "codebuild.amazonaws.com"]`` or a statement
    without ``Service`` gives "CodePipeline is not authorized to perform AssumeRole"
    or a 500). AWS accepts both. Fix: hand the CodePipeline backend a view of the
    role whose ``Principal.Service`` lists are collapsed to a string.
    Stand-in for moto's gap, not our infrastructure.
    """
    from moto.codepipeline import models as cp_models
    from moto.iam.models import iam_backends

    def iam_backend(self: Any) -> Any:
        return _TrustNormalizingIAM(iam_backends[self.account_id][self.partition])

    cp_models.CodePipelineBackend.iam_backend = property(iam_backend)  # type: ignore[assignment]


def _patch_codebuild_codepipeline_location() -> None:
    """SHIM (CodeBuild ``CreateProject``).

    Why: moto requires ``source.location`` and ``artifacts.location`` for every
    type except NO_ARTIFACTS. AWS forbids/ignores a location for type
    ``CODEPIPELINE`` (and ``NO_SOURCE``), so ``aws_codebuild_project`` with
    ``source { type = "CODEPIPELINE" }`` / ``artifacts { type = "CODEPIPELINE" }``
    fails with "InvalidInputException: Project source location is required".
    Fix: skip the location check for those types. Stand-in for moto's gap.
    """
    from moto.codebuild import responses as cb_responses
    from moto.codebuild.exceptions import InvalidInputException

    original_source = cb_responses._validate_required_params_source
    original_artifacts = cb_responses._validate_required_params_artifacts
    if getattr(original_source, "_localaws_shim", False):
        return

    def validate_source(source: dict[str, Any]) -> None:
        if source and source.get("type") in ("CODEPIPELINE", "NO_SOURCE"):
            return
        original_source(source)

    def validate_artifacts(artifacts: dict[str, Any]) -> None:
        if artifacts and artifacts.get("type") == "CODEPIPELINE":
            return
        if not artifacts:
            raise InvalidInputException("Invalid type provided: Artifact type")
        original_artifacts(artifacts)

    validate_source._localaws_shim = True  # type: ignore[attr-defined]
    cb_responses._validate_required_params_source = validate_source
    cb_responses._validate_required_params_artifacts = validate_artifacts


def _patch_ecs_service_fields() -> None:
    """SHIM (ECS ``CreateService`` -> ``DescribeServices``).

    Why: moto's ``CreateService`` drops ``capacityProviderStrategy``,
    ``enableExecuteCommand``, ``enableECSManagedTags``,
    ``availabilityZoneRebalancing``, ``deploymentConfiguration`` (circuit breaker,
    min/max percent) and ``healthCheckGracePeriodSeconds``, and it forces
    ``launchType = "EC2"`` even when a capacity provider strategy is given (AWS
    returns no launch type then). On the next plan ``aws_ecs_service`` shows
    ``enable_execute_command false -> true``, ``availability_zone_rebalancing``
    added, and ``capacity_provider_strategy`` added, which *forces replacement*.
    Fix: after moto creates the service, copy those request fields onto moto's
    Service object (moto's serializer emits attributes by snake_case name;
    ``UpdateService`` already stores them the same way).
    Stand-in for moto's gap, not our infrastructure.
    """
    from botocore import xform_name
    from moto.ecs import responses as ecs_responses

    cls = ecs_responses.EC2ContainerServiceResponse
    original = cls.create_service
    if getattr(original, "_localaws_shim", False):
        return
    fields = (
        "capacityProviderStrategy",
        "enableExecuteCommand",
        "enableECSManagedTags",
        "availabilityZoneRebalancing",
        "deploymentConfiguration",
        "healthCheckGracePeriodSeconds",
    )

    def create_service(self: Any) -> Any:
        result = original(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName")
        )
        for field in fields:
            value = self._get_param(field)
            if value is not None:
                setattr(service, xform_name(field).replace("e_c_s", "ecs"), value)
        if self._get_param("capacityProviderStrategy") and not self._get_param("launchType"):
            service.launch_type = None
            for deployment in getattr(service, "deployments", []):
                deployment.pop("launchType", None)
                deployment["capacityProviderStrategy"] = self._get_param("capacityProviderStrategy")
        return result

    create_service._localaws_shim = True  # type: ignore[attr-defined]
    cls.create_service = create_service


def _patch_rds_instance_monitoring() -> None:
    """SHIM (RDS ``CreateDBInstance`` -> ``DescribeDBInstances``).

    Why: moto ignores ``MonitoringInterval``, ``MonitoringRoleArn``,
    ``PerformanceInsightsEnabled`` / ``...KMSKeyId`` / ``...RetentionPeriod`` on
    create (``ModifyDBInstance`` does store them), so every plan of
    ``aws_db_instance`` shows ``monitoring_interval 0 -> 60``,
    ``monitoring_role_arn`` added and ``performance_insights_enabled false -> true``.
    Fix: keep those create parameters on moto's DBInstance.
    Stand-in for moto's gap, not our infrastructure.
    """
    from moto.rds import models as rds_models

    cls = rds_models.DBInstance
    original = cls.__init__
    if getattr(original, "_localaws_shim", False):
        return
    # request parameter (normalised: lower-case, no underscores) -> moto attribute
    keys = {
        "monitoringinterval": "monitoring_interval",
        "monitoringrolearn": "monitoring_role_arn",
        "enableperformanceinsights": "enable_performance_insights",
        "performanceinsightskmskeyid": "performance_insights_kms_key_id",
        "performanceinsightsretentionperiod": "performance_insights_retention_period",
    }

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for key, value in kwargs.items():
            attr = keys.get(key.replace("_", "").lower())
            if attr and value is not None:
                setattr(self, attr, value)
        if getattr(self, "enable_performance_insights", False):
            if not getattr(self, "performance_insights_retention_period", None):
                self.performance_insights_retention_period = 7
            if not getattr(self, "performance_insights_kms_key_id", None):
                self.performance_insights_kms_key_id = getattr(self, "kms_key_id", None)

    # The request says EnablePerformanceInsights (create and modify), the response
    # PerformanceInsightsEnabled; moto's serializer looks for the latter's name.
    cls.enable_performance_insights = None  # type: ignore[attr-defined]
    cls.performance_insights_enabled = property(  # type: ignore[attr-defined]
        lambda self: self.enable_performance_insights
    )
    __init__._localaws_shim = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


def _patch_rds_parameter_source() -> None:
    """SHIM (RDS ``DescribeDBParameters``).

    Why: parameters set through ``ModifyDBParameterGroup`` come back without
    ``Source``; the provider keeps only ``Source == "user"`` parameters when it
    reads ``aws_db_parameter_group``, so every plan re-adds every ``parameter``
    block. Fix: mark parameters moto stores from user calls as ``Source: user``.
    Stand-in for moto's gap, not our infrastructure.
    """
    from moto.rds import models as rds_models

    cls = rds_models.DBParameterGroup
    original = cls.update_parameters
    if getattr(original, "_localaws_shim", False):
        return

    def update_parameters(self: Any, new_parameters: Any) -> None:
        new_parameters = [dict(p, Source=p.get("Source") or "user") for p in new_parameters]
        original(self, new_parameters)

    update_parameters._localaws_shim = True  # type: ignore[attr-defined]
    cls.update_parameters = update_parameters


def _patch_rds_mysql_84_option_group() -> None:
    """SHIM (RDS ``CreateOptionGroup``).

    Why: moto 5.2.1 validates ``MajorEngineVersion`` against a table frozen in 2022, without
    MySQL 8.4, which RDS supports ("MySQL on Amazon RDS versions"); the provider's
    ``aws_db_option_group`` for ``mysql`` ``8.4`` fails with ``InvalidParameterCombination:
    Cannot find major version 8.4 for mysql``. Fix: validate 8.4 as 8.0 (the table's
    newest) and store the group with the version asked for. Stand-in for moto's gap, not
    our infrastructure.
    """
    from moto.rds import models as rds_models

    cls = rds_models.RDSBackend
    original = cls.create_option_group
    if getattr(original, "_localaws_shim", False):
        return

    def create_option_group(self: Any, option_group_kwargs: dict[str, Any]) -> Any:
        if option_group_kwargs.get("engine_name") == "mysql" and option_group_kwargs.get("major_engine_version") == "8.4":
            group = original(self, dict(option_group_kwargs, major_engine_version="8.0"))
            group.major_engine_version = "8.4"
            return group
        return original(self, option_group_kwargs)

    create_option_group._localaws_shim = True  # type: ignore[attr-defined]
    cls.create_option_group = create_option_group


def _patch_autoscaling_service_linked_role() -> None:
    """SHIM (Auto Scaling ``CreateAutoScalingGroup`` / ``UpdateAutoScalingGroup``).

    Why: moto 5.2.1 ignores ``ServiceLinkedRoleARN`` and always reports the account's default
    ``AWSServiceRoleForAutoScaling``; the platform names its own custom-suffix role ("Service-
    linked roles for Amazon EC2 Auto Scaling"), so every plan wants to set
    ``aws_autoscaling_group.service_linked_role_arn`` again. Fix: keep the role the request
    names. Stand-in for moto's gap, not our infrastructure.
    """
    from moto.autoscaling import responses as asg_responses

    cls = asg_responses.AutoScalingResponse
    for method in ("create_auto_scaling_group", "update_auto_scaling_group"):
        original = getattr(cls, method)
        if getattr(original, "_localaws_shim", False):
            continue

        def handler(self: Any, _original: Any = original) -> Any:
            result = _original(self)
            role = self._get_param("ServiceLinkedRoleARN")
            if role:
                group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
                group.service_linked_role_arn = role
            return result

        handler._localaws_shim = True  # type: ignore[attr-defined]
        setattr(cls, method, handler)


def _patch_launch_template_tags() -> None:
    """SHIM (EC2 ``CreateLaunchTemplate`` -> ``DescribeLaunchTemplateVersions``).

    Why: moto copies the request-level ``TagSpecifications`` (which tag the
    launch template itself, ``ResourceType=launch-template`` -- the provider sends
    them whenever tags/default_tags exist) into the version's
    ``LaunchTemplateData.TagSpecifications``. The provider then reads a
    ``tag_specifications { resource_type = "launch-template" }`` block that is not
    in the config, and every plan shows an in-place update (new version).
    Fix: drop ``launch-template`` entries from the template *data*; the template's
    own tags are unaffected. Stand-in for moto's gap, not our infrastructure.
    """
    from moto.ec2.models import launch_templates as lt_models

    cls = lt_models.LaunchTemplateBackend
    original = cls.create_launch_template
    if getattr(original, "_localaws_shim", False):
        return

    def create_launch_template(self: Any, name: str, description: Any, template_data: dict[str, Any], tag_spec: Any) -> Any:
        specs = template_data.get("TagSpecifications")
        if specs:
            kept = [s for s in specs if s.get("ResourceType") != "launch-template"]
            if kept:
                template_data["TagSpecifications"] = kept
            else:
                template_data.pop("TagSpecifications")
        return original(self, name, description, template_data, tag_spec)

    create_launch_template._localaws_shim = True  # type: ignore[attr-defined]
    cls.create_launch_template = create_launch_template


def _patch_sg_rule_description() -> None:
    """SHIM (EC2 ``DescribeSecurityGroupRules``).

    Why: for a rule that references another security group moto keeps the
    description in the source-group entry but reports ``Description`` only from
    the CIDR entry, so ``aws_vpc_security_group_ingress_rule`` /
    ``aws_vpc_security_group_egress_rule`` with ``referenced_security_group_id``
    and a ``description`` re-plan ``+ description``. Fix: fall back to the
    source-group description. Stand-in for moto's gap, not our infrastructure.
    """
    from moto.ec2.models import security_groups as sg_models

    cls = sg_models.SecurityGroupRule

    def description(self: Any) -> Any:
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    cls.description = property(description)  # type: ignore[assignment]


def _patch_sqs_redrive_allow_policy() -> None:
    """SHIM (SQS ``GetQueueAttributes``).

    Why: moto accepts ``RedriveAllowPolicy`` in ``SetQueueAttributes`` but never
    returns it (and rejects it as an attribute name). ``aws_sqs_queue_redrive_allow_policy``
    (and ``redrive_allow_policy`` on ``aws_sqs_queue``) then waits for the
    attribute to appear until it times out. Fix: report it like the other
    attributes. Stand-in for moto's gap, not our infrastructure.
    """
    from moto.sqs import models as sqs_models

    cls = sqs_models.Queue
    if "RedriveAllowPolicy" not in cls.BASE_ATTRIBUTES:
        cls.redrive_allow_policy = None  # type: ignore[attr-defined]
        cls.BASE_ATTRIBUTES.append("RedriveAllowPolicy")

    # Second gap, same API: moto renders RedrivePolicy with json.dumps' default
    # ", "/": " separators; AWS returns compact JSON. The provider compares the
    # string with the config's jsonencode() output and plans a "whitespace
    # changes" update of aws_sqs_queue.redrive_policy on every run.
    original_attributes = cls.attributes
    if getattr(original_attributes.fget, "_localaws_shim", False):
        return

    def attributes(self: Any) -> dict[str, Any]:
        result = original_attributes.fget(self)
        # Clearing it (SetQueueAttributes RedriveAllowPolicy="") must make it
        # disappear, or the provider's delete waits for it forever.
        if not result.get("RedriveAllowPolicy"):
            result.pop("RedriveAllowPolicy", None)
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    prop = property(attributes)
    prop.fget._localaws_shim = True  # type: ignore[attr-defined]
    cls.attributes = prop  # type: ignore[assignment]


def _patch_s3_logging_policy_check() -> None:
    """SHIM (S3 ``PutBucketLogging``).

    Why: moto checks the *target* bucket's policy for a grant to
    ``logging.s3.amazonaws.com`` with ``stmt.get("Principal", {}).get("Service")``;
    a statement whose ``Principal`` is the string ``"*"`` (e.g. the usual
    TLS-only ``Deny``) makes that raise AttributeError -> HTTP 500, and list-valued
    ``Service``/``Resource`` never match. Fix: same rule, tolerant parsing.
    AWS itself still requires the grant (with ACLs disabled), so the infra must
    keep that bucket-policy statement. Stand-in for moto's gap.
    """
    from moto.s3 import models as s3_models

    cls = s3_models.FakeBucket
    principal_name = getattr(s3_models, "LOGGING_SERVICE_PRINCIPAL", "logging.s3.amazonaws.com")

    def _as_list(value: Any) -> list[Any]:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def _log_permissions_enabled_policy(target_bucket: Any, target_prefix: Any) -> bool:
        raw = target_bucket.policy
        if not raw:
            return False
        try:
            doc = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        except ValueError:
            return False
        arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
        wanted = {f"{arn}/{target_prefix or ''}*", f"{arn}/*", arn}
        for stmt in _as_list(doc.get("Statement")):
            principal = stmt.get("Principal")
            services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
            if principal_name not in services or stmt.get("Effect") != "Allow":
                continue
            actions = _as_list(stmt.get("Action"))
            if not any(a in ("s3:PutObject", "s3:*", "*") for a in actions):
                continue
            if wanted & set(_as_list(stmt.get("Resource"))):
                return True
        return False

    cls._log_permissions_enabled_policy = staticmethod(_log_permissions_enabled_policy)


def _patch_ec2_monitoring() -> None:
    """SHIM (EC2 ``MonitorInstances`` / ``UnmonitorInstances``).

    Why: moto raises NotImplementedError for both; the provider calls MonitorInstances
    for ``aws_instance.monitoring = true`` (detailed monitoring, which the bastion and
    Ansible host use) and retries until its create timeout, so the apply hangs.
    Fix: set the instance's monitoring state, which DescribeInstances already reports.
    Stand-in for moto's gap.
    """
    from moto.ec2.responses import monitoring as monitoring_responses

    def _set(self: Any, state: str) -> str:
        self.error_on_dryrun()
        ids = self._get_param("InstanceIds", [])
        items = []
        for instance_id in ids:
            self.ec2_backend.get_instance(instance_id).monitoring_state = state
            items.append(
                f"<item><instanceId>{instance_id}</instanceId><monitoring><state>{state}</state></monitoring></item>"
            )
        action = "MonitorInstancesResponse" if state == "enabled" else "UnmonitorInstancesResponse"
        return (
            f'<{action} xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>localaws</requestId><instancesSet>{''.join(items)}</instancesSet></{action}>"
        )

    monitoring_responses.Monitoring.monitor_instances = lambda self: _set(self, "enabled")
    monitoring_responses.Monitoring.unmonitor_instances = lambda self: _set(self, "disabled")


def _patch_elbv2_external_certificates() -> None:
    """SHIM (ELBv2 ``CreateListener`` / ``ModifyListener`` with a certificate ARN).

    Why: an environment names its ACM certificate by ARN (it lives in the real
    account); the emulator starts with an empty ACM, so moto answers
    CertificateNotFound, which the provider treats as eventual consistency and retries
    until its timeout. Fix: accept a certificate ARN ACM does not hold; certificates
    ACM does hold are still marked in use. Stand-in for state moto cannot have.
    """
    from moto.elb.exceptions import CertificateNotFoundException
    from moto.elbv2 import models as elbv2_models

    original = elbv2_models.register_certificate

    def register_certificate(account_id: str, region: str, arn_certificate: str, arn_user: str) -> None:
        try:
            original(account_id, region, arn_certificate, arn_user)
        except CertificateNotFoundException:
            return

    elbv2_models.register_certificate = register_certificate


def _patch_codebuild_encryption_key() -> None:
    """SHIM (CodeBuild ``CreateProject`` / ``BatchGetProjects`` ``encryptionKey``).

    Why: moto ignores the ``encryptionKey`` the request names and always reports
    ``alias/aws/s3``, so every plan wants to change ``aws_codebuild_project.encryption_key``
    back, and moto has no UpdateProject to apply it. Fix: keep the key that was asked for.
    Stand-in for moto's gap.
    """
    from moto.codebuild import responses as codebuild_responses

    original = codebuild_responses.CodeBuildResponse.create_project

    def create_project(self: Any) -> str:
        body = original(self)
        key = self._get_param("encryptionKey")
        if key:
            name = self._get_param("name")
            project = self.codebuild_backend.codebuild_projects[name]
            project.project_metadata["encryptionKey"] = key
            data = json.loads(body)
            data.get("project", {})["encryptionKey"] = key
            body = json.dumps(data)
        return body

    codebuild_responses.CodeBuildResponse.create_project = create_project


def _patch_logs_kms_association() -> None:
    """SHIM (CloudWatch Logs ``AssociateKmsKey`` / ``DisassociateKmsKey``).

    Why: moto implements neither; the provider calls AssociateKmsKey when an existing log
    group gets the ``kms_key_id`` of our configuration (a group adopted through an
    ``[[imports]]`` entry, see tests/test_brownfield_moto.py) and retries the unknown action
    until its timeout, so the apply hangs. Fix: set or clear the group's key, which
    DescribeLogGroups already reports. Stand-in for moto's gap.
    """
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.responses import LogsResponse

    def _set_key(self: Any, key: str | None) -> str:
        name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(name)
        if group is None:
            raise ResourceNotFoundException()
        group.kms_key_id = key
        return ""

    LogsResponse.associate_kms_key = lambda self: _set_key(self, self._get_param("kmsKeyId"))
    LogsResponse.disassociate_kms_key = lambda self: _set_key(self, None)


def _patch_acm_dns_validation() -> None:
    """SHIM (ACM ``DescribeCertificate`` of a DNS-validated certificate).

    Why: moto issues an ``AMAZON_ISSUED`` certificate on a timer (``MOTO_ACM_VALIDATION_WAIT``,
    60 s after the request), whether or not its validation records exist. AWS issues it once
    the CNAME record ACM names for each of its domains is found in DNS ("AWS Certificate
    Manager DNS validation", https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html),
    and never without. Fix: a pending certificate becomes ISSUED when every domain's CNAME
    (name and value as ``DomainValidationOptions`` report them) is a record of a public
    Route 53 zone of the emulator's account, and stays pending otherwise. So an apply of
    ``aws_acm_certificate_validation`` proves that the records are right, and waits no timer.
    Stand-in for the DNS lookup moto does not make.
    """
    from moto.acm import models as acm_models
    from moto.route53.models import route53_backends

    def _dns(name: str) -> str:
        return name.lower().rstrip(".")

    def _published(cert: Any) -> set[tuple[str, str]]:
        _, partition, _, _, account, _ = cert.arn.split(":", 5)
        found = set()
        for zone in route53_backends[account][partition].zones.values():
            if zone.private_zone:
                continue
            for record in zone.rrsets:
                if record.type == "CNAME":
                    found.update((_dns(record.name), _dns(value)) for value in record.records)
        return found

    def check(self: Any) -> None:
        if self._not_valid_after(self._cert) <= acm_models.utcnow():
            self.status = "EXPIRED"
            return
        if self.type != "AMAZON_ISSUED" or self.status != "PENDING_VALIDATION":
            return
        options = self.describe()["Certificate"].get("DomainValidationOptions", [])
        wanted = {(_dns(o["ResourceRecord"]["Name"]), _dns(o["ResourceRecord"]["Value"])) for o in options}
        if wanted and wanted <= _published(self):
            self.status = "ISSUED"

    acm_models.CertBundle.check = check


def seed_hosted_zone(zone_id: str, name: str, account_id: str = "123456789012") -> None:
    """Create a public hosted zone with a given id, as it exists in the real account.

    Not a shim: a fixture. An environment names its public zone by id (`hosted_zone_id`,
    created by whoever owns the domain, long before any apply); the emulator's account starts
    empty, and Route 53 chooses zone ids itself. moto's documented custom-id hook (the id
    manager every ``@moto_id`` generator consults) lets the zone be created with the id the
    environment names. For an in-process server (``localaws.running``, tests); idempotent.
    """
    from moto.route53.models import HostedZoneIdentifier, route53_backends
    from moto.utilities.id_generator import moto_id_manager

    backend = route53_backends[account_id]["aws"]
    if zone_id in backend.zones:
        return
    identifier = HostedZoneIdentifier(account_id, name, None)
    moto_id_manager.set_custom_id(identifier, zone_id)
    try:
        backend.create_hosted_zone(name, private_zone=False, caller_reference=f"localaws-seed-{zone_id}")
    finally:
        moto_id_manager.unset_custom_id(identifier)


def _patch_efs_delete_file_system_policy() -> None:
    """SHIM (EFS ``DeleteFileSystemPolicy``, ``DELETE /2015-02-01/file-systems/{id}/policy``).

    Why: moto 5.2.1 has Put- and DescribeFileSystemPolicy but not Delete: it answers 500
    "not implemented", so destroying an ``aws_efs_file_system_policy`` (every file system of
    ``[[volumes]]`` / ``[[file_systems]]`` has one) retries for many minutes and then fails
    the destroy. Fix: answer as AWS does (HTTP 200, no body), after dropping the policy, so
    ``DescribeFileSystemPolicy`` returns ``PolicyNotFound`` again (AWS: "the default file
    system policy is in effect"); an unknown file system is ``FileSystemNotFound``.
    Stand-in for moto's gap, not our infrastructure.
    """
    from moto.efs import responses as efs_responses
    from moto.efs.exceptions import FileSystemNotFound

    if hasattr(efs_responses.EFSResponse, "delete_file_system_policy"):
        return  # moto implements it

    def delete_file_system_policy(self: Any) -> Any:
        file_system_id = self._get_param("FileSystemId")
        file_system = self.efs_backend.file_systems_by_id.get(file_system_id)
        if file_system is None:
            raise FileSystemNotFound(file_system_id)
        file_system.file_system_policy = None
        return 200, {}, ""

    efs_responses.EFSResponse.delete_file_system_policy = delete_file_system_policy  # type: ignore[attr-defined]


def _patch_codebuild_delete_by_arn() -> None:
    """SHIM (CodeBuild ``DeleteProject`` named by ARN).

    Why: the provider deletes an ``aws_codebuild_project`` by its resource id, which is the
    project's ARN when Terraform created it (``DeleteProjectInput{Name: d.Id()}``;
    ``findProjectByNameOrARN`` reads it the same way). moto looks the value up as a project name
    and, finding none, deletes nothing and answers success: after ``terraform destroy`` the
    project is still there, and the next apply's ``CreateProject`` fails with
    ``ResourceAlreadyExistsException`` (what the CLI test's first SIGINT step ran into). Fix: a
    project ARN names the project after ``project/``. Stand-in for moto's gap.
    """
    from moto.codebuild import models as codebuild_models

    cls = codebuild_models.CodeBuildBackend
    original = cls.delete_project
    if getattr(original, "_localaws_shim", False):
        return

    def delete_project(self: Any, project_name: str) -> None:
        if project_name.startswith("arn:") and ":project/" in project_name:
            project_name = project_name.split(":project/", 1)[1]
        original(self, project_name)

    delete_project._localaws_shim = True  # type: ignore[attr-defined]
    cls.delete_project = delete_project


def _patch_codedeploy() -> None:
    """SHIM (CodeDeploy ``GetApplication`` / ``GetDeploymentGroup`` / ``DeleteApplication`` /
    ``DeleteDeploymentGroup`` / ``UpdateDeploymentGroup``).

    Why: moto 5.2.1 returns an application's ``createTime`` as an ISO-8601 string where the
    API (and the Go SDK) has epoch seconds, so the provider's ``aws_codedeploy_app`` read fails
    after the create ("expected Timestamp to be a JSON Number, got string"); it reports a
    deployment group's ``alarmConfiguration`` as ``{}`` whatever was created, so every plan
    wants to set the alarms again; and it implements neither delete nor UpdateDeploymentGroup,
    so a destroy (or an in-place change) fails on an unknown action. Fix: epoch seconds, the
    alarm configuration as requested, and the three missing actions on moto's own state.
    Stand-in for moto's gaps (a blue/green service's CodeDeploy application and deployment
    group, infra/service/blue_green.py); nothing is deployed by them on the emulator.
    """
    from datetime import datetime

    from moto.codedeploy import models as cd_models
    from moto.codedeploy.exceptions import ApplicationDoesNotExistException, DeploymentGroupDoesNotExistException
    from moto.codedeploy.responses import CodeDeployResponse

    app_to_dict = cd_models.Application.to_dict
    if getattr(app_to_dict, "_localaws_shim", False):
        return

    def application(self: Any) -> dict[str, Any]:
        data = app_to_dict(self)
        data["createTime"] = datetime.fromisoformat(str(self.create_time).replace("Z", "+00:00")).timestamp()
        return data

    group_to_dict = cd_models.DeploymentGroup.to_dict

    def group(self: Any) -> dict[str, Any]:
        data = group_to_dict(self)
        data["alarmConfiguration"] = self.alarm_configuration or {}
        return data

    def _group(backend: Any, application_name: str, group_name: str) -> Any:
        groups = backend.deployment_groups.get(application_name, {})
        if group_name not in groups:
            raise DeploymentGroupDoesNotExistException(f"No Deployment Group found for name: {group_name}")
        return groups[group_name]

    def delete_application(self: Any) -> str:
        name = self._get_param("applicationName")
        backend = self.codedeploy_backend
        backend.applications.pop(name, None)
        backend.deployment_groups.pop(name, None)
        return "{}"

    def delete_deployment_group(self: Any) -> str:
        backend = self.codedeploy_backend
        name = self._get_param("applicationName")
        if name not in backend.applications:
            raise ApplicationDoesNotExistException(f"The application {name} does not exist with the user or AWS account.")
        backend.deployment_groups.get(name, {}).pop(self._get_param("deploymentGroupName"), None)
        return json.dumps({"hooksNotCleanedUp": []})

    # UpdateDeploymentGroup request member -> moto's DeploymentGroup attribute.
    updatable = {
        "deploymentConfigName": "deployment_config_name",
        "serviceRoleArn": "service_role_arn",
        "alarmConfiguration": "alarm_configuration",
        "autoRollbackConfiguration": "auto_rollback_configuration",
        "deploymentStyle": "deployment_style",
        "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
        "loadBalancerInfo": "load_balancer_info",
        "ecsServices": "ecs_services",
        "triggerConfigurations": "trigger_configurations",
    }

    def update_deployment_group(self: Any) -> str:
        backend = self.codedeploy_backend
        name = self._get_param("applicationName")
        current = self._get_param("currentDeploymentGroupName")
        deployment_group = _group(backend, name, current)
        for member, attribute in updatable.items():
            value = self._get_param(member)
            if value is not None:
                setattr(deployment_group, attribute, value)
        new_name = self._get_param("newDeploymentGroupName")
        if new_name and new_name != current:
            groups = backend.deployment_groups[name]
            groups[new_name] = groups.pop(current)
            deployment_group.deployment_group_name = new_name
        return json.dumps({"hooksNotCleanedUp": []})

    application._localaws_shim = True  # type: ignore[attr-defined]
    cd_models.Application.to_dict = application
    cd_models.DeploymentGroup.to_dict = group
    CodeDeployResponse.delete_application = delete_application
    CodeDeployResponse.delete_deployment_group = delete_deployment_group
    CodeDeployResponse.update_deployment_group = update_deployment_group


def apply_moto_patches() -> None:
    """Apply all monkeypatches once per process (idempotent)."""
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        _patch_codepipeline_metadata()
        _patch_codepipeline_trust_policy()
        _patch_codebuild_codepipeline_location()
        _patch_ecs_service_fields()
        _patch_rds_instance_monitoring()
        _patch_rds_parameter_source()
        _patch_rds_mysql_84_option_group()
        _patch_autoscaling_service_linked_role()
        _patch_launch_template_tags()
        _patch_sg_rule_description()
        _patch_sqs_redrive_allow_policy()
        _patch_s3_logging_policy_check()
        _patch_ec2_monitoring()
        _patch_elbv2_external_certificates()
        _patch_codebuild_encryption_key()
        _patch_logs_kms_association()
        _patch_acm_dns_validation()
        _patch_efs_delete_file_system_policy()
        _patch_codebuild_delete_by_arn()
        _patch_codedeploy()
        _PATCHED = True
