"""shopflow's Lambda handlers: every function in template.yaml is `app.<name>`.

Handlers are thin: they hand the request or event to the package and return its answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice.app import Chalice, Response

from shopflow import bootstrap
from shopflow.config import Settings
from shopflow.webhooks import events, shopify, woocommerce
from shopflow.webhooks.common import Delivery, Ignored
from shopflow.webhooks.http import Receiver, answer_webhook

# Chalice's own logger is logging.getLogger("shopflow"), the one Powertools writes structured
# JSON through: Chalice must not add its handler or change its level.
app = Chalice(app_name="shopflow", configure_logs=False)

JSON = ["application/json"]


def _respond(sender: str, receive: Receiver) -> Response:
    request = app.current_request
    assert request is not None  # Chalice sets it for every route call
    body = request.raw_body if isinstance(request.raw_body, bytes) else request.raw_body.encode()
    status, answer = answer_webhook(sender, request.headers, body, receive, bootstrap.runtime())
    return Response(body=answer, status_code=status, headers={"Content-Type": "application/json"})


def _shopify(headers: Mapping[str, str], body: bytes, settings: Settings, _: Any) -> Delivery | Ignored:
    return shopify.receive(
        headers, body, secrets=settings.secrets("shopify"), shop_domains=settings.shopify_shop_domains
    )


def _woocommerce(
    headers: Mapping[str, str], body: bytes, settings: Settings, runtime: bootstrap.Runtime
) -> Delivery | Ignored:
    return woocommerce.receive(
        headers, body, secrets=settings.secrets("woocommerce"), now=runtime.clock.now()
    )


def _events(
    headers: Mapping[str, str], body: bytes, settings: Settings, runtime: bootstrap.Runtime
) -> Delivery | Ignored:
    return events.receive(headers, body, secrets=settings.secrets("events"), now=runtime.clock.now())


@app.route("/webhooks/shopify", methods=["POST"], content_types=JSON)
def shopify_webhook() -> Response:
    return _respond("shopify", _shopify)


# WooCommerce's creation ping is form-encoded.
@app.route(
    "/webhooks/woocommerce", methods=["POST"], content_types=[*JSON, "application/x-www-form-urlencoded"]
)
def woocommerce_webhook() -> Response:
    return _respond("woocommerce", _woocommerce)


@app.route("/webhooks/events", methods=["POST"], content_types=JSON)
def events_webhook() -> Response:
    return _respond("events", _events)


@app.lambda_function(name="dispatch")
def dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().dispatcher.handle(event, context)
