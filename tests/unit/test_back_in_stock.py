"""Back-in-stock alerts without AWS: the restock rule, batches against the in-memory store, the
notify flow's checks, the stream record parser, and the templates in every language."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shopflow.back_in_stock.capability import KINDS
from shopflow.back_in_stock.flow import BackInStockAlerts
from shopflow.back_in_stock.model import (
    RestockRules,
    Subscription,
    SubscriptionStatus,
    batch_size,
    contact_id,
    restocked,
)
from shopflow.back_in_stock.ports import ReceivedSubscription, ReceivedUnsubscription
from shopflow.back_in_stock.service import on_stock_change, run_batch, subscribe, unsubscribe
from shopflow.back_in_stock.watch import atp_change
from shopflow.kernel.messages import NotYet
from shopflow.kernel.queue_messages import HeldMessage
from shopflow.messaging.render import LOCALES, MessageContext, Renderer, Shop
from shopflow.orders.model import PastOrder
from shopflow.store.back_in_stock import InMemoryBackInStockStore

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RULES = RestockRules(min_atp=1, per_unit=3, batch_minutes=30)
PAGE = "https://demo-shop.example/mug"


def subscription(
    email: str | None = "ann@example.com", sku: str = "MUG-01", **changes: object
) -> Subscription:
    phone = changes.pop("phone", None)
    return Subscription(
        sku=sku,
        contact=contact_id(email, phone if isinstance(phone, str) else None),
        email=email,
        phone=phone if isinstance(phone, str) else None,
        product_url=PAGE,
        subscribed_at=NOW,
        **changes,  # type: ignore[arg-type]
    )


def alert_subscription(locale: str) -> Subscription:
    """A subscription as an alert's template sees it (test_templates renders it nameless too)."""
    return subscription(locale=locale)


@pytest.mark.parametrize(
    ("old", "new", "min_atp", "back"),
    [
        (0, 1, 1, True),
        (-2, 3, 1, True),  # oversold, then counted again
        (None, 4, 1, True),  # its first count
        (1, 2, 1, False),  # more of what was there
        (3, 0, 1, False),
        (0, 2, 3, False),  # not enough yet
        (2, 3, 3, True),  # enough now
    ],
)
def test_a_sku_is_back_when_its_atp_reaches_the_minimum_from_below(
    old: int | None, new: int, min_atp: int, back: bool
) -> None:
    assert restocked(old, new, min_atp) is back


def test_a_batch_serves_per_unit_for_each_unit_and_none_once_the_stock_is_gone() -> None:
    assert [batch_size(atp, 3) for atp in (-1, 0, 1, 4)] == [0, 0, 3, 12]


def subscribe_all(store: InMemoryBackInStockStore, emails: list[str]) -> None:
    for n, email in enumerate(emails):
        received = ReceivedSubscription(f"msg_{n}", subscription(email), via="events")
        assert subscribe(received, store, now=NOW + timedelta(seconds=n)).status == "accepted"


def test_a_restock_alerts_the_oldest_first_and_arms_the_next_batch_while_some_wait() -> None:
    store = InMemoryBackInStockStore()
    emails = [f"s{n}@example.com" for n in range(5)]
    subscribe_all(store, emails)
    assert on_stock_change("MUG-01", 0, 1, store, RULES, now=NOW)
    assert not on_stock_change("MUG-01", 0, 1, store, RULES, now=NOW)  # one run at a time
    sent: list[HeldMessage] = []

    result = run_batch(
        "MUG-01",
        store,
        atp_of=lambda sku: 1,
        purchases_since=None,
        to_notify=sent.append,
        rules=RULES,
        channels_on=(True, False),
        now=NOW,
    )

    assert [m.subject_id for m in sent] == [subscription(e).subject_id for e in emails[:3]]
    assert {m.channel for m in sent} == {"email"}
    assert result.next_batch_at == NOW + timedelta(minutes=30)
    summary = store.summary("MUG-01")
    assert summary is not None and (summary.waiting, summary.alerted) == (2, 3)


