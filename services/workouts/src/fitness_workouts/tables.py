"""SQLAlchemy Core tables of the workouts schema (migrations own the DDL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()
TEXTS = pg.ARRAY(sa.Text)

exercises = sa.Table(
    "exercises",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("slug", sa.Text),
    sa.Column("owner_id", sa.Uuid),
    sa.Column("request_id", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("aliases", TEXTS),
    sa.Column("description", sa.Text),
    sa.Column("primary_muscle", sa.Text),
    sa.Column("secondary_muscles", TEXTS),
    sa.Column("equipment", sa.Text),
    sa.Column("difficulty", sa.Text),
    sa.Column("exercise_type", sa.Text),
    sa.Column("form_cues", TEXTS),
    sa.Column("common_mistakes", TEXTS),
    sa.Column("image_url", sa.Text),
    sa.Column("video_url", sa.Text),
    sa.Column("form_check_available", sa.Boolean),
    sa.Column("form_check_metrics", TEXTS),
    sa.Column("change_seq", sa.BigInteger),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("compact_name", sa.Text),
)

workouts = sa.Table(
    "workouts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid),
    sa.Column("request_id", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("duration_minutes", sa.Integer),
    sa.Column("notes", sa.Text),
    sa.Column("energy_level", sa.SmallInteger),
    sa.Column("soreness", pg.JSONB),
    sa.Column("working_sets", sa.Integer),
    sa.Column("reps", sa.Integer),
    sa.Column("volume_kg", sa.Numeric(12, 2)),
    sa.Column("average_rpe", sa.Numeric(4, 2)),
    sa.Column("exercise_count", sa.Integer),
    sa.Column("change_seq", sa.BigInteger),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

workout_exercises = sa.Table(
    "workout_exercises",
    metadata,
    sa.Column("workout_id", sa.Uuid, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("exercise_id", sa.Uuid),
    sa.Column("superset_group", sa.SmallInteger),
    sa.Column("form_score", sa.SmallInteger),
    sa.Column("notes", sa.Text),
)

workout_sets = sa.Table(
    "workout_sets",
    metadata,
    sa.Column("workout_id", sa.Uuid, primary_key=True),
    sa.Column("exercise_position", sa.SmallInteger, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("user_id", sa.Uuid),
    sa.Column("exercise_id", sa.Uuid),
    sa.Column("set_type", sa.Text),
    sa.Column("reps", sa.Integer),
    sa.Column("weight_value", sa.Numeric(10, 3)),
    sa.Column("weight_unit", sa.Text),
    sa.Column("weight_kg", sa.Numeric(12, 5)),
    sa.Column("rpe", sa.Numeric(3, 1)),
    sa.Column("rir", sa.SmallInteger),
    sa.Column("duration_seconds", sa.Integer),
    sa.Column("distance_meters", sa.Numeric(12, 2)),
)

personal_records = sa.Table(
    "personal_records",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("exercise_id", sa.Uuid, primary_key=True),
    sa.Column("record_type", sa.Text, primary_key=True),
    sa.Column("value", sa.Numeric(14, 4)),
    sa.Column("workout_id", sa.Uuid),
    sa.Column("weight_value", sa.Numeric(10, 3)),
    sa.Column("weight_unit", sa.Text),
    sa.Column("reps", sa.Integer),
    sa.Column("achieved_at", sa.DateTime(timezone=True)),
    sa.Column("previous_value", sa.Numeric(14, 4)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

routines = sa.Table(
    "routines",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid),
    sa.Column("request_id", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("days_per_week", sa.SmallInteger),
    sa.Column("schedule_days", TEXTS),
    sa.Column("visibility", sa.Text),
    sa.Column("like_count", sa.Integer),
    sa.Column("copied_from", sa.Uuid),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("change_seq", sa.BigInteger),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

routine_exercises = sa.Table(
    "routine_exercises",
    metadata,
    sa.Column("routine_id", sa.Uuid, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("exercise_id", sa.Uuid),
    sa.Column("target_sets", sa.SmallInteger),
    sa.Column("rep_min", sa.SmallInteger),
    sa.Column("rep_max", sa.SmallInteger),
    sa.Column("target_weight_value", sa.Numeric(10, 3)),
    sa.Column("target_weight_unit", sa.Text),
    sa.Column("target_rpe", sa.Numeric(3, 1)),
    sa.Column("rest_seconds", sa.Integer),
    sa.Column("notes", sa.Text),
    sa.Column("superset_group", sa.SmallInteger),
)

routine_likes = sa.Table(
    "routine_likes",
    metadata,
    sa.Column("routine_id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("last_seq", sa.BigInteger),
)

tombstones = sa.Table(
    "tombstones",
    metadata,
    sa.Column("resource_type", sa.Text, primary_key=True),
    sa.Column("resource_id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid),
    sa.Column("change_seq", sa.BigInteger),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
)
