"""Replenishment rules, pure: which lines run out, when the reminder is due, whether it may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shopflow.orders.model import Customer, Order, OrderLine, OrderStatus, PastOrder
from shopflow.replenishment.rules import (
    Remind,
    ReplenishmentRules,
    Skip,
    check_reminder,
    consumables,
    parse_rule,
    reminder_due,
    tag_keys,
)

DELIVERED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FOOD = OrderLine(sku="CAT-2KG", name="Cat food 2 kg", quantity=2, unit_price=Decimal("40"), product_id="11")
CAPSULES = OrderLine(sku="CAPS-10", name="Capsules x10", quantity=3, unit_price=Decimal("5"), product_id="22")
MUG = OrderLine(sku="MUG", name="Mug", quantity=1, unit_price=Decimal("9"), product_id="33")
ORDER = Order(
    order_id="shopify:1",
    source="shopify",
    external_id="1",
    number="#1",
    status=OrderStatus.DELIVERED,
    currency="EUR",
    total=Decimal("104"),
    lines=(FOOD, CAPSULES, MUG),
    customer=Customer(email="ann@example.com"),
    placed_at=DELIVERED_AT - timedelta(days=3),
)


def rules(*entries: str, lead_days: int = 5) -> ReplenishmentRules:
    return ReplenishmentRules(tuple(parse_rule(e) for e in entries), timedelta(days=lead_days))


def test_a_sku_rule_beats_a_product_rule_beats_a_tag_rule_and_the_shortest_tag_wins() -> None:
    owner = rules("tag:coffee=10", "tag:kitchen=30", "product:11=20", "sku:cat-2kg=15")
    tags = {"shopify:22": ("coffee", "kitchen"), "shopify:11": ("coffee",)}

    found = {c.line.sku: c.lasts for c in consumables(ORDER, owner, tags)}

    # 2 x 15 days (SKU rule, case-insensitive), 3 x 10 days (shorter tag); the mug has no rule.
    assert found == {"CAT-2KG": timedelta(days=30), "CAPS-10": timedelta(days=30)}


def test_the_reminder_is_due_lead_days_before_the_first_supply_runs_out() -> None:
    owner = rules("sku:CAT-2KG=15", "sku:CAPS-10=4", lead_days=5)

    found = consumables(ORDER, owner, {})

    assert reminder_due(found, DELIVERED_AT, owner.lead) == DELIVERED_AT + timedelta(days=12 - 5)


def test_a_supply_shorter_than_the_lead_time_gets_no_reminder() -> None:
    owner = rules("sku:MUG=5", lead_days=5)

    assert consumables(ORDER, owner, {}) == ()
    assert reminder_due((), DELIVERED_AT, owner.lead) is None


def test_tags_are_read_only_when_a_tag_rule_exists() -> None:
    assert tag_keys(ORDER, rules("sku:CAT-2KG=15")) == frozenset()
    assert tag_keys(ORDER, rules("tag:coffee=10")) == {"shopify:11", "shopify:22", "shopify:33"}


@pytest.mark.parametrize(
    "text", ["cat-2kg=15", "sku:=15", "sku:CAT=0", "sku:CAT=366", "size:XL=3", "sku:CAT"]
)
def test_a_malformed_rule_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=text.split("=")[0] if "=" in text else text):
        parse_rule(text)


NOW = DELIVERED_AT + timedelta(days=25)
FOUND = consumables(ORDER, rules("sku:CAT-2KG=15", "sku:CAPS-10=10"), {})
PAUSE = timedelta(days=3)


def past(order_id: str, days_ago: int, *products: str) -> PastOrder:
    return PastOrder(order_id, NOW - timedelta(days=days_ago), frozenset(products))


def test_the_order_itself_does_not_count_as_a_reorder() -> None:
    mine = PastOrder(ORDER.order_id, ORDER.placed_at or NOW, frozenset({"CAT-2KG", "11", "CAPS-10", "22"}))

    verdict = check_reminder(ORDER, FOUND, purchases=[mine], now=NOW, pause_after_order=PAUSE)

    assert verdict == Remind(FOUND)


def test_a_reorder_by_product_id_or_sku_removes_that_product() -> None:
    verdict = check_reminder(
        ORDER, FOUND, purchases=[past("shopify:2", 10, "22")], now=NOW, pause_after_order=PAUSE
    )
    assert isinstance(verdict, Remind) and [c.line.sku for c in verdict.items] == ["CAT-2KG"]

    both = [past("shopify:2", 10, "22"), past("shopify:3", 8, "CAT-2KG")]
    verdict = check_reminder(ORDER, FOUND, purchases=both, now=NOW, pause_after_order=PAUSE)
    assert verdict == Skip("ordered again (order shopify:3)")


def test_any_order_in_the_pause_holds_the_reminder_back() -> None:
    verdict = check_reminder(
        ORDER, FOUND, purchases=[past("shopify:4", 2, "MUG")], now=NOW, pause_after_order=PAUSE
    )

    assert verdict == Skip("ordered recently (order shopify:4): no reminders for 3 days")


@pytest.mark.parametrize("status", [OrderStatus.REFUNDED, OrderStatus.RETURNED])
def test_no_reminder_for_an_order_that_came_back(status: OrderStatus) -> None:
    order = ORDER.model_copy(update={"status": status})

    verdict = check_reminder(order, FOUND, purchases=[], now=NOW, pause_after_order=PAUSE)

    assert verdict == Skip(f"order is {status} now")
