"""A command's moment on its target: a running `shopflow local`'s clock (which runs fast or was
advanced), else the machine's; and a Runtime bound to the target's table at that moment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shopflow.target import Target

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime


def target_now(target: Target) -> datetime:
    """The target's time: a local instance's clock runs fast or was advanced (its /status says)."""
    if target.local is None:
        return datetime.now(UTC)
    import urllib.request

    status = target.local.control_url + "/status"
    with urllib.request.urlopen(status, timeout=10) as answer:  # noqa: S310 - our own local control endpoint
        return datetime.fromisoformat(str(json.loads(answer.read())["now"]))


def target_runtime(target: Target) -> Runtime:
    from shopflow.bootstrap import Runtime
    from shopflow.clock import FakeClock

    target.bind_table()
    # One command is one moment of the target's time, as one invocation of a function is.
    return Runtime(stage=target.stage, table_name=target.table, clock=FakeClock(target_now(target)))
