"""A Standard Webhook's timestamp is the sender's real clock, whatever the shop's clock says."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta

from shopflow import bootstrap
from shopflow.clock import ScaledClock
from tests.service.conftest import Stack
from tests.service.test_woocommerce_and_events import CANONICAL_ORDER
from tests.support import dumps, events_headers


def _order(external_id: str) -> bytes:
    payload = copy.deepcopy(CANONICAL_ORDER)
    payload["data"]["external_id"] = external_id
    return dumps(payload)


def test_local_clock_moved_two_hours_on_still_takes_webhooks_signed_with_real_time(stack: Stack) -> None:
    shop_clock = ScaledClock()  # what `shopflow local` runs on
    shop_clock.advance(timedelta(hours=2))  # `shopflow local advance 2h`
    bootstrap.runtime().clock = shop_clock
    real_now = int(time.time())

    signed_now = _order("SO-NOW")
    accepted = stack.client.http.post(
        "/webhooks/events", headers=events_headers(signed_now, timestamp=real_now), body=signed_now
    )
    signed_at_shop_time = _order("SO-SHOP-TIME")
    refused = stack.client.http.post(
        "/webhooks/events",
        headers=events_headers(signed_at_shop_time, timestamp=real_now + 2 * 3600),
        body=signed_at_shop_time,
    )

    assert accepted.status_code == 200, accepted.body
    assert accepted.json_body["order_id"] == "erp:SO-NOW"
    assert refused.status_code == 401
    assert "tolerance" in refused.json_body["message"]
    # Business time still follows the shop's clock: the late-order check is due from the moved time.
    (timer,) = stack.items_of("TIMER")
    assert datetime.fromisoformat(timer["due_at"]) > datetime.now(UTC) + timedelta(hours=2)
