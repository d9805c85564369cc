"""The two sales channels a fresh `shopflow local` sells on: a fake Shopify and a fake WooCommerce.

Both shops run in the runtime's process (threads on free loopback ports, the fakes of
`local/fakes/`), so they start and stop with it. What they list and show is kept in the data dir
(`fake_channels.json`, written within a second of a change) with their ports, so a restart, even
after `kill -9`, brings them back as they were, where the channel settings point.

A fresh data dir gets two channels pointing at them, `shop` (shopify) and `woo` (woocommerce);
channels the owner configured are never touched. The owner puts a SKU on sale on both shops with
`shopflow local channels --add SKU` (what creating the product in each shop's admin does),
sees what each shop shows with `shopflow local channels`, and makes a shop misbehave with
`shopflow local channels --fault KIND --channel NAME` (`FAULTS`) to watch shopflow cope.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopflow.local.fakes import FAULTS
from shopflow.local.fakes.shopify import DEFAULT_PRICE as SHOPIFY_PRICE
from shopflow.local.fakes.shopify import DEFAULT_TOKEN, FakeShopify
from shopflow.local.fakes.woocommerce import DEFAULT_KEY, DEFAULT_SECRET, FakeWooCommerce
from shopflow.local.fakes.woocommerce import DEFAULT_PRICE as WOO_PRICE
from shopflow.local.ports import port_in_use

STATE_FILE = "fake_channels.json"
SHOPIFY_CHANNEL = "shop"
WOOCOMMERCE_CHANNEL = "woo"
SHOPIFY_LOCATION_ID = 75000001  # the fake shop's one location
FIRST_SHOPIFY_ITEM = 44000001  # inventory item ids, as Shopify's look
FIRST_WOO_PRODUCT = 101


@dataclass(frozen=True)
class Shown:
    """One listing on a fake shop and the quantity and prices that shop shows for it now."""

    channel: str
    kind: str
    sku: str
    listing_id: str
    quantity: int | None
    # Shopify: price, compare_at_price; WooCommerce: regular_price, sale_price, price (what is paid)
    prices: dict[str, str | None] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "kind": self.kind,
            "sku": self.sku,
            "listing_id": self.listing_id,
            "quantity": self.quantity,
            **self.prices,
        }


class FakeChannelsError(ValueError):
    """A request the fake shops cannot take (an unknown channel, a bad SKU)."""


class FakeChannels:
    def __init__(self, data_dir: Path, report: Callable[[str], None]) -> None:
        self._path = data_dir / STATE_FILE
        self._report = report
        self._lock = threading.RLock()
        self._listings: dict[str, dict[str, str]] = {}  # sku -> {channel: listing id}
        self._saved: str | None = None
        self.previous_urls: dict[str, str] = {}  # where the shops were on the last run
        self.shopify: FakeShopify | None = None
        self.woocommerce: FakeWooCommerce | None = None
        self._down: set[str] = set()  # channels taken off the network (`set_down`)
        self._traffic = {  # counted from the fakes' request logs, which are emptied as they are read
            channel: {
                "requests": 0,
                "throttled": 0,
                "writes": 0,
                "items": 0,
                "largest": 0,
                "price_writes": 0,
                "prices": 0,
            }
            for channel in (SHOPIFY_CHANNEL, WOOCOMMERCE_CHANNEL)
        }

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> FakeChannels:
        saved = self._load()
        ports, tokens = saved.get("ports", {}), saved.get("tokens", {})
        self.shopify = FakeShopify(
            location_id=SHOPIFY_LOCATION_ID,
            port=_reusable(ports.get(SHOPIFY_CHANNEL)),
            token=tokens.get(SHOPIFY_CHANNEL, DEFAULT_TOKEN),
        ).start()
        key, _, secret = tokens.get(WOOCOMMERCE_CHANNEL, f"{DEFAULT_KEY}:{DEFAULT_SECRET}").partition(":")
        self.woocommerce = FakeWooCommerce(
            port=_reusable(ports.get(WOOCOMMERCE_CHANNEL)), consumer_key=key, consumer_secret=secret
        ).start()
        for sku, listed in saved.get("listings", {}).items():
            shown = saved.get("quantities", {}).get(sku, {})
            self._create(sku, listed, shown, saved.get("prices", {}).get(sku, {}))
        self.save()
        return self

    def stop(self) -> None:
        self.save()
        for shop in (self.shopify, self.woocommerce):
            if shop is not None:
                shop.stop()

    @property
    def urls(self) -> dict[str, str]:
        assert self.shopify is not None and self.woocommerce is not None
        return {SHOPIFY_CHANNEL: self.shopify.url, WOOCOMMERCE_CHANNEL: self.woocommerce.url}

    def settings(self) -> dict[str, str]:
        """The channel settings that point at these shops (`channels.shop.*`, `channels.woo.*`)."""
        assert self.shopify is not None and self.woocommerce is not None
        shop, woo = f"channels.{SHOPIFY_CHANNEL}", f"channels.{WOOCOMMERCE_CHANNEL}"
        return {
            f"{shop}.kind": "shopify",
            f"{shop}.url": self.shopify.url,
            f"{shop}.token": self.shopify.token,
            f"{shop}.location_id": str(SHOPIFY_LOCATION_ID),
            f"{woo}.kind": "woocommerce",
            f"{woo}.url": self.woocommerce.url,
            f"{woo}.token": self.woocommerce.token,
        }

    # -- what the owner does in each shop's admin ----------------------------------------------

    def add(self, sku: str, quantity: int = 0) -> dict[str, str]:
        """Put `sku` on sale in both shops (showing `quantity` until shopflow pushes); returns its
        listing id on each channel. A SKU already on sale keeps its listings."""
        sku = sku.strip()
        if not sku or len(sku) > 100:
            raise FakeChannelsError("a SKU is 1 to 100 characters")
        with self._lock:
            if sku not in self._listings:
                number = len(self._listings)
                listed = {
                    SHOPIFY_CHANNEL: str(FIRST_SHOPIFY_ITEM + number),
                    WOOCOMMERCE_CHANNEL: str(FIRST_WOO_PRODUCT + number),
                }
                self._create(sku, listed, dict.fromkeys(listed, quantity))
            listings = dict(self._listings[sku])
        self.save()
        return listings

    def _create(
        self,
        sku: str,
        listed: dict[str, str],
        shown: dict[str, int | None],
        prices: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """List `sku` on both shops; a new listing sells at the fakes' starting price (49.99)."""
        assert self.shopify is not None and self.woocommerce is not None
        shop_prices = (prices or {}).get(SHOPIFY_CHANNEL) or {}
        woo_prices = (prices or {}).get(WOOCOMMERCE_CHANNEL) or {}
        with self._lock:
            self._listings[sku] = dict(listed)
            self.shopify.add_item(
                int(listed[SHOPIFY_CHANNEL]),
                sku,
                shown.get(SHOPIFY_CHANNEL) or 0,
                price=shop_prices.get("price") or SHOPIFY_PRICE,
                compare_at_price=shop_prices.get("compare_at_price"),
            )
            self.woocommerce.add_product(
                int(listed[WOOCOMMERCE_CHANNEL]),
                sku=sku,
                stock=shown.get(WOOCOMMERCE_CHANNEL) or 0,
                price=woo_prices.get("regular_price") or WOO_PRICE,
                sale_price=woo_prices.get("sale_price") or "",
            )

    def shown(self) -> list[Shown]:
        """Every listing on both shops with what it shows now."""
        assert self.shopify is not None and self.woocommerce is not None
        rows = []
        with self._lock:
            for sku, listed in sorted(self._listings.items()):
                shop_item, woo_product = listed[SHOPIFY_CHANNEL], listed[WOOCOMMERCE_CHANNEL]
                rows.append(
                    Shown(
                        SHOPIFY_CHANNEL,
                        "shopify",
                        sku,
                        shop_item,
                        self.shopify.available(int(shop_item)),
                        dict(self.shopify.prices(int(shop_item)) or {}),
                    )
                )
                shows = self.woocommerce.stock(woo_product)
                woo_prices: dict[str, str | None] = dict(self.woocommerce.prices(woo_product) or {})
                rows.append(Shown(WOOCOMMERCE_CHANNEL, "woocommerce", sku, woo_product, shows, woo_prices))
        return rows

    def _shop(self, channel: str) -> FakeShopify | FakeWooCommerce:
        shop = {SHOPIFY_CHANNEL: self.shopify, WOOCOMMERCE_CHANNEL: self.woocommerce}.get(channel)
        if shop is None:
            known = f"{SHOPIFY_CHANNEL} or {WOOCOMMERCE_CHANNEL}"
            raise FakeChannelsError(f"no fake channel {channel!r}: {known}")
        return shop

    def set_down(self, channel: str, down: bool) -> None:
        """Take a shop off the network (connections refused) or bring it back on the same port."""
        shop = self._shop(channel)
        with self._lock:
            if down and channel not in self._down:
                shop.go_down()
                self._down.add(channel)
            elif not down and channel in self._down:
                shop.come_back()
                self._down.discard(channel)
        self._report(f"fake channel {channel} is {'down (connections refused)' if down else 'back'}")

    def fault(self, channel: str, fault: str, *, times: int = 1, sku: str | None = None) -> dict[str, str]:
        """Make one shop misbehave as `FAULTS` describes; what happened (and a new token)."""
        shopify, woo = self.shopify, self.woocommerce
        assert shopify is not None and woo is not None
        shop = self._shop(channel)
        if fault not in FAULTS:
            raise FakeChannelsError(f"no fault {fault!r}: one of {', '.join(FAULTS)}")
        if not 1 <= times <= 10_000:
            raise FakeChannelsError("times is 1 to 10000")
        on_shopify = channel == SHOPIFY_CHANNEL
        if fault in ("down", "up"):
            self.set_down(channel, fault == "down")
            if fault == "up":
                shop.heal()
            return {"fault": f"{channel} {FAULTS[fault]}"}
        answer: dict[str, str] = {}
        with self._lock:
            listing = self._listings.get(sku or "", {}).get(channel)
            if fault in ("stale", "bad-item", "sell") and listing is None:
                raise FakeChannelsError(f"{fault} needs --sku of a SKU listed on {channel} (--add it)")
            if fault == "unavailable":
                shop.fail_next(times, 503)
                if channel in self._down:  # back on the network, answering 503 from the first request
                    self.set_down(channel, False)
            elif fault == "throttle" and on_shopify:
                shopify.set_bucket(2000.0, 1.0, available=0.0)
            elif fault == "throttle":
                woo.throttle(times, "1")
            elif fault == "stale" and on_shopify:
                shopify.sell_before_next_write(int(str(listing)), times)
            elif fault == "bad-item" and not on_shopify:
                woo.fail_item(str(listing))
            elif fault == "sell":
                if on_shopify:
                    shopify.sell(int(str(listing)), times)
                else:
                    woo.sell(str(listing), times)
            elif fault == "revoke-token" and on_shopify:
                shopify.token = answer["token"] = f"shpat_{secrets.token_hex(16)}"
            elif fault == "revoke-token":
                answer["token"] = woo.issue_key(f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}")
            else:
                kind = "shopify" if on_shopify else "woocommerce"
                raise FakeChannelsError(f"{fault} is not something a {kind} shop does: {FAULTS[fault]}")
        self.save()
        what = FAULTS[fault].replace("SKU", sku or "").replace("N ", f"{times} ")
        self._report(f"fake channel {channel}: {what}")
        return {"fault": f"{channel} {what}", **answer}

    def pushes(self) -> dict[str, int]:
        """How many writes each shop took since it started: Shopify mutations, WooCommerce
        batch updates, answered 200 (reads, such as a reconciliation's, are not counted)."""
        return {channel: seen["writes"] for channel, seen in self.traffic().items()}

    def traffic(self) -> dict[str, dict[str, int]]:
        """What each shop received since it started: `requests` (any, answered or refused),
        `throttled` (Shopify's THROTTLED, WooCommerce's 429), `writes` (as `pushes`: the stock
        writes it answered 200), `items` (the quantities those writes carried), `largest` (the most
        one write carried), `price_writes` (price writes answered 200: Shopify
        productVariantsBulkUpdate, WooCommerce batches of prices) and `prices` (the prices they carried)."""
        assert self.shopify is not None and self.woocommerce is not None
        with self._lock:
            answered = [call.answered for call in self.shopify.calls]
            calls = self.shopify.calls[: answered.index(False) if False in answered else len(answered)]
            del self.shopify.calls[: len(calls)]  # the fakes' own logs only grow: counted here
            woo = self.woocommerce.take_answered()
            shop_writes = [
                call.rows
                for call in calls
                if call.operation == "mutation" and call.status == 200 and call.rows
            ]
            shop_prices = [
                call.prices
                for call in calls
                if call.operation == "mutation" and call.status == 200 and call.prices
            ]
            woo_batches = [
                seen.body
                for seen in woo
                if seen.method == "POST"
                and seen.path.endswith("/batch")
                and seen.status == 200
                and isinstance(seen.body, dict)
            ]
            woo_price_batches = [body for body in woo_batches if _carries_prices(body)]
            woo_writes = [_batch_size(body) for body in woo_batches if not _carries_prices(body)]
            woo_prices = [_batch_size(body) for body in woo_price_batches]
            for channel, requests, throttled, writes, prices in (
                (
                    SHOPIFY_CHANNEL,
                    len(calls),
                    sum(call.throttled for call in calls),
                    shop_writes,
                    shop_prices,
                ),
                (WOOCOMMERCE_CHANNEL, len(woo), sum(s.status == 429 for s in woo), woo_writes, woo_prices),
            ):
                seen = self._traffic[channel]
                seen["requests"] += requests
                seen["throttled"] += throttled
                seen["writes"] += len(writes)
                seen["items"] += sum(writes)
                seen["largest"] = max([seen["largest"], *writes])
                seen["price_writes"] += len(prices)
                seen["prices"] += sum(prices)
            return {channel: dict(seen) for channel, seen in self._traffic.items()}

    def down(self) -> set[str]:
        return set(self._down)

    # -- kept in the data dir ----------------------------------------------------------------

    def save(self) -> None:
        """Write the listings, what they show and the ports, when any of it changed."""
        if self.shopify is None or self.woocommerce is None:
            return
        with self._lock:
            self.traffic()  # the fakes' own request logs only grow
            quantities: dict[str, dict[str, int | None]] = {}
            prices: dict[str, dict[str, dict[str, str | None]]] = {}
            for row in self.shown():
                quantities.setdefault(row.sku, {})[row.channel] = row.quantity
                prices.setdefault(row.sku, {})[row.channel] = row.prices
            document = json.dumps(
                {
                    "ports": {name: _port(url) for name, url in self.urls.items()},
                    "tokens": {
                        SHOPIFY_CHANNEL: self.shopify.token,
                        WOOCOMMERCE_CHANNEL: self.woocommerce.token,
                    },
                    "urls": self.urls,
                    "listings": self._listings,
                    "quantities": quantities,
                    "prices": prices,
                },
                indent=2,
                sort_keys=True,
            )
            if document == self._saved:
                return
            scratch = self._path.with_suffix(".tmp")
            scratch.write_text(document)
            scratch.replace(self._path)
            self._saved = document

    def _load(self) -> dict[str, Any]:
        try:
            saved: dict[str, Any] = json.loads(self._path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        self.previous_urls = dict(saved.get("urls", {}))
        return saved


def _batch_size(body: dict[str, Any]) -> int:
    return sum(len(body.get(part) or ()) for part in ("create", "update", "delete"))


def _carries_prices(body: dict[str, Any]) -> bool:
    """A batch shopflow's price push sent (its updates set prices, never stock)."""
    return any(isinstance(u, dict) and "regular_price" in u for u in body.get("update") or ())


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _reusable(port: int | None) -> int:
    """The last run's port when it is free again (the channel settings name it), else any."""
    return port if port and not port_in_use(port) else 0
