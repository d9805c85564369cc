"""Shopify Admin GraphQL: set `available` at the shop's location, compare-and-set, idempotent.

One `push` is one `inventorySetQuantities` mutation of up to 250 rows (Shopify's input-array
limit; a mutation costs 10 points whatever its size), each row with `changeFromQuantity` = what
shopflow last saw there, so a sale on Shopify since then refuses the write instead of being
overwritten. The call carries `@idempotent(key:)`, a UUIDv5 of its rows, so a retry of the same
call (after a timeout, a 5xx, a crash) replays Shopify's first answer and applies nothing twice.

Shopify does not document whether one stale row refuses the whole call; this adapter assumes
it does (the stricter reading, research §1.2): on `CHANGE_FROM_QUANTITY_STALE` it re-reads every
row of the call, answers the rows whose quantity moved as `stale` with the re-read value (the
sync service decides again) and sends the others once more. Rows with other user errors are
`rejected` and the rest sent again, so one bad item never holds back the others.

Prices (`push_prices`): Shopify sets a variant's `price` and `compareAtPrice` with
`productVariantsBulkUpdate`, one product per call, while a listing is an inventory item. So one
`nodes(ids:)` query (250 items at 3 points each, within the 1000-point limit) finds each item's
variant and product, and the shop's currency (a price in another currency is rejected, not sold
at the wrong figure); then one mutation per product sets `price` and `compareAtPrice` (the "was"
of a cut, `null` otherwise, which clears a former one) as Money strings. `allowPartialUpdates`
lets a variant's user error reject that push alone; an unknown item is rejected "not found".

`THROTTLED` (or HTTP 429) is waited out as `extensions.cost.throttleStatus` says, a bounded number
of times, then raised as `Throttled`. Queries are constant text; every value is a GraphQL
variable. Only the standard library is used (Lambda cold start).
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shopflow.channels.adapters.http_calls import retry_after_seconds, send, where
from shopflow.channels.adapters.prices import money_text, price_refusal
from shopflow.channels.ports import (
    ChannelConfig,
    ChannelError,
    PricePush,
    PricePushed,
    Push,
    Pushed,
    Throttled,
    Unauthorized,
    Unavailable,
)

BATCH_LIMIT = 250  # Shopify's limit on every input array
READ_COST_PER_ITEM = 3  # node + inventoryLevel + quantities, in Shopify's calculated query cost
MAX_QUERY_COST = 1000  # a single query may not cost more
READ_CHUNK = min(BATCH_LIMIT, MAX_QUERY_COST // READ_COST_PER_ITEM)
MAX_THROTTLE_WAITS = 3  # waits for the bucket inside one call before raising Throttled
MAX_WAIT_SECONDS = 20.0  # a longer wait is the queue's job, not a Lambda's
MAX_ROUNDS = 3  # mutations one push may send (after stale or rejected rows)
KEY_NAMESPACE = uuid.uuid5(
    uuid.NAMESPACE_URL, "https://github.com/shopflow/channels/shopify/inventorySetQuantities"
)

SET_QUANTITIES = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
""".strip()

READ_AVAILABLE = """
query AvailableAt($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
    }
  }
}
""".strip()

