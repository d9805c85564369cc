"""The owner's daily email of the price proposals waiting (issue 16, item 5): the day's event,
written once a day, the owner's flow, and the message in every locale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from shopflow.config.settings import Settings
from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.queue_messages import EventMessage
from shopflow.messaging.render import LOCALES, MessageContext, Renderer, Shop
from shopflow.orders.model import Customer
from shopflow.pricing import capability as pricing_capability
from shopflow.pricing.digest import (
    LISTED,
    PRICE_PROPOSALS_KIND,
    PRICE_PROPOSALS_OWED,
    PRICE_PROPOSALS_WAITING,
    BadDigestEvent,
    PriceProposalMessages,
    PriceProposalsNotice,
    announce_waiting,
    waiting_from_event,
    waiting_message,
)
from shopflow.pricing.state import Proposal
from shopflow.stock.flow import NO_OWNER_ADDRESS
from shopflow.store.orders import subject_pk
from tests.unit.test_message_flows import RecordingOutbound

NOW = datetime(2026, 11, 29, 7, 0, 3, tzinfo=UTC)
OWNER = "owner@demo-shop.example"


def proposal(
    sku: str, old: str | None, new: str, channel: str = "allegro", currency: str = "PLN"
) -> Proposal:
    return Proposal(
        proposal_id=f"p-{sku.lower()[:4]}{channel[:6]}",
        sku=sku,
        channel=channel,
        currency=currency,
        old=None if old is None else D(old),
        new=D(new),
        rule="beat lowest by 0.01",
        reason="-22.0% is beyond auto_pct 10%, within approve_pct 25%",
        digest="0123456789abcdef",
        proposed_at=NOW - timedelta(hours=5),
    )


WAITING = (
    proposal("MUG-01", "129.99", "101.39"),
    proposal("TEE-<L>", None, "49.99", channel="shop", currency="EUR"),
    proposal("CAP-9", "20.00", "24.49", channel="shop", currency="EUR"),
)


def event_of(message: OutboxMessage) -> EventMessage:
    event = json.loads(message.payload)
    return EventMessage(type=message.event_type, outbox_id=message.outbox_id, event=event)


class Published:
    """The outbox as `runtime.publish_once` keeps it: one item per id."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[OutboxMessage, tuple[str, ...]]] = {}

    def __call__(self, message: OutboxMessage, owed: object, now: datetime) -> bool:
        if message.outbox_id in self.items:
            return False
        self.items[message.outbox_id] = (message, tuple(owed))  # type: ignore[arg-type]
        return True


# The event.


def test_one_event_a_day_whatever_waits_and_another_the_next_day() -> None:
    first = waiting_message(WAITING, NOW)
    later_that_day = waiting_message(WAITING[:1], NOW + timedelta(hours=16))
    next_day = waiting_message(WAITING, NOW + timedelta(days=1))

    assert first.event_type == PRICE_PROPOSALS_WAITING == "PriceProposalsWaiting"
    assert later_that_day.outbox_id == first.outbox_id
    assert next_day.outbox_id != first.outbox_id


def test_the_event_carries_each_proposal_with_money_as_decimal_strings() -> None:
    message = waiting_message(WAITING, NOW)
    payload = json.loads(message.payload)
    waiting = waiting_from_event(payload)

    assert payload["proposals"][0]["old"] == "129.99" and payload["proposals"][0]["new"] == "101.39"
    assert payload["proposals"][1]["old"] is None
    assert (waiting.day, waiting.count, waiting.more) == ("2026-11-29", 3, 0)
    [mug, tee, cap] = waiting.lines
    assert (mug.sku, mug.channel, mug.currency) == ("MUG-01", "allegro", "PLN")
    assert (mug.old, mug.new) == (D("129.99"), D("101.39"))
    assert (mug.change, tee.change, cap.change) == (D("-22.0"), None, D("22.5"))
    assert mug.proposal_id == WAITING[0].proposal_id and mug.reason == WAITING[0].reason


def test_a_long_list_names_the_first_proposals_and_counts_the_rest() -> None:
    many = [proposal(f"SKU-{n:03d}", "10.00", "8.00") for n in range(LISTED + 7)]

    waiting = waiting_from_event(json.loads(waiting_message(many, NOW).payload))

    assert (len(waiting.lines), waiting.more, waiting.count) == (LISTED, 7, LISTED + 7)


def test_an_event_without_its_proposals_is_refused() -> None:
    with pytest.raises(BadDigestEvent):
        waiting_from_event({"day": "2026-11-29", "at": NOW.isoformat()})
    with pytest.raises(BadDigestEvent):
        waiting_from_event({"day": "2026-11-29", "proposals": [], "at": NOW.isoformat()})
    with pytest.raises(ValueError, match="at least one"):
        waiting_message([], NOW)


# Once a day, only when proposals wait.


