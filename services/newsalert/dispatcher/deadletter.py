"""``alerts.dlq``: deliveries that will not be attempted again, with their history."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel

from newsalert import constants
from newsalert.dispatcher.records import AttemptRecord
from newsalert.isolation import DeadLetterReason, position
from newsalert.kafka import send_all
from newsalert.models import Alert

SOURCE = "dispatcher"


class DeadLetter(BaseModel):
    """The value of an ``alerts.dlq`` record (key: the delivery id)."""

    delivery_id: str
    subscription_id: str
    reason: str
    alert: Alert
    attempts: list[AttemptRecord]


class DeadLetterQueue:
    """Publishes dead letters; a send resolves once the broker stored the record."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self.topic = topic

    async def publish(self, letter: DeadLetter) -> None:
        """Put ``letter`` on the DLQ topic (reason also in a header)."""
        await self.publish_raw(
            letter.delivery_id.encode(), letter.model_dump_json().encode(), letter.reason
        )

    async def publish_raw(self, key: bytes | None, value: bytes, reason: str) -> None:
        """Put undecodable input on the DLQ as it came, with the reason."""
        headers: list[tuple[str, bytes]] = [
            (constants.HEADER_DLQ_REASON, reason.encode()),
            (constants.HEADER_DLQ_SOURCE, SOURCE.encode()),
        ]
        records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]] | None]] = [
            (self.topic, key, value, headers)
        ]
        await send_all(self._producer, records)

    async def publish_record(
        self, record: ConsumerRecord[bytes, bytes], why: DeadLetterReason
    ) -> None:
        """Put a consumed record that cannot be processed on the DLQ as it came, with why."""
        headers = why.headers(position(record))
        await send_all(self._producer, [(self.topic, record.key, record.value or b"", headers)])


def parse_dead_letter(value: bytes) -> DeadLetter:
    """Decode an ``alerts.dlq`` record value."""
    return DeadLetter.model_validate_json(value)
