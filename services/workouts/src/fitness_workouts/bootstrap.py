"""Composition root: builds the workouts service from its settings."""

from __future__ import annotations

from datetime import timedelta

import grpc

from fitness.events.v1 import auth_events_pb2
from fitness.workouts.v1 import workouts_pb2, workouts_pb2_grpc
from fitness_platform import db
from fitness_platform import redis as redis_helper
from fitness_platform.inbox import InboxConsumer
from fitness_platform.outbox import OutboxRelay
from fitness_platform.server import ServiceApp
from fitness_platform.tokens import AccessTokenVerifier, JwksCache, grpc_jwks_fetcher
from fitness_workouts.gdpr import on_user_deleted
from fitness_workouts.library import ExerciseLibrary
from fitness_workouts.log import TOPIC_WORKOUT, WorkoutLog
from fitness_workouts.routines import TOPIC_ROUTINE, Routines
from fitness_workouts.servicers import ExerciseServicer, RoutineServicer, SyncServicer, WorkoutServicer
from fitness_workouts.settings import WorkoutsSettings

TOPIC_AUTH_USER = "fitness.auth.user.v1"


async def build(settings: WorkoutsSettings) -> ServiceApp:
    engine = db.create_engine(settings)
    reader = db.autocommit(engine)
    redis = redis_helper.create_redis(settings.redis_url.get_secret_value())
    relay = OutboxRelay(
        engine,
        settings.kafka_bootstrap_servers,
        settings.db_schema,
        [TOPIC_WORKOUT, TOPIC_ROUTINE],
        poll_interval=settings.outbox_poll_interval_seconds,
        retention=timedelta(days=settings.outbox_retention_days),
    )
    library = ExerciseLibrary(engine, reader, settings.max_search_results)
    workouts = WorkoutLog(engine, reader, library, relay.notify)
    routines = Routines(engine, reader, library, relay.notify)
    verifier = AccessTokenVerifier(
        JwksCache(grpc_jwks_fetcher(settings.auth_grpc_target), ttl_seconds=settings.jwks_cache_seconds),
        redis,
        settings.jwt_issuer,
        settings.jwt_audience,
    )
    users = InboxConsumer(
        engine,
        settings.kafka_bootstrap_servers,
        group_id="workouts",
        topics=[TOPIC_AUTH_USER],
        handlers={auth_events_pb2.UserDeleted.DESCRIPTOR.full_name: on_user_deleted},
    )

    def register(server: grpc.aio.Server) -> None:
        workouts_pb2_grpc.add_ExerciseServiceServicer_to_server(ExerciseServicer(library), server)
        workouts_pb2_grpc.add_WorkoutServiceServicer_to_server(WorkoutServicer(workouts), server)
        workouts_pb2_grpc.add_RoutineServiceServicer_to_server(RoutineServicer(routines), server)
        workouts_pb2_grpc.add_SyncServiceServicer_to_server(
            SyncServicer(library, workouts, routines, reader, settings.sync_page_size), server
        )

    return ServiceApp.standard(
        settings, register, [workouts_pb2.DESCRIPTOR], verifier, engine, redis, relay, background=[users.run]
    )
