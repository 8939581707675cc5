"""The CodeBuild buildspecs of one service: the build (test, build, push, hand over to ECS) and
the record step (write the deployed tag, after the deployment succeeded).

Both are pure functions of the specs, so their text is deterministic and can be tested
without a synthesis. Values only known at deploy time (the repository URI) reach the build
as CodeBuild environment variables of the project; the buildspecs refer to them by name:

    REPOSITORY_URI       <account>.dkr.ecr.<region>.amazonaws.com/<repository> (project variable)
    SERVICE_DIR          services/<folder>: the Docker build context (buildspec variable)
    IMAGE_TAG_PARAMETER  /ecs-platform/<prefix>/<name>/image-tag (record buildspec variable;
                         <prefix> is the environment, with the workspace outside `default`)

The document goes to CodeBuild as Terraform's `jsonencode` of it (`render_buildspec`; see
infra.expressions for why an expression and not a JSON text): YAML is a superset of JSON, so
the text is a valid buildspec. Terraform writes it compact, keys sorted, and escapes `<`, `>`
and `&` as \u003c, \u003e and \u0026, which YAML reads back as the same characters.
CodeBuild runs the phases in its own fixed order, whatever the order of the keys.

Order of the phases, and why each guard exists:
  pre_build  log in to ECR; IMAGE_TAG = the first 12 characters of the source revision
  build      install the app's requirements and run its tests FIRST, then `docker build`;
             `on-failure: ABORT` on every phase before post_build, because CodeBuild runs
             post_build even after a failed build phase by default
  post_build only when the build succeeded: push the image (skipped when the tag already
             exists: ECR tags are immutable, so a retried run of the same commit must not
             fail on the push) and write imagedefinitions.json for the ECS deploy action

The build never writes the tag Terraform deploys from, and its role may not: the build runs
the repository's own code (its tests), and the pipeline's approval and the ECS deployment
(circuit breaker with rollback) come after it. The record step, a separate project with its
own role, runs as the pipeline's last stage, only when the deployment succeeded, and writes
the tag of imagedefinitions.json to the parameter. A rejected or rolled-back image is never
recorded, so a later `terraform apply` never deploys it.
"""

from __future__ import annotations

import json
import shlex

from constructs import Construct

from infra import naming
from infra.config.specs import EnvironmentSpec, ServiceSpec
from infra.expressions import jsonencode
from infra.service.roles import image_tag_parameter_name as _parameter_name

IMAGE_DEFINITIONS = "imagedefinitions.json"
PYTHON_RUNTIME = "3.11"


def image_tag_parameter_name(env: EnvironmentSpec, spec: ServiceSpec) -> str:
    """The SSM parameter that holds the service's deployed image tag (written by its pipeline's
    record step; only the record role may write exactly this name)."""
    return _parameter_name(spec.name).format(prefix=naming.PREFIX)


def service_dir(spec: ServiceSpec) -> str:
    """The service's folder in the monorepo: its manifest's folder, whatever its `name`."""
    return f"services/{spec.directory.name}"


def buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """The buildspec as a Python structure (what `render_buildspec` serializes)."""
    src = '"$CODEBUILD_SRC_DIR/$SERVICE_DIR"'
    image = '"$REPOSITORY_URI:$IMAGE_TAG"'
    image_definitions = json.dumps([{"name": spec.name, "imageUri": "%s"}], separators=(",", ":"))
    return {
        "version": 0.2,
        "env": {
            "variables": {"SERVICE_DIR": service_dir(spec)},
            "exported-variables": ["IMAGE_TAG"],
        },
        "phases": {
            "install": {
                "on-failure": "ABORT",
                "runtime-versions": {"python": PYTHON_RUNTIME},
                "commands": ["python --version", "docker --version"],
            },
            "pre_build": {
                "on-failure": "ABORT",
                "commands": [
                    'test -n "$REPOSITORY_URI"',
                    'export REGISTRY="$(echo "$REPOSITORY_URI" | cut -d/ -f1)"',
                    'export REPOSITORY_NAME="$(echo "$REPOSITORY_URI" | cut -d/ -f2-)"',
                    'aws ecr get-login-password --region "$AWS_REGION"'
                    ' | docker login --username AWS --password-stdin "$REGISTRY"',
                    'export IMAGE_TAG="$(echo "$CODEBUILD_RESOLVED_SOURCE_VERSION" | cut -c 1-12)"',
                    'test -n "$IMAGE_TAG"',
                    'echo "Building $REPOSITORY_URI:$IMAGE_TAG from $SERVICE_DIR"',
                ],
            },
            "build": {
                "on-failure": "ABORT",
                "commands": [
                    # Tests run before any image exists: a failing test never produces one.
                    f"cd {src} && python -m pip install -r requirements.txt pytest && {spec.build.test_command}",
                    f"cd {src} && docker build -f {shlex.quote(spec.build.dockerfile)} -t {image} .",
                ],
            },
            "post_build": {
                "commands": [
                    'test "$CODEBUILD_BUILD_SUCCEEDING" = "1"',
                    'if aws ecr describe-images --repository-name "$REPOSITORY_NAME"'
                    ' --image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1;'
                    ' then echo "$IMAGE_TAG is already in the registry";'
                    f" else docker push {image}; fi",
                    f"printf '{image_definitions}' {image} > \"$CODEBUILD_SRC_DIR/{IMAGE_DEFINITIONS}\"",
                    f'cat "$CODEBUILD_SRC_DIR/{IMAGE_DEFINITIONS}"',
                ],
            },
        },
        "artifacts": {"files": [IMAGE_DEFINITIONS]},
    }


