"""Smoke tests: every backing server really starts from its wheel and answers."""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import smtplib
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from fitness_devstack.servers import (
    PG_SYSTEM_USER,
    ServerStartError,
    create_topics,
    free_port,
    start_envoy,
    start_kafka,
    start_postgres,
    start_redis,
    start_smtp_sink,
    validate_envoy_config,
)

pytestmark = pytest.mark.integration  # starts real servers


def _uid_of(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535


def test_postgres_over_tcp_not_as_root(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    pg = start_postgres(data_dir, log_path=tmp_path / "pg.log")
    try:
        assert pg.admin_url == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        with psycopg.connect(pg.admin_url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            row = conn.execute("select current_setting('data_directory')").fetchone()
            assert row is not None
            assert Path(row[0]) == data_dir.resolve()
            assert conn.execute("show fsync").fetchone() == ("off",)
            assert conn.execute("show max_connections").fetchone() == ("300",)
        uid = _uid_of(pg.pid)
        if os.geteuid() == 0:
            assert uid != 0
            assert uid == pwd.getpwnam(PG_SYSTEM_USER).pw_uid
        else:
            assert uid == os.geteuid()

        # A second server on the same data dir must fail loudly.
        with pytest.raises(ServerStartError, match="already running"):
            start_postgres(data_dir)

        # Simulate a killed run: the stale postmaster.pid is cleaned up on the next start.
        os.killpg(pg.pid, signal.SIGKILL)
        pg.process.wait(10)
        assert (data_dir / "postmaster.pid").exists()
        pg.stop()
        pg = start_postgres(data_dir, log_path=tmp_path / "pg.log")
        with psycopg.connect(pg.admin_url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        pg.stop()
    assert not pg.alive
    assert not (data_dir / "postmaster.pid").exists()  # clean shutdown


def test_redis_set_get(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis", log_path=tmp_path / "redis.log")
    try:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url)
        try:
            client.set("k", "v")
            assert client.get("k") == b"v"
        finally:
            client.close()
    finally:
        server.stop()
    assert not server.alive


async def _roundtrip(bootstrap: str, topic: str, value: bytes) -> bytes:
    await create_topics(bootstrap, [topic], partitions=3)
    await create_topics(bootstrap, [topic], partitions=3)  # already exists: fine
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=10)
    finally:
        await consumer.stop()
    assert message.value is not None
    return message.value


def test_kafka_roundtrip_and_restart(tmp_path: Path) -> None:
    broker = start_kafka(log_path=tmp_path / "tansu.log")
    try:
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
        assert asyncio.run(_roundtrip(broker.bootstrap_servers, "smoke", b"one")) == b"one"
        old_pid = broker.process.pid if broker.process else None
        broker.restart()
        assert broker.alive
        assert broker.process is not None and broker.process.pid != old_pid
        # Memory only: the topic is gone, create it again and produce again.
        assert asyncio.run(_roundtrip(broker.bootstrap_servers, "smoke", b"two")) == b"two"
    finally:
        broker.stop()
    assert not broker.alive


def test_smtp_sink_receives(capsys: pytest.CaptureFixture[str]) -> None:
    sink = start_smtp_sink(echo=True)
    try:
        msg = EmailMessage()
        msg["From"] = "noreply@fitness.test"
        msg["To"] = "lifter@example.com"
        msg["Subject"] = "Verify your email"
        msg.set_content("code 123456")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            smtp.send_message(msg)
        got = sink.wait_for(lambda m: m["To"] == "lifter@example.com", timeout=5)
        assert got["Subject"] == "Verify your email"
        assert "123456" in got.get_content()
        assert len(sink.messages) == 1
        with pytest.raises(TimeoutError):
            sink.wait_for(lambda m: m["To"] == "nobody@example.com", timeout=0.2)
    finally:
        sink.stop()
    out = capsys.readouterr().out
    assert "Subject: Verify your email" in out
    assert "code 123456" in out


_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ENVOY_CONFIG = """\
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
static_resources:
  listeners:
  - name: smoke
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listener}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": {hcm}
          stat_prefix: smoke
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                direct_response: {{status: 200, body: {{inline_string: "hello from envoy"}}}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"""


def test_envoy_static_config(tmp_path: Path) -> None:
    admin_port, listener_port = free_port(), free_port()
    config = tmp_path / "envoy.yaml"
    config.write_text(_ENVOY_CONFIG.format(admin=admin_port, listener=listener_port, hcm=_HCM))
    validate_envoy_config(config)

    bad = tmp_path / "bad.yaml"
    bad.write_text("static_resources: {listeners: [{name: x, nonsense: 1}]}\n")
    with pytest.raises(ValueError, match="invalid Envoy config"):
        validate_envoy_config(bad)

    proxy = start_envoy(config, admin_port, tmp_path / "envoy.log")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=5) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{listener_port}/x", timeout=5) as resp:
            assert resp.status == 200
            assert resp.read() == b"hello from envoy"
    finally:
        proxy.stop()
    assert not proxy.alive
