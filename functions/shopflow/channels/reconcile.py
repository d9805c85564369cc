"""Reconciliation (issue 15, item 6): once a day, and when the owner asks, read what each channel
shows and compare it with what it should show.

- the same: recorded as what the channel shows (the sync state is refreshed);
- off by at most `SMALL_DRIFT` units (a sale the channel made before it heard, a rounding): fixed
  by pushing the right quantity (compare-and-set from what was read);
- off by more, or the SKU oversold (paid orders are owed units): reported to the owner, not
  pushed blindly: a large drift means someone changed the channel by hand or a feed is broken,
  and the owner should look before shopflow overwrites it.
A channel that cannot be read (an outgoing webhook) is skipped. Pure: ports in, a report out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shopflow.channels.model import Channel, published_quantity
from shopflow.channels.ports import ChannelAdapter, Push
from shopflow.channels.sync import SyncState, SyncStore
from shopflow.stock.model import StockItem

SMALL_DRIFT = 2


@dataclass(frozen=True)
class Drift:
    sku: str
    listing_id: str
    shown: int | None  # what the channel shows (None: the listing is gone there)
    wanted: int  # what it should show
    fixed: bool  # pushed back (small drift) or left for the owner
    oversold: int = 0  # paid units the shelf cannot cover (stock's `owed`)


@dataclass(frozen=True)
class Reconciled:
    channel: str
    checked: int
    in_step: int
    drifts: tuple[Drift, ...]

    @property
    def to_report(self) -> tuple[Drift, ...]:
        return tuple(d for d in self.drifts if not d.fixed or d.oversold)


def reconcile(
    channel: Channel,
    adapter: ChannelAdapter,
    listings: Mapping[str, str],
    stock: Mapping[str, StockItem],
    store: SyncStore,
    now: datetime,
) -> Reconciled:
    """`listings`: SKU -> listing id on `channel` (the SKUs shopflow pushes there)."""
    skus = [sku for sku in listings if sku in stock]
    shown: dict[str, int | None] = {}
    ids = [listings[sku] for sku in skus]
    for start in range(0, len(ids), adapter.batch_limit):
        shown.update(adapter.read(ids[start : start + adapter.batch_limit]))
    drifts: list[Drift] = []
    fixes: list[Push] = []
    in_step = 0
    for sku in skus:
        item, listing_id = stock[sku], listings[sku]
        assert item.atp is not None
        wanted = published_quantity(item.atp, channel.rules)
        there = shown.get(listing_id)
        if there == wanted:
            in_step += 1
            store.record(SyncState(channel.name, sku, there, item.version, listing_id, None, now))
            if item.owed:
                drifts.append(Drift(sku, listing_id, there, wanted, True, item.owed))
            continue
        small = there is not None and abs(there - wanted) <= SMALL_DRIFT
        drifts.append(Drift(sku, listing_id, there, wanted, small, item.owed))
        if small:
            fixes.append(Push(listing_id, sku, wanted, there, item.version))
    for start in range(0, len(fixes), adapter.batch_limit):
        batch = fixes[start : start + adapter.batch_limit]
        for answer in adapter.push(batch):
            push = next(p for p in batch if p.listing_id == answer.listing_id)
            if answer.status == "acknowledged":
                store.record(
                    SyncState(channel.name, push.sku, push.quantity, push.version, push.listing_id, None, now)
                )
    return Reconciled(channel.name, len(skus), in_step, tuple(drifts))


def listed_skus(states: Sequence[SyncState]) -> dict[str, str]:
    """SKU -> listing id of the SKUs pushed to a channel (its sync states)."""
    return {state.sku: state.listing_id for state in states if state.listing_id}