def render_buildspec(spec: ServiceSpec, env: EnvironmentSpec, *, scope: Construct) -> str:
    """The buildspec for the project: Terraform's `jsonencode` of the document (JSON, hence YAML)."""
    return jsonencode(buildspec_document(spec, env), scope=scope)


def record_buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """The record step: the tag the ECS deploy action just rolled out, from its input artifact."""
    read_tag = (
        "python3 -c \"import json; print(json.load(open('" + IMAGE_DEFINITIONS + "'))[0]['imageUri'].rsplit(':', 1)[1])\""
    )
    return {
        "version": 0.2,
        "env": {"variables": {"IMAGE_TAG_PARAMETER": image_tag_parameter_name(env, spec)}},
        "phases": {
            "build": {
                "on-failure": "ABORT",
                "commands": [
                    'cd "$CODEBUILD_SRC_DIR"',
                    f'export IMAGE_TAG="$({read_tag})"',
                    'test -n "$IMAGE_TAG"',
                    'aws ssm put-parameter --name "$IMAGE_TAG_PARAMETER" --value "$IMAGE_TAG" --type String --overwrite',
                    'echo "Recorded $IMAGE_TAG as the deployed image of $IMAGE_TAG_PARAMETER"',
                ],
            },
        },
    }


def render_record_buildspec(spec: ServiceSpec, env: EnvironmentSpec, *, scope: Construct) -> str:
    return jsonencode(record_buildspec_document(spec, env), scope=scope)


# What RegisterTaskDefinition accepts of what DescribeTaskDefinition returns (AWS docs, Amazon
# ECS API Reference, "RegisterTaskDefinition" request parameters); the rest (ARN, revision,
# status, compatibilities, registeredAt...) describes the registered revision and is refused.
REGISTER_KEYS = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform", "enableFaultInjection",
)
REVISION_IN = "current-revision.json"
REVISION_OUT = "next-revision.json"


def job_deploy_buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """A job's deploy step, in place of the ECS deploy action (which deploys a service; a job has
    none, infra.service.job): a new revision of the family, a copy of its latest ACTIVE one
    with every container that ran the job's image now running the image just built. The
    schedule runs the family's latest ACTIVE revision, so the next run takes it. Values only
    known at deploy time come as project variables: FAMILY (the workspace's family name) and
    REPOSITORY_URI."""
    if spec.job is None:
        raise ValueError(f"{spec.file}: only a job has a deploy step of its own")
    swap = (
        "import json,sys; current=json.load(open(sys.argv[1])); image, repository=sys.argv[2], sys.argv[3]; "
        "revision=current['taskDefinition']; "
        f"keep={list(REGISTER_KEYS)!r}; "
        "new={k: revision[k] for k in keep if k in revision}; "
        "[c.update(image=image) for c in new['containerDefinitions'] if c['image'].rsplit(':', 1)[0] == repository]; "
        "new.update(tags=current['tags']) if current.get('tags') else None; "
        "json.dump(new, open(sys.argv[4], 'w'))"
    )
    read_image = "python3 -c \"import json; print(json.load(open('" + IMAGE_DEFINITIONS + "'))[0]['imageUri'])\""
    return {
        "version": 0.2,
        "phases": {
            "build": {
                "on-failure": "ABORT",
                "commands": [
                    'test -n "$FAMILY" && test -n "$REPOSITORY_URI"',
                    'cd "$CODEBUILD_SRC_DIR"',
                    f'export IMAGE_URI="$({read_image})"',
                    'test -n "$IMAGE_URI"',
                    f'aws ecs describe-task-definition --task-definition "$FAMILY" --include TAGS --output json > {REVISION_IN}',
                    f'python3 -c "{swap}" {REVISION_IN} "$IMAGE_URI" "$REPOSITORY_URI" {REVISION_OUT}',
                    f"aws ecs register-task-definition --cli-input-json file://{REVISION_OUT}"
                    " --query taskDefinition.taskDefinitionArn --output text",
                    'echo "Registered $IMAGE_URI as the latest revision of $FAMILY: the next scheduled run takes it"',
                ],
            },
        },
    }


def render_job_deploy_buildspec(spec: ServiceSpec, env: EnvironmentSpec, *, scope: Construct) -> str:
    return jsonencode(job_deploy_buildspec_document(spec, env), scope=scope)
