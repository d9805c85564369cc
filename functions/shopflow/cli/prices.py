"""`shopflow prices proposals|approve ID|reject ID|reprice|show SKU|history SKU`: the owner's side
of dynamic pricing (docs/pricing.md), as a table or --json.

The commands read the target's settings (SSM) and table and act from this process, as the
functions would: `reprice` is the scheduled run, now; `approve` re-runs the engine for the
proposal's SKU and applies it only if its inputs are unchanged. Time is the target's: a running
`shopflow local`'s clock (which `shopflow local advance` moves), else the machine's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shopflow.cli.table import print_table
from shopflow.cli.target_time import target_runtime
from shopflow.target import Target, add_target_arguments, target_from_args

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.pricing.service import PricingSetup

PREFIX = "shopflow prices"


def register(commands: Any) -> None:
    group = commands.add_parser(
        "prices", help="dynamic pricing: proposals to approve, reprice now, a SKU's prices and history"
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    proposals = actions.add_parser("proposals", help="price changes waiting for your approval, oldest first")
    proposals.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    add_target_arguments(proposals)
    proposals.set_defaults(run=_proposals)
    for name, what, run in (
        ("approve", "apply proposals (each refused if its inputs changed since)", _approve),
        ("reject", "close proposals; the same one is not asked again", _reject),
    ):
        answer = actions.add_parser(name, help=what)
        answer.add_argument(
            "ids", nargs="*", metavar="ID", help="a proposal's id (as `prices proposals` shows)"
        )
        answer.add_argument(
            "--all", action="store_true", help=f"every proposal waiting now ({name} them all)"
        )
        add_target_arguments(answer)
        answer.set_defaults(run=run)
    reprice = actions.add_parser("reprice", help="reprice every SKU now, as the schedule does")
    reprice.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(reprice)
    reprice.set_defaults(run=_reprice)
    show = actions.add_parser(
        "show", help="one SKU: per channel its price, floor, ceiling, 30-day low, last decision"
    )
    show.add_argument("sku")
    show.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(show)
    show.set_defaults(run=_show)
    history = actions.add_parser("history", help="one SKU's applied prices, newest first")
    history.add_argument("sku")
    history.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    history.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    add_target_arguments(history)
    history.set_defaults(run=_history)
    from shopflow.cli.prices_simulate import register as register_simulate

    register_simulate(actions)  # `prices simulate`: the what-if (its own module)


# --- the target ---------------------------------------------------------------------------------


def _setup(target: Target) -> PricingSetup:
    """Pricers from the target's settings (SSM), as the functions read them."""
    from shopflow.cli.config import _aws_errors
    from shopflow.config.parameters import current_values, read_stored
    from shopflow.config.settings import Settings
    from shopflow.pricing.service import pricing_setup

    with _aws_errors(target):
        stored = read_stored(target.stage, target.client("ssm"))
    current = current_values(target.stage, stored)
    return pricing_setup(Settings({key: entry.value for key, entry in current.items()}))


# --- commands -----------------------------------------------------------------------------------


def _proposals(args: argparse.Namespace) -> int:
    runtime = target_runtime(target_from_args(args))
    waiting = [proposal.as_dict() for proposal in runtime.pricing.proposals()]
    if args.json:
        print(json.dumps(waiting, indent=2))
        return 0
    if not waiting:
        print("no proposals wait for you")
        return 0
    _table(
        ("id", "sku", "channel", "old", "new", "change", "why", "proposed"),
        [
            (
                p["id"],
                p["sku"],
                p["channel"],
                p["old"] or "-",
                f"{p['new']} {p['currency']}",
                _change(p["old"], p["new"]),
                f"{p['rule']}: {p['reason']}",
                str(p["proposed_at"])[:16],
            )
            for p in waiting
        ],
    )
    return 0


def _change(old: str | None, new: str | None) -> str:
    if old is None or new is None or float(old) == 0:
        return "new"
    return f"{(float(new) - float(old)) / float(old):+.1%}"


def _chosen(args: argparse.Namespace, runtime: Runtime) -> list[str] | None:
    """The ids named, or with --all every waiting one; None (said why) when neither or both."""
    if bool(args.ids) == bool(args.all):
        print(f"{PREFIX} {args.action}: name proposal ids or give --all (not both)", file=sys.stderr)
        return None
    if args.all:
        return [proposal.proposal_id for proposal in runtime.pricing.proposals()]
    return list(args.ids)


def _approve(args: argparse.Namespace) -> int:
    from shopflow.pricing.handlers import stock_reader
    from shopflow.pricing.reprice import ProposalRefused
    from shopflow.pricing.service import approve_proposal

    target = target_from_args(args)
    runtime, setup = target_runtime(target), _setup(target)
    chosen = _chosen(args, runtime)
    if chosen is None:
        return 2
    refused = 0
    for wanted in chosen:
        try:
            outcome = approve_proposal(
                wanted, runtime.pricing, setup, stock_reader(runtime), runtime.clock.now()
            )
        except ProposalRefused as exc:
            print(f"{PREFIX}: refused: {exc}", file=sys.stderr)
            refused += 1
            continue
        for change in outcome.applied:
            was = f" (was {change.was})" if change.was is not None else ""
            moved = f"{change.old} -> {change.price} {change.currency}{was}"
            print(f"{wanted}: {change.sku} on {change.channel}: {moved}")
    return 1 if refused else 0


