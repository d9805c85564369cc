"""WooCommerce REST v3: set `stock_quantity` through the batch endpoints, read it back.

What the research file (channel_apis.md section 2) says and this adapter does:

- Auth: HTTP Basic with `consumer_key:consumer_secret` (the channel's token). WooCommerce accepts
  Basic only over HTTPS; over plain HTTP it wants OAuth 1.0a, which shopflow does not speak, so a
  plain-http url is refused before any request (as Unauthorized: the owner has to fix the url).
  Loopback hosts are the exception: the local fake (`local/fakes/woocommerce.py`) serves http.
- Listing ids: `{product_id}` for a simple product, `{product_id}/{variation_id}` for a variation.
- `push`: simple products go to `POST /products/batch`, the variations of one parent to
  `POST /products/{parent}/variations/batch`, at most 100 updates a call (WooCommerce's default
  `woocommerce_rest_batch_items_limit`; more answers 413 for the whole call), each update
  `{"id", "manage_stock": true, "stock_quantity"}`. A per-item error inside the 200 rejects that
  item only. The quantity acknowledged is the `stock_quantity` the answer shows.
- `push_prices`: the same batch calls, each update `{"id", "regular_price", "sale_price"}` as
  strings. A cut sends `regular_price` = `was` (struck through in the shop) and `sale_price` =
  the price; any other price sends `regular_price` = the price and `sale_price` = "", which ends
  a sale shopflow or the owner set. A push is acknowledged when the answer's effective `price`
  is the one sent (a sale whose scheduled dates have passed, or a plugin, would show another).
  The shop's currency is not checked: the channel's `currency` setting must match it.
- No compare-and-set, no idempotency key: `Push.seen_there` is ignored and the last write wins
  (a storefront sale between our read and our write is overwritten; reconciliation finds it).
  Sending the same absolute quantity twice is harmless, which is what makes a retry safe.
- `read`: `GET /products?include=...` and `GET /products/{parent}/variations?include=...`,
  100 ids a page.
- Whole-call failures: 401/403 Unauthorized (one request, never retried); 429 waits `Retry-After`
  a bounded number of times, then Throttled; no answer or 5xx Unavailable. When a push needs
  several calls (several parents) and one fails, the calls before it have applied: re-sending
  them is harmless (absolute quantities).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

from shopflow.channels.adapters.http_calls import Answer, ThrottlePolicy, send, where, with_throttle_waits
from shopflow.channels.adapters.prices import money_text, price_refusal
from shopflow.channels.ports import (
    ChannelConfig,
    ChannelError,
    PricePush,
    PricePushed,
    Push,
    Pushed,
    Unauthorized,
    Unavailable,
)

DEFAULT_THROTTLE = ThrottlePolicy()
BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit's default: create + update + delete together
API_PATH = "/wp-json/wc/v3"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class WooListing:
    """Where a listing lives: a simple product, or a variation of `product_id`."""

    product_id: int
    variation_id: int | None = None

    def __str__(self) -> str:
        return str(self.product_id) if self.variation_id is None else f"{self.product_id}/{self.variation_id}"


def _positive_id(text: str) -> int | None:
    # ASCII digits only: int() would also take " 12", "+12", "1_2" or other scripts' digits.
    if not (text.isascii() and text.isdigit()) or text.startswith("0"):
        return None
    return int(text)


def parse_listing_id(listing_id: str) -> WooListing | None:
    """`"794"` -> product 794; `"794/799"` -> variation 799 of product 794; anything else None."""
    parts = listing_id.split("/")
    ids = [_positive_id(p) for p in parts]
    if len(parts) == 1 and ids[0] is not None:
        return WooListing(ids[0])
    if len(parts) == 2 and ids[0] is not None and ids[1] is not None:
        return WooListing(ids[0], ids[1])
    return None


@dataclass(frozen=True)
class BatchCall:
    """One batch request: the pushes (by their index in the `push` call) for one endpoint."""

    parent_id: int | None  # None: products/batch; else that product's variations/batch
    items: tuple[tuple[int, int], ...]  # (index of the push, the id WooCommerce knows it by)

    @property
    def path(self) -> str:
        if self.parent_id is None:
            return "/products/batch"
        return f"/products/{self.parent_id}/variations/batch"


def plan_batches(
    pushes: Sequence[Push | PricePush], limit: int = BATCH_LIMIT
) -> tuple[list[BatchCall], dict[int, str]]:
    """Group pushes into batch calls (simple products together, variations per parent, `limit` each).

    Returns the calls, in the order the pushes first name them, and the pushes that cannot be sent
    (index -> why). Order within a call is the pushes' order, so a repeated listing ends at its last value.
    """
    groups: dict[int | None, list[tuple[int, int]]] = {}
    refused: dict[int, str] = {}
    for index, push in enumerate(pushes):
        listing = parse_listing_id(push.listing_id)
        if listing is None:
            refused[index] = "invalid listing id: expected {product_id} or {product_id}/{variation_id}"
            continue
        if listing.variation_id is None:
            groups.setdefault(None, []).append((index, listing.product_id))
        else:
            groups.setdefault(listing.product_id, []).append((index, listing.variation_id))
    calls = [
        BatchCall(parent, tuple(items[start : start + limit]))
        for parent, items in groups.items()
        for start in range(0, len(items), limit)
    ]
    return calls, refused


def _error_text(document: Any) -> str:
    """WooCommerce's `{"code", "message"}` as `code: message`."""
    if isinstance(document, Mapping):
        code, message = document.get("code"), document.get("message")
        if isinstance(code, str) or isinstance(message, str):
            return f"{code}: {message}"
    return "no WooCommerce error body"