def test_a_batch_that_finds_the_stock_gone_ends_the_run_and_alerts_nobody() -> None:
    store = InMemoryBackInStockStore()
    subscribe_all(store, ["a@example.com", "b@example.com"])
    on_stock_change("MUG-01", 0, 2, store, RULES, now=NOW)
    sent: list[HeldMessage] = []
    result = run_batch(
        "MUG-01",
        store,
        atp_of=lambda sku: 0,
        purchases_since=None,
        to_notify=sent.append,
        rules=RULES,
        channels_on=(True, True),
        now=NOW,
    )
    assert sent == [] and result.next_batch_at is None
    summary = store.summary("MUG-01")
    assert summary is not None and summary.batch_due_at is None and summary.waiting == 2


def test_a_buyer_is_skipped_with_the_reason_and_takes_no_place_in_the_batch() -> None:
    store = InMemoryBackInStockStore()
    subscribe_all(store, ["ann@example.com", "bob@example.com"])
    bought = [PastOrder("erp:1001", NOW + timedelta(minutes=5), frozenset({"MUG-01"}))]
    sent: list[HeldMessage] = []
    run_batch(
        "MUG-01",
        store,
        atp_of=lambda sku: 1,
        purchases_since=lambda keys, since: bought if "email:ann@example.com" in keys else [],
        to_notify=sent.append,
        rules=RestockRules(1, 1, 30),
        channels_on=(True, True),
        now=NOW,
    )
    assert [m.subject_id for m in sent] == [subscription("bob@example.com").subject_id]
    ann = subscription("ann@example.com")
    assert store.subscriptions[(ann.contact, ann.sku)].status is SubscriptionStatus.SKIPPED
    [*_, line] = store.timeline(ann.subject_id)
    assert line.detail == "skipped: bought MUG-01 since subscribing (order erp:1001)"


def test_a_phone_only_subscription_is_alerted_by_sms_and_an_unsubscribed_one_not_at_all() -> None:
    store = InMemoryBackInStockStore()
    texted = subscription(None, phone="+48 601 234 567")
    subscribe(ReceivedSubscription("m1", texted, "events"), store, now=NOW)
    subscribe_all(store, ["gone@example.com"])
    gone = ReceivedUnsubscription("m2", "MUG-01", contact_id("gone@example.com", None), "events")
    assert unsubscribe(gone, store, now=NOW).status == "accepted"
    assert unsubscribe(gone, store, now=NOW).status == "ignored"
    sent: list[HeldMessage] = []
    run_batch(
        "MUG-01",
        store,
        atp_of=lambda sku: 5,
        purchases_since=None,
        to_notify=sent.append,
        rules=RULES,
        channels_on=(True, True),
        now=NOW,
    )
    assert [(m.subject_id, m.channel) for m in sent] == [(texted.subject_id, "sms")]


def test_notify_checks_again_before_the_alert_goes_and_one_sold_out_meanwhile_keeps_its_place() -> None:
    store = InMemoryBackInStockStore()
    subscribe_all(store, ["ann@example.com", "bob@example.com"])
    run_batch(
        "MUG-01",
        store,
        atp_of=lambda sku: 1,
        purchases_since=None,
        to_notify=lambda message: None,
        rules=RestockRules(1, 1, 30),
        channels_on=(True, True),
        now=NOW,
    )
    ann = store.subscriptions[(contact_id("ann@example.com", None), "MUG-01")]
    flow = BackInStockAlerts(
        get=store.subscription,
        requeue=store.requeue,
        atp_of=lambda sku: 0,
        purchases_since=None,
        settings=lambda: None,  # type: ignore[arg-type,return-value]
        kinds=KINDS,
    )
    assert flow.subject(ann.subject_id) == ann
    assert flow.subject("shopify:1001") is None
    assert isinstance(flow.recheck(ann, "back_in_stock", NOW), NotYet)  # sold out again: not sent
    assert [s.contact for s in store.waiting("MUG-01", 5)] == [
        ann.contact,
        subscription("bob@example.com").contact,
    ]
    flow.atp_of = lambda sku: 2
    assert flow.recheck(ann, "back_in_stock", NOW) == ann


