"""Logs are structured JSON with a correlation id, and never carry bodies, emails or phones."""

from __future__ import annotations

import json
import logging

from shopflow.observability import logger
from tests.service.conftest import Stack
from tests.support import corpus, dumps, shopify_headers


def test_intake_logs_ids_not_personal_data(stack: Stack) -> None:
    formatted: list[str] = []
    formatter = logger._logger.handlers[0].formatter
    handler = logging.Handler()
    handler.emit = lambda record: formatted.append(formatter.format(record))  # type: ignore[method-assign,union-attr]
    logger._logger.addHandler(handler)
    logger.setLevel("INFO")
    try:
        body = dumps(corpus("shopify/order.json"))
        headers = shopify_headers(body, "orders/create", webhook_id="wh-log-1")
        stack.client.http.post("/webhooks/shopify", headers=headers, body=body)
    finally:
        logger._logger.removeHandler(handler)
        logger.setLevel("WARNING")

    lines = [json.loads(line) for line in formatted]
    recorded = next(line for line in lines if line["message"] == "webhook recorded")
    assert recorded["correlation_id"] == "wh-log-1"
    assert recorded["order_id"] == "shopify:450789469" and recorded["result"] == "accepted"
    text = "\n".join(formatted)
    for secret in ("bob.norman@hostmail.com", "555-625-1199", "Chestnut Street", "IPod Nano"):
        assert secret not in text
