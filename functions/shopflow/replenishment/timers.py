"""When a delivered order's replenishment reminder is due: one timer per order with consumables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.kernel.capability import OrderTimers
from shopflow.kernel.timers import TimerRequest
from shopflow.orders.changes import DomainEvent, delivers
from shopflow.orders.model import Order
from shopflow.replenishment.rules import (
    REPLENISHMENT,
    TagLookup,
    consumables_of,
    reminder_due,
    replenishment_rules,
)

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


def replenishment_planner(settings: Settings, read_tags: TagLookup | None) -> OrderTimers | None:
    """The reminder of an order that has just been delivered, if it holds consumables (product
    tags read from the catalog only when a tag rule could apply); None without rules."""
    rules = replenishment_rules(settings)
    if not rules.rules:
        return None

    def plan(events: tuple[DomainEvent, ...], order: Order, now: datetime) -> tuple[TimerRequest, ...]:
        if not any(delivers(event) for event in events):
            return ()
        due = reminder_due(consumables_of(order, rules, read_tags), now, rules.lead)
        if due is None:
            return ()
        return (
            TimerRequest(
                timer_id=f"replenish#{order.order_id}",
                action=REPLENISHMENT,
                due_at=due,
                payload=json.dumps({"flow": REPLENISHMENT, "order_id": order.order_id}),
            ),
        )

    return plan
