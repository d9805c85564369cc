"""channel_fanout: a SKU's stock changed (the table's stream, STOCK items only) -> a push order
per channel that should hear of it, on the FIFO push queue (message group `{channel}#{sku}`,
deduplicated per stock version). Reads the settings, the SKU's listings and its sync states;
writes nothing to the table. A record that fails is reported alone and retried by Lambda."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shopflow.channels.capability import channels
from shopflow.channels.listings import Listing, listing_for
from shopflow.channels.model import Channel
from shopflow.channels.sync import PushOrder, plan_pushes
from shopflow.observability import logger
from shopflow.stock.model import StockItem

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from shopflow.bootstrap import Runtime


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


def order_message(order: PushOrder, position: int) -> dict[str, str]:
    return {
        "Id": str(position),  # unique within one SendMessageBatch
        "MessageBody": json.dumps({"channel": order.channel, "sku": order.sku, "version": order.version}),
        "MessageGroupId": order.group,
        "MessageDeduplicationId": order.dedup_id[:128],
    }


class ChannelFanout:
    def __init__(self, runtime: Runtime, sqs_client: Callable[[], Any], queue_url: str) -> None:
        self._runtime = runtime
        self._sqs = sqs_client
        self._queue_url = queue_url

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        usable = [c for c in channels(self._runtime.settings.load()) if isinstance(c, Channel) and c.enabled]
        if not usable:  # no channel to keep in step: nothing to read
            return {"batchItemFailures": []}

        def fan_out(record: DynamoDBRecord) -> None:
            image = record.dynamodb.new_image if record.dynamodb else None
            if not image:
                return
            self.fan_out(stock_of_image(dict(image)), usable)

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        return process_partial_response(  # type: ignore[return-value]
            event=event, record_handler=fan_out, processor=processor, context=context
        )

    def fan_out(self, item: StockItem, usable: list[Channel]) -> tuple[PushOrder, ...]:
        runtime = self._runtime
        linked = runtime.listings.linked(item.sku)

        def listing_of(channel: Channel, sku: str) -> Listing | None:
            return listing_for(channel, sku, linked, runtime.catalog.variant_of_sku)

        orders = plan_pushes(item, usable, listing_of, runtime.channel_sync.states_of_sku(item.sku))
        if orders:
            answer = self._sqs().send_message_batch(
                QueueUrl=self._queue_url, Entries=[order_message(order, n) for n, order in enumerate(orders)]
            )
            if answer.get("Failed"):
                raise RuntimeError(f"push orders not queued: {answer['Failed']}")
            logger.info(
                "push orders queued",
                extra={"sku": item.sku, "version": item.version, "channels": [o.channel for o in orders]},
            )
        return orders
