"""The owner hears of an oversell once: the report's outbox event, the owner's flow, its message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shopflow.clock import FakeClock
from shopflow.config.settings import Settings
from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.queue_messages import EventMessage
from shopflow.kernel.unit_of_work import InMemoryUnitOfWork
from shopflow.messaging.render import LOCALES, MessageContext, Renderer, Shop
from shopflow.notifications.consumer import NotifyConsumer
from shopflow.orders.model import Customer, OrderStatus
from shopflow.orders.ports import StoredOrder
from shopflow.stock import capability as stock_capability
from shopflow.stock.flow import NO_OWNER_ADDRESS, OversellMessages, OversellNotice, OversoldOrderMissing
from shopflow.stock.oversell import (
    OVERSELL_OWED,
    OVERSOLD_KIND,
    STOCK_OVERSOLD,
    BadOversellEvent,
    OversellReport,
    OversoldLine,
    oversell_message,
    report_from_event,
)
from shopflow.store.consent import InMemoryConsentStore
from shopflow.store.messages import InMemoryMessageStore
from shopflow.store.stock_outbox import InMemoryOutbox
from tests.unit.test_message_flows import RecordingOutbound
from tests.unit.test_notify_consumer import SENDER, FakeProvider, FakeSms, corpus_order

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
OWNER = "owner@demo-shop.example"
ORDER = corpus_order().model_copy(update={"status": OrderStatus.PAID})
REPORT = OversellReport(
    order_id=ORDER.order_id,
    order_number=ORDER.number,
    source=ORDER.source,
    lines=(OversoldLine("MUG-01", ordered=3, oversold=2, atp_after=-2), OversoldLine("TEE-<L>", 1, 1, -1)),
    at=NOW,
)


def oversell_notice(locale: str = "en") -> OversellNotice:
    """The owner's message about REPORT, as the notify pipeline hands it to the templates."""
    return OversellNotice(REPORT, "paid", "USD", Customer(email=OWNER, locale=locale))


def event_of(message: OutboxMessage) -> EventMessage:
    """What dispatch puts on the notify queue for an outbox item."""
    return EventMessage(
        type=message.event_type, outbox_id=message.outbox_id, event=json.loads(message.payload)
    )


def test_every_attempt_to_commit_an_orders_oversell_gives_one_event_id() -> None:
    later = OversellReport(
        REPORT.order_id, REPORT.order_number, REPORT.source, REPORT.lines[:1], NOW + timedelta(1)
    )
    other = OversellReport("shopify:2", "#1002", "shopify", REPORT.lines, NOW)

    message = oversell_message(REPORT)

    assert message.event_type == STOCK_OVERSOLD == "StockOversold"
    assert message.outbox_id.startswith("StockOversold.")
    assert oversell_message(later).outbox_id == message.outbox_id  # a retried commit: the same event
    assert oversell_message(other).outbox_id != message.outbox_id


def test_the_event_carries_the_whole_report() -> None:
    assert report_from_event(event_of(oversell_message(REPORT)).event) == REPORT


def test_a_report_without_a_sku_or_with_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one SKU"):
        oversell_message(OversellReport("shopify:1", "#1", "shopify", (), NOW))
    with pytest.raises(ValueError, match="aware"):
        oversell_message(OversellReport("shopify:1", "#1", "shopify", REPORT.lines, NOW.replace(tzinfo=None)))


@pytest.mark.parametrize(
    "broken",
    [{}, {"order_id": "shopify:1"}, {**json.loads(oversell_message(REPORT).payload), "lines": []}],
    ids=["empty", "no-lines", "zero-lines"],
)
def test_an_event_without_its_report_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(BadOversellEvent):
        report_from_event(broken)


def test_the_stock_capability_routes_the_event_to_notify_and_declares_the_owners_message() -> None:
    assert stock_capability.CAPABILITY.events == {STOCK_OVERSOLD: ("notify",)}
    (kind,) = stock_capability.CAPABILITY.kinds
    assert (kind.name, kind.transactional, kind.sms_by_default) == (OVERSOLD_KIND, True, False)
    assert OVERSELL_OWED == ("stock_oversold#email", "stock_oversold#sms")


def test_the_in_memory_outbox_holds_a_staged_message_only_once_its_unit_commits() -> None:
    outbox = InMemoryOutbox()
    message = oversell_message(REPORT)
    work = InMemoryUnitOfWork()

    outbox.stage_outbox_message(message, OVERSELL_OWED, NOW, work)
    assert outbox.messages == []
    work.commit()
    again = InMemoryUnitOfWork()
    outbox.stage_outbox_message(message, OVERSELL_OWED, NOW, again)  # a retried commit: the same item
    again.commit()

    assert outbox.messages == [message]
    assert outbox.owed == {message.outbox_id: OVERSELL_OWED}


# The flow, as the pipeline sees it.


def flow(settings: Settings, *, with_order: bool = True) -> OversellMessages:
    orders = {ORDER.order_id: StoredOrder(ORDER, 2)} if with_order else {}
    return OversellMessages(get_order=orders.get, settings=lambda: settings, kinds=stock_capability.KINDS)