PRICE_TARGET_COST_PER_ITEM = 3  # node + variant + product
PRICE_TARGETS_CHUNK = min(BATCH_LIMIT, (MAX_QUERY_COST - 1) // PRICE_TARGET_COST_PER_ITEM)  # 1: `shop`

PRICE_TARGETS = """
query PriceTargets($ids: [ID!]!) {
  shop { currencyCode }
  nodes(ids: $ids) {
    ... on InventoryItem { id variant { id product { id } } }
  }
}
""".strip()

SET_PRICES = """
mutation SetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $allowPartialUpdates: Boolean) {
  productVariantsBulkUpdate(
    productId: $productId, variants: $variants, allowPartialUpdates: $allowPartialUpdates
  ) {
    productVariants { id price compareAtPrice }
    userErrors { code field message }
  }
}
""".strip()

_GID = re.compile(r"gid://shopify/(?P<kind>\w+)/(?P<number>\d+)")
_STALE = "CHANGE_FROM_QUANTITY_STALE"
_ROW_FIELD = re.compile(r"\d+")


def gid(kind: str, number: str) -> str:
    """Shopify's global id for a numeric id (`gid://shopify/InventoryItem/30322695`); a gid passes as is."""
    matched = _GID.fullmatch(number)
    if matched is not None:
        if matched.group("kind") != kind:
            raise ValueError(f"{number!r} is not a Shopify {kind} id")
        return number
    if not number.isdigit():
        raise ValueError(f"{number!r} is not a Shopify {kind} id (digits or gid://shopify/{kind}/N)")
    return f"gid://shopify/{kind}/{int(number)}"


def idempotency_key(location: str, pushes: Sequence[Push], attempt: int = 0) -> str:
    """The call's `@idempotent` key: a UUIDv5 of its rows, whatever their order.

    Each row is (listing, quantity, changeFromQuantity, stock version): the same call retried
    gets the same key, and so Shopify's first answer. The compared quantity is part of it: after
    a stale answer the service pushes the same (listing, quantity, version) from a new
    `seen_there`, which Shopify would refuse as IDEMPOTENCY_KEY_PARAMETER_MISMATCH under the old key.
    `attempt` > 0 names a new attempt after IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED.
    """
    rows = sorted(f"{p.listing_id}|{p.quantity}|{p.seen_there}|{p.version}" for p in pushes)
    return str(uuid.uuid5(KEY_NAMESPACE, "\n".join([location, str(attempt), *rows])))


def throttle_wait(cost: Mapping[str, Any] | None) -> float | None:
    """Seconds until the bucket holds the requested cost: (requested - available) / restore rate.

    None when the answer carries no usable `extensions.cost`.
    """
    if not cost:
        return None
    status = cost.get("throttleStatus") or {}
    try:
        requested = float(cost["requestedQueryCost"])
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return None
    if rate <= 0:
        return None
    return max(0.0, (requested - available) / rate)


@dataclass(frozen=True)
class _Outcome:
    """One mutation's answer: applied, or the user errors per row index (None: the whole call)."""

    applied: bool
    errors: list[tuple[int | None, str, str]]  # (row, code, message)


class ShopifyChannel:
    """A Shopify shop's location, as `channels.<name>` configures it (kind `shopify`)."""

    def __init__(
        self,
        config: ChannelConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 10,
        max_throttle_waits: int = MAX_THROTTLE_WAITS,
    ) -> None:
        if not config.location_id:
            raise ValueError(
                f"channel {config.name}: a Shopify channel needs channels.{config.name}.location_id"
            )
        self._config = config
        self._endpoint = f"{config.url.rstrip('/')}/admin/api/{config.api_version}/graphql.json"
        self._location = gid("Location", config.location_id)
        self._sleep = sleep
        self._timeout = timeout
        self._max_throttle_waits = max_throttle_waits

    @property
    def batch_limit(self) -> int:
        return BATCH_LIMIT

    def push(self, pushes: Sequence[Push]) -> list[Pushed]:
        if len(pushes) > BATCH_LIMIT:
            raise ValueError(f"{len(pushes)} pushes: Shopify takes at most {BATCH_LIMIT} quantities a call")
        listings = [p.listing_id for p in pushes]
        if len(set(listings)) != len(listings):
            raise ValueError("one push per listing a call: Shopify refuses an item twice in one call")
        answers: dict[str, Pushed] = {}
        pending: list[Push] = []
        for p in pushes:
            try:
                gid("InventoryItem", p.listing_id)
            except ValueError as error:
                answers[p.listing_id] = Pushed(p.listing_id, "rejected", None, str(error))
            else:
                pending.append(p)
        unknown = [p.listing_id for p in pending if p.seen_there is None]
        if unknown:
            pending = self._with_seen(pending, self.read(unknown), answers)
        attempt = 0
        for _round in range(MAX_ROUNDS):
            if not pending:
                break
            outcome = self._set(pending, attempt)
            if outcome.applied:
                for p in pending:
                    answers[p.listing_id] = Pushed(p.listing_id, "acknowledged", p.quantity)
                pending = []
                break
            pending, attempt = self._after_errors(pending, outcome, answers, attempt)
        if pending:  # rounds used up, every remaining row still matched: let the service decide again
            for p in pending:
                answers[p.listing_id] = Pushed(p.listing_id, "stale", p.seen_there)
        return [answers[p.listing_id] for p in pushes]

    @property
    def price_batch_limit(self) -> int:
        return BATCH_LIMIT

    def push_prices(self, pushes: Sequence[PricePush]) -> list[PricePushed]:
        """Each listing's variant sells at `price`, with `compareAtPrice` = `was` (None clears it)."""
        if len(pushes) > BATCH_LIMIT:
            raise ValueError(f"{len(pushes)} prices: Shopify takes at most {BATCH_LIMIT} a call")
        listings = [p.listing_id for p in pushes]
        if len(set(listings)) != len(listings):
            raise ValueError("one price per listing a call: which one should the variant keep?")
        answers: dict[str, PricePushed] = {}
        items: dict[str, PricePush] = {}  # the inventory item's gid -> its push
        for p in pushes:
            why = price_refusal(p)
            if why is None:
                try:
                    item = gid("InventoryItem", p.listing_id)
                except ValueError as error:
                    why = str(error)
                else:
                    if item in items:
                        why = f"{item} is already priced in this call"
            if why is not None:
                answers[p.listing_id] = PricePushed(p.listing_id, "rejected", why)
            else:
                items[item] = p
        currency, targets = self._price_targets(list(items))
        by_product: dict[str, list[tuple[str, PricePush]]] = {}
        for item, p in items.items():
            target = targets.get(item)
            if target is None:
                answers[p.listing_id] = PricePushed(
                    p.listing_id, "rejected", "not found: no such inventory item (or it has no variant)"
                )
            elif currency is not None and p.currency != currency:
                answers[p.listing_id] = PricePushed(
                    p.listing_id, "rejected", f"currency {p.currency}: the shop sells in {currency}"
                )
            else:
                variant, product = target
                by_product.setdefault(product, []).append((variant, p))
        for product, rows in by_product.items():
            answers.update(self._set_prices(product, rows))
        return [answers[p.listing_id] for p in pushes]

    def read(self, listing_ids: Sequence[str]) -> Mapping[str, int | None]:
        """`available` at the location per listing; None for an unknown item or one not stocked there."""
        found: dict[str, int | None] = {}
        ids: dict[str, str] = {}
        for listing in listing_ids:
            try:
                ids[gid("InventoryItem", listing)] = listing
            except ValueError:
                found[listing] = None
        wanted = list(ids)
        for start in range(0, len(wanted), READ_CHUNK):
            chunk = wanted[start : start + READ_CHUNK]
            data = self._call(READ_AVAILABLE, {"ids": chunk, "locationId": self._location})
            nodes = data.get("nodes") or []
            for asked, node in zip(chunk, nodes, strict=False):
                found[ids[asked]] = _available(node)
        for listing in listing_ids:
            found.setdefault(listing, None)
        return found

    # -- one push, in rounds --------------------------------------------------------------------

    def _with_seen(
        self, pending: list[Push], seen: Mapping[str, int | None], answers: dict[str, Pushed]
    ) -> list[Push]:
        ready: list[Push] = []
        for p in pending:
            if p.seen_there is not None:
                ready.append(p)
            elif seen.get(p.listing_id) is None:
                answers[p.listing_id] = Pushed(
                    p.listing_id,
                    "rejected",
                    None,
                    "not found: no such inventory item stocked at the location",
                )
            else:
                ready.append(replace(p, seen_there=seen[p.listing_id]))
        return ready

    def _after_errors(
        self, pending: list[Push], outcome: _Outcome, answers: dict[str, Pushed], attempt: int
    ) -> tuple[list[Push], int]:
        """Answer the rows the errors name; return the rows to send again (and the key attempt)."""
        whole = [(code, message) for row, code, message in outcome.errors if row is None]
        for code, _message in whole:
            if code == "IDEMPOTENCY_CONCURRENT_REQUEST":  # the first attempt is still running
                self._sleep(1.0)
                return pending, attempt
            if code == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED":  # "retry with a new idempotency key"
                return pending, attempt + 1
        if whole:
            code, message = whole[0]
            for p in pending:
                answers[p.listing_id] = Pushed(p.listing_id, "rejected", None, f"{code}: {message}")
            return [], attempt
        stale = False
        for row, code, message in outcome.errors:
            assert row is not None
            if code == _STALE:
                stale = True
            elif 0 <= row < len(pending):
                p = pending[row]
                answers[p.listing_id] = Pushed(p.listing_id, "rejected", None, f"{code}: {message}")
        remaining = [p for p in pending if p.listing_id not in answers]
        if not stale:
            return remaining, attempt
        there = self.read([p.listing_id for p in remaining])
        again: list[Push] = []
        for p in remaining:
            now = there.get(p.listing_id)
            if now is None:
                answers[p.listing_id] = Pushed(
                    p.listing_id, "rejected", None, "not found at the location any more"
                )
            elif now != p.seen_there:
                answers[p.listing_id] = Pushed(p.listing_id, "stale", now)
            else:
                again.append(p)
        return again, attempt

    def _set(self, pushes: Sequence[Push], attempt: int) -> _Outcome:
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": gid("InventoryItem", p.listing_id),
                        "locationId": self._location,
                        "quantity": p.quantity,
                        "changeFromQuantity": p.seen_there,
                    }
                    for p in pushes
                ],
            },
            "idempotencyKey": idempotency_key(self._location, pushes, attempt),
        }
        data = self._call(SET_QUANTITIES, variables)
        payload = data.get("inventorySetQuantities") or {}
        errors = [
            (_row_of(error.get("field")), str(error.get("code")), str(error.get("message")))
            for error in payload.get("userErrors") or []
        ]
        return _Outcome(
            applied=not errors and payload.get("inventoryAdjustmentGroup") is not None, errors=errors
        )

    # -- prices -------------------------------------------------------------------------------

    def _price_targets(self, items: Sequence[str]) -> tuple[str | None, dict[str, tuple[str, str]]]:
        """The shop's currency and each known item's (variant, product) gids."""
        currency: str | None = None
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(items), PRICE_TARGETS_CHUNK):
            chunk = items[start : start + PRICE_TARGETS_CHUNK]
            data = self._call(PRICE_TARGETS, {"ids": list(chunk)})
            shop = data.get("shop")
            if isinstance(shop, dict) and isinstance(shop.get("currencyCode"), str):
                currency = shop["currencyCode"]
            for asked, node in zip(chunk, data.get("nodes") or [], strict=False):
                target = _variant_and_product(node)
                if target is not None:
                    found[asked] = target
        return currency, found

    def _set_prices(self, product: str, rows: Sequence[tuple[str, PricePush]]) -> dict[str, PricePushed]:
        """One `productVariantsBulkUpdate` of one product's variants; each push's answer."""
        variables = {
            "productId": product,
            "variants": [
                {
                    "id": variant,
                    "price": money_text(p.price),
                    "compareAtPrice": None if p.was is None else money_text(p.was),
                }
                for variant, p in rows
            ],
            "allowPartialUpdates": True,  # a variant's user error refuses that variant only
        }
        data = self._call(SET_PRICES, variables)
        payload = data.get("productVariantsBulkUpdate")
        whole: str | None = None if isinstance(payload, dict) else "Shopify answered without a result"
        per_row: dict[int, str] = {}
        for error in (payload or {}).get("userErrors") or []:
            said = f"{error.get('code')}: {error.get('message')}"
            row = _variant_row(error.get("field"))
            if row is None or not 0 <= row < len(rows):
                whole = whole or said
            else:
                per_row.setdefault(row, said)
        answers: dict[str, PricePushed] = {}
        for index, (_variant, p) in enumerate(rows):
            why = per_row.get(index) or whole
            answers[p.listing_id] = PricePushed(p.listing_id, "rejected" if why else "acknowledged", why)
        return answers

    # -- HTTP -----------------------------------------------------------------------------------

    def _call(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """POST one GraphQL request; its `data`, after waiting out THROTTLED a bounded number of times."""
        waits = 0
        while True:
            status, body, retry_after = self._post({"query": query, "variables": variables})
            listed = body.get("errors")
            errors: list[Any] = listed if isinstance(listed, list) else []
            throttled = status == 429 or any(_code(error) == "THROTTLED" for error in errors)
            if not throttled:
                break
            cost = (body.get("extensions") or {}).get("cost")
            wait = throttle_wait(cost)
            if wait is None:
                wait = retry_after if retry_after is not None else 1.0
            wait = max(0.1, math.ceil(wait * 10 - 1e-9) / 10)  # a hair early is throttled again
            if waits >= self._max_throttle_waits or wait > MAX_WAIT_SECONDS:
                raise Throttled(wait, f"channel {self._config.name}: Shopify THROTTLED")
            self._sleep(wait)
            waits += 1
        if errors:
            first = errors[0]
            raise ChannelError(
                f"channel {self._config.name}: Shopify refused the query: "
                f"{_code(first) or 'error'}: {first.get('message') if isinstance(first, dict) else first}"
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise Unavailable(f"channel {self._config.name}: Shopify answered without data")
        return data

    def _post(self, document: Mapping[str, Any]) -> tuple[int, dict[str, Any], float | None]:
        name = self._config.name
        try:
            answer = send(  # follows no redirect: the token never goes on to another host
                self._endpoint,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "X-Shopify-Access-Token": self._config.token,
                },
                body=json.dumps(document).encode(),
                timeout=self._timeout,
            )
        except Unavailable as error:
            raise Unavailable(f"channel {name}: Shopify unreachable: {error}") from None
        status = answer.status
        if status in (401, 403):
            raise Unauthorized(
                f"channel {name}: Shopify answered {status}: the token is wrong or lacks a scope"
            )
        if status >= 500 or status in (402, 423):  # 402 frozen, 423 locked: the shop may come back
            raise Unavailable(f"channel {name}: Shopify answered {status}")
        if status not in (200, 429):  # a redirect, 404 (a wrong url or API version), 400...
            raise ChannelError(
                f"channel {name}: Shopify answered {status} at {where(self._endpoint)}"
                f" (check channels.{name}.url and the API version)"
            )
        try:
            body = json.loads(answer.body) if answer.body else {}
        except ValueError:
            raise Unavailable(
                f"channel {name}: Shopify answered {status} with a body that is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise Unavailable(f"channel {name}: Shopify answered {status} with an unexpected body")
        return status, body, retry_after_seconds(answer.header("Retry-After"))


def _available(node: Any) -> int | None:
    if not isinstance(node, dict):
        return None
    level = node.get("inventoryLevel")
    if not isinstance(level, dict):
        return None
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available":
            return int(quantity["quantity"])
    return None


def _variant_and_product(node: Any) -> tuple[str, str] | None:
    """An InventoryItem node's (variant gid, product gid); None for an unknown item."""
    if not isinstance(node, dict) or not isinstance(node.get("variant"), dict):
        return None
    variant = node["variant"]
    product = variant.get("product")
    if not isinstance(product, dict) or not isinstance(variant.get("id"), str):
        return None
    return (variant["id"], product["id"]) if isinstance(product.get("id"), str) else None


def _variant_row(field: Any) -> int | None:
    """The variant a price user error names: `["variants", "3", "price"]` -> 3."""
    if (
        isinstance(field, list)
        and len(field) >= 2
        and field[0] == "variants"
        and isinstance(field[1], str)
        and _ROW_FIELD.fullmatch(field[1])
    ):
        return int(field[1])
    return None


def _row_of(field: Any) -> int | None:
    """The row a user error names: `["input", "quantities", "3", "changeFromQuantity"]` -> 3."""
    if (
        isinstance(field, list)
        and len(field) >= 3
        and field[:2] == ["input", "quantities"]
        and isinstance(field[2], str)
        and _ROW_FIELD.fullmatch(field[2])
    ):
        return int(field[2])
    return None


def _code(error: Any) -> str | None:
    if isinstance(error, dict):
        code = (error.get("extensions") or {}).get("code")
        return str(code) if code is not None else None
    return None
