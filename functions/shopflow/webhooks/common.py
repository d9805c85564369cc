"""What every sender's intake shares: the parsed delivery, and payload errors that name a field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shopflow.carts.model import CartChange
from shopflow.catalog.model import Product
from shopflow.orders.changes import OrderChange

MAX_BODY_BYTES = 1024 * 1024


class PayloadError(Exception):
    """The delivery is signed but not a valid payload (answer 400, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Delivery:
    """A verified, normalized delivery: what to record and how to recognise it again."""

    dedup_keys: tuple[str, ...]
    change: OrderChange
    via: str  # "shopify orders/paid": names the sender and topic on the timeline
    # A create topic: try to insert without reading first (one request for a new order).
    expect_new: bool = False


@dataclass(frozen=True)
class CartDelivery:
    """A verified delivery about a shopper's cart (checkout), not an order."""

    dedup_keys: tuple[str, ...]
    change: CartChange
    via: str


@dataclass(frozen=True)
class ProductDelivery:
    """A verified delivery describing a product (its tags): newest wins, a repeat changes nothing."""

    product: Product
    via: str


Received = Delivery | CartDelivery | ProductDelivery


@dataclass(frozen=True)
class Ignored:
    """A verified delivery shopflow does not act on (yet); answered 200, nothing stored."""

    reason: str


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("body", f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object")
    return data


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Mapping[str, Any], *, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
        raise PayloadError(field or "body", first["msg"]) from exc


def header(headers: Mapping[str, str], name: str) -> str:
    """A required header (400 naming it when absent)."""
    value = headers.get(name)
    if not value:
        raise PayloadError(f"header {name}", "is required")
    return value


def as_utc(moment: datetime) -> datetime:
    """Platforms send naive GMT times (WooCommerce `*_gmt`) or offsets (Shopify)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
