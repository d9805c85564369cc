"""The unit of work on DynamoDB (moto): what repositories stage goes out as ONE TransactWriteItems,
a cancelled transaction means what the first failed write says, and a unit larger than
DynamoDB's 100 actions is sent in chunks with its guards first."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError

from shopflow.kernel.conflicts import DuplicateDelivery, VersionConflict
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.store.messages import CapReached, DynamoMessageStore, FrequencyCap, LeaseHeld
from shopflow.store.models import CartItem, DedupItem
from shopflow.store.orders import DynamoOrderStore
from shopflow.store.unit_of_work import MAX_ACTIONS
from tests.service.conftest import Stack
from tests.support import corpus, dumps, shopify_headers

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def timer(n: int) -> TimerRequest:
    return TimerRequest(f"t{n}", "late_check", NOW + timedelta(hours=1), "{}")


def test_a_new_paid_order_is_one_transact_write_items_then_the_buyer_index(
    stack: Stack, dynamodb_calls: Counter[str]
) -> None:
    body = dumps({**corpus("shopify/order.json"), "financial_status": "paid"})

    answer = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "orders/create"), body=body
    )

    assert answer.json_body["status"] == "accepted"
    assert dynamodb_calls == Counter({"TransactWriteItems": 1, "BatchWriteItem": 1})
    assert sorted(i["item_type"] for i in stack.items() if i["item_type"] != "BUYER") == [
        "ORDER",
        "OUTBOX",
        "TIMER",
    ]


def test_a_failed_condition_means_what_the_first_failed_write_staged_and_nothing_is_written(
    stack: Stack,
) -> None:
    store = DynamoOrderStore()
    DedupItem("DEDUP#seen", "DEDUP", item_type="DEDUP", order_id="cart|c1", recorded_at="x").save()
    work = store.unit_of_work()
    work.put(
        DedupItem("DEDUP#seen", "DEDUP", item_type="DEDUP", order_id="cart|c1", recorded_at="y"),
        condition=DedupItem.pk.does_not_exist(),
        if_condition_fails=DuplicateDelivery,
    )
    work.put(  # fails too: a cart that is not there at version 3
        CartItem(
            "CART#c1", "CART", item_type="CART", version=4, status="open", document="{}", updated_at="y"
        ),
        condition=CartItem.version == 3,
    )
    store.timers.arm(timer(1), now=NOW, work=work)

    with pytest.raises(DuplicateDelivery) as raised:
        work.commit()

    assert isinstance(raised.value.__cause__, TransactWriteError)
    assert sorted(i["pk"] for i in stack.items()) == ["DEDUP#seen"]


def test_more_than_a_hundred_writes_go_in_chunks_with_the_guards_in_the_first(
    stack: Stack, dynamodb_calls: Counter[str]
) -> None:
    store = DynamoOrderStore()
    lost = store.unit_of_work()
    for n in range(MAX_ACTIONS + 20):
        store.timers.arm(timer(n), now=NOW, work=lost)
    lost.put(  # staged last, sent first: a lost race stops the unit before anything is written
        CartItem(
            "CART#c1", "CART", item_type="CART", version=2, status="open", document="{}", updated_at="y"
        ),
        condition=CartItem.version == 1,
    )
    with pytest.raises(VersionConflict):
        lost.commit()
    assert (lost.requests, stack.items()) == (1, [])

    work = store.unit_of_work()
    for n in range(MAX_ACTIONS + 20):
        store.timers.arm(timer(n), now=NOW, work=work)
    work.commit()
    assert (work.requests, dynamodb_calls["TransactWriteItems"]) == (2, 3)
    assert len(stack.items_of("TIMER")) == MAX_ACTIONS + 20


def test_another_transaction_on_an_item_is_a_version_conflict(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DynamoOrderStore()
    client = store.connection.client

    def conflicted(operation: str, params: dict[str, Any]) -> Any:
        reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(params["TransactItems"]) - 1)
        error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        raise ClientError({"Error": error, "CancellationReasons": reasons}, operation)

    monkeypatch.setattr(client, "_make_api_call", conflicted)
    work = store.unit_of_work()
    store.timers.arm(timer(1), now=NOW, work=work)

    with pytest.raises(VersionConflict) as raised:
        work.commit()
    assert isinstance(raised.value.__cause__, TransactWriteError)


def test_a_capped_claim_takes_the_marketing_slot_or_says_which_condition_failed(stack: Stack) -> None:
    messages = DynamoMessageStore(DynamoOrderStore())
    cap = FrequencyCap("email:ann@example.com", timedelta(days=7))

    def claim(order_id: str) -> Any:
        return messages.claim(
            order_id, "review", "email", cause="c", now=NOW, lease=timedelta(minutes=5), cap=cap
        )

    first = claim("shopify:1")
    entry = TimelineEntry(
        at=NOW, recorded_at=NOW, event="message_sent", status="delivered", source="n", detail="d"
    )
    messages.settle(first, status="SENT", now=NOW, entry=entry)

    with pytest.raises(CapReached):  # another order's review within the week
        claim("shopify:2")
    with pytest.raises(LeaseHeld):  # the settled message itself: the claim's own condition comes first
        claim("shopify:1")
    assert [r.status for r in messages.records("shopify:1", "review").values()] == ["SENT"]
    assert messages.records("shopify:2", "review") == {}


def test_a_condition_on_an_item_the_unit_does_not_write_guards_the_others(stack: Stack) -> None:
    store = DynamoOrderStore()
    CartItem(
        "CART#c1", "CART", item_type="CART", version=1, status="open", document="{}", updated_at="x"
    ).save()

    def unit_checking_version(version: int) -> None:
        work = store.unit_of_work()
        work.check(CartItem("CART#c1", "CART"), CartItem.version == version)
        store.timers.arm(timer(1), now=NOW, work=work)
        work.commit()

    with pytest.raises(VersionConflict):
        unit_checking_version(2)
    assert stack.items_of("TIMER") == []
    unit_checking_version(1)
    assert len(stack.items_of("TIMER")) == 1
