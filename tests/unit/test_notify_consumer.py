"""The notify consumer: which messages go, once, and why the others did not (in-memory stores)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shopflow.carts import capability as carts_capability
from shopflow.carts.flow import CartReminders
from shopflow.clock import FakeClock
from shopflow.config.settings import Settings
from shopflow.kernel.queue_messages import HeldMessage, ReplenishmentDue
from shopflow.messaging.delivery import Accepted, Email, Rejected, SendOutcome, Unknown
from shopflow.messaging.render import EmailContent, RenderError, SmsContent
from shopflow.messaging.unsubscribe import read_token
from shopflow.notifications.consumer import LEASE, NotifyConsumer, RetryLater
from shopflow.notifications.policy import policy_from
from shopflow.orders import capability as orders_capability
from shopflow.orders.model import Consent, Order, OrderStatus
from shopflow.orders.ports import StoredOrder
from shopflow.orders.status_messages import OrderEvent, OrderStatusMessages
from shopflow.replenishment import capability as replenishment_capability
from shopflow.replenishment.flow import ReplenishmentReminders
from shopflow.reviews import capability as reviews_capability
from shopflow.reviews.flow import ReviewRequests
from shopflow.store.buyers import InMemoryBuyerIndex
from shopflow.store.carts import InMemoryCartStore
from shopflow.store.consent import InMemoryConsentStore
from shopflow.store.messages import InMemoryMessageStore
from shopflow.webhooks import shopify
from tests.support import corpus

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SENDER = "orders@demo-shop.example"


def corpus_order(**customer: Any) -> Order:
    order = shopify.normalize("orders/create", corpus("shopify/order.json")).order  # type: ignore[union-attr]
    if customer:
        order = order.model_copy(update={"customer": order.customer.model_copy(update=customer)})
    return order


class StubRenderer:
    """Renders a fixed body naming kind and locale; `broken` kinds fail as a bad template would."""

    def __init__(self, broken: frozenset[str] = frozenset(), sms_segments: int = 1) -> None:
        self.broken = broken
        self.sms_segments = sms_segments

    def render_email(self, kind: str, context: Any) -> EmailContent:
        if kind in self.broken:
            raise RenderError(f"templates/{context.locale}/{kind}.html: 'coupon' is undefined")
        return EmailContent(subject=f"{kind} {context.subject.number}", html=f"<p>{kind}</p>", text=kind)

    def render_sms(self, kind: str, context: Any) -> SmsContent:
        if kind in self.broken:
            raise RenderError(f"templates/{context.locale}/{kind}.sms.txt: 'coupon' is undefined")
        return SmsContent(
            body=f"{kind} {context.subject.number}", encoding="GSM-7", segments=self.sms_segments
        )


@dataclass
class FakeProvider:
    """Answers from a script (then Accepted); records every message it accepted."""

    script: list[SendOutcome] = field(default_factory=list)
    failure_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    accepted: list[str] = field(default_factory=list)
    calls: int = 0

    def _answer(self, what: str) -> SendOutcome:
        self.calls += 1
        if self.script:
            outcome = self.script.pop(0)
        elif self.rng.random() < self.failure_rate:
            outcome = self.rng.choice(
                [
                    Rejected("Throttling: Maximum sending rate exceeded.", True),
                    Rejected("InternalFailure", True),
                ]
            )
        else:
            outcome = Accepted(f"provider-{self.calls}")
        # A timeout after the provider took the message: it is sent, but nobody was told.
        if isinstance(outcome, Accepted) or (isinstance(outcome, Unknown) and "accepted" in outcome.reason):
            self.accepted.append(what)
        return outcome

    def send(self, email: Email) -> SendOutcome:
        return self._answer(f"email {email.subject} to {email.to}")


@dataclass
class FakeSms(FakeProvider):
    def send(self, phone: str, body: str, *, transactional: bool) -> SendOutcome:  # type: ignore[override]
        return self._answer(f"sms {body} to {phone}")


def settings(**values: Any) -> Settings:
    return Settings({"notify.email.sender": SENDER, **values})


class World:
    def __init__(self, order: Order, **overrides: Any) -> None:
        self.clock = FakeClock(NOW)
        self.messages = InMemoryMessageStore()
        self.consent = InMemoryConsentStore()
        self.orders = {order.order_id: StoredOrder(order, 1)}
        self.email = overrides.pop("email", FakeProvider())
        self.sms = overrides.pop("sms", FakeSms())
        self.settings = overrides.pop("settings", settings())
        self.buyers = InMemoryBuyerIndex()
        self.order_messages = OrderStatusMessages(
            get_order=self.orders.get, buyers=self.buyers, kinds=orders_capability.KINDS
        )
        self.consumer = NotifyConsumer(
            messages=self.messages,
            settings=lambda: self.settings,
            renderer=lambda: overrides.get("renderer", StubRenderer()),  # type: ignore[arg-type]
            email=self.email,  # type: ignore[arg-type]
            sms=self.sms,  # type: ignore[arg-type]
            clock=self.clock,
            consent=self.consent,
            flows=[
                self.order_messages,
                ReviewRequests(
                    self.orders.get, self.buyers, lambda: self.settings, kinds=reviews_capability.KINDS
                ),
                ReplenishmentReminders(
                    self.orders.get,
                    self.buyers,
                    lambda: self.settings,
                    self.clock.now,
                    kinds=replenishment_capability.KINDS,
                ),
                CartReminders(
                    InMemoryCartStore(),
                    self.buyers,
                    lambda: self.settings,
                    self.clock.now,
                    kinds=carts_capability.KINDS,
                ),
            ],
            api_url="https://api.example/prod",
            sleep=lambda seconds: None,
        )

    def notify(self, event: OrderEvent) -> None:
        self.order_messages.notify(event, self.consumer)

    def event(self, order: Order, event_type: str = "OrderPlaced", version: int = 1) -> OrderEvent:
        for kind in ("confirmation", "paid", "shipped", "delivered", "cancelled", "refunded"):
            for channel in ("email", "sms"):
                key = (order.order_id, kind, channel)
                if key not in self.messages.records_by_key:
                    self.messages.add_pending(order.order_id, kind, channel, f"{order.order_id}#v{version}")
        return OrderEvent(
            f"{order.order_id}#v{version}#{event_type}", event_type, order.order_id, order.status
        )

    def until_settled(self, event: OrderEvent, *, deliveries: int = 50) -> int:
        """Deliver as SQS would: again after each failure (after the lease), until it completes."""
        for delivery in range(1, deliveries + 1):
            try:
                self.notify(event)
                return delivery
            except RetryLater:
                self.clock.advance(LEASE + timedelta(seconds=1))
        raise AssertionError(f"not settled after {deliveries} deliveries")

    def record(self, order: Order, kind: str, channel: str) -> Any:
        return self.messages.records_by_key[(order.order_id, kind, channel)]

    def details(self, order: Order) -> list[str]:
        return [e.detail for e in self.messages.timelines.get(order.order_id, [])]


def test_a_new_order_is_confirmed_by_email_and_the_disabled_sms_is_recorded_as_skipped() -> None:
    order = corpus_order(phone="+48 601 234 567", locale="pl-PL")
    world = World(order)

    world.notify(world.event(order))

    assert world.email.accepted == ["email confirmation #1001 to bob.norman@hostmail.com"]
    assert world.sms.accepted == []
    assert world.record(order, "confirmation", "email").status == "SENT"
    assert world.record(order, "confirmation", "email").provider_message_id == "provider-1"
    assert world.record(order, "confirmation", "sms").status == "SKIPPED"
    assert world.details(order) == [
        "email confirmation sent to b***@hostmail.com (pl)",
        "sms confirmation skipped: sms disabled for confirmation",
    ]


def test_shipped_goes_by_email_and_sms_in_two_writes_each() -> None:
    order = corpus_order(phone="+48601234567", locale="ru").model_copy(update={"status": OrderStatus.SHIPPED})
    world = World(order)

    world.notify(world.event(order, "OrderStatusChanged", 2))

    assert len(world.email.accepted) == 1 and world.sms.accepted == ["sms shipped #1001 to +48601234567"]
    assert world.messages.writes == 4  # claim + settle, per message
    assert world.details(order)[1] == "sms shipped sent to +48******567 (ru, 1 segment GSM-7)"


def test_the_same_status_change_three_times_sends_one_message_each() -> None:
    order = corpus_order(phone="+48601234567").model_copy(update={"status": OrderStatus.SHIPPED})
    world = World(order)
    event = world.event(order, "OrderStatusChanged", 3)

    for _ in range(3):
        world.notify(event)

    assert len(world.email.accepted) == 1 and len(world.sms.accepted) == 1
    assert len(world.details(order)) == 2  # each recorded once


def test_an_sms_in_quiet_hours_waits_for_its_timer_and_then_goes_once() -> None:
    order = corpus_order(phone="+48601234567", timezone="Europe/Warsaw").model_copy(
        update={"status": OrderStatus.SHIPPED}
    )
    world = World(order)
    world.clock.set(datetime(2026, 11, 20, 22, 15, tzinfo=UTC))  # 23:15 in Warsaw
    event = world.event(order, "OrderStatusChanged", 2)

    world.notify(event)
    world.notify(event)  # SQS delivers it again: still waiting, nothing new

    assert len(world.email.accepted) == 1 and world.sms.accepted == []
    record = world.record(order, "shipped", "sms")
    assert (record.status, record.deferred_until) == ("PENDING", datetime(2026, 11, 21, 7, 0, tzinfo=UTC))
    (timer,) = world.messages.timers.values()
    assert (timer.action, timer.due_at) == ("send_message", record.deferred_until)
    assert world.details(order)[-1] == (
        "sms shipped quiet hours 21:00-08:00 Europe/Warsaw: deferred to 2026-11-21 08:00"
    )

    world.clock.set(timer.due_at)
    world.consumer.router.route(timer.payload)
    world.consumer.router.route(timer.payload)  # the timer fired twice

    assert world.sms.accepted == ["sms shipped #1001 to +48601234567"]
    assert world.record(order, "shipped", "sms").status == "SENT"


@pytest.mark.parametrize(
    ("customer", "channel", "settings_values", "reason"),
    [
        ({"email": None}, "email", {}, "no email address"),
        ({"email": "bob at example"}, "email", {}, "invalid email address"),
        ({"phone": None}, "sms", {"notify.confirmation.sms": True}, "no phone number"),
        ({"phone": "12345"}, "sms", {"notify.confirmation.sms": True}, "invalid phone number"),
        ({}, "email", {"notify.confirmation.email": False}, "email disabled for confirmation"),
        ({}, "email", {"notify.email.sender": None}, "no sender address configured (notify.email.sender)"),
    ],
)
def test_a_message_that_cannot_go_is_skipped_with_its_reason(
    customer: dict[str, Any], channel: str, settings_values: dict[str, Any], reason: str
) -> None:
    order = corpus_order(**customer)
    world = World(order, settings=Settings({"notify.email.sender": SENDER, **settings_values}))

    world.notify(world.event(order))

    record = world.record(order, "confirmation", channel)
    assert (record.status, record.reason) == ("SKIPPED", reason)
    assert f"{channel} confirmation skipped: {reason}" in world.details(order)


def test_an_unknown_locale_falls_back_and_says_so() -> None:
    order = corpus_order(locale="de-DE", timezone="Mars/Olympus")
    world = World(order, settings=settings(**{"notify.locale_fallback": "pl"}))

    world.notify(world.event(order))

    assert world.details(order)[0] == (
        "email confirmation sent to b***@hostmail.com "
        "(pl; unknown locale de-DE; used pl; unknown time zone Mars/Olympus; used UTC)"
    )


def test_a_template_that_fails_is_parked_and_the_rest_goes_on() -> None:
    order = corpus_order(phone="+48601234567").model_copy(update={"status": OrderStatus.SHIPPED})
    renderer = StubRenderer(broken=frozenset({"shipped"}))
    world = World(order, renderer=renderer)
    event = world.event(order, "OrderStatusChanged", 2)

    world.notify(event)  # no RetryLater: retrying cannot fix a template
    world.notify(event)

    record = world.record(order, "shipped", "email")
    assert record.status == "FAILED"
    assert record.reason == "template failed: templates/en/shipped.html: 'coupon' is undefined"
    assert world.email.calls == 0 and world.sms.calls == 0
    assert len(world.details(order)) == 2  # once each, not again on the second delivery


def test_an_sms_over_the_owners_cap_is_not_sent() -> None:
    order = corpus_order(phone="+48601234567").model_copy(update={"status": OrderStatus.SHIPPED})
    world = World(
        order, renderer=StubRenderer(sms_segments=4), settings=settings(**{"notify.sms.max_segments": 3})
    )

    world.notify(world.event(order, "OrderStatusChanged", 2))

    assert world.sms.calls == 0
    assert world.record(order, "shipped", "sms").reason == "4 segments (GSM-7), over the cap of 3"


def test_a_permanent_refusal_is_recorded_and_not_retried() -> None:
    order = corpus_order()
    world = World(
        order, email=FakeProvider(script=[Rejected("MessageRejected: Email address is not verified.", False)])
    )

    world.notify(world.event(order))

    record = world.record(order, "confirmation", "email")
    assert (record.status, record.reason) == ("FAILED", "MessageRejected: Email address is not verified.")
    assert world.email.calls == 1


def test_throttling_is_retried_at_once_then_by_sqs_and_the_message_goes_once() -> None:
    order = corpus_order()
    throttled = Rejected("Throttling: Maximum sending rate exceeded.", True)
    world = World(order, email=FakeProvider(script=[throttled] * 4))
    event = world.event(order)

    with pytest.raises(RetryLater, match="Throttling"):
        world.notify(event)  # three attempts in this delivery
    assert world.record(order, "confirmation", "email").status == "PENDING"
    world.notify(event)  # the next delivery: one more throttle, then accepted

    assert world.email.calls == 5 and len(world.email.accepted) == 1
    assert world.record(order, "confirmation", "email").status == "SENT"


def test_a_timeout_after_the_provider_took_a_transactional_message_sends_it_again_and_says_so() -> None:
    order = corpus_order()
    world = World(order, email=FakeProvider(script=[Unknown("no answer: ReadTimeoutError (accepted)")]))
    event = world.event(order)

    with pytest.raises(RetryLater):
        world.notify(event)
    with pytest.raises(RetryLater, match="being sent by another worker"):
        world.notify(event)  # within the lease, nobody sends it again
    world.clock.advance(LEASE)
    world.notify(event)

    assert len(world.email.accepted) == 2  # at least once: the customer may have two
    record = world.record(order, "confirmation", "email")
    assert (record.status, record.attempts) == ("SENT", 2)
    assert record.reason == "no answer: ReadTimeoutError (accepted)"
    assert world.details(order)[-1].endswith(
        "; attempt 2: an earlier one got no answer and may have been delivered too"
    )


MARKETING = {
    "notify.unsubscribe.secret": "unsubscribe-secret-0123456789",
    "notify.review.url_template": "https://demo-shop.example/products/{product_id}#reviews",
}


def delivered(**customer: Any) -> Order:
    """A review is asked for a delivered order only."""
    return corpus_order(**customer).model_copy(update={"status": OrderStatus.DELIVERED})


def test_a_timeout_on_a_marketing_message_is_never_sent_twice() -> None:
    order = delivered(consent=Consent(email=True))
    world = World(
        order,
        email=FakeProvider(script=[Unknown("no answer: ReadTimeoutError (accepted)")]),
        settings=settings(**MARKETING),
    )
    policy = replace(policy_from(world.settings), enabled=frozenset({("review", "email")}))

    world.consumer.deliver(order, "review", "email", cause="c1", policy=policy)
    world.clock.advance(LEASE * 2)
    world.consumer.deliver(
        order, "review", "email", cause="c1", policy=policy, record=world.record(order, "review", "email")
    )

    assert len(world.email.accepted) == 1 and world.email.calls == 1
    record = world.record(order, "review", "email")
    assert record.status == "FAILED"
    assert record.reason.endswith("not retried: marketing is sent at most once")


def test_marketing_needs_consent_for_its_channel() -> None:
    order = delivered(consent=Consent(email=False, sms=True))
    world = World(order, settings=settings(**MARKETING))
    policy = replace(policy_from(world.settings), enabled=frozenset({("review", "email")}))

    world.consumer.deliver(order, "review", "email", cause="c1", policy=policy)

    assert world.record(order, "review", "email").reason == "no email marketing consent"
    assert world.email.calls == 0


@pytest.mark.parametrize("failure_rate", [0.1, 0.3, 0.5])
def test_under_injected_failures_every_message_goes_exactly_once(failure_rate: float) -> None:
    world: World | None = None
    orders = [
        corpus_order(phone="+48601234567").model_copy(
            update={"order_id": f"shopify:{n}", "status": OrderStatus.SHIPPED}
        )
        for n in range(60)
    ]
    email, sms = FakeProvider(failure_rate=failure_rate), FakeSms(failure_rate=failure_rate)
    for order in orders:
        world = World(order, email=email, sms=sms) if world is None else world
        world.orders[order.order_id] = StoredOrder(order, 2)
        world.until_settled(world.event(order, "OrderStatusChanged", 2))
    assert world is not None

    sent = [r for r in world.messages.records_by_key.values() if r.kind == "shipped"]
    assert [r.status for r in sent] == ["SENT"] * 120
    assert len(email.accepted) == 60 and len(sms.accepted) == 60  # none lost, none twice


def test_a_poison_message_fails_alone_and_the_rest_of_the_batch_completes() -> None:
    order = corpus_order()
    world = World(order)
    world.event(order)
    good = json.dumps(
        {
            "outbox_id": f"{order.order_id}#v1#OrderPlaced",
            "type": "OrderPlaced",
            "event": {"order_id": order.order_id, "status": "pending", "occurred_at": NOW.isoformat()},
        }
    )
    event = {"Records": [sqs_record("m1", "{not json"), sqs_record("m2", good)]}

    answer = world.consumer.handle(event, None)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert len(world.email.accepted) == 1


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
        "awsRegion": "us-east-1",
    }


def test_marketing_email_carries_one_click_unsubscribe_and_an_opt_out_stops_the_next() -> None:
    order = delivered(consent=Consent(email=True))
    email = RecordingProvider()
    world = World(order, email=email, settings=settings(**MARKETING))
    policy = replace(
        policy_from(world.settings), enabled=frozenset({("review", "email"), ("cart_reminder", "email")})
    )

    world.consumer.deliver(order, "review", "email", cause="c1", policy=policy)

    headers = dict(email.sent[0].headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://api.example/prod/unsubscribe/")
    token = link.rsplit("/", 1)[1]
    request = read_token(token, secrets=(MARKETING["notify.unsubscribe.secret"],), now=NOW)
    assert (request.channel, request.address) == ("email", "bob.norman@hostmail.com")

    world.consent.opt_out("email", "Bob.Norman@hostmail.com", now=NOW)
    world.consumer.deliver(order, "cart_reminder", "email", cause="c2", policy=policy)

    assert len(email.sent) == 1
    assert world.record(order, "cart_reminder", "email").reason == "unsubscribed from email marketing"


def test_an_order_message_has_no_unsubscribe_header_and_ignores_opt_outs() -> None:
    order = corpus_order()
    email = RecordingProvider()
    world = World(order, email=email)
    world.consent.opt_out("email", "bob.norman@hostmail.com", now=NOW)

    world.notify(world.event(order))

    assert len(email.sent) == 1 and "List-Unsubscribe" not in email.sent[0].headers


@dataclass
class RecordingProvider(FakeProvider):
    sent: list[Email] = field(default_factory=list)

    def send(self, email: Email) -> SendOutcome:
        self.sent.append(email)
        return super().send(email)


def test_a_review_request_for_an_order_refunded_meanwhile_is_skipped() -> None:
    order = delivered(consent=Consent(email=True)).model_copy(update={"status": OrderStatus.REFUNDED})
    world = World(order, settings=settings(**MARKETING))
    policy = replace(policy_from(world.settings), enabled=frozenset({("review", "email")}))

    world.consumer.deliver(order, "review", "email", cause="review#1", policy=policy)

    assert world.email.calls == 0
    assert world.record(order, "review", "email").reason == "order is refunded now"


def test_a_review_request_needs_a_review_page_setting() -> None:
    order = delivered(consent=Consent(email=True))
    world = World(order, settings=settings(**{"notify.unsubscribe.secret": "unsubscribe-secret-0123456789"}))
    policy = replace(policy_from(world.settings), enabled=frozenset({("review", "email")}))

    world.consumer.deliver(order, "review", "email", cause="review#1", policy=policy)

    assert world.email.calls == 0
    assert (
        world.record(order, "review", "email").reason
        == "no review page configured (notify.review.url_template)"
    )


def test_one_marketing_message_per_customer_per_cap_window_across_orders() -> None:
    first = delivered(consent=Consent(email=True))
    second = first.model_copy(update={"order_id": "shopify:2", "number": "#1002"})
    third = first.model_copy(update={"order_id": "shopify:3", "number": "#1003"})
    world = World(first, settings=settings(**MARKETING))
    policy = replace(policy_from(world.settings), enabled=frozenset({("review", "email")}))

    world.consumer.deliver(first, "review", "email", cause="review#1", policy=policy)
    world.clock.advance(timedelta(hours=15))
    world.consumer.deliver(second, "review", "email", cause="review#2", policy=policy)
    world.clock.advance(timedelta(hours=2))
    world.consumer.deliver(third, "review", "email", cause="review#3", policy=policy)

    assert [r.status for r in (world.record(o, "review", "email") for o in (first, second, third))] == [
        "SENT",
        "SKIPPED",
        "SENT",
    ]
    assert world.record(second, "review", "email").reason == (
        "frequency cap: the customer had a marketing message in the last 16 h"
    )


def test_a_throttled_marketing_message_is_not_blocked_by_its_own_cap_slot() -> None:
    order = delivered(consent=Consent(email=True))
    throttled = Rejected("Throttling: Maximum sending rate exceeded.", True)
    world = World(order, email=FakeProvider(script=[throttled] * 3), settings=settings(**MARKETING))
    policy = replace(policy_from(world.settings), enabled=frozenset({("review", "email")}))

    with pytest.raises(RetryLater):
        world.consumer.deliver(order, "review", "email", cause="review#1", policy=policy)
    world.clock.advance(LEASE)
    world.consumer.deliver(
        order,
        "review",
        "email",
        cause="review#1",
        policy=policy,
        record=world.record(order, "review", "email"),
    )

    assert world.record(order, "review", "email").status == "SENT" and len(world.email.accepted) == 1


@pytest.mark.parametrize("reordered", [False, True])
def test_a_replenishment_sms_held_by_quiet_hours_is_checked_again_when_it_may_go(reordered: bool) -> None:
    order = delivered(phone="+48601234567", timezone="Europe/Warsaw", consent=Consent(sms=True))
    world = World(
        order,
        settings=settings(
            **{
                "shop.url": "https://demo-shop.example",
                "notify.replenishment.periods": ("sku:ipod2008green=30",),
                "notify.replenishment.sms": True,
            }
        ),
    )
    buyers = world.buyers
    world.clock.set(datetime(2026, 11, 20, 22, 15, tzinfo=UTC))  # 23:15 in Warsaw

    world.consumer.router.route(ReplenishmentDue(order_id=order.order_id).model_dump_json())

    assert world.record(order, "replenishment", "email").reason == "no email marketing consent"
    (timer,) = world.messages.timers.values()
    if reordered:  # Bob orders the green one again that night
        again = order.model_copy(update={"order_id": "shopify:2", "lines": order.lines[:1]})
        buyers.record(again, datetime(2026, 11, 20, 23, 0, tzinfo=UTC))
    world.clock.set(timer.due_at)
    world.consumer.router.route(timer.payload)

    record = world.record(order, "replenishment", "sms")
    if reordered:
        assert world.sms.accepted == []
        assert (record.status, record.reason) == ("SKIPPED", "ordered again (order shopify:2)")
    else:
        assert world.sms.accepted == ["sms replenishment #1001 to +48601234567"]
        assert record.status == "SENT"


@pytest.mark.parametrize(("days_ago", "sent"), [(1, False), (4, True)])
def test_no_review_request_within_the_pause_after_another_order(days_ago: int, sent: bool) -> None:
    order = delivered(consent=Consent(email=True))
    world = World(order, settings=settings(**MARKETING, **{"notify.marketing.pause_after_order_days": 3}))
    buyers = world.buyers
    buyers.record(order, NOW - timedelta(days=10))  # the order itself never holds its own review back
    buyers.record(order.model_copy(update={"order_id": "shopify:2"}), NOW - timedelta(days=days_ago))

    review = HeldMessage(
        subject_id=order.order_id, kind="review", channel="email", cause=f"review#{order.order_id}"
    )
    world.consumer.router.route(review.model_dump_json())

    record = world.record(order, "review", "email")
    if sent:
        assert record.status == "SENT" and len(world.email.accepted) == 1
    else:
        assert world.email.calls == 0
        assert (record.status, record.reason) == (
            "SKIPPED",
            "ordered recently (order shopify:2): no reminders for 3 days",
        )
