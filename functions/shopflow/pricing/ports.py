"""What pricing needs from wherever its records are kept, and the inputs it takes.

Pure: no AWS import. `shopflow.store.pricing` is the DynamoDB adapter and its in-memory twin.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the api loads these inputs; the engine only where prices are decided
    from shopflow.pricing.model import CompetitorObservation
    from shopflow.pricing.recorded import DailySales
    from shopflow.pricing.reprice import PriceChange, Repriced
    from shopflow.pricing.state import PricingInputs, Proposal, SkuPrices


@dataclass(frozen=True)
class ReceivedPricingInputs:
    event_id: str
    inputs: PricingInputs
    via: str


@dataclass(frozen=True)
class ReceivedCompetitorPrice:
    """A verified `competitor_price.observed`."""

    event_id: str
    sku: str
    observation: CompetitorObservation
    via: str


@dataclass(frozen=True)
class ReceivedCost:
    """A SKU's unit cost from a platform (Shopify `inventory_items/update`), in the shop's
    currency: it changes the cost only, bounds and group stay as the ERP described them."""

    event_id: str
    sku: str
    cost: Decimal
    at: datetime  # when the platform changed it: an older one changes nothing
    via: str


class PricesConflict(Exception):
    """The SKU's record changed since it was read (another reprice, an input): read it again."""


class PricingStore(Protocol):
    def get(self, sku: str) -> SkuPrices | None: ...

    def sales(self, shard: int, day: date) -> Sequence[DailySales]:
        """What orders sold of the shard's SKUs on one (UTC) day, per SKU and source."""
        ...

    def get_many(self, skus: Sequence[str]) -> Mapping[str, SkuPrices]:
        """The records of `skus` that exist (reads in batches of 100)."""
        ...

    def pages(self, shard: int) -> Iterator[Sequence[SkuPrices]]:
        """Every SKU of one shard (`shard_of`), a page at a time."""
        ...

    def save(self, repriced: Repriced) -> None:
        """Write `repriced.after` if the record is still at `before.version` (else `PricesConflict`),
        with a history line and a `PriceChanged` event per applied price, and the owner's list
        of waiting proposals updated; all or nothing."""
        ...

    def claim_run(self, now: datetime, every_minutes: int) -> bool:
        """Begin a scheduled run, unless one began under `every_minutes` ago (then False)."""
        ...

    def proposals(self) -> Sequence[Proposal]:
        """Every proposal waiting for the owner, oldest first."""
        ...

    def history(self, sku: str, limit: int = 100) -> Sequence[PriceChange]:
        """The SKU's applied prices on every channel, newest first."""
        ...
