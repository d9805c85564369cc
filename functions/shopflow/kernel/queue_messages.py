"""Every body that crosses a queue, typed, and the router consumers dispatch them by.

A body is JSON with a `type`; a consumer registers a model and a handler per type and never
looks at which other keys a body has. Three kinds cross queues today:

- `EventMessage` (dispatch -> a concern's queue): an outbox event; `type` is the event's type.
- `DueTimer` (sweep -> timers queue): a timer whose time has come; `action` names what runs.
- `HeldMessage`, `CartStepDue`, `ReplenishmentDue` (timers -> notify): a message or reminder
  whose time has come; `type` is the timer action that put it there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError


class _Body(BaseModel):
    # Unknown keys are refused: a body that does not say what its type says goes to the DLQ.
    # Built on first use (decision 14): the api function imports these and validates none.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class EventMessage(_Body):
    type: str  # OrderPlaced, OrderStatusChanged, OrderDelayed, ...
    outbox_id: str  # consumers deduplicate on it
    event: dict[str, Any]  # the event as its capability wrote it; its handler reads it


class DueTimer(_Body):
    type: Literal["timer_due"] = "timer_due"
    timer_id: str
    action: str  # the registered timer action
    due_at: str  # the due time it fired for: the timer is deleted only if still that one
    payload: str  # JSON the action reads


class HeldMessage(_Body):
    """One message to send now: held by quiet hours, or a review request's channel."""

    type: Literal["send_message"] = "send_message"
    # Timers armed before this model name the subject `order_id` (it may be a cart).
    subject_id: str = Field(validation_alias=AliasChoices("subject_id", "order_id"))
    kind: str
    channel: str
    cause: str


class CartStepDue(_Body):
    type: Literal["cart_reminder"] = "cart_reminder"
    cart_id: str
    step: Literal[1, 2]


class ReplenishmentDue(_Body):
    type: Literal["replenishment"] = "replenishment"
    order_id: str
    flow: Literal["replenishment"] | None = None  # written by timers armed before this model


def legacy_body(body: str) -> str:
    """A body queued before typed bodies (decision 53): `{"deferred": payload}`, told apart by its
    payload's keys as notify did then. Kept until no such body can be queued (4 days' retention
    after the upgrade); every other body is returned as it is."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not (isinstance(document, dict) and isinstance(document.get("deferred"), dict)):
        return body
    payload: dict[str, Any] = document["deferred"]
    if "cart_id" in payload:
        return CartStepDue.model_validate(payload).model_dump_json()
    if payload.get("flow") == "replenishment":
        return ReplenishmentDue.model_validate(payload).model_dump_json()
    return HeldMessage.model_validate(payload).model_dump_json()


M = TypeVar("M", bound=BaseModel)


class _Typed(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    type: str


class UnroutableMessage(ValueError):
    """A body that is not JSON with a registered `type`, or does not match its type's model."""


class MessageRouter:
    """type -> (model, handler): a consumer's whole knowledge of what its queue carries."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[type[BaseModel], Callable[[Any], None]]] = {}

    def register(self, type_name: str, model: type[M], handler: Callable[[M], None]) -> None:
        if type_name in self._routes:
            raise ValueError(f"two handlers for {type_name!r}")
        self._routes[type_name] = (model, handler)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._routes)

    def parse(self, body: str) -> tuple[BaseModel, Callable[[Any], None]]:
        try:
            type_name = _Typed.model_validate_json(body).type
        except ValidationError as exc:
            raise UnroutableMessage(f"not a typed body: {_first_error(exc)}") from None
        route = self._routes.get(type_name)
        if route is None:
            raise UnroutableMessage(f"no handler for {type_name!r}")
        model, handler = route
        try:
            return model.model_validate_json(body), handler
        except ValidationError as exc:
            raise UnroutableMessage(f"not a {type_name} body: {_first_error(exc)}") from None

    def route(self, body: str) -> None:
        message, handler = self.parse(body)
        handler(message)


def _first_error(exc: ValidationError) -> str:
    # Field names and error types only: a body may carry a customer's data (decision 37).
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['type']}"
