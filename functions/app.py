"""shopflow's Lambda handlers: every function in template.yaml is `app.<name>`.

Handlers are thin: they hand the request or event to the package and return its answer.
Every function imports this module, so a handler imports what it needs when first called
(the dispatch function never loads the webhook models).
"""

from __future__ import annotations

import gc
import os

# A cold container builds about 90,000 objects that live as long as it does (modules, models,
# botocore's service data) before its first answer, and the collector would walk them again and
# again for no garbage: about a sixth of the first answer. In Lambda (which names the function)
# it waits for the first call to end (decision 51); elsewhere (tests, `shopflow local`) it is left alone.
_COLLECTOR_DEFERRED = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and gc.isenabled()
if _COLLECTOR_DEFERRED:
    gc.disable()

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from chalice.app import Chalice, IAMAuthorizer, Response  # noqa: E402

from shopflow import bootstrap, snapstart  # noqa: E402

# Chalice's own logger is logging.getLogger("shopflow"), the one Powertools writes structured
# JSON through: Chalice must not add its handler or change its level.
app = Chalice(app_name="shopflow", configure_logs=False)

# Under SnapStart (the api's published versions), what the snapshot holds is primed before it is
# taken and a restore renews what must not be shared (shopflow/snapstart.py, decision 82).
snapstart.register_hooks()

JSON = ["application/json"]


@app.middleware("all")
def _collect_after_the_first_call(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """The first call of a cold container has answered: what it built stays, so it is frozen out
    of every later collection (never walked again), and the collector runs as usual from now on."""
    global _COLLECTOR_DEFERRED
    try:
        return get_response(event)
    finally:
        if _COLLECTOR_DEFERRED:
            _COLLECTOR_DEFERRED = False
            gc.freeze()
            gc.enable()


def _respond(sender: str) -> Response:
    from shopflow.webhooks.http import answer_webhook

    request = app.current_request
    assert request is not None  # Chalice sets it for every route call
    body = request.raw_body if isinstance(request.raw_body, bytes) else request.raw_body.encode()
    status, answer, headers = answer_webhook(sender, request.headers, body, bootstrap.runtime())
    return Response(body=answer, status_code=status, headers={"Content-Type": "application/json", **headers})


@app.route("/webhooks/shopify", methods=["POST"], content_types=JSON)
def shopify_webhook() -> Response:
    return _respond("shopify")


# WooCommerce's creation ping is form-encoded.
@app.route(
    "/webhooks/woocommerce", methods=["POST"], content_types=[*JSON, "application/x-www-form-urlencoded"]
)
def woocommerce_webhook() -> Response:
    return _respond("woocommerce")


@app.route("/webhooks/events", methods=["POST"], content_types=JSON)
def events_webhook() -> Response:
    return _respond("events")


def _raw_body() -> bytes:
    request = app.current_request
    assert request is not None
    return request.raw_body if isinstance(request.raw_body, bytes) else request.raw_body.encode()


def _json_reply(status: int, answer: dict[str, Any], headers: dict[str, str]) -> Response:
    return Response(body=answer, status_code=status, headers={"Content-Type": "application/json", **headers})


# The storefront's checkout holds its lines (signed like /webhooks/events; docs/stock.md).
@app.route("/reservations", methods=["POST"], content_types=JSON)
def hold_reservation() -> Response:
    from shopflow.webhooks.reservations import answer_hold

    request = app.current_request
    assert request is not None
    return _json_reply(*answer_hold(request.headers, _raw_body(), bootstrap.runtime()))


@app.route("/reservations/{reservation_id}", methods=["DELETE"], content_types=JSON)
def release_reservation(reservation_id: str) -> Response:
    from shopflow.webhooks.reservations import answer_release

    request = app.current_request
    assert request is not None
    return _json_reply(*answer_release(reservation_id, request.headers, _raw_body(), bootstrap.runtime()))


# GET shows a page that asks; POST unsubscribes (the page's button, or RFC 8058 one-click).
@app.route(
    "/unsubscribe/{token}",
    methods=["GET", "POST"],
    content_types=["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", *JSON],
)
def unsubscribe(token: str) -> Response:
    from shopflow.notifications.unsubscribe_page import unsubscribe_page

    runtime = bootstrap.runtime()
    request = app.current_request
    assert request is not None
    status, page = unsubscribe_page(
        request.method,
        token,
        settings=runtime.settings.load(),
        consent=runtime.consent,
        now=runtime.clock.now(),
    )
    return Response(body=page, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})


# The owner's price proposals from anywhere (docs/pricing.md): API Gateway admits only callers
# that sign with AWS credentials allowed execute-api:Invoke on these routes (template.yaml).
OWNER_ONLY = IAMAuthorizer()


def _caller() -> str | None:
    """Who signed the request, for the log (API Gateway's identity of an IAM-authorized call)."""
    request = app.current_request
    assert request is not None
    return (request.context.get("identity") or {}).get("userArn")


@app.route("/admin/prices/proposals", methods=["GET"], authorizer=OWNER_ONLY)
def price_proposals() -> Response:
    from shopflow.pricing.admin import waiting_proposals

    return _json_reply(*waiting_proposals(bootstrap.runtime()), {})


@app.route("/admin/prices/proposals/{proposal_id}/approve", methods=["POST"], authorizer=OWNER_ONLY)
def approve_price_proposal(proposal_id: str) -> Response:
    from shopflow.pricing.admin import approve

    return _json_reply(*approve(bootstrap.runtime(), proposal_id, _caller()), {})


@app.route("/admin/prices/proposals/{proposal_id}/reject", methods=["POST"], authorizer=OWNER_ONLY)
def reject_price_proposal(proposal_id: str) -> Response:
    from shopflow.pricing.admin import reject

    return _json_reply(*reject(bootstrap.runtime(), proposal_id, _caller()), {})


@app.lambda_function(name="dispatch")
def dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().dispatcher.handle(event, context)


@app.lambda_function(name="notify")
def notify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().notifier.handle(event, context)


@app.lambda_function(name="sweep")
def sweep(event: dict[str, Any], context: Any) -> dict[str, int]:
    return bootstrap.runtime().sweeper.handle(event, context)


@app.lambda_function(name="timers")
def timers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().timer_consumer.handle(event, context)


@app.lambda_function(name="channel_fanout")
def channel_fanout(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().channel_fanout.handle(event, context)


@app.lambda_function(name="channel_push")
def channel_push(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().channel_pusher.handle(event, context)


@app.lambda_function(name="channel_reconcile")
def channel_reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().channel_reconciler.handle(event, context)


@app.lambda_function(name="back_in_stock_watch")
def back_in_stock_watch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().restock_watcher.handle(event, context)


@app.lambda_function(name="pricing_reprice")
def pricing_reprice(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().repricer.handle(event, context)


@app.lambda_function(name="price_push")
def price_push(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.runtime().price_pusher.handle(event, context)
