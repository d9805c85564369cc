"""The circuit breaker (issue 15, item 5): a bad input (an ERP snapshot of zeroes, a broken
feed) must not wipe a channel's catalogue.

One run of the fan-out (a stream batch: up to 100 changes gathered for up to 5 s) adds up what
its planned pushes would take away from each channel: listings going to 0 from above, and units
shown less. If one run would zero more than max(20, 5% of the listings the channel shows) or cut
its total shown quantity by more than 30%, the channel is paused (the owner is told; `shopflow
channels resume NAME` releases it) and nothing of the run is pushed to it; the push function
drops a paused channel's orders. So a snapshot of zeroes whose run is over the limit never
reaches the channel, while an owner correcting a few counts is never paused for it. Pure:
numbers in, a verdict out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """What one run's planned pushes take away from a channel."""

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
            f"{cuts.zeroed} listings would go to 0 in one run "
            f"(more than {zero_limit} of the {totals.listed} it shows)"
        )
    if totals.shown > 0 and cuts.units > CUT_SHARE * totals.shown:
        return (
            f"the quantity it shows would fall by {cuts.units} of {totals.shown} units in one run "
            f"(more than {CUT_SHARE:.0%})"
        )
    return None
