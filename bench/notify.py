"""Notification figures: DynamoDB requests per message, and sends under injected provider faults
(rendering speed: bench/render.py).

    python bench/notify.py [--orders 50]

Requests are counted at botocore's API-call boundary (moto), for the notify consumer only.
Faults: the single-attempt SES and SNS clients fail a fraction of calls with Throttling or a 5xx
before the provider takes the message, or time out after it took it. SQS redelivery is played
out: a message that fails comes back after the lease, at most 5 receives (then it is in the DLQ).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }
)
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(variable, None)

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from botocore.exceptions import ClientError, ReadTimeoutError  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.ses.models import ses_backends  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402
from tests.support import corpus  # noqa: E402

from shopflow import bootstrap  # noqa: E402
from shopflow.clock import FakeClock  # noqa: E402
from shopflow.config import SettingsLoader  # noqa: E402
from shopflow.local.resources import function_environment, provision  # noqa: E402
from shopflow.local.template import Template  # noqa: E402
from shopflow.notifications.consumer import LEASE, RetryLater  # noqa: E402
from shopflow.orders.changes import OrderPlaced  # noqa: E402
from shopflow.orders.model import Tracking  # noqa: E402
from shopflow.orders.ports import Commit, outbox_messages  # noqa: E402
from shopflow.orders.status_messages import OrderEvent, OrderStatusMessages  # noqa: E402
from shopflow.store.orders import DynamoOrderStore  # noqa: E402
from shopflow.webhooks import shopify  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SETTINGS = {
    "notify/email/sender": "orders@demo-shop.example",
    "notify/confirmation/sms": "true",
    "shop/name": "Demo Shop",
}
RECEIVES = 5  # the notify queue's maxReceiveCount
calls: Counter[str] = Counter()
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name == "dynamodb":
        calls[operation] += 1
    return _real_call(self, operation, params)


def corpus_order() -> Any:
    order = shopify.normalize("orders/create", corpus("shopify/order.json")).order  # type: ignore[union-attr]
    customer = order.customer.model_copy(update={"phone": "+48601234567"})
    tracking = (
        Tracking(number="1Z999AA10123456784", url="https://www.ups.com/track?tracknum=1Z999", carrier="UPS"),
    )
    return order.model_copy(update={"customer": customer, "tracking": tracking})


class Stack:
    """moto with the template's resources, and orders placed straight through the order store."""

    def __init__(self) -> None:
        template = Template.load(Stage="bench")
        provisioned = provision(template, dynamodb=boto3.client("dynamodb"), sqs=boto3.client("sqs"))
        for function in ("ApiFunction", "DispatchFunction", "NotifyFunction"):
            os.environ.update(function_environment(template, function, provisioned))
        boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
        self.clock = FakeClock(NOW)
        self.runtime = bootstrap.reset(self.clock)
        self.runtime.__dict__["settings"] = SettingsLoader("bench", fetch=lambda: SETTINGS)
        self.consumer = self.runtime.notifier
        self.consumer.sleep = lambda seconds: None
        self.store: DynamoOrderStore = self.runtime.orders
        self.base = corpus_order()

    def notify(self, event: OrderEvent) -> None:
        (flow,) = (f for f in self.consumer.flows if isinstance(f, OrderStatusMessages))
        flow.notify(event, self.consumer)

    def place(self, n: int) -> OrderEvent:
        order = self.base.model_copy(
            update={"order_id": f"shopify:{n}", "external_id": str(n), "number": f"#{n}"}
        )
        event = OrderPlaced(order_id=order.order_id, status=order.status, occurred_at=NOW)
        commit = Commit((f"bench-{n}",), order, None, None, (event,), NOW)
        work = self.store.unit_of_work()
        self.store.stage(commit, work)
        work.commit()
        (announced,) = outbox_messages(commit)
        return OrderEvent(announced.outbox_id, "OrderPlaced", order.order_id, order.status)


