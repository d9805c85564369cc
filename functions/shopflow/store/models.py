"""The PynamoDB models of shopflow's single table.

Every item lives in one table (`ShopflowTable` in template.yaml) keyed by `pk`/`sk`, so one
transaction can write an order (with its dedup markers), its timeline entry and its outbox items.
`item_type` tells items apart and is what the stream filter selects outbox items by.
Table name and endpoint are bound at run time (`bind_table`), not at import.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


def iso(moment: datetime) -> str:
    """A moment as the table stores it (sortable): `2026-11-28T17:03:00.000000Z`."""
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Item(Model):
    class Meta:
        table_name = "shopflow-unbound"  # replaced by bind_table()
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = UnicodeAttribute()
    # DynamoDB TTL clean-up only ("within a few days"): never used for timing.
    expires_at = NumberAttribute(null=True)


class OrderItem(_Item):
    """pk `ORDER#{order_id}`, sk `ORDER`: the canonical order as JSON, guarded by `version`.

    `document` is compact JSON; an order whose JSON would take the item over 1 KB is stored in
    `document_z` instead (zlib), so every write of it stays one unit (two in a transaction)."""

    version = NumberAttribute()
    status = UnicodeAttribute()
    source = UnicodeAttribute()
    document = UnicodeAttribute(null=True)
    document_z = BinaryAttribute(null=True, legacy_encoding=False)
    updated_at = UnicodeAttribute()  # when shopflow last changed it
    # Digests of the deliveries recorded into this order, newest last (decision 49): its dedup
    # markers, written with it, so a redelivery is found by the read every delivery makes anyway.
    deliveries = UnicodeAttribute(null=True)


class TimelineItem(_Item):
    """pk `ORDER#{order_id}`, sk `TIMELINE#{recorded_at}#{seq}`: one line of the order's history.

    A line whose change announces an event is also that event's outbox item (decision 49):
    `item_type` OUTBOX and the outbox attributes below, so the stream carries it to dispatch."""

    document = UnicodeAttribute()
    outbox_id = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute(null=True)
    payload = UnicodeAttribute(null=True)
    messages = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)


class DedupItem(_Item):
    """pk `DEDUP#{delivery key}`, sk `DEDUP`: this cart delivery was recorded (kept >= 7 days).
    An order keeps its deliveries' markers on its own item (`OrderItem.deliveries`)."""

    order_id = UnicodeAttribute()
    recorded_at = UnicodeAttribute()


class OutboxItem(_Item):
    """pk `OUTBOX#{outbox_id}`, sk `OUTBOX`: an event to publish; the stream carries it to dispatch."""

    outbox_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    payload = UnicodeAttribute()
    # The messages the event owes (`kind#channel ...`): a message with no settled send-once
    # record is one never sent.
    messages = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class MessageItem(_Item):
    """pk `ORDER#{order_id}`, sk `MESSAGE#{kind}#{channel}`: the send-once record of one message.

    Made by notify's first claim (SENDING, with a lease) or by a skip or deferral (PENDING with
    `deferred_until`); then SENT (with the provider's id), FAILED or SKIPPED (with the reason).
    The outbox item of the event that owes it names it from the intake's commit on.
    """

    status = UnicodeAttribute()
    kind = UnicodeAttribute()
    channel = UnicodeAttribute()
    cause = UnicodeAttribute()  # outbox_id of the event that caused it
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    lease_until = UnicodeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    # An attempt whose outcome is unknown (a timeout after the request left): said in the final record.
    uncertain = UnicodeAttribute(null=True)
    deferred_until = UnicodeAttribute(null=True)  # an SMS waiting for the end of quiet hours


class OptOutItem(_Item):
    """pk `CONTACT#{sha256(channel:address)}`, sk `OPTOUT#{channel}`: no more marketing there."""

    channel = UnicodeAttribute()
    recorded_at = UnicodeAttribute()


