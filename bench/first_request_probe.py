"""One cold start of the api function, measured in a fresh interpreter by bench/cold_start.py:
import app, then answer one signed Shopify orders/create given as the API Gateway REST event
Lambda passes to `app.app` (store in memory, settings fixed; no AWS call).

`total` runs from before `import app` to the answer, so every module the first request
needs (pydantic, PynamoDB, the Shopify models) is counted, plus the probe's small setup."""

import time

started = time.perf_counter()
import app  # noqa: E402

imported = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import SHOP_DOMAIN, SHOPIFY_SECRET, corpus, dumps, shopify_headers  # noqa: E402

from shopflow import bootstrap  # noqa: E402
from shopflow.clock import FakeClock  # noqa: E402
from shopflow.config import SettingsLoader  # noqa: E402
from shopflow.store.orders import InMemoryOrderStore  # noqa: E402

runtime = bootstrap.reset(FakeClock(datetime(2026, 11, 2, tzinfo=UTC)))
runtime.__dict__["settings"] = SettingsLoader(
    "bench",
    fetch=lambda: {"webhooks/shopify/secret": SHOPIFY_SECRET, "webhooks/shopify/shop_domains": SHOP_DOMAIN},
)
runtime.__dict__["orders"] = InMemoryOrderStore()
body = dumps(corpus("shopify/order.json"))
headers = shopify_headers(body, "orders/create")
event = {
    "resource": "/webhooks/shopify",
    "path": "/webhooks/shopify",
    "httpMethod": "POST",
    "headers": headers,
    "multiValueHeaders": {k: [v] for k, v in headers.items()},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/webhooks/shopify",
        "httpMethod": "POST",
        "requestId": "bench-1",
        "path": "/dev/webhooks/shopify",
        "stage": "dev",
        "identity": {"sourceIp": "127.0.0.1"},
    },
    "body": body.decode(),
    "isBase64Encoded": False,
}
response = app.app(event, None)
answered = time.perf_counter()
assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "accepted", response
print(json.dumps({"import": imported - started, "total": answered - started}))
