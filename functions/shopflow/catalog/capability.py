"""The catalog: products as the storefronts describe them (tags feed replenishment's tag rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shopflow.kernel.capability import Capability, Intake, IntakeHandler

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.catalog.ports import ReceivedProduct  # cold start: the api loads it on its first input

    def record(received: ReceivedProduct, settings: Any) -> Intake:
        product = received.product
        written = runtime.catalog.save(product)
        return Intake(
            "accepted" if written else "ignored",
            {"product_id": product.key},
            None if written else "not newer than the stored product",
            {"tags": list(product.tags)},
        )

    return {ReceivedProduct: record}


CAPABILITY = Capability(name="catalog", intake=intake)
