"""The unit of work on DynamoDB: what repositories stage, committed as ONE TransactWriteItems.

Repositories stage puts, updates, deletes and condition checks of PynamoDB items, each with
what a failed condition on it means (`VersionConflict` for an order or a cart, `DuplicateDelivery`
for a cart delivery's marker, `LeaseHeld` for a send-once record). `commit` sends them in one
request and translates a cancelled transaction as the stores always did:

- a `ConditionalCheckFailed` reason: the exception of the first staged write that failed;
- `TransactionConflict` (another transaction held an item): `VersionConflict`, read again;
- anything else (throttling, a broken connection): PynamoDB's own error, which intake answers 503.

The 100-action limit: a unit of work of more than `MAX_ACTIONS` writes is committed in chunks
of at most 100, its conditional writes in the first chunk. That gives up atomicity across
chunks: if a later chunk fails (throttled, or a condition staged in it fails), the earlier ones
stay written and the caller sees the error. No input of today comes near it (a new order is 2
or 3 actions, a cart delivery at most 5); a service that may stage more must keep its guards
(versions, markers) within the first 100 writes and keep its later writes idempotent, so that
retrying the input completes it (decision 57). Chunks also bound the 4 MB request size only as
far as DynamoDB's 400 KB item limit does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from shopflow.kernel.conflicts import VersionConflict
from shopflow.kernel.unit_of_work import AlreadyCommitted, StagedTwice, UnitOfWork

MAX_ACTIONS = 100  # DynamoDB's limit of actions in one TransactWriteItems

Kind = Literal["check", "delete", "put", "update"]
# PynamoDB sends a transaction's actions grouped in this order; cancellation reasons follow it.
_KIND_ORDER: tuple[Kind, ...] = ("check", "delete", "put", "update")


@dataclass(frozen=True)
class _Staged:
    position: int  # in staging order
    kind: Kind
    operation: dict[str, Any]  # PynamoDB's operation kwargs for the item
    conditional: bool
    if_condition_fails: Callable[[], Exception]


class DynamoUnitOfWork:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._staged: list[_Staged] = []
        self._keys: set[tuple[str, str]] = set()
        self._afterwards: list[Callable[[], None]] = []
        self._committed = False
        self.requests = 0  # TransactWriteItems sent by `commit`

    @property
    def staged(self) -> int:
        return len(self._staged)

    def put(
        self,
        item: Model,
        *,
        condition: Condition | None = None,
        if_condition_fails: Callable[[], Exception] = VersionConflict,
    ) -> None:
        operation = item.get_save_kwargs_from_instance(condition=condition)
        self._stage("put", item, operation, condition is not None, if_condition_fails)

    def update(
        self,
        item: Model,
        actions: list[Action],
        *,
        condition: Condition | None = None,
        if_condition_fails: Callable[[], Exception] = VersionConflict,
    ) -> None:
        operation = item.get_update_kwargs_from_instance(actions=actions, condition=condition)
        self._stage("update", item, operation, condition is not None, if_condition_fails)

    def delete(
        self,
        item: Model,
        *,
        condition: Condition | None = None,
        if_condition_fails: Callable[[], Exception] = VersionConflict,
    ) -> None:
        operation = item.get_delete_kwargs_from_instance(condition=condition)
        self._stage("delete", item, operation, condition is not None, if_condition_fails)

    def check(
        self,
        item: Model,
        condition: Condition,
        *,
        if_condition_fails: Callable[[], Exception] = VersionConflict,
    ) -> None:
        """A condition on an item this unit does not write (a stock level, say)."""
        operation = type(item).get_operation_kwargs_from_class(_pk(item), _sk(item), condition=condition)
        self._stage("check", item, operation, True, if_condition_fails)

    def after_commit(self, action: Callable[[], None]) -> None:
        self._afterwards.append(action)

    def commit(self) -> None:
        if self._committed:
            raise AlreadyCommitted()
        self._committed = True
        # Guards first, so a lost race or a duplicate is found before anything is written even
        # when the 100-action limit splits the unit (see the module's docstring).
        ordered = [s for s in self._staged if s.conditional] + [s for s in self._staged if not s.conditional]
        for start in range(0, len(ordered), MAX_ACTIONS):
            self._send(ordered[start : start + MAX_ACTIONS])
        for action in self._afterwards:
            action()

    def _stage(
        self,
        kind: Kind,
        item: Model,
        operation: dict[str, Any],
        conditional: bool,
        if_condition_fails: Callable[[], Exception],
    ) -> None:
        if self._committed:
            raise AlreadyCommitted()
        key = (_pk(item), _sk(item))
        if key in self._keys:
            raise StagedTwice(f"{key[0]} {key[1]}")
        self._keys.add(key)
        self._staged.append(_Staged(len(self._staged), kind, operation, conditional, if_condition_fails))

    def _send(self, chunk: list[_Staged]) -> None:
        sent = sorted(chunk, key=lambda staged: _KIND_ORDER.index(staged.kind))  # stable: staging order kept
        self.requests += 1
        try:
            self._connection.transact_write_items(
                condition_check_items=[s.operation for s in sent if s.kind == "check"],
                delete_items=[s.operation for s in sent if s.kind == "delete"],
                put_items=[s.operation for s in sent if s.kind == "put"],
                update_items=[s.operation for s in sent if s.kind == "update"],
            )
        except TransactWriteError as exc:
            meaning = _meaning(exc, sent)
            if meaning is None:
                raise
            raise meaning from exc


def _meaning(exc: TransactWriteError, sent: list[_Staged]) -> Exception | None:
    """The kernel's error a cancelled transaction means, or None: PynamoDB's error stands."""
    codes = [getattr(reason, "code", None) for reason in exc.cancellation_reasons or []]
    if exc.cause_response_code == "TransactionCanceledException":
        failed = [
            staged for staged, code in zip(sent, codes, strict=False) if code == "ConditionalCheckFailed"
        ]
        if failed:
            return min(failed, key=lambda staged: staged.position).if_condition_fails()
        if "TransactionConflict" in codes:
            return VersionConflict()
    if exc.cause_response_code == "TransactionConflictException":
        return VersionConflict()
    return None


def _pk(item: Model) -> str:
    return str(getattr(item, "pk"))  # noqa: B009 - every item of the table has pk and sk


def _sk(item: Model) -> str:
    return str(getattr(item, "sk"))  # noqa: B009


def dynamo(work: UnitOfWork) -> DynamoUnitOfWork:
    """The DynamoDB unit of work a DynamoDB repository stages into."""
    if not isinstance(work, DynamoUnitOfWork):
        raise TypeError(f"a DynamoDB repository stages into a DynamoUnitOfWork, not {type(work).__name__}")
    return work
