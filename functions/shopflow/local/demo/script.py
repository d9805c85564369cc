"""`shopflow demo`: a scripted day of a small shop, against a fresh `shopflow local`.

Four customers order in English, Russian and Polish; their orders are paid, shipped,
delivered or cancelled through signed Shopify webhooks sent over HTTP, exactly as Shopify
sends them (the payloads are the corpus's `order.json`, `fulfillment.json` and
`abandoned_checkout.json`, varied). Two shoppers leave checkouts: one is reminded twice (the
second time with a code), the other orders and is left alone. The shop marks its iPods as a
refill product, so Emma, whose parcel arrives, is reminded to reorder before hers runs out.
Then the clock moves forward. The shop's own storefront sells mugs too, and that SKU's
stock goes through its life: the ERP counts it (`inventory.set`), a checkout holds some
(`POST /reservations`), the payment commits the hold, and a hold nobody pays runs out and gives
its stock back. Last, the mugs go on sale on the shop's Shopify and WooCommerce stores too (the
fake shops `shopflow local` runs): the ERP's next count reaches both, and when a mug sells, both
channels show one fewer within seconds. Then the days are summed up.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopflow.config.parameters import set_setting
from shopflow.config.settings import ssm_path
from shopflow.local.ports import free_port
from shopflow.local.runtime import LocalOptions, LocalRuntime
from shopflow.observability import mask
from shopflow.target import LocalSession, Target
from shopflow.webhooks.signatures import sign_hmac_base64, sign_standard_webhook

if TYPE_CHECKING:
    from shopflow.local.fake_channels import FakeChannels
    from shopflow.stock.model import StockItem

HERE = Path(__file__).parent
SHOP_DOMAIN = "demo-shop.myshopify.com"
SENDER = "orders@demo-shop.example"
DAY_START = datetime.fromisoformat("2026-11-20T09:00:00+01:00")


@dataclass(frozen=True)
class DemoShopper:
    first_name: str
    last_name: str
    email: str
    phone: str
    locale: str
    currency: str


CUSTOMERS = (
    DemoShopper("Emma", "Clark", "emma.clark@example.com", "+14155550123", "en-US", "USD"),
    DemoShopper("Иван", "Петров", "ivan.petrov@example.ru", "+79161234567", "ru", "RUB"),
    DemoShopper("Zofia", "Nowak", "zofia.nowak@example.pl", "+48601234567", "pl-PL", "PLN"),
    DemoShopper("Anna", "Kowalska", "anna.kowalska@example.pl", "+48512345678", "pl-PL", "PLN"),
)
# Two shoppers who leave a checkout: Olivia never comes back, Piotr orders twenty minutes later.
SHOPPERS = (
    DemoShopper("Olivia", "Brown", "olivia.brown@example.com", "+14155550199", "en-GB", "GBP"),
    DemoShopper("Piotr", "Wiśniewski", "piotr.wisniewski@example.pl", "+48600111222", "pl-PL", "PLN"),
)
# The storefront's mug: Lena's checkout holds two and she pays; Tom's holds the rest and he does not.
MUG = "MUG-01"
MUG_BUYER = DemoShopper("Lena", "Fischer", "lena.fischer@example.com", "+447700900123", "en-GB", "GBP")
# Max buys one of the mugs the channels show.
CHANNEL_BUYER = DemoShopper("Max", "Weber", "max.weber@example.de", "+4915112345678", "de-DE", "EUR")
MUG_PRODUCT_ID, MUG_VARIANT_ID = 7010001, 4701001
CHANNEL_SYNC_SECONDS = 20.0  # how long the demo waits for both channels to show a change


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((HERE / name).read_text())
    return document


class DemoShop:
    """Sends what the shop's Shopify would send, signed with the instance's secret."""

    def __init__(
        self,
        session: LocalSession,
        say: Callable[[str], None],
        clock_to: Callable[[datetime], None] = lambda moment: None,
    ) -> None:
        self.clock_to = clock_to  # moves the instance's clock to the script's time
        self.session = session
        self.say = say
        self.target = Target(
            stage=session.stage,
            region=session.region,
            endpoints=session.endpoints,
            table_name=session.table_name,
            local=session,
        )
        self.secret = ""
        self.events_secret = ""  # the ERP's and the storefront's (Standard Webhooks)
        self.answers: list[tuple[str, str, int, str]] = []
        self.fake_channels: FakeChannels | None = None  # the instance's fake Shopify and WooCommerce

    def configure(self) -> None:
        for key, value in (
            ("webhooks.shopify.shop_domains", SHOP_DOMAIN),
            ("shop.name", "Demo Shop"),
            ("shop.timezone", "Europe/Warsaw"),
            ("notify.email.sender", SENDER),
            ("notify.delivered.sms", "true"),
            ("notify.review.url_template", "https://demo-shop.example/products/{product_id}#reviews"),
            ("notify.unsubscribe.secret", "demo-unsubscribe-secret-0123456789"),
            # One unit of anything tagged "refill" lasts 8 days; remind 3 days before it runs out.
            ("notify.replenishment.periods", "tag:refill=8"),
            ("notify.replenishment.lead_days", "3"),
            ("notify.replenishment.url_template", "https://demo-shop.example/products/{product_id}"),
            ("stock.enabled", "true"),  # the shop keeps stock (its mugs, below)
            ("back_in_stock.enabled", "true"),  # shoppers may ask to hear when a SKU is back (cups)
        ):
            self.say("config: " + set_setting(self.target, key, value))
        ssm = self.target.client("ssm")
        self.secret, self.events_secret = (
            ssm.get_parameter(
                Name=f"{ssm_path(self.session.stage)}/webhooks/{sender}/secret", WithDecryption=True
            )["Parameter"]["Value"]
            for sender in ("shopify", "events")
        )

    def send(self, topic: str, document: dict[str, Any], *, webhook_id: str | None = None) -> str:
        body = json.dumps(document).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_hmac_base64(body, self.secret),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-API-Version": "2025-10",
        }
        status, result = self._exchange("POST", "/webhooks/shopify", body, headers)
        outcome = str(result.get("status") or result.get("error") or "")
        order_id = str(result.get("order_id") or result.get("cart_id") or result.get("product_id") or "?")
        self.answers.append((topic, order_id, status, outcome))
        extra = f" ({result['reason']})" if result.get("reason") else ""
        self.say(f"shopify {topic:<20} {order_id:<22} -> {status} {outcome}{extra}")
        return outcome

    def signed(self, method: str, path: str, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A request as the ERP or the storefront signs it: Standard Webhooks with the events
        secret and the sender's real time (the local clock is the shop's business time)."""
        body = json.dumps(document).encode()
        msg_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_standard_webhook(
                body, msg_id=msg_id, timestamp=timestamp, secret=self.events_secret
            ),
        }
        return self._exchange(method, path, body, headers)

    def count(self, sku: str, on_hand: int, sequence: int) -> None:
        """The ERP's count of a SKU (`inventory.set`)."""
        event = {"sku": sku, "on_hand": on_hand, "sequence": sequence}
        status, result = self.signed(
            "POST", "/webhooks/events", {"type": "inventory.set", "timestamp": _utc_now(), "data": event}
        )
        what = f"{sku} = {on_hand} (sequence {sequence})"
        self.say(f"erp     {'inventory.set':<20} {what:<22} -> {status} {result.get('status') or result}")
        self.show_stock(sku)

    def hold(self, checkout_token: str, sku: str, quantity: int, **extra: Any) -> str | None:
        """The storefront's checkout holds `quantity` of `sku` (`POST /reservations`); returns the
        reservation id, or None when refused."""
        request = {"checkout_token": checkout_token, "lines": [{"sku": sku, "quantity": quantity}], **extra}
        status, result = self.signed("POST", "/reservations", request)
        what = f"{checkout_token}: {quantity} x {sku}"
        if status == 201:
            until = datetime.fromisoformat(str(result["expires_at"]))
            outcome = f"held {result['reservation_id']} until {until:%H:%M} UTC"
        elif result.get("short"):
            short = result["short"][0]
            outcome = f"{result['error']} ({short['available']} available): nothing held"
        else:
            outcome = str(result.get("error") or result)
        self.say(f"store   {'POST /reservations':<20} {what:<22} -> {status} {outcome}")
        self.show_stock(sku)
        return str(result["reservation_id"]) if status == 201 else None

    def link(self, channel: str, sku: str, listing_id: str) -> None:
        """The owner links a SKU to its listing on a channel (`listing.linked`)."""
        event = {"channel": channel, "sku": sku, "listing_id": listing_id}
        status, result = self.signed(
            "POST", "/webhooks/events", {"type": "listing.linked", "timestamp": _utc_now(), "data": event}
        )
        what = f"{sku} = {channel} {listing_id}"
        self.say(f"owner   {'listing.linked':<20} {what:<22} -> {status} {result.get('status') or result}")

    def show_channels(self, expect: int | None = None, sku: str = MUG) -> None:
        """What each channel shows for `sku`, once all show `expect` (or the wait is over): the
        sync runs on its own, at the clock's real speed."""
        fakes = self.fake_channels
        assert fakes is not None
        began = time.monotonic()
        while True:
            rows = [row for row in fakes.shown() if row.sku == sku]
            waited = time.monotonic() - began
            if expect is None or all(r.quantity == expect for r in rows) or waited > CHANNEL_SYNC_SECONDS:
                break
            time.sleep(0.05)
        shows = ", ".join(f"{r.channel} ({r.kind}) shows {r.quantity}" for r in rows)
        self.say(
            f"        {sku} on the channels: {shows}"
            + (f" ({waited:.1f} s later)" if expect is not None else "")
        )

    def stock_of(self, sku: str) -> StockItem:
        from shopflow.store import stock_view
        from shopflow.store.models import bind_table

        bind_table(self.session.table_name, region=self.session.region)
        found = stock_view.level(sku)
        assert found is not None, f"{sku} was counted"
        return found.item

    def show_stock(self, sku: str) -> None:
        """The SKU's numbers as `shopflow stock get` shows them."""
        item = self.stock_of(sku)
        self.say(
            f"        {sku}: on hand {item.on_hand} = atp {item.atp} + reserved {item.reserved} "
            f"+ committed {item.committed} + safety {item.safety}"
        )

    def _exchange(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - the local API
            f"{self.session.api_url}{path}", data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


def order_payload(number: int, customer: DemoShopper, at: datetime, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(_load("order.json")["order"])
    order.update(
        id=880000 + number,
        name=f"#{number}",
        order_number=number,
        email=customer.email,
        phone=customer.phone,
        currency=customer.currency,
        presentment_currency=customer.currency,
        customer_locale=customer.locale,
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
        fulfillments=[],
        fulfillment_status=None,
    )
    order["customer"].update(
        id=770000 + number,
        email=customer.email,
        phone=customer.phone,
        first_name=customer.first_name,
        last_name=customer.last_name,
    )
    order.update(changes)
    return order


def checkout_payload(number: int, customer: DemoShopper, at: datetime) -> dict[str, Any]:
    """A Shopify checkout the shopper leaves (the corpus's abandoned checkout, varied)."""
    checkout: dict[str, Any] = copy.deepcopy(_load("checkout.json")["checkout"])
    checkout.update(
        id=990000 + number,
        token=f"tok{number}",
        cart_token=f"cart{number}",
        email=customer.email,
        phone=None,
        currency=customer.currency,
        presentment_currency=customer.currency,
        customer_locale=customer.locale,
        buyer_accepts_marketing=True,
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
        abandoned_checkout_url=f"https://demo-shop.example/checkouts/tok{number}/recover",
    )
    for address in ("billing_address", "shipping_address"):
        checkout[address].update(
            first_name=customer.first_name, last_name=customer.last_name, phone=customer.phone
        )
    checkout["customer"].update(
        id=770000 + number,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        accepts_marketing=True,
    )
    return checkout


def fulfillment_payload(order: dict[str, Any], at: datetime, *, delivered: bool) -> dict[str, Any]:
    fulfillment: dict[str, Any] = copy.deepcopy(_load("fulfillment.json")["fulfillment"])
    number = f"1Z{order['id']}"
    fulfillment.update(
        id=order["id"] + 1,
        order_id=order["id"],
        status="success",
        shipment_status="delivered" if delivered else "in_transit",
        tracking_company="UPS",
        tracking_number=number,
        tracking_numbers=[number],
        tracking_url=f"https://www.ups.com/track?tracknum={number}",
        tracking_urls=[f"https://www.ups.com/track?tracknum={number}"],
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
    )
    return fulfillment


def play_day(shop: DemoShop) -> list[str]:
    """The day's webhooks; returns the order ids."""
    emma, ivan, zofia, anna = CUSTOMERS
    t = DAY_START
    shop.say("--- 08:55 the owner tags the iPod Nano as a refill product in Shopify")
    shop.send(
        "products/update",
        {
            "id": 632910392,
            "title": "IPod Nano - 8GB",
            "tags": "Emotive, Flash Memory, MP3, Music, refill",
            "updated_at": (t - timedelta(minutes=5)).isoformat(),
        },
    )
    shop.say("--- 09:00 four customers order")
    # Emma agreed to hear from the shop by email: she is the one asked for a review later.
    first = order_payload(5001, emma, t, financial_status="pending", buyer_accepts_marketing=True)
    first["customer"]["accepts_marketing"] = True
    second = order_payload(5002, ivan, t + timedelta(minutes=3), financial_status="paid")
    third = order_payload(5003, zofia, t + timedelta(minutes=7), financial_status="pending")
    fourth = order_payload(5004, anna, t + timedelta(minutes=9), financial_status="paid")
    webhook_id = str(uuid.uuid4())
    for order in (first, second, third, fourth):
        shop.send("orders/create", order, webhook_id=webhook_id if order is first else None)
    shop.say("--- Shopify delivers the first order's webhook again (it retries on slow answers)")
    shop.send("orders/create", first, webhook_id=webhook_id)
    shop.clock_to(t + timedelta(minutes=30))
    shop.say("--- 09:30 Emma pays; an older update arrives late")
    shop.send(
        "orders/paid",
        {**first, "financial_status": "paid", "updated_at": (t + timedelta(minutes=30)).isoformat()},
    )
    shop.send(
        "orders/updated",
        {**first, "financial_status": "pending", "updated_at": (t + timedelta(minutes=20)).isoformat()},
    )
    shop.clock_to(t + timedelta(hours=1))
    olivia, piotr = SHOPPERS
    shop.say("--- 10:00 Olivia and Piotr leave full checkouts (both agreed to marketing email)")
    shop.send("checkouts/create", checkout_payload(6001, olivia, t + timedelta(hours=1)))
    left = checkout_payload(6002, piotr, t + timedelta(hours=1, minutes=2))
    shop.send("checkouts/create", left)
    shop.clock_to(t + timedelta(hours=1, minutes=20))
    shop.say("--- 10:20 Piotr comes back and orders from his checkout")
    shop.send(
        "orders/create",
        order_payload(
            5005,
            piotr,
            t + timedelta(hours=1, minutes=20),
            financial_status="paid",
            checkout_id=left["id"],
            cart_token=left["cart_token"],
        ),
    )
    shop.clock_to(t + timedelta(hours=5, minutes=5))
    shop.say("--- 14:00 two parcels leave the warehouse; the checkouts were quiet for an hour at 11:00")
    _wait_for_record(shop, "CART#shopify:996001", "cart_reminder")
    _wait_for_record(shop, "CART#shopify:996002", "cart_reminder")
    shop.send("fulfillments/create", fulfillment_payload(first, t + timedelta(hours=5), delivered=False))
    shop.send(
        "fulfillments/create", fulfillment_payload(second, t + timedelta(hours=5, minutes=5), delivered=False)
    )
    shop.clock_to(t + timedelta(hours=7))
    shop.say("--- 16:00 Zofia cancels her order")
    cancelled_at = (t + timedelta(hours=7)).isoformat()
    shop.send(
        "orders/cancelled",
        {**third, "cancelled_at": cancelled_at, "cancel_reason": "customer", "updated_at": cancelled_at},
    )
    shop.clock_to(t + timedelta(hours=26))
    shop.say("--- next day 11:00 Emma's parcel is delivered")
    shop.send("fulfillments/update", fulfillment_payload(first, t + timedelta(hours=26), delivered=True))
    _wait_for_record(shop, "CART#shopify:996001", "cart_offer")
    shop.say("--- Anna's order is paid, but nobody ships it")
    return [f"shopify:{o['id']}" for o in (first, second, third, fourth)]


def mug_order(
    number: int, customer: DemoShopper, at: datetime, checkout: str | None, quantity: int = 2
) -> dict[str, Any]:
    """A paid Shopify order for mugs (12.00 each), placed from the checkout that held them."""
    total = f"{12 * quantity}.00"
    order = order_payload(
        number,
        customer,
        at,
        financial_status="paid",
        checkout_token=checkout,
        total_price=total,
        subtotal_price=total,
        total_line_items_price=total,
        total_tax="0.00",
        total_discounts="0.00",
    )
    line = {
        **order["line_items"][0],
        "sku": MUG,
        "title": "Mug",
        "name": "Mug",
        "quantity": quantity,
        "price": "12.00",
    }
    order["line_items"] = [line]
    return order


def play_stock(shop: DemoShop, runtime: LocalRuntime) -> str:
    """One SKU's life, through signed HTTP only; returns the paid order's id."""
    shop.say("--- the shop's own storefront sells mugs too; the ERP counts them")
    shop.count(MUG, 5, sequence=1)
    shop.say("--- Lena's checkout holds 2 mugs while she pays (stock.hold_minutes: 15)")
    checkout = "chk-lena"
    shop.hold(checkout, MUG, 2)
    shop.say("--- she pays: Shopify's order names her checkout, so the hold is committed to the order")
    order = mug_order(5006, MUG_BUYER, runtime.clock.now(), checkout)
    shop.send("orders/create", order)
    shop.show_stock(MUG)
    shop.say("--- Tom's checkout holds the other 3 for 5 minutes; Sam finds none left")
    shop.hold("chk-tom", MUG, 3, hold_minutes=5)
    shop.hold("chk-sam", MUG, 1)
    moved = runtime.advance(timedelta(minutes=6))
    shop.say(f"--- {moved:%H:%M} UTC: Tom never paid; the sweep ends his hold and gives its 3 mugs back")
    deadline = time.monotonic() + 30  # the sweep fires on the next tick, its timer goes through a queue
    while shop.stock_of(MUG).reserved and time.monotonic() < deadline:
        time.sleep(0.1)
    shop.show_stock(MUG)
    return f"shopify:{order['id']}"


def play_channels(shop: DemoShop, runtime: LocalRuntime) -> str:
    """The mug on two sales channels (the instance's fake Shopify and WooCommerce shops), through
    signed HTTP only; returns the paid order's id."""
    fakes = runtime.fake_channels
    assert fakes is not None, "the demo's instance runs the fake channels"
    shop.say("--- the owner puts the mugs on sale on the shop's Shopify and WooCommerce stores too")
    listings = fakes.add(MUG)  # what creating the product in each shop's admin does
    shop.say(
        f"        shop (Shopify) lists {MUG} as inventory item {listings['shop']}, "
        f"woo (WooCommerce) as product {listings['woo']}"
    )
    shop.show_channels()
    at = runtime.clock.now().isoformat()
    shop.send(  # Shopify tells shopflow of the new product: its variant names the inventory item
        "products/update",
        {
            "id": MUG_PRODUCT_ID,
            "title": "Mug",
            "tags": "",
            "updated_at": at,
            "variants": [{"id": MUG_VARIANT_ID, "sku": MUG, "inventory_item_id": int(listings["shop"])}],
        },
    )
    shop.link("woo", MUG, listings["woo"])
    shop.say("--- the ERP's next count (still 5) reaches both channels: they show what can be sold")
    shop.count(MUG, 5, sequence=2)
    shop.show_channels(expect=shop.stock_of(MUG).atp)
    shop.say("--- Max buys a mug: both channels show one fewer")
    order = mug_order(5007, CHANNEL_BUYER, runtime.clock.now(), None, quantity=1)
    shop.send("orders/create", order)
    shop.show_stock(MUG)
    shop.show_channels(expect=shop.stock_of(MUG).atp)
    return f"shopify:{order['id']}"


CUP = "CUP-01"  # sold out: four shoppers ask to hear when it is back (issue 17)


def play_back_in_stock(shop: DemoShop, runtime: LocalRuntime) -> None:
    """Shoppers who found the cups sold out hear, first come first served, while they last."""
    from shopflow.store.back_in_stock import DynamoBackInStockStore
    from shopflow.store.orders import DynamoOrderStore

    shop.say(
        "--- cups are sold out; Emma, Ivan, Zofia and Anna, in that order, ask to hear when they are back"
    )
    shop.count(CUP, 0, sequence=1)
    for shopper in CUSTOMERS:
        data = {
            "sku": CUP,
            "email": shopper.email,
            "locale": shopper.locale,
            "product_url": "https://demo-shop.example/products/cup",
        }
        status, result = shop.signed(
            "POST",
            "/webhooks/events",
            {"type": "back_in_stock.subscribed", "timestamp": _utc_now(), "data": data},
        )
        what = f"{'back_in_stock.subscribed':<20} {mask(shopper.email):<22}"
        shop.say(f"shop    {what} -> {status} {result.get('status')}")
    shop.say("--- the ERP counts 1 cup: 3 alerts per unit (back_in_stock.per_unit), oldest first; Anna waits")
    shop.count(CUP, 1, sequence=2)
    store = DynamoBackInStockStore(DynamoOrderStore())
    deadline = time.monotonic() + 30
    while not ((summary := store.summary(CUP)) and summary.batch_due_at) and time.monotonic() < deadline:
        time.sleep(0.1)  # the stream's watcher starts the restock's run
    runtime.advance(timedelta(minutes=1))  # its first batch fires on the sweep's next tick

    def sent() -> bool:  # notify settled each alert: its line is the subscription's last
        told = [line for s, line in store.of_sku(CUP) if s.status.value == "alerted"]
        return len(told) >= 3 and all(line and line.event.startswith("message_") for line in told)

    while not sent() and time.monotonic() < deadline:
        time.sleep(0.2)
    for subscription, line in store.of_sku(CUP):
        last = line.detail if line else ""
        shop.say(f"        {mask(subscription.email or ''):<22} {subscription.status.value:<8} {last}")


def run_demo(data_dir: Path, *, port: int | None = None, say: Callable[[str], None] = print) -> int:
    """Run the demo on a fresh instance in `data_dir` (emptied first); returns an exit code."""
    started = time.monotonic()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    runtime = LocalRuntime(
        LocalOptions(data_dir=data_dir, port=port or free_port(), clock_start=DAY_START),
        report=lambda line: say(f"    | {line}"),
    )
    say(f"shopflow demo: starting a fresh shopflow local in {data_dir} ...")
    session = runtime.start()
    say(f"ready in {runtime.ready_seconds:.1f} s: API {session.api_url}")
    try:
        shop = DemoShop(session, say, clock_to=lambda moment: _clock_to(runtime, shop, moment))
        shop.fake_channels = runtime.fake_channels
        shop.configure()
        order_ids = play_day(shop)
        messages = _wait_for_messages(shop)  # the day's messages go out at the day's time
        emma, anna = f"ORDER#{order_ids[0]}", f"ORDER#{order_ids[-1]}"
        for ahead, when, what, pk, kind in (
            (
                timedelta(days=2, minutes=1),
                "the clock moves two days forward",
                "Anna's order is now late (notify.delayed.after_hours: 48)",
                anna,
                "delayed",
            ),
            (
                timedelta(days=3),
                "five days after Emma's parcel arrived",
                "her iPods last 8 days (tag:refill=8), so she is reminded 3 days ahead "
                "(notify.replenishment.lead_days: 3)",
                emma,
                "replenishment",
            ),
            (
                timedelta(days=3),
                "a week after Emma's parcel arrived",
                "she agreed to marketing email, so she is asked for a review (notify.review.after_days: 7)",
                emma,
                "review",
            ),
        ):
            moved = runtime.advance(ahead)
            say(f"--- {when}: {moved:%Y-%m-%d %H:%M} UTC; {what}")
            _wait_for_record(shop, pk, kind)
            messages = _wait_for_messages(shop)
        order_ids.append(play_stock(shop, runtime))
        messages = _wait_for_messages(shop)
        order_ids.append(play_channels(shop, runtime))
        messages = _wait_for_messages(shop)
        play_back_in_stock(shop, runtime)
        messages = _wait_for_messages(shop)
        _summary(shop, runtime, order_ids, messages, say)
    finally:
        runtime.stop()
    say(
        f"demo finished in {time.monotonic() - started:.1f} s. "
        "Run your own with `shopflow local` (see README)."
    )
    return 0


def _clock_to(runtime: LocalRuntime, shop: DemoShop, moment: datetime) -> None:
    """Let what the last step caused go out at its time, then move the clock to the next step."""
    _wait_for_messages(shop)
    ahead = moment - runtime.clock.now()
    if ahead > timedelta(0):
        runtime.clock.advance(ahead)


def _wait_for_record(shop: DemoShop, pk: str, kind: str, timeout: float = 30.0) -> None:
    """The sweep finds a due timer on its next run; wait for the message records it causes
    (one per channel) to exist under `pk` (`ORDER#...` or `CART#...`)."""
    dynamodb = shop.target.client("dynamodb")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [
            dynamodb.get_item(
                TableName=shop.session.table_name,
                Key={"pk": {"S": pk}, "sk": {"S": f"MESSAGE#{kind}#{channel}"}},
                ConsistentRead=True,
            ).get("Item")
            for channel in ("email", "sms")
        ]
        if all(found):
            return
        time.sleep(0.1)


def _wait_for_messages(shop: DemoShop, timeout: float = 30.0) -> dict[str, int]:
    """Wait until every message the day caused is settled; returns how many ended in each state.

    An event's send-once records are made by notify's claim (decision 45): the outbox item names
    the messages it owes, so a message notify has not reached yet is waited for too."""
    deadline = time.monotonic() + timeout
    while True:
        items = _scan(shop, "item_type IN (:message, :outbox)", {":message": "MESSAGE", ":outbox": "OUTBOX"})
        records = {
            (item["pk"]["S"], item["sk"]["S"]): item["status"]["S"] for item in items if "status" in item
        }
        owed = {
            (f"ORDER#{json.loads(item['payload']['S'])['order_id']}", f"MESSAGE#{message}")
            for item in items
            if "messages" in item
            for message in item["messages"]["S"].split()
        }
        states: dict[str, int] = {}
        for state in records.values():
            states[state] = states.get(state, 0) + 1
        settled = owed <= records.keys() and not ({"PENDING", "SENDING"} & set(states))
        if settled or time.monotonic() > deadline:
            return states
        time.sleep(0.1)


def _scan(shop: DemoShop, condition: str, values: dict[str, str]) -> list[dict[str, Any]]:
    """Every item matching `condition`, all pages (the demo's table is small)."""
    dynamodb = shop.target.client("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=shop.session.table_name,
        FilterExpression=condition,
        ExpressionAttributeValues={name: {"S": value} for name, value in values.items()},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def _summary(
    shop: DemoShop,
    runtime: LocalRuntime,
    order_ids: list[str],
    messages: dict[str, int],
    say: Callable[[str], None],
) -> None:
    from shopflow.store.models import bind_table
    from shopflow.store.orders import DynamoOrderStore

    bind_table(shop.session.table_name, region=shop.session.region)
    store = DynamoOrderStore()
    say("")
    say("=== the day in orders")
    for order_id in order_ids:
        stored = store.get(order_id)
        if stored is None:
            say(f"{order_id}: missing")
            continue
        customer = stored.order.customer
        say(
            f"{order_id} {stored.order.number}  {customer.name} ({customer.locale})  "
            f"{stored.order.total} {stored.order.currency}  -> {stored.order.status.value}"
        )
        for entry in store.timeline(order_id):
            say(f"    {entry.at.isoformat()[:16]}  {entry.event:<16} {entry.detail}")
    from shopflow.store.carts import DynamoCartStore

    carts = DynamoCartStore(store)
    say("")
    say("=== the day in carts")
    for cart_id in ("shopify:996001", "shopify:996002"):
        stored_cart = carts.get(cart_id)
        if stored_cart is None:
            say(f"{cart_id}: missing")
            continue
        cart = stored_cart.cart
        code = f", code {cart.offer.code}" if cart.offer else ""
        say(f"{cart_id}  {cart.customer.name}  {cart.total} {cart.currency}  -> {cart.status.value}{code}")
        for line in carts.timeline(cart_id):
            say(f"    {line.at.isoformat()[:16]}  {line.event:<16} {line.detail}")
    _stock_summary(shop, runtime, say)
    counts: dict[str, int] = {}
    for _, _, _, outcome in shop.answers:
        counts[outcome] = counts.get(outcome, 0) + 1
    say("")
    say("=== webhooks: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
    written = runtime.outbox.written if runtime.outbox else []
    settled = ", ".join(f"{n} {state.lower()}" for state, n in sorted(messages.items()))
    say(f"=== messages: {settled} (why each went or not: the timelines above)")
    for item in written:
        say(f"    {item.channel} to {mask(item.to)}: {item.summary} ({item.path.name})")
    say(f"=== outbox folder: {runtime.data_dir / 'outbox'}")


def _stock_summary(shop: DemoShop, runtime: LocalRuntime, say: Callable[[str], None]) -> None:
    from shopflow.store import stock_view

    say("")
    story = f"shopflow stock get {MUG} --local --data-dir {runtime.data_dir}"
    say(f"=== the day in stock (the whole story: `{story}` on a running instance)")
    shop.show_stock(MUG)
    if shop.fake_channels is not None:
        shop.show_channels()
    for reservation in sorted(stock_view.history(MUG).reservations, key=lambda r: r.created_at):
        quantity = sum(line.quantity for line in reservation.lines)
        say(
            f"    {reservation.created_at:%H:%M}  {reservation.reservation_id}  "
            f"{reservation.checkout_token:<9} {quantity} x {MUG}  -> {reservation.status.value}"
        )
