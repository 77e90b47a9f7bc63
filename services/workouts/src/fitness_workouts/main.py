"""Entry point: `fitness-workouts [serve|migrate|replay-outbox SINCE]`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from fitness_platform import db, migrations, outbox, server
from fitness_platform.logging import configure_logging, get_logger

from fitness_workouts import catalog
from fitness_workouts.settings import WorkoutsSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def migrate(settings: WorkoutsSettings) -> None:
    """Schema migrations, then the idempotent catalog seed."""
    migrations.upgrade(settings, MIGRATIONS)
    engine = sa.create_engine(db.sqlalchemy_url(settings.database_url.get_secret_value()), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(f'SET LOCAL search_path TO "{settings.db_schema}", extensions'))
        count = catalog.seed(conn)
    engine.dispose()
    get_logger("migrate").info("catalog.seeded", exercises=count)


async def _serve(settings: WorkoutsSettings) -> None:
    from fitness_workouts.bootstrap import build

    await server.serve(await build(settings))


async def _replay(settings: WorkoutsSettings, since: datetime) -> None:
    engine = db.create_engine(settings)
    count = await outbox.replay(engine, since)
    await engine.dispose()
    print(f"{count} events marked for republishing")


def main() -> None:
    parser = argparse.ArgumentParser(prog="fitness-workouts")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC server (default)")
    commands.add_parser("migrate", help="apply migrations, seed the catalog and exit")
    replay = commands.add_parser("replay-outbox", help="republish events written since a time")
    replay.add_argument("since", type=datetime.fromisoformat)
    args = parser.parse_args()
    settings = WorkoutsSettings()
    configure_logging(settings.service_name, settings.log_level)
    command = args.command or "serve"
    if command == "migrate" or (command == "serve" and settings.run_migrations_on_start):
        migrate(settings)
    if command == "serve":
        server.run(lambda: _serve(settings))
    elif command == "replay-outbox":
        asyncio.run(_replay(settings, args.since))


if __name__ == "__main__":
    main()
