"""The edit loop (`make synth SERVICES=web ENVS=dev`, issue #11): what synthesizing one service
stack loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run main.py as cdktf.json does, then list the project's service modules and the provider
# bindings the process imported.
SCRIPT = """
import json, runpy, sys
sys.path.insert(0, ".")
sys.argv = ["main.py"]
try:
    runpy.run_path("main.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.startswith(("infra.service.", "cdktf_cdktf_provider_aws.")))}))
"""

OPTIONAL_PARTS = {"infra.service.domain", "infra.service.events", "infra.service.job", "infra.service.pipeline",
                  "infra.service.volumes"}


def test_a_service_stack_imports_only_the_optional_parts_it_has(tmp_path: Path) -> None:
    """`web` in dev has no domain, topic, subscription, volume, schedule or pipeline of its own:
    their modules and provider bindings (CodePipeline, CodeBuild, EventBridge, Scheduler,
    Route 53, ACM, EFS, SNS: ~45 ms of CPU beside the kernel's start) stay unimported."""
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", PLATFORM_SERVICES="web",
               PLATFORM_ENVIRONMENTS="dev", CDKTF_OUTDIR=str(tmp_path / "out"))
    env.pop("PLATFORM_SPEEDUPS", None)
    proc = subprocess.run([sys.executable, "-O", "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    modules = set(result["modules"])
    stack = json.loads((tmp_path / "out" / "stacks" / "dev-web" / "cdk.tf.json").read_text())
    assert "aws_codepipeline" not in stack["resource"] and "aws_route53_record" not in stack["resource"]
    assert "infra.service.composer" in modules
    assert not modules & OPTIONAL_PARTS
    for binding in ("codepipeline", "codebuild_project", "scheduler_schedule", "cloudwatch_event_target",
                    "route53_record", "acm_certificate", "efs_access_point", "sns_topic"):
        assert f"cdktf_cdktf_provider_aws.{binding}" not in modules
