"""Which message each order event causes: a new order gets the one message of its first status."""

from __future__ import annotations

import pytest

from shopflow.orders.message_kinds import kinds_for
from shopflow.orders.model import OrderStatus


@pytest.mark.parametrize(
    ("status", "first_message"),
    [
        (OrderStatus.PENDING, ("confirmation",)),
        (OrderStatus.PAID, ("confirmation",)),  # one confirmation, not a confirmation and a "paid"
        (OrderStatus.PROCESSING, ("confirmation",)),
        (OrderStatus.SHIPPED, ("shipped",)),  # not a confirmation promising to say when it ships
        (OrderStatus.DELIVERED, ("delivered",)),
        (OrderStatus.CANCELLED, ("cancelled",)),
        (OrderStatus.REFUNDED, ("refunded",)),
        (OrderStatus.RETURNED, ()),
    ],
)
def test_a_new_order_gets_the_message_of_the_status_it_arrives_in(
    status: OrderStatus, first_message: tuple[str, ...]
) -> None:
    assert kinds_for("OrderPlaced", status) == first_message


def test_a_status_change_sends_that_statuss_message_and_processing_sends_none() -> None:
    assert kinds_for("OrderStatusChanged", OrderStatus.PAID) == ("paid",)
    assert kinds_for("OrderStatusChanged", OrderStatus.SHIPPED) == ("shipped",)
    assert kinds_for("OrderStatusChanged", OrderStatus.PROCESSING) == ()
    assert kinds_for("OrderDelayed", OrderStatus.PAID) == ("delayed",)
