"""The whole system on one machine: backing servers (embedded, or external ones
named by DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS), database roles and
schemas, migrations, the services and the Envoy gateway.

Used by `make dev` (fitness-dev up), by the pytest session fixture and by
`make bench`, so all three run the same system.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

from fitness_devstack import servers

ROOT = Path(__file__).resolve().parents[4]
DESCRIPTOR_SET = ROOT / "gateway" / "generated" / "fitness.pb"
DATABASE = "fitness"
ISSUER = "https://auth.fitness.local"
AUDIENCE = "fitness-app"


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # also the schema and the settings prefix (upper-cased)
    module: str  # python -m <module> serve
    package: str  # proto package it serves, routed by the gateway


# Every service owns a schema and a role from the start; a service without code
# yet is provisioned but not started.
SERVICES = [
    ServiceSpec("auth", "fitness_auth.main", "fitness.auth.v1"),
    ServiceSpec("workouts", "fitness_workouts.main", "fitness.workouts.v1"),
    ServiceSpec("social", "fitness_social.main", "fitness.social.v1"),
    ServiceSpec("analytics", "fitness_analytics.main", "fitness.analytics.v1"),
]


def _runnable(spec: ServiceSpec) -> bool:
    import importlib.util

    return importlib.util.find_spec(spec.module.split(".")[0]) is not None


def role_name(service: str) -> str:
    return f"{service}_svc"


def role_password(service: str) -> str:
    # Local stack only; production passwords come from the platform's secrets.
    return os.environ.get("FITNESS_DEV_DB_PASSWORD", "dev-password") + f"-{service}"


@dataclass
class StackPorts:
    gateway: int = 8080
    envoy_admin: int = 9901
    postgres: int = 54329
    redis: int = 6390
    kafka: int = 19092
    smtp: int = 1025
    grpc_base: int = 50051
    metrics_base: int = 9101

    @classmethod
    def free(cls) -> StackPorts:
        f = servers.free_port
        return cls(f(), f(), f(), f(), f(), f(), 0, 0)


@dataclass
class Stack:
    state_dir: Path
    ports: StackPorts = field(default_factory=StackPorts)
    echo_mail: bool = True
    # How long Envoy caches auth's JWKS; a rotated key must be published longer
    # than this before it signs (AUTH_KEY_PUBLISH_LEAD_SECONDS).
    jwks_cache_seconds: int = 300
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    postgres: servers.PostgresServer | None = None
    redis: servers.RedisServer | None = None
    kafka: servers.KafkaBroker | None = None
    smtp: servers.SmtpSink | None = None
    envoy: servers.EnvoyProcess | None = None
    processes: dict[str, servers.ManagedProcess] = field(default_factory=dict)
    grpc_ports: dict[str, int] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    admin_database_url: str = ""
    redis_url: str = ""
    kafka_bootstrap: str = ""

    # -- backing servers -----------------------------------------------------

    def start_backing(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        self.admin_database_url = os.environ.get("DATABASE_URL", "")
        if not self.admin_database_url:
            self.postgres = servers.start_postgres(
                self.state_dir / "pgdata", self.ports.postgres, log_path=logs / "postgres.log"
            )
            self.admin_database_url = self.postgres.admin_url
        self.redis_url = os.environ.get("REDIS_URL", "")
        if not self.redis_url:
            self.redis = servers.start_redis(self.state_dir / "redis", self.ports.redis, log_path=logs / "redis.log")
            self.redis_url = self.redis.url
        self.kafka_bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        if not self.kafka_bootstrap:
            self.kafka = servers.start_kafka(self.ports.kafka, log_path=logs / "kafka.log")
            self.kafka_bootstrap = self.kafka.bootstrap_servers
        self.smtp = servers.start_smtp_sink(self.ports.smtp, echo=self.echo_mail)

    def provision(self) -> None:
        """Database, and per service a schema owned by its own role (no other privileges)."""
        with psycopg.connect(self.admin_database_url, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
        with psycopg.connect(self.database_url_for(None), autocommit=True) as conn:
            conn.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(DATABASE)))
            conn.execute("revoke all on schema public from public")
            # Extensions live in their own schema that every role may use.
            conn.execute("create schema if not exists extensions")
            conn.execute("grant usage on schema extensions to public")
            conn.execute("create extension if not exists pg_trgm with schema extensions")
            for spec in SERVICES:
                role = sql.Identifier(role_name(spec.name))
                found = conn.execute("select 1 from pg_roles where rolname = %s", (role_name(spec.name),)).fetchone()
                if not found:
                    conn.execute(
                        sql.SQL("create role {} login password {}").format(role, sql.Literal(role_password(spec.name)))
                    )
                conn.execute(
                    sql.SQL("create schema if not exists {} authorization {}").format(sql.Identifier(spec.name), role)
                )
                conn.execute(sql.SQL("grant connect, temporary on database {} to {}").format(
                    sql.Identifier(DATABASE), role))  # fmt: skip
                conn.execute(
                    sql.SQL("alter role {} set search_path = {}, extensions").format(role, sql.Identifier(spec.name))
                )

    def database_url_for(self, service: str | None) -> str:
        parts = urlsplit(self.admin_database_url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        if service is not None:
            netloc = f"{role_name(service)}:{role_password(service)}@{netloc}"
        elif "@" in parts.netloc:
            netloc = parts.netloc
        return urlunsplit((parts.scheme, netloc, f"/{DATABASE}", parts.query, ""))

    # -- services and gateway --------------------------------------------------

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        prefix = spec.name.upper() + "_"
        base = {
            "DATABASE_URL": self.database_url_for(spec.name),
            "REDIS_URL": self.redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "GRPC_PORT": str(self.grpc_ports[spec.name]),
            "METRICS_PORT": str(self.metrics_ports[spec.name]),
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
            "AUTH_GRPC_TARGET": f"127.0.0.1:{self.grpc_ports['auth']}",
            "SMTP_PORT": str(self.smtp.port if self.smtp else 1025),
            "VERIFY_EMAIL_URL": f"http://127.0.0.1:{self.ports.gateway}/verify-email",
            "RESET_PASSWORD_URL": f"http://127.0.0.1:{self.ports.gateway}/reset-password",
        }
        base.update(self.extra_env.get(spec.name, {}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
        env.update({prefix + key: value for key, value in base.items()})
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start_services(self) -> None:
        runnable = [s for s in SERVICES if _runnable(s)]
        for index, spec in enumerate(runnable):
            self.grpc_ports[spec.name] = (self.ports.grpc_base + index) if self.ports.grpc_base else servers.free_port()
            self.metrics_ports[spec.name] = (
                (self.ports.metrics_base + index) if self.ports.metrics_base else servers.free_port()
            )
        for spec in runnable:
            self.start_service(spec.name)
        for spec in runnable:
            self.wait_serving(spec.name)

    def start_service(self, name: str) -> None:
        spec = next(s for s in SERVICES if s.name == name)
        self.processes[name] = servers.ManagedProcess(
            [sys.executable, "-m", spec.module, "serve"],
            name=name,
            log_path=self.state_dir / "logs" / f"{name}.log",
            env=self.service_env(spec),
            cwd=ROOT,
        )

    def stop_service(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.stop()

    def wait_serving(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        target = f"127.0.0.1:{self.grpc_ports[name]}"
        while time.monotonic() < deadline:
            process = self.processes[name]
            if not process.alive:
                raise servers.ServerStartError(f"{name} exited; see {self.state_dir}/logs/{name}.log")
            try:
                with grpc.insecure_channel(target) as channel:
                    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
        raise servers.ServerStartError(f"{name} not serving after {timeout}s; see logs/{name}.log")

    def start_gateway(self) -> None:
        from fitness_devstack.gateway import write_envoy_config

        config = write_envoy_config(
            self.state_dir / "envoy.json",
            listen_port=self.ports.gateway,
            admin_port=self.ports.envoy_admin,
            descriptor_set=DESCRIPTOR_SET,
            upstreams={
                spec.package: ("127.0.0.1", self.grpc_ports[spec.name])
                for spec in SERVICES
                if spec.name in self.grpc_ports
            },
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks_cache_seconds=self.jwks_cache_seconds,
        )
        self.envoy = servers.start_envoy(config, self.ports.envoy_admin, self.state_dir / "logs" / "envoy.log")

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def up(self) -> None:
        self.start_backing()
        self.provision()
        self.start_services()
        self.start_gateway()

    def stop(self) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        for name in list(self.processes):
            self.stop_service(name)
        for server in (self.smtp, self.kafka, self.redis, self.postgres):
            if server is not None:
                server.stop()


def run_service_command(stack: Stack, service: str, *args: str) -> str:
    """Run an operator command of a service (e.g. `grant-role`) against the stack."""
    import subprocess

    spec = next(s for s in SERVICES if s.name == service)
    result = subprocess.run(
        [sys.executable, "-m", spec.module, *args],
        env=stack.service_env(spec),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{service} {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout
