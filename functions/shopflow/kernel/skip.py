"""Why a message (or a whole reminder) does not go."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skip:
    """Recorded on the subject's timeline as "skipped: <reason>"."""

    reason: str
