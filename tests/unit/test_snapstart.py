"""SnapStart's hooks, as Lambda's runtime library holds them.

The whole cycle, a primed snapshot and containers restored from it: tests/cold/test_snapstart.py.
"""

from __future__ import annotations

import random

import pytest
import snapshot_restore_py

from shopflow import snapstart


def test_the_hooks_are_registered_with_the_runtimes_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])

    assert snapstart.register_hooks() is True

    assert [entry[0] for entry in snapshot_restore_py._before_snapshot_registry] == [
        snapstart.before_snapshot
    ]
    assert [entry[0] for entry in snapshot_restore_py._after_restore_registry] == [snapstart.after_restore]


def test_each_restored_container_draws_its_own_random_numbers() -> None:
    """Every container restored from one snapshot starts with the snapshot's generator: without a
    new seed, their retry jitter would be the same numbers, at the same moments."""
    random.seed(7)
    from_the_snapshot = [random.random() for _ in range(3)]

    random.seed(7)
    snapstart.after_restore()

    assert [random.random() for _ in range(3)] != from_the_snapshot
