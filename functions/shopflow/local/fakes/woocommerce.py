"""A fake WooCommerce REST v3 shop on 127.0.0.1, for the adapter's tests and `shopflow local`.

It answers as channel_apis.md section 2 documents WooCommerce (sources W1-W9 there):

- Auth: the consumer key and secret as HTTP Basic, or as `consumer_key`/`consumer_secret` query
  parameters. A real shop takes these only over HTTPS (over plain HTTP it wants OAuth 1.0a); the
  fake serves plain HTTP on loopback and behaves as a shop behind TLS, so it takes them as is.
  An unknown key leaves the request unauthenticated: 401 with the route's permission error
  (`woocommerce_rest_cannot_batch`, `_cannot_view`, `_cannot_edit`); a known key with a wrong
  secret: 401 `woocommerce_rest_authentication_error` "Consumer secret is invalid." and a
  `WWW-Authenticate: Basic` header.
- `GET /products/{id}`, `GET /products/{id}/variations/{vid}` (404 `..._invalid_id` "Invalid ID."),
  `GET /products` and `GET /products/{id}/variations` with `include`, `per_page` (at most 100),
  `page`, and the `X-WP-Total` / `X-WP-TotalPages` headers.
- `PUT /products/{id}` and `PUT /products/{id}/variations/{vid}` (400 `..._invalid_id` when unknown).
- `POST /products/batch` and `POST /products/{id}/variations/batch`: more than 100 items in
  create + update + delete together -> 413 `woocommerce_rest_request_entity_too_large` and no
  effect; otherwise each update applies on its own and the 200 lists, in order, the full object
  or `{"id", "error": {"code", "message", "data": {"status"}}}`. Only updates are implemented.
- Stock: `stock_quantity` is set only when stock is managed (the shop's option and the item's
  `manage_stock` after the update); `stock_status` follows it. A value that is not a number is
  taken as PHP's intval would take it (WooCommerce's `wc_stock_amount`), as the real batch does.
- Prices: `regular_price` and `sale_price` are strings (anything else is a 400
  `rest_invalid_param` for that item); `sale_price: ""` ends a sale. The read-only `price` is the
  sale price while it is below the regular one, else the regular price; `on_sale` says which.
- Faults (host or WAF, since WooCommerce itself has no rate limit on wc/v3): 429 with or without
  `Retry-After`, 503 for the next N requests, down (connection refused), slow answers.

Test hooks are Python methods (never HTTP): see `FakeWooCommerce`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from base64 import b64decode
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shopflow.local.fakes.server import HOST, LocalServer

API = "/wp-json/wc/v3"
BATCH_LIMIT = 100
DEFAULT_KEY = "ck_fake0000000000000000000000000000000000"
DEFAULT_SECRET = "cs_fake0000000000000000000000000000000000"  # noqa: S105 - the fake shop's own key
DEFAULT_PRICE = "49.99"  # what a new product sells at until shopflow pushes a price
_DECIMAL = re.compile(r"-?[0-9]*\.?[0-9]+")


@dataclass
class Item:
    """A product or a variation, with the fields stock sync touches."""

    id: int
    sku: str
    manage_stock: bool
    stock_quantity: int | None
    regular_price: str
    parent_id: int = 0
    type: str = "simple"
    sale_price: str = ""

    @property
    def on_sale(self) -> bool:
        """WooCommerce's is_on_sale: a sale price below the regular one (no scheduled dates here)."""
        if not (self.sale_price and self.regular_price):
            return False
        return Decimal(self.sale_price) < Decimal(self.regular_price)

    @property
    def price(self) -> str:
        """The read-only effective price a shopper pays."""
        return self.sale_price if self.on_sale else self.regular_price

    def as_json(self) -> dict[str, Any]:
        in_stock = not self.manage_stock or (self.stock_quantity or 0) > 0
        document: dict[str, Any] = {
            "id": self.id,
            "sku": self.sku,
            "manage_stock": self.manage_stock,
            "stock_quantity": self.stock_quantity if self.manage_stock else None,
            "stock_status": "instock" if in_stock else "outofstock",
            "backorders": "no",
            "regular_price": self.regular_price,
            "sale_price": self.sale_price,
            "price": self.price,
            "on_sale": self.on_sale,
        }
        if self.parent_id:
            document["parent_id"] = self.parent_id
        else:
            document["type"] = self.type
            document["name"] = self.sku or f"Product {self.id}"
            document["status"] = "publish"
        return document


@dataclass
class Seen:
    """One request as the fake received it, and the status it answered (None while answering)."""

    method: str
    path: str  # below /wp-json/wc/v3
    query: dict[str, list[str]]
    body: Any
    status: int | None = None


@dataclass
class _Faults:
    unavailable: int = 0  # answer the next N requests with this status
    unavailable_status: int = 503
    throttled: int = 0  # answer the next N requests 429
    retry_after: str | None = "1"
    delay: float = 0.0  # seconds before every answer
    failing: dict[tuple[int, int], tuple[str, str, int]] = field(default_factory=dict)


def intval(value: Any) -> int:
    """PHP's intval for what JSON carries: 7 -> 7, "7" -> 7, 7.9 -> 7, "abc" -> 0, true -> 1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        match = re.match(r"\s*([+-]?[0-9]+)", value)
        return int(match.group(1)) if match else 0
    return 0


class FakeWooCommerce:
    """The shop and its test hooks. Use as a context manager, or `start()` / `stop()`.

    Listing ids are shopflow's: `"12"` for product 12, `"12/34"` for its variation 34.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        consumer_key: str = DEFAULT_KEY,
        consumer_secret: str = DEFAULT_SECRET,
        shop_manages_stock: bool = True,
    ) -> None:
        self.consumer_key = consumer_key  # the key the shop accepts (revoke_key changes it)
        self.consumer_secret = consumer_secret
        self._issued = f"{consumer_key}:{consumer_secret}"  # what the owner copied into shopflow
        self.shop_manages_stock = shop_manages_stock  # the store option woocommerce_manage_stock
        self._lock = threading.RLock()
        self._items: dict[tuple[int, int], Item] = {}  # (product, 0) or (product, variation)
        self._seen: list[Seen] = []
        self._faults = _Faults()
        self._http = LocalServer("fake-woocommerce", port)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeWooCommerce:
        fake = self

        class Handler(_Handler):
            shop = fake

        self._http.start(Handler)  # a restart (come_back) keeps the port
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> FakeWooCommerce:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The site's root, as `channels.<name>.url` holds it."""
        return f"http://{HOST}:{self._http.port}"

    @property
    def token(self) -> str:
        """`consumer_key:consumer_secret` as issued, as `channels.<name>.token` holds it."""
        return self._issued

    # -- the catalogue -----------------------------------------------------------------------

    def add_product(
        self, product_id: int, *, sku: str = "", stock: int | None = None, manage_stock: bool = True,
        price: str = DEFAULT_PRICE, variable: bool = False, sale_price: str = "",
    ) -> None:  # fmt: skip
        """A product selling at `price` (its regular price), or at `sale_price` when that is lower."""
        with self._lock:
            self._items[(product_id, 0)] = Item(
                product_id, sku, manage_stock, stock, price, type="variable" if variable else "simple",
                sale_price=sale_price,
            )  # fmt: skip

    def add_variation(
        self, product_id: int, variation_id: int, *, sku: str = "", stock: int | None = None,
        manage_stock: bool = True, price: str = DEFAULT_PRICE,
    ) -> None:  # fmt: skip
        with self._lock:
            if (product_id, 0) not in self._items:
                self.add_product(product_id, variable=True, manage_stock=False)
            self._items[(product_id, variation_id)] = Item(
                variation_id, sku, manage_stock, stock, price, parent_id=product_id
            )

    def stock(self, listing_id: str) -> int | None:
        """What the shop shows for a listing: None if it keeps no count (or does not know it)."""
        with self._lock:
            item = self._items.get(_key(listing_id))
            return None if item is None or not item.manage_stock else item.stock_quantity

    def item(self, listing_id: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(_key(listing_id))
            return None if item is None else item.as_json()

    def prices(self, listing_id: str) -> dict[str, str] | None:
        """What a shopper sees: `regular_price`, `sale_price` ("" when none) and the `price` paid."""
        with self._lock:
            item = self._items.get(_key(listing_id))
            if item is None:
                return None
            return {"regular_price": item.regular_price, "sale_price": item.sale_price, "price": item.price}

    def listing(self, listing_id: str) -> dict[str, Any] | None:
        """What the shop shows for a listing: its `stock_quantity` (None: no count kept) and prices."""
        with self._lock:
            prices = self.prices(listing_id)
            return None if prices is None else {"stock_quantity": self.stock(listing_id), **prices}

    def sell(self, listing_id: str, units: int = 1) -> None:
        """A storefront order: WooCommerce reduces the stock itself, out of band (last write wins)."""
        with self._lock:
            item = self._items[_key(listing_id)]
            item.stock_quantity = (item.stock_quantity or 0) - units

    # -- what it received --------------------------------------------------------------------

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._seen)

    def reset_requests(self) -> None:
        with self._lock:
            self._seen.clear()

    def take_answered(self) -> list[Seen]:
        """The requests answered so far, in order, forgotten here (those still being answered stay)."""
        with self._lock:
            answered = [seen.status is not None for seen in self._seen]
            taken = self._seen[: answered.index(False) if False in answered else len(answered)]
            del self._seen[: len(taken)]
            return taken

    # -- faults ------------------------------------------------------------------------------

    def go_down(self) -> None:
        """Stop listening: connections are refused until `come_back()`."""
        self.stop()

    def come_back(self) -> None:
        self.start()

    @contextmanager
    def down(self) -> Iterator[None]:
        self.go_down()
        try:
            yield
        finally:
            self.come_back()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` requests with `status` (a host's 5xx page), before auth."""
        with self._lock:
            self._faults.unavailable, self._faults.unavailable_status = count, status

    def throttle(self, count: int, retry_after: str | None = "1") -> None:
        """Answer the next `count` requests 429, with `Retry-After: retry_after` (None: no header)."""
        with self._lock:
            self._faults.throttled, self._faults.retry_after = count, retry_after

    def heal(self) -> None:
        """Forget the 5xx answers, 429s and slowness still pending (refused items stay refused)."""
        with self._lock:
            self._faults.unavailable = self._faults.throttled = 0
            self._faults.delay = 0.0

    def slow(self, seconds: float) -> None:
        """Wait this long before every answer (0: stop), to make a client time out."""
        with self._lock:
            self._faults.delay = seconds

    def revoke_key(self) -> None:
        """The owner deleted the API key: the key shopflow holds is unknown from now on."""
        with self._lock:
            self.consumer_key = "ck_revoked"

    def issue_key(self, consumer_key: str, consumer_secret: str) -> str:
        """The owner creates a new REST API key: the shop accepts it from now on (and only it);
        returns it as `channels.<name>.token` holds it."""
        with self._lock:
            self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
            self._issued = f"{consumer_key}:{consumer_secret}"
            return self._issued

    def fail_item(
        self, listing_id: str, *, code: str = "woocommerce_rest_cannot_edit",
        message: str = "Sorry, you are not allowed to edit this resource.", status: int = 403,
    ) -> None:  # fmt: skip
        """Every update of this listing fails inside the batch (as a per-item permission failure does)."""
        with self._lock:
            self._faults.failing[_key(listing_id)] = (code, message, status)

    # -- the API (called by the handler, under the lock) --------------------------------------

    def _answer(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        path = parts.path.removeprefix(API) if parts.path.startswith(API + "/") else parts.path
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
        seen = Seen(method, path, query, document)
        with self._lock:
            self._seen.append(seen)
        answer = self._respond(seen, parts.path, headers)
        seen.status = answer[0]
        return answer

    def _respond(self, seen: Seen, full_path: str, headers: Any) -> tuple[int, dict[str, str], Any]:
        method, path, query, document = seen.method, seen.path, seen.query, seen.body
        with self._lock:
            delay = self._faults.delay
            if self._faults.unavailable > 0:
                self._faults.unavailable -= 1
                return self._faults.unavailable_status, {}, "<html><body>Service Unavailable</body></html>"
            if self._faults.throttled > 0:
                self._faults.throttled -= 1
                extra = {} if self._faults.retry_after is None else {"Retry-After": self._faults.retry_after}
                return 429, extra, "<html><body>Too Many Requests</body></html>"
        if delay:
            time.sleep(delay)
        route = _route_of(method, path) if full_path.startswith(API + "/") else None
        if route is None:
            return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
        with self._lock:
            denied = self._authenticate(route, headers, query)
            if denied is not None:
                return denied
            if route.action == "batch":
                return self._batch(route.product if route.variations else None, document)
            if route.action == "list":
                return self._list(route.product if route.variations else None, query)
            assert route.product is not None
            if route.action == "get":
                return self._get_one(route.product, route.variation)
            fields = document if isinstance(document, dict) else {}
            status, item = self._update(route.product, route.variation, fields)
            return (200, {}, item) if status == 200 else _error(status, item["code"], item["message"])

    def _authenticate(
        self, route: _Route, headers: Any, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], Any] | None:
        key, secret = (query.get("consumer_key") or [""])[0], (query.get("consumer_secret") or [""])[0]
        if not (key and secret):
            scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "basic":
                try:
                    key, _, secret = b64decode(credentials, validate=True).decode().partition(":")
                except ValueError:
                    key, secret = "", ""
        if key and secret and key == self.consumer_key:
            if secret == self.consumer_secret:
                return None
            status, extra, body = _error(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )
            return status, {**extra, "WWW-Authenticate": _BASIC_REALM}, body
        # No key WooCommerce knows: the request runs unauthenticated; the route's permission check refuses it.
        return _error(401, *_NOT_ALLOWED[route.action])

    def _get_one(self, product: int, variation: int | None) -> tuple[int, dict[str, str], Any]:
        item = self._items.get((product, variation or 0))
        if item is None:
            kind = "product" if variation is None else "product_variation"
            return _error(404, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")
        return 200, {}, item.as_json()

    def _list(self, parent: int | None, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        include = {intval(i) for v in query.get("include", []) for i in v.split(",") if i.strip()}
        per_page, page = intval((query.get("per_page") or ["10"])[0]), intval((query.get("page") or ["1"])[0])
        if not 1 <= per_page <= 100 or page < 1:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page, page")
        if parent is None:
            items = [i for (p, v), i in sorted(self._items.items()) if v == 0]
        else:
            items = [i for (p, v), i in sorted(self._items.items()) if p == parent and v != 0]
        if include:
            items = [i for i in items if i.id in include]
        pages = max(1, -(-len(items) // per_page))
        shown = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        return 200, headers, [i.as_json() for i in shown]

    def _batch(self, parent: int | None, document: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(document, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        total = sum(len(document.get(k) or []) for k in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            message = f"Unable to accept more than {BATCH_LIMIT} items for this request."
            return _error(413, "woocommerce_rest_request_entity_too_large", message)
        answered: dict[str, list[Any]] = {}
        for update in document.get("update") or []:
            fields = update if isinstance(update, dict) else {}
            item_id = intval(fields.get("id"))
            status, result = (
                self._update(item_id, None, fields)
                if parent is None
                else self._update(parent, item_id, fields)
            )
            if status != 200:
                # WooCommerce echoes the id as sent, and the error's data holds its status.
                result = {"id": fields.get("id"), "error": {**result, "data": {"status": status}}}
            answered.setdefault("update", []).append(result)
        return 200, {}, answered

    def _update(
        self, product: int, variation: int | None, fields: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """PUT one product (`variation` None) or one variation; (400, error) for an unknown id."""
        key = (product, 0 if variation is None else variation)
        item = self._items.get(key) if product > 0 and variation != 0 else None
        if item is None:
            kind = "product" if variation is None else "product_variation"
            return 400, {"code": f"woocommerce_rest_{kind}_invalid_id", "message": "Invalid ID."}
        failing = self._faults.failing.get(key)
        if failing is not None:
            code, message, status = failing
            return status, {"code": code, "message": message}
        wrong = [
            name
            for name in ("regular_price", "sale_price")
            if name in fields and not isinstance(fields[name], str)
        ]
        if wrong:  # the REST schema's type check, before anything is saved
            return 400, {"code": "rest_invalid_param", "message": f"Invalid parameter(s): {', '.join(wrong)}"}
        if "manage_stock" in fields:
            item.manage_stock = fields["manage_stock"] not in (False, "no", "false", 0, None)
        if item.manage_stock and self.shop_manages_stock and fields.get("stock_quantity") is not None:
            item.stock_quantity = intval(fields["stock_quantity"])
        for name in ("regular_price", "sale_price"):
            if name in fields:  # wc_format_decimal: a number as given, anything else ""
                value = fields[name].strip()
                setattr(item, name, value if _DECIMAL.fullmatch(value) else "")
        return 200, item.as_json()


@dataclass(frozen=True)
class _Route:
    action: str  # list | get | update | batch
    product: int | None = None
    variation: int | None = None
    variations: bool = False  # under /products/{id}/variations


def _route_of(method: str, path: str) -> _Route | None:
    """The route a wc/v3 path and method name; None where WordPress answers rest_no_route."""
    writes = method in ("POST", "PUT", "PATCH")
    match path.strip("/").split("/"):
        case ["products"] if method == "GET":
            return _Route("list")
        case ["products", "batch"] if writes:
            return _Route("batch")
        case ["products", product] if product.isdigit() and (method == "GET" or writes):
            return _Route("get" if method == "GET" else "update", int(product))
        case ["products", product, "variations"] if product.isdigit() and method == "GET":
            return _Route("list", int(product), variations=True)
        case ["products", product, "variations", "batch"] if product.isdigit() and writes:
            return _Route("batch", int(product), variations=True)
        case ["products", product, "variations", variation] if (
            product.isdigit() and variation.isdigit() and (method == "GET" or writes)
        ):
            return _Route(
                "get" if method == "GET" else "update", int(product), int(variation), variations=True
            )
    return None


_BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field'
    ' and a consumer secret in the password field."'
)
_NOT_ALLOWED = {
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "get": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "update": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
}


def _key(listing_id: str) -> tuple[int, int]:
    product, _, variation = listing_id.partition("/")
    return int(product), int(variation or 0)


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"code": code, "message": message, "data": {"status": status}}


class _Handler(BaseHTTPRequestHandler):
    shop: FakeWooCommerce
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, document = self.shop._answer(self.command, self.path, self.headers, body)
        if isinstance(document, str):
            payload, content_type = document.encode(), "text/html; charset=UTF-8"
        else:
            payload, content_type = json.dumps(document).encode(), "application/json; charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests count requests through the hooks
