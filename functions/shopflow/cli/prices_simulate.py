"""`shopflow prices simulate --strategy FILE [--days 30] [--group G] [--json]`: what a strategy
would have done over the last days, next to the current one (docs/pricing.md, "What-if").

It reads the target's settings (the current strategy and the channels), the SKU records, and the
window's input log and daily sales (pricing/recorded.py), replays both strategies in this process
(pricing/simulate.py) and prints the comparison. Nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopflow.target import add_target_arguments, target_from_args

if TYPE_CHECKING:
    from shopflow.config.settings import Settings

PREFIX = "shopflow prices simulate"


def register(actions: Any) -> None:
    """Add `simulate` to `shopflow prices`'s actions."""
    from shopflow.pricing.recorded import MAX_REPLAY_DAYS

    simulate = actions.add_parser(
        "simulate",
        help="replay the last days' competitor prices, costs and sales through a proposed strategy; "
        "changes nothing",
    )
    simulate.add_argument(
        "--strategy",
        required=True,
        metavar="FILE",
        help="the proposed strategy as JSON (as pricing.strategy.<group>)",
    )
    simulate.add_argument(
        "--days",
        type=int,
        default=MAX_REPLAY_DAYS,
        help=f"days to replay, 1 to {MAX_REPLAY_DAYS} ({MAX_REPLAY_DAYS})",
    )
    simulate.add_argument(
        "--group", default="default", help="the SKU group the strategy is for (default: the default group)"
    )
    simulate.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(simulate)
    simulate.set_defaults(run=run)


def _settings(target: Any) -> Settings:
    from shopflow.cli.config import _aws_errors
    from shopflow.config.parameters import current_values, read_stored
    from shopflow.config.settings import Settings

    with _aws_errors(target):
        stored = read_stored(target.stage, target.client("ssm"))
    current = current_values(target.stage, stored)
    return Settings({key: entry.value for key, entry in current.items()})


def run(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from shopflow.cli.target_time import target_now, target_runtime
    from shopflow.pricing.engine import Pricer
    from shopflow.pricing.recorded import MAX_REPLAY_DAYS
    from shopflow.pricing.service import pricing_setup
    from shopflow.pricing.simulate import simulate_stored
    from shopflow.pricing.state import DEFAULT_GROUP, SHARDS
    from shopflow.pricing.strategy import parse_strategy

    if not 1 <= args.days <= MAX_REPLAY_DAYS:
        print(
            f"{PREFIX}: --days must be 1 to {MAX_REPLAY_DAYS} (the input log keeps 40 days)", file=sys.stderr
        )
        return 2
    try:
        text = Path(args.strategy).read_text(encoding="utf-8")
        proposed_plan = parse_strategy(text, args.group).plan()
    except OSError as exc:
        print(f"{PREFIX}: --strategy {args.strategy}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{PREFIX}: --strategy {args.strategy}: {exc}", file=sys.stderr)
        return 2
    target = target_from_args(args)
    settings = _settings(target)
    setup = pricing_setup(settings)
    current = setup.pricer_for(args.group)
    if current is None:
        print(f"{PREFIX}: group {args.group}: {setup.refused[args.group]}", file=sys.stderr)
        return 1
    if not current.terms:
        print(f"{PREFIX}: no channel is priced: set channels.<name>.currency", file=sys.stderr)
        return 1
    channels = [terms.channel for terms in current.terms]
    proposed = Pricer(proposed_plan, channels)
    own = {group for group in (*setup.pricers, *setup.refused) if group != DEFAULT_GROUP}

    def in_group(state: Any) -> bool:
        if args.group == DEFAULT_GROUP:
            return state.group == DEFAULT_GROUP or state.group not in own
        return bool(state.group == args.group)

    kinds = {channel.name: settings.get(f"channels.{channel.name}.kind") for channel in channels}

    def channel_of(source: str) -> str | None:
        """The channel an order's source names, or the first priced channel of that kind."""
        if source in kinds:
            return source
        return next((name for name, kind in sorted(kinds.items()) if kind == source), None)

    runtime = target_runtime(target)
    end = target_now(target)
    start = end - timedelta(days=args.days)

    def progress(shard: int) -> None:  # stderr: --json's output stays one object
        print(f"replaying shard {shard + 1} of {SHARDS}...", file=sys.stderr, flush=True)

    result = simulate_stored(
        runtime.pricing, current, proposed, start, end,
        keep=in_group, channel_of=channel_of, on_shard=progress,
    )  # fmt: skip
    document = {**result.as_dict(), "group": args.group, "channels": [c.name for c in channels]}
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    _print(document, args.days)
    return 0


def _print(document: dict[str, Any], days: int) -> None:
    from shopflow.cli.table import print_table

    current, proposed = document["current"], document["proposed"]
    print(
        f"{document['skus']} SKU(s) of group {document['group']} on {', '.join(document['channels'])}, "
        f"the last {days} day(s) replayed ({document['from'][:16]} to {document['to'][:16]}); nothing changed"
    )
    currencies = sorted({*current["margin"], *proposed["margin"]})
    rows = []
    for label, key in (
        ("prices changed", "prices_changed"),
        ("average change %", "average_change_pct"),
        ("largest change %", "largest_change_pct"),
        ("proposals for you", "proposals"),
    ):
        rows.append({"figure": label, "current": _shown(current[key]), "proposed": _shown(proposed[key])})
    for currency in currencies:
        rows.append(
            {
                "figure": f"margin on {current['units']} unit(s) sold, {currency}",
                "current": _shown(current["margin"].get(currency)),
                "proposed": _shown(proposed["margin"].get(currency)),
            }
        )
    print_table(rows, ("figure", "current", "proposed"))
    if current["unpriced_units"] or proposed["unpriced_units"]:
        print(
            f"  units sold without a price to count (no cost or no price on their channel): "
            f"current {current['unpriced_units']}, proposed {proposed['unpriced_units']}"
        )


def _shown(value: object) -> str:
    return "-" if value is None else str(value)
