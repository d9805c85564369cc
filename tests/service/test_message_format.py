"""What a customer sees in every message, through the real handlers: money in a currency written
with letters, a shop that set no name, and the email's Date (SES and the local outbox)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from shopflow.local.mail import OutboxWriter
from shopflow.messaging.delivery import Email, SesSender
from tests.service.conftest import Stack
from tests.service.test_first_seen_status import shopify_order_already_fulfilled, text_of
from tests.service.test_notify import SENDER, emails, run_pipeline, sms, webhook
from tests.service.test_woocommerce_and_events import CANONICAL_ORDER, event


@pytest.fixture
def unnamed_shop(stack: Stack) -> Stack:
    """A shop that configured a sender and nothing else: no shop.name."""
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", SENDER)
    return stack


def test_an_english_email_in_zloty_and_a_shop_without_a_name(unnamed_shop: Stack) -> None:
    data = {
        **CANONICAL_ORDER["data"],  # type: ignore[dict-item]
        "total": "1723.00",
        "lines": [{"sku": "KAWA-1KG", "name": "Coffee 1 kg", "quantity": 1, "unit_price": "1723.00"}],
        "customer": {"email": "emma@example.com", "name": "Emma Hill", "locale": "en"},
    }

    assert event(unnamed_shop, {**CANONICAL_ORDER, "data": data}).status_code == 200
    run_pipeline(unnamed_shop)

    [message] = emails()
    text = text_of(message)
    assert "Total: PLN\xa01,723.00" in text and "PLN1" not in text
    assert message["From"] == SENDER  # no display name rather than a made-up one
    assert "Our shop" not in text and "Thank you for shopping with us." in text
    assert message["Date"] == format_datetime(unnamed_shop.clock.now())  # RFC 5322, the sending time
    assert parsedate_to_datetime(message["Date"]) == unnamed_shop.clock.now()


def test_a_polish_sms_of_a_shop_without_a_name_starts_with_the_news(unnamed_shop: Stack) -> None:
    order = {**shopify_order_already_fulfilled(), "customer_locale": "pl-PL"}

    webhook(unnamed_shop, "orders/create", order)
    run_pipeline(unnamed_shop)

    [(_, body)] = sms()
    assert body.startswith("Zamówienie #1001 zostało wysłane.")
    assert "Our shop" not in body


def test_every_eml_in_the_local_outbox_has_a_date(tmp_path: Path) -> None:
    with mock_aws():
        ses = boto3.client("ses", region_name="us-east-1")
        ses.verify_email_identity(EmailAddress=SENDER)
        raw = Email(
            to="emma@example.com",
            sender=SENDER,
            sender_name="Demo Shop",
            subject="Hi",
            html="<p>Hi</p>",
            text="Hi",
        )
        SesSender(lambda: ses).send(raw)  # shopflow's own raw MIME
        ses.send_email(  # a simple send, as another tool on the same instance might make
            Source=SENDER,
            Destination={"ToAddresses": ["emma@example.com"]},
            Message={"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hello"}}},
        )

        written = OutboxWriter(tmp_path, "us-east-1", report=lambda line: None).collect()

    assert len(written) == 2
    for item in written:
        parsed = message_from_bytes(item.path.read_bytes(), policy=policy.default)
        assert parsedate_to_datetime(str(parsed["Date"])).tzinfo is not None
