"""Each message flow on its own, against the in-memory repositories and a recording Outbound:
what a customer would (not) receive, and why the owner sees on the timeline (issue 13).

The notify pipeline itself (claim, render, send, settle) is tests/unit/test_notify_consumer.py's;
here the flows' own decisions: the re-check at fire time, the cart's single-use code, the links.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shopflow.carts import capability as carts_capability
from shopflow.carts.flow import CartKeptChanging, CartReminders, NoSuchCart
from shopflow.carts.model import Cart, CartStatus
from shopflow.carts.ports import StoredCart
from shopflow.config.settings import Settings
from shopflow.kernel.messages import CHANNELS, Channel, Extras, NotYet
from shopflow.kernel.queue_messages import CartStepDue, EventMessage, HeldMessage, ReplenishmentDue
from shopflow.kernel.skip import Skip
from shopflow.orders import capability as orders_capability
from shopflow.orders.changes import DomainEvent, OrderDelayed, OrderPlaced, OrderStatusChanged
from shopflow.orders.model import Customer, DiscountCode, Order, OrderLine, OrderStatus
from shopflow.orders.ports import StoredOrder
from shopflow.orders.purchases import order_buyer_keys
from shopflow.orders.status_messages import BadOrderEvent, OrderStatusMessages
from shopflow.replenishment import capability as replenishment_capability
from shopflow.replenishment.flow import NoSuchOrder, ReplenishmentReminders
from shopflow.replenishment.timers import replenishment_planner
from shopflow.reviews import capability as reviews_capability
from shopflow.reviews.flow import ReviewRequests
from shopflow.reviews.timers import fan_out, review_requests
from shopflow.store.buyers import InMemoryBuyerIndex
from shopflow.store.carts import InMemoryCartStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CART_ID = "shopify:c1"
ANN = Customer(email="ann@example.com")


@dataclass
class RecordingOutbound:
    """The notify pipeline as a flow sees it: records what the flow asks; `waiting` answers
    the channels whose message is not settled yet (all of them unless told otherwise)."""

    still_waiting: tuple[Channel, ...] = CHANNELS
    sent: list[tuple[Any, str, str]] = field(default_factory=list)
    skipped: list[tuple[Any, str, str, str]] = field(default_factory=list)
    on_send: Callable[[Any], None] = lambda subject: None

    def send(self, subject: Any, kind: str, *, cause: str) -> None:
        self.on_send(subject)
        self.sent.append((subject, kind, cause))

    def skip_waiting(self, subject: Any, kind: str, *, cause: str, reason: str) -> None:
        self.skipped.append((subject, kind, cause, reason))

    def waiting(self, subject_id: str, kind: str) -> tuple[Channel, ...]:
        return self.still_waiting


def order(
    order_id: str = "shopify:1",
    *,
    status: OrderStatus = OrderStatus.DELIVERED,
    lines: tuple[OrderLine, ...] = (),
    placed_at: datetime = START - timedelta(days=3),
) -> Order:
    return Order(
        order_id=order_id,
        source="shopify",
        external_id=order_id.split(":", 1)[1],
        number=f"#{order_id.split(':', 1)[1]}",
        status=status,
        currency="EUR",
        total=sum((line.total for line in lines), Decimal("0")) or Decimal("10"),
        lines=lines or (OrderLine(sku="MUG-1", name="Mug", quantity=1, unit_price=Decimal("10")),),
        customer=ANN,
        placed_at=placed_at,
    )


def bought(buyers: InMemoryBuyerIndex, *lines: OrderLine, order_id: str, at: datetime) -> None:
    """The customer placed `order_id` at `at` (the buyer index the reminders ask)."""
    buyers.record(order(order_id, status=OrderStatus.PAID, lines=lines, placed_at=at), at)


# --- abandoned carts ------------------------------------------------------------------------

# Default timing: step 1 after 60 minutes without activity, step 2 24 hours later.
STEP_1_DUE = START + timedelta(minutes=60)
STEP_2_DUE = STEP_1_DUE + timedelta(hours=24)


def cart(activity: datetime = START, **changes: object) -> Cart:
    fields: dict[str, object] = {
        "cart_id": CART_ID,
        "source": "shopify",
        "external_id": "c1",
        "currency": "EUR",
        "total": Decimal("40.00"),
        "lines": (OrderLine(product_id="p1", name="Teapot", quantity=1, unit_price=Decimal("40.00")),),
        "customer": ANN,
        "started_at": START,
        "last_activity_at": activity,
    }
    return Cart.model_validate({**fields, **changes})


@dataclass
class CartWorld:
    now: datetime
    the_cart: Cart | None = field(default_factory=cart)
    settings: Settings = field(default_factory=lambda: Settings({}))
    carts: InMemoryCartStore = field(default_factory=InMemoryCartStore)
    buyers: InMemoryBuyerIndex = field(default_factory=InMemoryBuyerIndex)

    def __post_init__(self) -> None:
        if self.the_cart is not None:
            self.carts.carts[CART_ID] = StoredCart(self.the_cart, 1)

    def flow(self, carts: Any = None) -> CartReminders:
        return CartReminders(
            carts or self.carts,
            self.buyers,
            lambda: self.settings,
            lambda: self.now,
            kinds=carts_capability.KINDS,
        )

    def stored(self) -> StoredCart:
        stored = self.carts.get(CART_ID)
        assert stored is not None
        return stored


def test_a_step_whose_cart_saw_activity_since_sends_and_skips_nothing() -> None:
    # The timer was armed for activity at START; the customer came back 50 minutes later.
    world = CartWorld(now=STEP_1_DUE + timedelta(minutes=5), the_cart=cart(START + timedelta(minutes=50)))
    outbound = RecordingOutbound()

    world.flow().remind(CartStepDue(cart_id=CART_ID, step=1), outbound)

    assert (outbound.sent, outbound.skipped) == ([], [])


def test_a_due_step_goes_with_the_cart_under_its_timer_as_cause() -> None:
    world = CartWorld(now=STEP_1_DUE)
    outbound = RecordingOutbound()

    world.flow().remind(CartStepDue(cart_id=CART_ID, step=1), outbound)

    assert outbound.sent == [(cart(), "cart_reminder", f"cart#{CART_ID}#1")]
    assert outbound.skipped == []


@pytest.mark.parametrize(
    ("closed", "reason"),
    [
        (cart(status=CartStatus.CONVERTED, converted_order_id="shopify:9"), "purchased (order shopify:9)"),
        (cart(status=CartStatus.DELETED), "cart deleted at the storefront"),
    ],
    ids=["converted", "deleted"],
)
def test_a_bought_or_deleted_cart_skips_the_waiting_messages_with_why(closed: Cart, reason: str) -> None:
    world = CartWorld(now=STEP_2_DUE, the_cart=closed)
    outbound = RecordingOutbound()

    world.flow().remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    assert outbound.sent == []
    assert outbound.skipped == [(closed, "cart_offer", f"cart#{CART_ID}#2", reason)]
    assert world.stored().cart.offer is None  # no code made for a cart nobody is reminded of


def test_a_purchase_since_the_cart_started_skips_the_reminder() -> None:
    world = CartWorld(now=STEP_1_DUE)
    bought(world.buyers, order_id="shopify:9", at=START + timedelta(minutes=20))
    outbound = RecordingOutbound()

    world.flow().remind(CartStepDue(cart_id=CART_ID, step=1), outbound)

    assert outbound.sent == []
    assert [(kind, reason) for _, kind, _, reason in outbound.skipped] == [
        ("cart_reminder", "purchased (order shopify:9)")
    ]


def test_step_two_makes_one_code_stored_with_the_cart_before_any_message_shows_it() -> None:
    world = CartWorld(now=STEP_2_DUE)
    stored_when_sent: list[DiscountCode | None] = []
    outbound = RecordingOutbound(on_send=lambda subject: stored_when_sent.append(world.stored().cart.offer))

    world.flow().remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    [(sent_cart, kind, cause)] = outbound.sent
    offer = world.stored().cart.offer
    assert offer is not None and offer.code.startswith("BACK-")
    assert (kind, cause, sent_cart.offer) == ("cart_offer", f"cart#{CART_ID}#2", offer)
    assert stored_when_sent == [offer]  # stored before the message went
    # Default settings: 10 % off, valid 7 days from when it was made.
    assert (offer.percent, offer.valid_until) == (10, STEP_2_DUE + timedelta(days=7))
    assert world.flow().extras(sent_cart, "cart_offer") == Extras(coupon=offer)

    # The same step again (SQS redelivers, a channel came back later): the same code.
    world.now += timedelta(minutes=10)
    world.flow().remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    assert outbound.sent[1][0].offer == offer
    assert world.stored().version == 2  # the cart was written once


def test_step_two_with_every_channel_settled_makes_no_code() -> None:
    world = CartWorld(now=STEP_2_DUE)
    outbound = RecordingOutbound(still_waiting=())

    world.flow().remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    assert world.stored() == StoredCart(cart(), 1)


@dataclass
class AnotherWorkerFirst:
    """The cart repository while another worker stores the cart first (once per `rivals`)."""

    carts: InMemoryCartStore
    rivals: list[Cart]
    saves: int = 0

    def get(self, cart_id: str) -> StoredCart | None:
        return self.carts.get(cart_id)

    def save_offer(self, stored: StoredCart, offer: DiscountCode, now: datetime) -> StoredCart:
        self.saves += 1
        if self.rivals:
            current = self.carts.carts[stored.cart.cart_id]
            self.carts.carts[stored.cart.cart_id] = StoredCart(self.rivals.pop(0), current.version + 1)
        return self.carts.save_offer(stored, offer, now)


def test_a_code_another_worker_stored_meanwhile_is_the_one_sent() -> None:
    world = CartWorld(now=STEP_2_DUE)
    theirs = DiscountCode(code="BACK-THEIRS01", percent=10, valid_until=STEP_2_DUE + timedelta(days=7))
    carts = AnotherWorkerFirst(world.carts, rivals=[cart(offer=theirs)])
    outbound = RecordingOutbound()

    world.flow(carts).remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    assert [sent.offer for sent, _, _ in outbound.sent] == [theirs]
    assert world.stored() == StoredCart(cart(offer=theirs), 2)
    assert carts.saves == 1


def test_a_cart_changed_meanwhile_without_a_code_is_tried_again() -> None:
    world = CartWorld(now=STEP_2_DUE)
    carts = AnotherWorkerFirst(world.carts, rivals=[cart(recovery_url="https://shop.example/r/c1")])
    outbound = RecordingOutbound()

    world.flow(carts).remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    stored = world.stored()
    assert carts.saves == 2 and stored.version == 3
    assert stored.cart.recovery_url == "https://shop.example/r/c1"  # the other change is kept
    assert [sent.offer for sent, _, _ in outbound.sent] == [stored.cart.offer]
    assert stored.cart.offer is not None


def test_a_cart_that_keeps_changing_sends_nothing_and_comes_back_later() -> None:
    world = CartWorld(now=STEP_2_DUE)
    carts = AnotherWorkerFirst(world.carts, rivals=[cart(), cart(), cart()])
    outbound = RecordingOutbound()

    with pytest.raises(CartKeptChanging):
        world.flow(carts).remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    assert outbound.sent == [] and world.stored().cart.offer is None


@pytest.mark.parametrize(
    "meanwhile",
    [
        cart(status=CartStatus.CONVERTED, converted_order_id="shopify:9"),
        cart(STEP_1_DUE),  # new activity: step 2 is due a day later now
    ],
    ids=["bought", "active-again"],
)
def test_a_cart_bought_or_active_while_its_code_was_made_gets_no_offer(meanwhile: Cart) -> None:
    world = CartWorld(now=STEP_2_DUE)
    carts = AnotherWorkerFirst(world.carts, rivals=[meanwhile])
    outbound = RecordingOutbound()

    world.flow(carts).remind(CartStepDue(cart_id=CART_ID, step=2), outbound)

    assert outbound.sent == []
    assert world.stored().cart.offer is None


def test_a_reminder_for_an_unknown_cart_raises_and_sends_nothing() -> None:
    world = CartWorld(now=STEP_1_DUE, the_cart=None)
    outbound = RecordingOutbound()

    with pytest.raises(NoSuchCart, match="shopify:c1"):
        world.flow().remind(CartStepDue(cart_id=CART_ID, step=1), outbound)

    assert (outbound.sent, outbound.skipped) == ([], [])


def test_a_held_cart_message_is_not_due_after_new_activity_and_goes_otherwise() -> None:
    world = CartWorld(now=STEP_1_DUE + timedelta(minutes=5))
    flow = world.flow()
    subject = flow.subject(f"cart|{CART_ID}")

    assert subject == cart()
    assert flow.recheck(subject, "cart_reminder", world.now) == subject
    assert isinstance(flow.recheck(cart(START + timedelta(minutes=50)), "cart_reminder", world.now), NotYet)
    assert flow.recheck(cart(status=CartStatus.DELETED), "cart_reminder", world.now) == Skip(
        "cart deleted at the storefront"
    )
    assert flow.subject(CART_ID) is None  # an order's id names no cart


# --- review requests ------------------------------------------------------------------------

NOW = START + timedelta(days=10)
MUG_BLUE = OrderLine(product_id="p1", sku="MUG-B", name="Mug (blue)", quantity=1, unit_price=Decimal("9"))
MUG_RED = OrderLine(product_id="p1", sku="MUG-R", name="Mug (red)", quantity=1, unit_price=Decimal("9"))
MUG_BLUE_AGAIN = MUG_BLUE.model_copy(update={"quantity": 2})
KETTLE = OrderLine(product_id="p2", name="Kettle", quantity=1, unit_price=Decimal("30"))  # no SKU


def reviews(settings: Settings, *orders: Order, buyers: InMemoryBuyerIndex | None = None) -> ReviewRequests:
    stored = {o.order_id: StoredOrder(o, 1) for o in orders}
    return ReviewRequests(
        stored.get, buyers or InMemoryBuyerIndex(), lambda: settings, kinds=reviews_capability.KINDS
    )


def test_a_review_request_is_skipped_for_an_order_refunded_since_delivery() -> None:
    refunded = order(status=OrderStatus.REFUNDED)
    flow = reviews(Settings({}), refunded)

    assert flow.subject("shopify:1") == refunded
    assert flow.recheck(refunded, "review", NOW) == Skip("order is refunded now")


def test_a_review_request_waits_out_the_pause_after_another_order_but_not_after_its_own() -> None:
    buyers = InMemoryBuyerIndex()
    delivered = order(placed_at=NOW - timedelta(days=1))  # delivered the next day
    buyers.record(delivered, NOW - timedelta(days=1))
    flow = reviews(Settings({}), delivered, buyers=buyers)

    assert flow.recheck(delivered, "review", NOW) == delivered

    bought(buyers, order_id="shopify:2", at=NOW - timedelta(days=2))

    assert flow.recheck(delivered, "review", NOW) == Skip(
        "ordered recently (order shopify:2): no reminders for 3 days"
    )
    assert flow.recheck(delivered, "review", NOW + timedelta(days=2)) == delivered


def test_review_links_need_the_owners_review_page() -> None:
    flow = reviews(Settings({}))

    skipped = flow.extras(order(lines=(MUG_BLUE,)), "review")

    assert isinstance(skipped, Skip) and "notify.review.url_template" in skipped.reason


def test_review_links_are_one_per_distinct_page_in_line_order() -> None:
    lines = (MUG_BLUE, MUG_RED, MUG_BLUE_AGAIN, KETTLE)
    by_sku = reviews(Settings({"notify.review.url_template": "https://shop.example/review/{sku}"}))
    by_product = reviews(Settings({"notify.review.url_template": "https://shop.example/p/{product_id}"}))

    assert by_sku.extras(order(lines=lines), "review") == Extras(
        product_links=(
            ("Mug (blue)", "https://shop.example/review/MUG-B"),
            ("Mug (red)", "https://shop.example/review/MUG-R"),
        )
    )
    assert by_product.extras(order(lines=lines), "review") == Extras(
        product_links=(("Mug (blue)", "https://shop.example/p/p1"), ("Kettle", "https://shop.example/p/p2"))
    )


def test_no_product_with_a_review_page_skips_the_request() -> None:
    flow = reviews(Settings({"notify.review.url_template": "https://shop.example/review/{sku}"}))

    assert flow.extras(order(lines=(KETTLE,)), "review") == Skip("no product of the order has a review page")


def test_a_due_review_request_is_one_held_message_per_channel() -> None:
    held: list[HeldMessage] = []

    fan_out({"order_id": "shopify:1"}, held.append)

    assert held == [
        HeldMessage(subject_id="shopify:1", kind="review", channel="email", cause="review#shopify:1"),
        HeldMessage(subject_id="shopify:1", kind="review", channel="sms", cause="review#shopify:1"),
    ]


# --- replenishment reminders ------------------------------------------------------------------

FOOD = OrderLine(sku="CAT-2KG", name="Cat food 2 kg", quantity=2, unit_price=Decimal("40"), product_id="11")
CAPSULES = OrderLine(sku="CAPS-10", name="Capsules x10", quantity=3, unit_price=Decimal("5"), product_id="22")
MUG = OrderLine(sku="MUG", name="Mug", quantity=1, unit_price=Decimal("9"), product_id="33")
PERIODS = ("sku:CAT-2KG=15", "sku:CAPS-10=9")  # food lasts 30 days, capsules 27; the mug never runs out
DELIVERED = order(lines=(FOOD, CAPSULES, MUG))
REMINDED_AT = START + timedelta(days=25)


@dataclass
class ReplenishmentWorld:
    the_order: Order | None = DELIVERED
    settings: Settings = field(default_factory=lambda: Settings({"notify.replenishment.periods": PERIODS}))
    buyers: InMemoryBuyerIndex = field(default_factory=InMemoryBuyerIndex)
    outbound: RecordingOutbound = field(default_factory=RecordingOutbound)

    def flow(self) -> ReplenishmentReminders:
        stored = {self.the_order.order_id: StoredOrder(self.the_order, 1)} if self.the_order else {}
        return ReplenishmentReminders(
            stored.get,
            self.buyers,
            lambda: self.settings,
            lambda: REMINDED_AT,
            kinds=replenishment_capability.KINDS,
        )

    def remind(self) -> None:
        self.flow().remind(ReplenishmentDue(order_id="shopify:1"), self.outbound)


def test_a_replenishment_reminder_names_only_the_consumables_not_bought_again() -> None:
    world = ReplenishmentWorld()
    bought(world.buyers, CAPSULES, order_id="shopify:2", at=START + timedelta(days=10))

    world.remind()

    [(reminded, kind, cause)] = world.outbound.sent
    assert (kind, cause) == ("replenishment", "replenish#shopify:1")
    assert reminded.lines == (FOOD,)
    assert reminded.model_copy(update={"lines": DELIVERED.lines}) == DELIVERED  # the rest as it is
    assert world.outbound.skipped == []


def test_everything_bought_again_skips_the_reminder_naming_the_order() -> None:
    world = ReplenishmentWorld()
    bought(world.buyers, FOOD, CAPSULES, order_id="shopify:2", at=START + timedelta(days=10))

    world.remind()

    assert world.outbound.sent == []
    assert world.outbound.skipped == [
        (DELIVERED, "replenishment", "replenish#shopify:1", "ordered again (order shopify:2)")
    ]


def test_an_order_no_longer_delivered_gets_no_replenishment_reminder() -> None:
    returned = DELIVERED.model_copy(update={"status": OrderStatus.RETURNED})
    world = ReplenishmentWorld(the_order=returned)

    world.remind()

    assert world.outbound.sent == []
    assert [reason for *_, reason in world.outbound.skipped] == ["order is returned now"]


def test_a_replenishment_reminder_for_an_unknown_order_raises() -> None:
    world = ReplenishmentWorld(the_order=None)

    with pytest.raises(NoSuchOrder, match="shopify:1"):
        world.remind()

    assert (world.outbound.sent, world.outbound.skipped) == ([], [])


def test_replenishment_links_go_to_the_product_page_else_the_shop() -> None:
    reminded = DELIVERED.model_copy(update={"lines": (FOOD, MUG.model_copy(update={"sku": None}))})
    page = "https://shop.example/buy/{sku}"

    def extras(**values: Any) -> Extras | Skip:
        world = ReplenishmentWorld(settings=Settings({"notify.replenishment.periods": PERIODS, **values}))
        return world.flow().extras(reminded, "replenishment")

    shop = {"shop.url": "https://shop.example"}

    assert extras(**shop, **{"notify.replenishment.url_template": page}) == Extras(
        product_links=(("Cat food 2 kg", "https://shop.example/buy/CAT-2KG"), ("Mug", "https://shop.example"))
    )
    assert extras(**shop) == Extras(
        product_links=(("Cat food 2 kg", "https://shop.example"), ("Mug", "https://shop.example"))
    )
    assert extras() == Skip("no product page or shop.url to link to")


# --- timers armed on delivery -------------------------------------------------------------------


def delivered_by(event_type: str) -> DomainEvent:
    at = START
    if event_type == "OrderPlaced":
        return OrderPlaced(order_id="shopify:1", status=OrderStatus.DELIVERED, occurred_at=at)
    if event_type == "OrderStatusChanged":
        return OrderStatusChanged(
            order_id="shopify:1",
            status=OrderStatus.DELIVERED,
            previous_status=OrderStatus.SHIPPED,
            occurred_at=at,
        )
    return OrderDelayed(order_id="shopify:1", status=OrderStatus.DELIVERED, occurred_at=at)


@pytest.mark.parametrize(
    ("event_type", "arms"),
    [("OrderStatusChanged", True), ("OrderPlaced", True), ("OrderDelayed", False)],
    ids=["became-delivered", "arrived-delivered", "late-notice"],
)
def test_review_and_replenishment_timers_are_armed_on_delivery_only(event_type: str, arms: bool) -> None:
    events = (delivered_by(event_type),)
    planner = replenishment_planner(Settings({"notify.replenishment.periods": PERIODS}), None)
    assert planner is not None

    review = review_requests(events, START, timedelta(days=7))
    replenish = planner(events, DELIVERED, START)

    if not arms:
        assert (review, replenish) == ((), ())
        return
    assert [(t.timer_id, t.action, t.due_at, json.loads(t.payload)) for t in review] == [
        ("review#shopify:1", "review_request", START + timedelta(days=7), {"order_id": "shopify:1"})
    ]
    # Capsules run out first (3 x 9 days), reminded 5 days (the default lead) before.
    assert [(t.timer_id, t.action, t.due_at) for t in replenish] == [
        ("replenish#shopify:1", "replenishment", START + timedelta(days=22))
    ]
    assert ReplenishmentDue.model_validate(json.loads(replenish[0].payload)).order_id == "shopify:1"


def test_a_status_change_short_of_delivery_arms_neither() -> None:
    shipped = OrderStatusChanged(
        order_id="shopify:1", status=OrderStatus.SHIPPED, previous_status=OrderStatus.PAID, occurred_at=START
    )
    planner = replenishment_planner(Settings({"notify.replenishment.periods": PERIODS}), None)
    assert planner is not None

    assert review_requests((shipped,), START, timedelta(days=7)) == ()
    assert planner((shipped,), DELIVERED, START) == ()


# --- order status messages ------------------------------------------------------------------------


@dataclass
class OrderWorld:
    the_order: Order
    buyers: InMemoryBuyerIndex = field(default_factory=InMemoryBuyerIndex)
    outbound: RecordingOutbound = field(default_factory=RecordingOutbound)

    def hear(self, event_type: str, event: dict[str, Any]) -> None:
        stored = {self.the_order.order_id: StoredOrder(self.the_order, 1)}
        flow = OrderStatusMessages(get_order=stored.get, buyers=self.buyers, kinds=orders_capability.KINDS)
        handlers = {name: handler for name, _, handler in flow.routes(self.outbound)}
        message = EventMessage(type=event_type, outbox_id=f"shopify:1#v2#{event_type}", event=event)
        handlers[event_type](message)


def event(status: str, order_id: str = "shopify:1") -> dict[str, Any]:
    return {"order_id": order_id, "status": status, "occurred_at": START.isoformat()}


def test_a_new_paid_order_is_confirmed_once_and_indexed_as_its_buyers_order() -> None:
    paid = order(status=OrderStatus.PAID, placed_at=START)
    world = OrderWorld(paid)

    world.hear("OrderPlaced", event("paid"))

    assert world.outbound.sent == [(paid, "confirmation", "shopify:1#v2#OrderPlaced")]  # not also "paid"
    found = world.buyers.orders_since(order_buyer_keys(paid), START - timedelta(days=1))
    assert [(p.order_id, p.placed_at) for p in found] == [("shopify:1", START)]


def test_an_order_shipped_gets_the_shipped_message() -> None:
    shipped = order(status=OrderStatus.SHIPPED)
    world = OrderWorld(shipped)

    world.hear("OrderStatusChanged", event("shipped"))

    assert world.outbound.sent == [(shipped, "shipped", "shopify:1#v2#OrderStatusChanged")]
    assert world.buyers.entries == {}  # only a new order is indexed


def test_an_order_moving_to_processing_sends_nothing() -> None:
    world = OrderWorld(order(status=OrderStatus.PROCESSING))

    world.hear("OrderStatusChanged", event("processing"))

    assert (world.outbound.sent, world.outbound.skipped) == ([], [])


def test_an_event_without_its_order_is_refused_for_the_dlq() -> None:
    world = OrderWorld(order(status=OrderStatus.PAID))

    with pytest.raises(BadOrderEvent, match="OrderPlaced without its order"):
        world.hear("OrderPlaced", {"status": "paid", "occurred_at": START.isoformat()})

    assert world.outbound.sent == [] and world.buyers.entries == {}
