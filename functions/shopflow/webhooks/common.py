"""What every sender's intake shares: the parsed delivery, payload errors that name a field,
and the bounded types a platform's fields are read with (limits in docs/orders.md)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import AfterValidator, BaseModel, Field, PlainValidator, ValidationError

from shopflow.back_in_stock.ports import ReceivedSubscription, ReceivedUnsubscription
from shopflow.carts.ports import ReceivedCartChange
from shopflow.catalog.ports import ReceivedProduct
from shopflow.channels.listings import ReceivedListing
from shopflow.kernel.money import AMOUNT_PLACES
from shopflow.orders.model import MAX_TEXT_CHARS
from shopflow.orders.ports import ReceivedChange
from shopflow.pricing.ports import ReceivedCompetitorPrice, ReceivedCost, ReceivedPricingInputs
from shopflow.stock.ports import ReceivedInventoryLevel, ReceivedStockChange

MAX_BODY_BYTES = 1024 * 1024
MAX_ID_CHARS = 128  # a string id (order, line product, customer, refund, checkout, product)
MAX_ID_DIGITS = 20  # an integer id: Shopify's are below 2**63 (19 digits)
MAX_HEADER_ID_CHARS = 256  # a delivery id header (X-Shopify-Webhook-Id, webhook-id)
MAX_UNIT_PRICE = Decimal(10) ** 14  # what an Amount holds before its 4 decimals
# A JSON integer longer than this is kept as a Decimal: no field takes it (ids stop at 20
# digits), so it is refused naming its field, and Python's int/str digit limit is never reached.
_MAX_JSON_INT_DIGITS = 40
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class PayloadError(Exception):
    """The delivery is signed but not a valid payload (answer 400, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


Received = (
    ReceivedChange
    | ReceivedCartChange
    | ReceivedProduct
    | ReceivedStockChange
    | ReceivedInventoryLevel
    | ReceivedListing
    | ReceivedSubscription
    | ReceivedUnsubscription
    | ReceivedPricingInputs
    | ReceivedCompetitorPrice
    | ReceivedCost
)


@dataclass(frozen=True)
class Ignored:
    """A verified delivery shopflow does not act on (yet); answered 200, nothing stored."""

    reason: str


class JsonNumber(Decimal):
    """A JSON number written with a fraction or an exponent, kept exactly as sent (never a binary
    float): `3.3333333333333335` stays that, and a contract that wants a string can tell."""


def _json_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _MAX_JSON_INT_DIGITS else Decimal(text)


def _json_constant(name: str) -> NoReturn:
    raise PayloadError("body", f"{name} is not a JSON number")


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_float=JsonNumber, parse_int=_json_int, parse_constant=_json_constant)
    except RecursionError:
        raise PayloadError("body", "nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise PayloadError("body", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object")
    if _SURROGATE_ESCAPE.search(body):
        # json accepts a lone "\ud800"; such a string cannot be stored or sent (not UTF-8).
        path = _lone_surrogate(data, ())
        if path is not None:
            raise PayloadError(".".join(path) or "body", "is not valid text (a lone UTF-16 surrogate)")
    return data


def _lone_surrogate(value: object, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """Where in the parsed body a string holds a lone surrogate (None when nowhere)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path
        return None
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _lone_surrogate(key, ()) is not None:
                return path
            items.append((key, item))
    elif isinstance(value, list):
        items = [(str(i), item) for i, item in enumerate(value)]
    for key, item in items:
        found = _lone_surrogate(item, (*path, key))
        if found is not None:
            return found
    return None


def _platform_id(value: object) -> str:
    if isinstance(value, str):
        if not 0 < len(value) <= MAX_ID_CHARS or not value.isprintable():
            raise ValueError(f"must be 1 to {MAX_ID_CHARS} printable characters")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value < 10**MAX_ID_DIGITS:
            raise ValueError(f"must be a positive integer of at most {MAX_ID_DIGITS} digits")
        return str(value)
    raise ValueError("must be a string or a positive integer")


# An id as the platform sends it (a positive integer or a string), kept as a string.
PlatformId = Annotated[str, PlainValidator(_platform_id, json_schema_input_type=int | str)]
# A platform's reference that may be 0 for "none" (a WooCommerce guest's customer_id).
PlatformRef = Annotated[int, Field(strict=True, ge=0, lt=10**MAX_ID_DIGITS)]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
# Product and line names: WooCommerce (and some Shopify apps) send them HTML-escaped
# (`Ship Your Idea &ndash; Black`); decoded once here, escaped again only by the HTML template.
ProductName = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(html.unescape)]
_PLACES = Decimal(1).scaleb(-AMOUNT_PLACES)
MOMENT_YEARS = (1970, 2200)


def _plausible_moment(value: datetime) -> datetime:
    # Year 1 or 9999 with an offset cannot even be converted to UTC (OverflowError).
    if not MOMENT_YEARS[0] <= value.year <= MOMENT_YEARS[1]:
        raise ValueError(f"must be between the years {MOMENT_YEARS[0]} and {MOMENT_YEARS[1]}")
    return value


# A platform's timestamp (ISO 8601; naive means UTC, see `as_utc`).
Moment = Annotated[datetime, AfterValidator(_plausible_moment)]


def _display_price(value: Decimal) -> Decimal:
    return Decimal(value).quantize(_PLACES, rounding=ROUND_HALF_EVEN)


# A unit price a platform computes as total / quantity and sends as a float (WooCommerce):
# any decimals accepted, kept to 4 for display; the line's exact total is kept beside it.
ComputedUnitPrice = Annotated[
    Decimal, Field(ge=0, lt=MAX_UNIT_PRICE, allow_inf_nan=False), AfterValidator(_display_price)
]


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Mapping[str, Any], *, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise payload_error(exc, prefix=prefix) from None


def payload_error(exc: ValidationError, *, prefix: str = "") -> PayloadError:
    """The first error, naming its field; its message never quotes the value (it may be personal)."""
    first = exc.errors(include_input=False, include_url=False)[0]
    field = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    return PayloadError(field or "body", first["msg"])


def header(headers: Mapping[str, str], name: str) -> str:
    """A required header (400 naming it when absent or longer than a delivery id may be)."""
    value = optional_header(headers, name)
    if not value:
        raise PayloadError(f"header {name}", "is required")
    return value


def optional_header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None and len(value) > MAX_HEADER_ID_CHARS:
        raise PayloadError(f"header {name}", f"is longer than {MAX_HEADER_ID_CHARS} characters")
    return value


def as_utc(moment: datetime) -> datetime:
    """Platforms send naive GMT times (WooCommerce `*_gmt`) or offsets (Shopify)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
