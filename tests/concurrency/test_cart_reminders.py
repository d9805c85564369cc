"""1,000 abandoned carts on DynamoDB Local: the stores, the sweep's index queries and notify's
send-once records are the real ones; SQS, SES and SNS are in-process stand-ins that record
what they were given. Two sweeps run at once and every notify message is delivered twice, on
threads, as SQS may do."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shopflow.carts import capability as carts_capability
from shopflow.carts.flow import CartReminders
from shopflow.carts.model import Cart, CartConverted, CartSnapshot
from shopflow.carts.ports import ReceivedCartChange
from shopflow.carts.reminders import CART_REMINDER, cart_timing
from shopflow.carts.service import record_cart_delivery
from shopflow.clock import FakeClock
from shopflow.config.settings import Settings
from shopflow.kernel.queue_messages import CartStepDue
from shopflow.messaging.delivery import SesSender, SnsSender
from shopflow.messaging.render import Renderer
from shopflow.notifications.consumer import NotifyConsumer
from shopflow.orders import capability as orders_capability
from shopflow.orders.model import Consent, Customer, OrderLine
from shopflow.orders.ports import ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.orders.status_messages import OrderStatusMessages
from shopflow.store.buyers import DynamoBuyerIndex
from shopflow.store.carts import DynamoCartStore
from shopflow.store.consent import DynamoConsentStore
from shopflow.store.messages import DynamoMessageStore
from shopflow.store.orders import DynamoOrderStore
from shopflow.timers.consumer import TimerConsumer
from shopflow.timers.sweep import Sweeper
from shopflow.webhooks import events
from tests.concurrency.test_concurrent_deliveries import scan

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Warsaw: no quiet hours for anyone
CARTS = 1000
SETTINGS = Settings(
    {
        "notify.email.sender": "shop@demo-shop.example",
        "notify.unsubscribe.secret": "unsubscribe-secret-0123456789",
        "shop.timezone": "Europe/Warsaw",
    }
)


class Queue:
    """Stands in for SQS: keeps every body sent, as Lambda SQS records."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        with self._lock:
            self.bodies.extend(entry["MessageBody"] for entry in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def records(self) -> list[dict[str, Any]]:
        return [{"messageId": f"m-{next(self._ids)}", "body": body, "attributes": {}} for body in self.bodies]


class Mailbox:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def send_raw_email(self, **request: Any) -> dict[str, str]:
        with self._lock:
            self.sent.extend(request["Destinations"])
            return {"MessageId": f"ses-{len(self.sent)}"}


def kind_of(n: int) -> str:
    """10% without consent; 10% converted before step 1 (half by an order, half by cart.converted)."""
    if n % 10 == 1:
        return "no consent"
    return {2: "bought", 12: "converted"}.get(n % 20, "abandoned")


def cart(n: int) -> Cart:
    return Cart(
        cart_id=f"erp:C-{n}",
        source="erp",
        external_id=f"C-{n}",
        currency="PLN",
        total=Decimal("129.00"),
        lines=(OrderLine(sku="CAP-10", name="Coffee capsules", quantity=3, unit_price=Decimal("43.00")),),
        customer=Customer(
            email=f"shopper{n}@example.pl",
            locale="pl",
            consent=Consent(email=kind_of(n) != "no consent"),
        ),
        recovery_url=f"https://shop.example/cart/C-{n}",
        tokens=(f"cart:C-{n}",),
        started_at=START,
        last_activity_at=START,
    )


def order_placed(n: int, at: datetime) -> ReceivedChange:
    event = events.OrderCreatedBody.model_validate(
        {
            "type": "order.created",
            "timestamp": at,
            "data": {
                "source": "erp",
                "external_id": f"SO-{n}",
                "currency": "PLN",
                "total": "129.00",
                "lines": [{"name": "Coffee capsules", "quantity": 3, "unit_price": "43.00"}],
                "customer": {"email": f"Shopper{n}@example.pl "},  # matched however it is written
                "updated_at": at,
            },
        }
    )
    return ReceivedChange(
        dedup_keys=(f"events:so-{n}",), change=events.to_change(event), via="erp order.created"
    )


def test_a_thousand_abandoned_carts_get_exactly_800_first_reminders_once_each(table: Any) -> None:
    clock = FakeClock(START)
    orders = DynamoOrderStore()
    carts = DynamoCartStore(orders)
    timing = cart_timing(SETTINGS)
    retention = timedelta(days=8)

    def seen(n: int) -> None:
        change = CartSnapshot(cart_id=f"erp:C-{n}", source="erp", external_id=f"C-{n}", cart=cart(n))
        delivery = ReceivedCartChange((f"events:cart-{n}",), change, "erp cart.updated")
        assert record_cart_delivery(
            delivery, carts, now=START, dedup_retention=retention, timing=timing
        ).status == ("accepted")

    def closed(n: int) -> None:
        at = START + timedelta(minutes=30)
        if kind_of(n) == "bought":  # an order by the same (differently written) email
            record_delivery(order_placed(n, at), orders, now=at)
        elif kind_of(n) == "converted":
            change = CartConverted(cart_id=f"erp:C-{n}", source="erp", external_id=f"C-{n}", occurred_at=at)
            delivery = ReceivedCartChange((f"events:conv-{n}",), change, "erp cart.converted")
            record_cart_delivery(delivery, carts, now=at, dedup_retention=retention, timing=timing)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(seen, range(CARTS)))
        list(pool.map(closed, range(CARTS)))

    # A day later (the clock jumped): both sweeps find the 950 first reminders still armed
    # (the 50 carts converted by cart.converted lost theirs with it); second steps are not due yet.
    clock.set(START + timedelta(hours=23))
    timers_queue = Queue()
    sweeper = Sweeper(lambda: timers_queue, "timers", clock)
    with ThreadPoolExecutor(max_workers=2) as pool:
        swept = list(pool.map(lambda _: sweeper.handle({}, None)["due"], range(2)))
    assert swept == [950, 950]

    notify_queue = Queue()
    consumer = TimerConsumer(
        {
            CART_REMINDER: lambda payload: notify_queue.bodies.append(
                CartStepDue.model_validate(payload).model_dump_json()
            )
        }
    )
    assert consumer.handle({"Records": timers_queue.records()}, None) == {"batchItemFailures": []}
    assert len(notify_queue.bodies) == 1900

    mailbox = Mailbox()
    renderer = Renderer()
    buyers = DynamoBuyerIndex()
    notifier = NotifyConsumer(
        messages=DynamoMessageStore(orders),
        settings=lambda: SETTINGS,
        renderer=lambda: renderer,
        email=SesSender(lambda: mailbox),
        sms=SnsSender(lambda: None),
        clock=clock,
        consent=DynamoConsentStore(),
        flows=[
            OrderStatusMessages(get_order=orders.get, buyers=buyers, kinds=orders_capability.KINDS),
            CartReminders(carts, buyers, lambda: SETTINGS, clock.now, kinds=carts_capability.KINDS),
        ],
        api_url="https://api.example/prod",
    )
    records = notify_queue.records() * 2  # and SQS delivers each of them twice
    for _ in range(10):  # what fails (another worker holds it) comes back, as from SQS
        batches = [records[i : i + 10] for i in range(0, len(records), 10)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda batch: notifier.handle({"Records": batch}, None), batches))
        failed = {f["itemIdentifier"] for answer in answers for f in answer["batchItemFailures"]}
        records = [r for r in records if r["messageId"] in failed]
        if not records:
            break
    assert records == []

    expected = {f"shopper{n}@example.pl" for n in range(CARTS) if kind_of(n) == "abandoned"}
    assert len(expected) == 800
    assert Counter(mailbox.sent) == Counter(expected)  # each of the 800 once, nobody else

    statuses = Counter(
        (item["status"], item.get("reason", "").split(" (")[0])
        for item in scan(table)
        if item["item_type"] == "MESSAGE" and item["pk"].startswith("CART#") and item["channel"] == "email"
    )
    assert statuses == {
        ("SENT", ""): 800,
        ("SKIPPED", "no email marketing consent"): 100,
        ("SKIPPED", "purchased"): 50,
    }
