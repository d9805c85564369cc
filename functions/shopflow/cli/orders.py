"""`shopflow orders list|get ID`: what shopflow recorded, for the owner (table or --json)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from shopflow.cli.table import print_table
from shopflow.kernel.timeline import TimelineEntry
from shopflow.orders.ports import StoredOrder
from shopflow.target import Target, add_target_arguments, target_from_args


def register(commands: Any) -> None:
    orders = commands.add_parser("orders", help="inspect recorded orders and their timelines")
    actions = orders.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="orders, most recently changed first")
    listing.add_argument("--status", help="only orders in this status (paid, shipped, ...)")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    listing.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    add_target_arguments(listing)
    listing.set_defaults(run=_list)
    get = actions.add_parser("get", help="one order with its lines, customer and timeline")
    get.add_argument("order_id", help="e.g. shopify:450789469 (as `orders list` shows it)")
    get.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(get)
    get.set_defaults(run=_get)


def _store(target: Target) -> Any:
    # Cold start: imported on use, so the other `shopflow` commands load no PynamoDB.
    from shopflow.store.orders import DynamoOrderStore

    target.bind_table()
    return DynamoOrderStore()


def _list(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    found = _store(target).recent()
    if args.status:
        found = [(s, at) for s, at in found if s.order.status.value == args.status]
    found = found[: args.limit]
    rows = [
        {
            "order_id": stored.order.order_id,
            "number": stored.order.number,
            "status": stored.order.status.value,
            "total": str(stored.order.total),
            "currency": stored.order.currency,
            "customer": stored.order.customer.name or stored.order.customer.email or "",
            "updated_at": updated_at,
        }
        for stored, updated_at in found
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no orders in {target.where}")
        return 0
    print_table(rows, ("order_id", "number", "status", "total", "currency", "customer", "updated_at"))
    return 0


def order_report(stored: StoredOrder, timeline: list[TimelineEntry]) -> dict[str, Any]:
    """The `orders get --json` object: the order as recorded, plus its version and timeline."""
    order = stored.order
    document: dict[str, Any] = order.model_dump(mode="json")
    document["version"] = stored.version
    document["timeline"] = [
        {
            "at": entry.at.isoformat(),
            "recorded_at": entry.recorded_at.isoformat(),
            "event": entry.event,
            "status": entry.status,
            "detail": entry.detail,
            "source": entry.source,
        }
        for entry in timeline
    ]
    return document


def _get(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    store = _store(target)
    stored = store.get(args.order_id)
    if stored is None:
        print(f"shopflow orders: no order {args.order_id} in {target.where}", file=sys.stderr)
        return 1
    document = order_report(stored, store.timeline(args.order_id))
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    order = stored.order
    customer = order.customer
    print(f"{order.order_id}  {order.number}  {order.status.value}  {order.total} {order.currency}")
    print(
        f"customer: {customer.name or '-'}  {customer.email or '-'}  {customer.phone or '-'}  "
        f"locale {customer.locale or '-'}"
    )
    for line in order.lines:
        print(f"  {line.quantity} x {line.name}  {line.unit_price} {order.currency}")
    for parcel in order.tracking:
        print(f"  parcel {parcel.carrier or ''} {parcel.number} {parcel.url or ''}".rstrip())
    print("timeline:")
    print_table(
        [
            {"at": e["at"], "event": e["event"], "status": e["status"], "detail": e["detail"]}
            for e in document["timeline"]
        ],
        ("at", "event", "status", "detail"),
    )
    return 0
