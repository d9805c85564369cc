"""The `shopflow` command: the command-line entrypoint (docs/architecture.md, layers).

Each command group has `register(commands)`, which adds its subparser and sets `run` (a
function of the parsed args returning the exit code). The groups are imported at start, so
they import heavy things (PynamoDB, botocore, the local runtime) only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version

from shopflow.cli import channels, config, orders, prices, stock
from shopflow.local import commands as local
from shopflow.target import TargetError

# In the order `shopflow --help` lists them (`config` also adds `settings`, ahead of itself).
COMMAND_GROUPS = (channels, config, local, orders, prices, stock)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopflow", description="Automation backend for online shops.")
    parser.add_argument("--version", action="version", version=f"shopflow {version('shopflow')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except TargetError as exc:
        print(f"shopflow: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
