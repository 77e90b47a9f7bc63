"""SQLAlchemy Core tables of the auth schema (migrations own the DDL)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("email", sa.Text),
    sa.Column("password_hash", sa.Text),
    sa.Column("email_verified", sa.Boolean),
    sa.Column("role", sa.Text),
    sa.Column("active", sa.Boolean),
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("age", sa.SmallInteger),
    sa.Column("birth_date", sa.Date),
    sa.Column("gender", sa.Text),
    sa.Column("height_cm", sa.Numeric(5, 1)),
    sa.Column("weight_kg", sa.Numeric(5, 1)),
    sa.Column("experience_level", sa.Text),
    sa.Column("primary_goal", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

user_settings = sa.Table(
    "user_settings",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("units", sa.Text),
    sa.Column("theme", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("push_notifications", sa.Boolean),
    sa.Column("email_notifications", sa.Boolean),
    sa.Column("private_profile", sa.Boolean),
    sa.Column("show_stats", sa.Boolean),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid),
    sa.Column("device_name", sa.Text),
    sa.Column("user_agent", sa.Text),
    sa.Column("ip_address", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoke_reason", sa.Text),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("session_id", sa.Uuid),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

one_time_tokens = sa.Table(
    "one_time_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("user_id", sa.Uuid),
    sa.Column("purpose", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

oauth_identities = sa.Table(
    "oauth_identities",
    metadata,
    sa.Column("provider", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Uuid),
    sa.Column("email", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("private_key", sa.LargeBinary),
    sa.Column("public_jwk", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("signs_from", sa.DateTime(timezone=True)),
    sa.Column("retires_at", sa.DateTime(timezone=True)),
)
