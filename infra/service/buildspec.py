"""The CodeBuild buildspec of one service: test, build, push, record the tag, hand over to ECS.

`render_buildspec` is a pure function of the specs, so its text is deterministic and can
be tested without a synthesis. Values only known at deploy time (the repository URI, the
KMS key of the tag parameter) reach the build as CodeBuild environment variables of the
project; the buildspec refers to them by name:

    REPOSITORY_URI       <account>.dkr.ecr.<region>.amazonaws.com/<repository> (project variable)
    TAG_PARAMETER_KEY    the KMS key the tag parameter is encrypted with (project variable)
    SERVICE_DIR          services/<name>: the Docker build context (buildspec variable)
    IMAGE_TAG_PARAMETER  /ecs-platform/<env>/<name>/image-tag (buildspec variable)

The document is written with `json.dumps`: YAML is a superset of JSON, so the text is a
valid buildspec and its key order is the order below, always. It never contains "${" or
"%{": the text is embedded in Terraform JSON, where those start an interpolation.

Order of the phases, and why each guard exists:
  pre_build  log in to ECR; IMAGE_TAG = the first 12 characters of the source revision
  build      install the app's requirements and run its tests FIRST, then `docker build`;
             `on-failure: ABORT` on every phase before post_build, because CodeBuild runs
             post_build even after a failed build phase by default
  post_build only when the build succeeded: push the image (skipped when the tag already
             exists: ECR tags are immutable, so a retried run of the same commit must not
             fail on the push), write the tag to the SSM parameter Terraform reads, and
             write imagedefinitions.json for the ECS deploy action
"""

from __future__ import annotations

import json
import shlex

from infra.service.roles import image_tag_parameter_name as _parameter_name  # noqa: F401
from infra.config.specs import EnvironmentSpec, ServiceSpec

IMAGE_DEFINITIONS = "imagedefinitions.json"
PYTHON_RUNTIME = "3.11"


def image_tag_parameter_name(env: EnvironmentSpec, spec: ServiceSpec) -> str:
    """The SSM parameter that holds the service's current image tag (written by its pipeline;
    its build role may write exactly this name)."""
    return _parameter_name(env.name, spec.name)


def service_dir(spec: ServiceSpec) -> str:
    return f"services/{spec.name}"


def buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """The buildspec as a Python structure (what `render_buildspec` serializes)."""
    src = '"$CODEBUILD_SRC_DIR/$SERVICE_DIR"'
    image = '"$REPOSITORY_URI:$IMAGE_TAG"'
    image_definitions = json.dumps([{"name": spec.name, "imageUri": "%s"}], separators=(",", ":"))
    return {
        "version": 0.2,
        "env": {
            "variables": {
                "SERVICE_DIR": service_dir(spec),
                "IMAGE_TAG_PARAMETER": image_tag_parameter_name(env, spec),
            },
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
                    'aws ssm put-parameter --name "$IMAGE_TAG_PARAMETER" --value "$IMAGE_TAG"'
                    ' --type SecureString --key-id "$TAG_PARAMETER_KEY" --overwrite',
                    f"printf '{image_definitions}' {image} > \"$CODEBUILD_SRC_DIR/{IMAGE_DEFINITIONS}\"",
                    f'cat "$CODEBUILD_SRC_DIR/{IMAGE_DEFINITIONS}"',
                ],
            },
        },
        "artifacts": {"files": [IMAGE_DEFINITIONS]},
    }


def render_buildspec(spec: ServiceSpec, env: EnvironmentSpec) -> str:
    """The buildspec text (JSON, hence YAML), identical for identical specs."""
    return json.dumps(buildspec_document(spec, env), indent=2) + "\n"
