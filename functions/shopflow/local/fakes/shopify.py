"""A local fake of Shopify's Admin GraphQL API: the inventory part shopflow's channel sync uses.

It answers `POST /admin/api/{version}/graphql.json` on 127.0.0.1 as the research notes
(shared/research/channel_apis.md §1) document Shopify answering, executing the request with
graphql-core against an SDL copied from the part of Shopify's schema shopflow sends, so an
adapter that passes here sends queries any faithful server accepts:

- `X-Shopify-Access-Token` is checked: a wrong one gets Shopify's 401 body.
- `inventorySetQuantities` sets `available` (moving `on_hand` by the same delta) or `on_hand`
  for (item, location) rows, all or nothing: any user error (`CHANGE_FROM_QUANTITY_STALE`,
  `INVALID_INVENTORY_ITEM`, `ITEM_NOT_STOCKED_AT_LOCATION`, ...) applies no row.
- The API version in the path decides the compare-and-set fields (`compareQuantity` up to
  2026-01, `changeFromQuantity` from 2026-01, mandatory from 2026-04) and `@idempotent(key:)`
  (undefined before 2026-01, optional in 2026-01, required from 2026-04). A key replays its first
  result for the same variables, answers `IDEMPOTENCY_KEY_PARAMETER_MISMATCH` for others, and is
  kept 24 h of the fake's clock.
- Every answer carries `extensions.cost`; a leaky bucket (size and restore rate configurable, the
  clock injectable) answers `THROTTLED` when a query's requested cost exceeds what is left;
  a query above 1000 points gets `MAX_COST_EXCEEDED`, an input array above 250 items
  `MAX_INPUT_SIZE_EXCEEDED`.
- Prices: each inventory item belongs to a variant of a product (their ids differ, as Shopify's
  do); `productVariantsBulkUpdate(productId, variants, allowPartialUpdates)` sets variants' `price`
  and `compareAtPrice` (Money strings; `null` clears it) for one product, all or nothing unless
  `allowPartialUpdates`, with Shopify's user errors (`PRODUCT_DOES_NOT_EXIST`,
  `PRODUCT_VARIANT_DOES_NOT_EXIST`, `MUST_BE_FOR_THIS_PRODUCT`, `NEGATIVE_PRICE_VALUE`,
  `NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE`, ...) at `["variants", "<index>", "<field>"]`.
  `shop { currencyCode }` answers the shop's currency.

Cost model (Shopify's published rules, simplified where they are silent): scalars and enums 0,
objects 1, a connection `2 + first x (its nodes' cost)`, `nodes(ids:)` one node per id, a
mutation field 10 (its payload not counted). The actual cost equals the requested one.

Test hooks are Python methods, not HTTP: `add_item`, `set_available`, `quantities`, `sell`,
`prices`, `listing`, `refuse_variant`,
`sell_before_next_write`, `go_down`/`come_back`, `fail_next`, `delay_next`, `moved_to`,
`set_bucket`, and the counters
`requests`/`calls`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from shopflow.local.fakes.server import HOST, LocalServer

DEFAULT_TOKEN = "shpat_fake_local_token"  # noqa: S105 - the fake's own test token
MAX_QUERY_COST = 1000
MAX_INPUT_ARRAY = 250
MUTATION_COST = 10
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
QUANTITY_NAMES = ("available", "on_hand", "committed", "reserved", "incoming", "damaged", "quality_control")
REASONS = {
    "correction": "Inventory correction",
    "cycle_count_available": "Cycle count",
    "damaged": "Damaged",
    "movement_created": "Movement created",
    "movement_updated": "Movement updated",
    "movement_received": "Movement received",
    "movement_canceled": "Movement canceled",
    "other": "Other",
    "promotion": "Promotion or donation",
    "quality_control": "Quality control",
    "received": "Inventory received",
    "reservation_created": "Reservation created",
    "reservation_deleted": "Reservation deleted",
    "reservation_updated": "Reservation updated",
    "restock": "Restock",
    "safety_stock": "Safety stock",
    "shrinkage": "Shrinkage",
}
_ITEM_GID = re.compile(r"gid://shopify/InventoryItem/(\d+)")
_LOCATION_GID = re.compile(r"gid://shopify/Location/(\d+)")
_VARIANT_GID = re.compile(r"gid://shopify/ProductVariant/(\d+)")
_PRODUCT_GID = re.compile(r"gid://shopify/Product/(\d+)")
_MONEY = re.compile(r"-?\d+(\.\d+)?")
DEFAULT_PRICE = "49.99"  # what a new listing sells at until shopflow pushes a price
VARIANT_ID_OFFSET = 1_000_000_000  # a variant's default id: its item's plus this (Shopify's ids differ)
PRODUCT_ID_OFFSET = 2_000_000_000  # a product's default id: its first item's plus this
_VERSION = re.compile(r"/admin/api/(\d{4}-\d{2})/graphql\.json")
UNAUTHORIZED_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
THROTTLED_ERROR = {
    "message": "Throttled",
    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
}


def _sdl(version: str) -> str:
    """Shopify's schema, the part shopflow uses, as `version` defines it (research §1.2)."""
    cas_fields = ""
    if version <= "2026-01":
        cas_fields += "  compareQuantity: Int\n"
    if version >= "2026-01":
        cas_fields += "  changeFromQuantity: Int\n"
    ignore_compare = "  ignoreCompareQuantity: Boolean = false\n" if version <= "2026-01" else ""
    directive = "directive @idempotent(key: String!) on FIELD\n" if version >= "2026-01" else ""
    return (
        directive
        + """
scalar DateTime

interface Node { id: ID! }

type Location implements Node { id: ID! name: String! }

type InventoryQuantity implements Node { id: ID! name: String! quantity: Int! updatedAt: DateTime }

type InventoryLevel implements Node {
  id: ID!
  item: InventoryItem!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type InventoryLevelEdge { cursor: String! node: InventoryLevel! }

type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }

type InventoryItem implements Node {
  id: ID!
  sku: String
  tracked: Boolean!
  inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels(first: Int, after: String, last: Int, before: String): InventoryLevelConnection!
  variant: ProductVariant!
}

scalar Money

enum CurrencyCode { AUD CAD CHF CZK DKK EUR GBP HUF JPY NOK PLN RON SEK USD }

type Shop { id: ID! name: String! currencyCode: CurrencyCode! }

type Product implements Node { id: ID! title: String! }

type ProductVariant implements Node {
  id: ID!
  sku: String
  price: Money!
  compareAtPrice: Money
  product: Product!
  inventoryItem: InventoryItem!
}

type Query {
  shop: Shop!
  product(id: ID!): Product
  productVariant(id: ID!): ProductVariant
  inventoryItem(id: ID!): InventoryItem
  location(id: ID): Location
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
"""
        + cas_fields
        + """}

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
"""
        + ignore_compare
        + """}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  item: InventoryItem
  location: Location
  ledgerDocumentUri: String
}

type InventoryAdjustmentGroup implements Node {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChange!]!
}

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE
  COMPARE_QUANTITY_REQUIRED
  COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED
  INVALID_INVENTORY_ITEM
  INVALID_LOCATION
  INVALID_NAME
  INVALID_QUANTITY_NEGATIVE
  INVALID_QUANTITY_TOO_HIGH
  INVALID_REASON
  INVALID_REFERENCE_DOCUMENT
  ITEM_NOT_STOCKED_AT_LOCATION
  NON_MUTABLE_INVENTORY_ITEM
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

enum ProductVariantInventoryPolicy { CONTINUE DENY }

input InventoryLevelInput { availableQuantity: Int! locationId: ID! }

input ProductVariantsBulkInput {
  id: ID
  price: Money
  compareAtPrice: Money
  inventoryPolicy: ProductVariantInventoryPolicy
  taxable: Boolean
  inventoryQuantities: [InventoryLevelInput!]
}

enum ProductVariantsBulkUpdateUserErrorCode {
  GREATER_THAN_OR_EQUAL_TO
  INVALID_INPUT
  MUST_BE_FOR_THIS_PRODUCT
  NEGATIVE_PRICE_VALUE
  NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE
  PRODUCT_DOES_NOT_EXIST
  PRODUCT_SUSPENDED
  PRODUCT_VARIANT_DOES_NOT_EXIST
  PRODUCT_VARIANT_ID_MISSING
}

type ProductVariantsBulkUpdateUserError {
  code: ProductVariantsBulkUpdateUserErrorCode
  field: [String!]
  message: String!
}

type ProductVariantsBulkUpdatePayload {
  product: Product
  productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productVariantsBulkUpdate(
    productId: ID!, variants: [ProductVariantsBulkInput!]!, allowPartialUpdates: Boolean = false
  ): ProductVariantsBulkUpdatePayload
}
"""
    )


