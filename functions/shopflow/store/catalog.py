"""The product catalog: one item per product, newest platform change wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from pynamodb.exceptions import PutError

from shopflow.catalog.model import Product
from shopflow.catalog.ports import SkuVariant
from shopflow.store.models import InventoryItemLink, ProductItem
from shopflow.store.orders import iso


def product_pk(key: str) -> str:
    return f"PRODUCT#{key}"


def inventory_item_pk(source: str, inventory_item_id: str) -> str:
    return f"INVENTORYITEM#{source}:{inventory_item_id}"


def sku_variant_pk(source: str, sku: str) -> str:
    return f"SKUVARIANT#{source}:{sku}"


def _variant(source: str, link: InventoryItemLink) -> SkuVariant:
    price = None if link.price is None else Decimal(link.price)
    return SkuVariant(source, link.sku, link.product_id, link.variant_id, link.inventory_item_id, price)


class DynamoCatalog:
    def save(self, product: Product) -> bool:
        stamp = iso(product.updated_at)
        item = ProductItem(
            product_pk(product.key),
            "PRODUCT",
            item_type="PRODUCT",
            document=product.model_dump_json(),
            updated_at=stamp,
        )
        # One conditional put: a repeated or older delivery (webhooks arrive out of order) loses.
        try:
            item.save(condition=ProductItem.pk.does_not_exist() | (ProductItem.updated_at < stamp))
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        # Then each variant's links both ways (idempotent puts: a retry writes them again):
        # inventory item -> SKU (Shopify's levels), SKU -> variant (a channel's listing).
        linked = [v for v in product.variants if v.sku]
        if linked:
            with InventoryItemLink.batch_write() as batch:
                for variant in linked:
                    keys = [(sku_variant_pk(product.source, variant.sku or ""), "VARIANT")]
                    if variant.inventory_item_id:
                        keys.append((inventory_item_pk(product.source, variant.inventory_item_id), "SKU"))
                    for pk, sk in keys:
                        batch.save(
                            InventoryItemLink(
                                pk,
                                sk,
                                item_type="CATALOG_LINK",
                                sku=variant.sku,
                                product_id=product.product_id,
                                variant_id=variant.variant_id,
                                inventory_item_id=variant.inventory_item_id,
                                price=None if variant.price is None else str(variant.price),
                            )
                        )
        return True

    def sku_of_inventory_item(self, source: str, inventory_item_id: str) -> str | None:
        try:
            link = InventoryItemLink.get(inventory_item_pk(source, inventory_item_id), "SKU")
        except InventoryItemLink.DoesNotExist:
            return None
        return link.sku

    def variant_of_sku(self, source: str, sku: str) -> SkuVariant | None:
        try:
            link = InventoryItemLink.get(sku_variant_pk(source, sku), "VARIANT")
        except InventoryItemLink.DoesNotExist:
            return None
        return _variant(source, link)

    def variants_of_skus(self, source: str, skus: Iterable[str]) -> dict[str, SkuVariant]:
        """The SKUs' variants on `source` that the catalog knows, in batches of 100 (BatchGetItem)."""
        wanted = sorted(set(skus))
        found: dict[str, SkuVariant] = {}
        for start in range(0, len(wanted), 100):
            keys = [(sku_variant_pk(source, sku), "VARIANT") for sku in wanted[start : start + 100]]
            for link in InventoryItemLink.batch_get(keys):
                found[link.sku] = _variant(source, link)
        return found

    def tags(self, keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        found: dict[str, tuple[str, ...]] = {}
        for item in ProductItem.batch_get([(product_pk(key), "PRODUCT") for key in wanted]):
            product = Product.model_validate_json(item.document)
            found[product.key] = product.tags
        return found


@dataclass
class InMemoryCatalog:
    products: dict[str, Product] = field(default_factory=dict)

    def save(self, product: Product) -> bool:
        stored = self.products.get(product.key)
        if stored is not None and stored.updated_at >= product.updated_at:
            return False
        self.products[product.key] = product
        return True

    def tags(self, keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
        return {key: self.products[key].tags for key in keys if key in self.products}

    def sku_of_inventory_item(self, source: str, inventory_item_id: str) -> str | None:
        for product in self.products.values():
            for variant in product.variants:
                if product.source == source and variant.inventory_item_id == inventory_item_id:
                    return variant.sku
        return None

    def variant_of_sku(self, source: str, sku: str) -> SkuVariant | None:
        for product in self.products.values():
            for variant in product.variants:
                if product.source == source and variant.sku == sku:
                    return SkuVariant(
                        source,
                        sku,
                        product.product_id,
                        variant.variant_id,
                        variant.inventory_item_id,
                        variant.price,
                    )
        return None

    def variants_of_skus(self, source: str, skus: Iterable[str]) -> dict[str, SkuVariant]:
        return {sku: found for sku in skus if (found := self.variant_of_sku(source, sku)) is not None}
