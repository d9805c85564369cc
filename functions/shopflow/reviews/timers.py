"""When a review request is due: armed when an order is delivered, fanned out per channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shopflow.kernel.capability import OrderTimers
from shopflow.kernel.messages import CHANNELS
from shopflow.kernel.queue_messages import HeldMessage
from shopflow.kernel.timers import TimerRequest
from shopflow.orders.changes import DomainEvent, delivers
from shopflow.orders.model import Order

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings

REVIEW_REQUEST = "review_request"  # the timer action


def review_requests(
    events: tuple[DomainEvent, ...], now: datetime, review_after: timedelta | None
) -> tuple[TimerRequest, ...]:
    """A review request for an order that has just been delivered (checked again when due)."""
    if review_after is None:
        return ()
    return tuple(
        TimerRequest(
            timer_id=f"review#{event.order_id}",
            action=REVIEW_REQUEST,
            due_at=now + review_after,
            payload=json.dumps({"order_id": event.order_id}),
        )
        for event in events
        if delivers(event)
    )


def review_request_planner(settings: Settings) -> OrderTimers:
    review_after = timedelta(days=settings.int_value("notify.review.after_days"))

    def plan(events: tuple[DomainEvent, ...], order: Order, now: datetime) -> tuple[TimerRequest, ...]:
        return review_requests(events, now, review_after)

    return plan


def fan_out(payload: dict[str, Any], to_notify: Callable[[HeldMessage], None]) -> None:
    """The due request -> one held message per channel: notify decides each (consent, the
    order's status by then) and sends it once."""
    order_id = str(payload["order_id"])
    for channel in CHANNELS:
        to_notify(
            HeldMessage(subject_id=order_id, kind="review", channel=channel, cause=f"review#{order_id}")
        )
