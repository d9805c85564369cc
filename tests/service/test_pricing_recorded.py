"""What pricing records for `shopflow prices simulate`, through the signed events route on moto:
the input log line is written with the SKU's record and only then (a redelivered or older input
writes neither), and an order's units are added to its SKUs' day once, when it is first sold."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.service.conftest import Stack
from tests.support import dumps, events_headers


@pytest.fixture(autouse=True)
def prices_on(stack: Stack) -> None:
    stack.put_setting("pricing/enabled", "true")


def event(stack: Stack, type_: str, data: dict[str, Any]) -> Any:
    body = dumps({"type": type_, "timestamp": stack.clock.now().isoformat(), "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    answer = stack.client.http.post("/webhooks/events", headers=headers, body=body)
    assert answer.status_code == 200, answer.body
    return answer.json_body


def observe(stack: Stack, price: str, observed_at: str, competitor: str = "rival") -> Any:
    data = {
        "sku": "MUG-01",
        "competitor": competitor,
        "price": price,
        "currency": "EUR",
        "in_stock": True,
        "observed_at": observed_at,
    }
    return event(stack, "competitor_price.observed", data)


def order(stack: Stack, external_id: str, status: str, lines: list[tuple[str, int, str]]) -> Any:
    data = {
        "source": "erp",
        "external_id": external_id,
        "status": status,
        "currency": "EUR",
        "total": "10.00",
        "lines": [{"sku": s, "name": s, "quantity": q, "unit_price": p} for s, q, p in lines],
        "customer": {"email": "ann@example.com"},
        "updated_at": stack.clock.now().isoformat(),
        "placed_at": "2026-11-02T08:30:00Z",
    }
    return event(stack, "order.created", data)


def order_status(stack: Stack, external_id: str, status: str) -> Any:
    stack.clock.advance(timedelta(minutes=1))
    data = {
        "source": "erp",
        "external_id": external_id,
        "status": status,
        "updated_at": stack.clock.now().isoformat(),
    }
    return event(stack, "order.status_changed", data)


def sold(stack: Stack) -> dict[str, tuple[int, Decimal]]:
    return {i["sk"]: (int(i["units"]), Decimal(str(i["revenue"]))) for i in stack.items_of("PRICESALES")}


def test_an_observation_is_logged_with_the_record_and_a_redelivery_or_older_one_logs_nothing(
    stack: Stack,
) -> None:
    assert observe(stack, "19.99", "2026-11-02T08:00:00Z")["status"] == "accepted"
    assert observe(stack, "19.99", "2026-11-02T08:00:00Z")["status"] == "ignored"  # redelivered
    assert observe(stack, "18.99", "2026-11-02T07:00:00Z")["status"] == "ignored"  # older
    assert observe(stack, "17.99", "2026-11-02T08:45:00Z")["status"] == "accepted"

    log = sorted(stack.items_of("PRICELOG"), key=lambda item: item["sk"])
    assert [item["sk"] for item in log] == [
        "OBS#MUG-01#2026-11-02T08:00:00.000000Z#rival",
        "OBS#MUG-01#2026-11-02T08:45:00.000000Z#rival",
    ]
    assert {item["pk"] for item in log} == {log[0]["pk"]}
    assert log[0]["pk"].startswith("PRICELOG#") and log[0]["pk"].endswith("#2026-11-02")
    assert all(int(item["expires_at"]) > stack.clock.now().timestamp() + 35 * 86400 for item in log)


def test_a_cost_change_is_logged_with_the_cost_it_replaced(stack: Stack) -> None:
    base = {"sku": "MUG-01", "currency": "EUR"}
    event(stack, "product.pricing_updated", {**base, "cost": "8.00"})
    stack.clock.advance(timedelta(minutes=5))
    event(stack, "product.pricing_updated", {**base, "cost": "9.50", "min_price": "12.00"})

    changes = sorted(
        (json_of(item) for item in stack.items_of("PRICELOG")), key=lambda document: document["at"]
    )
    assert [(c["before"]["cost"], c["after"]["cost"]) for c in changes] == [(None, "8.00"), ("8.00", "9.50")]
    assert changes[1]["after"]["min_price"] == "12.00"


def json_of(item: dict[str, Any]) -> dict[str, Any]:
    import json

    return dict(json.loads(item["document"]))


def test_an_orders_units_count_once_when_it_is_first_sold(stack: Stack) -> None:
    order(stack, "1", "paid", [("MUG-01", 2, "19.99"), ("MUG-01", 1, "19.99"), ("CUP-02", 1, "5.00")])
    order(stack, "1", "paid", [("MUG-01", 2, "19.99"), ("MUG-01", 1, "19.99"), ("CUP-02", 1, "5.00")])
    order_status(stack, "1", "shipped")
    order(stack, "2", "pending", [("MUG-01", 4, "19.99")])  # not sold yet
    assert sold(stack) == {"MUG-01#erp": (3, Decimal("59.97")), "CUP-02#erp": (1, Decimal("5.00"))}

    order_status(stack, "2", "paid")
    order_status(stack, "2", "paid")

    assert sold(stack)["MUG-01#erp"] == (7, Decimal("139.93"))
    assert {i["pk"].rsplit("#", 1)[1] for i in stack.items_of("PRICESALES")} == {"2026-11-02"}


def test_with_pricing_off_an_order_writes_no_sales(stack: Stack) -> None:
    stack.put_setting("pricing/enabled", "false")
    order(stack, "1", "paid", [("MUG-01", 2, "19.99")])

    assert sold(stack) == {}
