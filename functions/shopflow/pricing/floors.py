"""Floors, ceilings and channel prices (issue 16, item 3; the formulas are in docs/pricing.md).

`min_margin` is a fraction of the selling price. A base price B is in the SKU's currency; a channel
price p in the channel's, `fx` converting one to the other. A channel keeps `commission * p`, at
least `min_fee`, plus `fixed_fee` per item.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from shopflow.pricing.model import ONE, Channel, cents_up

# A floor is a quotient with more digits than Decimal keeps: rounded up, never a hair under.
_UP = Context(prec=28, rounding=ROUND_CEILING)


def check_margin(commission: Decimal, min_margin: Decimal, where: str) -> None:
    """A commission and a margin that leave nothing of the price to cover cost: refused."""
    if commission + min_margin >= ONE:
        raise ValueError(
            f"{where}: commission {commission} + min_margin {min_margin} must stay under 1,"
            " or no price covers the cost"
        )


def base_floor(cost: Decimal, min_price: Decimal | None, min_margin: Decimal) -> Decimal:
    """`max(min_price, cost / (1 - min_margin))`, base currency."""
    floor = _UP.divide(cost, ONE - min_margin)
    return floor if min_price is None or min_price < floor else min_price


def ceiling(cost: Decimal, max_price: Decimal | None, max_markup: Decimal | None) -> Decimal | None:
    """`max_price`, else `cost * max_markup`; None when neither is set (no ceiling)."""
    if max_price is not None:
        return max_price
    return None if max_markup is None else cost * max_markup


def gross_up(base: Decimal, channel: Channel) -> Decimal:
    """The exact channel price that leaves `base` after the channel's fees:
    `p = (B*fx + fixed_fee) / (1 - commission)`, at least `B*fx + fixed_fee + min_fee` when
    `commission * p < min_fee`."""
    net = base * channel.fx + channel.fixed_fee
    price = net / (ONE - channel.commission)
    if channel.commission * price < channel.min_fee:
        return net + channel.min_fee
    return price


def channel_floor(cost: Decimal, channel: Channel, min_margin: Decimal) -> Decimal:
    """`(cost*fx + fixed_fee) / (1 - commission - min_margin)`; with a minimum fee also
    `(cost*fx + fixed_fee + min_fee) / (1 - min_margin)`, the higher of the two: below that the
    minimum fee eats the margin (decision 74)."""
    check_margin(channel.commission, min_margin, f"channel {channel.name}")
    outlay = cost * channel.fx + channel.fixed_fee
    floor = _UP.divide(outlay, ONE - channel.commission - min_margin)
    if channel.min_fee > 0:
        with_min_fee = _UP.divide(outlay + channel.min_fee, ONE - min_margin)
        if with_min_fee > floor:
            return with_min_fee
    return floor


def round_up_to_ending(price: Decimal, ending: Decimal | None) -> Decimal:
    """The smallest price >= `price` that ends in `ending` (0.99), or in whole cents without one."""
    if ending is None:
        return cents_up(price)
    whole = price.to_integral_value(rounding=ROUND_FLOOR)
    candidate = whole + ending
    return candidate if candidate >= price else candidate + ONE


def channel_price(base: Decimal, channel: Channel, cost: Decimal, min_margin: Decimal) -> Decimal:
    """The channel's price for base price `base`: grossed up, never under the channel floor,
    rounded up to the channel's ending."""
    price = gross_up(base, channel)
    floor = channel_floor(cost, channel, min_margin)
    return round_up_to_ending(price if price >= floor else floor, channel.price_ending)


def margin(price: Decimal, cost: Decimal, channel: Channel) -> Decimal:
    """What is left of a channel price after commission (at least the minimum fee), the fixed fee
    and the cost, as a fraction of the price."""
    fee = channel.commission * price
    if fee < channel.min_fee:
        fee = channel.min_fee
    return (price - fee - channel.fixed_fee - cost * channel.fx) / price
