"""A request's trace continues through the events it writes (W3C traceparent)."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fitness_devstack.stack import Stack
from fitness_devstack.testing import PASSWORD, unique_email

pytestmark = pytest.mark.integration
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


async def headers_of(bootstrap: str, topic: str, user_id: str) -> list[dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = [p["partition"] for d in await admin.describe_topics([topic]) for p in d["partitions"]]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        found = []
        for _ in range(10):
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [
                    {k: v.decode() for k, v in record.headers} for record in records if record.key == user_id.encode()
                ]
        return found
    finally:
        await consumer.stop()


def test_events_carry_the_trace_of_the_request(stack: Stack, gateway: httpx.Client) -> None:
    user = gateway.post("/v1/auth/register", json={"email": unique_email("trace"), "password": PASSWORD}).json()["user"]
    deadline = time.monotonic() + 20
    headers: list[dict[str, str]] = []
    while not headers and time.monotonic() < deadline:
        headers = asyncio.run(headers_of(stack.kafka_bootstrap, "fitness.auth.user.v1", user["id"]))
    assert headers, "no event for the new user"
    registered = next(h for h in headers if h["event_type"].endswith("UserRegistered"))
    assert TRACEPARENT.match(registered["traceparent"]), registered
    assert registered["event_id"]
