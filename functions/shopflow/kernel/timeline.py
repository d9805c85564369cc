"""A line of a subject's history (an order's, a cart's), as the owner reads it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    at: datetime
    recorded_at: datetime
    event: str
    status: str  # the subject's status after this line (an order's or a cart's)
    source: str
    detail: str
    changes: tuple[str, ...] = ()
