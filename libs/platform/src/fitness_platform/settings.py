"""Settings read from the environment, one prefix per service (AUTH_, WORKOUTS_...)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs. A service subclasses this and sets its prefix:

    class AuthSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="AUTH_")
    """

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore")

    service_name: str = "service"
    # postgresql+psycopg://role:password@host:port/db ; the role owns `db_schema` only.
    database_url: SecretStr = SecretStr("postgresql+psycopg://postgres@127.0.0.1:5432/fitness")
    db_schema: str = "public"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    # 0 disables the Prometheus endpoint.
    metrics_port: int = 0
    log_level: str = "INFO"
    # Access-token checks done by every service (defence in depth behind Envoy).
    jwt_issuer: str = "https://auth.fitness.local"
    jwt_audience: str = "fitness-app"
    # Where services other than auth fetch the JWKS (gRPC address of auth).
    auth_grpc_target: str = "127.0.0.1:50051"
    jwks_cache_seconds: int = 300
    run_migrations_on_start: bool = True
    outbox_poll_interval_seconds: float = 0.2
    outbox_retention_days: int = 30
    health_check_interval_seconds: float = 5.0
    shutdown_grace_seconds: float = 10.0
    otlp_endpoint: str | None = Field(default=None)
