"""Money as shopflow keeps it: `Decimal` in a currency, never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field


def _upper(code: str) -> str:
    return code.upper()


CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(_upper)]
# Money shopflow keeps: never negative, at most 4 decimals and 18 digits (docs/orders.md, limits).
AMOUNT_PLACES = 4
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=AMOUNT_PLACES, allow_inf_nan=False)]
