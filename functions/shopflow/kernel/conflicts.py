"""What a store answers when a conditional write did not happen."""

from __future__ import annotations


class DuplicateDelivery(Exception):
    """A dedup marker for this delivery already exists: it was recorded before."""


class VersionConflict(Exception):
    """The subject changed (or was created) since it was read: read again and retry."""
