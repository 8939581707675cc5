"""Deploy an environment to moto on loopback, and take it down again.

    python -m tools.local_deploy deploy [--env dev]    # make local-deploy
    python -m tools.local_deploy destroy [--env dev]   # make local-destroy

A thin use of tools/environment.py in local mode (`make deploy ENV=dev LOCAL=1`): `deploy`
starts the emulator (pid, port and log under .local/), synthesizes the environment with every
AWS endpoint of the provider pointing at it into .local/cdktf.out, applies the platform stack
and then the service stacks, and prints what it created. The emulator answers the AWS APIs
but runs no containers, so it prints the resources, not URLs that would not answer.
State files live in .local/ too. `destroy` destroys the service stacks, then the platform,
without asking (an emulator deployment is disposable), and stops the emulator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tools import environment
from tools.environment import log

ROOT = environment.ROOT
STATE_DIR = environment.LOCAL_STATE


def main(argv: Sequence[str] | None = None) -> int:
    from localaws import status, stop_detached

    parser = argparse.ArgumentParser(prog="python -m tools.local_deploy")
    parser.add_argument("action", choices=("deploy", "destroy"))
    parser.add_argument("--env", default="dev")
    args = parser.parse_args(argv)
    state_dir = ROOT / STATE_DIR
    if args.action == "deploy":
        code = environment.run("deploy", root=ROOT, env=args.env, local=True)
        if code == environment.EXIT_OK:
            log("Take it down with: make local-destroy")
        return code
    if status(state_dir) is None:
        log("moto is not running; nothing to destroy")
        return 0
    code = environment.run("destroy", root=ROOT, env=args.env, local=True, auto_approve=True)
    if code == environment.EXIT_OK:
        stop_detached(state_dir)
        log("==> stopped moto")
    return code


if __name__ == "__main__":
    sys.exit(main())
