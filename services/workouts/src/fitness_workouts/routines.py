"""Routines: create, edit, publish, browse, like (counted exactly), copy."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fitness.events.v1 import workouts_events_pb2 as ev
from fitness.workouts.v1 import workouts_pb2 as pb
from fitness_platform.errors import FieldViolation, InvalidArgument, NotFound, Validator
from fitness_platform.events import OutboxWriter
from fitness_platform.pagination import decode_token, next_page_token, page_size
from fitness_workouts import convert, domain, sync
from fitness_workouts.library import ExerciseLibrary, prefix_query
from fitness_workouts.tables import routine_exercises, routine_likes, routines

TOPIC_ROUTINE = "fitness.workouts.routine.v1"
UPDATABLE = ("name", "description", "days_per_week", "schedule", "visibility", "exercises")


def _now() -> datetime:
    return datetime.now(UTC)


def routine_values(message: pb.Routine, paths: list[str]) -> tuple[dict[str, Any], list[domain.RoutineItem] | None]:
    values: dict[str, Any] = {}
    items = None
    v = Validator()
    for path in paths:
        if path == "schedule":
            values["schedule_days"] = [convert.to_db("day", d) for d in message.schedule.days]
        elif path == "visibility":
            values["visibility"] = convert.to_db("visibility", message.visibility) or "?"
        elif path == "exercises":
            items = []
            for i, e in enumerate(message.exercises[: domain.MAX_EXERCISES_PER_WORKOUT + 1]):
                weight = unit = None
                if e.HasField("target_weight"):
                    weight = domain.parse_decimal(
                        v, f"routine.exercises[{i}].target_weight.value", e.target_weight.value
                    )
                    unit = convert.to_db("unit", e.target_weight.unit) or "?"
                rpe = (
                    domain.parse_decimal(v, f"routine.exercises[{i}].target_rpe", e.target_rpe)
                    if e.HasField("target_rpe")
                    else None
                )
                has_range = e.HasField("rep_range")
                items.append(
                    domain.RoutineItem(
                        exercise_id=e.exercise_id,
                        target_sets=e.target_sets,
                        rep_min=e.rep_range.min if has_range else None,
                        rep_max=e.rep_range.max if has_range else None,
                        target_weight=weight,
                        target_unit=unit,
                        target_rpe=rpe,
                        rest_seconds=e.rest_seconds,
                        notes=e.notes,
                        superset_group=e.superset_group,
                    )
                )
        else:
            values[path] = getattr(message, path)
    v.raise_if_any()
    return values, items


class Routines:
    def __init__(
        self, engine: AsyncEngine, reader: AsyncEngine, library: ExerciseLibrary, notify: Callable[[], None]
    ) -> None:
        self._engine = engine
        self._reader = reader
        self._library = library
        self._notify = notify
        self._outbox = OutboxWriter("workouts")

    async def _check_items(
        self, conn: AsyncConnection, user: uuid.UUID, items: list[domain.RoutineItem], public: bool
    ) -> None:
        # Custom exercises are private: a public routine may use only the catalog.
        owner = None if public else user
        known = await self._library.loggable_types(conn, owner, [i.exercise_id for i in items])
        v = Validator()
        for index, item in enumerate(items):
            reason = "must be a catalog exercise in a public routine" if public else "is not an exercise you can use"
            v.check(item.exercise_id in known, f"routine.exercises[{index}].exercise_id", reason)
        v.raise_if_any()

    async def create(self, user: uuid.UUID, message: pb.Routine, request_id: str) -> pb.Routine:
        convert.check_request_id(request_id)
        values, items = routine_values(message, list(UPDATABLE))
        if message.visibility == pb.VISIBILITY_UNSPECIFIED:
            values["visibility"] = "private"
        domain.validate_routine(values, items)
        assert items is not None
        async with self._engine.begin() as conn:
            public = values["visibility"] == "public"
            await self._check_items(conn, user, items, public)
            values["published_at"] = _now() if public else None
            routine_id, created = await self._insert(conn, user, request_id, values)
            if created:
                await self._write_items(conn, routine_id, items)
                if public:
                    await self._published(conn, user, routine_id, values)
            routine = await self._message(conn, user, routine_id)
        self._notify()
        return routine

    async def _insert(
        self, conn: AsyncConnection, user: uuid.UUID, request_id: str, values: dict[str, Any]
    ) -> tuple[uuid.UUID, bool]:
        """A new routine, unless this request id already made one (a retry,
        even a concurrent one): then that one, and False."""
        earlier = sa.select(routines.c.id).where(routines.c.owner_id == user, routines.c.request_id == request_id)
        if request_id and (found := (await conn.execute(earlier)).first()) is not None:
            return found.id, False
        seq = await sync.next_seq(conn, user)  # also waits for a concurrent twin to commit
        routine_id = uuid.uuid4()
        inserted = await conn.execute(
            insert(routines)
            .values(id=routine_id, owner_id=user, request_id=request_id or None, change_seq=seq, **values)
            .on_conflict_do_nothing()
            .returning(routines.c.id)
        )
        if inserted.first() is None:
            return (await conn.execute(earlier)).one().id, False
        return routine_id, True

    async def _published(
        self, conn: AsyncConnection, user: uuid.UUID, routine_id: uuid.UUID, values: dict[str, Any]
    ) -> None:
        await self._outbox.add(
            conn,
            TOPIC_ROUTINE,
            str(user),
            ev.RoutinePublished(
                routine_id=str(routine_id),
                owner_id=str(user),
                name=values.get("name", ""),
                days_per_week=values.get("days_per_week", 0),
            ),
        )

    @staticmethod
    async def _items(conn: AsyncConnection, routine_id: uuid.UUID) -> list[domain.RoutineItem]:
        query = (
            sa.select(routine_exercises)
            .where(routine_exercises.c.routine_id == routine_id)
            .order_by(routine_exercises.c.position)
        )
        return [
            domain.RoutineItem(
                exercise_id=str(r["exercise_id"]),
                target_sets=r["target_sets"],
                rep_min=r["rep_min"],
                rep_max=r["rep_max"],
                target_weight=r["target_weight_value"],
                target_unit=r["target_weight_unit"],
                target_rpe=r["target_rpe"],
                rest_seconds=r["rest_seconds"],
                notes=r["notes"],
                superset_group=r["superset_group"],
            )
            for r in (await conn.execute(query)).mappings()
        ]

    @staticmethod
    async def _write_items(conn: AsyncConnection, routine_id: uuid.UUID, items: list[domain.RoutineItem]) -> None:
        await conn.execute(
            routine_exercises.insert(),
            [
                {
                    "routine_id": routine_id,
                    "position": index,
                    "exercise_id": uuid.UUID(i.exercise_id),
                    "target_sets": i.target_sets,
                    "rep_min": i.rep_min,
                    "rep_max": i.rep_max,
                    "target_weight_value": i.target_weight,
                    "target_weight_unit": i.target_unit,
                    "target_rpe": i.target_rpe,
                    "rest_seconds": i.rest_seconds,
                    "notes": i.notes,
                    "superset_group": i.superset_group,
                }
                for index, i in enumerate(items)
            ],
        )

    async def _message(self, conn: AsyncConnection, user: uuid.UUID, routine_id: uuid.UUID) -> pb.Routine:
        return (await self.load(conn, user, [routine_id]))[0]

    async def load(self, conn: AsyncConnection, user: uuid.UUID, ids: list[uuid.UUID]) -> list[pb.Routine]:
        if not ids:
            return []
        rows = {r["id"]: r for r in (await conn.execute(sa.select(routines).where(routines.c.id.in_(ids)))).mappings()}
        items = (
            (
                await conn.execute(
                    sa.select(routine_exercises)
                    .where(routine_exercises.c.routine_id.in_(ids))
                    .order_by(routine_exercises.c.routine_id, routine_exercises.c.position)
                )
            )
            .mappings()
            .all()
        )
        liked = set(
            (
                await conn.execute(
                    sa.select(routine_likes.c.routine_id).where(
                        routine_likes.c.routine_id.in_(ids), routine_likes.c.user_id == user
                    )
                )
            ).scalars()
        )
        info = await ExerciseLibrary.info(conn, [i["exercise_id"] for i in items])
        names = {eid: row["name"] for eid, row in info.items()}
        by_routine: dict[uuid.UUID, list[RowMapping]] = {}
        for item in items:
            by_routine.setdefault(item["routine_id"], []).append(item)
        return [
            convert.routine_message(rows[i], by_routine.get(i, []), names, user, i in liked) for i in ids if i in rows
        ]

    async def _readable(
        self, conn: AsyncConnection, user: uuid.UUID, routine_id: str, lock: bool = False
    ) -> RowMapping:
        try:
            rid = uuid.UUID(routine_id)
        except ValueError as exc:
            raise NotFound("routine not found") from exc
        query = sa.select(routines).where(
            routines.c.id == rid, sa.or_(routines.c.owner_id == user, routines.c.visibility == "public")
        )
        row = (await conn.execute(query.with_for_update() if lock else query)).mappings().first()
        if row is None:
            raise NotFound("routine not found")
        return row

    async def _owned(self, conn: AsyncConnection, user: uuid.UUID, routine_id: str) -> RowMapping:
        row = await self._readable(conn, user, routine_id, lock=True)
        if row["owner_id"] != user:
            raise NotFound("routine not found")  # someone else's public routine is read-only
        return row

    async def get(self, user: uuid.UUID, routine_id: str) -> pb.Routine:
        async with self._reader.connect() as conn:
            row = await self._readable(conn, user, routine_id)
            return await self._message(conn, user, row["id"])

    async def list_mine(self, user: uuid.UUID, requested: int, token: str) -> tuple[list[pb.Routine], str]:
        size = page_size(requested)
        position = decode_token(token, {"created_at": datetime, "id": uuid.UUID})
        query = (
            sa.select(routines.c.id, routines.c.created_at)
            .where(routines.c.owner_id == user)
            .order_by(routines.c.created_at.desc(), routines.c.id.desc())
            .limit(size + 1)
        )
        if position:
            query = query.where(
                sa.tuple_(routines.c.created_at, routines.c.id) < (position["created_at"], position["id"])
            )
        async with self._reader.connect() as conn:
            page = list((await conn.execute(query)).all())
            found = await self.load(conn, user, [r.id for r in page[:size]])
        return found, next_page_token(page, size, lambda r: {"created_at": r.created_at, "id": r.id})

    async def list_public(
        self, user: uuid.UUID, query_text: str, newest: bool, requested: int, token: str
    ) -> tuple[list[pb.Routine], str]:
        if len(query_text) > 100:
            raise InvalidArgument(FieldViolation("query", "at most 100 characters"))
        size = page_size(requested)
        # Keyset pages (most liked or newest first, id breaks ties): no row is
        # repeated or skipped because earlier pages shifted.
        key = routines.c.published_at if newest else routines.c.like_count
        position = decode_token(token, {"key": datetime if newest else int, "id": uuid.UUID})
        query = sa.select(routines.c.id, key.label("key")).where(routines.c.visibility == "public")
        words = prefix_query(query_text)
        if words:
            tsquery = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), words)
            query = query.where(sa.column("search").op("@@")(tsquery))
        if position:
            query = query.where(sa.tuple_(key, routines.c.id) < (position["key"], position["id"]))
        query = query.order_by(key.desc(), routines.c.id.desc()).limit(size + 1)
        async with self._reader.connect() as conn:
            page = list((await conn.execute(query)).all())
            found = await self.load(conn, user, [r.id for r in page[:size]])
        return found, next_page_token(page, size, lambda r: {"key": r.key, "id": r.id})

    async def update(self, user: uuid.UUID, routine_id: str, message: pb.Routine, paths: list[str]) -> pb.Routine:
        values, items = routine_values(message, paths)
        async with self._engine.begin() as conn:
            row = await self._owned(conn, user, routine_id)
            merged = {"days_per_week": row["days_per_week"], "schedule_days": row["schedule_days"], **values}
            domain.validate_routine(merged if {"days_per_week", "schedule_days"} & set(values) else values, items)
            public = values.get("visibility", row["visibility"]) == "public"
            newly_public = public and row["visibility"] != "public"
            if items is None and newly_public:
                items = await self._items(conn, row["id"])  # what is about to become public
            if items is not None:
                await self._check_items(conn, user, items, public)
                await conn.execute(routine_exercises.delete().where(routine_exercises.c.routine_id == row["id"]))
                await self._write_items(conn, row["id"], items)
            if newly_public:
                values["published_at"] = _now()
            seq = await sync.next_seq(conn, user)
            await conn.execute(
                routines.update().where(routines.c.id == row["id"]).values(**values, change_seq=seq, updated_at=_now())
            )
            if newly_public:
                await self._published(conn, user, row["id"], {**dict(row), **values})
            routine = await self._message(conn, user, row["id"])
        self._notify()
        return routine

    async def delete(self, user: uuid.UUID, routine_id: str) -> None:
        async with self._engine.begin() as conn:
            row = await self._owned(conn, user, routine_id)
            await conn.execute(routines.delete().where(routines.c.id == row["id"]))
            await sync.bury(conn, user, "routine", row["id"])

    async def like(self, user: uuid.UUID, routine_id: str) -> int:
        async with self._engine.begin() as conn:
            row = await self._readable(conn, user, routine_id, lock=True)
            added = await conn.execute(
                insert(routine_likes)
                .values(routine_id=row["id"], user_id=user)
                .on_conflict_do_nothing()
                .returning(routine_likes.c.user_id)
            )
            if added.first() is None:
                return int(row["like_count"])  # already liked: counted once
            count = (
                await conn.execute(
                    routines.update()
                    .where(routines.c.id == row["id"])
                    .values(like_count=routines.c.like_count + 1)
                    .returning(routines.c.like_count)
                )
            ).scalar_one()
            await self._outbox.add(
                conn,
                TOPIC_ROUTINE,
                str(row["owner_id"]),
                ev.RoutineLiked(
                    routine_id=str(row["id"]), owner_id=str(row["owner_id"]), liked_by=str(user), like_count=count
                ),
            )
        self._notify()
        return int(count)

    async def unlike(self, user: uuid.UUID, routine_id: str) -> int:
        async with self._engine.begin() as conn:
            row = await self._readable(conn, user, routine_id, lock=True)
            removed = await conn.execute(
                routine_likes.delete()
                .where(routine_likes.c.routine_id == row["id"], routine_likes.c.user_id == user)
                .returning(routine_likes.c.user_id)
            )
            if removed.first() is None:
                return int(row["like_count"])
            count = (
                await conn.execute(
                    routines.update()
                    .where(routines.c.id == row["id"])
                    .values(like_count=routines.c.like_count - 1)
                    .returning(routines.c.like_count)
                )
            ).scalar_one()
        return int(count)

    async def copy(self, user: uuid.UUID, routine_id: str, name: str, request_id: str) -> pb.Routine:
        convert.check_request_id(request_id)
        async with self._engine.begin() as conn:
            row = await self._readable(conn, user, routine_id)
            values = {"name": name.strip() or row["name"]}
            domain.validate_routine(values, None)
            values |= {
                "description": row["description"],
                "days_per_week": row["days_per_week"],
                "schedule_days": row["schedule_days"],
                "visibility": "private",
                "copied_from": row["id"],
            }
            copy_id, created = await self._insert(conn, user, request_id, values)
            if created:
                await self._write_items(conn, copy_id, await self._items(conn, row["id"]))
            routine = await self._message(conn, user, copy_id)
        self._notify()
        return routine
