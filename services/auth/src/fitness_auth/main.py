"""Entry point: `fitness-auth [serve|migrate|grant-role EMAIL ROLE|rotate-key|replay-outbox SINCE]`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

from fitness_platform import db, migrations, outbox, server
from fitness_platform.logging import configure_logging

from fitness_auth.settings import AuthSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def _serve(settings: AuthSettings) -> None:
    from fitness_auth.bootstrap import build

    await server.serve(await build(settings))


async def _grant_role(settings: AuthSettings, email: str, role: str) -> None:
    from fitness_auth.service import grant_role_by_email

    engine = db.create_engine(settings)
    try:
        await grant_role_by_email(engine, email, role)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="fitness-auth")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC server (default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    grant = commands.add_parser("grant-role", help="set the role of an account")
    grant.add_argument("email")
    grant.add_argument("role", choices=["user", "trainer", "admin"])
    commands.add_parser("rotate-key", help="add a new signing key")
    replay = commands.add_parser("replay-outbox", help="republish events written since a time")
    replay.add_argument("since", type=datetime.fromisoformat)
    args = parser.parse_args()
    settings = AuthSettings()
    configure_logging(settings.service_name, settings.log_level)
    command = args.command or "serve"
    if command in ("serve", "migrate") and (settings.run_migrations_on_start or command == "migrate"):
        migrations.upgrade(settings, MIGRATIONS)
    if command == "serve":
        server.run(lambda: _serve(settings))
    elif command == "grant-role":
        asyncio.run(_grant_role(settings, args.email, args.role))
    elif command == "rotate-key":
        asyncio.run(_rotate(settings))
    elif command == "replay-outbox":
        asyncio.run(_replay(settings, args.since))


async def _rotate(settings: AuthSettings) -> None:
    from fitness_auth.keys import KeyRing

    engine = db.create_engine(settings)
    key = await KeyRing(engine, settings).rotate()
    await engine.dispose()
    print(f"new key {key.kid} signs from {key.signs_from.isoformat()}")


async def _replay(settings: AuthSettings, since: datetime) -> None:
    engine = db.create_engine(settings)
    count = await outbox.replay(engine, since)
    await engine.dispose()
    print(f"{count} events marked for republishing")


if __name__ == "__main__":
    main()
