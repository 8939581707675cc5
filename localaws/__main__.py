"""CLI: ``python -m localaws {start,stop,status,serve}``.

* ``start --dir .local [--port N]`` -- detached server; writes moto.pid, moto.port,
  moto.log into the directory, waits until it answers, prints the endpoint URL.
* ``stop --dir .local`` -- stops it (idempotent) and removes the pid/port files.
* ``status --dir .local`` -- prints the URL and exits 0 if running, else exits 1.
* ``serve [--port N]`` -- foreground server (Ctrl-C / SIGTERM to stop).
"""

from __future__ import annotations

import argparse
import sys

from .server import serve_forever, start_detached, status, stop_detached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_start = sub.add_parser("start", help="start a detached server")
    p_start.add_argument("--dir", default=".local", help="state directory (default: .local)")
    p_start.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p_start.add_argument("--timeout", type=float, default=60.0)

    p_stop = sub.add_parser("stop", help="stop the detached server (idempotent)")
    p_stop.add_argument("--dir", default=".local")

    p_status = sub.add_parser("status", help="print the URL if running (exit 1 if not)")
    p_status.add_argument("--dir", default=".local")

    p_serve = sub.add_parser("serve", help="run in the foreground")
    p_serve.add_argument("--port", type=int, default=0)
    p_serve.add_argument("--port-file", default=None, help=argparse.SUPPRESS)

    args = parser.parse_args(argv)
    if args.command == "start":
        print(start_detached(args.dir, port=args.port, timeout=args.timeout))
        return 0
    if args.command == "stop":
        stopped = stop_detached(args.dir)
        print("stopped" if stopped else "not running", file=sys.stderr)
        return 0
    if args.command == "status":
        url = status(args.dir)
        if url:
            print(url)
            return 0
        print("not running", file=sys.stderr)
        return 1
    serve_forever(port=args.port, port_file=args.port_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