class MarketingLedgerItem(_Item):
    """pk `CUSTOMER#{sha256(customer)}`, sk `MARKETING`: the customer's last marketing message,
    for the frequency cap across every marketing flow."""

    last_at = UnicodeAttribute()
    last_message = UnicodeAttribute()  # order_id#kind#channel: its own retries pass the cap


class CartItem(_Item):
    """pk `CART#{cart_id}`, sk `CART`: the canonical cart as JSON, guarded by `version`.

    Its messages and timeline live under the same pk, as an order's do under `ORDER#`."""

    version = NumberAttribute()
    status = UnicodeAttribute()
    document = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class BuyerItem(_Item):
    """pk `BUYER#{sha256(buyer key)}`, sk `PLACED#{placed_at}#{order_id}`: the buyer placed this order.

    Written with the order's first details; one per key (customer id, email, phone, cart token),
    so "did they buy since ..." is a range Query per key, whichever identifier a cart has."""

    order_id = UnicodeAttribute()
    placed_at = UnicodeAttribute()
    products = UnicodeAttribute()  # JSON list of the order's product ids and SKUs


class ProductItem(_Item):
    """pk `PRODUCT#{source}:{product_id}`, sk `PRODUCT`: the product as JSON (its tags, for rules)."""

    document = UnicodeAttribute()
    updated_at = UnicodeAttribute()  # the platform's last change: an older delivery does not win


class InventoryItemLink(_Item):
    """A variant as its product last described it, found both ways: pk
    `INVENTORYITEM#{source}:{inventory_item_id}` sk `SKU` (Shopify's levels name the item) and pk
    `SKUVARIANT#{source}:{sku}` sk `VARIANT` (a channel's listing of a SKU)."""

    sku = UnicodeAttribute()
    product_id = UnicodeAttribute()
    variant_id = UnicodeAttribute()
    inventory_item_id = UnicodeAttribute(null=True)
    price = UnicodeAttribute(null=True)  # the platform's selling price, a decimal string


class ListingItem(_Item):
    """pk `LISTING#{sku}`, sk `CHANNEL#{channel}`: the listing the owner linked the SKU to there."""

    listing_id = UnicodeAttribute()
    linked_at = UnicodeAttribute()


class SyncStateItem(_Item):
    """pk `LISTING#{sku}`, sk `SYNC#{channel}`: what the channel last showed of the SKU, at which
    stock version (store/channel_sync.py)."""

    shown = NumberAttribute(null=True)
    version = NumberAttribute()
    listing_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)


class ChannelStateItem(_Item):
    """pk `CHANNEL#{name}`, sk `STATE`: a paused channel and why (a refused token, the breaker)."""

    paused_because = UnicodeAttribute(null=True)
    paused_at = UnicodeAttribute(null=True)


class ChannelStatsItem(_Item):
    """pk `CHANNEL#{name}`, sk `STATS`: what the channel shows in all (SKUs above 0, units), as
    acknowledged pushes add up: the breaker's base."""

    listed = NumberAttribute(null=True)
    shown = NumberAttribute(null=True)


class ChannelReconciledItem(_Item):
    """pk `CHANNEL#{name}`, sk `RECONCILED`: the channel's last reconciliation (the owner's view)."""

    at = UnicodeAttribute()
    checked = NumberAttribute()
    in_step = NumberAttribute()
    fixed = NumberAttribute()
    reported = NumberAttribute()


