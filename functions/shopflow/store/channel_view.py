"""The owner's reads of the channels (`shopflow channels list|status|resume`): what each SKU is
and shows on each channel, which channels are paused, and how deep the push queue is. What to
show and how is the CLI's (`cli/channels.py`); which listing a SKU is, `channels/listings.py`.

`shop()` is an owner read that SCANS the whole table once (every SKU's stock, the owner's links,
the catalog's variants and the sync states, in one pass): fine for a small shop's table; its
cost grows with the table, so no handler may call it. The rest are single-item reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shopflow.catalog.ports import SkuVariant
from shopflow.channels.sync import SyncState
from shopflow.stock.model import StockItem
from shopflow.store.channel_sync import sync_state_of  # the one parser of a sync state
from shopflow.store.models import (
    ChannelReconciledItem,
    ChannelStateItem,
    InventoryItemLink,
    ListingItem,
    StockLevelItem,
    SyncStateItem,
)
from shopflow.store.stock import parse_time, stock_of

# The item types `shop()` reads (store/models.py): a SKU's numbers, the owner's link of it on a
# channel, the catalog's variant of it on a platform, and its sync state on a channel.
_KINDS = ("STOCK", "LISTING", "CATALOG_LINK", "SYNC", "CHANNEL_RECONCILED")
_VARIANT_PREFIX = "SKUVARIANT#"  # CATALOG_LINK items keyed by SKU (the others by inventory item)


@dataclass(frozen=True)
class Pause:
    """Why a channel is paused, and since when."""

    reason: str
    since: datetime | None


@dataclass(frozen=True)
class ShopView:
    """Everything the owner's channel views need, read in one pass over the table."""

    stock: Mapping[str, StockItem]  # by SKU
    linked: Mapping[str, Mapping[str, str]]  # SKU -> channel -> the listing the owner linked
    variants: Mapping[tuple[str, str], SkuVariant]  # (platform, SKU) -> the catalog's variant
    states: Mapping[str, Mapping[str, SyncState]]  # channel -> SKU -> what the channel shows
    # channel -> its last reconciliation: {"at", "checked", "in_step", "fixed", "reported"}
    reconciled: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def variant_of_sku(self, source: str, sku: str) -> SkuVariant | None:
        """As `DynamoCatalog.variant_of_sku`, from what was read (for `listing_for`)."""
        return self.variants.get((source, sku))


@dataclass(frozen=True)
class QueueDepth:
    """Messages on a queue: waiting, and taken by a consumer but not yet done (in flight)."""

    waiting: int
    in_flight: int

    @property
    def total(self) -> int:
        return self.waiting + self.in_flight


@dataclass(frozen=True)
class PushQueues:
    """The push queue and its dead-letter queue; None where it could not be read (`unknown`)."""

    orders: QueueDepth | None
    dead_letters: QueueDepth | None
    unknown: str | None = None  # why not, when either is None
    urls: dict[str, str] = field(default_factory=dict)  # logical id -> URL, those found


PUSH_QUEUE = "ChannelPushQueue"
DEAD_LETTER_QUEUE = "ChannelPushDeadLetterQueue"


def pause_of(channel: str) -> Pause | None:
    """Why `channel` is paused and since when (one strongly consistent GetItem), or None."""
    try:
        item = ChannelStateItem.get(f"CHANNEL#{channel}", "STATE", consistent_read=True)
    except ChannelStateItem.DoesNotExist:
        return None
    if item.paused_because is None:
        return None
    return Pause(item.paused_because, parse_time(item.paused_at) if item.paused_at else None)


def shop() -> ShopView:
    """Every SKU's stock, links, catalog variants and sync states: ONE filtered Scan of the
    whole table, page by page (raw pages: one pass finds four kinds of item)."""
    stock: dict[str, StockItem] = {}
    linked: dict[str, dict[str, str]] = {}
    variants: dict[tuple[str, str], SkuVariant] = {}
    states: dict[str, dict[str, SyncState]] = {}
    reconciled: dict[str, dict[str, Any]] = {}
    for raw in _scan():
        kind = raw["item_type"]["S"]
        pk, sk = raw["pk"]["S"], raw["sk"]["S"]
        if kind == "STOCK":
            item = stock_of(StockLevelItem.from_raw_data(raw))
            stock[item.sku] = item
        elif kind == "LISTING" and sk.startswith("CHANNEL#"):
            link = ListingItem.from_raw_data(raw)
            linked.setdefault(pk.removeprefix("LISTING#"), {})[sk.removeprefix("CHANNEL#")] = link.listing_id
        elif kind == "CATALOG_LINK" and pk.startswith(_VARIANT_PREFIX):
            found = InventoryItemLink.from_raw_data(raw)
            source = pk.removeprefix(_VARIANT_PREFIX).split(":", 1)[0]
            variants[(source, found.sku)] = SkuVariant(
                source, found.sku, found.product_id, found.variant_id, found.inventory_item_id
            )
        elif kind == "SYNC":
            state = sync_state_of(SyncStateItem.from_raw_data(raw))
            states.setdefault(state.channel, {})[state.sku] = state
        elif kind == "CHANNEL_RECONCILED":
            run = ChannelReconciledItem.from_raw_data(raw)
            reconciled[pk.removeprefix("CHANNEL#")] = {
                "at": run.at,
                "checked": int(run.checked),
                "in_step": int(run.in_step),
                "fixed": int(run.fixed),
                "reported": int(run.reported),
            }
    return ShopView(stock, linked, variants, states, reconciled)


def _scan() -> Iterator[dict[str, Any]]:
    # The model's table connection knows the key schema, which a page's start key needs.
    condition = StockLevelItem.item_type.is_in(*_KINDS)
    table = StockLevelItem._get_connection()
    start: Any = None
    while True:
        page = table.scan(filter_condition=condition, exclusive_start_key=start, consistent_read=True)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def queue_depth(sqs: Any, url: str) -> QueueDepth:
    """A queue's approximate depth (SQS counts are approximate by design)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return QueueDepth(
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def queue_urls_of_stack(cloudformation: Any, table_name: str) -> dict[str, str]:
    """The push queues' URLs of the deployed stack that holds `table_name`: CloudFormation names
    the queues itself, and finds a stack by any of its resources (the table's name is the
    stage's). Raises botocore's errors (no such stack, no permission)."""
    found = {}
    for logical_id in (PUSH_QUEUE, DEAD_LETTER_QUEUE):
        resources = cloudformation.describe_stack_resources(
            PhysicalResourceId=table_name, LogicalResourceId=logical_id
        )["StackResources"]
        if resources:
            found[logical_id] = resources[0]["PhysicalResourceId"]  # a queue's is its URL
    return found
