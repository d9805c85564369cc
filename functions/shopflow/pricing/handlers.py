"""Pricing's two functions: `pricing_reprice` (the schedule, and one shard per reprice-queue message)
and `price_push` (each `PriceChanged` from the price push queue -> the channel's adapter).

- Once a day (`DIGEST_INPUT`) the owner is emailed the proposals waiting (pricing/digest.py).
- Every 5 minutes the schedule claims a run if `pricing.every_minutes` have passed since the last
  (one conditional write: two overlapping schedules start one run) and queues one message per
  shard; each message reprices its shard in its own invocation (100,000 SKUs: 6,250 each).
- A push sends the SKU's price as its record holds it now (the latest wins; an older event for
  the same SKU sends nothing new), to the listing the channels capability knows. A channel down
  or throttled: its messages come back after the visibility timeout, then the dead-letter queue.
  A refused token: logged and dropped (the stock sync pauses the channel and tells the owner).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shopflow.channels.capability import channels
from shopflow.channels.listings import listing_for
from shopflow.channels.model import Channel
from shopflow.channels.ports import (
    ChannelAdapter,
    ChannelConfig,
    ChannelError,
    PricePush,
    Throttled,
    Unavailable,
)
from shopflow.observability import logger
from shopflow.pricing.digest import DIGEST_INPUT, announce_waiting
from shopflow.pricing.service import PricingSetup, RepriceReport, ShopPrices, pricing_setup, reprice_shard
from shopflow.pricing.settings import enabled
from shopflow.pricing.state import SHARDS

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime

_SEND_BATCH = 10  # SendMessageBatch's limit


def stock_reader(runtime: Runtime) -> Callable[[Sequence[str]], dict[str, int | None]]:
    """SKUs -> units available to sell (the stock capability's atp), one batch read per page."""

    def stock_of(skus: Sequence[str]) -> dict[str, int | None]:
        return {sku: item.atp for sku, item in runtime.stock.items(list(skus)).items()}

    return stock_of


def shop_price_reader(runtime: Runtime, setup: PricingSetup) -> ShopPrices:
    """SKUs -> the shop's own price on each priced Shopify and WooCommerce channel, from the
    catalog (their products' webhooks): one batch read per platform and page."""

    def shop_prices(skus: Sequence[str]) -> dict[str, dict[str, Decimal]]:
        by_platform = {
            kind: runtime.catalog.variants_of_skus(kind, skus)
            for kind in set(setup.kinds.values()) & {"shopify", "woocommerce"}
        }
        return {
            channel: {sku: found.price for sku, found in by_platform[kind].items() if found.price is not None}
            for channel, kind in setup.kinds.items()
            if kind in by_platform
        }

    return shop_prices


class Repricer:
    def __init__(self, runtime: Runtime, sqs_client: Callable[[], Any], queue_url: str | None) -> None:
        self._runtime = runtime
        self._sqs = sqs_client
        self._queue_url = queue_url

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if "Records" in event:  # the reprice queue: one shard a message
            failed = []
            for record in event["Records"]:
                try:
                    self.reprice(int(json.loads(record["body"])["shard"]))
                except Exception:
                    logger.exception(
                        "shard not repriced: it is retried", extra={"message": record["messageId"]}
                    )
                    failed.append({"itemIdentifier": record["messageId"]})
            return {"batchItemFailures": failed}
        if event.get("digest") == DIGEST_INPUT["digest"]:  # the daily schedule's Input
            return self.digest()
        return self.schedule()

    def digest(self) -> dict[str, Any]:
        """The owner's daily email of the proposals waiting, if any (pricing/digest.py)."""
        runtime = self._runtime
        if not enabled(runtime.settings.load()):
            return {"sent": False, "reason": "pricing is off"}
        answer = announce_waiting(runtime.pricing.proposals(), runtime.clock.now(), runtime.publish_once)
        logger.info("price proposals digest", extra=answer)
        return answer

    def schedule(self) -> dict[str, Any]:
        runtime = self._runtime
        settings = runtime.settings.load()
        if not enabled(settings):
            return {"started": False, "reason": "pricing is off"}
        every = settings.int_value("pricing.every_minutes")
        if not runtime.pricing.claim_run(runtime.clock.now(), every):
            return {"started": False, "reason": f"the last run began under {every} minutes ago"}
        assert self._queue_url is not None, "REPRICE_QUEUE_URL is not set"
        entries = [{"Id": str(shard), "MessageBody": json.dumps({"shard": shard})} for shard in range(SHARDS)]
        for start in range(0, len(entries), _SEND_BATCH):
            answer = self._sqs().send_message_batch(
                QueueUrl=self._queue_url, Entries=entries[start : start + _SEND_BATCH]
            )
            if answer.get("Failed"):  # this tick fails (logged); the run after comes every_minutes later
                raise RuntimeError(f"reprice shards not queued: {answer['Failed']}")
        return {"started": True, "shards": SHARDS}

    def reprice(self, shard: int) -> RepriceReport:
        runtime = self._runtime
        setup = pricing_setup(runtime.settings.load())
        report = reprice_shard(
            shard,
            runtime.pricing,
            setup,
            stock_reader(runtime),
            runtime.clock.now(),
            shop_prices=shop_price_reader(runtime, setup),
        )
        logger.info("shard repriced", extra={"shard": shard, **report.as_dict()})
        return report


def pushes_of(body: str) -> tuple[str, str]:
    """(channel, sku) of a price push message (the dispatcher's `PriceChanged` event)."""
    event = json.loads(body)["event"]
    return str(event["channel"]), str(event["sku"])


class PricePusher:
    def __init__(self, runtime: Runtime, adapter_for: Callable[[ChannelConfig], ChannelAdapter]) -> None:
        self._runtime = runtime
        self._adapter_for = adapter_for

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        by_channel: dict[str, dict[str, list[str]]] = {}  # channel -> sku -> message ids
        for record in event.get("Records", []):
            name, sku = pushes_of(record["body"])
            by_channel.setdefault(name, {}).setdefault(sku, []).append(record["messageId"])
        known = {c.name: c for c in channels(self._runtime.settings.load())}
        failed: list[str] = []
        for name, skus in by_channel.items():
            channel = known.get(name)
            if not isinstance(channel, Channel) or not channel.enabled:
                logger.warning("price pushes dropped: channel not usable", extra={"channel": name})
                continue
            if not self._push(channel, list(skus)):
                failed.extend(message_id for ids in skus.values() for message_id in ids)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def _push(self, channel: Channel, skus: list[str]) -> bool:
        """Push the SKUs' current prices on `channel`; False when they should be retried later."""
        runtime = self._runtime
        records = runtime.pricing.get_many(skus)
        pushes: list[PricePush] = []
        for sku in skus:
            price = records[sku].channels.get(channel.name) if sku in records else None
            if price is None or price.price is None:
                continue
            listing = listing_for(channel, sku, runtime.listings.linked(sku), runtime.catalog.variant_of_sku)
            if listing is None:  # as for stock: a SKU is pushed where it is linked or in the catalog
                logger.info("price not pushed: SKU not listed", extra={"channel": channel.name, "sku": sku})
                continue
            pushes.append(
                PricePush(listing.listing_id, sku, price.price, price.was, price.currency, price.sequence)
            )
        if not pushes:
            return True
        adapter = self._adapter_for(channel.config)
        try:
            answers = [
                answer
                for start in range(0, len(pushes), adapter.price_batch_limit)
                for answer in adapter.push_prices(pushes[start : start + adapter.price_batch_limit])
            ]
        except (Unavailable, Throttled) as exc:
            logger.warning(
                "channel unavailable: price pushes kept", extra={"channel": channel.name, "reason": str(exc)}
            )
            return False
        except ChannelError as exc:  # a refused token, a setup the channel refuses: retrying cannot help
            logger.error(
                "price pushes dropped: the channel refused them",
                extra={"channel": channel.name, "reason": f"{type(exc).__name__}: {exc}"},
            )
            return True
        rejected = {answer.listing_id: answer.error for answer in answers if answer.status == "rejected"}
        logger.info(
            "prices pushed",
            extra={"channel": channel.name, "pushed": len(answers) - len(rejected), "rejected": rejected},
        )
        return True
