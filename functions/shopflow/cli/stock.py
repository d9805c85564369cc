"""`shopflow stock get SKU|list|waiting`: what can be sold, what holds it, why it moved, what each
channel shows of it and how many shoppers wait for it (table or --json)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from shopflow.cli.channels import print_sku_on_channels, sku_on_channels
from shopflow.cli.table import print_table
from shopflow.stock.model import Reservation, ReservationStatus, StockItem, StockMovement
from shopflow.target import Target, add_target_arguments, target_from_args

if TYPE_CHECKING:
    from shopflow.store.stock_view import SkuHistory, StockLevel

NUMBERS = ("on_hand", "reserved", "committed", "safety", "atp")
DELTAS = ("on_hand", "reserved", "committed", "safety", "atp")  # as a movement's columns show them
# A reservation's hold and its end are movements of the reservation itself (decision 59); a
# committed one's end is the order's `commit` entry, so only these ends are its own movements.
_OWN_ENDS = {ReservationStatus.RELEASED: "release", ReservationStatus.EXPIRED: "expire"}


def register(commands: Any) -> None:
    stock = commands.add_parser("stock", help="inspect stock per SKU: its numbers, holds and history")
    actions = stock.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every SKU, what runs out first on top")
    listing.add_argument(
        "--sort", choices=("atp", "sku"), default="atp", help="atp: lowest first (default); sku: by name"
    )
    listing.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    add_target_arguments(listing)
    listing.set_defaults(run=_list)
    get = actions.add_parser("get", help="one SKU: its numbers, reservations and last movements")
    get.add_argument("sku", help="e.g. MUG-01 (as `stock list` shows it)")
    get.add_argument(
        "--limit", type=_positive, default=20, help="at most this many movements and ended reservations (20)"
    )
    get.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(get)
    get.set_defaults(run=_get)
    waiting = actions.add_parser("waiting", help="SKUs shoppers wait for (back-in-stock), most first")
    waiting.add_argument("sku", nargs="?", help="one SKU: its subscriptions and what became of each")
    waiting.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    add_target_arguments(waiting)
    waiting.set_defaults(run=_waiting)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def _bind(target: Target) -> Any:
    # Cold start: imported on use, so the other `shopflow` commands load no PynamoDB.
    from shopflow.store import stock_view

    target.bind_table()
    return stock_view


def _numbers(item: StockItem) -> dict[str, int]:
    return {name: int(getattr(item, name)) for name in (*NUMBERS, "oversold")}


def _flagged(item: StockItem) -> bool:
    """Paid orders are owed units the shelf cannot cover."""
    return item.owed > 0


def _flag(item: StockItem) -> str:
    if item.owed:
        return "OVERSOLD"
    return "SHORT" if (item.atp or 0) < 0 else ""  # holds or the buffer exceed a lower count


def level_row(level: StockLevel) -> dict[str, Any]:
    """One SKU as `stock list --json` gives it."""
    return {
        "sku": level.item.sku,
        **_numbers(level.item),
        "flagged": _flagged(level.item),
        "owed": level.item.owed,
        "updated_at": level.updated_at.isoformat(),
    }


def _list(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    found = _bind(target).levels()
    if args.sort == "sku":
        found.sort(key=lambda level: level.item.sku)
    else:
        found.sort(key=lambda level: (level.item.atp, level.item.sku))
    rows = [level_row(level) for level in found]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no stock in {target.where}")
        return 0
    for level, row in zip(found, rows, strict=True):
        row["flag"] = _flag(level.item)
        row["updated_at"] = row["updated_at"][:19]
    print_table(rows, ("sku", *NUMBERS, "oversold", "flag", "updated_at"))
    flagged = sum(1 for row in rows if row["flagged"])
    if flagged:
        print(f"{flagged} SKU(s) OVERSOLD: paid orders are owed units the shelf cannot cover")
    return 0


def _movement(movement: StockMovement, note: str | None) -> dict[str, Any]:
    return {
        "at": movement.at.isoformat(),
        "action": movement.action,
        "cause": {"kind": movement.cause.kind, "id": movement.cause.id},
        "deltas": {name: getattr(movement, name) for name in DELTAS},
        "oversold": movement.oversold,
        "note": note,
    }


def _movements(sku: str, history: SkuHistory) -> list[dict[str, Any]]:
    """Every movement of the SKU, newest first: its reservations' holds and own ends, and the
    ledger entries' moves of it (with the entry's note)."""
    found: list[tuple[StockMovement, str | None]] = []
    for reservation in history.reservations:
        found += [(m, None) for m in reservation.movements("reserve", reservation.created_at)]
        end = _OWN_ENDS.get(reservation.status)
        if end is not None and reservation.ended_at is not None:
            found += [(m, None) for m in reservation.movements(end, reservation.ended_at)]
    for entry in history.ledger:
        found += [(m, entry.note) for m in entry.movements]
    found = [(m, note) for m, note in found if m.sku == sku]
    found.sort(key=lambda pair: pair[0].at, reverse=True)
    return [_movement(m, note) for m, note in found]


def _reservation(sku: str, reservation: Reservation) -> dict[str, Any]:
    quantity = sum(line.quantity for line in reservation.lines if line.sku == sku)
    return {
        "reservation_id": reservation.reservation_id,
        "checkout_token": reservation.checkout_token,
        "status": reservation.status.value,
        "quantity": quantity,
        "created_at": reservation.created_at.isoformat(),
        "expires_at": reservation.expires_at.isoformat(),
        "ended_at": reservation.ended_at.isoformat() if reservation.ended_at else None,
    }


def _reservations(sku: str, history: SkuHistory, limit: int) -> list[dict[str, Any]]:
    """Held ones first (soonest to expire first), then the `limit` most recently ended."""
    held = sorted(
        (r for r in history.reservations if r.status is ReservationStatus.HELD), key=lambda r: r.expires_at
    )
    ended = sorted(
        (r for r in history.reservations if r.status is not ReservationStatus.HELD),
        key=lambda r: r.ended_at or r.created_at,
        reverse=True,
    )
    return [_reservation(sku, r) for r in (*held, *ended[:limit])]


def stock_report(level: StockLevel, history: SkuHistory, limit: int) -> dict[str, Any]:
    """The `stock get --json` object: the SKU's numbers, its reservations, its last movements."""
    sku = level.item.sku
    return {
        "sku": sku,
        **_numbers(level.item),
        "flagged": _flagged(level.item),
        "owed": level.item.owed,
        "updated_at": level.updated_at.isoformat(),
        "reservations": _reservations(sku, history, limit),
        "movements": _movements(sku, history)[:limit],
    }


