"""What the delivery log holds: one record per delivery, one entry per attempt."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, Field

from newsalert.models import Alert


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands."""

    SCHEDULED = "scheduled"  # waiting for its first attempt (or a redelivery)
    RETRYING = "retrying"  # an attempt failed; the next one is scheduled
    PAUSED = "paused"  # the subscription is paused; kept until it is resumed
    DELIVERED = "delivered"  # a 2xx was received
    FAILED = "failed"  # dead-lettered to alerts.dlq (exhausted, or too old)


class AttemptRecord(BaseModel):
    """One POST: when, what came back, how long it took, what happens next."""

    number: int
    at: datetime
    status: int | None = None
    latency_ms: float = 0.0
    verdict: str
    error: str | None = None
    response: str = ""
    next_at: datetime | None = None


class DeliveryRecord(BaseModel):
    """One alert for one subscription, as stored in Redis."""

    delivery_id: str
    subscription_id: str
    alert_id: str
    status: DeliveryStatus
    attempts: int = 0
    created_at: datetime
    updated_at: datetime | None = None
    next_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    alert: Alert | None = Field(None, exclude=True)
    history: list[AttemptRecord] = Field(default_factory=list)
