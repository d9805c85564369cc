"""The `shopflow` command. `shopflow local`, `demo`, `config` and `orders` arrive with issue #3."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopflow", description="Automation backend for online shops.")
    parser.add_argument("--version", action="version", version=f"shopflow {version('shopflow')}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings", help="print every setting with its type, default and meaning (YAML)")
    args = parser.parse_args(argv)
    if args.command == "settings":
        from shopflow.config.spec import defaults_document

        sys.stdout.write(defaults_document())
    return 0


if __name__ == "__main__":
    sys.exit(main())
