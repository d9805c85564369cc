"""Review requests: some days after delivery, the customer is asked to review what they bought."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shopflow.kernel.capability import Capability, OrderTimers, TimerAction
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting, product_url_check

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

KINDS: tuple[MessageKind, ...] = (MessageKind("review", transactional=False, needs_links=True),)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "notify.review.after_days",
        "int",
        "Days after delivery the customer is asked for a review (marketing: needs their consent).",
        default=7,
        minimum=1,
        maximum=90,
    ),
    Setting(
        "notify.review.url_template",
        "string",
        "Review page of a product, {product_id} or {sku} filled in; no review request is sent until set.",
        check=product_url_check,
    ),
)


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.reviews.flow import ReviewRequests  # only notify loads flows

    return (
        ReviewRequests(
            get_order=runtime.orders.get, buyers=runtime.buyers, settings=runtime.settings.load, kinds=KINDS
        ),
    )


def timer_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    from shopflow.reviews.timers import REVIEW_REQUEST, fan_out

    return {REVIEW_REQUEST: lambda payload: fan_out(payload, runtime.to_notify)}


def order_timers(runtime: Runtime, settings: Settings) -> Sequence[OrderTimers]:
    from shopflow.reviews.timers import review_request_planner

    return (review_request_planner(settings),)


CAPABILITY = Capability(
    name="reviews",
    settings=SETTINGS,
    kinds=KINDS,
    message_flows=message_flows,
    timer_actions=timer_actions,
    order_timers=order_timers,
)
