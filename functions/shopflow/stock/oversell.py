"""An oversell: a paid order committed more of a SKU than there was to sell. Pure: no AWS.

A paid order is never refused for lack of stock (the money is taken): when its commit drives a
SKU's atp below zero, the order's commit (`stock/orders.py`) builds an `OversellReport` and
stages `oversell_message(report)` into the same unit of work, so the report is written if and
only if the commit is (the transactional outbox, decision 62). The stream carries it to
dispatch, dispatch to the notify queue, and the owner's flow (`stock/flow.py`) emails the owner
at `shop.owner_email`, once: the send-once record is filed under the order.

    report = OversellReport("shopify:1", "#1001", "shopify", (OversoldLine("MUG-01", 3, 2, -2),), now)
    message = oversell_message(report)  # the same id for every commit attempt of that order
    stage_outbox_message(message, OVERSELL_OWED, now, work)  # store/stock_outbox.py
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopflow.kernel.messages import CHANNELS
from shopflow.kernel.outbox import OutboxMessage, outbox_id

STOCK_OVERSOLD = "StockOversold"  # the outbox event (dispatch routes it to the notify queue)
OVERSOLD_KIND = "stock_oversold"  # the owner's message: templates/<locale>/stock_oversold.*
# The messages the event owes (`kind#channel`), which its outbox item names: the pipeline makes
# a send-once record per channel (SMS is off unless the owner switches it on; shopflow knows no
# phone of the owner's, so it would be skipped with that reason).
OVERSELL_OWED: tuple[str, ...] = tuple(f"{OVERSOLD_KIND}#{channel}" for channel in CHANNELS)


class BadOversellEvent(ValueError):
    """A StockOversold event that does not say what was oversold: it goes to the DLQ."""


@dataclass(frozen=True)
class OversoldLine:
    sku: str
    ordered: int  # units of this SKU the order commits
    oversold: int  # units beyond what was there to sell
    atp_after: int  # the SKU's atp after the commit (negative)


@dataclass(frozen=True)
class OversellReport:
    order_id: str
    order_number: str
    source: str
    lines: tuple[OversoldLine, ...]
    at: datetime


def oversell_message(report: OversellReport) -> OutboxMessage:
    """The outbox event announcing `report`. Its id names the order, not the delivery: every
    attempt to commit that order's lines (a retried delivery, a lost race) gives the same id, and
    an order is reported once."""
    if not report.lines:
        raise ValueError(f"an oversell report names at least one SKU (order {report.order_id})")
    if report.at.tzinfo is None:
        raise ValueError("an oversell report's time is aware (UTC)")
    payload = {
        "order_id": report.order_id,
        "order_number": report.order_number,
        "source": report.source,
        "lines": [
            {"sku": line.sku, "ordered": line.ordered, "oversold": line.oversold, "atp_after": line.atp_after}
            for line in report.lines
        ],
        "at": report.at.isoformat(),
    }
    return OutboxMessage(
        outbox_id=outbox_id((f"stock-oversold:{report.order_id}",), STOCK_OVERSOLD),
        event_type=STOCK_OVERSOLD,
        payload=json.dumps(payload, separators=(",", ":")),
    )


def report_from_event(event: Mapping[str, Any]) -> OversellReport:
    """The report a StockOversold event carries (what `oversell_message` wrote)."""
    try:
        lines = tuple(
            OversoldLine(
                sku=str(line["sku"]),
                ordered=int(line["ordered"]),
                oversold=int(line["oversold"]),
                atp_after=int(line["atp_after"]),
            )
            for line in event["lines"]
        )
        at = datetime.fromisoformat(str(event["at"]))
        report = OversellReport(
            order_id=str(event["order_id"]),
            order_number=str(event["order_number"]),
            source=str(event["source"]),
            lines=lines,
            at=at,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadOversellEvent(f"{STOCK_OVERSOLD} without its report: {type(exc).__name__}") from None
    if not lines:
        raise BadOversellEvent(f"{STOCK_OVERSOLD} of order {report.order_id} names no SKU")
    return report
