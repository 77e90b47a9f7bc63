"""Fault tests: the broker goes away while users keep registering."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fitness.events.v1 import auth_events_pb2
from fitness_devstack.oidc import LocalIssuer
from fitness_devstack.pytest_plugin import build_test_stack
from fitness_devstack.stack import Stack
from fitness_devstack.testing import PASSWORD, unique_email, wait_for_events

pytestmark = pytest.mark.integration
TOPIC = "fitness.auth.user.v1"


def registered_emails(envelopes: list) -> set[str]:
    emails = set()
    for envelope in envelopes:
        if envelope.event_type == "fitness.events.v1.UserRegistered":
            event = auth_events_pb2.UserRegistered()
            envelope.payload.Unpack(event)
            emails.add(event.email)
    return emails


def health(stack: Stack, service: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{stack.grpc_ports['auth']}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(reply.status)


def wait_health(stack: Stack, service: str, wanted: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(stack, service) == wanted:
            return True
        time.sleep(0.5)
    return False


def register(gateway: httpx.Client, count: int, tag: str) -> list[str]:
    emails = [unique_email(tag) for _ in range(count)]
    for email in emails:
        response = gateway.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
    return emails


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, oidc_issuer: LocalIssuer) -> Iterator[Stack]:
    """A system of its own: restarting its broker must not disturb other tests."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("restarts the embedded broker; an external one is configured")
    system = build_test_stack(tmp_path_factory.mktemp("faulty"), oidc_issuer)
    try:
        system.up()
        yield system
    finally:
        system.stop()


def test_broker_restart_loses_no_user_registered_event(faulty: Stack) -> None:
    stack = faulty
    assert stack.kafka is not None
    gateway = httpx.Client(base_url=stack.gateway_url, timeout=15)
    bootstrap = stack.kafka_bootstrap
    before = register(gateway, 10, "before")
    seen_before = wait_for_events(bootstrap, TOPIC, lambda e: set(before) <= registered_emails(e))

    stack.kafka.stop()
    # Health says so, without taking auth out of rotation (the outbox absorbs it).
    assert wait_health(stack, "auth.broker", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert health(stack, "") == health_pb2.HealthCheckResponse.SERVING
    # Registrations go on while the broker is down: they wait in the outbox.
    during = register(gateway, 10, "during")
    stack.kafka.start(port_timeout=10)
    assert wait_health(stack, "auth.broker", health_pb2.HealthCheckResponse.SERVING)
    after = register(gateway, 5, "after")

    # The memory-only broker lost everything it had; the relay republishes what it
    # never got acknowledged, so every event from the outage and after arrives.
    seen_after = wait_for_events(bootstrap, TOPIC, lambda e: set(during + after) <= registered_emails(e), timeout=60)
    assert set(before + during + after) <= registered_emails(seen_before) | registered_emails(seen_after)
    gateway.close()
