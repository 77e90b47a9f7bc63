"""Composition root: builds the auth service from its settings."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import grpc

from fitness.auth.v1 import auth_pb2, auth_pb2_grpc
from fitness.events.v1 import auth_events_pb2
from fitness_auth.keys import KeyRing
from fitness_auth.mailer import Mailer
from fitness_auth.oauth import IdTokenVerifier
from fitness_auth.passwords import Passwords
from fitness_auth.service import TOPIC_MAIL, TOPICS, AuthApp
from fitness_auth.servicers import AdminServicer, AuthServicer, UserServicer
from fitness_auth.settings import AuthSettings
from fitness_platform import db
from fitness_platform import redis as redis_helper
from fitness_platform.inbox import InboxConsumer
from fitness_platform.outbox import OutboxRelay
from fitness_platform.server import ServiceApp
from fitness_platform.tokens import AccessTokenVerifier, JwksCache


async def build(settings: AuthSettings) -> ServiceApp:
    engine = db.create_engine(settings)
    redis = redis_helper.create_redis(settings.redis_url.get_secret_value())
    keyring = KeyRing(engine, settings)
    await keyring.load()
    relay = OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        settings.db_schema,
        TOPICS,
        poll_interval=settings.outbox_poll_interval_seconds,
        retention=timedelta(days=settings.outbox_retention_days),
    )
    app = AuthApp(settings, engine, redis, keyring, Passwords(settings), IdTokenVerifier(settings), relay.notify)
    # Auth verifies its own tokens from its key ring: no network hop.
    verifier = AccessTokenVerifier(
        JwksCache(keyring.jwks, ttl_seconds=30), redis, settings.jwt_issuer, settings.jwt_audience
    )

    def register(server: grpc.aio.Server) -> None:
        auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(app), server)
        auth_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(app), server)
        auth_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(app), server)

    background: list[Callable[[], Coroutine[Any, Any, None]]] = [keyring.refresh_forever]
    if settings.run_mail_worker:
        mailer = Mailer(settings)
        consumer = InboxConsumer(
            engine,
            settings.kafka_bootstrap_servers,
            group_id="auth-mailer",
            topics=[TOPIC_MAIL],
            handlers={
                auth_events_pb2.EmailVerificationRequested.DESCRIPTOR.full_name: mailer.on_verification,
                auth_events_pb2.PasswordResetRequested.DESCRIPTOR.full_name: mailer.on_password_reset,
            },
        )
        background.append(consumer.run)

    return ServiceApp.standard(settings, register, [auth_pb2.DESCRIPTOR], verifier, engine, redis, relay, background)