def test_proposals_waiting_are_announced_once_a_day_even_if_the_schedule_fires_twice() -> None:
    published = Published()

    first = announce_waiting(WAITING, NOW, published)
    again = announce_waiting(WAITING, NOW + timedelta(minutes=1), published)

    assert first["sent"] is True and first["proposals"] == 3
    assert again == {"sent": False, "reason": "the email of 2026-11-29 is on its way already"}
    [(_, owed)] = published.items.values()
    assert owed == PRICE_PROPOSALS_OWED == ("price_proposals#email", "price_proposals#sms")
    assert announce_waiting(WAITING, NOW + timedelta(days=1), published)["sent"] is True
    assert len(published.items) == 2


def test_nothing_is_announced_when_no_proposal_waits() -> None:
    published = Published()

    assert announce_waiting((), NOW, published) == {"sent": False, "reason": "no proposal waits"}
    assert published.items == {}


# The owner's flow.


def flow(**values: object) -> PriceProposalMessages:
    settings = Settings({"notify.locale_fallback": "pl", "shop.timezone": "Europe/Warsaw", **values})
    return PriceProposalMessages(settings=lambda: settings, kinds=pricing_capability.MESSAGE_KINDS)


def test_the_owner_gets_the_days_list_in_the_shops_language_filed_under_the_day() -> None:
    outbound = RecordingOutbound()
    message = waiting_message(WAITING, NOW)
    ((type_name, model, heard),) = flow(**{"shop.owner_email": OWNER}).routes(outbound)

    heard(event_of(message))

    assert (type_name, model) == (PRICE_PROPOSALS_WAITING, EventMessage)
    ((notice, kind, cause),) = outbound.sent
    assert (kind, cause) == (PRICE_PROPOSALS_KIND, message.outbox_id)
    assert notice.subject_id == "prices|2026-11-29"
    assert subject_pk(notice.subject_id) == "PRICEDIGEST#2026-11-29"  # not an order's partition
    assert notice.customer == Customer(email=OWNER, locale="pl", timezone="Europe/Warsaw")
    assert [line.sku for line in notice.lines] == ["MUG-01", "TEE-<L>", "CAP-9"]


def test_without_an_owner_address_the_email_is_skipped_saying_which_setting() -> None:
    outbound = RecordingOutbound()

    flow().notify(waiting_from_event(json.loads(waiting_message(WAITING, NOW).payload)), outbound, cause="c")

    assert outbound.sent == []
    ((_, kind, _, reason),) = outbound.skipped
    assert (kind, reason) == (PRICE_PROPOSALS_KIND, NO_OWNER_ADDRESS)


# The message itself.

HEADLINE = {
    "en": "3 price changes wait for your approval",
    "ru": "Изменения цен ждут вашего решения: 3",
    "pl": "Zmiany cen czekają na Twoją decyzję: 3",
}
MUG_LINE = {
    "en": "- MUG-01 on allegro: PLN 129.99 -> PLN 101.39 (-22%)",
    "ru": "- MUG-01 в канале allegro: 129,99 PLN -> 101,39 PLN (-22 %)",
    "pl": "- MUG-01 na kanale allegro: 129,99 zł -> 101,39 zł (-22%)",
}


def notice(locale: str, waiting: tuple[Proposal, ...] = WAITING) -> PriceProposalsNotice:
    message = waiting_message(waiting, NOW)
    waiting_event = waiting_from_event(json.loads(message.payload))
    return PriceProposalsNotice(waiting_event, message.outbox_id, Customer(email=OWNER, locale=locale))


def plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ").replace("\N{MINUS SIGN}", "-")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_email_lists_each_proposal_why_its_id_and_how_to_answer(locale: str) -> None:
    context = MessageContext(subject=notice(locale), locale=locale, timezone="Europe/Warsaw", shop=Shop("S"))
    renderer = Renderer()

    email = renderer.render_email(PRICE_PROPOSALS_KIND, context)
    sms = renderer.render_sms(PRICE_PROPOSALS_KIND, context)

    assert email.subject.startswith(HEADLINE[locale])
    text = plain(email.text)
    assert MUG_LINE[locale] in text
    for waiting in WAITING:
        assert waiting.proposal_id in text and waiting.proposal_id in email.html
        assert f"{waiting.rule}: {waiting.reason}" in text
    assert "+22%" in text.replace(" %", "%")  # a rise says so
    assert "shopflow prices approve ID" in text and "shopflow prices reject ID" in text
    assert "/admin/prices/proposals/ID/approve" in text
    assert "TEE-&lt;L&gt;</td>" in email.html and "- TEE-<L> " in text  # escaped in html only
    for part in (email.subject, email.text, email.html, sms.body):
        assert "None" not in part and "{{" not in part
    assert sms.segments <= 3


@pytest.mark.parametrize("locale", LOCALES)
def test_a_long_list_says_how_many_more_and_where_to_see_them(locale: str) -> None:
    many = tuple(proposal(f"SKU-{n:03d}", "10.00", "8.00") for n in range(LISTED + 2))
    context = MessageContext(subject=notice(locale, many), locale=locale, timezone="UTC", shop=Shop(None))

    email = Renderer().render_email(PRICE_PROPOSALS_KIND, context)

    assert "SKU-049" in email.text and "SKU-050" not in email.text
    assert "2 " in email.text and "shopflow prices proposals" in email.text
    assert not email.subject.endswith(("\N{EN DASH}", " "))
