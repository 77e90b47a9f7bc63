"""The seeded global exercise catalog (exercises.json, written by the team).

Seeding is an idempotent upsert keyed by slug; ids are UUIDv5 of the slug, so
every environment has the same ids. It runs after the migrations.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from fitness_workouts.tables import exercises

CATALOG = Path(__file__).resolve().parent / "exercises.json"
NAMESPACE = uuid.UUID("5b0c0e7e-3f43-4f0e-9a3c-2d1f0f6a7c11")


def exercise_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, slug)


def load() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(CATALOG.read_text())
    return entries


def rows() -> list[dict[str, Any]]:
    return [
        {
            "id": exercise_id(e["slug"]),
            "slug": e["slug"],
            "owner_id": None,
            "name": e["name"],
            "aliases": e.get("aliases", []),
            "description": e["description"],
            "primary_muscle": e["primary_muscle"],
            "secondary_muscles": e["secondary_muscles"],
            "equipment": e["equipment"],
            "difficulty": e["difficulty"],
            "exercise_type": e["exercise_type"],
            "form_cues": e["form_cues"],
            "common_mistakes": e["common_mistakes"],
            "image_url": e.get("image_url", ""),
            "video_url": e.get("video_url", ""),
            "form_check_available": e["form_check"]["available"],
            "form_check_metrics": e["form_check"]["metrics"],
        }
        for e in load()
    ]


def seed(connection: sa.Connection) -> int:
    """Upsert the catalog (sync connection: runs beside the migrations)."""
    values = rows()
    statement = insert(exercises).values(values)
    updated = {c: statement.excluded[c] for c in values[0] if c not in ("id", "slug", "owner_id")}
    connection.execute(
        statement.on_conflict_do_update(index_elements=["slug"], set_={**updated, "updated_at": sa.func.now()})
    )
    return len(values)
