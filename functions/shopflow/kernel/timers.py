"""A delayed action a commit arms: the sweep finds it when due and hands it to its action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TimerRequest:
    timer_id: str
    action: str  # the registered name of what runs when it fires
    due_at: datetime
    payload: str  # JSON
