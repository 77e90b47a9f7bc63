"""Entry point: `fitness-workouts [serve|migrate|replay-outbox SINCE]`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from fitness_platform import db, migrations
from fitness_platform.cli import run_service
from fitness_platform.logging import get_logger
from fitness_platform.server import ServiceApp
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


def main() -> None:
    settings = WorkoutsSettings()

    async def build() -> ServiceApp:
        from fitness_workouts.bootstrap import build

        return await build(settings)

    run_service(settings, migrate=lambda: migrate(settings), build=build)


if __name__ == "__main__":
    main()