def _get(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    view = _bind(target)
    level = view.level(args.sku)
    if level is None:
        print(f"shopflow stock: no SKU {args.sku} in {target.where}", file=sys.stderr)
        return 1
    report = stock_report(level, view.history(args.sku), args.limit)
    report["channels"] = sku_on_channels(target, level.item)
    report["back_in_stock"] = _waiting_row(_back_in_stock().summary(args.sku), args.sku)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _print_story(report, args.limit)
    return 0


def _signed(number: int) -> str:
    return f"{number:+d}" if number else ""


def _print_story(report: dict[str, Any], limit: int) -> None:
    updated = report["updated_at"][:19]
    print(f"{report['sku']}: {report['atp']} available to promise (atp)   numbers as of {updated} UTC")
    print(
        f"  on hand {report['on_hand']} = atp {report['atp']} + reserved {report['reserved']} "
        f"+ committed {report['committed']} + safety {report['safety']}"
    )
    if report["flagged"]:
        print(f"  OVERSOLD: paid orders are owed {report['owed']} unit(s) the shelf cannot cover")
    elif report["atp"] < 0:
        print("  SHORT: holds and the safety buffer exceed what is on hand; no paid order is owed units")
    if report["oversold"]:
        print(f"  oversold so far: {report['oversold']} unit(s) paid for that were not there to sell")
    waiting = report["back_in_stock"]
    alerted = f"; {waiting['alerted']} alerted so far" if waiting["alerted"] else ""
    print(f"  waiting for it: {waiting['waiting']} shopper(s) (back-in-stock alerts{alerted})")
    print()
    print_sku_on_channels(report["channels"])
    print()
    if report["reservations"]:
        print("reservations (held first, then the last ended):")
        print_table(
            [
                {
                    "reservation": r["reservation_id"],
                    "status": r["status"],
                    "quantity": r["quantity"],
                    "checkout": r["checkout_token"],
                    "since": r["created_at"][:19],
                    "until": (r["ended_at"] or "")[:19] if r["status"] != "held" else r["expires_at"][:19],
                }
                for r in report["reservations"]
            ],
            ("reservation", "status", "quantity", "checkout", "since", "until"),
        )
    else:
        print("reservations: none")
    print()
    if not report["movements"]:
        print("movements: none recorded")
        return
    print(f"movements (newest first, at most {limit}):")
    print_table(
        [
            {
                "at": m["at"][:19],
                "action": m["action"],
                "cause": f"{m['cause']['kind']} {m['cause']['id']}",
                **{name: _signed(m["deltas"][name]) for name in DELTAS},
                "oversold": m["oversold"] or "",
                "note": m["note"] or "",
            }
            for m in report["movements"]
        ],
        ("at", "action", "cause", *DELTAS, "oversold", "note"),
    )


def _back_in_stock() -> Any:
    # Cold start: imported on use (the table is bound by the caller's target).
    from shopflow.store.back_in_stock import DynamoBackInStockStore
    from shopflow.store.orders import DynamoOrderStore

    return DynamoBackInStockStore(DynamoOrderStore())


def _waiting_row(summary: Any, sku: str) -> dict[str, Any]:
    """How many wait for a SKU (`stock waiting --json`, `stock get --json`'s `back_in_stock`)."""
    due = summary.batch_due_at if summary else None
    return {
        "sku": sku,
        "waiting": summary.waiting if summary else 0,
        "alerted": summary.alerted if summary else 0,
        "next_batch_at": due.isoformat() if due else None,
    }


def _subscriptions(args: argparse.Namespace) -> int:
    """`stock waiting SKU`: who asked (masked), when, and what became of it, in queue order."""
    from shopflow.observability import mask

    rows = [
        {
            "subscription_id": subscription.subject_id,
            "contact": mask(subscription.email or subscription.phone or ""),
            "subscribed_at": subscription.subscribed_at.isoformat(),
            "status": subscription.status.value,
            "last": line.detail if line else None,
        }
        for subscription, line in _back_in_stock().of_sku(args.sku)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"nobody asked for {args.sku}")
        return 0
    for row in rows:
        row["subscribed_at"] = row["subscribed_at"][:19]
    print_table(rows, ("contact", "subscribed_at", "status", "last"))
    return 0


def _waiting(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    target.bind_table()
    if args.sku:
        return _subscriptions(args)
    found = sorted(_back_in_stock().every_sku(), key=lambda s: (-s.waiting, s.sku))
    rows = [_waiting_row(summary, summary.sku) for summary in found]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"nobody waits for any SKU in {target.where}")
        return 0
    for row in rows:
        row["next_batch_at"] = (row["next_batch_at"] or "")[:19]
    print_table(rows, ("sku", "waiting", "alerted", "next_batch_at"))
    return 0
