"""Whether one message goes out, to whom, in which language: pure, from the order and the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopflow.carts.model import Cart
from shopflow.kernel.messages import Channel
from shopflow.kernel.skip import Skip
from shopflow.messaging.addresses import UndeliverableAddress, wire_address
from shopflow.messaging.locales import resolve_locale
from shopflow.notifications.policy import NotifyPolicy
from shopflow.orders.model import Order


@dataclass(frozen=True)
class Send:
    address: str  # an email address, or a phone number in E.164
    locale: str
    timezone: str
    notes: tuple[str, ...] = ()  # fallbacks taken (locale, timezone), for the timeline


@dataclass(frozen=True)
class Defer:
    """An SMS due in the customer's quiet hours: it waits for their end, it is not dropped."""

    until: datetime
    reason: str


def decide(
    subject: Order | Cart,
    kind: str,
    channel: Channel,
    policy: NotifyPolicy,
    now: datetime,
    *,
    transactional: bool,
) -> Send | Skip | Defer:
    """`subject`: the order, or the cart of a cart reminder (checked by its own flow first).
    `transactional`: about the customer's own order, so no marketing consent is needed."""
    if not policy.sends(kind, channel):
        return Skip(f"{channel} disabled for {kind}")
    customer = subject.customer
    if not transactional and not getattr(customer.consent, channel):
        return Skip(f"no {channel} marketing consent")
    if channel == "email":
        if policy.sender is None:
            return Skip("no sender address configured (notify.email.sender)")
        if not customer.email:
            return Skip("no email address")
        try:
            wire_address(customer.email)  # what SES will be given: ASCII local part, IDNA domain
        except UndeliverableAddress as exc:
            return Skip(str(exc))
        address = customer.email
    else:
        if not customer.phone:
            return Skip("no phone number")
        phone = e164(customer.phone)
        if phone is None:
            return Skip("invalid phone number")
        address = phone
    locale, locale_note = resolve_locale(customer.locale, policy.locale_fallback)
    timezone, timezone_note = _timezone(customer.timezone, policy.shop_timezone)
    if channel == "sms" and policy.quiet_hours is not None:
        until = quiet_until(now, ZoneInfo(timezone), *policy.quiet_hours)
        if until is not None:
            start, end = (f"{t:%H:%M}" for t in policy.quiet_hours)
            local = until.astimezone(ZoneInfo(timezone))
            return Defer(until, f"quiet hours {start}-{end} {timezone}: deferred to {local:%Y-%m-%d %H:%M}")
    notes = tuple(note for note in (locale_note, timezone_note) if note)
    return Send(address=address, locale=locale, timezone=timezone, notes=notes)


def quiet_until(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet hours `now` falls in (in UTC), or None outside them.

    The window may cross midnight (21:00-08:00). Local times are taken as the zone's wall clock,
    so the end is 08:00 on the customer's clock also on a day the clocks change.
    """
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    crosses_midnight = start > end
    inside = (clock >= start or clock < end) if crosses_midnight else (start <= clock < end)
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if crosses_midnight and clock >= start else local.date()
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def e164(phone: str) -> str | None:
    """The number in E.164 (+48601234567), or None when it is not a valid international number."""
    import phonenumbers  # its metadata loads lazily, and only SMS needs it

    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _timezone(requested: str | None, fallback: str) -> tuple[str, str | None]:
    if requested:
        try:
            ZoneInfo(requested)
        except (ZoneInfoNotFoundError, ValueError):
            return fallback, f"unknown time zone {requested}; used {fallback}"
        return requested, None
    return fallback, None
