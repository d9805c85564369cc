"""The owner hears of a paused channel, a tripped breaker, drift and given-up pushes once: the
alert's outbox event, the owner's flow, its message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shopflow.channels import capability as channels_capability
from shopflow.channels.alerts import (
    ALERT_KINDS,
    CHANNEL_ALERT,
    CHANNEL_ALERT_KIND,
    CHANNEL_ALERT_OWED,
    LINES_LISTED,
    AlertKind,
    AlertLine,
    BadChannelAlertEvent,
    ChannelAlert,
    alert_from_event,
    alert_message,
    alert_subject_id,
)
from shopflow.channels.flow import NO_OWNER_ADDRESS, ChannelAlertMessages, ChannelAlertNotice
from shopflow.clock import FakeClock
from shopflow.config.settings import Settings
from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.queue_messages import EventMessage
from shopflow.kernel.unit_of_work import InMemoryUnitOfWork
from shopflow.messaging.render import LOCALES, MessageContext, Renderer, Shop
from shopflow.notifications.consumer import NotifyConsumer
from shopflow.orders.model import Customer
from shopflow.store.consent import InMemoryConsentStore
from shopflow.store.messages import InMemoryMessageStore
from shopflow.store.orders import subject_pk
from shopflow.store.stock_outbox import InMemoryOutbox
from tests.unit.test_message_flows import RecordingOutbound
from tests.unit.test_notify_consumer import SENDER, FakeProvider, FakeSms

NOW = datetime(2026, 11, 29, 1, 0, 17, tzinfo=UTC)
OWNER = "owner@demo-shop.example"
PAUSED = ChannelAlert("main-shop", "paused", "401: the token was refused", (), NOW)
TRIPPED = ChannelAlert(
    "erp-feed",
    "breaker",
    "412 listings would go to 0 within 10 minutes (more than 20 of the 420 it shows)",
    (AlertLine("MUG-01", "gid://shopify/InventoryItem/1", 7, 0), AlertLine("TEE-<L>", None, None, 0)),
    NOW,
)


def event_of(message: OutboxMessage) -> EventMessage:
    """What dispatch puts on the notify queue for an outbox item."""
    return EventMessage(
        type=message.event_type, outbox_id=message.outbox_id, event=json.loads(message.payload)
    )


def alert_notice(alert: ChannelAlert = TRIPPED, locale: str = "en") -> ChannelAlertNotice:
    """The owner's message about `alert`, as the notify pipeline hands it to the templates."""
    return ChannelAlertNotice(alert, alert_message(alert).outbox_id, Customer(email=OWNER, locale=locale))


# The event.


def test_the_same_alert_staged_twice_in_its_minute_is_one_event_and_another_is_another() -> None:
    message = alert_message(PAUSED)

    assert message.event_type == CHANNEL_ALERT == "ChannelAlert"
    assert message.outbox_id.startswith("ChannelAlert.")
    same_minute = ChannelAlert(PAUSED.channel, "paused", PAUSED.reason, (), NOW + timedelta(seconds=40))
    assert alert_message(same_minute).outbox_id == message.outbox_id
    others = [
        ChannelAlert(PAUSED.channel, "paused", PAUSED.reason, (), NOW + timedelta(minutes=1)),
        ChannelAlert("woo", "paused", PAUSED.reason, (), NOW),
        ChannelAlert(PAUSED.channel, "paused", "403: missing scope write_inventory", (), NOW),
        ChannelAlert(PAUSED.channel, "gave_up", PAUSED.reason, (AlertLine("MUG-01"),), NOW),
        ChannelAlert(PAUSED.channel, "gave_up", PAUSED.reason, (AlertLine("TEE-L"),), NOW),
    ]
    assert len({alert_message(other).outbox_id for other in others} - {message.outbox_id}) == len(others)


def test_the_event_carries_the_whole_alert() -> None:
    assert alert_from_event(event_of(alert_message(TRIPPED)).event) == TRIPPED
    assert alert_from_event(event_of(alert_message(PAUSED)).event) == PAUSED


def test_a_large_alert_lists_its_first_skus_and_counts_the_rest() -> None:
    lines = tuple(AlertLine(f"SKU-{n:04d}", str(n), 5, 0) for n in range(1200))
    alert = ChannelAlert("erp-feed", "breaker", "1200 listings would go to 0", lines, NOW)

    carried = alert_from_event(event_of(alert_message(alert)).event)

    assert carried.details == lines[:LINES_LISTED]
    assert (carried.more, carried.sku_count) == (1200 - LINES_LISTED, 1200)
    assert len(alert_message(alert).payload) < 6_000  # one small outbox item


