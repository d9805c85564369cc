"""What channel sync asks of a sales channel: set absolute quantities and read them back.

An adapter (`channels/adapters/`) speaks one channel's API: Shopify Admin GraphQL, WooCommerce
REST v3, or a Standard Webhooks endpoint. It knows nothing of stock or DynamoDB: the sync
service decides what to push (only quantities that differ from what the channel acknowledged,
in order per SKU) and what to do with each answer.

- `push` sends up to `batch_limit` pushes in as few requests as the channel allows and answers
  each one: acknowledged (with the quantity the channel now shows), stale (the channel's
  quantity was not what `seen_there` said: Shopify's compare-and-set; `quantity_there` is the
  re-read value, so the service can decide again), or rejected (a per-item error, with the
  channel's reason; the other items of that request stand).
- `read` returns what the channel shows for listings (reconciliation, a stale answer, a
  listing never pushed); None for a listing the channel does not know. A webhook channel
  cannot be read: its `read` answers {} (reconciliation skips it).
- A failure of the whole call raises: `Unauthorized` (401/403, a wrong or revoked token: the
  channel is paused and the owner told, never retried), `Throttled` (429 or Shopify's THROTTLED:
  wait `retry_after` seconds), `Unavailable` (connection refused, timeout, 5xx: back off and
  retry later; nothing is known to have changed).
- `push_prices` sets the selling price of up to `price_batch_limit` listings and answers each:
  acknowledged (the channel now sells at `price`, showing `was` struck through when given and no
  struck-through price otherwise), or rejected (the channel's reason, or a push that is not a
  valid price: a negative or non-finite amount, `was` not above `price`; the others stand). Prices
  are absolute, so sending one again is harmless; the whole-call failures are those of `push`
  (plus `ChannelError` for a setup the adapter cannot use: a wrong url, a refused request).
  Shopify and WooCommerce keep no version (the last write wins), so the caller sends a SKU's
  prices for a channel in `sequence` order; a webhook receiver gets `sequence` to order them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

ChannelKind = Literal["shopify", "woocommerce", "webhook"]


class ChannelError(Exception):
    """A call to a channel failed as a whole."""


class Unauthorized(ChannelError):
    """401/403: the token is wrong or revoked. Pause the channel; retrying will not help."""


class Throttled(ChannelError):
    def __init__(self, retry_after: float, message: str = "throttled") -> None:
        super().__init__(f"{message}; retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class Unavailable(ChannelError):
    """Connection refused, a timeout, a 5xx: the channel may come back; nothing is known changed."""


@dataclass(frozen=True)
class ChannelConfig:
    """One channel as the owner configured it (`channels.<name>.*`), what an adapter needs."""

    name: str
    kind: ChannelKind
    url: str  # Shopify: https://{shop}.myshopify.com; WooCommerce: the site's root; webhook: the endpoint
    token: str  # Shopify access token; WooCommerce consumer_key:consumer_secret; webhook whsec_ secret
    location_id: str | None = None  # Shopify: the location whose `available` is set
    api_version: str = "2026-01"  # Shopify Admin API version


@dataclass(frozen=True)
class Push:
    """Set `listing_id`'s quantity to `quantity` (absolute)."""

    # Shopify: the inventory item id; WooCommerce: `{product_id}` or `{product_id}/{variation_id}`;
    # a webhook channel: the SKU.
    listing_id: str
    sku: str
    quantity: int
    seen_there: int | None  # what shopflow last saw there (Shopify's changeFromQuantity); None: unknown
    version: int  # the SKU's stock version: (listing, quantity, version) names the push for idempotency


PushStatus = Literal["acknowledged", "stale", "rejected"]


@dataclass(frozen=True)
class Pushed:
    listing_id: str
    status: PushStatus
    quantity_there: int | None  # acknowledged: what it shows now; stale: the re-read value
    error: str | None = None  # rejected: the channel's code and message


@dataclass(frozen=True)
class PricePush:
    """Set `listing_id`'s selling price; `was` is the struck-through prior price (Omnibus lowest_30d)
    when the price is a cut, else None."""

    listing_id: str  # the same listing ids as `Push` (Shopify: the inventory item id; a webhook: the SKU)
    sku: str
    price: Decimal
    was: Decimal | None
    currency: str
    sequence: int  # the price's version for this SKU and channel (idempotency, ordering)


@dataclass(frozen=True)
class PricePushed:
    listing_id: str
    status: Literal["acknowledged", "rejected"]
    error: str | None = None  # rejected: the channel's code and message


class ChannelAdapter(Protocol):
    @property
    def batch_limit(self) -> int:
        """The most pushes one `push` call takes (Shopify 250 quantities, WooCommerce 100)."""
        ...

    def push(self, pushes: Sequence[Push]) -> list[Pushed]: ...

    def read(self, listing_ids: Sequence[str]) -> Mapping[str, int | None]: ...

    @property
    def price_batch_limit(self) -> int:
        """The most price pushes one `push_prices` call takes (Shopify 250, WooCommerce 100)."""
        ...

    def push_prices(self, pushes: Sequence[PricePush]) -> list[PricePushed]: ...
