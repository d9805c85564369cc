"""Back-in-stock alerts: who waits for which SKU, when a SKU is back, and who hears: pure, no I/O.

A shopper who finds a SKU sold out leaves an email or a phone number (`back_in_stock.subscribed`).
When the SKU's atp reaches `back_in_stock.min_atp` from below it, the waiting subscriptions are
alerted first come first served, in batches of at most `per_unit` per available unit, one batch
every `batch_minutes`, the atp read again before each batch; a batch that finds the stock gone
ends the run and the rest keep their place for the next restock. One alert per subscription, ever.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shopflow.orders.model import Customer, PastOrder

KIND = "back_in_stock"  # the message kind, and the scope of its one-click stop
BATCH_TIMER = "back_in_stock_batch"  # the timer action of a restock's next batch
SUBJECT_PREFIX = "bis|"  # a subscription's subject id: `bis|{contact_id}|{sku}` ("|" is in no hex id)
# The renderer wants a currency for its number formats; an alert shows no money (ISO 4217 "none").
NO_CURRENCY = "XXX"


class SubscriptionStatus(StrEnum):
    WAITING = "waiting"  # in the SKU's queue
    ALERTED = "alerted"  # its alert was handed to notify (sent, or skipped with the reason)
    SKIPPED = "skipped"  # its turn came, but the customer had bought the SKU since subscribing
    UNSUBSCRIBED = "unsubscribed"  # `back_in_stock.unsubscribed`: out of the queue


def contact_id(email: str | None, phone: str | None) -> str:
    """Who subscribed, as one key: the email when given (case-insensitive), else the phone's
    digits. Hashed: the table finds a subscription by it and never lists addresses by key."""
    if email and email.strip():
        contact = f"email:{email.strip().lower()}"
    elif phone and (digits := re.sub(r"[^\d]", "", phone)):
        contact = f"phone:{digits}"
    else:
        raise ValueError("a subscription needs an email or a phone number")
    return hashlib.sha256(contact.encode()).hexdigest()[:32]


def subject_id_of(contact: str, sku: str) -> str:
    return f"{SUBJECT_PREFIX}{contact}|{sku}"


class Subscription(BaseModel):
    """One contact waiting for one SKU. As the notify pipeline's subject it shows `customer`
    (the contact, in its language and time zone), `sku`, `product_url` and `subscribed_at`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    sku: str
    contact: str  # contact_id(email, phone)
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    timezone: str | None = None
    product_url: str | None = None
    customer_id: str | None = None
    source: str = "events"  # the sender; with `customer_id`, how the buyer index knows them
    subscribed_at: datetime  # its place in the SKU's queue (shopflow's clock when it arrived)
    # When the shopper asked, by the sender's clock (the event's timestamp): their orders are
    # timed by the senders' clocks too, so "bought since subscribing" compares these.
    asked_at: datetime | None = None
    status: SubscriptionStatus = SubscriptionStatus.WAITING
    events: tuple[str, ...] = ()  # the webhook-ids that subscribed it (a redelivery is one)

    @property
    def subject_id(self) -> str:
        return subject_id_of(self.contact, self.sku)

    @property
    def since(self) -> datetime:
        """From when an order of the SKU means the shopper bought it meanwhile."""
        return self.asked_at or self.subscribed_at

    @property
    def currency(self) -> str:
        return NO_CURRENCY

    @property
    def customer(self) -> Customer:
        return Customer(
            external_id=self.customer_id,
            email=self.email,
            phone=self.phone,
            locale=self.locale,
            timezone=self.timezone,
        )

    def channel(self, email_on: bool, sms_on: bool) -> str | None:
        """The one channel its alert goes by: email when it left one (and email alerts are on),
        else SMS; None when neither can carry it."""
        if self.email and email_on:
            return "email"
        if self.phone and sms_on:
            return "sms"
        return None


@dataclass(frozen=True)
class RestockRules:
    min_atp: int  # atp that counts as back (`back_in_stock.min_atp`)
    per_unit: int  # alerts per available unit per batch (`back_in_stock.per_unit`)
    batch_minutes: int  # between two batches of one restock (`back_in_stock.batch_minutes`)


def restocked(old_atp: int | None, new_atp: int, min_atp: int) -> bool:
    """A SKU is back when its atp reaches `min_atp` from below it (from at most 0, with the
    default 1; a SKU counted for the first time has no old atp). Further rises are not."""
    return new_atp >= min_atp and (old_atp is None or old_atp < min_atp)


def batch_size(atp: int, per_unit: int) -> int:
    """How many waiting subscriptions a batch alerts: `per_unit` for each unit available now;
    none once the stock is gone again."""
    return per_unit * atp if atp > 0 else 0


def bought_since(subscription: Subscription, purchases: list[PastOrder]) -> str | None:
    """Why the alert is not sent: the customer ordered the SKU after subscribing (None: they did not)."""
    for past in purchases:
        if past.placed_at >= subscription.since and subscription.sku in past.products:
            return f"bought {subscription.sku} since subscribing (order {past.order_id})"
    return None


@dataclass(frozen=True)
class SkuWaiting:
    """What the owner sees of a SKU: how many wait, and the restock run in progress if any."""

    sku: str
    waiting: int
    alerted: int = 0  # alerts handed to notify so far, every restock
    batch_due_at: datetime | None = None  # the next batch of a restock in progress
    last_restock_at: datetime | None = None