@pytest.mark.parametrize(
    ("alert", "error"),
    [
        (ChannelAlert("Main Shop", "paused", "x", (), NOW), "names a channel"),
        (ChannelAlert("main-shop", "exploded", "x", (), NOW), "one of paused, breaker, drift, gave_up"),  # type: ignore[arg-type]
        (ChannelAlert("main-shop", "paused", " ", (), NOW), "says why"),
        (ChannelAlert("main-shop", "paused", "x", (), NOW.replace(tzinfo=None)), "aware"),
    ],
    ids=["bad-channel", "bad-kind", "no-reason", "naive-time"],
)
def test_an_alert_that_does_not_say_what_happened_is_refused(alert: ChannelAlert, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        alert_message(alert)


@pytest.mark.parametrize(
    "broken",
    [{}, {"channel": "main-shop"}, {**json.loads(alert_message(PAUSED).payload), "kind": "exploded"}],
    ids=["empty", "no-kind", "bad-kind"],
)
def test_an_event_without_its_alert_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(BadChannelAlertEvent):
        alert_from_event(broken)


def test_the_channels_capability_routes_the_event_to_notify_and_declares_the_owners_message() -> None:
    assert channels_capability.CAPABILITY.events == {CHANNEL_ALERT: ("notify",)}
    (kind,) = channels_capability.CAPABILITY.kinds
    assert (kind.name, kind.transactional, kind.sms_by_default) == (CHANNEL_ALERT_KIND, True, False)
    assert CHANNEL_ALERT_OWED == ("channel_alert#email", "channel_alert#sms")
    assert ALERT_KINDS == ("paused", "breaker", "drift", "gave_up")


def test_each_alert_is_its_own_subject_filed_apart_from_orders_and_carts() -> None:
    event_id = alert_message(PAUSED).outbox_id
    subject_id = alert_subject_id("main-shop", event_id)

    assert subject_id == f"channel|main-shop|{event_id}"
    assert subject_pk(subject_id) == f"CHANNELALERT#main-shop#{event_id}"
    assert subject_pk("shopify:1") == "ORDER#shopify:1" and subject_pk("cart|c1") == "CART#c1"


def test_the_in_memory_outbox_holds_a_staged_alert_once() -> None:
    outbox = InMemoryOutbox()
    message = alert_message(PAUSED)
    for _ in range(2):  # staged again by a retried batch: the same item
        work = InMemoryUnitOfWork()
        outbox.stage_outbox_message(message, CHANNEL_ALERT_OWED, NOW, work)
        work.commit()

    assert outbox.messages == [message]
    assert outbox.owed == {message.outbox_id: CHANNEL_ALERT_OWED}


# The flow, as the pipeline sees it.


def shop_settings(**values: object) -> Settings:
    return Settings({"notify.locale_fallback": "pl", "shop.timezone": "Europe/Warsaw", **values})


def flow(settings: Settings) -> ChannelAlertMessages:
    return ChannelAlertMessages(settings=lambda: settings, kinds=channels_capability.MESSAGE_KINDS)


def test_the_owners_message_is_the_alert_filed_under_its_own_subject_in_the_shops_language() -> None:
    outbound = RecordingOutbound()
    ((type_name, model, heard),) = flow(shop_settings(**{"shop.owner_email": OWNER})).routes(outbound)
    message = alert_message(TRIPPED)

    heard(event_of(message))

    assert (type_name, model) == (CHANNEL_ALERT, EventMessage)
    ((notice, kind, cause),) = outbound.sent
    assert (kind, cause) == (CHANNEL_ALERT_KIND, message.outbox_id)
    assert notice.subject_id == f"channel|erp-feed|{message.outbox_id}"
    assert (notice.status, notice.source, notice.channel, notice.reason) == (
        "breaker",
        "erp-feed",
        "erp-feed",
        TRIPPED.reason,
    )
    assert notice.customer == Customer(email=OWNER, locale="pl", timezone="Europe/Warsaw")
    assert notice.lines == TRIPPED.details and notice.sku_count == 2


def test_without_an_owner_address_the_alert_is_skipped_saying_which_setting() -> None:
    outbound = RecordingOutbound()

    flow(shop_settings()).notify(PAUSED, outbound, cause="ChannelAlert.x")

    assert outbound.sent == []
    ((notice, kind, cause, reason),) = outbound.skipped
    assert (notice.subject_id, kind, cause) == ("channel|main-shop|ChannelAlert.x", CHANNEL_ALERT_KIND, cause)
    assert reason == NO_OWNER_ADDRESS == "no owner address configured (shop.owner_email)"


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

    def timeline(self, message: OutboxMessage, channel: str) -> list[str]:
        subject_id = alert_subject_id(channel, message.outbox_id)
        return [entry.detail for entry in self.messages.timelines.get(subject_id, [])]


def test_an_alert_delivered_twice_sends_the_owner_one_email() -> None:
    pipeline = Pipeline(**{"shop.owner_email": OWNER})
    message = alert_message(PAUSED)

    pipeline.deliver(message)
    pipeline.deliver(message)

    (sent,) = pipeline.email.accepted
    assert sent.endswith(f"to {OWNER}") and "main-shop" in sent
    assert pipeline.sms.accepted == []
    assert pipeline.timeline(message, "main-shop") == [
        "email channel_alert sent to o***@demo-shop.example (pl)",
        "sms channel_alert skipped: sms disabled for channel_alert",
    ]


def test_two_alerts_of_one_channel_are_two_emails() -> None:
    pipeline = Pipeline(**{"shop.owner_email": OWNER})

    pipeline.deliver(alert_message(PAUSED))
    pipeline.deliver(
        alert_message(ChannelAlert("main-shop", "paused", PAUSED.reason, (), NOW + timedelta(hours=1)))
    )

    assert len(pipeline.email.accepted) == 2


def test_without_an_owner_address_nothing_is_sent_and_the_alerts_timeline_says_why() -> None:
    pipeline = Pipeline()
    message = alert_message(PAUSED)

    pipeline.deliver(message)

    assert pipeline.email.accepted == []
    assert f"email channel_alert skipped: {NO_OWNER_ADDRESS}" in pipeline.timeline(message, "main-shop")


# The message itself.

WHAT_TO_DO = {
    "paused": "shopflow channels resume main-shop",
    "breaker": "shopflow channels resume erp-feed",
    "drift": "shopflow channels reconcile erp-feed",
    "gave_up": "shopflow channels reconcile erp-feed",
}
HEADLINE = {
    "en": {
        "paused": "paused",
        "breaker": "breaker tripped",
        "drift": "drift on 2 SKUs",
        "gave_up": "given up",
    },
    "ru": {
        "paused": "приостановлен",
        "breaker": "предохранитель",
        "drift": "2 артикулам",
        "gave_up": "2 артикулов",
    },
    "pl": {"paused": "wstrzymany", "breaker": "bezpiecznik", "drift": "2 SKU", "gave_up": "nie wysłano"},
}


def alert_of(kind: AlertKind) -> ChannelAlert:
    if kind == "paused":
        return PAUSED
    return ChannelAlert("erp-feed", kind, TRIPPED.reason, TRIPPED.details, NOW)


@pytest.mark.parametrize("kind", ALERT_KINDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_message_names_the_channel_what_happened_the_skus_and_what_to_do(
    locale: str, kind: AlertKind
) -> None:
    alert = alert_of(kind)
    context = MessageContext(
        subject=alert_notice(alert, locale), locale=locale, timezone="Europe/Warsaw", shop=Shop("S")
    )
    renderer = Renderer()

    email = renderer.render_email(CHANNEL_ALERT_KIND, context)
    sms = renderer.render_sms(CHANNEL_ALERT_KIND, context)

    assert alert.channel in email.subject and HEADLINE[locale][kind] in email.subject
    for text in (email.text, email.html):
        assert alert.reason in text and WHAT_TO_DO[kind] in text
        assert "None" not in text and "{{" not in text
    if kind == "paused":
        assert f"shopflow config set channels.{alert.channel}.token" in email.text
    else:
        assert "- MUG-01 (" in email.text and "gid://shopify/InventoryItem/1" in email.text
        assert "TEE-&lt;L&gt;</td>" in email.html and "- TEE-<L>: " in email.text  # escaped in html only
        assert ">7</td>" in email.html and ">?</td>" in email.html  # unknown: a webhook cannot be read
    assert alert.channel in sms.body and sms.segments <= 3


@pytest.mark.parametrize("kind", ALERT_KINDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_a_shop_without_a_name_gets_the_same_message_without_a_hole(locale: str, kind: AlertKind) -> None:
    context = MessageContext(
        subject=alert_notice(alert_of(kind), locale), locale=locale, timezone="UTC", shop=Shop(None)
    )
    renderer = Renderer()

    email = renderer.render_email(CHANNEL_ALERT_KIND, context)
    sms = renderer.render_sms(CHANNEL_ALERT_KIND, context)

    assert not email.subject.endswith(("\N{EN DASH}", " ")) and sms.body[0].isupper()
    for text in (email.subject, email.text, sms.body):
        assert "None" not in text and all("  " not in line.strip() for line in text.splitlines())
