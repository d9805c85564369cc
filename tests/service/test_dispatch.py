"""dispatch: outbox items from the table's stream reach the notify queue, each once."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from app import dispatch
from shopflow import bootstrap
from tests.service.conftest import Stack, stream_event
from tests.support import corpus, dumps, shopify_headers


def notify_messages(stack: Stack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = stack.provisioned.refs["NotifyQueue"]
    found = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def outbox_id_of(stack: Stack, event_type: str) -> str:
    """The id the intake gave the outbox item of `event_type` (it names the delivery, decision 57)."""
    (item,) = (i for i in stack.items_of("OUTBOX") if i["event_type"] == event_type)
    return str(item["outbox_id"])


def place_and_pay(stack: Stack) -> None:
    order = corpus("shopify/order.json")
    for topic, payload in (
        ("orders/create", order),
        ("orders/paid", {**order, "financial_status": "paid", "updated_at": "2008-01-10T11:05:00-05:00"}),
    ):
        body = dumps(payload)
        stack.client.http.post("/webhooks/shopify", headers=shopify_headers(body, topic), body=body)


def test_only_outbox_inserts_reach_dispatch_and_each_lands_on_notify(stack: Stack) -> None:
    place_and_pay(stack)
    event = stream_event(stack)

    result = dispatch(event, None)

    assert result == {"batchItemFailures": []}
    assert len(event["Records"]) == 2  # the dedup, order and timeline writes are filtered out
    messages = notify_messages(stack)
    assert sorted((m["type"], m["outbox_id"]) for m in messages) == [
        ("OrderPlaced", outbox_id_of(stack, "OrderPlaced")),
        ("OrderStatusChanged", outbox_id_of(stack, "OrderStatusChanged")),
    ]
    changed = next(m for m in messages if m["type"] == "OrderStatusChanged")
    assert changed["event"]["previous_status"] == "pending" and changed["event"]["status"] == "paid"


def test_a_failed_send_is_reported_alone_and_succeeds_on_retry(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_and_pay(stack)
    event = stream_event(stack)
    sqs = bootstrap.runtime().client("sqs")
    real_send = sqs.send_message
    failing_id = outbox_id_of(stack, "OrderStatusChanged")

    def flaky_send(**kwargs: Any) -> Any:
        if json.loads(kwargs["MessageBody"])["outbox_id"] == failing_id:
            raise sqs.exceptions.ClientError({"Error": {"Code": "ServiceUnavailable"}}, "SendMessage")
        return real_send(**kwargs)

    monkeypatch.setattr(sqs, "send_message", flaky_send)
    result = dispatch(event, None)

    failed_record = next(
        r for r in event["Records"] if r["dynamodb"]["NewImage"]["outbox_id"]["S"] == failing_id
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": failed_record["dynamodb"]["SequenceNumber"]}]}
    assert [m["outbox_id"] for m in notify_messages(stack)] == [outbox_id_of(stack, "OrderPlaced")]

    monkeypatch.setattr(sqs, "send_message", real_send)
    assert dispatch({"Records": [failed_record]}, None) == {"batchItemFailures": []}
    assert [m["outbox_id"] for m in notify_messages(stack)] == [failing_id]
