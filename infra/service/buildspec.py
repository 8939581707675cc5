"""The CodeBuild buildspecs of one service: the build (test, build, push, hand over to the
deploy action), the promotion (copy the image by digest into the next environment's
repository) and the record step (write the deployed digest, after the deployment succeeded).

All are pure functions of the specs, so their text is deterministic and can be tested
without a synthesis. Values only known at deploy time (the repository URI) reach the builds
as CodeBuild environment variables of the project; the buildspecs refer to them by name:

    REPOSITORY_URI       <account>.dkr.ecr.<region>.amazonaws.com/<repository> the image goes to
                         (project variable: the build's and the promotion's target repository)
    TASK_FAMILY          blue/green targets: the task family whose latest revision the deploy
                         action copies (project variable)
    SERVICE_DIR          services/<folder>: the Docker build context (buildspec variable)
    IMAGE_TAG_PARAMETER  /ecs-platform/<prefix>/<name>/image-tag (record buildspec variable, set
                         per deploy action with promote_from; <prefix> is the environment, with
                         the workspace outside `default`)

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
             fail on the push), read its digest from ECR and write what the deploy action
             reads: imagedefinitions.json (ECS rolling deploy action) and imageDetail.json,
             and for a blue/green target taskdef.json and appspec.yaml (CodeDeployToECS)

Every image reference handed on is `<repository>@sha256:<digest>`, never a tag: the digest
names one manifest, so what was tested, approved and promoted is what runs. The promotion
pulls the upstream image by that digest, pushes it under the same tag to its own repository
and stops unless ECR reports the same digest there.

The build never writes the tag Terraform deploys from, and its role may not: the build runs
the repository's own code (its tests), and the pipeline's approval and the deployment (circuit
breaker or CodeDeploy, both with rollback) come after it. The record step, a separate project
with its own role, runs after each successful deployment and writes the digest of the image
definitions it deployed to the parameter. A rejected or rolled-back image is never recorded,
so a later `terraform apply` never deploys it.
"""

from __future__ import annotations

import json
import shlex

from constructs import Construct

from infra import naming
from infra.config.specs import DeploymentStrategy, EnvironmentSpec, ServiceSpec
from infra.expressions import jsonencode
from infra.service.delivery import image_tag_parameter_name as _parameter_name

IMAGE_DEFINITIONS = "imagedefinitions.json"
IMAGE_DETAIL = "imageDetail.json"
TASK_DEFINITION_TEMPLATE = "taskdef.json"
APPSPEC = "appspec.yaml"
# What DescribeTaskDefinition returns and RegisterTaskDefinition refuses ("RegisterTaskDefinition",
# ECS API Reference: these are attributes of a registered revision, not parameters).
TASK_DEFINITION_READ_ONLY = (
    "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
    "registeredAt", "registeredBy", "deregisteredAt",
)
PYTHON_RUNTIME = "3.11"


def image_tag_parameter_name(env: EnvironmentSpec, spec: ServiceSpec) -> str:
    """The SSM parameter that holds the service's deployed image tag (written by its pipeline's
    record step; only the record role may write exactly this name)."""
    return _parameter_name(spec.name).format(prefix=naming.PREFIX)


def service_dir(spec: ServiceSpec) -> str:
    """The service's folder in the monorepo: its manifest's folder, whatever its `name`."""
    return f"services/{spec.directory.name}"


def _target_strategy(spec: ServiceSpec, env: EnvironmentSpec) -> DeploymentStrategy:
    """How the environment the build deploys first runs the service: the upstream one with
    `promote_from` (infra.service.delivery), else this one."""
    if env.pipeline.promote_from is not None and spec.upstream_strategy is not None:
        return spec.upstream_strategy
    return spec.deployment.strategy


