"""`shopflow local` under load: what the runtime does besides the handlers stays cheap, and
still does its job (its figures: bench/local_runtime.py --only load)."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.test_local import status


def test_a_message_in_a_dead_letter_queue_shows_in_status_and_on_the_console(launch: Any) -> None:
    instance = launch()
    session = instance.session
    dead_letters = session.queues["NotifyDeadLetterQueue"]
    instance.target.client("sqs").send_message(QueueUrl=dead_letters, MessageBody='{"type": "lost"}')

    line = instance.wait_for("dead-letter queue NotifyDeadLetterQueue now holds", timeout=10)

    assert "holds 1 message(s) from NotifyQueue" in line
    assert json.loads(status(instance))["dead_letters"]["NotifyDeadLetterQueue"] == 1
