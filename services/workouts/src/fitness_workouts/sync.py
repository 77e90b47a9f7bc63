"""Offline sync bookkeeping: a per-user change counter and tombstones."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from fitness_workouts.tables import exercises, routines, sync_state, tombstones, workouts


async def next_seq(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """The next change number of this user. The row lock it takes is held to
    commit, so one user's changes commit in number order and a cursor never
    skips one; different users do not wait for each other."""
    statement = insert(sync_state).values(user_id=user_id, last_seq=1)
    upsert = statement.on_conflict_do_update(index_elements=["user_id"], set_={"last_seq": sync_state.c.last_seq + 1})
    return int((await conn.execute(upsert.returning(sync_state.c.last_seq))).scalar_one())


async def bury(conn: AsyncConnection, user_id: uuid.UUID, resource_type: str, resource_id: uuid.UUID) -> None:
    seq = await next_seq(conn, user_id)
    statement = insert(tombstones).values(
        resource_type=resource_type, resource_id=resource_id, user_id=user_id, change_seq=seq
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["resource_type", "resource_id"], set_={"change_seq": seq, "user_id": user_id}
        )
    )


async def changes_since(
    conn: AsyncConnection, user_id: uuid.UUID, since: int, limit: int
) -> tuple[dict[str, list[uuid.UUID]], list[RowMapping], int, bool]:
    """Ids of the user's resources changed after `since` and the tombstones,
    the `limit` oldest changes in all; returns (ids by kind, tombstones, last
    change number included, more waiting)."""
    sources = {
        "workout": (workouts.c.id, workouts.c.change_seq, workouts.c.user_id == user_id),
        "routine": (routines.c.id, routines.c.change_seq, routines.c.owner_id == user_id),
        "exercise": (
            exercises.c.id,
            exercises.c.change_seq,
            sa.and_(exercises.c.owner_id == user_id, exercises.c.deleted_at.is_(None)),
        ),
    }
    changed: list[tuple[int, str, Any]] = []
    for kind, (id_column, seq_column, condition) in sources.items():
        rows = await conn.execute(
            sa.select(id_column, seq_column).where(condition, seq_column > since).order_by(seq_column).limit(limit + 1)
        )
        changed += [(r[1], kind, r[0]) for r in rows]
    graves = (
        (
            await conn.execute(
                sa.select(tombstones)
                .where(tombstones.c.user_id == user_id, tombstones.c.change_seq > since)
                .order_by(tombstones.c.change_seq)
                .limit(limit + 1)
            )
        )
        .mappings()
        .all()
    )
    changed += [(g["change_seq"], "tombstone", g) for g in graves]
    changed.sort(key=lambda item: item[0])
    page, more = changed[:limit], len(changed) > limit
    ids: dict[str, list[uuid.UUID]] = {"workout": [], "routine": [], "exercise": []}
    buried: list[RowMapping] = []
    for _, kind, value in page:
        if kind == "tombstone":
            buried.append(value)
        else:
            ids[kind].append(value)
    last = page[-1][0] if page else since
    return ids, buried, last, more
