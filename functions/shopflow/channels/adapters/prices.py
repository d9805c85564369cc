"""What every adapter does alike with a price push: refuse one that is not a price, write money as text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from shopflow.channels.ports import PricePush

CENT = Decimal("0.01")


def money_text(amount: Decimal) -> str:
    """Money as the channels take it: a decimal string, two decimals at least ("19.9" -> "19.90"),
    never an exponent, never rounded. (pricing.model.text says the same, but pricing builds on
    channels, so channels cannot import it.)"""
    if amount == amount.quantize(CENT):
        return f"{amount.quantize(CENT):f}"
    return f"{amount.normalize():f}"


def price_refusal(push: PricePush) -> str | None:
    """Why `push` must not reach a channel (None: it may); checked before any request."""
    if not _writable(push.price) or push.price < 0:
        return f"price {push.price}: a price is a finite amount, zero or more"
    if push.was is not None:
        if not _writable(push.was):
            return f"was {push.was}: a prior price is a finite amount"
        if push.was <= push.price:
            return (
                f"was {money_text(push.was)} is not above the price {money_text(push.price)}:"
                " only a cut shows a prior price"
            )
    currency = push.currency
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()):
        return f"currency {currency!r}: an ISO 4217 code such as EUR"
    return None


def _writable(amount: Decimal) -> bool:
    try:
        money_text(amount)
    except InvalidOperation:  # beyond the context's 28 digits in cents
        return False
    return amount.is_finite()
