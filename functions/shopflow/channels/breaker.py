"""The circuit breaker (issue 15, item 5): a bad input (an ERP snapshot of zeroes, a broken
feed) must not wipe a channel's catalogue.

Within a window of `WINDOW`, the fan-out adds up what the planned pushes would take away from a
channel: listings going to 0 from above it, and units shown less. If that would zero more than
max(20, 5% of the listings it shows) or cut its total shown quantity by more than 30%, the channel
is paused (the owner is told; `shopflow channels resume NAME` releases it) and nothing more is
pushed to it: the fan-out weighs a whole stream batch (up to 100 changes, 5 s) before it queues
any of it, and the push function drops a paused channel's orders. So a snapshot of zeroes whose
first batch alone is over the limit never reaches the channel; one that trickles in slower can
push at most the limit before the breaker trips. Pure: numbers in, a verdict out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

WINDOW = timedelta(minutes=10)
MIN_ZEROED = 20
ZEROED_SHARE = 0.05
CUT_SHARE = 0.30


@dataclass(frozen=True)
class ChannelTotals:
    """What a channel shows, as shopflow's acknowledged pushes add up."""

    listed: int = 0  # SKUs it shows above 0
    shown: int = 0  # units it shows in all


@dataclass(frozen=True)
class Cuts:
    """What planned pushes take away within the window."""

    zeroed: int = 0  # listings going to 0 from above it
    units: int = 0  # units shown less

    def __add__(self, other: Cuts) -> Cuts:
        return Cuts(self.zeroed + other.zeroed, self.units + other.units)


def cut_of(shown: int | None, wanted: int) -> Cuts:
    """What pushing `wanted` where the channel shows `shown` takes away (None: not known yet)."""
    before = shown or 0
    return Cuts(1 if before > 0 and wanted == 0 else 0, max(0, before - wanted))


def trips(totals: ChannelTotals, cuts: Cuts) -> str | None:
    """Why these cuts would trip the breaker, or None."""
    zero_limit = max(MIN_ZEROED, math.ceil(ZEROED_SHARE * totals.listed))
    if cuts.zeroed > zero_limit:
        return (
            f"{cuts.zeroed} listings would go to 0 within {WINDOW.seconds // 60} minutes "
            f"(more than {zero_limit} of the {totals.listed} it shows)"
        )
    if totals.shown > 0 and cuts.units > CUT_SHARE * totals.shown:
        return (
            f"the quantity it shows would fall by {cuts.units} of {totals.shown} units within "
            f"{WINDOW.seconds // 60} minutes (more than {CUT_SHARE:.0%})"
        )
    return None
