"""Test helpers: the shared corpus, and deliveries signed the way each platform signs them."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shopflow.webhooks.signatures import sign_hmac_base64, sign_standard_webhook

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

SHOPIFY_SECRET = "shpss_test_current_secret_0001"
SHOPIFY_PREVIOUS_SECRET = "shpss_test_previous_secret_0000"
SHOP_DOMAIN = "demo-shop.myshopify.com"
WOO_SECRET = "woo_test_secret_0123456789"
EVENTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def corpus(name: str) -> dict[str, Any]:
    """A corpus payload as the platform sends it as a webhook body (REST wrappers removed)."""
    data: dict[str, Any] = json.loads((CORPUS / name).read_text())
    if name.startswith("shopify/") and len(data) == 1 and isinstance(next(iter(data.values())), dict):
        data = next(iter(data.values()))
    return data


def shopify_headers(
    body: bytes,
    topic: str,
    *,
    webhook_id: str | None = None,
    event_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
    shop: str = SHOP_DOMAIN,
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_hmac_base64(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-API-Version": "2025-10",
    }
    if event_id:
        headers["X-Shopify-Event-Id"] = event_id
    return headers


def woo_headers(body: bytes, topic: str, *, secret: str = WOO_SECRET) -> dict[str, str]:
    resource, event = topic.split(".")
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign_hmac_base64(body, secret),
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
    }


def events_headers(
    body: bytes, *, msg_id: str | None = None, timestamp: int | None = None, secret: str = EVENTS_SECRET
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp if timestamp is not None else int(time.time())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard_webhook(body, msg_id=msg_id, timestamp=timestamp, secret=secret),
    }


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, for code that reaches AWS over HTTP (another process,
    `shopflow local`'s endpoints); yields its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
