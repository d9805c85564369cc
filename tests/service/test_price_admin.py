"""The owner answers price proposals from anywhere (the api's IAM-authorized admin routes) and
hears of the waiting ones once a day by email, on moto (issue 16, item 5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from app import pricing_reprice
from shopflow import bootstrap
from shopflow.pricing.digest import DIGEST_INPUT
from shopflow.pricing.settings import OFF
from tests.service.conftest import Stack, drain
from tests.service.test_notify import emails, run_pipeline
from tests.support import dumps, events_headers

# Chalice's local gateway (the test client, `shopflow local`) checks no IAM signature: it admits
# every request and says so once; API Gateway checks them on AWS (docs/local.md).
pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")

OWNER = "owner@demo-shop.example"
PROPOSALS = "/admin/prices/proposals"


@pytest.fixture
def shop(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Pricing on, one priced channel (`shop`, EUR, no fees), an owner to email."""
    monkeypatch.setenv("SHOPFLOW_SETTINGS_MAX_AGE", "0")  # a setting changed is read at once
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    for name, value in {
        "notify/email/sender": "orders@demo-shop.example",
        "shop/name": "Demo Shop",
        "shop/owner_email": OWNER,
        "pricing/enabled": "true",
        "channels/shop/currency": "EUR",
    }.items():
        stack.put_setting(name, value)
    yield stack


