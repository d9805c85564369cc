"""Internationalized email addresses through notify on moto: an IDN domain goes to SES in
punycode; a local part SES cannot take (no SMTPUTF8) is skipped with its reason, never sent."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.service.conftest import Stack
from tests.service.test_notify import REGION, emails, run_pipeline, shop, timeline_details, webhook
from tests.support import corpus

__all__ = ["shop"]  # the fixture, shared with test_notify

ORDER_ID = "shopify:450789469"


def order_to(address: str) -> dict[str, object]:
    order = corpus("shopify/order.json")
    return {**order, "email": address, "customer": {**order["customer"], "email": address}}


def test_an_idn_domain_is_sent_in_punycode(shop: Stack) -> None:
    webhook(shop, "orders/create", order_to("ann@bücher.de"))
    run_pipeline(shop)

    [message] = emails()
    assert message["To"] == "ann@xn--bcher-kva.de"
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert set(sent.destinations) == {"ann@xn--bcher-kva.de"}  # moto adds the To: header's too
    assert any(d.startswith("email confirmation sent to a***@bücher.de") for d in timeline_details(ORDER_ID))


def test_a_homoglyph_local_part_is_skipped_with_the_reason_and_nothing_is_sent(shop: Stack) -> None:
    webhook(shop, "orders/create", order_to("\u0430nn@example.com"))  # U+0430, a Cyrillic a
    answers = run_pipeline(shop)

    assert answers == [{"batchItemFailures": []}]
    assert emails() == []
    [message] = [m for m in shop.items_of("MESSAGE") if m["sk"] == "MESSAGE#confirmation#email"]
    assert message["status"] == "SKIPPED"
    reason = "email address not deliverable (non-ASCII local part: SES does not support SMTPUTF8)"
    assert message["reason"] == reason
    assert f"email confirmation skipped: {reason}" in timeline_details(ORDER_ID)
