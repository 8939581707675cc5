"""The security gate, across every synthesized stack of every environment.

a. No secret value ever reaches the synthesized JSON: services name their secrets
   (ARN or name), the loader refuses values, the database password is managed by RDS.
b. Stateful resources are protected, and protection cannot be switched off in
   production without a second, explicit flag; Terraform itself refuses to destroy them.
c. IAM: no `*` or `service:*` actions anywhere, `*` resources only for the actions
   AWS offers no resource-level permissions for (the allow-list below). The task-role
   permissions boundary caps what manifests may grant, so it lets through on `*` also the
   actions the loader accepts on `*`; it is only ever used as a permissions boundary.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, load_app
from tests.conftest import Synth, by_path, data_sources, jsondoc, resources

ENVS = ("dev", "prod")

# ---------------------------------------------------------------------------------
# a. Secrets never appear in the synthesized JSON
# ---------------------------------------------------------------------------------
PLANTED_SECRETS = {
    "STRIPE_KEY": "secretsmanager:web/stripe",
    "SESSION_KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/web/session-key",
    "SIGNING_KEY": "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/signing-AbCdEf",
}
PLANTED_VALUE = "hunter2-not-a-real-password"
# Attribute names that would carry a secret value in the Terraform JSON.
SECRET_KEYS = frozenset({"password", "master_password", "master_user_password", "secret_string", "secret_binary"})
SECRET_SHAPES = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r'"password"\s*:\s*"'),  # a password literal in a JSON document
    re.compile(re.escape(PLANTED_VALUE)),
    re.compile(r"hunter2", re.IGNORECASE),
]


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _secret_problems(name: str, stack: dict[str, Any]) -> list[str]:
    problems = []
    text = json.dumps(stack)
    for shape in SECRET_SHAPES:
        if shape.search(text):
            problems.append(f"{name}: matches {shape.pattern}")
    for path, key, value in _walk(stack.get("resource", {})):
        if key in SECRET_KEYS:
            problems.append(f"{name}: {path}.{key} is set ({str(value)[:40]!r})")
    for logical_id, param in resources(stack, "aws_ssm_parameter").items():
        # A SecureString may only carry a placeholder that Terraform then leaves alone
        # (the real value is written outside Terraform, e.g. the deployed image tag).
        ignored = param.get("lifecycle", {}).get("ignore_changes", [])
        if param.get("type") == "SecureString" and "value" in param and "value" not in ignored:
            problems.append(f"{name}: aws_ssm_parameter.{logical_id} puts a SecureString value in the JSON")
    for logical_id, task in resources(stack, "aws_ecs_task_definition").items():
        for container in jsondoc(task["container_definitions"]):
            for variable in container.get("environment", []):
                if _names_a_secret_by_arn(variable):
                    continue  # where a secret lives (the app reads it with its role), not the secret
                if re.search(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL", variable["name"], re.I):
                    problems.append(f"{name}: {logical_id} passes {variable['name']} as a plain environment variable")
    return problems


def _names_a_secret_by_arn(variable: dict[str, str]) -> bool:
    value = variable["value"]
    arn = value.startswith("arn:") or re.fullmatch(r"\$\{data\.terraform_remote_state\.platform\.outputs\.[a-z_]+_arn\}", value)
    return variable["name"].endswith("_ARN") and bool(arn)


def _containers(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for task in resources(stack, "aws_ecs_task_definition").values() for c in jsondoc(task["container_definitions"])]


def _with_web(project: Path, extra: str) -> None:
    manifest = project / "services" / "web" / "service.toml"
    manifest.write_text(manifest.read_text() + extra)


def test_the_loader_refuses_secret_values(project_copy: Path) -> None:
    # A credential-like variable in [environment] ...
    manifest = project_copy / "services" / "web" / "service.toml"
    original = manifest.read_text()
    assert "[environment]\n" in original
    manifest.write_text(original.replace("[environment]\n", f'[environment]\nDB_PASSWORD = "{PLANTED_VALUE}"\n', 1))
    with pytest.raises(ConfigError, match=r"environment\.DB_PASSWORD.*credential"):
        load_app(project_copy, environments=["dev"])
    # ... and a value where a secret reference belongs.
    manifest.write_text(original + f'\n[secrets]\nSTRIPE_KEY = "{PLANTED_VALUE}"\n')
    with pytest.raises(ConfigError, match=r"secrets\.STRIPE_KEY.*never the secret value"):
        load_app(project_copy, environments=["dev"])


def test_secrets_never_appear_in_the_synthesized_json(project_copy: Path, synth: Synth, tmp_path: Path) -> None:
    from infra.app import build_app

    _with_web(project_copy, "\n[secrets]\n" + "".join(f'{k} = "{v}"\n' for k, v in PLANTED_SECRETS.items()))
    outdir = tmp_path / "out"
    build_app(load_app(project_copy, environments=["dev"]), outdir=str(outdir)).synth()
    planted = Synth(outdir)
    assert len(planted.stacks) >= 4

    problems = [p for name, stack in planted.stacks.items() for p in _secret_problems(f"planted/{name}", stack)]
    problems += [p for name, stack in synth.stacks.items() for p in _secret_problems(name, stack)]
    assert problems == []

    # The planted references arrive as `secrets[].valueFrom`, never as values.
    (web,) = [c for c in _containers(planted.stack("dev-web")) if c["name"] == "web"]
    value_from = {s["name"]: s["valueFrom"] for s in web["secrets"]}
    assert set(PLANTED_SECRETS) <= set(value_from)
    assert value_from["SESSION_KEY"] == PLANTED_SECRETS["SESSION_KEY"]
    assert value_from["SIGNING_KEY"] == PLANTED_SECRETS["SIGNING_KEY"]
    assert ":secret:web/stripe" in value_from["STRIPE_KEY"]
    assert not set(PLANTED_SECRETS) & {e["name"] for e in web.get("environment", [])}


@pytest.mark.parametrize("env", ENVS)
def test_database_password_is_managed_by_rds_and_reaches_containers_as_a_secret(synth: Synth, env: str) -> None:
    platform = synth.stack(f"{env}-platform")
    (db,) = resources(platform, "aws_db_instance").values()
    assert db["manage_master_user_password"] is True
    assert not {"password", "master_password"} & set(db)
    users = [c for name in synth.stacks if name.startswith(f"{env}-") for c in _containers(synth.stack(name))]
    with_db = [c for c in users if any(s["name"] == "DB_SECRET" for s in c.get("secrets", []))]
    assert with_db, "no container gets the database secret: is any service linked to the database?"
    for container in users:
        assert "DB_SECRET" not in {e["name"] for e in container.get("environment", [])}
    outputs = platform["output"]
    for container in with_db:
        (secret,) = [s for s in container["secrets"] if s["name"] == "DB_SECRET"]
        assert set(secret) == {"name", "valueFrom"}
        # The service reads the secret's ARN from the platform's contract: the RDS-managed secret.
        assert secret["valueFrom"] == "${data.terraform_remote_state.platform.outputs.database_secret_arn}"
        published = outputs["database_secret_arn"]["value"]
        assert "master_user_secret" in published and published.endswith("secret_arn}")


# ---------------------------------------------------------------------------------
# b. Stateful resources are protected
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)  # dev.toml sets deletion_protection = true as well
def test_stateful_resources_are_protected(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    (db,) = resources(stack, "aws_db_instance").values()
    assert db["deletion_protection"] is True
    assert db["lifecycle"]["prevent_destroy"] is True
    assert db["skip_final_snapshot"] is (env != "prod")  # production keeps a final snapshot
    for bucket in ("logs", "artifacts"):
        resource = by_path(stack, "aws_s3_bucket", f"/storage/{bucket}/bucket")
        assert resource["force_destroy"] is False, bucket
        assert resource["lifecycle"]["prevent_destroy"] is True, bucket
    # Each service stack owns its repository: protected there.
    repositories = {
        f"{name}/{logical_id}": repository
        for name in synth.stacks
        if name.startswith(f"{env}-") and name != f"{env}-platform"
        for logical_id, repository in resources(synth.stack(name), "aws_ecr_repository").items()
    }
    assert len(repositories) == 4, sorted(repositories)  # web, api, worker and the cleanup job
    for name, repository in repositories.items():
        assert repository["force_delete"] is False, name
        assert repository["lifecycle"]["prevent_destroy"] is True, name
    (alb,) = resources(stack, "aws_lb").values()
    assert alb["enable_deletion_protection"] is True


def _prod_toml(project: Path, extra: str) -> None:
    prod = project / "environments" / "prod.toml"
    text = prod.read_text()
    assert "production = true\n" in text and "deletion_protection" not in text
    prod.write_text(text.replace("production = true\n", f"production = true\n{extra}", 1))


def test_production_protection_needs_an_explicit_flag_to_be_removed(project_copy: Path) -> None:
    _prod_toml(project_copy, "deletion_protection = false\n")
    with pytest.raises(ConfigError, match=r"environments/prod\.toml.*deletion_protection.*allow_destroy = true"):
        load_app(project_copy, environments=["prod"])


def test_production_protection_off_with_allow_destroy(project_copy: Path) -> None:
    _prod_toml(project_copy, "deletion_protection = false\nallow_destroy = true\n")
    (prod,) = load_app(project_copy, environments=["prod"]).environments
    assert prod.production is True and prod.deletion_protection is False


@pytest.mark.terraform
def test_terraform_refuses_to_destroy_a_protected_repository(
    synth: Synth, terraform_env: dict[str, str], tmp_path: Path
) -> None:
    """The synthesized repository, applied to moto: destroying it or replacing it fails.

    (Deleting the whole block from the configuration also deletes its `prevent_destroy`,
    so Terraform would plan the destroy: that path is closed by the loader, which keeps
    `deletion_protection` on in production unless `allow_destroy = true` is set too.)
    """
    from localaws import running
    from localaws.endpoints import provider_config

    repository = dict(by_path(synth.stack("prod-api"), "aws_ecr_repository", "/registry/repository"))
    assert repository["lifecycle"] == {"prevent_destroy": True}
    repository.pop("//")
    # The platform's key (read through remote state) is not part of this root: AES256 instead.
    repository["encryption_configuration"] = [{"encryption_type": "AES256"}]
    repository["name"] = "gate/api"

    def write(resource: dict[str, Any], url: str) -> None:
        root = {
            "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
            "provider": {"aws": [provider_config(url)]},
            "resource": {"aws_ecr_repository": {"api": resource}},
        }
        (tmp_path / "main.tf.json").write_text(json.dumps(root, indent=1))

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *args, "-input=false", "-no-color"],
            cwd=tmp_path, env=terraform_env, capture_output=True, text=True, timeout=120,
        )

    with running() as url:
        write(repository, url)
        for args in (["init"], ["apply", "-auto-approve"]):
            result = terraform(*args)
            assert result.returncode == 0, result.stdout + result.stderr
        refused = {"destroy": terraform("plan", "-destroy", "-refresh=false")}
        # A config change that replaces the repository (its name is immutable).
        write({**repository, "name": "gate/api-renamed"}, url)
        refused["replace"] = terraform("plan", "-refresh=false")
        for how, result in refused.items():
            assert result.returncode != 0, f"{how}: {result.stdout[-1500:]}"
            assert "Instance cannot be destroyed" in result.stderr, how
            assert "prevent_destroy" in result.stderr, how


# ---------------------------------------------------------------------------------
# c. IAM: least privilege in every policy of every stack
# ---------------------------------------------------------------------------------
# Actions AWS offers no resource-level permissions for: "*" is the only valid resource.
STAR_RESOURCE_ALLOWED = {
    "ecr:GetAuthorizationToken",  # registry login token is account-wide
    "ecs:RegisterTaskDefinition",  # the deploy action registers a new revision (no ARN exists yet)
    "ecs:DescribeTaskDefinition",  # CodePipeline's ECS deploy reads the current revision
    "ecs:ListTasks",  # the deploy action lists the service's tasks (condition: ecs:cluster)
    "ecs:DiscoverPollEndpoint",  # ECS agent on the EC2 capacity hosts
    "logs:DescribeLogGroups",  # lists groups account-wide
    "ec2:DescribeInstances",  # Ansible dynamic inventory; Describe* have no resource ARNs
    "ssmmessages:CreateControlChannel",  # Session Manager / ECS Exec channels
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",  # SSM agent message polling (Run Command, older agents)
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
    "xray:GetSamplingRules",  # the ADOT collector's trace writes ([tracing]): X-Ray has no
    "xray:GetSamplingStatisticSummaries",  # resource-level permissions for them
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    # CodeDeploy's ECS blue/green role (infra.service.blue_green): the Describe calls of Elastic
    # Load Balancing have no resource-level permissions; CreateTaskSet has no resource type
    # (its ecs:service condition names the one service).
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "ecs:CreateTaskSet",
}
REFERENCE = re.compile(r"^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}$")
# Attributes holding a policy document: identity policies and resource policies.
POLICY_ATTRIBUTES = {
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_iam_role": "assume_role_policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_ecr_repository_policy": "policy",
    "aws_kms_key": "policy",
    "aws_efs_file_system_policy": "policy",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _normalize(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement from a policy-document data source or from policy JSON, in one shape."""
    if "Effect" in statement or "Action" in statement or "NotAction" in statement:
        return {
            "effect": statement.get("Effect", "Allow"),
            "actions": _as_list(statement.get("Action", [])),
            "not_actions": _as_list(statement.get("NotAction", [])),
            "resources": _as_list(statement.get("Resource", [])),
            "principals": bool(statement.get("Principal") or statement.get("NotPrincipal")),
        }
    return {
        "effect": statement.get("effect", "Allow"),
        "actions": statement.get("actions", []),
        "not_actions": statement.get("not_actions", []),
        "resources": statement.get("resources", []),
        "principals": bool(statement.get("principals") or statement.get("not_principals")),
    }