def requests_per_message(orders: int) -> None:
    with mock_aws():
        stack = Stack()
        events = [stack.place(n) for n in range(orders)]
        botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
        for event in events:
            stack.notify(event)
        botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]
        sent = len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages) + len(
            sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages
        )
        states = Counter(
            (item["channel"]["S"], item["status"]["S"])
            for item in boto3.client("dynamodb").scan(TableName="shopflow-bench")["Items"]
            if item["item_type"]["S"] == "MESSAGE"
        )
    writes = calls["TransactWriteItems"] + calls["PutItem"] + calls["UpdateItem"]
    reads = calls["GetItem"] + calls["Query"]
    # Not per message: one BatchWriteItem per new order re-writes its buyer index (decision 30).
    index_writes = calls["BatchWriteItem"]
    print(f"DynamoDB requests per message sent ({orders} orders, email + SMS confirmation each, moto):")
    print(f"  records: {dict(sorted(states.items()))}")
    print(
        f"  {sent} messages: writes/message {writes / sent:.2f}, reads/message {reads / sent:.2f}, "
        f"plus {index_writes / orders:.2f} buyer-index BatchWriteItem per order "
        f"({', '.join(f'{k} {v}' for k, v in sorted(calls.items()))})"
    )


def faults(orders: int, rate: float, mode: str) -> str:
    rng = random.Random(42)
    with mock_aws():
        stack = Stack()
        ses = stack.runtime.single_attempt_client("ses")
        sns = stack.runtime.single_attempt_client("sns")
        real_ses, real_sns = ses.send_raw_email, sns.publish

        def faulty(real: Any, operation: str) -> Any:
            def call(**kwargs: Any) -> Any:
                if rng.random() >= rate:
                    return real(**kwargs)
                if mode == "timeout":  # the provider took it, the answer was lost
                    real(**kwargs)
                    raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")
                code, status = rng.choice([("Throttling", 400), ("ServiceUnavailable", 503)])
                raise ClientError(
                    {
                        "Error": {"Code": code, "Message": "injected"},
                        "ResponseMetadata": {"HTTPStatusCode": status},
                    },
                    operation,
                )

            return call

        ses.send_raw_email = faulty(real_ses, "SendRawEmail")
        sns.publish = faulty(real_sns, "Publish")
        in_dlq = 0
        for n in range(orders):
            event = stack.place(n)
            for _receive in range(RECEIVES):
                try:
                    stack.notify(event)
                    break
                except RetryLater:
                    stack.clock.advance(LEASE + timedelta(seconds=1))
            else:
                in_dlq += 1
        emails = Counter(
            _order_of(_text_part(m.raw_data))
            for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        )
        texts = Counter(
            _order_of(text) for _, text in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
        )
    wanted = {str(n) for n in range(orders)}
    sent = sum(1 for n in wanted if emails[n]) + sum(1 for n in wanted if texts[n])
    duplicated = sum(emails[n] - 1 for n in wanted if emails[n] > 1) + sum(
        texts[n] - 1 for n in wanted if texts[n] > 1
    )
    lost = 2 * orders - sent
    return f"sent {sent}/{2 * orders}, duplicated {duplicated}, lost {lost} (in the DLQ: {in_dlq})"


def _text_part(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    body = message_from_bytes(data, policy=policy.default).get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def _order_of(text: str) -> str:
    found = re.search(r"#(\d+)", text)
    return found.group(1) if found else "?"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # moto copies the whole table on every transaction, so large runs grow quadratically there.
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()
    requests_per_message(args.orders)
    print(f"Injected provider faults, {args.orders} orders x (email + SMS), up to {RECEIVES} SQS receives:")
    for rate in (0.1, 0.3, 0.5):
        print(f"  throttling/5xx {rate:.0%}: {faults(args.orders, rate, 'reject')}")
    for rate in (0.1, 0.3, 0.5):
        print(f"  timeout after acceptance {rate:.0%}: {faults(args.orders, rate, 'timeout')}")
