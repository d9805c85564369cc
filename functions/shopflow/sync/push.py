"""channel_push: push orders (the FIFO queue) -> each channel's adapter, one channel at a time.

A batch's orders are grouped by channel; each channel's are pushed together (the adapter's
batches) from the SKUs' stock as it is now. What a channel's failure means for its orders:

- down, 5xx, throttled beyond the adapter's waits (`Unavailable`, `Throttled`): they stay on the
  queue (reported as failures), in order, and come back after the visibility timeout; after
  `maxReceiveCount` receives they go to the dead-letter queue;
- a refused token (`Unauthorized`) or a setup the channel refuses (`ChannelError`): the channel
  is paused with the reason (`shopflow channels resume NAME` after the fix) and its orders
  dropped: retrying cannot help, and resuming pushes every SKU again;
- a channel removed, disabled or paused: its orders are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shopflow.channels.alerts import AlertLine, ChannelAlert
from shopflow.channels.capability import channels
from shopflow.channels.listings import Listing, listing_for
from shopflow.channels.model import Channel
from shopflow.channels.ports import (
    ChannelAdapter,
    ChannelConfig,
    ChannelError,
    Throttled,
    Unauthorized,
    Unavailable,
)
from shopflow.channels.sync import PushOrder, push_orders
from shopflow.observability import logger
from shopflow.sync.fanout import orders_of

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime

MAX_RECEIVES = 10  # the push queue's maxReceiveCount (template.yaml): 9 waits of 12 minutes


class ChannelPusher:
    def __init__(self, runtime: Runtime, adapter_for: Callable[[ChannelConfig], ChannelAdapter]) -> None:
        self._runtime = runtime
        self._adapter_for = adapter_for

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        by_channel: dict[str, list[tuple[str, PushOrder]]] = {}
        last_tries: set[str] = set()  # messages the dead-letter queue gets if they fail now
        for record in event.get("Records", []):
            for order in orders_of(record["body"]):
                by_channel.setdefault(order.channel, []).append((record["messageId"], order))
            if int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)) >= MAX_RECEIVES:
                last_tries.add(record["messageId"])
        known = {c.name: c for c in channels(self._runtime.settings.load())}
        failed: list[str] = []
        for name, queued in by_channel.items():
            channel = known.get(name)
            if not isinstance(channel, Channel) or not channel.enabled:
                logger.warning("push orders dropped: channel not usable", extra={"channel": name})
                continue
            if (why := self._runtime.channel_sync.paused(name)) is not None:
                logger.info("push orders dropped: channel paused", extra={"channel": name, "reason": why})
                continue
            if not self._push(channel, [order for _, order in queued]):
                failed.extend(dict.fromkeys(message_id for message_id, _ in queued))
                given_up = [order for message_id, order in queued if message_id in last_tries]
                if given_up:  # nothing is retried forever: the owner hears before the DLQ gets them
                    self._runtime.channel_sync.tell(
                        ChannelAlert(
                            name,
                            "gave_up",
                            f"{len(given_up)} push(es) failed {MAX_RECEIVES} times: "
                            "they went to the dead-letter queue",
                            tuple(AlertLine(order.sku, None, None, None) for order in given_up),
                            self._runtime.clock.now(),
                        )
                    )
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def _push(self, channel: Channel, orders: list[PushOrder]) -> bool:
        """Push `channel`'s orders; False when they should be retried later."""
        runtime = self._runtime
        now = runtime.clock.now()
        skus = list(dict.fromkeys(order.sku for order in orders))
        linked = {sku: runtime.listings.linked(sku) for sku in skus}

        def listing_of(of: Channel, sku: str) -> Listing | None:
            return listing_for(of, sku, linked.get(sku, {}), runtime.catalog.variant_of_sku)

        try:
            report = push_orders(
                channel,
                orders,
                adapter=self._adapter_for(channel.config),
                stock=runtime.stock.items(skus),
                listing_of=listing_of,
                store=runtime.channel_sync,
                now=now,
            )
        except (Unavailable, Throttled) as exc:
            logger.warning(
                "channel unavailable: push orders kept", extra={"channel": channel.name, "reason": str(exc)}
            )
            return False
        except (Unauthorized, ChannelError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            runtime.channel_sync.pause(ChannelAlert(channel.name, "paused", reason, (), now))
            logger.error("channel paused", extra={"channel": channel.name, "reason": reason})
            return True
        runtime.channel_sync.add_totals(channel.name, report.listed_change, report.shown_change)
        logger.info(
            "channel pushed",
            extra={
                "channel": channel.name,
                "pushed": len(report.pushed),
                "skipped": len(report.skipped),
                "rejected": [p.listing_id for p in report.pushed if p.status == "rejected"],
            },
        )
        return True