def send_event(stack: Stack, event_type: str, data: dict[str, object]) -> None:
    body = dumps({"type": event_type, "timestamp": stack.clock.now().isoformat(), "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    answer = stack.client.http.post("/webhooks/events", headers=headers, body=body)
    assert answer.json_body["status"] == "accepted", answer.json_body


def rival(stack: Stack, sku: str, price: str) -> None:
    seen = {"sku": sku, "competitor": "rival", "price": price, "currency": "EUR", "in_stock": True}
    send_event(stack, "competitor_price.observed", {**seen, "observed_at": stack.clock.now().isoformat()})


def reprice_run(stack: Stack) -> None:
    """The schedule, then each shard it queued, as Lambda runs them."""
    assert pricing_reprice({"source": "aws.events", "detail-type": "Scheduled Event"}, None)["started"]
    assert pricing_reprice({"Records": drain(stack, "RepriceQueue")}, None) == {"batchItemFailures": []}
    stack.clock.advance(timedelta(minutes=16))  # the next run is due


def propose(stack: Stack, *skus: str, price: str = "40.00") -> list[dict[str, Any]]:
    """Cost and a rival's price for each SKU; the reprice proposes each one's first price."""
    for sku in skus:
        send_event(stack, "product.pricing_updated", {"sku": sku, "cost": "20.00", "currency": "EUR"})
        rival(stack, sku, price)
    reprice_run(stack)
    return listed(stack)


def listed(stack: Stack) -> list[dict[str, Any]]:
    answer = stack.client.http.get(PROPOSALS)
    assert answer.status_code == 200, answer.body
    proposals: list[dict[str, Any]] = answer.json_body["proposals"]
    assert answer.json_body["count"] == len(proposals)
    return proposals


def answer_proposal(stack: Stack, proposal_id: str, verb: str) -> tuple[int, dict[str, Any]]:
    answer = stack.client.http.post(f"{PROPOSALS}/{proposal_id}/{verb}")
    assert answer.headers["Content-Type"] == "application/json"
    return answer.status_code, answer.json_body


def shown_price(sku: str) -> str | None:
    state = bootstrap.runtime().pricing.get(sku)
    assert state is not None
    price = state.channels["shop"].price
    return None if price is None else str(price)


# -- the admin routes -----------------------------------------------------------------------------


def test_the_owner_lists_the_waiting_proposals_and_approves_one_which_is_applied(shop: Stack) -> None:
    [waiting] = propose(shop, "MUG-1")
    assert (waiting["sku"], waiting["channel"], waiting["old"], waiting["new"]) == (
        "MUG-1",
        "shop",
        None,
        "40.00",
    )
    assert waiting["currency"] == "EUR" and waiting["id"].startswith("p-")

    status, body = answer_proposal(shop, waiting["id"], "approve")

    assert (status, body["status"], body["id"]) == (200, "applied", waiting["id"])
    [change] = body["applied"]
    assert (change["sku"], change["channel"], change["price"], change["old"]) == (
        "MUG-1",
        "shop",
        "40.00",
        None,
    )
    assert change["actor"] == "owner" and change["currency"] == "EUR"
    assert shown_price("MUG-1") == "40.00"
    assert listed(shop) == []
    [event] = [i for i in shop.items_of("OUTBOX") if i["event_type"] == "PriceChanged"]
    assert json.loads(event["payload"])["price"] == "40.00"  # on its way to the channel


def test_an_approval_after_the_inputs_changed_is_refused_with_409_and_the_reason(shop: Stack) -> None:
    [waiting] = propose(shop, "MUG-1")
    shop.clock.advance(timedelta(minutes=5))
    rival(shop, "MUG-1", "38.00")  # the rival moved since the proposal was made

    status, body = answer_proposal(shop, waiting["id"], "approve")

    assert (status, body["status"]) == (409, "refused")
    assert "its inputs changed since it was proposed" in body["error"] and "nothing applied" in body["error"]
    assert shown_price("MUG-1") is None  # nothing applied
    assert listed(shop) == []  # the proposal is closed: the next reprice proposes afresh
    assert answer_proposal(shop, waiting["id"], "approve")[0] == 404


def test_a_rejected_proposal_closes_and_is_not_asked_again(shop: Stack) -> None:
    [waiting] = propose(shop, "MUG-1")

    status, body = answer_proposal(shop, waiting["id"], "reject")

    assert (status, body) == (
        200,
        {
            "id": waiting["id"],
            "status": "rejected",
            "sku": "MUG-1",
            "channel": "shop",
            "currency": "EUR",
            "price": None,
        },
    )
    assert listed(shop) == []
    reprice_run(shop)  # the same inputs: the owner said no to exactly this
    assert listed(shop) == [] and shown_price("MUG-1") is None


def test_an_unknown_proposal_is_404_for_approve_and_reject(shop: Stack) -> None:
    propose(shop, "MUG-1")

    for verb in ("approve", "reject"):
        status, body = answer_proposal(shop, "p-0000000000", verb)
        assert status == 404
        assert body["error"] == "p-0000000000: no such proposal waits (approved, rejected or expired already)"
    assert len(listed(shop)) == 1  # nothing closed


def test_with_pricing_off_the_routes_answer_503_and_change_nothing(shop: Stack) -> None:
    [waiting] = propose(shop, "MUG-1")
    shop.put_setting("pricing/enabled", "false")

    answers = [
        shop.client.http.get(PROPOSALS),
        shop.client.http.post(f"{PROPOSALS}/{waiting['id']}/approve"),
        shop.client.http.post(f"{PROPOSALS}/{waiting['id']}/reject"),
    ]

    assert [(answer.status_code, answer.json_body) for answer in answers] == [(503, {"error": OFF})] * 3
    assert shown_price("MUG-1") is None
    assert [p.proposal_id for p in bootstrap.runtime().pricing.proposals()] == [waiting["id"]]


# -- the daily email ------------------------------------------------------------------------------


def digest() -> dict[str, Any]:
    answer: dict[str, Any] = pricing_reprice(dict(DIGEST_INPUT), None)
    return answer


def owner_emails() -> list[str]:
    return [
        f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}"  # type: ignore[union-attr]
        for m in emails()
        if m["To"] == OWNER
    ]


def test_the_owner_gets_one_email_a_day_listing_every_waiting_proposal(shop: Stack) -> None:
    waiting = propose(shop, "MUG-1", "TEE-L")

    assert digest()["sent"] is True
    assert digest()["sent"] is False  # the schedule fired twice: still one email
    answers = run_pipeline(shop)

    assert all(answer == {"batchItemFailures": []} for answer in answers)
    (sent,) = owner_emails()
    assert sent.startswith("2 price changes wait for your approval \N{EN DASH} Demo Shop")
    for proposal in waiting:
        assert f"- {proposal['sku']} on shop: not priced yet -> \N{EURO SIGN}40.00 (first price)" in sent
        assert f"Id: {proposal['id']}" in sent
    assert "shopflow prices approve ID" in sent

    shop.clock.advance(timedelta(days=1))  # still waiting the next morning: another email
    assert digest()["sent"] is True
    run_pipeline(shop)
    assert len(owner_emails()) == 2


def test_no_email_when_no_proposal_waits_or_pricing_is_off(shop: Stack) -> None:
    assert digest() == {"sent": False, "reason": "no proposal waits"}
    [waiting] = propose(shop, "MUG-1")
    assert answer_proposal(shop, waiting["id"], "approve")[0] == 200
    assert digest() == {"sent": False, "reason": "no proposal waits"}
    propose(shop, "TEE-L")
    shop.put_setting("pricing/enabled", "false")
    assert digest() == {"sent": False, "reason": "pricing is off"}

    run_pipeline(shop)

    assert owner_emails() == []
    assert not [i for i in shop.items_of("OUTBOX") if i["event_type"] == "PriceProposalsWaiting"]
