"""The `shopflow` command.

Each command group lives beside what it works on and has `register(commands)`, which adds
its subparser and sets `run` (a function of the parsed args returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import version

from shopflow.target import TargetError

# Modules with `register(commands)`; imported at start, so they import heavy things lazily.
COMMAND_MODULES: tuple[str, ...] = (
    "shopflow.local.commands",
    "shopflow.orders.commands",
)


def _settings(args: argparse.Namespace) -> int:
    from shopflow.config.spec import defaults_document

    sys.stdout.write(defaults_document())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopflow", description="Automation backend for online shops.")
    parser.add_argument("--version", action="version", version=f"shopflow {version('shopflow')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    settings = commands.add_parser(
        "settings", help="print every setting with its type, default and meaning (YAML)"
    )
    settings.set_defaults(run=_settings)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
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


if __name__ == "__main__":
    sys.exit(main())