def test_a_stock_items_stream_record_is_read_as_its_atp_change_and_nothing_else_is() -> None:
    def image(atp: int) -> dict[str, object]:
        return {"pk": {"S": "STOCK#MUG-01"}, "item_type": {"S": "STOCK"}, "atp": {"N": str(atp)}}

    record = {"dynamodb": {"OldImage": image(0), "NewImage": image(2)}}
    change = atp_change(json.loads(json.dumps(record)))
    assert change is not None and (change.sku, change.old_atp, change.new_atp) == ("MUG-01", 0, 2)
    first = atp_change({"dynamodb": {"NewImage": image(1)}})
    assert first is not None and first.old_atp is None
    assert atp_change({"dynamodb": {"NewImage": {"item_type": {"S": "LISTING"}}}}) is None


@pytest.mark.parametrize("locale", LOCALES)
def test_the_alert_renders_in_every_language_with_its_link_and_its_stop(locale: str) -> None:
    context = MessageContext(
        subject=alert_subscription(locale),
        locale=locale,
        timezone="Europe/Warsaw",
        shop=Shop("Demo Shop", url="https://demo-shop.example"),
        product_links=(("MUG-01", PAGE),),
        unsubscribe_url="https://api.example/unsubscribe/tok.sig",
    )
    renderer = Renderer()
    email = renderer.render_email("back_in_stock", context)
    sms = renderer.render_sms("back_in_stock", context)
    for text in (email.subject, email.text, email.html, sms.body):
        assert "MUG-01" in text and "None" not in text and "{{" not in text
    for text in (email.text, email.html, sms.body):
        assert PAGE in text
    assert "https://api.example/unsubscribe/tok.sig" in email.text
    assert sms.segments <= 2


def test_a_stop_link_names_the_one_kind_it_stops_and_an_old_link_stops_all_marketing() -> None:
    from shopflow.messaging.unsubscribe import make_token, read_token
    from shopflow.notifications.unsubscribe_page import unsubscribe_page
    from shopflow.store.consent import InMemoryConsentStore

    scoped = make_token("email", "ann@example.com", secret="s3cret", now=NOW, scope="back_in_stock")
    plain = make_token("email", "ann@example.com", secret="s3cret", now=NOW)
    assert read_token(scoped, secrets=("s3cret",), now=NOW).scope == "back_in_stock"
    assert read_token(plain, secrets=("s3cret",), now=NOW).scope is None

    class Settings:
        def get(self, key: str) -> object:
            return {"notify.unsubscribe.secret": "s3cret", "shop.name": "Demo Shop"}.get(key)

    consent = InMemoryConsentStore()
    status, page = unsubscribe_page("POST", scoped, settings=Settings(), consent=consent, now=NOW)  # type: ignore[arg-type]
    assert status == 200 and "back-in-stock alerts" in page
    assert consent.opted_out("email", "ann@example.com", "back_in_stock")
    assert not consent.opted_out("email", "ann@example.com")  # other marketing goes on


def test_a_batch_whose_timer_fires_twice_runs_once() -> None:
    store = InMemoryBackInStockStore()
    subscribe_all(store, [f"s{n}@example.com" for n in range(6)])
    on_stock_change("MUG-01", 0, 1, store, RULES, now=NOW)
    sent: list[HeldMessage] = []

    def fire() -> None:
        run_batch(
            "MUG-01",
            store,
            atp_of=lambda sku: 1,
            purchases_since=None,
            to_notify=sent.append,
            rules=RULES,
            channels_on=(True, False),
            now=NOW,
            batch_id="b1",
        )

    fire()
    fire()  # the same timer delivered again (the sweep and SQS deliver at least once)
    assert len(sent) == 3
