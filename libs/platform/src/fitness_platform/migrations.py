"""Alembic, per service: each service keeps its scripts in services/<svc>/migrations
and its version table inside its own schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.environment import EnvironmentContext

from fitness_platform.db import sqlalchemy_url
from fitness_platform.settings import ServiceSettings


def alembic_config(settings: ServiceSettings, script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["url"] = sqlalchemy_url(settings.database_url.get_secret_value())
    config.attributes["schema"] = settings.db_schema
    return config


def upgrade(settings: ServiceSettings, script_location: Path, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings, script_location), revision)


def run_env(context: EnvironmentContext) -> None:
    """Body of every service's migrations/env.py (online mode only)."""
    url = context.config.attributes["url"]
    schema = context.config.attributes["schema"]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(f'SET search_path TO "{schema}", extensions'))
        connection.commit()
        context.configure(
            connection=connection,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_event_tables(op: Operations) -> None:
    """The outbox and inbox every service keeps (call from its first migration)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("traceparent", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    op.create_index("outbox_pending", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("outbox_created", "outbox", ["created_at"])
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )  # fmt: skip
