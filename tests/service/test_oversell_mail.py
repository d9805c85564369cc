"""The owner's oversell email on moto: the report committed in a unit of work, carried by the
stream to dispatch, queued to notify, sent to `shop.owner_email` once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from app import dispatch
from shopflow import bootstrap
from shopflow.kernel.outbox import OutboxMessage
from shopflow.stock.flow import NO_OWNER_ADDRESS, OversellMessages
from shopflow.stock.oversell import OVERSELL_OWED, OversellReport, OversoldLine, oversell_message
from shopflow.store.orders import DynamoOrderStore
from shopflow.store.stock_outbox import stage_outbox_message
from tests.service.conftest import Stack, stream_event
from tests.service.test_dispatch import notify_messages
from tests.service.test_notify import emails, run_pipeline, shop, timeline_details, webhook
from tests.service.test_stock_inputs import count, event
from tests.support import corpus

__all__ = ["shop"]  # the fixture, shared with test_notify

OWNER = "owner@demo-shop.example"
ORDER_ID = "shopify:450789469"  # tests/corpus/shopify/order.json
CUSTOMER = "bob.norman@hostmail.com"


def commit_report(stack: Stack) -> OutboxMessage:
    """What the order's commit does when it oversells: the report staged into its unit of work."""
    report = OversellReport(
        order_id=ORDER_ID,
        order_number="#1001",
        source="shopify",
        lines=(OversoldLine("MUG-01", 3, 2, -2), OversoldLine("TEE-L", 1, 1, -1)),
        at=stack.clock.now(),
    )
    message = oversell_message(report)
    work = DynamoOrderStore().unit_of_work()
    stage_outbox_message(message, OVERSELL_OWED, stack.clock.now(), work)
    work.commit()
    return message


def queue_again(stack: Stack, message: OutboxMessage) -> None:
    body = {"outbox_id": message.outbox_id, "type": message.event_type, "event": json.loads(message.payload)}
    boto3.client("sqs").send_message(
        QueueUrl=stack.provisioned.refs["NotifyQueue"], MessageBody=json.dumps(body)
    )


def owner_emails() -> list[str]:
    """Each email sent to the owner: its subject and plain text."""
    return [
        f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}"  # type: ignore[union-attr]
        for m in emails()
        if m["To"] == OWNER
    ]


def test_an_oversell_reaches_the_owner_in_one_email_naming_each_sku_also_when_delivered_twice(
    shop: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[str] = []
    real_notify = OversellMessages.notify

    def counting(flow: OversellMessages, report: OversellReport, outbound: Any, *, cause: str) -> None:
        heard.append(cause)
        real_notify(flow, report, outbound, cause=cause)

    monkeypatch.setattr(OversellMessages, "notify", counting)
    shop.put_setting("shop/owner_email", OWNER)
    webhook(shop, "orders/create", corpus("shopify/order.json"))
    message = commit_report(shop)

    [outbox] = [i for i in shop.items_of("OUTBOX") if i["event_type"] == "StockOversold"]
    assert outbox["messages"] == "stock_oversold#email stock_oversold#sms"
    answers = run_pipeline(shop)
    queue_again(shop, message)  # at least once: the same event on the notify queue again
    answers += run_pipeline(shop)

    assert all(answer == {"batchItemFailures": []} for answer in answers)
    assert heard.count(message.outbox_id) >= 2  # the flow heard it twice (or more)
    (sent,) = owner_emails()
    assert sent.startswith("Oversold in order #1001: MUG-01, TEE-L \N{EN DASH} Demo Shop")
    assert "- MUG-01: ordered 3, oversold 2, available to sell now -2" in sent
    assert "- TEE-L: ordered 1, oversold 1, available to sell now -1" in sent
    assert "restock" in sent
    assert [m["To"] for m in emails()].count(CUSTOMER) == 1  # the customer gets only the confirmation
    details = timeline_details(ORDER_ID)
    assert "email stock_oversold sent to o***@demo-shop.example (en)" in details
    assert "sms stock_oversold skipped: sms disabled for stock_oversold" in details


def test_a_retried_commit_writes_the_same_outbox_item_and_dispatch_carries_one_event(shop: Stack) -> None:
    webhook(shop, "orders/create", corpus("shopify/order.json"))
    first = commit_report(shop)
    shop.clock.advance(timedelta(seconds=2))
    again = commit_report(shop)  # the same order's lines committed in a later attempt

    assert dispatch(stream_event(shop), None) == {"batchItemFailures": []}

    assert again.outbox_id == first.outbox_id
    oversells = [m for m in notify_messages(shop) if m["type"] == "StockOversold"]
    assert [m["outbox_id"] for m in oversells] == [first.outbox_id]
    assert oversells[0]["event"]["lines"][0] == {
        "sku": "MUG-01",
        "ordered": 3,
        "oversold": 2,
        "atp_after": -2,
    }


def test_without_the_owners_address_nothing_is_sent_and_the_orders_timeline_says_why(shop: Stack) -> None:
    webhook(shop, "orders/create", corpus("shopify/order.json"))
    message = commit_report(shop)

    answers = run_pipeline(shop)

    assert all(answer == {"batchItemFailures": []} for answer in answers)
    assert owner_emails() == []
    assert [m["To"] for m in emails()] == [CUSTOMER]
    details = timeline_details(ORDER_ID)
    assert f"email stock_oversold skipped: {NO_OWNER_ADDRESS}" in details
    # The address set afterwards: the same event again sends nothing, it was settled as skipped.
    shop.put_setting("shop/owner_email", OWNER)
    bootstrap.reset(shop.clock)  # a new container: settings are read again
    queue_again(shop, message)
    run_pipeline(shop)
    assert owner_emails() == []


def test_a_paid_order_beyond_the_stock_emails_the_owner_once_through_signed_webhooks_only(
    shop: Stack,
) -> None:
    shop.put_setting("shop/owner_email", OWNER)
    shop.put_setting("stock/enabled", "true")
    count(shop, "MUG-01", 1, 1)

    data = {
        "source": "erp",
        "external_id": "7",
        "status": "paid",
        "currency": "EUR",
        "total": "30.00",
        "lines": [{"sku": "MUG-01", "name": "Mug", "quantity": 3, "unit_price": "10.00"}],
        "customer": {"email": "ann@example.com"},
        "updated_at": shop.clock.now().isoformat(),
    }
    paid = [event(shop, "order.created", data, msg_id="msg_paid_7").json_body for _ in range(2)]
    answers = run_pipeline(shop)

    assert [answer["status"] for answer in paid] == ["accepted", "duplicate"]
    assert all(answer == {"batchItemFailures": []} for answer in answers)
    (sent,) = owner_emails()
    assert "- MUG-01: ordered 3, oversold 2, available to sell now -2" in sent
    assert "email stock_oversold sent to o***@demo-shop.example (en)" in timeline_details("erp:7")
