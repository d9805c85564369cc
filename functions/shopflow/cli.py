"""The `shopflow` command.

Each command group lives beside what it works on and has `register(commands)`, which adds
its subparser and sets `run` (a function of the parsed args returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from typing import Any

from shopflow.target import TargetError

# Modules with `register(commands)`; imported at start, so they import heavy things lazily.
COMMAND_MODULES: tuple[str, ...] = (
    "shopflow.config.commands",
    "shopflow.local.commands",
    "shopflow.orders.commands",
)


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Rows as aligned columns under upper-case headings (the CLI's readable form)."""
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())


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
