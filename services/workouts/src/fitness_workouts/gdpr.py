"""Account deletion: when auth says a user is gone, remove every row of theirs."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from fitness.events.v1 import auth_events_pb2, envelope_pb2
from fitness_platform.events import outbox
from fitness_workouts.tables import (
    exercises,
    personal_records,
    routine_exercises,
    routine_likes,
    routines,
    sync_state,
    tombstones,
    workout_sets,
    workouts,
)


async def on_user_deleted(conn: AsyncConnection, envelope: envelope_pb2.Envelope) -> None:
    event = auth_events_pb2.UserDeleted()
    envelope.payload.Unpack(event)
    user = uuid.UUID(event.user_id)
    # Likes first, so the routines they counted for stay counted exactly.
    liked = (
        (
            await conn.execute(
                routine_likes.delete().where(routine_likes.c.user_id == user).returning(routine_likes.c.routine_id)
            )
        )
        .scalars()
        .all()
    )
    if liked:
        await conn.execute(
            routines.update().where(routines.c.id.in_(liked)).values(like_count=routines.c.like_count - 1)
        )
    await conn.execute(workouts.delete().where(workouts.c.user_id == user))  # cascades to exercises and sets
    await conn.execute(workout_sets.delete().where(workout_sets.c.user_id == user))
    await conn.execute(personal_records.delete().where(personal_records.c.user_id == user))
    await conn.execute(routines.delete().where(routines.c.owner_id == user))  # cascades to items and likes
    # Their custom exercises, and the places others' copies of their public
    # routines still point at them.
    custom = exercises.select().with_only_columns(exercises.c.id).where(exercises.c.owner_id == user)
    await conn.execute(routine_exercises.delete().where(routine_exercises.c.exercise_id.in_(custom)))
    await conn.execute(exercises.delete().where(exercises.c.owner_id == user))
    await conn.execute(tombstones.delete().where(tombstones.c.user_id == user))
    await conn.execute(sync_state.delete().where(sync_state.c.user_id == user))
    # Published events kept for replay carry their workouts: they go as well.
    await conn.execute(outbox.delete().where(outbox.c.key == str(user)))
