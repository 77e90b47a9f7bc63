"""Workout logging and the personal records it sets."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fitness.events.v1 import workouts_events_pb2 as ev
from fitness.workouts.v1 import workouts_pb2 as pb
from fitness_platform.errors import AlreadyExists, NotFound
from fitness_platform.events import OutboxWriter, timestamp
from fitness_platform.pagination import decode_token, encode_token, next_page_token, page_size
from fitness_workouts import convert, domain, summaries, sync
from fitness_workouts.library import ExerciseLibrary
from fitness_workouts.tables import personal_records, workout_exercises, workout_sets, workouts

TOPIC_WORKOUT = "fitness.workouts.workout.v1"
UPDATABLE = ("started_at", "duration_minutes", "notes", "energy_level", "soreness", "exercises")
RecordChanges = list[tuple[uuid.UUID, domain.RecordChange]]


class _Duplicate(Exception):
    """A concurrent or repeated create already made this workout."""


def _now() -> datetime:
    return datetime.now(UTC)


class WorkoutLog:
    def __init__(
        self, engine: AsyncEngine, reader: AsyncEngine, library: ExerciseLibrary, notify: Callable[[], None]
    ) -> None:
        self._engine = engine
        self._reader = reader
        self._library = library
        self._notify = notify
        self._outbox = OutboxWriter("workouts")

    # -- create --------------------------------------------------------------

    async def create(
        self, user: uuid.UUID, message: pb.Workout, request_id: str
    ) -> tuple[pb.Workout, list[pb.PersonalRecord]]:
        convert.check_request_id(request_id)
        workout_id = convert.parse_uuid(message.id, "workout.id") if message.id else uuid.uuid4()
        if request_id:
            found = await self._existing(user, request_id=request_id)
            if found is not None:
                return found
        async with self._reader.connect() as conn:
            types = await self._library.loggable_types(conn, user, convert.workout_ids_in(message))
        entry = convert.workout_entry(message, types)
        totals = domain.totals(entry)
        try:
            async with self._engine.begin() as conn:
                seq = await sync.next_seq(conn, user)
                inserted = await conn.execute(
                    insert(workouts)
                    .values(
                        id=workout_id,
                        user_id=user,
                        request_id=request_id or None,
                        change_seq=seq,
                        **self._columns(entry, totals),
                    )
                    .on_conflict_do_nothing()
                    .returning(workouts.c.id)
                )
                if inserted.first() is None:
                    raise _Duplicate
                await self._write_body(conn, workout_id, user, entry)
                info = await ExerciseLibrary.info(conn, [uuid.UUID(e.exercise_id) for e in entry.exercises])
                changes = await self._recompute(conn, user, info, workout_id)
                await self._emit(conn, user, workout_id, entry, totals, info, changes, ev.WorkoutLogged)
                workout = (await self._load(conn, [workout_id]))[workout_id]
        except _Duplicate:
            found = await self._existing(user, request_id=request_id or None, workout_id=workout_id)
            if found is None:
                raise AlreadyExists("a workout with this id already exists") from None
            return found
        self._notify()
        return workout, [self._record_message(eid, change, info) for eid, change in changes]

    async def _existing(
        self, user: uuid.UUID, request_id: str | None = None, workout_id: uuid.UUID | None = None
    ) -> tuple[pb.Workout, list[pb.PersonalRecord]] | None:
        """The workout a retry refers to, with the records it holds."""
        condition = workouts.c.request_id == request_id if request_id else workouts.c.id == workout_id
        async with self._reader.connect() as conn:
            row = (await conn.execute(sa.select(workouts.c.id).where(workouts.c.user_id == user, condition))).first()
            if row is None:
                return None
            workout = (await self._load(conn, [row.id]))[row.id]
            held = (
                (
                    await conn.execute(
                        sa.select(personal_records).where(
                            personal_records.c.user_id == user, personal_records.c.workout_id == row.id
                        )
                    )
                )
                .mappings()
                .all()
            )
            names = await ExerciseLibrary.info(conn, [r["exercise_id"] for r in held])
        return workout, [convert.record_message(r, names[r["exercise_id"]]["name"]) for r in held]

    @staticmethod
    def _columns(entry: domain.WorkoutEntry, totals: domain.Totals) -> dict[str, Any]:
        return {
            "started_at": entry.started_at,
            "duration_minutes": entry.duration_minutes,
            "notes": entry.notes,
            "energy_level": entry.energy_level,
            "soreness": entry.soreness,
            "working_sets": totals.working_sets,
            "reps": totals.reps,
            "volume_kg": totals.volume_kg,
            "average_rpe": totals.average_rpe,
            "exercise_count": totals.exercises,
        }

    @staticmethod
    async def _write_body(
        conn: AsyncConnection, workout_id: uuid.UUID, user: uuid.UUID, entry: domain.WorkoutEntry
    ) -> None:
        exercise_rows, set_rows = [], []
        for position, item in enumerate(entry.exercises):
            exercise_id = uuid.UUID(item.exercise_id)
            exercise_rows.append(
                {
                    "workout_id": workout_id,
                    "position": position,
                    "exercise_id": exercise_id,
                    "superset_group": item.superset_group,
                    "form_score": item.form_score,
                    "notes": item.notes,
                }
            )
            for index, s in enumerate(item.sets):
                set_rows.append(
                    {
                        "workout_id": workout_id,
                        "exercise_position": position,
                        "position": index,
                        "user_id": user,
                        "exercise_id": exercise_id,
                        "set_type": s.set_type,
                        "reps": s.reps,
                        "weight_value": s.weight,
                        "weight_unit": s.unit,
                        "weight_kg": s.weight_kg,
                        "rpe": s.rpe,
                        "rir": s.rir,
                        "duration_seconds": s.duration_seconds,
                        "distance_meters": s.distance_meters,
                    }
                )
        await conn.execute(workout_exercises.insert(), exercise_rows)
        await conn.execute(workout_sets.insert(), set_rows)

    # -- records ----------------------------------------------------------------

    async def _recompute(
        self,
        conn: AsyncConnection,
        user: uuid.UUID,
        info: dict[uuid.UUID, RowMapping],
        workout_id: uuid.UUID,
    ) -> RecordChanges:
        """Recompute the records of these exercises from the whole history, so a
        save, an edit or a delete never leaves one stale. Returns the records the
        given workout newly holds."""
        ids = list(info)
        if not ids:
            return []
        history = (
            (
                await conn.execute(
                    sa.select(workout_sets, workouts.c.started_at)
                    .join(workouts, workouts.c.id == workout_sets.c.workout_id)
                    .where(
                        workout_sets.c.user_id == user,
                        workout_sets.c.exercise_id.in_(ids),
                        workout_sets.c.set_type != "warmup",
                    )
                )
            )
            .mappings()
            .all()
        )
        stored_rows = (
            (
                await conn.execute(
                    sa.select(personal_records)
                    .where(personal_records.c.user_id == user, personal_records.c.exercise_id.in_(ids))
                    .with_for_update()
                )
            )
            .mappings()
            .all()
        )
        logged: dict[uuid.UUID, list[domain.LoggedSet]] = {eid: [] for eid in ids}
        for s in history:
            entry = domain.SetEntry(
                s["set_type"],
                s["reps"],
                s["weight_value"],
                s["weight_unit"],
                None,
                None,
                s["duration_seconds"],
                s["distance_meters"],
            )
            logged[s["exercise_id"]].append(domain.LoggedSet(str(s["workout_id"]), s["started_at"], entry))
        stored: dict[uuid.UUID, dict[str, tuple[Decimal, str]]] = {eid: {} for eid in ids}
        for r in stored_rows:
            stored[r["exercise_id"]][r["record_type"]] = (r["value"], str(r["workout_id"]))
        changes: RecordChanges = []
        upserts: list[dict[str, Any]] = []
        for eid in ids:
            best = domain.best_records(logged[eid], info[eid]["exercise_type"])
            diff = domain.diff_records(stored[eid], best, str(workout_id))
            previous = {c.record.record_type: c.previous for c in diff.achieved}
            upserts += [_record_row(user, eid, r, previous.get(r.record_type)) for r in diff.upserts]
            if diff.removed:
                await conn.execute(
                    personal_records.delete().where(
                        personal_records.c.user_id == user,
                        personal_records.c.exercise_id == eid,
                        personal_records.c.record_type.in_(diff.removed),
                    )
                )
            changes += [(eid, change) for change in diff.achieved]
        if upserts:
            await conn.execute(_UPSERT_RECORD, upserts)  # one round trip for all
        return changes

    @staticmethod
    def _record_message(
        exercise_id: uuid.UUID, change: domain.RecordChange, info: dict[uuid.UUID, RowMapping]
    ) -> pb.PersonalRecord:
        record = change.record
        return convert.record_message(
            {
                "exercise_id": exercise_id,
                "record_type": record.record_type,
                "value": record.value,
                "reps": record.holder.entry.reps,
                "workout_id": record.holder.workout_id,
                "achieved_at": record.holder.started_at,
                "weight_value": record.holder.entry.weight,
                "weight_unit": record.holder.entry.unit,
                "previous_value": change.previous,
            },
            info[exercise_id]["name"],
        )

    async def _emit(
        self,
        conn: AsyncConnection,
        user: uuid.UUID,
        workout_id: uuid.UUID,
        entry: domain.WorkoutEntry,
        totals: domain.Totals,
        info: dict[uuid.UUID, RowMapping],
        changes: RecordChanges,
        kind: type[ev.WorkoutLogged] | type[ev.WorkoutUpdated],
    ) -> None:
        records = [summaries.record_summary(change, info, eid) for eid, change in changes]
        summary = summaries.workout_summary(workout_id, user, entry, totals, info, records)
        achieved = [
            ev.PersonalRecordAchieved(
                user_id=str(user),
                workout_id=str(workout_id),
                record=record,
                achieved_at=timestamp(change.record.holder.started_at),
            )
            for (_, change), record in zip(changes, records, strict=True)
        ]
        await self._outbox.add_many(conn, TOPIC_WORKOUT, str(user), [kind(summary=summary), *achieved])

    async def records(
        self, user: uuid.UUID, exercise_id: str, requested: int, token: str
    ) -> tuple[list[pb.PersonalRecord], str]:
        size = page_size(requested)
        position = decode_token(token, {"offset": int})
        offset = position["offset"] if position else 0
        query = (
            sa.select(personal_records)
            .where(personal_records.c.user_id == user)
            .order_by(
                personal_records.c.achieved_at.desc(), personal_records.c.exercise_id, personal_records.c.record_type
            )
            .offset(offset)
            .limit(size + 1)
        )
        if exercise_id:
            query = query.where(personal_records.c.exercise_id == convert.parse_uuid(exercise_id, "exercise_id"))
        async with self._reader.connect() as conn:
            rows = list((await conn.execute(query)).mappings().all())
            names = await ExerciseLibrary.info(conn, [r["exercise_id"] for r in rows])
        token_out = encode_token({"offset": offset + size}) if len(rows) > size else ""
        return [convert.record_message(r, names[r["exercise_id"]]["name"]) for r in rows[:size]], token_out

    # -- read -------------------------------------------------------------------

    async def _load(self, conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, pb.Workout]:
        """Whole workouts in four queries, however many."""
        if not ids:
            return {}
        rows = (await conn.execute(sa.select(workouts).where(workouts.c.id.in_(ids)))).mappings().all()
        exercise_rows = (
            (
                await conn.execute(
                    sa.select(workout_exercises)
                    .where(workout_exercises.c.workout_id.in_(ids))
                    .order_by(workout_exercises.c.workout_id, workout_exercises.c.position)
                )
            )
            .mappings()
            .all()
        )
        set_rows = (
            (
                await conn.execute(
                    sa.select(*_SET_COLUMNS)
                    .where(workout_sets.c.workout_id.in_(ids))
                    .order_by(workout_sets.c.workout_id, workout_sets.c.exercise_position, workout_sets.c.position)
                )
            )
            .mappings()
            .all()
        )
        info = await ExerciseLibrary.info(conn, [e["exercise_id"] for e in exercise_rows])
        by_workout_exercises: dict[uuid.UUID, list[RowMapping]] = {}
        for e in exercise_rows:
            by_workout_exercises.setdefault(e["workout_id"], []).append(e)
        by_workout_sets: dict[uuid.UUID, list[RowMapping]] = {}
        for s in set_rows:
            by_workout_sets.setdefault(s["workout_id"], []).append(s)
        return {
            r["id"]: convert.workout_message(
                r, by_workout_exercises.get(r["id"], []), by_workout_sets.get(r["id"], []), info
            )
            for r in rows
        }

    async def _owned(self, conn: AsyncConnection, user: uuid.UUID, workout_id: str, lock: bool = False) -> RowMapping:
        """Another user's workout is 'not found', so ids reveal nothing."""
        try:
            wid = uuid.UUID(workout_id)
        except ValueError as exc:
            raise NotFound("workout not found") from exc
        query = sa.select(workouts).where(workouts.c.id == wid, workouts.c.user_id == user)
        row = (await conn.execute(query.with_for_update() if lock else query)).mappings().first()
        if row is None:
            raise NotFound("workout not found")
        return row

    async def get(self, user: uuid.UUID, workout_id: str) -> pb.Workout:
        async with self._reader.connect() as conn:
            row = await self._owned(conn, user, workout_id)
            return (await self._load(conn, [row["id"]]))[row["id"]]

    async def load_many(self, conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> list[pb.Workout]:
        ordered = list(ids)
        loaded = await self._load(conn, ordered)
        return [loaded[i] for i in ordered if i in loaded]

    async def page(
        self, user: uuid.UUID, requested: int, token: str, start: datetime | None, end: datetime | None
    ) -> tuple[list[pb.Workout], str]:
        size = page_size(requested)
        position = decode_token(token, {"started_at": datetime, "id": uuid.UUID})
        query = (
            sa.select(workouts.c.id, workouts.c.started_at)
            .where(workouts.c.user_id == user)
            .order_by(workouts.c.started_at.desc(), workouts.c.id.desc())
            .limit(size + 1)
        )
        if start is not None:
            query = query.where(workouts.c.started_at >= start)
        if end is not None:
            query = query.where(workouts.c.started_at < end)
        if position:
            query = query.where(
                sa.tuple_(workouts.c.started_at, workouts.c.id) < (position["started_at"], position["id"])
            )
        async with self._reader.connect() as conn:
            page = list((await conn.execute(query)).all())
            found = await self.load_many(conn, [r.id for r in page[:size]])
        return found, next_page_token(page, size, lambda w: {"started_at": w.started_at, "id": w.id})

    # -- update and delete ---------------------------------------------------------

    async def update(
        self, user: uuid.UUID, workout_id: str, message: pb.Workout, paths: list[str]
    ) -> tuple[pb.Workout, list[pb.PersonalRecord]]:
        async with self._engine.begin() as conn:
            row = await self._owned(conn, user, workout_id, lock=True)
            wid = row["id"]
            merged = pb.Workout()
            merged.CopyFrom((await self._load(conn, [wid]))[wid])
            before = {uuid.UUID(e.exercise_id) for e in merged.exercises}
            _apply_mask(merged, message, paths)
            types = await self._library.loggable_types(conn, user, convert.workout_ids_in(merged))
            # Exercises already logged here stay loggable even if since deleted;
            # their type comes from storage, never from the request.
            stored = await ExerciseLibrary.info(conn, before)
            types.update({str(eid): row["exercise_type"] for eid, row in stored.items()})
            entry = convert.workout_entry(merged, types)
            totals = domain.totals(entry)
            seq = await sync.next_seq(conn, user)
            await conn.execute(
                workouts.update()
                .where(workouts.c.id == wid)
                .values(**self._columns(entry, totals), change_seq=seq, updated_at=_now())
            )
            await conn.execute(workout_exercises.delete().where(workout_exercises.c.workout_id == wid))
            await conn.execute(workout_sets.delete().where(workout_sets.c.workout_id == wid))
            await self._write_body(conn, wid, user, entry)
            info = await ExerciseLibrary.info(conn, before | {uuid.UUID(e.exercise_id) for e in entry.exercises})
            changes = await self._recompute(conn, user, info, wid)
            await self._emit(conn, user, wid, entry, totals, info, changes, ev.WorkoutUpdated)
            workout = (await self._load(conn, [wid]))[wid]
        self._notify()
        return workout, [self._record_message(eid, change, info) for eid, change in changes]

    async def delete(self, user: uuid.UUID, workout_id: str) -> None:
        async with self._engine.begin() as conn:
            row = await self._owned(conn, user, workout_id, lock=True)
            exercise_ids = (
                (
                    await conn.execute(
                        sa.select(workout_exercises.c.exercise_id).where(workout_exercises.c.workout_id == row["id"])
                    )
                )
                .scalars()
                .all()
            )
            await conn.execute(workouts.delete().where(workouts.c.id == row["id"]))
            await sync.bury(conn, user, "workout", row["id"])
            info = await ExerciseLibrary.info(conn, exercise_ids)
            await self._recompute(conn, user, info, row["id"])
            await self._outbox.add(
                conn, TOPIC_WORKOUT, str(user), summaries.deleted(row["id"], user, row["started_at"])
            )
        self._notify()


def _record_row(
    user: uuid.UUID, exercise_id: uuid.UUID, record: domain.Record, previous: Decimal | None
) -> dict[str, Any]:
    holder = record.holder
    return {
        "user_id": user,
        "exercise_id": exercise_id,
        "record_type": record.record_type,
        "value": record.value,
        "workout_id": uuid.UUID(holder.workout_id),
        "weight_value": holder.entry.weight,
        "weight_unit": holder.entry.unit,
        "reps": holder.entry.reps,
        "achieved_at": holder.started_at,
        "previous_value": previous,
        "updated_at": _now(),
    }


# What a workout message shows of a set (the rest is for records and queries).
_SET_COLUMNS = [
    workout_sets.c[name]
    for name in ("workout_id", "exercise_position", "position", "set_type", "reps", "weight_value", "weight_unit",
                 "rpe", "rir", "duration_seconds", "distance_meters")
]  # fmt: skip

_RECORD_INSERT = insert(personal_records)
_UPSERT_RECORD = _RECORD_INSERT.on_conflict_do_update(
    index_elements=["user_id", "exercise_id", "record_type"],
    set_={
        column: _RECORD_INSERT.excluded[column]
        for column in ("value", "workout_id", "weight_value", "weight_unit", "reps", "achieved_at", "previous_value",
                       "updated_at")
    },
)  # fmt: skip


def _apply_mask(target: pb.Workout, source: pb.Workout, paths: list[str]) -> None:
    for path in paths:
        if path == "exercises":
            del target.exercises[:]
            target.exercises.extend(source.exercises)
        elif path == "soreness":
            target.soreness.clear()
            target.soreness.update(source.soreness)
        elif path in ("started_at", "energy_level"):
            if source.HasField(path):  # type: ignore[arg-type]
                field = getattr(source, path)
                if path == "started_at":
                    target.started_at.CopyFrom(field)
                else:
                    target.energy_level = field
            else:
                target.ClearField(path)  # type: ignore[arg-type]
        else:
            setattr(target, path, getattr(source, path))
