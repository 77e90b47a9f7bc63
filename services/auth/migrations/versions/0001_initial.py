"""Accounts, profiles, settings, sessions, tokens, identities, signing keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from fitness_platform.migrations import create_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("password_hash", sa.Text),
        sa.Column("email_verified", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("role", sa.Text, nullable=False, server_default="user"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("first_name", sa.Text),
        sa.Column("last_name", sa.Text),
        sa.Column("age", sa.SmallInteger),
        sa.Column("birth_date", sa.Date),
        sa.Column("gender", sa.Text),
        sa.Column("height_cm", sa.Numeric(5, 1)),
        sa.Column("weight_kg", sa.Numeric(5, 1)),
        sa.Column("experience_level", sa.Text),
        sa.Column("primary_goal", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("role in ('user', 'trainer', 'admin')", name="users_role"),
    )
    op.create_index("users_created", "users", ["created_at", "id"])
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("units", sa.Text, nullable=False, server_default="metric"),
        sa.Column("theme", sa.Text, nullable=False, server_default="system"),
        sa.Column("language", sa.Text, nullable=False, server_default="en"),
        sa.Column("push_notifications", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("email_notifications", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("private_profile", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("show_stats", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )  # fmt: skip
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("device_name", sa.Text, nullable=False, server_default=""),
        sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
        sa.Column("ip_address", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoke_reason", sa.Text),
    )  # fmt: skip
    op.create_index("sessions_user", "sessions", ["user_id", "created_at"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    op.create_index("refresh_tokens_session", "refresh_tokens", ["session_id"])
    op.create_table(
        "one_time_tokens",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    op.create_index("one_time_tokens_user", "one_time_tokens", ["user_id"])
    op.create_table(
        "oauth_identities",
        sa.Column("provider", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )  # fmt: skip
    op.create_index("oauth_identities_user", "oauth_identities", ["user_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        sa.Column("private_key", sa.LargeBinary, nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("signs_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retires_at", sa.DateTime(timezone=True)),
    )
    create_event_tables(op)


def downgrade() -> None:
    for table in ("inbox", "outbox", "signing_keys", "oauth_identities", "one_time_tokens",
                  "refresh_tokens", "sessions", "user_settings", "users"):  # fmt: skip
        op.drop_table(table)
