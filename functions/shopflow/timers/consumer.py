"""timers: due timers from the timers queue -> their action, then the timer is gone.

An action must be idempotent (the late-order check records its change under a dedup key):
a timer can be swept twice, and its message delivered twice. The timer is deleted only if
it is still the one that fired (same `due_at`): a timer re-armed meanwhile stays.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DeleteError

from shopflow.kernel.queue_messages import DueTimer
from shopflow.observability import logger
from shopflow.store.models import TimerItem

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

Action = Callable[[dict[str, Any]], None]


class UnknownTimerAction(ValueError):
    pass


class TimerConsumer:
    def __init__(self, actions: Mapping[str, Action]) -> None:
        self._actions = actions

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of that dict
            event=event, record_handler=self._record, processor=processor, context=context
        )

    def _record(self, record: SQSRecord) -> None:
        due = DueTimer.model_validate_json(record.body)
        action = self._actions.get(due.action)
        if action is None:
            raise UnknownTimerAction(f"no action {due.action!r}")
        action(json.loads(due.payload))
        try:
            TimerItem(f"TIMER#{due.timer_id}", "TIMER").delete(condition=TimerItem.due_at == due.due_at)
        except DeleteError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
        logger.info("timer fired", extra={"timer_id": due.timer_id, "action": due.action})
