"""The inbox applies an event once, however often it is delivered (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from fitness.events.v1 import auth_events_pb2, envelope_pb2
from fitness_devstack.stack import Stack
from fitness_platform.db import sqlalchemy_url
from fitness_platform.events import make_envelope
from fitness_platform.inbox import InboxConsumer

pytestmark = pytest.mark.integration


def test_duplicates_are_skipped_and_failures_roll_back(stack: Stack) -> None:
    async def scenario() -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(sqlalchemy_url(stack.database_url_for("auth")))
        applied: list[str] = []
        fail = {"once": True}

        async def handler(conn: sa.ext.asyncio.AsyncConnection, envelope: envelope_pb2.Envelope) -> None:
            if fail["once"]:
                fail["once"] = False
                raise RuntimeError("handler failed mid-way")
            applied.append(envelope.event_id)

        event = auth_events_pb2.UserDeleted(user_id=str(uuid.uuid4()))
        envelope = make_envelope("test", event.user_id, event)
        consumer = InboxConsumer(engine, stack.kafka_bootstrap, "test", {envelope.event_type: handler}, ["t"])
        with pytest.raises(RuntimeError):
            await consumer.process("t", envelope.SerializeToString())
        # The failed attempt left no inbox row, so the retry applies the event.
        assert await consumer.process("t", envelope.SerializeToString()) is True
        assert await consumer.process("t", envelope.SerializeToString()) is False
        assert applied == [envelope.event_id]
        assert await consumer.process("t", b"\xff\xffnot a protobuf") is False
        await engine.dispose()

    asyncio.run(scenario())