def _document(text: str) -> dict[str, Any]:
    """Literal policy JSON, or Terraform's `jsonencode({...})` of one (the KMS key policy)."""
    document = jsondoc(text)
    assert isinstance(document, dict)
    return document


def _statements(stack: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    docs = data_sources(stack, "aws_iam_policy_document")
    for logical_id, doc in docs.items():
        for statement in doc.get("statement", []):
            yield f"data.aws_iam_policy_document.{logical_id}", _normalize(statement)
    for type_, attribute in POLICY_ATTRIBUTES.items():
        for logical_id, resource in resources(stack, type_).items():
            values = [resource.get(attribute)] + [p.get("policy") for p in _as_list(resource.get("inline_policy", []))]
            for value in filter(None, values):
                match = REFERENCE.match(value)
                if match:
                    assert match.group(1) in docs, f"{type_}.{logical_id} references a missing document"
                    continue  # walked above
                for statement in _as_list(_document(value).get("Statement", [])):
                    yield f"{type_}.{logical_id}", _normalize(statement)


def _iam_problems(
    statements: list[tuple[str, dict[str, Any]]], star_allowed: frozenset[str] | set[str] = STAR_RESOURCE_ALLOWED
) -> list[str]:
    problems = []
    for where, statement in statements:
        if statement["not_actions"]:
            problems.append(f"{where}: NotAction {statement['not_actions']}")
        for action in statement["actions"]:
            # A Deny may be broad (e.g. deny s3:* without TLS); an Allow never.
            if action == "*" or (statement["effect"] == "Allow" and action.endswith(":*")):
                problems.append(f"{where}: action {action}")
        # In a resource policy (one with principals) "*" means the resource itself.
        if "*" in statement["resources"] and not statement["principals"]:
            extra = set(statement["actions"]) - star_allowed
            if extra:
                problems.append(f"{where}: '*' resource for {sorted(extra)}")
    return problems


BOUNDARY_OUTPUT = "task_role_boundary_arn"
BOUNDARY_REMOTE = "${data.terraform_remote_state.platform.outputs.task_role_boundary_arn}"


def _boundary_document(stack: dict[str, Any]) -> str | None:
    """The data source id of the permissions boundary the platform publishes for task roles."""
    output = stack.get("output", {}).get(BOUNDARY_OUTPUT)
    if output is None:
        return None
    match = re.fullmatch(r"\$\{aws_iam_policy\.([A-Za-z0-9_-]+)\.arn\}", output["value"])
    assert match, output
    document = REFERENCE.match(resources(stack, "aws_iam_policy")[match.group(1)]["policy"])
    assert document
    return f"data.aws_iam_policy_document.{document.group(1)}"


def _boundary_uses(stack: dict[str, Any]) -> list[str]:
    """Where a stack uses the published boundary: each must be a role's permissions_boundary."""
    return [
        f"{path}.{key}"
        for path, key, value in _walk(stack.get("resource", {}))
        if isinstance(value, str) and BOUNDARY_REMOTE in value
    ]


def test_no_wildcard_actions_and_star_resources_only_where_aws_requires_them(synth: Synth) -> None:
    from infra.config.iam_actions import NO_RESOURCE_LEVEL_NAMES

    assert len(synth.stacks) >= 8
    walked: dict[str, int] = {}
    problems = []
    boundaries = 0
    for name, stack in synth.stacks.items():
        statements = list(_statements(stack))
        walked[name] = len(statements)
        boundary = _boundary_document(stack)
        grants = [(where, st) for where, st in statements if where != boundary]
        problems += [f"{name}: {p}" for p in _iam_problems(grants)]
        if boundary is not None:
            boundaries += 1
            # The task-role boundary caps what a manifest's [[permissions]] may grant, and a
            # manifest may grant "*" for the actions the loader knows have no resource-level
            # permissions: on "*" the boundary may let through those and nothing else (and,
            # like every policy, no wildcard actions).
            capped = [(where, st) for where, st in statements if where == boundary]
            problems += [f"{name}: {p}" for p in _iam_problems(capped, STAR_RESOURCE_ALLOWED | frozenset(NO_RESOURCE_LEVEL_NAMES))]
            # A boundary caps and never grants: the platform only publishes it (no attachment).
            arn = stack["output"][BOUNDARY_OUTPUT]["value"]
            problems += [f"{name}: boundary used at {p}.{k}" for p, k, v in _walk(stack["resource"]) if isinstance(v, str) and arn in v]
        else:
            # ... and a service stack uses it only as its task role's permissions boundary.
            uses = _boundary_uses(stack)
            if [u.rsplit(".", 1)[1] for u in uses] != ["permissions_boundary"]:
                problems.append(f"{name}: the boundary is used at {uses}")
    assert problems == []
    assert boundaries == len(ENVS)
    assert all(count > 0 for count in walked.values()), walked
    # The KMS key policy (jsonencode, not a data source) was walked too.
    for env in ENVS:
        assert any(where.startswith("aws_kms_key.") for where, _ in _statements(synth.stack(f"{env}-platform")))


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"actions": ["*"], "resources": ["arn:aws:s3:::b"]}, "action *"),
        ({"actions": ["s3:*"], "resources": ["arn:aws:s3:::b"]}, "action s3:*"),
        ({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::1:role/x"}, "action iam:*"),
        ({"actions": ["s3:GetObject"], "resources": ["*"]}, "'*' resource for ['s3:GetObject']"),
        ({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": {"AWS": "x"}}, "action *"),
        ({"not_actions": ["iam:PassRole"], "resources": ["*"]}, "NotAction"),
    ],
)
def test_the_iam_rules_catch_violations(statement: dict[str, Any], expected: str) -> None:
    problems = _iam_problems([("doc", _normalize(statement))])
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "statement",
    [
        {"actions": ["ecr:GetAuthorizationToken"], "resources": ["*"]},
        {"effect": "Deny", "actions": ["s3:*"], "resources": ["*"], "principals": [{"type": "*", "identifiers": ["*"]}]},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*", "Principal": {"Service": "sns.amazonaws.com"}},
    ],
)
def test_the_iam_rules_allow_what_aws_requires(statement: dict[str, Any]) -> None:
    assert _iam_problems([("doc", _normalize(statement))]) == []
