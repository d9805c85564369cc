"""dispatch: DynamoDB stream (outbox items only) -> one SQS queue per concern.

Runs at least once per outbox item: a retried batch may send an item again, so every
message carries its `outbox_id` and consumers deduplicate on it. Failed records are
reported as partial batch failures (Powertools batch), so only they are retried.

A FIFO queue (`.fifo`, the price push's) keeps the order of one subject's events: its message
group is the event's type and, when its payload names them, its `channel` and `sku`; SQS drops
a resend within 5 minutes by the outbox id (decision 77).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shopflow.kernel.queue_messages import EventMessage
from shopflow.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord


class UnroutableEvent(Exception):
    pass


def message_body(outbox_id: str, event_type: str, payload: str) -> str:
    return EventMessage(type=event_type, outbox_id=outbox_id, event=json.loads(payload)).model_dump_json()


def fifo_group(event_type: str, payload: str) -> str:
    """The message group of an event on a FIFO queue: one subject's events in order, others apart."""
    event = json.loads(payload)
    subject = [str(event[key]) for key in ("channel", "sku") if isinstance(event.get(key), str)]
    return ":".join([event_type, *subject])[:128]  # SQS's limit on a group id


class Dispatcher:
    def __init__(
        self,
        sqs_client: Callable[[], Any],
        queue_urls: Mapping[str, str],
        routes: Mapping[str, tuple[str, ...]],
    ) -> None:
        """`routes`: event type -> the concerns whose queues hear it (each capability declares
        the events it publishes, shopflow/capabilities.py); `queue_urls`: concern -> queue URL."""
        self._sqs = sqs_client
        self._queue_urls = queue_urls
        self._routes = routes

    def queue_urls_for(self, event_type: str) -> tuple[str, ...]:
        """The queues an event of this type is sent to (none: it is unroutable)."""
        return tuple(self._queue_urls[concern] for concern in self._routes.get(event_type, ()))

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Imported here: the batch utility pulls in asyncio (~80 ms), which only dispatch needs,
        # and every function shares app.py.
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of that dict
            event=event, record_handler=self._publish, processor=processor, context=context
        )

    def _publish(self, record: DynamoDBRecord) -> None:
        image = record.dynamodb.new_image if record.dynamodb else {}
        if (
            record.event_name is None
            or record.event_name.name != "INSERT"
            or image.get("item_type") != "OUTBOX"
        ):
            return  # the event source filter already drops these; stay safe if it is ever widened
        outbox_id, event_type = str(image["outbox_id"]), str(image["event_type"])
        concerns = self._routes.get(event_type)
        if not concerns:
            raise UnroutableEvent(f"no queue is routed for {event_type}")
        body = message_body(outbox_id, event_type, str(image["payload"]))
        for concern in concerns:
            url = self._queue_urls[concern]
            ordered = {
                "MessageGroupId": fifo_group(event_type, str(image["payload"])),
                "MessageDeduplicationId": outbox_id,
            }
            self._sqs().send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes={
                    "outbox_id": {"DataType": "String", "StringValue": outbox_id},
                    "event_type": {"DataType": "String", "StringValue": event_type},
                },
                **(ordered if url.endswith(".fifo") else {}),
            )
        logger.info(
            "outbox item dispatched",
            extra={"outbox_id": outbox_id, "event_type": event_type, "queues": list(concerns)},
        )
