"""What the catalog capability receives and the repository it reaches its products through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shopflow.catalog.model import Product


@dataclass(frozen=True)
class SkuVariant:
    """A SKU's variant on a platform: its product, variant and inventory item ids."""

    source: str
    sku: str
    product_id: str
    variant_id: str
    inventory_item_id: str | None
    price: Decimal | None = None  # the platform's selling price, as its product last described it


@dataclass(frozen=True)
class ReceivedProduct:
    """A verified delivery describing a product (its tags): newest wins, a repeat changes nothing."""

    product: Product
    via: str


class Catalog(Protocol):
    def save(self, product: Product) -> bool:
        """Store `product` unless one as new or newer is stored; True when it was written."""
        ...

    def tags(self, keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The tags of each known product among `keys` (`source:product_id`)."""
        ...

    def sku_of_inventory_item(self, source: str, inventory_item_id: str) -> str | None:
        """The SKU of the variant whose inventory item this is, as its product last said."""
        ...

    def variant_of_sku(self, source: str, sku: str) -> SkuVariant | None:
        """Where `sku` is on `source`, as its product last said (a channel's listing)."""
        ...
