"""Write a Terraform CLI configuration that installs providers from a local mirror.

    TF_PROVIDER_MIRROR=/opt/tf-plugins python -m tools.terraformrc .build/terraformrc

The mirror is a directory in Terraform's filesystem-mirror layout
(<mirror>/registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/...). With the
variable unset nothing is written and Terraform uses the registry as usual.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TEMPLATE = """\
# Generated from TF_PROVIDER_MIRROR={mirror}; do not edit.
provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/*/*"]
  }}
  direct {{
    exclude = ["registry.terraform.io/*/*"]
  }}
}}
"""


def render(mirror: str) -> str:
    path = Path(mirror)
    if not (path / "registry.terraform.io").is_dir():
        raise SystemExit(
            f"error: TF_PROVIDER_MIRROR={mirror}: no registry.terraform.io/ folder inside; "
            "point it at the mirror's root (the folder that holds registry.terraform.io/)"
        )
    return TEMPLATE.format(mirror=path.resolve().as_posix())


def write(target: Path, mirror: str) -> Path:
    text = render(mirror)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    return target


def main(argv: list[str]) -> int:
    mirror = os.environ.get("TF_PROVIDER_MIRROR", "")
    if not mirror:
        return 0
    write(Path(argv[1] if len(argv) > 1 else ".build/terraformrc"), mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
