"""Outbox relay: publishes committed outbox rows in order and marks them sent
only after the broker acknowledged them.

It does not rely on idempotent producers or Kafka transactions: a crash
between the acknowledgement and the update republishes a few rows, and
consumers dedupe by event id. One relay per service is active at a time (a
PostgreSQL advisory lock), so several replicas keep per-user order.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fitness_platform.events import outbox
from fitness_platform.kafka import ensure_topics
from fitness_platform.logging import get_logger
from fitness_platform.metrics import OUTBOX_LAG, OUTBOX_PENDING, OUTBOX_PUBLISHED

_log = get_logger("outbox")


class TopicsMissing(RuntimeError):
    """The broker lost topics (restart): reconnect and recreate them first."""


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        bootstrap_servers: str,
        schema: str,
        topics: list[str],
        poll_interval: float = 0.2,
        batch_size: int = 500,
        retention: timedelta = timedelta(days=30),
        send_timeout: float = 15.0,
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_servers
        self._topics = topics
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._retention = retention
        self._send_timeout = send_timeout
        self._lock_id = zlib.crc32(f"outbox:{schema}".encode())
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self.connected = False

    async def broker_reachable(self) -> bool:
        """For health: ask the broker now (an idle relay would not notice it went away)."""
        producer = self._producer
        if producer is None or not self.connected:
            return False
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=2.0)
        except Exception:
            return False
        return True

    def notify(self) -> None:
        """Wake the relay now (called after a commit that wrote outbox rows)."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                async with self._engine.connect() as lock_conn:
                    if not await self._try_lead(lock_conn):
                        await asyncio.sleep(2.0)
                        continue
                    await self._publish_forever()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.connected = False
                _log.warning("outbox.relay_error", error=repr(error), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _try_lead(self, conn: AsyncConnection) -> bool:
        result = await conn.execute(sa.select(sa.func.pg_try_advisory_lock(self._lock_id)))
        await conn.commit()
        return bool(result.scalar())

    async def _publish_forever(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            linger_ms=2,
            request_timeout_ms=10_000,
        )
        await producer.start()
        self._producer = producer
        try:
            await ensure_topics(self._bootstrap, self._topics)
            self.connected = True
            last_cleanup = 0.0
            while True:
                sent = await self._publish_batch(producer)
                loop_time = asyncio.get_running_loop().time()
                if loop_time - last_cleanup > 3600:
                    await self._delete_old()
                    last_cleanup = loop_time
                if sent < self._batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_interval)
        finally:
            self.connected = False
            self._producer = None
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _publish_batch(self, producer: AIOKafkaProducer) -> int:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.event_type,
                              outbox.c.event_id, outbox.c.envelope, outbox.c.traceparent,
                              outbox.c.created_at)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                )
            ).all()  # fmt: skip
            await conn.commit()
            OUTBOX_PENDING.set(len(rows))
            if not rows:
                return 0
            # A memory-only broker that restarted accepts writes to topics it no
            # longer has and serves them to nobody: check before every batch.
            metadata = await producer.client.fetch_all_metadata()
            if not set(self._topics) <= metadata.topics():
                raise TopicsMissing(sorted(set(self._topics) - metadata.topics()))
            # A broker that went away can leave sends pending forever: give the
            # batch a deadline, then start over with a new producer.
            async with asyncio.timeout(self._send_timeout):
                await self._send_all(producer, rows)
            now = datetime.now(UTC)
            await conn.execute(
                outbox.update().where(outbox.c.id.in_([row.id for row in rows])).values(published_at=now)
            )
            await conn.commit()
        for row in rows:
            OUTBOX_PUBLISHED.labels(row.topic).inc()
            OUTBOX_LAG.observe((now - row.created_at).total_seconds())
        return len(rows)

    @staticmethod
    async def _send_all(producer: AIOKafkaProducer, rows: Sequence[Any]) -> None:
        futures = []
        for row in rows:
            headers = [("event_type", row.event_type.encode()), ("event_id", str(row.event_id).encode())]
            if row.traceparent:
                headers.append(("traceparent", row.traceparent.encode()))
            futures.append(await producer.send(row.topic, value=row.envelope, key=row.key.encode(), headers=headers))
        # Every send must be acknowledged before any row is marked sent.
        await asyncio.gather(*futures)

    async def _delete_old(self) -> None:
        cutoff = datetime.now(UTC) - self._retention
        async with self._engine.begin() as conn:
            await conn.execute(outbox.delete().where(outbox.c.published_at.is_not(None), outbox.c.created_at < cutoff))


async def replay(engine: AsyncEngine, since: datetime, topic: str | None = None) -> int:
    """Mark already published rows as pending again, so the relay sends them anew
    (consumers dedupe; a lost or broken projection is rebuilt this way)."""
    async with engine.begin() as conn:
        query = outbox.update().where(outbox.c.created_at >= since).values(published_at=None)
        if topic:
            query = query.where(outbox.c.topic == topic)
        result = await conn.execute(query)
    return result.rowcount
