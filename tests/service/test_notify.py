"""notify against moto: webhooks in, emails (SES, raw MIME) and SMS (SNS) out, each once."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from app import dispatch, notify
from shopflow import bootstrap
from shopflow.local.sources import lambda_sqs_record
from shopflow.store.orders import DynamoOrderStore
from tests.service.conftest import Stack
from tests.service.test_dispatch import stream_event
from tests.support import corpus, dumps, shopify_headers

SENDER = "orders@demo-shop.example"
REGION = "us-east-1"


@pytest.fixture
def shop(stack: Stack) -> Stack:
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", SENDER)
    stack.put_setting("shop/name", "Demo Shop")
    return stack


def webhook(stack: Stack, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = dumps(payload)
    answer = stack.client.http.post("/webhooks/shopify", headers=shopify_headers(body, topic), body=body)
    assert answer.status_code == 200, answer.body
    result: dict[str, Any] = json.loads(answer.body)
    return result


def run_pipeline(stack: Stack) -> list[dict[str, Any]]:
    """dispatch the stream, then deliver the notify queue as Lambda would until it is empty
    (messages that failed come back at once here); returns every notify answer."""
    assert dispatch(stream_event(stack), None) == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    url = stack.provisioned.refs["NotifyQueue"]
    answers = []
    while received := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", []):
        arn = stack.provisioned.attributes[("NotifyQueue", "Arn")]
        event = {"Records": [lambda_sqs_record(m, arn) for m in received]}
        answer = notify(event, None)
        answers.append(answer)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        for message in received:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return answers


def emails() -> list[EmailMessage]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    parsed = []
    for message in sent:
        raw = message.raw_data.encode() if isinstance(message.raw_data, str) else message.raw_data
        parsed.append(message_from_bytes(raw, policy=policy.default))
    return parsed  # type: ignore[return-value]


def sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def timeline_details(order_id: str) -> list[str]:
    return [e.detail for e in DynamoOrderStore().timeline(order_id)]


def test_an_order_through_every_status_gets_each_message_once_in_its_language(shop: Stack) -> None:
    order = {**corpus("shopify/order.json"), "customer_locale": "pl-PL", "phone": "+48601234567"}
    fulfillment = corpus("shopify/fulfillment.json")

    webhook(shop, "orders/create", order)
    # The intake's outbox item names the messages its event owes; notify's claim makes their
    # send-once records (decision 45), so until then none is written.
    [placed] = shop.items_of("OUTBOX")
    assert placed["messages"] == "confirmation#email confirmation#sms"
    assert shop.items_of("MESSAGE") == []
    webhook(
        shop, "orders/paid", {**order, "financial_status": "paid", "updated_at": "2008-01-10T11:05:00-05:00"}
    )
    webhook(shop, "fulfillments/create", {**fulfillment, "status": "success", "shipment_status": None})
    webhook(shop, "fulfillments/update", {**fulfillment, "shipment_status": "delivered"})
    answers = run_pipeline(shop)

    assert all(a == {"batchItemFailures": []} for a in answers)
    subjects = [str(m["Subject"]) for m in emails()]
    assert len(subjects) == 4  # confirmation, paid, shipped, delivered
    for message in emails():
        assert message["From"] == f"Demo Shop <{SENDER}>"
        assert message["To"] == "bob.norman@hostmail.com"
        parts = [part.get_content_type() for part in message.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        assert "#1001" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    shipped_html = emails()[2].get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert fulfillment["tracking_url"] in shipped_html
    # SMS goes for "shipped" only by default, in Polish.
    assert [(phone, "#1001" in text) for phone, text in sms()] == [("+48601234567", True)]
    details = timeline_details("shopify:450789469")
    assert "email confirmation sent to b***@hostmail.com (pl)" in details
    assert "sms confirmation skipped: sms disabled for confirmation" in details

    # The same events delivered again change nothing.
    for outbox in shop.items_of("OUTBOX"):
        boto3.client("sqs").send_message(
            QueueUrl=shop.provisioned.refs["NotifyQueue"],
            MessageBody=json.dumps(
                {
                    "outbox_id": outbox["outbox_id"],
                    "type": outbox["event_type"],
                    "event": json.loads(outbox["payload"]),
                }
            ),
        )
    run_pipeline(shop)
    assert len(emails()) == 4 and len(sms()) == 1


def test_a_setting_turns_a_message_off_and_the_timeline_says_so(shop: Stack) -> None:
    shop.put_setting("notify/confirmation/email", "false")
    bootstrap.reset(shop.clock)  # a new container: settings are read again

    webhook(shop, "orders/create", corpus("shopify/order.json"))
    run_pipeline(shop)

    assert emails() == []
    assert "email confirmation skipped: email disabled for confirmation" in timeline_details(
        "shopify:450789469"
    )


def test_ses_throttling_on_some_sends_loses_nothing_and_doubles_nothing(
    shop: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ses = bootstrap.runtime().single_attempt_client("ses")
    real_send = ses.send_raw_email
    calls = {"n": 0}

    def every_other_call_throttled(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] % 2:
            raise ses.exceptions.ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "SendRawEmail"
            )
        return real_send(**kwargs)

    monkeypatch.setattr(ses, "send_raw_email", every_other_call_throttled)
    base = corpus("shopify/order.json")
    for n in range(5):
        webhook(shop, "orders/create", {**base, "id": 1000 + n, "name": f"#{2000 + n}"})
    run_pipeline(shop)

    numbers = [f"#{2000 + n}" for n in range(5)]
    bodies = [m.get_body(("plain",)).get_content() for m in emails()]  # type: ignore[union-attr]
    assert sorted(n for body in bodies for n in numbers if n in body) == numbers  # each once
    assert calls["n"] == 10


def test_a_poison_message_reaches_the_dlq_after_five_receives_and_its_batch_mate_is_sent_once(
    shop: Stack,
) -> None:
    from shopflow.clock import ScaledClock
    from shopflow.local.sources import QueueSource

    webhook(shop, "orders/create", corpus("shopify/order.json"))
    assert dispatch(stream_event(shop), None) == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    queue = shop.provisioned.refs["NotifyQueue"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"outbox_id": "x", "type": "OrderPlaced"}')
    reports: list[str] = []
    source = QueueSource(
        function_name="NotifyFunction",
        handler=notify,
        sqs=sqs,
        queue_url=queue,
        queue_arn=shop.provisioned.attributes[("NotifyQueue", "Arn")],
        batch_size=10,
        report_item_failures=True,
        visibility_timeout=180,
        max_receive_count=5,
        clock=ScaledClock(speed=3600),  # the visibility timeout passes in a real second
        report=reports.append,
    )
    dlq = shop.provisioned.refs["NotifyDeadLetterQueue"]
    for _ in range(12):
        source.poll()
        if sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0).get("Messages"):
            break

    dead = sqs.receive_message(QueueUrl=dlq).get("Messages", [])
    assert [m["Body"] for m in dead] == ['{"outbox_id": "x", "type": "OrderPlaced"}']
    assert any("failed on receive 5 of 5" in line for line in reports)
    assert len(emails()) == 1  # the good message of the first batch went once