class WooCommerceChannel:
    """A WooCommerce shop, spoken to through REST v3 (see the module's docstring)."""

    def __init__(
        self,
        config: ChannelConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 10,
        throttle: ThrottlePolicy = DEFAULT_THROTTLE,
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._timeout = timeout
        self._throttle = throttle
        self._base = config.url.rstrip("/") + API_PATH

    @property
    def batch_limit(self) -> int:
        return BATCH_LIMIT

    def push(self, pushes: Sequence[Push]) -> list[Pushed]:
        calls, refused = plan_batches(pushes)
        results: dict[int, Pushed] = {
            i: Pushed(pushes[i].listing_id, "rejected", None, why) for i, why in refused.items()
        }
        for call in calls:
            update = [
                {"id": item_id, "manage_stock": True, "stock_quantity": pushes[i].quantity}
                for i, item_id in call.items
            ]
            answer = self._json("POST", call.path, body={"update": update})
            answered = answer.get("update") if isinstance(answer, Mapping) else None
            if not isinstance(answered, list) or len(answered) != len(call.items):
                raise ChannelError(f"POST {call.path}: the answer does not list one result per update")
            for (index, item_id), item in zip(call.items, answered, strict=True):
                results[index] = self._pushed(pushes[index], item_id, item)
        return [results[i] for i in range(len(pushes))]

    @staticmethod
    def _pushed(push: Push, item_id: int, item: Any) -> Pushed:
        if not isinstance(item, Mapping):
            return Pushed(push.listing_id, "rejected", None, "the answer's item is not an object")
        if "error" in item:
            return Pushed(push.listing_id, "rejected", None, _error_text(item["error"]))
        if item.get("id") != item_id:
            return Pushed(push.listing_id, "rejected", None, f"the answer names id {item.get('id')!r}")
        shown = item.get("stock_quantity")
        if not isinstance(shown, int) or isinstance(shown, bool):
            # WooCommerce keeps no count when the shop's stock management is off: nothing was set.
            return Pushed(
                push.listing_id,
                "rejected",
                None,
                "stock_quantity is not kept: stock management is off on the shop",
            )
        return Pushed(push.listing_id, "acknowledged", shown)

    @property
    def price_batch_limit(self) -> int:
        return BATCH_LIMIT

    def push_prices(self, pushes: Sequence[PricePush]) -> list[PricePushed]:
        """Regular and sale price per listing, batched as `push` batches quantities."""
        results: dict[int, PricePushed] = {}
        valid: list[int] = []
        for index, p in enumerate(pushes):
            why = price_refusal(p)
            if why is None:
                valid.append(index)
            else:
                results[index] = PricePushed(p.listing_id, "rejected", why)
        calls, refused = plan_batches([pushes[i] for i in valid])
        for index, why in refused.items():
            results[valid[index]] = PricePushed(pushes[valid[index]].listing_id, "rejected", why)
        for call in calls:
            items = [(valid[index], item_id) for index, item_id in call.items]
            update = [{"id": item_id, **_price_fields(pushes[index])} for index, item_id in items]
            answer = self._json("POST", call.path, body={"update": update})
            answered = answer.get("update") if isinstance(answer, Mapping) else None
            if not isinstance(answered, list) or len(answered) != len(items):
                raise ChannelError(f"POST {call.path}: the answer does not list one result per update")
            for (index, item_id), item in zip(items, answered, strict=True):
                results[index] = _price_pushed(pushes[index], item_id, item)
        return [results[i] for i in range(len(pushes))]

    def read(self, listing_ids: Sequence[str]) -> Mapping[str, int | None]:
        """What the shop shows; None for a listing it does not know, or whose stock it does not manage."""
        wanted: dict[int | None, list[int]] = {}
        shown: dict[str, int | None] = {listing_id: None for listing_id in listing_ids}
        for listing_id in listing_ids:
            listing = parse_listing_id(listing_id)
            if listing is None:
                continue
            if listing.variation_id is None:
                wanted.setdefault(None, []).append(listing.product_id)
            else:
                wanted.setdefault(listing.product_id, []).append(listing.variation_id)
        for parent, ids in wanted.items():
            unique = sorted(set(ids))
            for start in range(0, len(unique), BATCH_LIMIT):
                page = unique[start : start + BATCH_LIMIT]
                path = "/products" if parent is None else f"/products/{parent}/variations"
                query = {"include": ",".join(map(str, page)), "per_page": str(len(page))}
                found = self._json("GET", path, query=query)
                for item in found if isinstance(found, list) else []:
                    if not isinstance(item, Mapping) or not isinstance(item.get("id"), int):
                        continue
                    listing_id = str(
                        WooListing(item["id"]) if parent is None else WooListing(parent, item["id"])
                    )
                    if listing_id in shown:
                        shown[listing_id] = _managed_quantity(item)
        return shown

    def _json(
        self, method: str, path: str, *, body: Any = None, query: Mapping[str, str] | None = None
    ) -> Any:
        url = self._base + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Authorization": self._authorization(url), "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        answer = with_throttle_waits(
            lambda: send(url, method=method, headers=headers, body=data, timeout=self._timeout),
            sleep=self._sleep,
            policy=self._throttle,
        )
        return self._document(method, url, answer)

    def _authorization(self, url: str) -> str:
        key, colon, secret = self._config.token.partition(":")
        if not (key and colon and secret):
            raise Unauthorized(f"channel {self._config.name}: the token must be consumer_key:consumer_secret")
        parts = urlsplit(url)
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK_HOSTS:
            raise Unauthorized(
                f"channel {self._config.name}: WooCommerce takes keys only over https, not {parts.scheme}"
            )
        return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()

    @staticmethod
    def _document(method: str, url: str, answer: Answer) -> Any:
        try:
            document = json.loads(answer.body) if answer.body else None
        except ValueError:
            document = None
        said = f"{method} {where(url)}: HTTP {answer.status}"
        if answer.status in (401, 403):
            raise Unauthorized(f"{said} {_error_text(document)}")
        if answer.status >= 500:
            raise Unavailable(f"{said} {_error_text(document)}")
        if 300 <= answer.status < 400:
            raise ChannelError(
                f"{said}: redirected to {answer.header('Location')}; set the channel's url to it"
            )
        if answer.status != 200:
            # 404 rest_no_route (not WooCommerce, or no pretty permalinks), 413 too many items, 400...:
            # the channel's setup or this adapter is wrong; retrying the same request will not help.
            raise ChannelError(f"{said} {_error_text(document)}")
        if document is None:
            # A 200 that is not JSON: a cache or WAF page, or PHP notices before the JSON.
            raise Unavailable(f"{said} but the body is not JSON")
        return document


def _managed_quantity(item: Mapping[str, Any]) -> int | None:
    quantity = item.get("stock_quantity")
    if item.get("manage_stock") is False or not isinstance(quantity, int) or isinstance(quantity, bool):
        return None
    return quantity


def _price_fields(push: PricePush) -> dict[str, str]:
    """A cut: the prior price struck through, the new one as the sale price; else no sale."""
    if push.was is not None:
        return {"regular_price": money_text(push.was), "sale_price": money_text(push.price)}
    return {"regular_price": money_text(push.price), "sale_price": ""}


def _price_pushed(push: PricePush, item_id: int, item: Any) -> PricePushed:
    if not isinstance(item, Mapping):
        return PricePushed(push.listing_id, "rejected", "the answer's item is not an object")
    if "error" in item:
        return PricePushed(push.listing_id, "rejected", _error_text(item["error"]))
    if item.get("id") != item_id:
        return PricePushed(push.listing_id, "rejected", f"the answer names id {item.get('id')!r}")
    shown = item.get("price")
    try:
        sells_at = Decimal(shown) if isinstance(shown, str) and shown else None
    except InvalidOperation:
        sells_at = None
    if sells_at != push.price:
        return PricePushed(
            push.listing_id,
            "rejected",
            f"the shop sells at {shown!r}, not {money_text(push.price)} (a sale scheduled in its admin?)",
        )
    return PricePushed(push.listing_id, "acknowledged")
