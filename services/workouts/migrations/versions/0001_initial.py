"""Exercise library, workouts with exercises and sets, personal records,
routines with likes, sync bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from fitness_platform.migrations import create_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.func.now()
TEXTS = pg.ARRAY(sa.Text)


def timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    ]


def upgrade() -> None:
    # pg_trgm must be installed by the database owner (a service role may not);
    # the local stack puts it in schema "extensions". Fail clearly without it.
    installed = op.get_bind().execute(sa.text("select 1 from pg_extension where extname = 'pg_trgm'")).first()
    if installed is None:
        raise RuntimeError("PostgreSQL extension pg_trgm is required: CREATE EXTENSION pg_trgm SCHEMA extensions")
    op.create_table(
        "exercises",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("slug", sa.Text, unique=True),  # catalog entries only
        sa.Column("owner_id", sa.Uuid),  # NULL: global catalog
        sa.Column("request_id", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("aliases", TEXTS, nullable=False, server_default="{}"),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("primary_muscle", sa.Text, nullable=False),
        sa.Column("secondary_muscles", TEXTS, nullable=False, server_default="{}"),
        sa.Column("equipment", sa.Text, nullable=False),
        sa.Column("difficulty", sa.Text, nullable=False),
        sa.Column("exercise_type", sa.Text, nullable=False),
        sa.Column("form_cues", TEXTS, nullable=False, server_default="{}"),
        sa.Column("common_mistakes", TEXTS, nullable=False, server_default="{}"),
        sa.Column("image_url", sa.Text, nullable=False, server_default=""),
        sa.Column("video_url", sa.Text, nullable=False, server_default=""),
        sa.Column("form_check_available", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("form_check_metrics", TEXTS, nullable=False, server_default="{}"),
        sa.Column("change_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        *timestamps(),
    )
    # array_to_string is only STABLE; generated columns need an IMMUTABLE wrapper.
    op.execute(
        "create function immutable_array_text(items text[]) returns text "
        "language sql immutable parallel safe as $$ select array_to_string(items, ' ') $$"
    )
    # Search: words (prefix-matched) plus trigram similarity on the name with
    # and without spaces, so "bnech press" and "benchpress" still find it.
    op.execute(
        """
        alter table exercises
          add column search tsvector generated always as (
            setweight(to_tsvector('simple', name), 'A')
            || setweight(to_tsvector('simple', immutable_array_text(aliases)), 'B')
            || setweight(to_tsvector('simple', replace(primary_muscle, '_', ' ') || ' ' || equipment), 'C')
          ) stored,
          add column compact_name text generated always as (
            regexp_replace(lower(name), '[^a-z0-9]', '', 'g')
          ) stored
        """
    )
    op.create_index("exercises_search", "exercises", ["search"], postgresql_using="gin")
    op.create_index("exercises_owner", "exercises", ["owner_id", "change_seq"])
    op.create_unique_constraint("exercises_request", "exercises", ["owner_id", "request_id"])
    op.execute(
        "create unique index exercises_owner_name on exercises "
        "(coalesce(owner_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name)) "
        "where deleted_at is null"
    )

    op.create_table(
        "workouts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("energy_level", sa.SmallInteger),
        sa.Column("soreness", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("working_sets", sa.Integer, nullable=False),
        sa.Column("reps", sa.Integer, nullable=False),
        sa.Column("volume_kg", sa.Numeric(12, 2), nullable=False),
        sa.Column("average_rpe", sa.Numeric(4, 2), nullable=False),
        sa.Column("exercise_count", sa.Integer, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        *timestamps(),
        sa.UniqueConstraint("user_id", "request_id", name="workouts_request"),
    )
    op.create_index("workouts_user_started", "workouts", ["user_id", sa.text("started_at desc"), "id"])
    op.create_index("workouts_user_seq", "workouts", ["user_id", "change_seq"])
    op.create_table(
        "workout_exercises",
        sa.Column("workout_id", sa.Uuid, sa.ForeignKey("workouts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("exercise_id", sa.Uuid, sa.ForeignKey("exercises.id"), nullable=False),
        sa.Column("superset_group", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("form_score", sa.SmallInteger),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "workout_sets",
        sa.Column("workout_id", sa.Uuid, sa.ForeignKey("workouts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("exercise_position", sa.SmallInteger, primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("exercise_id", sa.Uuid, nullable=False),
        sa.Column("set_type", sa.Text, nullable=False),
        sa.Column("reps", sa.Integer),
        sa.Column("weight_value", sa.Numeric(10, 3)),
        sa.Column("weight_unit", sa.Text),
        sa.Column("weight_kg", sa.Numeric(12, 5)),
        sa.Column("rpe", sa.Numeric(3, 1)),
        sa.Column("rir", sa.SmallInteger),
        sa.Column("duration_seconds", sa.Integer),
        sa.Column("distance_meters", sa.Numeric(12, 2)),
    )
    op.create_index("workout_sets_user_exercise", "workout_sets", ["user_id", "exercise_id"])

    op.create_table(
        "personal_records",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("exercise_id", sa.Uuid, primary_key=True),
        sa.Column("record_type", sa.Text, primary_key=True),
        sa.Column("value", sa.Numeric(14, 4), nullable=False),
        sa.Column("workout_id", sa.Uuid, nullable=False),
        sa.Column("weight_value", sa.Numeric(10, 3)),
        sa.Column("weight_unit", sa.Text),
        sa.Column("reps", sa.Integer),
        sa.Column("achieved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_value", sa.Numeric(14, 4)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )

    op.create_table(
        "routines",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("owner_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("days_per_week", sa.SmallInteger, nullable=False),
        sa.Column("schedule_days", TEXTS, nullable=False, server_default="{}"),
        sa.Column("visibility", sa.Text, nullable=False),
        sa.Column("like_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("copied_from", sa.Uuid),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        *timestamps(),
        sa.UniqueConstraint("owner_id", "request_id", name="routines_request"),
    )
    op.execute(
        "alter table routines add column search tsvector generated always as "
        "(setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('simple', description), 'B')) stored"
    )
    op.create_index("routines_owner", "routines", ["owner_id", sa.text("created_at desc"), "id"])
    op.create_index(
        "routines_public_likes", "routines", [sa.text("like_count desc"), sa.text("id desc")],
        postgresql_where=sa.text("visibility = 'public'"),
    )  # fmt: skip
    op.create_index(
        "routines_public_newest", "routines", [sa.text("published_at desc"), sa.text("id desc")],
        postgresql_where=sa.text("visibility = 'public'"),
    )  # fmt: skip
    op.create_index("routines_search", "routines", ["search"], postgresql_using="gin")
    op.create_index("routines_owner_seq", "routines", ["owner_id", "change_seq"])
    op.create_table(
        "routine_exercises",
        sa.Column("routine_id", sa.Uuid, sa.ForeignKey("routines.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("exercise_id", sa.Uuid, sa.ForeignKey("exercises.id"), nullable=False),
        sa.Column("target_sets", sa.SmallInteger, nullable=False),
        sa.Column("rep_min", sa.SmallInteger),
        sa.Column("rep_max", sa.SmallInteger),
        sa.Column("target_weight_value", sa.Numeric(10, 3)),
        sa.Column("target_weight_unit", sa.Text),
        sa.Column("target_rpe", sa.Numeric(3, 1)),
        sa.Column("rest_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("superset_group", sa.SmallInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "routine_likes",
        sa.Column("routine_id", sa.Uuid, sa.ForeignKey("routines.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("routine_likes_user", "routine_likes", ["user_id"])

    # Offline sync: a per-user change counter (its row lock orders one user's
    # writes, so cursors never skip a change) and tombstones of deletions.
    op.create_table(
        "sync_state",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tombstones",
        sa.Column("resource_type", sa.Text, primary_key=True),
        sa.Column("resource_id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("tombstones_user_seq", "tombstones", ["user_id", "change_seq"])
    create_event_tables(op)


def downgrade() -> None:
    tables = ("inbox", "outbox", "tombstones", "sync_state", "routine_likes", "routine_exercises", "routines",
              "personal_records", "workout_sets", "workout_exercises", "workouts", "exercises")  # fmt: skip
    for table in tables:
        op.drop_table(table)
