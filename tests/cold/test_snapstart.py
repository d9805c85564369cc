"""The api under Lambda SnapStart: a snapshot primed without a setting or a request, and containers
restored from it that answer every kind of first request with nothing left to load (decision 82).

Lambda's init phase and its hooks run in a fresh interpreter with exactly ApiFunction's
environment as Lambda gives it under SnapStart (credentials from the container endpoint);
each restored container is a fork of that process (tests/cold/container.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.cold.container import (
    ColdStack,
    ContainerCredentials,
    rest_api_event,
    run_snapstart_probe,
)
from tests.service.conftest import SECRETS
from tests.support import (
    SHOP_DOMAIN,
    corpus,
    dumps,
    events_headers,
    moto_server,
    shopify_headers,
    woo_headers,
)

API = "ApiFunction"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def stack(endpoint: str) -> ColdStack:
    stack = ColdStack.provision(endpoint)
    for name, value in SECRETS.items():
        stack.put_setting(name, value, secure=True)
    stack.put_setting("webhooks/shopify/shop_domains", SHOP_DOMAIN)
    stack.put_setting("stock/enabled", "true")
    return stack


@pytest.fixture
def credentials() -> Iterator[ContainerCredentials]:
    # The snapshot's keys expire within botocore's 10-minute margin: a container restored from it
    # must fetch new ones, as one restored hours after its snapshot must.
    with ContainerCredentials(first_lifetime=timedelta(minutes=5)).serving() as served:
        yield served


def first_requests() -> list[dict[str, Any]]:
    """One of each kind the api answers first in a container: every sender's order, a stock
    count, a checkout's hold."""
    shopify = dumps(corpus("shopify/order.json"))
    woo = dumps(corpus("woocommerce/order.json"))
    now = datetime.now(UTC).isoformat()
    level = {"sku": "MUG-01", "on_hand": 5, "sequence": 1}
    count = dumps({"type": "inventory.set", "timestamp": now, "data": level})
    hold = dumps({"checkout_token": "chk-1", "lines": [{"sku": "MUG-01", "quantity": 1}]})
    return [
        rest_api_event("/webhooks/shopify", shopify_headers(shopify, "orders/create"), shopify),
        rest_api_event("/webhooks/woocommerce", woo_headers(woo, "order.created"), woo),
        rest_api_event("/webhooks/events", events_headers(count), count),
        rest_api_event("/reservations", events_headers(hold), hold),
    ]


def items(stack: ColdStack) -> list[dict[str, Any]]:
    return stack.client("dynamodb").scan(TableName=stack.table_name, ConsistentRead=True)["Items"]


def test_containers_restored_from_the_snapshot_answer_every_first_request_with_nothing_to_load(
    stack: ColdStack, credentials: ContainerCredentials
) -> None:
    environment = stack.snapstart_environment(API, credentials)
    requests = first_requests()

    # The count must be recorded before the hold: each restored container runs in turn.
    _, restored = run_snapstart_probe(stack.handler(API), requests, environment, API)

    answers = [json.loads(r.invocation.answer["body"]) for r in restored]
    assert [r.invocation.answer["statusCode"] for r in restored] == [200, 200, 200, 201], answers
    assert [a["status"] for a in answers] == ["accepted", "accepted", "accepted", "held"]
    kinds = sorted({item["item_type"]["S"] for item in items(stack)})
    assert {"ORDER", "STOCK", "RESERVATION"} <= set(kinds), kinds
    # The snapshot held every module these answers run: a restore pays for none of shopflow's.
    assert [sorted(m for m in r.imported if m.startswith("shopflow")) for r in restored] == [[]] * 4
    assert [r.built for r in restored] == [[]] * 4
    # Each restored container fetched keys of its own: the snapshot's had expired.
    assert len(credentials.handed_out) >= 1 + len(requests)


def test_the_snapshot_is_taken_without_reading_a_setting_or_the_table(
    stack: ColdStack, credentials: ContainerCredentials
) -> None:
    """Nothing the owner may change, and no connection, goes into the snapshot: with AWS out of
    reach the init phase and its hooks still complete, with the clients made."""
    environment = {**stack.snapstart_environment(API, credentials), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}

    init_cpu, restored = run_snapstart_probe(stack.handler(API), [], environment, API)

    assert restored == [] and init_cpu > 0
    assert items(stack) == []
    assert len(credentials.handed_out) == 1  # the clients were made: one session, one fetch