_SCHEMAS: dict[str, GraphQLSchema] = {}


def schema_for(version: str) -> GraphQLSchema:
    """The fake's schema for an API version (three shapes: before, at and after 2026-01)."""
    shape = "2025-10" if version < "2026-01" else "2026-01" if version < "2026-04" else "2026-04"
    if shape not in _SCHEMAS:
        schema = build_schema(_sdl(shape))
        money = schema.type_map["Money"]
        assert isinstance(money, GraphQLScalarType)
        # Variables are coerced by `coerce_input_value` (graphql-core 3.3), `parse_value` before it.
        money.parse_value = money.coerce_input_value = _parse_money  # type: ignore[method-assign]
        _SCHEMAS[shape] = schema
    return _SCHEMAS[shape]


def _parse_money(value: Any) -> str:
    """Shopify's Money input: a decimal string such as "19.99" (no currency, no exponent)."""
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise GraphQLError(f'Money must be a decimal string such as "19.99", not {json.dumps(value)}')
    return value


class ManualClock:
    """A clock tests move by hand: the leaky bucket refills as it advances (seconds)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Call:
    """One HTTP request the fake answered (what tests count)."""

    status: int
    operation: str  # "mutation", "query", or "" when refused before parsing
    requested_cost: int | None = None
    throttled: bool = False
    rows: int = 0  # inventorySetQuantities rows in the request
    prices: int = 0  # productVariantsBulkUpdate variants in the request
    answered: bool = False  # the fields above are final


@dataclass
class _Idempotent:
    params: str
    created_at: float
    result: dict[str, Any] | None = None  # None while the first call is in progress


@dataclass
class _Bucket:
    size: float
    restore_rate: float
    available: float
    updated_at: float

    def refill(self, now: float) -> None:
        self.available = min(self.size, self.available + max(0.0, now - self.updated_at) * self.restore_rate)
        self.updated_at = now

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.size,
            "currentlyAvailable": self.available,
            "restoreRate": self.restore_rate,
        }


class _GraphQLFailure(Exception):
    """A request answered with top-level `errors` (status 200) before execution."""

    def __init__(self, errors: list[dict[str, Any]], cost: int | None = None) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors
        self.cost = cost


@dataclass
class _Item:
    sku: str
    variant_id: int
    product_id: int
    price: str = DEFAULT_PRICE
    compare_at_price: str | None = None
    tracked: bool = True
    refused: tuple[str, str] | None = None  # (code, message): every price update of it fails so


@dataclass
class _State:
    items: dict[int, _Item] = field(default_factory=dict)
    products: dict[int, str] = field(default_factory=dict)  # id -> title
    levels: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    locations: dict[int, str] = field(default_factory=dict)


class FakeShopify:
    """Shopify's Admin GraphQL inventory API on 127.0.0.1, with hooks to inject faults."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        location_id: int = 1,
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        bucket_size: float = 2000.0,
        restore_rate: float = 100.0,
        throttled_status: int = 200,
        currency: str = "USD",
    ) -> None:
        self.token = token
        self.currency = currency  # the shop's currency (`shop { currencyCode }`)
        self.location_id = location_id
        self.throttled_status = throttled_status  # the docs do not pin it (research §1.5)
        self._clock = clock
        self._lock = threading.RLock()
        self._state = _State(locations={location_id: "Shop location"})
        self._bucket = _Bucket(bucket_size, restore_rate, bucket_size, clock())
        self._usual_bucket = (bucket_size, restore_rate)
        self._keys: dict[str, _Idempotent] = {}
        self._failures: list[int] = []
        self._delays: list[float] = []
        self.moved_to: str | None = None  # set: every request answers 301 to this root URL
        self._sales_before_write: list[tuple[int, int]] = []
        self._http = LocalServer("fake-shopify", port)
        self.calls: list[Call] = []
        self._next_group = 1

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        """The shop's root URL (what `channels.<name>.url` holds)."""
        return f"http://{HOST}:{self._http.port}"

    def start(self) -> FakeShopify:
        self._http.start(_handler(self))
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> FakeShopify:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- test hooks ---------------------------------------------------------------------------

    def go_down(self) -> None:
        """Stop listening: connections are refused until `come_back`."""
        self.stop()

    def come_back(self) -> None:
        """Listen again on the same port, with everything the shop held."""
        self.start()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` requests with `status` (a 5xx outage, a 423 locked shop...)."""
        with self._lock:
            self._failures.extend([status] * count)

    def heal(self) -> None:
        """Forget the failures and delays still pending; a full cost bucket of the usual size."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self._bucket = _Bucket(
                self._usual_bucket[0], self._usual_bucket[1], self._usual_bucket[0], self._clock()
            )

    def delay_next(self, count: int, seconds: float) -> None:
        """Answer the next `count` requests only after `seconds` (a client's timeout fires first)."""
        with self._lock:
            self._delays.extend([seconds] * count)

    def set_bucket(self, size: float, restore_rate: float, available: float | None = None) -> None:
        """Resize the cost bucket (a tiny one forces THROTTLED)."""
        with self._lock:
            now = self._clock()
            self._bucket = _Bucket(size, restore_rate, size if available is None else available, now)

    def bucket(self) -> dict[str, float]:
        with self._lock:
            self._bucket.refill(self._clock())
            return self._bucket.status()

    def add_location(self, location_id: int, name: str = "Warehouse") -> None:
        with self._lock:
            self._state.locations[location_id] = name

    def add_item(
        self,
        item_id: int,
        sku: str,
        available: int = 0,
        *,
        stocked: bool = True,
        location_id: int | None = None,
        product_id: int | None = None,
        variant_id: int | None = None,
        price: str = DEFAULT_PRICE,
        compare_at_price: str | None = None,
    ) -> None:
        """An inventory item (a variant's), stocked at the location with `available` units, or not stocked.

        Its variant sells at `price` (`compare_at_price` struck through); the variant belongs to
        `product_id` (a product of its own when None), as the owner creates it in Shopify's admin.
        """
        product = PRODUCT_ID_OFFSET + item_id if product_id is None else product_id
        variant = VARIANT_ID_OFFSET + item_id if variant_id is None else variant_id
        with self._lock:
            self._state.products.setdefault(product, sku)
            self._state.items[item_id] = _Item(sku, variant, product, price, compare_at_price)
            if stocked:
                self._state.levels[(item_id, location_id or self.location_id)] = {
                    name: 0 for name in QUANTITY_NAMES
                } | {"available": available, "on_hand": available}

    def set_available(self, item_id: int, available: int, location_id: int | None = None) -> None:
        """Set `available` as the merchant would in the admin (on_hand moves with it)."""
        with self._lock:
            level = self._state.levels[(item_id, location_id or self.location_id)]
            level["on_hand"] += available - level["available"]
            level["available"] = available

    def quantities(self, item_id: int, location_id: int | None = None) -> dict[str, int] | None:
        """What the shop holds for the item at the location; None if it is not stocked there."""
        with self._lock:
            level = self._state.levels.get((item_id, location_id or self.location_id))
            return dict(level) if level is not None else None

    def available(self, item_id: int, location_id: int | None = None) -> int | None:
        held = self.quantities(item_id, location_id)
        return None if held is None else held["available"]

    def prices(self, item_id: int) -> dict[str, str | None] | None:
        """What the item's variant sells at: `price`, and `compare_at_price` (struck through) or None."""
        with self._lock:
            item = self._state.items.get(item_id)
            if item is None:
                return None
            return {"price": item.price, "compare_at_price": item.compare_at_price}

    def listing(self, item_id: int) -> dict[str, Any] | None:
        """What a shopper sees of the item: `available` here, `price`, `compare_at_price`."""
        with self._lock:
            prices = self.prices(item_id)
            return None if prices is None else {"available": self.available(item_id), **prices}

    def variant_of(self, item_id: int) -> tuple[int, int]:
        """The (variant id, product id) the item belongs to."""
        with self._lock:
            item = self._state.items[item_id]
            return item.variant_id, item.product_id

    def refuse_variant(
        self, item_id: int, code: str = "INVALID_INPUT", message: str = "Price is not valid for this variant."
    ) -> None:
        """Every price update of the item's variant gets this user error (the others still apply)."""
        with self._lock:
            self._state.items[item_id].refused = (code, message)

    @property
    def price_updates(self) -> int:
        """productVariantsBulkUpdate mutations answered."""
        return sum(1 for call in self.calls if call.prices)

    def sell(self, item_id: int, units: int = 1, location_id: int | None = None) -> None:
        """A sale on Shopify: `units` move from available to committed (research §1.3)."""
        with self._lock:
            level = self._state.levels[(item_id, location_id or self.location_id)]
            level["available"] -= units
            level["committed"] += units

    def sell_before_next_write(self, item_id: int, units: int = 1) -> None:
        """A sale that lands after shopflow read the level and before its next mutation runs."""
        with self._lock:
            self._sales_before_write.append((item_id, units))

    @property
    def requests(self) -> int:
        return len(self.calls)

    @property
    def mutations(self) -> int:
        return sum(1 for call in self.calls if call.operation == "mutation")

    # -- the API --------------------------------------------------------------------------------

    def handle(self, path: str, token: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body)."""
        call = Call(status=200, operation="")
        with self._lock:
            self.calls.append(call)
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delays.pop(0) if self._delays else 0.0
        if delay:
            time.sleep(delay)
        status, answer = self._answer(call, failure, path, token, body)
        call.status, call.answered = status, True
        return status, answer

    def _answer(
        self, call: Call, failure: int | None, path: str, token: str | None, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if self.moved_to is not None:
            return 301, {"errors": "Moved Permanently"}
        if failure is not None:
            return failure, {"errors": "Service Unavailable" if failure == 503 else "Error"}
        matched = _VERSION.fullmatch(path)
        if matched is None:
            return 404, {"errors": "Not Found"}
        if token != self.token:
            return 401, UNAUTHORIZED_BODY
        try:
            request = json.loads(body)
            query = request["query"]
            variables = request.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return 400, {"errors": "Bad Request: the body must be JSON with a query and variables"}
        schema = schema_for(matched.group(1))
        try:
            document, operation = _parse(schema, query)
            call.operation = operation.operation.value
            _check_input_sizes(operation, variables)
            cost = query_cost(schema, document, operation, variables)
        except _GraphQLFailure as failed:
            return 200, {"errors": failed.errors} | self._cost_extension(failed.cost, charged=False)
        except GraphQLError as error:
            return 200, {"errors": [error.formatted]}
        call.requested_cost = cost
        with self._lock:
            self._bucket.refill(self._clock())
            if cost > self._bucket.available:
                call.throttled = True
                return self.throttled_status, {"errors": [THROTTLED_ERROR]} | self._cost_extension(
                    cost, charged=False
                )
            self._bucket.available -= cost
            result = execute_sync(
                schema,
                document,
                root_value=_Root(self, matched.group(1), variables, call),
                variable_values=variables,
            )
            answer: dict[str, Any] = {}
            if result.errors:
                answer["errors"] = [error.formatted for error in result.errors]
            answer["data"] = result.data
            return 200, answer | self._cost_extension(cost, charged=True)

    def _cost_extension(self, requested: int | None, *, charged: bool) -> dict[str, Any]:
        with self._lock:
            self._bucket.refill(self._clock())
            return {
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": requested if charged else None,
                        "throttleStatus": self._bucket.status(),
                    }
                }
            }

    # -- what the resolvers do (called with the lock held) ---------------------------------------

    def _item_node(self, item_id: int) -> dict[str, Any] | None:
        item = self._state.items.get(item_id)
        if item is None:
            return None

        def level_at(_info: object, locationId: str) -> dict[str, Any] | None:
            location = _number(_LOCATION_GID, locationId)
            return self._level_node(item_id, location) if location is not None else None

        def levels(_info: object, first: int | None = None, **_page: object) -> dict[str, Any]:
            nodes = [
                self._level_node(item_id, location)
                for (held_item, location) in sorted(self._state.levels)
                if held_item == item_id
            ][: first if first is not None else None]
            return {
                "nodes": nodes,
                "edges": [{"cursor": node["id"], "node": node} for node in nodes if node],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
            }

        return {
            "__typename": "InventoryItem",
            "id": f"gid://shopify/InventoryItem/{item_id}",
            "sku": item.sku,
            "tracked": item.tracked,
            "inventoryLevel": level_at,
            "inventoryLevels": levels,
            "variant": lambda _info: self._variant_node(item_id),
        }

    def _product_node(self, product_id: int) -> dict[str, Any] | None:
        title = self._state.products.get(product_id)
        if title is None:
            return None
        return {"__typename": "Product", "id": f"gid://shopify/Product/{product_id}", "title": title}

    def _variant_node(self, item_id: int) -> dict[str, Any] | None:
        item = self._state.items.get(item_id)
        if item is None:
            return None
        return {
            "__typename": "ProductVariant",
            "id": f"gid://shopify/ProductVariant/{item.variant_id}",
            "sku": item.sku,
            "price": item.price,
            "compareAtPrice": item.compare_at_price,
            "product": self._product_node(item.product_id),
            "inventoryItem": lambda _info: self._item_node(item_id),
        }

    def _item_of_variant(self, variant_id: int) -> int | None:
        for item_id, item in self._state.items.items():
            if item.variant_id == variant_id:
                return item_id
        return None

    def _update_prices(
        self, product_gid: str, variants: list[dict[str, Any]], partial: bool
    ) -> dict[str, Any]:
        """productVariantsBulkUpdate's price part (research §1.4), under the lock."""
        product = _number(_PRODUCT_GID, product_gid)
        if product is None or product not in self._state.products:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [_error("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")],
            }
        errors: list[dict[str, Any]] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        for index, row in enumerate(variants):
            at = ["variants", str(index)]
            before = len(errors)
            variant = _number(_VARIANT_GID, row["id"]) if row.get("id") is not None else None
            item_id = None if variant is None else self._item_of_variant(variant)
            if row.get("id") is None:
                errors.append(
                    _error(
                        "PRODUCT_VARIANT_ID_MISSING", [*at, "id"], "Product variant is missing ID attribute"
                    )
                )
            elif item_id is None:
                errors.append(
                    _error("PRODUCT_VARIANT_DOES_NOT_EXIST", [*at, "id"], "Product variant does not exist")
                )
            elif self._state.items[item_id].product_id != product:
                errors.append(
                    _error(
                        "MUST_BE_FOR_THIS_PRODUCT",
                        [*at, "id"],
                        "Product variant does not belong to this product",
                    )
                )
            elif self._state.items[item_id].refused is not None:
                code, message = self._state.items[item_id].refused  # type: ignore[misc]
                errors.append(_error(code, at, message))
            if row.get("inventoryQuantities") is not None:
                errors.append(
                    _error(
                        "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE",
                        [*at, "inventoryQuantities"],
                        "Inventory quantities can only be provided during create. To update inventory"
                        " for existing variants, use inventoryAdjustQuantities.",
                    )
                )
            for name in ("price", "compareAtPrice"):
                if row.get(name) is not None and Decimal(row[name]) < 0:
                    errors.append(
                        _error("NEGATIVE_PRICE_VALUE", [*at, name], "Price cannot take a negative value.")
                    )
            if "price" in row and row["price"] is None:
                errors.append(_error("INVALID_INPUT", [*at, "price"], "Price can't be blank"))
            if len(errors) == before and item_id is not None:
                valid.append((item_id, row))
        if errors and not partial:
            return {"product": self._product_node(product), "productVariants": None, "userErrors": errors}
        for item_id, row in valid:
            item = self._state.items[item_id]
            if "price" in row:
                item.price = _money_text(row["price"])
            if "compareAtPrice" in row:
                at_price = row["compareAtPrice"]
                item.compare_at_price = None if at_price is None else _money_text(at_price)
        return {
            "product": self._product_node(product),
            "productVariants": [self._variant_node(item_id) for item_id, _row in valid],
            "userErrors": errors,
        }

    def _level_node(self, item_id: int, location_id: int) -> dict[str, Any] | None:
        level = self._state.levels.get((item_id, location_id))
        if level is None:
            return None
        held = dict(level)
        level_id = (
            f"gid://shopify/InventoryLevel/{item_id}?inventory_item_id={item_id}&location_id={location_id}"
        )

        def quantities(_info: object, names: list[str]) -> list[dict[str, Any]]:
            return [
                {"id": f"{level_id}&name={name}", "name": name, "quantity": held[name]}
                for name in names
                if name in held
            ]

        return {
            "__typename": "InventoryLevel",
            "id": level_id,
            "item": lambda _info: self._item_node(item_id),
            "location": {
                "id": f"gid://shopify/Location/{location_id}",
                "name": self._state.locations[location_id],
            },
            "quantities": quantities,
        }

    def _set_quantities(self, version: str, request: dict[str, Any], key: str | None) -> dict[str, Any]:
        if key is None:
            return self._apply(version, request)
        now = self._clock()
        self._keys = {k: v for k, v in self._keys.items() if now - v.created_at < IDEMPOTENCY_TTL_SECONDS}
        params = json.dumps(request, sort_keys=True)
        seen = self._keys.get(key)
        if seen is not None:
            if seen.params != params:
                return _user_errors(
                    [
                        _error(
                            "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                            None,
                            "The same idempotency key was used with different parameters.",
                        )
                    ]
                )
            if seen.result is None:
                return _user_errors(
                    [
                        _error(
                            "IDEMPOTENCY_CONCURRENT_REQUEST",
                            None,
                            "The request is currently in progress, please try again.",
                        )
                    ]
                )
            return copy.deepcopy(seen.result)
        record = _Idempotent(params, now)
        self._keys[key] = record
        record.result = self._apply(version, request)
        return copy.deepcopy(record.result)

    def _apply(self, version: str, request: dict[str, Any]) -> dict[str, Any]:
        for item_id, units in self._sales_before_write:
            if (item_id, self.location_id) in self._state.levels:
                self.sell(item_id, units)
        self._sales_before_write.clear()
        name, reason, rows = request["name"], request["reason"], request["quantities"]
        errors: list[dict[str, Any]] = []
        if name not in ("available", "on_hand"):
            errors.append(
                _error(
                    "INVALID_NAME",
                    ["input", "name"],
                    "The quantity name must be either 'available' or 'on_hand'.",
                )
            )
        if reason not in REASONS:
            errors.append(_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
        targets: list[tuple[int, int] | None] = []
        seen_pairs: set[tuple[int, int]] = set()
        for index, row in enumerate(rows):
            at = ["input", "quantities", str(index)]
            item = _number(_ITEM_GID, row["inventoryItemId"])
            location = _number(_LOCATION_GID, row["locationId"])
            targets.append(None)
            if item is None or item not in self._state.items:
                errors.append(
                    _error(
                        "INVALID_INVENTORY_ITEM",
                        [*at, "inventoryItemId"],
                        "The specified inventory item could not be found.",
                    )
                )
            elif location is None or location not in self._state.locations:
                errors.append(
                    _error(
                        "INVALID_LOCATION", [*at, "locationId"], "The specified location could not be found."
                    )
                )
            elif (item, location) not in self._state.levels:
                errors.append(
                    _error(
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                        [*at, "locationId"],
                        "The specified inventory item is not stocked at the location.",
                    )
                )
            elif (item, location) in seen_pairs:
                errors.append(
                    _error(
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        [*at, "inventoryItemId"],
                        "The combination of inventoryItemId and locationId must be unique.",
                    )
                )
            else:
                seen_pairs.add((item, location))
                targets[index] = (item, location)
            if row["quantity"] < 0:
                errors.append(
                    _error("INVALID_QUANTITY_NEGATIVE", [*at, "quantity"], "The quantity can't be negative.")
                )
            elif row["quantity"] > 1_000_000_000:
                errors.append(
                    _error(
                        "INVALID_QUANTITY_TOO_HIGH",
                        [*at, "quantity"],
                        "The quantity can't be higher than 1,000,000,000.",
                    )
                )
        if errors:
            return _user_errors(errors)
        for index, (row, target) in enumerate(zip(rows, targets, strict=True)):
            assert target is not None
            held = self._state.levels[target][name]
            at = ["input", "quantities", str(index)]
            if "changeFromQuantity" in row:  # any value, null included, overrides the old fields (2026-01+)
                if row["changeFromQuantity"] is not None and row["changeFromQuantity"] != held:
                    errors.append(
                        _error(
                            "CHANGE_FROM_QUANTITY_STALE",
                            [*at, "changeFromQuantity"],
                            "The specified compare quantity does not match the current quantity.",
                        )
                    )
            elif version >= "2026-04":
                raise GraphQLError(
                    "changeFromQuantity is required: pass the expected quantity, or null to skip the check."
                )
            elif not request.get("ignoreCompareQuantity"):
                if row.get("compareQuantity") is None:
                    errors.append(
                        _error(
                            "COMPARE_QUANTITY_REQUIRED",
                            [*at, "compareQuantity"],
                            "The compareQuantity argument must be given.",
                        )
                    )
                elif row["compareQuantity"] != held:
                    errors.append(
                        _error(
                            "COMPARE_QUANTITY_STALE",
                            [*at, "compareQuantity"],
                            "The compareQuantity value does not match the stored quantity.",
                        )
                    )
        if errors:  # the stricter reading of an undocumented case: one stale row refuses the call
            return _user_errors(errors)
        changes: list[dict[str, Any]] = []
        other = "on_hand" if name == "available" else "available"
        for row, target in zip(rows, targets, strict=True):
            assert target is not None
            level = self._state.levels[target]
            delta = row["quantity"] - level[name]
            level[name] += delta
            level[other] += delta
            item, location = target
            for moved in (name, other):
                changes.append(
                    {
                        "name": moved,
                        "delta": delta,
                        "quantityAfterChange": None,  # Shopify's own examples answer null
                        "item": self._item_node(item),
                        "location": {
                            "id": f"gid://shopify/Location/{location}",
                            "name": self._state.locations[location],
                        },
                    }
                )
        group = self._next_group
        self._next_group += 1
        return {
            "inventoryAdjustmentGroup": {
                "id": f"gid://shopify/InventoryAdjustmentGroup/{group}",
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "reason": REASONS[reason],
                "referenceDocumentUri": request.get("referenceDocumentUri"),
                "changes": changes,
            },
            "userErrors": [],
        }


class _Root:
    """The root value graphql-core resolves Query and Mutation fields on (lock held by the caller)."""

    def __init__(self, shop: FakeShopify, version: str, variables: Mapping[str, Any], call: Call) -> None:
        self._shop = shop
        self._version = version
        self._variables = variables
        self._call = call

    def inventoryItem(self, _info: object, id: str) -> dict[str, Any] | None:
        item = _number(_ITEM_GID, id)
        return self._shop._item_node(item) if item is not None else None

    def shop(self, _info: object) -> dict[str, Any]:
        return {"id": "gid://shopify/Shop/1", "name": "Fake shop", "currencyCode": self._shop.currency}

    def product(self, _info: object, id: str) -> dict[str, Any] | None:
        number = _number(_PRODUCT_GID, id)
        return None if number is None else self._shop._product_node(number)

    def productVariant(self, _info: object, id: str) -> dict[str, Any] | None:
        number = _number(_VARIANT_GID, id)
        item = None if number is None else self._shop._item_of_variant(number)
        return None if item is None else self._shop._variant_node(item)

    def productVariantsBulkUpdate(
        self, _info: object, productId: str, variants: list[dict[str, Any]], allowPartialUpdates: bool = False
    ) -> dict[str, Any]:
        self._call.prices = len(variants)
        return self._shop._update_prices(productId, variants, bool(allowPartialUpdates))

    def node(self, info: object, id: str) -> dict[str, Any] | None:
        return self.nodes(info, [id])[0]

    def nodes(self, _info: object, ids: list[str]) -> list[dict[str, Any] | None]:
        found: list[dict[str, Any] | None] = []
        for gid in ids:
            item = _number(_ITEM_GID, gid)
            location = _number(_LOCATION_GID, gid)
            variant = _number(_VARIANT_GID, gid)
            product = _number(_PRODUCT_GID, gid)
            if item is not None:
                found.append(self._shop._item_node(item))
            elif variant is not None:
                found.append(self.productVariant(_info, gid))
            elif product is not None:
                found.append(self._shop._product_node(product))
            elif location is not None and location in self._shop._state.locations:
                found.append(
                    {"__typename": "Location", "id": gid, "name": self._shop._state.locations[location]}
                )
            else:
                found.append(None)
        return found

    def location(self, _info: object, id: str | None = None) -> dict[str, Any] | None:
        number = _number(_LOCATION_GID, id) if id is not None else self._shop.location_id
        name = self._shop._state.locations.get(number) if number is not None else None
        return None if name is None else {"id": f"gid://shopify/Location/{number}", "name": name}

    def inventorySetQuantities(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._call.rows = len(input["quantities"])
        key: str | None = None
        for directive in info.field_nodes[0].directives or ():
            if directive.name.value != "idempotent":
                continue
            value = directive.arguments[0].value
            if isinstance(value, VariableNode):
                key = self._variables.get(value.name.value)
            elif isinstance(value, StringValueNode):
                key = value.value
            if not key:
                raise GraphQLError("The idempotency key must not be empty.")
        if key is None and self._version >= "2026-04":
            raise GraphQLError("The @idempotent directive is required for this mutation.")
        return self._shop._set_quantities(self._version, input, key)


def _parse(schema: GraphQLSchema, query: str) -> tuple[DocumentNode, OperationDefinitionNode]:
    try:
        document = parse(query)
    except GraphQLError as error:
        raise _GraphQLFailure([dict(error.formatted)]) from None
    problems = validate(schema, document)
    if problems:
        raise _GraphQLFailure([dict(problem.formatted) for problem in problems])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise _GraphQLFailure([{"message": "Send exactly one operation."}])
    return document, operations[0]


def _check_input_sizes(operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> None:
    """Shopify limits every input array to 250 items (research §1.5)."""

    def check(value: Any) -> None:
        if isinstance(value, list):
            if len(value) > MAX_INPUT_ARRAY:
                raise _GraphQLFailure(
                    [
                        {
                            "message": f"The input array size of {len(value)} is greater than"
                            f" the maximum allowed of {MAX_INPUT_ARRAY}.",
                            "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
                        }
                    ]
                )
            for element in value:
                check(element)
        elif isinstance(value, dict):
            for element in value.values():
                check(element)

    check(dict(variables))
    del operation  # literal arrays in the query text count too, but shopflow sends variables


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> int:
    """The requested cost of an operation (the module's cost model); MAX_COST_EXCEEDED above 1000."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if operation.operation == OperationType.MUTATION:
        cost = MUTATION_COST * sum(1 for s in operation.selection_set.selections if isinstance(s, FieldNode))
    else:
        root = schema.query_type
        assert root is not None
        cost = _selection_cost(schema, root, operation.selection_set, fragments, variables)
    if cost > MAX_QUERY_COST:
        raise _GraphQLFailure(
            [
                {
                    "message": f"Query cost is {cost}, which exceeds the single query"
                    f" max cost limit ({MAX_QUERY_COST}).",
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST},
                }
            ],
            cost,
        )
    return cost


def _selection_cost(
    schema: GraphQLSchema,
    parent: Any,
    selections: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            on = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            total += _selection_cost(schema, on, selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            on = schema.get_type(fragment.type_condition.name.value)
            total += _selection_cost(schema, on, fragment.selection_set, fragments, variables)
        elif isinstance(selection, FieldNode) and not selection.name.value.startswith("__"):
            definition = parent.fields[selection.name.value]
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            child = _selection_cost(schema, named, selection.selection_set, fragments, variables)
            given = dict(variables)
            args = {
                arg.name.value: value_from_ast_untyped(arg.value, given) for arg in selection.arguments or ()
            }
            if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
                size = args.get("first") or args.get("last") or 0
                total += 2 + size * child  # `child` is one node's cost: its `nodes` selection
            elif selection.name.value == "nodes" and "ids" in args:
                total += len(args["ids"]) * (1 + child)
            else:
                total += 1 + child
    return total


def _money_text(amount: str) -> str:
    """Money as Shopify answers it: two decimals ("19.9" -> "19.90")."""
    return f"{Decimal(amount).quantize(Decimal('0.01')):f}"


def _number(pattern: re.Pattern[str], gid: str) -> int | None:
    matched = pattern.fullmatch(gid)
    return int(matched.group(1)) if matched else None


def _error(code: str, at: list[str] | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": at, "message": message}


def _user_errors(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"inventoryAdjustmentGroup": None, "userErrors": errors}


def _handler(shop: FakeShopify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                status, answer = shop.handle(self.path, self.headers.get("X-Shopify-Access-Token"), body)
            except Exception as error:  # a bug in the fake: answer as Shopify's own 500 would
                status, answer = 500, {"errors": f"Internal error: {error!r}"}
            payload = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                if status == 301 and shop.moved_to is not None:
                    self.send_header("Location", shop.moved_to + self.path)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running(**options: Any) -> Iterator[FakeShopify]:
    """A started fake for a `with` block (tests use it as a fixture)."""
    shop = FakeShopify(**options)
    shop.start()
    try:
        yield shop
    finally:
        shop.stop()
