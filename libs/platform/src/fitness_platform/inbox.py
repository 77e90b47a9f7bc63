"""Inbox consumer: applies each event once.

The event id is recorded in the service's `inbox` table in the same
transaction as the change the event causes; a duplicate is skipped; the
offset is committed only after that transaction committed. A crash anywhere
means the event is read again and skipped or applied, never half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from google.protobuf.message import DecodeError
from opentelemetry import trace
from opentelemetry.propagate import extract
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fitness.events.v1 import envelope_pb2
from fitness_platform.events import inbox
from fitness_platform.kafka import ensure_topics
from fitness_platform.logging import get_logger
from fitness_platform.metrics import INBOX_PROCESSED

Handler = Callable[[AsyncConnection, envelope_pb2.Envelope], Awaitable[None]]

_log = get_logger("inbox")
_tracer = trace.get_tracer("fitness.inbox")


class LogTruncated(RuntimeError):
    """The broker's log restarted below our position: reconnect from the start."""


class InboxConsumer:
    def __init__(
        self,
        engine: AsyncEngine,
        bootstrap_servers: str,
        group_id: str,
        handlers: Mapping[str, Handler],
        topics: list[str],
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._handlers = handlers
        self._topics = topics
        self.connected = False

    async def run(self) -> None:
        backoff = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                *self._topics,
                bootstrap_servers=self._bootstrap,
                group_id=self._group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            try:
                await ensure_topics(self._bootstrap, self._topics)
                await consumer.start()
                self.connected = True
                backoff = 0.5
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _log.warning("inbox.consumer_error", error=repr(error), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        fresh = True
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=200)
            if fresh and consumer.assignment():
                # Before trusting the group's offsets: were they left past the
                # end by a broker that lost its log?
                fresh = False
                truncated = await self._truncated(consumer)
                for partition in truncated:
                    consumer.seek(partition, 0)  # nothing was fetched past the end
                batches = {p: r for p, r in batches.items() if p not in truncated}
            for partition, records in batches.items():
                for record in records:
                    await self._process_with_retry(record)
                await consumer.commit({partition: records[-1].offset + 1})
            if not batches and loop.time() - checked > 2.0:
                checked = loop.time()
                truncated = await self._truncated(consumer)
                if truncated:
                    with contextlib.suppress(Exception):
                        await consumer.commit(dict.fromkeys(truncated, 0))
                    raise LogTruncated(sorted(str(p) for p in truncated))

    @staticmethod
    async def _truncated(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Partitions where our position is past the end of the log: the log
        was lost and began again (a memory-only broker restarted). Reading
        them from the start is safe: the inbox skips what was applied."""
        assigned = list(consumer.assignment())
        if not assigned:
            return []
        ends = await consumer.end_offsets(assigned)
        truncated = []
        for partition in assigned:
            position = await consumer.position(partition)
            if position > ends[partition]:
                _log.warning("inbox.log_truncated", topic=partition.topic, partition=partition.partition,
                             position=position, end=ends[partition])  # fmt: skip
                truncated.append(partition)
        return truncated

    async def _process_with_retry(self, record: ConsumerRecord[bytes, bytes]) -> None:
        delay = 0.2
        # Continue the trace of the request that wrote the event.
        carrier = {key: value.decode() for key, value in record.headers or () if key == "traceparent"}
        while True:
            try:
                with _tracer.start_as_current_span(f"consume {record.topic}", context=extract(carrier)):
                    await self.process(record.topic, record.value or b"")
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # The partition waits: skipping would lose the change.
                _log.exception("inbox.handler_failed", topic=record.topic,
                               offset=record.offset, error=repr(error))  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def process(self, topic: str, value: bytes) -> bool:
        """Apply one event; returns False when it was a duplicate or unreadable."""
        envelope = envelope_pb2.Envelope()
        try:
            envelope.ParseFromString(value)
            event_id = uuid.UUID(envelope.event_id)
        except (DecodeError, ValueError):
            INBOX_PROCESSED.labels("unreadable", "skipped").inc()
            _log.error("inbox.unreadable_event", topic=topic)
            return False
        async with self._engine.begin() as conn:
            inserted = await conn.execute(
                insert(inbox)
                .values(event_id=event_id, event_type=envelope.event_type, topic=topic)
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            if inserted.first() is None:
                INBOX_PROCESSED.labels(envelope.event_type, "duplicate").inc()
                return False
            handler = self._handlers.get(envelope.event_type)
            if handler is not None:
                await handler(conn, envelope)
        INBOX_PROCESSED.labels(envelope.event_type, "applied" if handler else "ignored").inc()
        return True