def _handover_commands(spec: ServiceSpec, strategy: DeploymentStrategy) -> list[str]:
    """The files the deploy action reads, for the image `$REPOSITORY_URI@$IMAGE_DIGEST`, into
    $CODEBUILD_SRC_DIR (AWS CodePipeline User Guide, "Image definitions file reference":
    imagedefinitions.json for the ECS action, imageDetail.json for CodeDeployToECS:
    https://docs.aws.amazon.com/codepipeline/latest/userguide/file-reference.html)."""
    out = '"$CODEBUILD_SRC_DIR/{}"'.format
    image_definitions = json.dumps([{"name": spec.name, "imageUri": "%s"}], separators=(",", ":"))
    image_detail = json.dumps({"ImageURI": "%s", "ImageTags": ["%s"]}, separators=(",", ":"))
    commands = [
        'export IMAGE_URI="$REPOSITORY_URI@$IMAGE_DIGEST"',
        f"printf '{image_definitions}' \"$IMAGE_URI\" > {out(IMAGE_DEFINITIONS)}",
        f"printf '{image_detail}' \"$IMAGE_URI\" \"$IMAGE_TAG\" > {out(IMAGE_DETAIL)}",
        f"cat {out(IMAGE_DEFINITIONS)}",
    ]
    if strategy is DeploymentStrategy.BLUE_GREEN:
        # CodeDeployToECS registers a revision from taskdef.json with the image in place of
        # <IMAGE1_NAME>, and deploys it as the appspec's <TASK_DEFINITION> ("Amazon ECS and
        # CodeDeploy blue-green deploy action reference"); the template is the family's latest
        # revision, the one Terraform registered, so its settings reach the new tasks.
        keep_out = ", ".join(repr(k) for k in TASK_DEFINITION_READ_ONLY)
        to_template = (
            "python3 -c \"import json; d = json.load(open('taskdef-latest.json')); "
            f"[d.pop(k, None) for k in ({keep_out})]; "
            f"[c.update(image='<IMAGE1_NAME>') for c in d['containerDefinitions'] if c['name'] == {spec.name!r}]; "
            f"json.dump(d, open({TASK_DEFINITION_TEMPLATE!r}, 'w'))\""
        )
        appspec = json.dumps(appspec_document(spec), separators=(",", ":"), sort_keys=True)
        commands += [
            'cd "$CODEBUILD_SRC_DIR"',
            'aws ecs describe-task-definition --task-definition "$TASK_FAMILY" --query taskDefinition > taskdef-latest.json',
            to_template,
            f"printf '%s' '{appspec}' > {out(APPSPEC)}",
        ]
    return commands


def handover_files(strategy: DeploymentStrategy) -> list[str]:
    files = [IMAGE_DEFINITIONS, IMAGE_DETAIL]
    if strategy is DeploymentStrategy.BLUE_GREEN:
        files += [TASK_DEFINITION_TEMPLATE, APPSPEC]
    return files


def appspec_document(spec: ServiceSpec) -> dict[str, object]:
    """The AppSpec of a blue/green deployment (CodeDeploy User Guide, "AppSpec 'resources'
    section for Amazon ECS deployments"): the new revision, and the container and port the
    target groups send traffic to. CodePipeline fills in <TASK_DEFINITION>."""
    return {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": "<TASK_DEFINITION>",
                        "LoadBalancerInfo": {"ContainerName": spec.name, "ContainerPort": spec.port},
                    },
                }
            }
        ],
    }


def _read_digest() -> list[str]:
    """IMAGE_DIGEST: the digest ECR holds for $REPOSITORY_NAME:$IMAGE_TAG, checked to be one."""
    return [
        'export IMAGE_DIGEST="$(aws ecr describe-images --repository-name "$REPOSITORY_NAME"'
        ' --image-ids imageTag="$IMAGE_TAG" --query \'imageDetails[0].imageDigest\' --output text)"',
        'echo "$IMAGE_DIGEST" | grep -Eq \'^sha256:[a-f0-9]{64}$\'',
    ]


def _login() -> list[str]:
    return [
        'test -n "$REPOSITORY_URI"',
        'export REGISTRY="$(echo "$REPOSITORY_URI" | cut -d/ -f1)"',
        'export REPOSITORY_NAME="$(echo "$REPOSITORY_URI" | cut -d/ -f2-)"',
        'aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY"',
    ]


def buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """The buildspec as a Python structure (what `render_buildspec` serializes)."""
    src = '"$CODEBUILD_SRC_DIR/$SERVICE_DIR"'
    image = '"$REPOSITORY_URI:$IMAGE_TAG"'
    strategy = _target_strategy(spec, env)
    return {
        "version": 0.2,
        "env": {
            "variables": {"SERVICE_DIR": service_dir(spec)},
            "exported-variables": ["IMAGE_TAG", "IMAGE_DIGEST"],
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
                    *_login(),
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
                    *_read_digest(),
                    *_handover_commands(spec, strategy),
                ],
            },
        },
        "artifacts": {"files": handover_files(strategy)},
    }


