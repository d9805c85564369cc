"""Where carts are kept: the cart repository loads a cart with its markers in one read and
stages a delivery's writes into the unit of work, which commits them in one transaction.

It stages the dedup markers, the cart (version-guarded), its timeline line, and arms or cancels
its reminder timers (through the timer repository): a cart that is bought can never be reminded
by a timer written before it, because the same transaction that records the purchase deletes
the timers. `InMemoryCartStore` is its twin for unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import UpdateError

from shopflow.carts.model import Cart
from shopflow.carts.ports import CartCommit, LoadedCart, StoredCart
from shopflow.kernel.conflicts import DuplicateDelivery, VersionConflict
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import InMemoryUnitOfWork, UnitOfWork, in_memory
from shopflow.orders.model import DiscountCode
from shopflow.store.models import CartItem, DedupItem, TimelineItem, iso
from shopflow.store.orders import DynamoOrderStore, dedup_item, load_with_markers, timeline_sort_key
from shopflow.store.timers import DynamoTimers, InMemoryTimers
from shopflow.store.unit_of_work import DynamoUnitOfWork, dynamo


def _cart_pk(cart_id: str) -> str:
    return f"CART#{cart_id}"


class DynamoCartStore:
    """The cart repository on DynamoDB: loads carts, stages their writes."""

    def __init__(self, orders: DynamoOrderStore) -> None:
        self._orders = orders  # shares its connection for transactions
        self.timers = DynamoTimers()

    def load(self, cart_id: str, dedup_keys: Sequence[str]) -> LoadedCart:
        item, duplicate = load_with_markers(
            self._orders.connection, CartItem, _cart_pk(cart_id), "CART", dedup_keys
        )
        return LoadedCart(_stored(item) if item is not None else None, duplicate)

    def get(self, cart_id: str) -> StoredCart | None:
        try:
            return _stored(CartItem.get(_cart_pk(cart_id), "CART", consistent_read=True))
        except CartItem.DoesNotExist:
            return None

    def timeline(self, cart_id: str) -> list[TimelineEntry]:
        items = TimelineItem.query(
            _cart_pk(cart_id), TimelineItem.sk.startswith("TIMELINE#"), consistent_read=True
        )
        return [TimelineEntry.model_validate_json(item.document) for item in items]

    def unit_of_work(self) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self._orders.connection)

    def stage(self, commit: CartCommit, work: UnitOfWork) -> None:
        """Stage all of `commit`. Committing raises `DuplicateDelivery` when a marker exists,
        `VersionConflict` when the cart was created or changed since it was read."""
        transaction = dynamo(work)
        cart = commit.cart
        now = iso(commit.now)
        condition = (
            CartItem.pk.does_not_exist()
            if commit.expected_version is None
            else CartItem.version == commit.expected_version
        )
        expiry = int((commit.now + commit.dedup_retention).timestamp())
        for key in commit.dedup_keys:
            transaction.put(
                dedup_item(key, cart.subject_id, now, expiry),
                condition=DedupItem.pk.does_not_exist(),
                if_condition_fails=DuplicateDelivery,
            )
        transaction.put(
            CartItem(
                _cart_pk(cart.cart_id),
                "CART",
                item_type="CART",
                version=commit.new_version,
                status=cart.status.value,
                document=cart.model_dump_json(),
                updated_at=now,
            ),
            condition=condition,
            if_condition_fails=VersionConflict,
        )
        transaction.put(
            TimelineItem(
                _cart_pk(cart.cart_id),
                timeline_sort_key(commit.entry, commit.new_version),
                item_type="TIMELINE",
                document=commit.entry.model_dump_json(),
            )
        )
        for timer in commit.arm:
            self.timers.arm(timer, now=commit.now, work=work)
        for timer_id in commit.cancel:
            self.timers.cancel(timer_id, work=work)

    def save_offer(self, stored: StoredCart, offer: DiscountCode, now: datetime) -> StoredCart:
        """Store the second reminder's code once; `VersionConflict` if the cart changed meanwhile."""
        cart = stored.cart.model_copy(update={"offer": offer})
        item = CartItem(_cart_pk(cart.cart_id), "CART")
        try:
            item.update(
                actions=[
                    CartItem.document.set(cart.model_dump_json()),
                    CartItem.version.set(stored.version + 1),
                    CartItem.updated_at.set(iso(now)),
                ],
                condition=CartItem.version == stored.version,
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise VersionConflict() from exc
            raise
        return StoredCart(cart, stored.version + 1)


def _stored(item: CartItem) -> StoredCart:
    return StoredCart(Cart.model_validate_json(item.document), int(item.version))


@dataclass
class InMemoryCartStore:
    carts: dict[str, StoredCart] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)
    timers: dict[str, TimerRequest] = field(default_factory=dict)
    commits: list[int] = field(default_factory=list)  # writes of each committed unit of work

    def load(self, cart_id: str, dedup_keys: Sequence[str]) -> LoadedCart:
        return LoadedCart(self.carts.get(cart_id), any(k in self.markers for k in dedup_keys))

    def get(self, cart_id: str) -> StoredCart | None:
        return self.carts.get(cart_id)

    def timeline(self, cart_id: str) -> list[TimelineEntry]:
        return list(self.timelines.get(cart_id, []))

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(log=self.commits)

    def stage(self, commit: CartCommit, work: UnitOfWork) -> None:
        unit = in_memory(work)
        cart_id = commit.cart.cart_id

        def check() -> None:
            if any(k in self.markers for k in commit.dedup_keys):
                raise DuplicateDelivery()
            current = self.carts.get(cart_id)
            if (current.version if current else None) != commit.expected_version:
                raise VersionConflict()

        def apply() -> None:
            self.markers.update(commit.dedup_keys)
            self.carts[cart_id] = StoredCart(commit.cart, commit.new_version)
            self.timelines.setdefault(cart_id, []).append(commit.entry)

        unit.stage(("CART", cart_id), apply, check)
        timers = InMemoryTimers(self.timers)
        for timer in commit.arm:
            timers.arm(timer, now=commit.now, work=work)
        for timer_id in commit.cancel:
            timers.cancel(timer_id, work=work)

    def save_offer(self, stored: StoredCart, offer: DiscountCode, now: datetime) -> StoredCart:
        current = self.carts.get(stored.cart.cart_id)
        if current is None or current.version != stored.version:
            raise VersionConflict()
        saved = StoredCart(stored.cart.model_copy(update={"offer": offer}), stored.version + 1)
        self.carts[stored.cart.cart_id] = saved
        return saved