def shop_settings(**values: object) -> Settings:
    return Settings({"notify.locale_fallback": "pl", "shop.timezone": "Europe/Warsaw", **values})


def test_the_owners_message_is_about_the_order_and_goes_to_the_owner_in_the_shops_language() -> None:
    outbound = RecordingOutbound()
    ((type_name, model, heard),) = flow(shop_settings(**{"shop.owner_email": OWNER})).routes(outbound)
    message = oversell_message(REPORT)

    heard(event_of(message))

    assert (type_name, model) == (STOCK_OVERSOLD, EventMessage)
    ((notice, kind, cause),) = outbound.sent
    assert (kind, cause) == (OVERSOLD_KIND, message.outbox_id)
    assert (notice.subject_id, notice.status, notice.source, notice.currency) == (
        ORDER.order_id,
        "paid",
        ORDER.source,
        ORDER.currency,
    )
    assert notice.customer == Customer(email=OWNER, locale="pl", timezone="Europe/Warsaw")
    assert notice.customer.email != ORDER.customer.email
    assert notice.lines == REPORT.lines and notice.order_number == ORDER.number


def test_without_an_owner_address_the_message_is_skipped_saying_which_setting() -> None:
    outbound = RecordingOutbound()
    oversells = flow(shop_settings())

    oversells.notify(REPORT, outbound, cause="StockOversold.x")

    assert outbound.sent == []
    ((notice, kind, cause, reason),) = outbound.skipped
    assert (notice.subject_id, kind, cause) == (ORDER.order_id, OVERSOLD_KIND, "StockOversold.x")
    assert reason == NO_OWNER_ADDRESS == "no owner address configured (shop.owner_email)"


def test_an_event_whose_order_cannot_be_read_is_tried_again() -> None:
    with pytest.raises(OversoldOrderMissing):
        flow(shop_settings(**{"shop.owner_email": OWNER}), with_order=False).notify(
            REPORT, RecordingOutbound(), cause="c"
        )


# Through the notify pipeline (in-memory stores, the real templates).


class Pipeline:
    def __init__(self, **values: object) -> None:
        self.messages = InMemoryMessageStore()
        self.email, self.sms = FakeProvider(), FakeSms()
        self.settings = shop_settings(**{"notify.email.sender": SENDER, **values})
        renderer = Renderer()
        self.consumer = NotifyConsumer(
            messages=self.messages,
            settings=lambda: self.settings,
            renderer=lambda: renderer,
            email=self.email,  # type: ignore[arg-type]
            sms=self.sms,  # type: ignore[arg-type]
            clock=FakeClock(NOW),
            consent=InMemoryConsentStore(),
            flows=[flow(self.settings)],
            sleep=lambda seconds: None,
        )

    def deliver(self, message: OutboxMessage) -> None:
        self.consumer.router.route(event_of(message).model_dump_json())

    def timeline(self) -> list[str]:
        return [entry.detail for entry in self.messages.timelines.get(ORDER.order_id, [])]


def test_an_oversell_delivered_twice_sends_the_owner_one_email_naming_each_sku() -> None:
    pipeline = Pipeline(**{"shop.owner_email": OWNER})
    message = oversell_message(REPORT)

    pipeline.deliver(message)
    pipeline.deliver(message)

    (sent,) = pipeline.email.accepted
    assert sent.endswith(f"to {OWNER}") and "MUG-01" in sent and "TEE-<L>" in sent
    assert pipeline.sms.accepted == []
    assert pipeline.timeline() == [
        "email stock_oversold sent to o***@demo-shop.example (pl)",
        "sms stock_oversold skipped: sms disabled for stock_oversold",
    ]


def test_without_an_owner_address_nothing_is_sent_and_the_orders_timeline_says_why() -> None:
    pipeline = Pipeline()

    pipeline.deliver(oversell_message(REPORT))

    assert pipeline.email.accepted == []
    assert f"email stock_oversold skipped: {NO_OWNER_ADDRESS}" in pipeline.timeline()


# The message itself.


@pytest.mark.parametrize("locale", LOCALES)
def test_the_message_names_the_order_and_each_sku_with_its_numbers_and_what_to_do(locale: str) -> None:
    context = MessageContext(
        subject=oversell_notice(locale), locale=locale, timezone="Europe/Warsaw", shop=Shop("S")
    )
    renderer = Renderer()

    email = renderer.render_email(OVERSOLD_KIND, context)
    sms = renderer.render_sms(OVERSOLD_KIND, context)

    assert ORDER.number in email.subject and "MUG-01" in email.subject
    for text in (email.text, email.html):
        assert ORDER.number in text
    assert "- MUG-01: " in email.text and "3" in email.text and "-2" in email.text
    assert "TEE-&lt;L&gt;</td>" in email.html and "TEE-<L>" in email.text  # escaped in html only
    assert "<td" in email.html and ">-1</td>" in email.html
    assert ORDER.number in sms.body and sms.segments <= 3
    what_to_do = {"en": "restock", "ru": "пополните запас", "pl": "uzupełnij zapas"}[locale]
    assert what_to_do in email.text.lower() and what_to_do in email.html.lower()
