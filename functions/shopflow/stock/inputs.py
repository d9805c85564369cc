"""What the stock master says: absolute counts (`inventory.set`, Shopify's levels) and
adjustments (`inventory.adjusted`), each recorded once with its ledger entry (decision 63).

- `apply_set`: reads the SKU once (a count is absolute: what it moves depends on what is
  there), then one TransactWriteItems: the ledger entry (once per event id) and the SKU, on
  condition its on_hand, safety and sequence are still as read. A sequence not above the
  stored one is stale and changes nothing (answered `ignored`, reason `stale`). The safety
  buffer is set to what `stock.safety` says now.
- `apply_adjustment`: no read: the ledger entry (once per event id) and `on_hand += delta,
  atp += delta` on condition the SKU is known and on_hand stays at or above zero.

Lost races are retried after the kernel's back-off, then `ConcurrentUpdates` (503).

`record_stock_change` and `record_inventory_level` are what the intake calls with a verified
delivery: they answer as every input does (`Intake`: accepted, duplicate or ignored with a
reason, and the SKU's numbers when known).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shopflow.kernel.capability import Intake
from shopflow.kernel.conflicts import (
    MAX_ATTEMPTS,
    ConcurrentUpdates,
    DuplicateDelivery,
    VersionConflict,
    back_off,
)
from shopflow.stock.model import (
    Cause,
    InventoryAdjusted,
    InventorySet,
    LedgerEntry,
    SafetyRules,
    StockItem,
    adjust_movement,
    set_movement,
)
from shopflow.stock.ports import Guard, ReceivedInventoryLevel, ReceivedStockChange, StockRepository

Sleep = Callable[[float], None]


class AdjustmentRefused(Exception):
    """The SKU is unknown, or the adjustment would take on_hand below zero."""


@dataclass(frozen=True)
class StockApplied:
    status: Literal["accepted", "duplicate", "ignored"]
    sku: str
    reason: str | None = None
    item: StockItem | None = None  # the SKU's numbers after the change, when known


def apply_set(
    change: InventorySet,
    repo: StockRepository,
    *,
    event_id: str,
    now: datetime,
    safety: SafetyRules,
    sleep: Sleep = time.sleep,
) -> StockApplied:
    cause = Cause("event", event_id)
    for attempt in range(MAX_ATTEMPTS):
        item = repo.items([change.sku]).get(change.sku)
        if item is not None and item.sequence is not None and change.sequence <= item.sequence:
            if change.sequence == item.sequence and repo.ledger_entry(cause, "set") is not None:
                return StockApplied("duplicate", change.sku, item=item)
            return StockApplied("ignored", change.sku, "stale", item)
        movement = set_movement(item, change, safety.for_sku(change.sku), cause, now)
        work = repo.unit_of_work()
        repo.stage_entry(
            LedgerEntry(cause, "set", now, (movement,), note=f"sequence {change.sequence}"),
            work,
            once=DuplicateDelivery,
        )
        repo.stage_move(
            movement,
            Guard(VersionConflict, exists=item is not None, as_read=item),
            work,
            sequence=change.sequence,
        )
        try:
            work.commit()
        except DuplicateDelivery:
            return StockApplied("duplicate", change.sku)
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        after = movement.applied_to(item or StockItem(change.sku, 0, atp=0))
        return StockApplied("accepted", change.sku, item=after)
    raise ConcurrentUpdates("stock", {"sku": change.sku})


def apply_adjustment(
    change: InventoryAdjusted,
    repo: StockRepository,
    *,
    event_id: str,
    now: datetime,
    sleep: Sleep = time.sleep,
) -> StockApplied:
    cause = Cause("event", event_id)
    movement = adjust_movement(change, cause, now)
    for attempt in range(MAX_ATTEMPTS):
        work = repo.unit_of_work()
        repo.stage_entry(
            LedgerEntry(cause, "adjust", now, (movement,), note=change.reason), work, once=DuplicateDelivery
        )
        repo.stage_move(
            movement,
            Guard(AdjustmentRefused, on_hand_at_least=-change.delta if change.delta < 0 else None),
            work,
        )
        try:
            work.commit()
        except DuplicateDelivery:
            return StockApplied("duplicate", change.sku)
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        except AdjustmentRefused:
            item = repo.items([change.sku]).get(change.sku)
            if item is None:
                return StockApplied("ignored", change.sku, "unknown_sku")
            if item.on_hand + change.delta >= 0:  # counted again meanwhile: it fits now
                back_off(attempt, sleep)
                continue
            return StockApplied("ignored", change.sku, "on_hand_below_zero", item)
        return StockApplied("accepted", change.sku)
    raise ConcurrentUpdates("stock", {"sku": change.sku})


def record_stock_change(
    received: ReceivedStockChange, repo: StockRepository, *, now: datetime, safety: SafetyRules
) -> Intake:
    change = received.change
    if isinstance(change, InventorySet):
        applied = apply_set(change, repo, event_id=received.event_id, now=now, safety=safety)
    else:
        applied = apply_adjustment(change, repo, event_id=received.event_id, now=now)
    return _answer(applied)


def record_inventory_level(
    received: ReceivedInventoryLevel,
    repo: StockRepository,
    *,
    sku_of: Callable[[str, str], str | None],
    master: str,
    location: str | None,
    now: datetime,
    safety: SafetyRules,
) -> Intake:
    """A Shopify level sets the SKU's count only where Shopify is the stock master, at the
    location that counts; its `updated_at` orders the counts (microseconds as the sequence)."""
    ids = {"inventory_item_id": received.inventory_item_id, "location_id": received.location_id}
    if master != received.source:
        return Intake(
            "ignored", ids, f"the stock master is {master}: {received.source} levels are not obeyed"
        )
    if location is not None and received.location_id != location:
        return Intake("ignored", ids, f"location {received.location_id} is not stock.shopify_location")
    sku = sku_of(received.source, received.inventory_item_id)
    if sku is None:
        return Intake("ignored", ids, "unknown inventory item: no product with this variant has arrived yet")
    sequence = int(received.updated_at.timestamp() * 1_000_000)
    change = InventorySet(sku, received.available, sequence, counts="available")
    return _answer(apply_set(change, repo, event_id=received.event_id, now=now, safety=safety), ids)


def _answer(applied: StockApplied, ids: dict[str, str] | None = None) -> Intake:
    details: dict[str, int] = {}
    if applied.item is not None:
        item = applied.item
        assert item.atp is not None
        details = {
            "on_hand": item.on_hand,
            "reserved": item.reserved,
            "committed": item.committed,
            "safety": item.safety,
            "atp": item.atp,
        }
    return Intake(applied.status, {**(ids or {}), "sku": applied.sku}, applied.reason, details)
