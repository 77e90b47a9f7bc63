"""Helpers for tests that drive the system as the mobile app does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from fitness_devstack.servers import SmtpSink

TOKEN_IN_LINK = re.compile(r"\?token=([A-Za-z0-9_\-]+)")
PASSWORD = "correct horse battery staple"


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def mail_token(smtp: SmtpSink, to: str, subject_word: str, timeout: float = 20.0) -> str:
    """The token in the newest mail to `to` whose subject contains `subject_word`."""
    message = smtp.wait_for(
        lambda m: to in str(m.get("To", "")) and subject_word.lower() in str(m.get("Subject", "")).lower(),
        timeout=timeout,
    )
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else str(message.get_payload())
    found = TOKEN_IN_LINK.search(text)
    assert found, f"no token link in mail: {text!r}"
    return found.group(1)


@dataclass
class Account:
    email: str
    password: str
    user_id: str
    access_token: str
    refresh_token: str
    session_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register_verified(
    client: httpx.Client, smtp: SmtpSink, email: str | None = None, password: str = PASSWORD, **profile: Any
) -> Account:
    """Register, confirm the email from the real mail, and log in, through the gateway."""
    email = email or unique_email()
    response = client.post("/v1/auth/register", json={"email": email, "password": password, **profile})
    assert response.status_code == 200, response.text
    token = mail_token(smtp, email, "confirm")
    verified = client.post("/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    return login(client, email, password)


def login(client: httpx.Client, email: str, password: str = PASSWORD, device: str = "test-phone") -> Account:
    response = client.post("/v1/auth/login", json={"email": email, "password": password, "deviceName": device})
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(
        email=email,
        password=password,
        user_id=body["user"]["id"],
        access_token=body["accessToken"],
        refresh_token=body["refreshToken"],
        session_id=body["sessionId"],
    )


def error_fields(response: httpx.Response) -> dict[str, str]:
    """Field violations from a JSON google.rpc.Status error body."""
    body = response.json()
    fields: dict[str, str] = {}
    for detail in body.get("details", []):
        for violation in detail.get("fieldViolations", []):
            fields[violation["field"]] = violation["description"]
    return fields


async def read_topic(bootstrap: str, topic: str, limit_seconds: float = 10.0) -> list[Any]:
    """Every envelope currently on a topic, from the beginning (no consumer group)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from fitness.events.v1 import envelope_pb2

    # Ask for the topic by name: after a restart the local broker serves topics
    # that were produced to without listing them.
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [p["partition"] for d in described if d["topic"] == topic for p in d["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:
            return []
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        end = await consumer.end_offsets(assigned)
        envelopes = []
        deadline = asyncio.get_running_loop().time() + limit_seconds
        while True:
            positions = [await consumer.position(tp) for tp in assigned]
            if all(pos >= end[tp] for pos, tp in zip(positions, assigned, strict=True)):
                break
            if asyncio.get_running_loop().time() > deadline:
                break
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    envelope = envelope_pb2.Envelope()
                    envelope.ParseFromString(record.value)
                    envelopes.append(envelope)
        return envelopes
    finally:
        await consumer.stop()


def wait_for_events(bootstrap: str, topic: str, predicate: Any, timeout: float = 30.0) -> list[Any]:
    """Poll a topic until `predicate(envelopes)` holds; returns the envelopes."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    envelopes: list[Any] = []
    while time.monotonic() < deadline:
        envelopes = asyncio.run(read_topic(bootstrap, topic))
        if predicate(envelopes):
            return envelopes
        time.sleep(0.5)
    raise AssertionError(f"condition not met on {topic} after {timeout}s ({len(envelopes)} events)")
