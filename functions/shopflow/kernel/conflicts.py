"""What a store answers when a conditional write did not happen, and how a service retries."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

# Reads and commits of one input before the sender is asked to retry (answer 503).
MAX_ATTEMPTS = 6


class DuplicateDelivery(Exception):
    """A dedup marker for this delivery already exists: it was recorded before."""


class VersionConflict(Exception):
    """The subject changed (or was created) since it was read: read again and retry."""


class ConcurrentUpdates(Exception):
    """The subject kept changing under every attempt: the sender should retry later (503)."""

    def __init__(self, what: str, ids: Mapping[str, str]) -> None:
        super().__init__(f"{what} {', '.join(ids.values())} kept changing")
        self.what, self.ids = what, dict(ids)


def back_off(attempt: int, sleep: Callable[[float], None]) -> None:
    # Someone else is changing the subject right now: wait a little (full jitter), read again.
    sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not crypto
