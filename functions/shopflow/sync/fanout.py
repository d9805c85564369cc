"""channel_fanout: SKUs' stock changed, or a SKU was listed on a channel (the table's stream:
STOCK, LISTING and catalog link items) -> a push order per
channel that should hear of each, on the FIFO push queue: up to a hundred orders of one channel
a message, the channel being the message group (decision 67), deduplicated by what it orders.

A batch is weighed as a whole before anything is queued: the breaker (channels/breaker.py)
adds up what the batch's orders would take away from each channel and, if that trips it,
pauses the channel and queues none of its orders. Reads the settings, each SKU's listings and
sync states; writes only a pause. A record whose reads fail is
reported (Lambda retries from it); a failure to queue fails the batch (re-sent orders are
deduplicated by their id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shopflow.channels.alerts import AlertLine, ChannelAlert
from shopflow.channels.breaker import Cuts, trips
from shopflow.channels.capability import channels
from shopflow.channels.listings import Listing, listing_for
from shopflow.channels.model import Channel
from shopflow.channels.sync import ORDERS_PER_MESSAGE, PushOrder, plan_pushes, planned_cuts
from shopflow.observability import logger
from shopflow.stock.model import StockItem

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime

_SQS_BATCH = 10  # SendMessageBatch takes ten


def stock_of_image(image: dict[str, Any]) -> StockItem:
    """A STOCK item's stream image (deserialized) as the SKU's numbers."""

    def number(name: str) -> int:
        return int(image.get(name) or 0)

    return StockItem(
        sku=str(image["pk"]).removeprefix("STOCK#"),
        on_hand=number("on_hand"),
        reserved=number("reserved"),
        committed=number("committed"),
        safety=number("safety"),
        atp=number("atp"),
        oversold=number("oversold"),
        version=number("version"),
    )


def orders_message(orders: Sequence[PushOrder], position: int) -> dict[str, str]:
    """One SendMessageBatch entry for `orders`, all of one channel."""
    channel = orders[0].channel
    assert all(order.channel == channel for order in orders)
    pairs = sorted((order.sku, order.version) for order in orders)
    digest = hashlib.sha256(json.dumps([channel, pairs]).encode()).hexdigest()
    return {
        "Id": str(position),  # unique within one SendMessageBatch
        "MessageBody": json.dumps({"channel": channel, "orders": [[sku, version] for sku, version in pairs]}),
        "MessageGroupId": channel,
        "MessageDeduplicationId": digest,  # the same orders queued again within 5 minutes: dropped
    }


def listed_sku(image: dict[str, Any]) -> str | None:
    """The SKU a listing record (the owner's link, or a catalog variant) lists, or None."""
    if image.get("item_type") == "LISTING" and str(image.get("sk", "")).startswith("CHANNEL#"):
        return str(image["pk"]).removeprefix("LISTING#")
    if image.get("item_type") == "CATALOG_LINK" and image.get("sk") == "VARIANT":
        return str(image.get("sku") or "") or None
    return None


def orders_of(body: str) -> list[PushOrder]:
    """A queue message's orders (what `orders_message` wrote)."""
    message = json.loads(body)
    channel = str(message["channel"])
    return [PushOrder(channel, str(sku), int(version)) for sku, version in message["orders"]]


class ChannelFanout:
    def __init__(self, runtime: Runtime, sqs_client: Callable[[], Any], queue_url: str) -> None:
        self._runtime = runtime
        self._sqs = sqs_client
        self._queue_url = queue_url

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        sync = self._runtime.channel_sync
        usable = [
            c
            for c in channels(self._runtime.settings.load())
            if isinstance(c, Channel) and c.enabled and sync.paused(c.name) is None
        ]
        if not usable:  # no channel to keep in step: nothing more to read
            return {"batchItemFailures": []}
        from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBStreamEvent

        items: list[tuple[str | None, StockItem, bool]] = []
        linked: dict[str, str | None] = {}  # SKUs newly listed somewhere -> their record's sequence
        failed: list[str | None] = []
        for record in DynamoDBStreamEvent(event).records:  # images deserialized, as dispatch reads them
            image = record.dynamodb.new_image if record.dynamodb else None
            sequence = record.dynamodb.sequence_number if record.dynamodb else None
            if not image:
                continue
            if image.get("item_type") == "STOCK":
                # Only the stock master's inputs count for the breaker: a run of sales is no bad feed.
                weighed = image.get("last_cause") == "event"
                items.append((sequence, stock_of_image(dict(image)), weighed))
            elif (sku := listed_sku(dict(image))) is not None:
                linked.setdefault(sku, sequence)
        if linked:  # a SKU linked to a listing is pushed there as its stock is now
            current = self._runtime.stock.items(linked)
            items += [(linked[sku], item, False) for sku, item in current.items()]
        orders: list[PushOrder] = []
        cuts: dict[str, Cuts] = {}
        lines: dict[str, list[AlertLine]] = {}  # what each channel would lose, for the owner
        for sequence, item, weighed in items:
            try:
                planned, taken = self.plan(item, usable)
            except Exception:
                logger.exception("stock change not fanned out", extra={"sku": item.sku})
                failed.append(sequence)  # Lambda retries from the first failed record
                break
            orders += planned
            for name, (cut, line) in taken.items() if weighed else ():
                cuts[name] = cuts.get(name, Cuts()) + cut
                lines.setdefault(name, []).append(line)
        tripped = self.weigh(cuts, lines)
        self.queue([order for order in orders if order.channel not in tripped])
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}

    def plan(
        self, item: StockItem, usable: list[Channel]
    ) -> tuple[list[PushOrder], dict[str, tuple[Cuts, AlertLine]]]:
        """`item`'s push orders, and what each would take away from its channel."""
        runtime = self._runtime
        linked = runtime.listings.linked(item.sku)

        def listing_of(channel: Channel, sku: str) -> Listing | None:
            return listing_for(channel, sku, linked, runtime.catalog.variant_of_sku)

        states = runtime.channel_sync.states_of_sku(item.sku)
        orders = plan_pushes(item, usable, listing_of, states)
        taken = {}
        for name, cut in planned_cuts(item, orders, usable, states).items():
            state = states.get(name)
            shown = state.shown if state else None
            wanted = (shown or 0) - cut.units if cut.units else None
            taken[name] = (cut, AlertLine(item.sku, state.listing_id if state else None, shown, wanted))
        return list(orders), taken

    def weigh(self, cuts: dict[str, Cuts], lines: dict[str, list[AlertLine]]) -> set[str]:
        """The channels this run's cuts trip the breaker on, paused (the owner told, with what
        they would have lost)."""
        runtime = self._runtime
        now = runtime.clock.now()
        tripped = set()
        for name, cut in cuts.items():
            if cut == Cuts():
                continue
            if (why := trips(runtime.channel_sync.totals(name), cut)) is not None:
                taken = tuple(line for line in lines.get(name, ()) if line.wanted is not None)
                runtime.channel_sync.pause(ChannelAlert(name, "breaker", f"breaker: {why}", taken, now))
                logger.error("channel paused by the breaker", extra={"channel": name, "reason": why})
                tripped.add(name)
        return tripped

    def queue(self, orders: list[PushOrder]) -> None:
        latest: dict[tuple[str, str], PushOrder] = {}  # one order per (channel, SKU): its latest
        for order in orders:
            known = latest.get((order.channel, order.sku))
            if known is None or known.version < order.version:
                latest[(order.channel, order.sku)] = order
        by_channel: dict[str, list[PushOrder]] = {}
        for order in latest.values():
            by_channel.setdefault(order.channel, []).append(order)
        chunks = [
            channel_orders[start : start + ORDERS_PER_MESSAGE]
            for channel_orders in by_channel.values()
            for start in range(0, len(channel_orders), ORDERS_PER_MESSAGE)
        ]
        for start in range(0, len(chunks), _SQS_BATCH):
            batch = chunks[start : start + _SQS_BATCH]
            answer = self._sqs().send_message_batch(
                QueueUrl=self._queue_url, Entries=[orders_message(chunk, n) for n, chunk in enumerate(batch)]
            )
            if answer.get("Failed"):
                raise RuntimeError(f"push orders not queued: {answer['Failed']}")
        if orders:
            logger.info("push orders queued", extra={"orders": len(orders)})
