"""No log line carries a customer's email, phone, name or address, whatever the input (decision 37).

A bad-input suite runs on every route with each case's own person in it, every log line (the
package's JSON logger, which Chalice's own error log shares, and any library's warning) is
captured, and each line is scanned for every value sent.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shopflow.messaging.unsubscribe import make_token
from shopflow.observability import logger
from tests.service.conftest import Stack, deliver_notify
from tests.service.test_unsubscribe import ONE_CLICK, SECRET
from tests.service.test_woocommerce_and_events import CANONICAL_ORDER
from tests.support import corpus, dumps, events_headers, shopify_headers, woo_headers

SURROGATE = "\ud800"


class Person:
    """Values no log line may carry; distinct per case, so a leak names its case."""

    def __init__(self, case: int) -> None:
        self.case = case
        self.email = f"qz{case}.victim@example.org"
        self.phone = f"+48 601 {case:03d} 917"
        self.first_name = f"Zbyszko{case}q"
        self.last_name = f"Quarkwell{case}"
        self.address = f"{case} Evergreen Quarkway"
        self.city = f"Quarkville{case}"

    def needles(self) -> list[str]:
        digits = "".join(c for c in self.phone if c.isdigit())
        return [
            self.email,
            self.phone,
            digits,
            digits[2:],
            self.first_name,
            self.last_name,
            self.address,
            self.city,
        ]


_PERSON_KEYS = {
    "email": "email",
    "contact_email": "email",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "address1": "address",
    "address_1": "address",
    "city": "city",
}
_PEOPLE = ("customer", "billing_address", "shipping_address", "default_address", "billing", "shipping")


def with_person(payload: Any, person: Person, *, within: bool = True) -> Any:
    """The payload with every personal field (customer, addresses, top-level email) set to `person`."""
    if isinstance(payload, list):
        return [with_person(item, person, within=False) for item in payload]
    if not isinstance(payload, dict):
        return payload
    changed: dict[str, Any] = {}
    for key, value in payload.items():
        if key in _PEOPLE:
            changed[key] = with_person(value, person, within=True)
        elif within and key in _PERSON_KEYS and not isinstance(value, dict | list):
            changed[key] = getattr(person, _PERSON_KEYS[key])
        elif key == "name" and within and isinstance(value, str) and not value.startswith("#"):
            changed[key] = f"{person.first_name} {person.last_name}"
        else:
            changed[key] = with_person(value, person, within=False)
    return changed


Case = tuple[str, str, Callable[[Person], Any]]  # route, topic, payload (or raw bytes)


def _shopify(mutate: Callable[[dict[str, Any], Person], Any]) -> Callable[[Person], Any]:
    def build(person: Person) -> Any:
        payload = with_person(corpus("shopify/order.json"), person)
        return mutate(payload, person)

    return build


def _set(path: str, value: Any) -> Callable[[dict[str, Any], Person], dict[str, Any]]:
    """A mutation setting a dotted path (numbers index lists); `value` may use the person."""

    def mutate(payload: dict[str, Any], person: Person) -> dict[str, Any]:
        changed = copy.deepcopy(payload)
        *parents, last = path.split(".")
        target: Any = changed
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        resolved = value(person) if callable(value) else value
        if isinstance(target, list):
            target[int(last)] = resolved
        else:
            target[last] = resolved
        return changed

    return mutate


def _nested(depth: int) -> Callable[[dict[str, Any], Person], bytes]:
    def mutate(payload: dict[str, Any], person: Person) -> bytes:
        return dumps(payload)[:-1] + b', "note_attributes": ' + b"[" * depth + b"]" * depth + b"}"

    return mutate


SHOPIFY_CASES: list[Case] = [
    ("shopify", "orders/create", _shopify(lambda p, _: p)),  # a good order: accepted, messages sent
    ("shopify", "orders/create", _shopify(_set("email", lambda m: SURROGATE + m.email))),
    ("shopify", "orders/create", _shopify(_set("customer.email", lambda m: SURROGATE + m.email))),
    ("shopify", "orders/create", _shopify(_set("customer.first_name", lambda m: SURROGATE + m.first_name))),
    (
        "shopify",
        "orders/create",
        _shopify(_set("shipping_address.address1", lambda m: m.address + SURROGATE)),
    ),
    ("shopify", "orders/create", _shopify(_set("email", lambda m: [m.email]))),
    ("shopify", "orders/create", _shopify(_set("email", lambda m: {"address": m.email}))),
    ("shopify", "orders/create", _shopify(_set("email", lambda m: m.email * 2000))),
    (
        "shopify",
        "orders/create",
        _shopify(_set("phone", lambda m: int("".join(c for c in m.phone if c.isdigit())))),
    ),
    ("shopify", "orders/create", _shopify(_set("customer", lambda m: f"{m.first_name} <{m.email}>"))),
    ("shopify", "orders/create", _shopify(_set("billing_address", lambda m: [m.address, m.phone]))),
    ("shopify", "orders/create", _shopify(_set("customer.last_name", lambda m: m.last_name * 50_000))),
    ("shopify", "orders/create", _shopify(_set("line_items.0.quantity", "1e20"))),
    ("shopify", "orders/create", _shopify(_set("line_items.0.quantity", True))),
    ("shopify", "orders/create", _shopify(_set("line_items.0.quantity", -1))),
    ("shopify", "orders/create", _shopify(_set("line_items.0.name", lambda m: m.email))),
    ("shopify", "orders/create", _shopify(_set("total_price", "9" * 400))),
    ("shopify", "orders/create", _shopify(_set("total_price", lambda m: m.phone))),
    ("shopify", "orders/create", _shopify(_set("currency", lambda m: m.last_name))),
    ("shopify", "orders/create", _shopify(_set("id", lambda m: m.email))),
    ("shopify", "orders/create", _shopify(_set("id", []))),
    ("shopify", "orders/create", _shopify(_set("created_at", lambda m: m.city))),
    ("shopify", "orders/create", _shopify(_set("line_items", lambda m: {"0": m.email}))),
    ("shopify", "orders/create", _shopify(_nested(10_000))),
    ("shopify", "orders/create", _shopify(lambda p, m: dumps(p)[:-20])),  # cut short
    ("shopify", "orders/updated", _shopify(_set("customer.phone", lambda m: SURROGATE + m.phone))),
    ("shopify", "orders/paid", _shopify(_set("financial_status", lambda m: m.email))),
    ("shopify", "checkouts/create", lambda m: with_person(corpus("shopify/abandoned_checkout.json"), m)),
    (
        "shopify",
        "checkouts/update",
        lambda m: {**with_person(corpus("shopify/abandoned_checkout.json"), m), "email": SURROGATE + m.email},
    ),
    (
        "shopify",
        "refunds/create",
        lambda m: {**corpus("shopify/refund.json"), "note": m.email, "order_id": m.phone},
    ),
    ("shopify", "customers/create", lambda m: with_person({"customer": {"email": m.email}}, m)),  # ignored
]


def _woo(mutate: Callable[[dict[str, Any], Person], Any]) -> Callable[[Person], Any]:
    return lambda person: mutate(with_person(corpus("woocommerce/order.json"), person), person)


WOO_CASES: list[Case] = [
    ("woocommerce", "order.created", _woo(lambda p, _: p)),
    ("woocommerce", "order.created", _woo(_set("billing.email", lambda m: SURROGATE + m.email))),
    ("woocommerce", "order.created", _woo(_set("billing.first_name", lambda m: SURROGATE + m.first_name))),
    ("woocommerce", "order.created", _woo(_set("billing", lambda m: [m.email, m.phone, m.address]))),
    ("woocommerce", "order.created", _woo(_set("billing.phone", lambda m: [m.phone]))),
    ("woocommerce", "order.created", _woo(_set("id", lambda m: m.email))),
    ("woocommerce", "order.created", _woo(_set("total", lambda m: m.phone))),
    ("woocommerce", "order.created", _woo(_set("line_items.0.quantity", lambda m: m.city))),
    ("woocommerce", "order.created", _woo(_set("line_items.0.price", -3.3333333333333335))),
    ("woocommerce", "order.updated", _woo(_set("status", lambda m: m.last_name))),
    ("woocommerce", "order.updated", _woo(_set("date_modified_gmt", lambda m: m.email))),
]


def _event(mutate: Callable[[dict[str, Any], Person], Any]) -> Callable[[Person], Any]:
    def build(person: Person) -> Any:
        payload = copy.deepcopy(CANONICAL_ORDER)
        payload["data"]["external_id"] = f"SO-{person.case}"
        payload["data"]["customer"].update(
            email=person.email, phone=person.phone, name=f"{person.first_name} {person.last_name}"
        )
        return mutate(payload, person)

    return build


EVENT_CASES: list[Case] = [
    ("events", "", _event(lambda p, _: p)),
    ("events", "", _event(_set("data.customer.email", lambda m: SURROGATE + m.email))),
    ("events", "", _event(_set("data.customer.name", lambda m: m.first_name + SURROGATE))),
    ("events", "", _event(_set("data.customer.email", lambda m: {"email": m.email}))),
    ("events", "", _event(_set("data.customer.phone", lambda m: m.phone * 1000))),
    ("events", "", _event(_set("data.customer.address", lambda m: m.address))),  # an unknown field
    ("events", "", _event(_set("data.total", 149.9))),
    ("events", "", _event(_set("data.currency", lambda m: m.city))),
    ("events", "", _event(_set("data.lines.0.name", lambda m: SURROGATE + m.email))),
    ("events", "", _event(_set("data.status", lambda m: m.last_name))),
    ("events", "", _event(_set("type", lambda m: m.email))),
    ("events", "", _event(_set("timestamp", lambda m: m.phone))),
]

CASES = SHOPIFY_CASES + WOO_CASES + EVENT_CASES


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line as written: the package's JSON lines (through its own formatter) and, from
    any other logger, what a plain handler would print at the level Lambda keeps (WARNING)."""
    lines: list[str] = []
    formatter = logger._logger.handlers[0].formatter
    assert formatter is not None

    class Package(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    class Others(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not record.name.startswith("shopflow"):
                lines.append(logging.Formatter().format(record))

    package, others = Package(), Others(level=logging.WARNING)
    logger._logger.addHandler(package)
    logging.getLogger().addHandler(others)
    logger.setLevel("DEBUG")
    try:
        yield lines
    finally:
        logger._logger.removeHandler(package)
        logging.getLogger().removeHandler(others)
        logger.setLevel("WARNING")


def _post(stack: Stack, route: str, topic: str, payload: Any) -> int:
    body = payload if isinstance(payload, bytes) else dumps(payload)
    if route == "shopify":
        headers = shopify_headers(body, topic)
    elif route == "woocommerce":
        headers = woo_headers(body, topic)
    else:
        headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    status: int = stack.client.http.post(f"/webhooks/{route}", headers=headers, body=body).status_code
    return status


def _leaks(lines: list[str], people: dict[int, Person]) -> list[tuple[int, str, str]]:
    found = []
    for line in lines:
        # A line is JSON: a value may appear escaped (`\u017c`) as well as plain.
        texts = (line.casefold(), json.dumps(line)[1:-1].casefold())
        for case, person in people.items():
            for needle in person.needles():
                escaped = json.dumps(needle)[1:-1].casefold()
                if any(needle.casefold() in text or escaped in text for text in texts):
                    found.append((case, needle, line[:300]))
    return found


def test_no_log_line_carries_what_a_customer_sent(stack: Stack, log_lines: list[str]) -> None:
    stack.put_setting("notify/unsubscribe/secret", SECRET, secure=True)
    people: dict[int, Person] = {}
    answers: dict[int, int] = {}
    for case, (route, topic, build) in enumerate(CASES):
        people[case] = person = Person(case)
        answers[case] = _post(stack, route, topic, build(person))
    # The same bad bodies unsigned: refused before parsing, still nothing personal logged.
    for case, (route, _topic, build) in enumerate(CASES[:5], start=len(CASES)):
        people[case] = person = Person(case)
        body = dumps(build(person))
        stack.client.http.post(f"/webhooks/{route}", headers={"Content-Type": "application/json"}, body=body)
    # Messages for the accepted orders go out (notify logs its outcome per message).
    deliver_notify(stack)
    # Unsubscribe links naming a person: good, forged, and with the address in the path itself.
    case = len(people)
    people[case] = person = Person(case)
    good = make_token("email", person.email, secret=SECRET, now=stack.clock.now())
    forged = make_token("email", person.email, secret="not-our-secret-0123456789", now=stack.clock.now())
    for path in (good, forged, person.email, SURROGATE + person.email, f"{person.email}.{person.phone}"):
        stack.client.http.get(f"/unsubscribe/{path}")
        stack.client.http.post(f"/unsubscribe/{path}", headers=ONE_CLICK, body="List-Unsubscribe=One-Click")

    assert answers[0] == 200  # the good order went all the way, through notify too
    assert log_lines, "the capture saw no log line at all"
    assert _leaks(log_lines, people) == []
