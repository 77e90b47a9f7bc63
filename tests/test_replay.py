"""The replay command republishes history, so a lost projection can be rebuilt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fitness_devstack.stack import Stack, run_service_command
from fitness_devstack.testing import PASSWORD, unique_email, wait_for_events

pytestmark = pytest.mark.integration


def test_replay_outbox_republishes_with_the_same_event_ids(stack: Stack, gateway: httpx.Client) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    email = unique_email("replay")
    user = gateway.post("/v1/auth/register", json={"email": email, "password": PASSWORD}).json()["user"]

    def copies(found: list) -> list[str]:
        return [e.event_id for e in found if e.user_id == user["id"] and e.event_type.endswith("UserRegistered")]

    wait_for_events(stack.kafka_bootstrap, "fitness.auth.user.v1", lambda found: len(copies(found)) == 1)
    output = run_service_command(stack, "auth", "replay-outbox", since.isoformat())
    assert int(output.split()[0]) >= 1
    found = wait_for_events(stack.kafka_bootstrap, "fitness.auth.user.v1", lambda found: len(copies(found)) == 2)
    first, second = copies(found)
    assert first == second  # same event id: every consumer's inbox skips the copy
