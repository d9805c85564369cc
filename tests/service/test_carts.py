"""Abandoned carts against moto: Shopify checkouts and canonical cart events, through the real
api, sweep, timers and notify handlers, with the clock moved by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from app import sweep, timers
from shopflow.store.orders import iso
from tests.service.conftest import (
    Stack,
    deliver_notify,
    drain,
    plain_text,
    post_shopify,
    run_due,
    sent_emails,
    stream_event,
)
from tests.support import corpus, dumps, events_headers

CHECKOUT_ID = "shopify:450789469"  # the corpus checkout; the corpus order was placed from it
RECOVERY_URL = "https://checkout.local/orders/690933842/2a1ace52255252df566af0faaedfbfa7?recovered=1"


@pytest.fixture
def shop(stack: Stack) -> Stack:
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", "orders@demo-shop.example")
    stack.put_setting("notify/unsubscribe/secret", "unsubscribe-secret-0123456789", secure=True)
    return stack


def checkout(stack: Stack, at: datetime, *, consent: bool = True, **changes: Any) -> dict[str, Any]:
    body = {
        **corpus("shopify/abandoned_checkout.json"),
        "buyer_accepts_marketing": consent,
        "created_at": iso(at),
        "updated_at": iso(at),
        **changes,
    }
    body["customer"] = {**body["customer"], "accepts_marketing": consent}
    return body


def cart_messages(stack: Stack, cart_id: str = CHECKOUT_ID) -> dict[str, tuple[str, str | None]]:
    return {
        item["sk"].removeprefix("MESSAGE#"): (item["status"], item.get("reason"))
        for item in stack.items_of("MESSAGE")
        if item["pk"] == f"CART#{cart_id}"
    }


def cart_document(stack: Stack, cart_id: str = CHECKOUT_ID) -> dict[str, Any]:
    item = next(i for i in stack.items_of("CART") if i["pk"] == f"CART#{cart_id}")
    return json.loads(item["document"])


def test_an_abandoned_checkout_gets_a_reminder_then_a_unique_code_each_once(shop: Stack) -> None:
    start = shop.clock.now()
    answer = post_shopify(shop, "checkouts/create", checkout(shop, start))
    assert answer == {"status": "accepted", "cart_id": CHECKOUT_ID, "cart_status": "open"}
    before = len(sent_emails())

    shop.clock.advance(timedelta(minutes=59))
    assert run_due(shop) == 0
    shop.clock.advance(timedelta(minutes=2))
    assert run_due(shop) == 1
    assert run_due(shop) == 0  # acted on: gone

    first = sent_emails()[before:]
    assert len(first) == 1 and set(first[0].destinations) == {"bob.norman@hostmail.com"}
    raw = first[0].raw_data
    assert RECOVERY_URL in plain_text(first[0]) and "IPod Nano - 8GB" in plain_text(first[0])
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert "BACK-" not in raw

    shop.clock.advance(timedelta(hours=24))
    assert run_due(shop) == 1
    second = sent_emails()[before + 1 :]
    assert len(second) == 1
    code = cart_document(shop)["offer"]["code"]
    assert code.startswith("BACK-") and code in plain_text(second[0])
    assert cart_document(shop)["offer"]["percent"] == 10

    shop.clock.advance(timedelta(days=3))
    assert run_due(shop) == 0
    assert len(sent_emails()) == before + 2
    assert cart_messages(shop) == {
        "cart_reminder#email": ("SENT", None),
        "cart_reminder#sms": ("SKIPPED", "sms disabled for cart_reminder"),
        "cart_offer#email": ("SENT", None),
        "cart_offer#sms": ("SKIPPED", "sms disabled for cart_offer"),
    }


def test_an_order_placed_one_second_before_the_reminder_is_due_cancels_it(shop: Stack) -> None:
    start = shop.clock.now()
    post_shopify(shop, "checkouts/create", checkout(shop, start))
    before = len(sent_emails())
    shop.clock.advance(timedelta(minutes=60) - timedelta(seconds=1))
    order = {**corpus("shopify/order.json"), "processed_at": iso(shop.clock.now()), "checkout_id": None}
    order["cart_token"] = None  # matched by the email alone
    post_shopify(shop, "orders/create", order)

    shop.clock.advance(timedelta(seconds=2))
    assert run_due(shop) == 1
    shop.clock.advance(timedelta(days=2))
    run_due(shop)

    assert len(sent_emails()) == before
    assert cart_messages(shop)["cart_reminder#email"] == ("SKIPPED", "purchased (order shopify:450789469)")
    assert cart_messages(shop)["cart_offer#email"] == ("SKIPPED", "purchased (order shopify:450789469)")


def test_a_completed_checkout_or_an_order_from_it_leaves_the_cart_alone(shop: Stack) -> None:
    start = shop.clock.now()
    post_shopify(shop, "checkouts/create", checkout(shop, start))
    assert len(shop.items_of("TIMER")) == 2

    completed = checkout(shop, start, completed_at=iso(start + timedelta(minutes=5)))
    completed["updated_at"] = iso(start + timedelta(minutes=5))
    assert post_shopify(shop, "checkouts/update", completed)["cart_status"] == "converted"
    assert shop.items_of("TIMER") == []  # cancelled in the same write

    late = checkout(shop, start + timedelta(minutes=10))  # a stale update cannot reopen it
    assert post_shopify(shop, "checkouts/update", late) == {
        "status": "ignored",
        "cart_id": CHECKOUT_ID,
        "cart_status": "converted",
        "reason": "cart is converted already",
    }
    shop.clock.advance(timedelta(days=2))
    assert run_due(shop) == 0
    assert cart_messages(shop) == {}


def test_activity_rearms_the_reminder_and_stale_or_repeated_events_change_nothing(shop: Stack) -> None:
    start = shop.clock.now()
    post_shopify(shop, "checkouts/create", checkout(shop, start), webhook_id="w-1")
    assert post_shopify(shop, "checkouts/create", checkout(shop, start), webhook_id="w-1")["status"] == (
        "duplicate"
    )
    newer = checkout(shop, start, updated_at=iso(start + timedelta(minutes=50)))
    post_shopify(shop, "checkouts/update", newer)
    older = checkout(shop, start, updated_at=iso(start + timedelta(minutes=10)))
    assert post_shopify(shop, "checkouts/update", older)["reason"] == "stale"
    before = len(sent_emails())

    shop.clock.advance(timedelta(minutes=61))
    assert run_due(shop) == 0  # re-armed to 50 + 60 minutes
    shop.clock.advance(timedelta(minutes=50))
    assert run_due(shop) == 1
    assert len(sent_emails()) == before + 1


def test_a_timer_swept_before_new_activity_does_not_remind(shop: Stack) -> None:
    start = shop.clock.now()
    post_shopify(shop, "checkouts/create", checkout(shop, start))
    shop.clock.advance(timedelta(minutes=61))
    assert sweep({}, None)["due"] == 1
    queued = drain(shop, "TimersQueue")
    # The shopper comes back while the swept timer is on its way.
    post_shopify(shop, "checkouts/update", checkout(shop, start, updated_at=iso(shop.clock.now())))
    before = len(sent_emails())

    assert timers({"Records": queued}, None) == {"batchItemFailures": []}
    deliver_notify(shop)

    assert len(sent_emails()) == before
    assert cart_messages(shop) == {}
    assert len(shop.items_of("TIMER")) == 2  # the re-armed timers stay


def test_a_clock_jump_of_a_day_and_two_sweeps_send_the_first_reminder_once(shop: Stack) -> None:
    post_shopify(shop, "checkouts/create", checkout(shop, shop.clock.now()))
    before = len(sent_emails())

    shop.clock.advance(timedelta(days=1))
    assert sweep({}, None)["due"] == 1
    assert sweep({}, None)["due"] == 1  # a second sweep before the consumer ran
    records = drain(shop, "TimersQueue")
    assert len(records) == 2
    assert timers({"Records": records}, None) == {"batchItemFailures": []}
    notify_records = drain(shop, "NotifyQueue")
    from app import notify

    assert notify({"Records": notify_records + notify_records}, None) == {"batchItemFailures": []}

    assert len(sent_emails()) == before + 1
    assert cart_messages(shop)["cart_reminder#email"][0] == "SENT"
    assert "cart_offer#email" not in cart_messages(shop)  # due an hour later


def test_no_consent_and_a_recent_order_are_recorded_as_skips(shop: Stack) -> None:
    start = shop.clock.now()
    post_shopify(shop, "checkouts/create", checkout(shop, start, consent=False))
    other = checkout(shop, start, id=777, token="t777", cart_token="c777", email="ann@example.com")
    other["customer"] = {**other["customer"], "id": 1, "email": "ann@example.com"}
    # Ann ordered (another cart) two days before starting this one.
    order = {
        **corpus("shopify/order.json"),
        "id": 9001,
        "email": "ann@example.com",
        "processed_at": iso(start - timedelta(days=2)),
        "checkout_id": None,
        "cart_token": None,
    }
    order["customer"] = {**order["customer"], "id": 1, "email": "ann@example.com"}
    for address in ("billing_address", "shipping_address"):
        order[address] = {**order[address], "phone": "+48 601 234 567"}  # not Bob's
    post_shopify(shop, "orders/create", order)
    post_shopify(shop, "checkouts/create", other)
    before = len(sent_emails())

    shop.clock.advance(timedelta(minutes=61))
    assert run_due(shop) == 2

    assert len(sent_emails()) == before
    assert cart_messages(shop)["cart_reminder#email"] == ("SKIPPED", "no email marketing consent")
    assert cart_messages(shop, "shopify:777")["cart_reminder#email"] == (
        "SKIPPED",
        "ordered recently (order shopify:9001): no reminders for 3 days",
    )


def canonical(stack: Stack, payload: dict[str, Any]) -> Any:
    body = dumps(payload)
    answer = stack.client.http.post(
        "/webhooks/events",
        headers=events_headers(body, timestamp=int(stack.clock.now().timestamp())),
        body=body,
    )
    return answer


def cart_updated(stack: Stack, cart_id: str, at: datetime, email: str) -> dict[str, Any]:
    return {
        "type": "cart.updated",
        "timestamp": iso(at),
        "data": {
            "source": "erp",
            "cart_id": cart_id,
            "currency": "PLN",
            "total": "129.00",
            "lines": [{"sku": "CAP-10", "name": "Coffee capsules x10", "quantity": 3, "unit_price": "43.00"}],
            "customer": {"email": email, "name": "Ola", "locale": "pl-PL", "consent": {"email": True}},
            "recovery_url": "https://shop.example/cart/" + cart_id,
            "updated_at": iso(at),
        },
    }


def test_canonical_cart_events_remind_and_an_order_with_the_cart_id_stops_them(shop: Stack) -> None:
    now = shop.clock.now()
    for cart_id in ("C-1", "C-2", "C-3"):
        answer = canonical(shop, cart_updated(shop, cart_id, now, f"{cart_id.lower()}@example.pl"))
        assert answer.status_code == 200 and answer.json_body["cart_status"] == "open"
    converted = {
        "type": "cart.converted",
        "timestamp": iso(now),
        "data": {"source": "erp", "cart_id": "C-2", "order_external_id": "SO-2", "updated_at": iso(now)},
    }
    assert canonical(shop, converted).json_body["cart_status"] == "converted"
    order = {
        "type": "order.created",
        "timestamp": iso(now),
        "data": {
            "source": "erp",
            "external_id": "SO-3",
            "currency": "PLN",
            "total": "129.00",
            "lines": [{"name": "Coffee capsules x10", "quantity": 3, "unit_price": "43.00"}],
            "customer": {"email": "someone-else@example.pl"},
            "cart_id": "C-3",
            "updated_at": iso(now),
        },
    }
    assert canonical(shop, order).json_body["status"] == "accepted"
    bad = cart_updated(shop, "C-4", now, "x@example.pl")
    bad["data"]["lines"][0]["quantity"] = -1
    refused = canonical(shop, bad)
    assert refused.status_code == 400 and refused.json_body["field"] == "data.lines.0.quantity"
    assert not [i for i in shop.items() if i["pk"] == "CART#erp:C-4"]
    before = len(sent_emails())

    shop.clock.advance(timedelta(minutes=61))
    assert run_due(shop) == 2  # C-2's timers went with its conversion

    sent = sent_emails()[before:]
    assert [set(m.destinations) for m in sent] == [{"c-1@example.pl"}]
    assert "Te produkty zostały w Twoim koszyku" in plain_text(sent[0])
    assert "https://shop.example/cart/C-1" in plain_text(sent[0])
    assert cart_messages(shop, "erp:C-3")["cart_reminder#email"] == ("SKIPPED", "purchased (order erp:SO-3)")
    assert cart_messages(shop, "erp:C-2") == {}


@pytest.mark.parametrize("bought_overnight", [False, True])
def test_a_cart_sms_held_by_quiet_hours_is_checked_again_in_the_morning(
    shop: Stack, bought_overnight: bool
) -> None:
    shop.put_setting("notify/cart_reminder/sms", "true")
    shop.clock.set(datetime(2026, 11, 2, 20, 30, tzinfo=UTC))  # 21:30 in Warsaw
    event = cart_updated(shop, "C-9", shop.clock.now(), "ola@example.pl")
    event["data"]["customer"] = {
        "phone": "+48 601 234 567",
        "timezone": "Europe/Warsaw",
        "consent": {"sms": True},
    }
    assert canonical(shop, event).json_body["cart_status"] == "open"

    shop.clock.advance(timedelta(minutes=61))
    assert run_due(shop) == 1
    assert cart_messages(shop, "erp:C-9")["cart_reminder#sms"][0] == "PENDING"  # deferred to 08:00
    if bought_overnight:
        order = {
            "type": "order.created",
            "timestamp": iso(shop.clock.now()),
            "data": {
                "source": "erp",
                "external_id": "SO-9",
                "currency": "PLN",
                "total": "129.00",
                "lines": [{"name": "Coffee capsules x10", "quantity": 3, "unit_price": "43.00"}],
                "customer": {"phone": "+48 601 234 567"},
                "updated_at": iso(shop.clock.now()),
            },
        }
        assert canonical(shop, order).json_body["status"] == "accepted"
    shop.clock.set(datetime(2026, 11, 3, 7, 1, tzinfo=UTC))  # 08:01 in Warsaw
    run_due(shop)

    status, reason = cart_messages(shop, "erp:C-9")["cart_reminder#sms"]
    if bought_overnight:
        assert (status, reason) == ("SKIPPED", "purchased (order erp:SO-9)")
    else:
        assert status == "SENT"


def test_a_crash_before_the_buyer_index_is_written_is_repaired_when_notify_confirms_the_order(
    shop: Stack,
) -> None:
    from app import dispatch

    start = shop.clock.now()
    post_shopify(shop, "checkouts/create", checkout(shop, start))
    shop.clock.advance(timedelta(minutes=20))
    order = {**corpus("shopify/order.json"), "processed_at": iso(shop.clock.now())}  # from that checkout
    post_shopify(shop, "orders/create", order)
    indexed = {(i["pk"], i["sk"]) for i in shop.items_of("BUYER")}
    assert len(indexed) == 5  # customer id, email, phone, the checkout id and cart token
    # The api died between its commit and the index write: WooCommerce would never resend.
    table = shop.table
    for pk, sk in indexed:
        table.delete_item(Key={"pk": pk, "sk": sk})

    assert dispatch(stream_event(shop), None) == {"batchItemFailures": []}
    deliver_notify(shop)  # confirms the order, and indexes its buyer again

    assert {(i["pk"], i["sk"]) for i in shop.items_of("BUYER")} == indexed
    shop.clock.advance(timedelta(minutes=41))
    run_due(shop)
    assert cart_messages(shop)["cart_reminder#email"] == ("SKIPPED", "purchased (order shopify:450789469)")
