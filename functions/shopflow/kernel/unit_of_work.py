"""One input's writes, gathered from every aggregate it touches and committed together.

A service opens a unit of work, lets each repository stage what it writes (an order with its
dedup markers, its timeline line and outbox item, a cart, timers, send-once records, later a
stock item and a reservation), then commits once: all of it or nothing. Only the unit of work
commits; repositories load and stage. The DynamoDB adapter (`shopflow.store.unit_of_work`)
commits one TransactWriteItems; `InMemoryUnitOfWork` below is its twin for unit tests.

A failed commit raises what the first write whose condition failed says it means (a
repository stages the order as `VersionConflict`, a cart delivery's marker as
`DuplicateDelivery`, a send-once record as its own lease error) or `VersionConflict` when
another transaction held an item. Nothing staged is kept after a failed commit: the service
reads again and opens a new unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class UnitOfWork(Protocol):
    def commit(self) -> None:
        """Write everything staged, all or nothing, then run the `after_commit` actions."""
        ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the commit succeeded (derived data written after the transaction,
        such as the buyer index); never when it failed."""
        ...


class StagedTwice(ValueError):
    """Two writes of one item in one unit of work (DynamoDB refuses such a transaction)."""


class AlreadyCommitted(RuntimeError):
    """A unit of work commits once; the next input opens a new one."""


@dataclass
class InMemoryUnitOfWork:
    """Staged writes as (check, apply) pairs: every check runs before any apply, so a failed
    check (it raises the conflict its repository names) leaves every fake store unchanged."""

    checks: list[Callable[[], None]] = field(default_factory=list)
    applies: list[Callable[[], None]] = field(default_factory=list)
    keys: set[object] = field(default_factory=set)
    afterwards: list[Callable[[], None]] = field(default_factory=list)
    committed: bool = False
    # Writes per commit; repositories of one fake share a list, so a test counts the commits.
    log: list[int] = field(default_factory=list)

    def stage(self, key: object, apply: Callable[[], None], check: Callable[[], None] | None = None) -> None:
        if self.committed:
            raise AlreadyCommitted()
        if key in self.keys:
            raise StagedTwice(repr(key))
        self.keys.add(key)
        if check is not None:
            self.checks.append(check)
        self.applies.append(apply)

    def after_commit(self, action: Callable[[], None]) -> None:
        self.afterwards.append(action)

    @property
    def staged(self) -> int:
        return len(self.applies)

    def commit(self) -> None:
        if self.committed:
            raise AlreadyCommitted()
        self.committed = True
        for check in self.checks:
            check()
        for apply in self.applies:
            apply()
        self.log.append(len(self.applies))
        for action in self.afterwards:
            action()


def in_memory(work: UnitOfWork) -> InMemoryUnitOfWork:
    """The in-memory unit of work an in-memory repository stages into."""
    if not isinstance(work, InMemoryUnitOfWork):
        raise TypeError(
            f"an in-memory repository stages into an InMemoryUnitOfWork, not {type(work).__name__}"
        )
    return work