class StockLevelItem(_Item):
    """pk `STOCK#{sku}`, sk `STOCK`: a SKU's numbers (stock/model.py). `atp` is stored so a
    condition can guard it (`atp >= :quantity`); every write moves it with what it changes."""

    on_hand = NumberAttribute()
    reserved = NumberAttribute()
    committed = NumberAttribute()
    safety = NumberAttribute()
    atp = NumberAttribute()
    oversold = NumberAttribute(default=0)  # units ever paid for beyond what was there
    sequence = NumberAttribute(null=True)  # the highest `inventory.set` sequence applied
    # +1 on every write: orders the SKU's changes for the channels (a push never goes back)
    version = NumberAttribute(default=0)
    # What the last write was caused by (event, order, reservation): the channels' breaker
    # weighs only the stock master's inputs (a run of sales is no bad feed).
    last_cause = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class CheckoutHoldItem(_Item):
    """pk `CHECKOUT#{checkout_token}`, sk `HOLD`: the checkout's latest reservation, written with
    it, so a paid order that names only its checkout finds its hold with one read."""

    reservation_id = UnicodeAttribute()
    lines = UnicodeAttribute()  # as the reservation's


class StockMoveItem(_Item):
    """pk `STOCKMOVE#{cause kind}#{cause id}` (an inventory event's webhook-id, an order id), sk
    the action (`set`, `adjust`, `commit`, `ship`, `release`): one input's ledger entry
    (stock/model.py `LedgerEntry`), written in the transaction that moves the SKUs. `moves` is
    JSON `[[sku, atp, reserved, committed, on_hand, safety, oversold], ...]` (deltas)."""

    skus = UnicodeSetAttribute()  # a SKU's history: scan on `contains(skus, :sku)`
    action = UnicodeAttribute()
    at = UnicodeAttribute()
    moves = UnicodeAttribute()
    note = UnicodeAttribute(null=True)


class ReservationItem(_Item):
    """pk `RESERVATION#{reservation_id}`, sk `RESERVATION`: a checkout's hold, its lines as JSON
    (`[[sku, quantity], ...]`), and its end; put on condition it does not exist, so it is also
    the request's dedup marker. `status` `refused` records a request that held nothing, with
    what was short, so its retry is answered the same (kept for `dedup.retention_days`)."""

    checkout_token = UnicodeAttribute()
    status = UnicodeAttribute()
    lines = UnicodeAttribute()
    skus = UnicodeSetAttribute()  # for the owner's look-up of a SKU's reservations
    created_at = UnicodeAttribute()
    hold_until = UnicodeAttribute(null=True)  # `expires_at` is the table's TTL attribute
    ended_at = UnicodeAttribute(null=True)
    short = UnicodeAttribute(null=True)  # a refusal's `[[sku, requested, available], ...]`


class BackInStockItem(_Item):
    """Back-in-stock alerts (store/back_in_stock.py): a subscription (pk `BISSUB#{contact}#{sku}`,
    sk `SUBSCRIPTION`), its place in the SKU's queue (pk `BIS#{sku}`, sk `WAIT#{subscribed_at}#...`)
    and the SKU's count and restock run (pk `BIS#{sku}`, sk `SUMMARY`)."""

    document = UnicodeAttribute(null=True)  # the subscription's JSON (subscription, queue entry)
    status = UnicodeAttribute(null=True)  # the subscription's, for its conditions
    sku = UnicodeAttribute(null=True)
    waiting = NumberAttribute(null=True)
    alerted = NumberAttribute(null=True)
    batch_due_at = UnicodeAttribute(null=True)  # the next batch of a restock's run in progress
    batch_taken = UnicodeAttribute(null=True)  # the last batch run (its batch_id): fired twice, run once
    last_restock_at = UnicodeAttribute(null=True)


class TimerIndex(GlobalSecondaryIndex["TimerItem"]):  # type: ignore[no-untyped-call]
    """Sparse: only timer items carry `timer_shard`, so a sweep reads just what is due.

    `timer_shard` is `t#{hour}#{shard}` (decision 47): the hour bucket a timer is due in (or was
    armed in, if already due) and one of 16 shards, so writes spread over more keys as timers
    spread over time; items armed before that carry `timers#0..3` and are still swept."""

    class Meta:
        index_name = "timers"
        projection = AllProjection()

    timer_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class TimerItem(_Item):
    """pk `TIMER#{timer_id}`, sk `TIMER`: a delayed action, found by the sweep through `timers`."""

    timer_shard = UnicodeAttribute()
    due_at = UnicodeAttribute()
    action = UnicodeAttribute()
    payload = UnicodeAttribute()
    timers = TimerIndex()


