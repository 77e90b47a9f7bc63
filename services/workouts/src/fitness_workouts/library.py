"""The exercise library: catalog and custom exercises, typo-tolerant search,
per-exercise history."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fitness_platform.context import Principal
from fitness_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from fitness_platform.pagination import decode_token, encode_token, next_page_token, page_size
from fitness_workouts import convert, domain, sync
from fitness_workouts.tables import exercises, workout_sets, workouts

_WORD = re.compile(r"[a-z0-9]+")


def visible_to(user_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    """The catalog plus the user's own exercises (the catalog alone for None)."""
    if user_id is None:
        return exercises.c.owner_id.is_(None)
    return sa.or_(exercises.c.owner_id.is_(None), exercises.c.owner_id == user_id)


def prefix_query(text: str) -> str:
    """'bench pres' -> 'bench:* & pres:*' (words only, so nothing to inject)."""
    return " & ".join(f"{word}:*" for word in _WORD.findall(text.lower())[:8])


class ExerciseLibrary:
    def __init__(self, engine: AsyncEngine, reader: AsyncEngine, max_results: int) -> None:
        self._engine = engine
        self._reader = reader
        self._max_results = max_results

    async def search(
        self, user: uuid.UUID, query: str, filters: dict[str, str], requested: int, token: str
    ) -> tuple[list[RowMapping], str]:
        if len(query) > 100:
            raise InvalidArgument(FieldViolation("query", "at most 100 characters"))
        size = page_size(requested)
        fingerprint = hashlib.sha256(repr((query, sorted(filters.items()))).encode()).hexdigest()[:12]
        position = decode_token(token, {"offset": int, "q": str})
        offset = 0
        if position is not None:
            if position["q"] != fingerprint:
                raise InvalidArgument(FieldViolation("page_token", "belongs to another search"))
            offset = position["offset"]
        conditions = [visible_to(user), exercises.c.deleted_at.is_(None)]
        conditions += [exercises.c[column] == value for column, value in filters.items()]
        statement = sa.select(exercises)
        words = prefix_query(query)
        if words:
            low = query.lower().strip()
            compact = re.sub(r"[^a-z0-9]", "", low)
            tsquery = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), words)
            name = sa.func.lower(exercises.c.name)
            score = (
                sa.case((name == low, 100), else_=0)
                + sa.case((exercises.c.aliases.any(low), 50), else_=0)
                + 10 * sa.func.ts_rank(sa.column("search"), tsquery)
                + 5 * sa.func.similarity(name, low)
                + 5 * sa.func.similarity(exercises.c.compact_name, compact)
                + 3 * sa.func.word_similarity(low, name)
            )
            conditions.append(
                sa.or_(
                    sa.column("search").op("@@")(tsquery),
                    sa.func.similarity(name, low) > 0.3,
                    sa.func.similarity(exercises.c.compact_name, compact) > 0.3,
                    sa.func.word_similarity(low, name) > 0.5,
                )
            )
            statement = statement.order_by(score.desc(), exercises.c.name, exercises.c.id)
        else:
            statement = statement.order_by(exercises.c.name, exercises.c.id)
        statement = statement.where(*conditions).offset(offset).limit(size + 1)
        if offset >= self._max_results:
            return [], ""
        async with self._reader.connect() as conn:
            rows = list((await conn.execute(statement)).mappings().all())
        if len(rows) > size and offset + size < self._max_results:
            return rows[:size], encode_token({"offset": offset + size, "q": fingerprint})
        return rows[:size], ""

    async def get(self, user: uuid.UUID, exercise_id: str) -> RowMapping:
        async with self._reader.connect() as conn:
            return await self._visible(conn, user, exercise_id)

    async def _visible(self, conn: AsyncConnection, user: uuid.UUID, exercise_id: str) -> RowMapping:
        try:
            eid = uuid.UUID(exercise_id)
        except ValueError as exc:
            raise NotFound("exercise not found") from exc
        row = (
            (
                await conn.execute(
                    sa.select(exercises).where(
                        exercises.c.id == eid, visible_to(user), exercises.c.deleted_at.is_(None)
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("exercise not found")
        return row

    async def create(self, principal: Principal, values: dict[str, Any], catalog: bool, request_id: str) -> RowMapping:
        user = uuid.UUID(principal.user_id)
        if catalog and not principal.has_role("admin"):
            raise PermissionDenied("only administrators add to the global catalog")
        values.setdefault("difficulty", "beginner")
        domain.validate_exercise(values)
        convert.check_request_id(request_id)
        owner = None if catalog else user
        if request_id and owner is not None:
            async with self._reader.connect() as conn:
                existing = (
                    (
                        await conn.execute(
                            sa.select(exercises).where(
                                exercises.c.owner_id == owner, exercises.c.request_id == request_id
                            )
                        )
                    )
                    .mappings()
                    .first()
                )
            if existing is not None:
                return existing
        try:
            async with self._engine.begin() as conn:
                seq = await sync.next_seq(conn, user) if owner is not None else 0
                return (
                    (
                        await conn.execute(
                            exercises.insert()
                            .values(
                                id=uuid.uuid4(), owner_id=owner, request_id=request_id or None, change_seq=seq, **values
                            )
                            .returning(*exercises.c)
                        )
                    )
                    .mappings()
                    .one()
                )
        except IntegrityError as exc:
            if request_id and owner is not None:  # a concurrent retry won the race
                async with self._reader.connect() as conn:
                    query = sa.select(exercises).where(
                        exercises.c.owner_id == owner, exercises.c.request_id == request_id
                    )
                    existing = (await conn.execute(query)).mappings().first()
                if existing is not None:
                    return existing
            raise AlreadyExists("you already have an exercise with this name") from exc

    async def _editable(self, conn: AsyncConnection, principal: Principal, exercise_id: str) -> RowMapping:
        row = await self._visible(conn, uuid.UUID(principal.user_id), exercise_id)
        if row["owner_id"] is None and not principal.has_role("admin"):
            raise PermissionDenied("only administrators change the global catalog")
        return row

    async def update(self, principal: Principal, exercise_id: str, values: dict[str, Any]) -> RowMapping:
        domain.validate_exercise(values)
        user = uuid.UUID(principal.user_id)
        try:
            async with self._engine.begin() as conn:
                row = await self._editable(conn, principal, exercise_id)
                if not values:
                    return row
                if values.get("exercise_type", row["exercise_type"]) != row["exercise_type"]:
                    logged = await conn.execute(
                        sa.select(workout_sets.c.workout_id).where(workout_sets.c.exercise_id == row["id"]).limit(1)
                    )
                    if logged.first() is not None:
                        raise FailedPrecondition("the type of an exercise with logged sets cannot change")
                seq = await sync.next_seq(conn, user) if row["owner_id"] is not None else 0
                return (
                    (
                        await conn.execute(
                            exercises.update()
                            .where(exercises.c.id == row["id"])
                            .values(**values, change_seq=seq, updated_at=sa.func.now())
                            .returning(*exercises.c)
                        )
                    )
                    .mappings()
                    .one()
                )
        except IntegrityError as exc:
            raise AlreadyExists("an exercise with this name already exists") from exc

    async def delete(self, principal: Principal, exercise_id: str) -> None:
        """Soft delete: gone from search and new logs, still named in old workouts."""
        async with self._engine.begin() as conn:
            row = await self._editable(conn, principal, exercise_id)
            await conn.execute(
                exercises.update().where(exercises.c.id == row["id"]).values(deleted_at=datetime.now(UTC))
            )
            if row["owner_id"] is not None:
                await sync.bury(conn, row["owner_id"], "exercise", row["id"])

    async def loggable_types(self, conn: AsyncConnection, user: uuid.UUID | None, ids: Iterable[str]) -> dict[str, str]:
        """exercise id -> type, for the ids this user may put in a workout or routine."""
        wanted = set()
        for raw in ids:
            try:
                wanted.add(uuid.UUID(raw))
            except ValueError:
                continue
        if not wanted:
            return {}
        rows = await conn.execute(
            sa.select(exercises.c.id, exercises.c.exercise_type).where(
                exercises.c.id.in_(wanted), visible_to(user), exercises.c.deleted_at.is_(None)
            )
        )
        return {str(r.id): r.exercise_type for r in rows}

    @staticmethod
    async def rows(conn: AsyncConnection, ids: list[uuid.UUID]) -> list[RowMapping]:
        """Whole rows, in the order of `ids`."""
        if not ids:
            return []
        query = sa.select(exercises).where(exercises.c.id.in_(ids))
        found = {r["id"]: r for r in (await conn.execute(query)).mappings()}
        return [found[i] for i in ids if i in found]

    @staticmethod
    async def info(conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
        """Names and types for display, deleted ones included."""
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await conn.execute(
            sa.select(
                exercises.c.id,
                exercises.c.name,
                exercises.c.exercise_type,
                exercises.c.primary_muscle,
                exercises.c.secondary_muscles,
            ).where(exercises.c.id.in_(wanted))
        )
        return {r["id"]: r for r in rows.mappings()}

    async def history(
        self, user: uuid.UUID, exercise_id: str, requested: int, token: str
    ) -> tuple[list[dict[str, Any]], str]:
        size = page_size(requested)
        position = decode_token(token, {"started_at": datetime, "id": uuid.UUID})
        async with self._reader.connect() as conn:
            exercise = await self._visible_or_logged(conn, user, exercise_id)
            query = (
                sa.select(workouts.c.id, workouts.c.started_at)
                .where(
                    workouts.c.user_id == user,
                    sa.exists().where(
                        workout_sets.c.workout_id == workouts.c.id, workout_sets.c.exercise_id == exercise["id"]
                    ),
                )
                .order_by(workouts.c.started_at, workouts.c.id)
                .limit(size + 1)
            )
            if position:
                query = query.where(
                    sa.tuple_(workouts.c.started_at, workouts.c.id) > (position["started_at"], position["id"])
                )
            page = list((await conn.execute(query)).all())
            ids = [w.id for w in page[:size]]
            sets = (
                (
                    await conn.execute(
                        sa.select(workout_sets).where(
                            workout_sets.c.workout_id.in_(ids),
                            workout_sets.c.exercise_id == exercise["id"],
                            workout_sets.c.set_type != "warmup",
                        )
                    )
                )
                .mappings()
                .all()
            )
        by_workout: dict[uuid.UUID, list[RowMapping]] = {}
        for s in sets:
            by_workout.setdefault(s["workout_id"], []).append(s)
        entries = [
            _history_entry(w.id, w.started_at, by_workout.get(w.id, []), exercise["exercise_type"]) for w in page[:size]
        ]
        return entries, next_page_token(page, size, lambda w: {"started_at": w.started_at, "id": w.id})

    async def _visible_or_logged(self, conn: AsyncConnection, user: uuid.UUID, exercise_id: str) -> RowMapping:
        try:
            eid = uuid.UUID(exercise_id)
        except ValueError as exc:
            raise NotFound("exercise not found") from exc
        try:
            return await self._visible(conn, user, exercise_id)
        except NotFound:
            # A deleted custom exercise keeps its history for its owner.
            query = sa.select(exercises).where(exercises.c.id == eid, exercises.c.owner_id == user)
            row = (await conn.execute(query)).mappings().first()
            if row is None:
                raise
            return row


def _history_entry(workout_id: uuid.UUID, started_at: datetime, sets: list[RowMapping], kind: str) -> dict[str, Any]:
    entries = [domain.SetEntry(s["set_type"], s["reps"], s["weight_value"], s["weight_unit"]) for s in sets]
    # Best set and 1RM only where weight is load (not assistance).
    loaded = [e for e in entries if e.weight_kg is not None] if kind in domain.LOADED else []
    best = max(
        loaded,
        key=lambda e: (e.weight_kg, e.reps or 0),
        default=None,
    )
    e1rms = [domain.estimated_one_rep_max(e.weight_kg, e.reps or 0) for e in loaded if e.weight_kg is not None]
    return {
        "workout_id": workout_id,
        "started_at": started_at,
        "best": best,
        "e1rm": max((v for v in e1rms if v is not None), default=Decimal(0)),
        "volume": sum((domain.set_volume_kg(e, kind) for e in entries), Decimal(0)),
        "working_sets": len(entries),
    }
