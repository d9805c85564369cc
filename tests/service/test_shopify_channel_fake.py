"""The fake Shopify answers as the research notes document Shopify answering (raw HTTP, no adapter)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from shopflow.channels.adapters.shopify import SET_QUANTITIES
from shopflow.local.fakes.shopify import DEFAULT_TOKEN, FakeShopify, ManualClock


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(clock=ManualClock(), location_id=1) as fake:
        fake.add_item(11, "MUG", available=5)
        yield fake


def post(
    shop: FakeShopify,
    query: str,
    variables: dict[str, Any],
    *,
    version: str = "2026-01",
    token: str = DEFAULT_TOKEN,
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the fake on 127.0.0.1
        f"{shop.url}/admin/api/{version}/graphql.json",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "X-Shopify-Access-Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def set_input(quantity: int, change_from: int | None = 5, rows: int = 1, **extra: Any) -> dict[str, Any]:
    row = {"inventoryItemId": "gid://shopify/InventoryItem/11", "locationId": "gid://shopify/Location/1"}
    quantities = [
        row | {"quantity": quantity, "changeFromQuantity": change_from} | extra for _ in range(rows)
    ]
    return {"name": "available", "reason": "correction", "quantities": quantities}


def user_errors(body: dict[str, Any]) -> list[str]:
    return [error["code"] for error in body["data"]["inventorySetQuantities"]["userErrors"]]


def test_same_key_replays_and_same_key_with_other_variables_is_a_mismatch(shop: FakeShopify) -> None:
    first = post(shop, SET_QUANTITIES, {"input": set_input(3), "idempotencyKey": "k-1"})
    shop.sell(11, units=1)
    replay = post(shop, SET_QUANTITIES, {"input": set_input(3), "idempotencyKey": "k-1"})
    other = post(shop, SET_QUANTITIES, {"input": set_input(4), "idempotencyKey": "k-1"})

    assert first[1]["data"] == replay[1]["data"]
    assert (
        first[1]["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["reason"]
        == "Inventory correction"
    )
    assert user_errors(other[1]) == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert shop.available(11) == 2


def test_a_stale_compare_value_refuses_the_call(shop: FakeShopify) -> None:
    status, body = post(shop, SET_QUANTITIES, {"input": set_input(3, change_from=4), "idempotencyKey": "k-2"})

    assert status == 200 and user_errors(body) == ["CHANGE_FROM_QUANTITY_STALE"]
    assert body["data"]["inventorySetQuantities"]["userErrors"][0]["field"] == [
        "input",
        "quantities",
        "0",
        "changeFromQuantity",
    ]
    assert shop.available(11) == 5


def test_more_than_250_rows_are_refused_before_anything_runs(shop: FakeShopify) -> None:
    status, body = post(shop, SET_QUANTITIES, {"input": set_input(3, rows=251), "idempotencyKey": "k-3"})

    assert status == 200 and body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert "data" not in body and shop.available(11) == 5


def test_a_query_above_1000_points_is_refused_with_its_cost(shop: FakeShopify) -> None:
    query = (
        "query($id: ID!) { inventoryItem(id: $id) {"
        " inventoryLevels(first: 600) { nodes { location { id } } } } }"
    )

    _, body = post(shop, query, {"id": "gid://shopify/InventoryItem/11"})

    assert body["errors"][0]["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 1203, "maxCost": 1000}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1203


def test_the_api_version_decides_the_idempotency_directive_and_compare_fields(shop: FakeShopify) -> None:
    _, old = post(shop, SET_QUANTITIES, {"input": set_input(3), "idempotencyKey": "k-4"}, version="2025-10")
    unkeyed = SET_QUANTITIES.replace(", $idempotencyKey: String!", "").replace(
        " @idempotent(key: $idempotencyKey)", ""
    )
    _, no_key = post(shop, unkeyed, {"input": set_input(3)}, version="2026-04")
    without_compare = set_input(3)
    del without_compare["quantities"][0]["changeFromQuantity"]
    _, no_compare = post(
        shop, SET_QUANTITIES, {"input": without_compare, "idempotencyKey": "k-5"}, version="2026-04"
    )
    _, unkeyed_2026_01 = post(shop, unkeyed, {"input": set_input(3)}, version="2026-01")

    assert "Unknown directive '@idempotent'" in old["errors"][0]["message"]
    assert "@idempotent directive is required" in no_key["errors"][0]["message"]
    assert "changeFromQuantity is required" in no_compare["errors"][0]["message"]
    assert user_errors(unkeyed_2026_01) == []  # optional in 2026-01
    assert shop.available(11) == 3


def test_a_wrong_token_gets_shopifys_401_and_every_graphql_answer_carries_its_cost(shop: FakeShopify) -> None:
    status, body = post(shop, SET_QUANTITIES, {"input": set_input(3), "idempotencyKey": "k-6"}, token="wrong")
    assert status == 401 and "Invalid API key or access token" in body["errors"]

    _, answered = post(shop, SET_QUANTITIES, {"input": set_input(3), "idempotencyKey": "k-6"})
    cost = answered["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}