class SweepWatermarkItem(_Item):
    """pk `SWEEP`, sk `WATERMARK`: the oldest hour bucket of `timers` that may still hold timers.
    Only moved forward, by a conditional put, so overlapping sweeps never move it back."""

    bucket = UnicodeAttribute()  # e.g. 2026-11-28T16
    updated_at = UnicodeAttribute()


class PriceRecordItem(_Item):
    """pk `PRICES#{shard}`, sk `SKU#{sku}`: a SKU's pricing (pricing/state.py) as JSON, guarded by
    `version`. Sharded by SKU so a reprice reads each shard's page by page, one shard per message."""

    version = NumberAttribute()
    document = UnicodeAttribute(null=True)
    document_z = BinaryAttribute(null=True, legacy_encoding=False)  # zlib, when over 1 KB


class PriceHistoryItem(_Item):
    """pk `PRICEHIST#{sku}`, sk `{applied_at}#{channel}`: one applied price (append-only, Omnibus)."""

    document = UnicodeAttribute()


class PriceProposalItem(_Item):
    """pk `PRICEPROPOSALS`, sk `{proposed_at}#{proposal_id}`: a proposal waiting for the owner,
    listed by one Query (a small shop has few; each is also on its SKU's record)."""

    document = UnicodeAttribute()


class PricingRunItem(_Item):
    """pk `PRICING`, sk `RUN`: when the last scheduled reprice began (claimed by a conditional put)."""

    started_at = UnicodeAttribute()


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB number read and written as an exact `Decimal` (money; `NumberAttribute` is float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class PriceLogItem(_Item):
    """pk `PRICELOG#{shard}#{yyyy-mm-dd}`, sk `OBS#{sku}#{observed_at}#{competitor}` or
    `INPUTS#{sku}#{at}`: a recorded pricing input, kept ~40 days for `shopflow prices simulate`
    (append-only, written with the SKU's record). By shard and day, so a replay reads a window
    with a Query per shard and day, not one per SKU."""

    document = UnicodeAttribute()


class PriceSalesItem(_Item):
    """pk `PRICESALES#{shard}#{yyyy-mm-dd}`, sk `{sku}#{source}`: the units and revenue of a SKU's
    orders from one source on one day (ADDed by each order's commit), kept ~40 days."""

    units = NumberAttribute(null=True)
    revenue = DecimalAttribute(null=True)
    currency = UnicodeAttribute(null=True)


MODELS: tuple[type[_Item], ...] = (
    OrderItem,
    TimelineItem,
    DedupItem,
    OutboxItem,
    MessageItem,
    OptOutItem,
    MarketingLedgerItem,
    TimerItem,
    SweepWatermarkItem,
    CartItem,
    BuyerItem,
    ProductItem,
    InventoryItemLink,
    ListingItem,
    SyncStateItem,
    ChannelStateItem,
    ChannelStatsItem,
    ChannelReconciledItem,
    StockLevelItem,
    ReservationItem,
    StockMoveItem,
    CheckoutHoldItem,
    BackInStockItem,
    PriceRecordItem,
    PriceHistoryItem,
    PriceProposalItem,
    PricingRunItem,
    PriceLogItem,
    PriceSalesItem,
)


def bind_table(table_name: str, *, region: str | None = None) -> None:
    """Point every model at `table_name`. The endpoint (DynamoDB Local, moto) comes from
    botocore's own `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`, as for every client."""
    _Item.Meta.table_name = table_name
    _Item.Meta.region = region
    every: tuple[type[Model], ...] = (_Item, *MODELS)
    for model in every:
        model._connection = None  # PynamoDB caches a connection per class


def connection_settings() -> dict[str, Any]:
    return {"region": _Item.Meta.region}
