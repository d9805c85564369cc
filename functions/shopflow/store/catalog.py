"""The product catalog: one item per product, newest platform change wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pynamodb.exceptions import PutError

from shopflow.catalog.model import Product
from shopflow.store.models import ProductItem
from shopflow.store.orders import iso


def product_pk(key: str) -> str:
    return f"PRODUCT#{key}"


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
        return True

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
