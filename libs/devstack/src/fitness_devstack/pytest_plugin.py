"""Session fixtures: the whole system is started once per test session.

Backing servers come, in order, from DATABASE_URL / REDIS_URL /
KAFKA_BOOTSTRAP_SERVERS when set, otherwise from the embedded wheels. (No
Docker engine runs on the machines this project is built on, so the
testcontainers path is not wired in; the URLs cover external servers.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fitness_devstack.oidc import LocalIssuer
from fitness_devstack.servers import SmtpSink
from fitness_devstack.stack import Stack, StackPorts

OIDC_CLIENT_ID = "fitness-test-client"
JWKS_CACHE_SECONDS = 2
KEY_LEAD_SECONDS = 4


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[LocalIssuer]:
    issuer = LocalIssuer()
    yield issuer
    issuer.stop()


def build_test_stack(state_dir: Path, issuer: LocalIssuer) -> Stack:
    """A whole system on free ports, configured for tests (not started)."""
    auth_env = {
        **issuer.settings_env(OIDC_CLIENT_ID),
        "LOGIN_FAILURES_PER_IP": "30",
        # Short enough for the rotation test, longer than Envoy's JWKS cache below.
        "KEY_PUBLISH_LEAD_SECONDS": str(KEY_LEAD_SECONDS),
        "LOG_LEVEL": "WARNING",
    }
    return Stack(
        state_dir,
        ports=StackPorts.free(),
        echo_mail=False,
        jwks_cache_seconds=JWKS_CACHE_SECONDS,
        extra_env={"auth": auth_env},
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, oidc_issuer: LocalIssuer) -> Iterator[Stack]:
    system = build_test_stack(tmp_path_factory.mktemp("stack"), oidc_issuer)
    try:
        system.up()
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="session")
def smtp(stack: Stack) -> SmtpSink:
    assert stack.smtp is not None
    return stack.smtp


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway_url, timeout=15.0) as client:
        yield client


@pytest.fixture(scope="session")
def auth_target(stack: Stack) -> str:
    return f"127.0.0.1:{stack.grpc_ports['auth']}"
