"""Schedules in template.yaml fire when EventBridge would fire them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopflow.local.sources import Schedule, ScheduleError

AT = datetime(2026, 11, 22, 10, 7, 30, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", datetime(2026, 11, 22, 10, 8, tzinfo=UTC)),
        ("rate(5 minutes)", datetime(2026, 11, 22, 10, 10, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2026, 11, 22, 11, 0, tzinfo=UTC)),
        ("cron(0 9 * * ? *)", datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        ("cron(15,45 * * * ? *)", datetime(2026, 11, 22, 10, 15, tzinfo=UTC)),
        ("cron(0/20 * * * ? *)", datetime(2026, 11, 22, 10, 20, tzinfo=UTC)),
        ("cron(0 8 ? * MON-FRI *)", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("cron(30 6 1 * ? *)", datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("cron(0 12 ? * 1 *)", datetime(2026, 11, 22, 12, 0, tzinfo=UTC)),  # 1 = Sunday: today
    ],
)
def test_next_firing(expression: str, expected: datetime) -> None:
    assert Schedule(expression).next_after(AT) == expected


def test_firing_times_move_strictly_forward() -> None:
    schedule = Schedule("rate(1 minute)")
    first = schedule.next_after(AT)
    assert schedule.next_after(first) == datetime(2026, 11, 22, 10, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    ["every minute", "cron(0 9 * *)", "cron(61 * * * ? *)", "rate(0 minutes)", "cron(0 9 * FOO ? *)"],
)
def test_a_bad_expression_is_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule(expression).next_after(AT)
