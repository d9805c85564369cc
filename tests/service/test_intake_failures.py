"""When intake itself cannot record a delivery, the sender gets an answer it can act on:
503 with Retry-After while the store is unreachable, 500 for a fault of shopflow's own,
each logged with the delivery id and never with the customer's data."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from shopflow.observability import logger
from shopflow.orders import service as orders_service
from shopflow.webhooks import http
from tests.service.conftest import Stack
from tests.support import corpus, dumps, shopify_headers, woo_headers

ENDPOINT = "https://dynamodb.eu-central-1.amazonaws.com"


def client_error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}, **extra}, "TransactWriteItems")


UNREACHABLE: dict[str, Callable[[], Exception]] = {
    "endpoint connection": lambda: EndpointConnectionError(endpoint_url=ENDPOINT),
    "connect timeout": lambda: ConnectTimeoutError(endpoint_url=ENDPOINT),
    "provisioned throughput": lambda: client_error("ProvisionedThroughputExceededException"),
    "throttling": lambda: client_error("ThrottlingException"),
    "internal server error": lambda: client_error("InternalServerError"),
    "service unavailable": lambda: client_error("ServiceUnavailable"),
    "transaction throttled": lambda: client_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError", "Message": "throttled"}],
    ),
}


@pytest.fixture
def logs() -> Iterator[list[str]]:
    formatted: list[str] = []
    formatter = logger._logger.handlers[0].formatter
    handler = logging.Handler()
    handler.emit = lambda record: formatted.append(formatter.format(record))  # type: ignore[method-assign,union-attr]
    logger._logger.addHandler(handler)
    try:
        yield formatted
    finally:
        logger._logger.removeHandler(handler)


def errors(logs: list[str]) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, logs) if line["level"] == "ERROR"]


def fail_dynamodb(monkeypatch: pytest.MonkeyPatch, error: Callable[[], Exception]) -> None:
    """Every DynamoDB call fails in the botocore client, as it fails on AWS once botocore's own
    retries are spent (PynamoDB then wraps it as it does there); other services still work."""
    make_api_call = BaseClient._make_api_call

    def unreachable(self: BaseClient, operation: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            raise error()
        return make_api_call(self, operation, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", unreachable)


@pytest.mark.parametrize("failure", sorted(UNREACHABLE))
def test_an_unreachable_store_is_503_with_retry_after(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    body = dumps(corpus("woocommerce/order.json"))
    headers = woo_headers(body, "order.created")
    fail_dynamodb(monkeypatch, UNREACHABLE[failure])

    response = stack.client.http.post("/webhooks/woocommerce", headers=headers, body=body)

    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"] == str(http.RETRY_AFTER_UNAVAILABLE_SECONDS)
    assert response.json_body["error"] == "unavailable"
    assert response.json_body["delivery_id"] == headers["X-WC-Webhook-Delivery-ID"]
    monkeypatch.undo()
    assert stack.items() == []


def test_an_unreachable_store_is_logged_with_the_delivery_not_the_customer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, logs: list[str]
) -> None:
    body = dumps(corpus("shopify/order.json"))
    headers = shopify_headers(body, "orders/create", webhook_id="wh-down-1")
    fail_dynamodb(monkeypatch, UNREACHABLE["endpoint connection"])

    stack.client.http.post("/webhooks/shopify", headers=headers, body=body)

    monkeypatch.undo()
    (line,) = errors(logs)
    assert line["message"] == "webhook not recorded: store or queue unreachable"
    assert (line["sender"], line["topic"], line["delivery_id"]) == ("shopify", "orders/create", "wh-down-1")
    assert (line["error_type"], line["cause"]) == ("TransactWriteError", "EndpointConnectionError")
    assert "bob.norman@hostmail.com" not in "\n".join(logs)


def test_a_fault_of_shopflow_is_a_logged_500_without_the_values(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, logs: list[str]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("bob.norman@hostmail.com")  # an error whose message quotes customer data

    monkeypatch.setattr(orders_service, "record_delivery", broken)
    body = dumps(corpus("shopify/order.json"))

    response = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "orders/paid", webhook_id="wh-bug-1"), body=body
    )

    assert response.status_code == 500
    assert response.json_body == {
        "error": "internal_error",
        "message": "shopflow failed to record this delivery; retry later",
        "delivery_id": "wh-bug-1",
    }
    (line,) = errors(logs)
    assert line["message"] == "webhook not recorded: unexpected error"
    assert (line["sender"], line["topic"], line["delivery_id"], line["error_type"]) == (
        "shopify",
        "orders/paid",
        "wh-bug-1",
        "KeyError",
    )
    assert any("broken" in frame for frame in line["where"])
    assert "bob.norman@hostmail.com" not in "\n".join(logs)
    assert stack.items() == []
