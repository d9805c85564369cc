"""The owner's reads of stock (`shopflow stock get|list`): a SKU's numbers, its reservations and
its ledger entries, parsed into the stock model's types (`StockItem`, `Reservation`,
`LedgerEntry`); what to show and in which order is the CLI's (`cli/stock.py`).

These are owner reads that SCAN the table: `levels` reads every item to find the `STOCK` ones,
`history` every item to find the reservations and ledger entries whose `skus` hold the SKU.
Fine for a small shop's table; the cost grows with the table (every item read once per
command), so no handler may call them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopflow.stock.model import LedgerEntry, Reservation, StockItem
from shopflow.store.models import ReservationItem, StockLevelItem, StockMoveItem
from shopflow.store.stock import (  # one parser per item
    ledger_entry,
    parse_time,
    reservation_of,
    stock_of,
    stock_pk,
)

_RESERVATION_PREFIX = "RESERVATION#"
_LEDGER_PREFIX = "STOCKMOVE#"


@dataclass(frozen=True)
class StockLevel:
    """A SKU's numbers as stored, with when they last changed."""

    item: StockItem
    updated_at: datetime


@dataclass(frozen=True)
class SkuHistory:
    """What the table holds about one SKU besides its numbers: the reservations that held it
    (not refused requests: they held nothing) and the ledger entries that moved it."""

    reservations: tuple[Reservation, ...]
    ledger: tuple[LedgerEntry, ...]


def level(sku: str) -> StockLevel | None:
    """The SKU's numbers (one strongly consistent GetItem), or None for a SKU shopflow does not know."""
    try:
        return _level(StockLevelItem.get(stock_pk(sku), "STOCK", consistent_read=True))
    except StockLevelItem.DoesNotExist:
        return None


def levels() -> list[StockLevel]:
    """Every SKU's numbers, in no particular order (a filtered Scan of the whole table)."""
    found = StockLevelItem.scan(StockLevelItem.item_type == "STOCK", consistent_read=True)
    return [_level(item) for item in found]


def history(sku: str) -> SkuHistory:
    """The SKU's reservations and ledger entries: ONE filtered Scan of the whole table, page by
    page (`contains(skus, :sku)` on either kind of item), each found item checked again here."""
    reservations: list[Reservation] = []
    ledger: list[LedgerEntry] = []
    for raw in _scan_for(sku):
        pk = raw["pk"]["S"]
        if pk.startswith(_RESERVATION_PREFIX):
            reservation_item = ReservationItem.from_raw_data(raw)
            if sku not in (reservation_item.skus or set()):
                continue
            found = reservation_of(pk.removeprefix(_RESERVATION_PREFIX), reservation_item)
            if isinstance(found, Reservation):  # a refusal held nothing
                reservations.append(found)
        elif pk.startswith(_LEDGER_PREFIX):
            move_item = StockMoveItem.from_raw_data(raw)
            if sku in (move_item.skus or set()):
                ledger.append(ledger_entry(move_item))
    return SkuHistory(tuple(reservations), tuple(ledger))


def _scan_for(sku: str) -> Iterator[dict[str, Any]]:
    # Raw pages, not a model's scan: one pass over the table finds both kinds of item. The
    # model's table connection knows the key schema, which a page's start key needs.
    condition = ReservationItem.skus.contains(sku) & (
        ReservationItem.pk.startswith(_RESERVATION_PREFIX) | ReservationItem.pk.startswith(_LEDGER_PREFIX)
    )
    table = ReservationItem._get_connection()
    start: Any = None
    while True:
        page = table.scan(filter_condition=condition, exclusive_start_key=start, consistent_read=True)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def _level(item: StockLevelItem) -> StockLevel:
    return StockLevel(stock_of(item), parse_time(item.updated_at))
