"""Event envelopes and the outbox write that goes in the business transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from opentelemetry.propagate import inject
from sqlalchemy.ext.asyncio import AsyncConnection

from fitness.events.v1 import envelope_pb2

metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("event_id", sa.Uuid),
    sa.Column("topic", sa.Text),
    sa.Column("key", sa.Text),
    sa.Column("event_type", sa.Text),
    sa.Column("envelope", sa.LargeBinary),
    sa.Column("traceparent", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("event_type", sa.Text),
    sa.Column("topic", sa.Text),
    sa.Column("received_at", sa.DateTime(timezone=True)),
)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def make_envelope(source: str, user_id: str, payload: Message) -> envelope_pb2.Envelope:
    packed = any_pb2.Any()
    packed.Pack(payload)
    return envelope_pb2.Envelope(
        event_id=str(uuid.uuid4()),
        event_type=payload.DESCRIPTOR.full_name,
        source=source,
        occurred_at=timestamp(datetime.now(UTC)),
        user_id=user_id,
        payload=packed,
    )


class OutboxWriter:
    """Adds events to the outbox inside the caller's transaction."""

    def __init__(self, source: str) -> None:
        self._source = source

    async def add(self, conn: AsyncConnection, topic: str, user_id: str, payload: Message) -> envelope_pb2.Envelope:
        return (await self.add_many(conn, topic, user_id, [payload]))[0]

    async def add_many(
        self, conn: AsyncConnection, topic: str, user_id: str, payloads: list[Message]
    ) -> list[envelope_pb2.Envelope]:
        """Several events of one user, in order, in one round trip."""
        carrier: dict[str, str] = {}
        inject(carrier)
        envelopes = [make_envelope(self._source, user_id, payload) for payload in payloads]
        await conn.execute(
            _INSERT,
            [
                {
                    "event_id": uuid.UUID(e.event_id),
                    "topic": topic,
                    "key": user_id,
                    "event_type": e.event_type,
                    "envelope": e.SerializeToString(),
                    "traceparent": carrier.get("traceparent"),
                }
                for e in envelopes
            ],
        )
        return envelopes


_INSERT = outbox.insert()
