"""Dynamic pricing (issue 16): prices that follow the market within the owner's margin and bands.

Declares the `pricing.*` settings and the `pricing.strategy.<group>` strategies, records
`product.pricing_updated` and `competitor_price.observed` (intake), and publishes `PriceChanged`
to the price push queue and `PriceProposalsWaiting` (the owner's daily email, `digest.py`) to
notify. The reprice itself (`service.py`) runs on a schedule, per shard from the reprice queue,
and on demand (`shopflow prices reprice`). Its repository is `runtime.pricing`
(`store/pricing.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shopflow.kernel.capability import Capability, Intake, IntakeHandler, OrderWrites
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.pricing.settings import (
    NO_SHOP_CURRENCY,
    OFF,
    SETTINGS,
    STRATEGY_SETTINGS,
    enabled,
    margin_problems,
    shop_currency,
)

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.pricing.ports import ReceivedCompetitorPrice, ReceivedCost, ReceivedPricingInputs

    def record_inputs(received: ReceivedPricingInputs, settings: Settings) -> Intake:
        from shopflow.pricing.service import record_inputs  # cold start: only these inputs load it

        if not enabled(settings):
            return Intake("ignored", {"sku": received.inputs.sku}, OFF)
        return record_inputs(received, runtime.pricing)

    def record_observation(received: ReceivedCompetitorPrice, settings: Settings) -> Intake:
        from shopflow.pricing.service import record_observation

        if not enabled(settings):
            return Intake("ignored", {"sku": received.sku}, OFF)
        return record_observation(received, runtime.pricing)

    def record_cost(received: ReceivedCost, settings: Settings) -> Intake:
        from shopflow.pricing.service import record_cost

        if not enabled(settings):
            return Intake("ignored", {"sku": received.sku}, OFF)
        currency = shop_currency(settings, "shopify")
        if currency is None:  # Shopify's cost is in the shop's currency, which only the channel names
            return Intake("ignored", {"sku": received.sku}, NO_SHOP_CURRENCY)
        return record_cost(received, currency, runtime.pricing)

    return {
        ReceivedPricingInputs: record_inputs,
        ReceivedCompetitorPrice: record_observation,
        ReceivedCost: record_cost,
    }


def order_writes(runtime: Runtime, settings: Settings) -> Sequence[OrderWrites]:
    """Sales per SKU and day, added by the order's own commit (`shopflow prices simulate`)."""
    if not enabled(settings):
        return ()
    from shopflow.pricing.recorded import OrderSalesWrites  # loaded with the first order input

    return (OrderSalesWrites(runtime.pricing),)


# The owner's daily email of the proposals waiting (pricing/digest.py): transactional, email.
MESSAGE_KINDS: tuple[MessageKind, ...] = (MessageKind("price_proposals", transactional=True),)


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.pricing.digest import PriceProposalMessages  # only notify loads flows

    return (PriceProposalMessages(settings=runtime.settings.load, kinds=MESSAGE_KINDS),)


CAPABILITY = Capability(
    name="pricing",
    settings=SETTINGS,
    setting_groups=(STRATEGY_SETTINGS,),
    settings_checks=(margin_problems,),
    intake=intake,
    intake_modules=("shopflow.pricing.service",),
    kinds=MESSAGE_KINDS,
    events={"PriceChanged": ("price-push",), "PriceProposalsWaiting": ("notify",)},
    message_flows=message_flows,
    order_writes=order_writes,
)