def _reject(args: argparse.Namespace) -> int:
    from shopflow.pricing.reprice import ProposalRefused
    from shopflow.pricing.service import reject_proposal

    runtime = target_runtime(target_from_args(args))
    chosen = _chosen(args, runtime)
    if chosen is None:
        return 2
    refused = 0
    for wanted in chosen:
        try:
            outcome = reject_proposal(wanted, runtime.pricing, runtime.clock.now())
        except ProposalRefused as exc:
            print(f"{PREFIX}: {exc}", file=sys.stderr)
            refused += 1
            continue
        [proposal] = outcome.closed
        print(f"{wanted}: rejected ({proposal.sku} on {proposal.channel} stays {proposal.old})")
    return 1 if refused else 0


def _reprice(args: argparse.Namespace) -> int:
    from shopflow.pricing.handlers import shop_price_reader, stock_reader
    from shopflow.pricing.service import reprice_all

    target = target_from_args(args)
    runtime, setup = target_runtime(target), _setup(target)
    if not setup.channels:
        print(f"{PREFIX}: no channel is priced: set channels.<name>.currency", file=sys.stderr)
        return 1
    now = runtime.clock.now()
    report = reprice_all(
        runtime.pricing, setup, stock_reader(runtime), now, shop_prices=shop_price_reader(runtime, setup)
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    decided = ", ".join(f"{count} {status}" for status, count in sorted(report.decisions.items())) or "none"
    print(
        f"repriced {report.skus} SKUs on {', '.join(setup.channels)}: {decided}; "
        f"{report.applied} price(s) applied, {report.opened} proposal(s) opened, "
        f"{report.writes} record(s) written"
    )
    for group, count in report.waiting.items():
        print(f"  {count} SKU(s) of group {group} not repriced: {setup.refused.get(group, '')}")
    return 0


def _show(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    runtime = target_runtime(target)
    state = runtime.pricing.get(args.sku)
    if state is None:
        print(f"{PREFIX}: {args.sku} has no pricing record (no product.pricing_updated yet)", file=sys.stderr)
        return 1
    now = runtime.clock.now()
    document: dict[str, Any] = {
        "sku": state.sku,
        "group": state.group,
        "currency": state.currency,
        "cost": _text(state.cost),
        "min_price": _text(state.min_price),
        "max_price": _text(state.max_price),
        "repriced": state.cost is not None,
        "why_not": None if state.cost is not None else "no cost: send product.pricing_updated with its cost",
        "competitors": {
            name: {
                "price": _text(seen.price),
                "currency": seen.currency,
                "in_stock": seen.in_stock,
                "observed_at": seen.observed_at.isoformat(),
            }
            for name, seen in sorted(state.competitors.items())
        },
        "channels": {
            name: {
                "price": _text(price.price),
                "currency": price.currency,
                "was": _text(price.was),
                "lowest_30d": _text(price.lowest_30d(now)),
                "floor": (price.last or {}).get("floor"),
                "ceiling": (price.last or {}).get("ceiling"),
                "last_decision": dict(price.last) if price.last else None,
                "proposal": price.proposal.as_dict() if price.proposal else None,
            }
            for name, price in sorted(state.channels.items())
        },
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    bounds = f"min {document['min_price'] or '-'}, max {document['max_price'] or '-'}"
    print(
        f"{state.sku} (group {state.group}): cost {document['cost'] or '-'} {state.currency or ''}, {bounds}"
    )
    if document["why_not"]:
        print(f"  not repriced: {document['why_not']}")
    rows: list[tuple[object, ...]] = []
    for name, shown in document["channels"].items():
        last = shown["last_decision"] or {}
        why = f"{last.get('status', '-')}: {last.get('rule', '')} ({last.get('reason', '')})" if last else "-"
        rows.append(
            (
                name,
                f"{shown['price'] or '-'} {shown['currency']}",
                shown["was"] or "-",
                shown["floor"] or "-",
                shown["ceiling"] or "-",
                shown["lowest_30d"] or "-",
                why,
                shown["proposal"]["id"] if shown["proposal"] else "-",
            )
        )
    _table(("channel", "price", "was", "floor", "ceiling", "lowest_30d", "last decision", "proposal"), rows)
    return 0


def _history(args: argparse.Namespace) -> int:
    runtime = target_runtime(target_from_args(args))
    changes = [change.as_dict() for change in runtime.pricing.history(args.sku, args.limit)]
    if args.json:
        print(json.dumps(changes, indent=2))
        return 0
    if not changes:
        print(f"{args.sku}: no price applied yet")
        return 0
    _table(
        ("at", "channel", "old", "price", "was", "rule", "by"),
        [
            (
                str(c["at"])[:16],
                c["channel"],
                c["old"] or "-",
                f"{c['price']} {c['currency']}",
                c["was"] or "-",
                f"{c['rule']} ({c['reason']})",
                c["actor"],
            )
            for c in changes
        ],
    )
    return 0


def _table(columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    print_table([dict(zip(columns, row, strict=True)) for row in rows], columns)


def _text(amount: object) -> str | None:
    from shopflow.pricing.model import text

    return None if amount is None else text(amount)  # type: ignore[arg-type]