def promote_buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """The promotion (`[pipeline] promote_from`): the image the upstream environment runs, by
    its digest, into this environment's repository under the same tag; then the files this
    environment's deploy action reads. Its input is the build's artifact (imageDetail.json)."""
    read = ("python3 -c \"import json; d = json.load(open('" + IMAGE_DETAIL + "')); print({})\"").format
    source_image, source_tag = read("d['ImageURI']"), read("d['ImageTags'][0]")
    return {
        "version": 0.2,
        "env": {"exported-variables": ["IMAGE_TAG", "IMAGE_DIGEST"]},
        "phases": {
            "pre_build": {
                "on-failure": "ABORT",
                "commands": [
                    'cd "$CODEBUILD_SRC_DIR"',
                    f'export SOURCE_IMAGE="$({source_image})"',
                    f'export IMAGE_TAG="$({source_tag})"',
                    'export SOURCE_DIGEST="$(echo "$SOURCE_IMAGE" | cut -d@ -f2)"',
                    # Only a digest is promoted, never a tag that might have moved.
                    'echo "$SOURCE_DIGEST" | grep -Eq \'^sha256:[a-f0-9]{64}$\'',
                    *_login(),
                ],
            },
            "build": {
                "on-failure": "ABORT",
                "commands": [
                    'if aws ecr describe-images --repository-name "$REPOSITORY_NAME"'
                    ' --image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1;'
                    ' then echo "$IMAGE_TAG is already in $REPOSITORY_NAME";'
                    ' else docker pull "$SOURCE_IMAGE" && docker tag "$SOURCE_IMAGE" "$REPOSITORY_URI:$IMAGE_TAG"'
                    ' && docker push "$REPOSITORY_URI:$IMAGE_TAG"; fi',
                    *_read_digest(),
                    # The same manifest, byte for byte, or nothing is promoted.
                    'test "$IMAGE_DIGEST" = "$SOURCE_DIGEST"',
                    'echo "Promoted $SOURCE_IMAGE as $REPOSITORY_URI@$IMAGE_DIGEST"',
                ],
            },
            "post_build": {
                "commands": [
                    'test "$CODEBUILD_BUILD_SUCCEEDING" = "1"',
                    *_handover_commands(spec, spec.deployment.strategy),
                ],
            },
        },
        "artifacts": {"files": handover_files(spec.deployment.strategy)},
    }


def render_promote_buildspec(spec: ServiceSpec, env: EnvironmentSpec, *, scope: Construct) -> str:
    return jsonencode(promote_buildspec_document(spec, env), scope=scope)


def render_buildspec(spec: ServiceSpec, env: EnvironmentSpec, *, scope: Construct) -> str:
    """The buildspec for the project: Terraform's `jsonencode` of the document (JSON, hence YAML)."""
    return jsonencode(buildspec_document(spec, env), scope=scope)


def record_buildspec_document(spec: ServiceSpec, env: EnvironmentSpec) -> dict[str, object]:
    """The record step: the digest the deploy action just rolled out, from its input artifact
    (`<repository>@sha256:...`: what follows the `@`)."""
    read_tag = (
        "python3 -c \"import json; print(json.load(open('" + IMAGE_DEFINITIONS + "'))[0]['imageUri'].split('@', 1)[1])\""
    )
    return {
        "version": 0.2,
        "env": {"variables": {"IMAGE_TAG_PARAMETER": image_tag_parameter_name(env, spec)}},
        "phases": {
            "build": {
                "on-failure": "ABORT",
                "commands": [
                    'cd "$CODEBUILD_SRC_DIR"',
                    f'export IMAGE_DIGEST="$({read_tag})"',
                    'echo "$IMAGE_DIGEST" | grep -Eq \'^sha256:[a-f0-9]{64}$\'',
                    'aws ssm put-parameter --name "$IMAGE_TAG_PARAMETER" --value "$IMAGE_DIGEST" --type String --overwrite',
                    'echo "Recorded $IMAGE_DIGEST as the deployed image of $IMAGE_TAG_PARAMETER"',
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
    with every container that ran the job's image (`<repository>:<tag>` before the first
    recorded digest, `<repository>@sha256:<digest>` after it) now running the image just built. The
    schedule runs the family's latest ACTIVE revision, so the next run takes it. Values only
    known at deploy time come as variables: FAMILY (the workspace's family name) and
    REPOSITORY_URI, the project's, or with `promote_from` each Deploy action's (one project
    registers in the upstream environment's family, then in this one's: infra.service.pipeline).

    The image handed over is `<repository>@sha256:<digest>` (the build's or the promotion's
    imagedefinitions.json). It must be in REPOSITORY_URI, the repository of the family it is
    registered in (the environment's execution role pulls only from its own), and some container
    of the family must run that repository: otherwise the step stops, registering nothing."""
    if spec.job is None:
        raise ValueError(f"{spec.file}: only a job has a deploy step of its own")
    swap = (
        "import json,sys; current=json.load(open(sys.argv[1])); image, repository=sys.argv[2], sys.argv[3]; "
        # `<repository>@sha256:<digest>` or `<repository>:<tag>`: the repository is what precedes them.
        "own=lambda uri: uri.split('@', 1)[0].rsplit(':', 1)[0] == repository; "
        "own(image) or sys.exit('refused: ' + image + ' is not an image of ' + repository); "
        "revision=current['taskDefinition']; "
        f"keep={list(REGISTER_KEYS)!r}; "
        "new={k: revision[k] for k in keep if k in revision}; "
        "swapped=[c.update(image=image) for c in new['containerDefinitions'] if own(c['image'])]; "
        "swapped or sys.exit('refused: no container of ' + new['family'] + ' runs an image of ' + repository); "
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
