"""Entry point: `fitness-auth [serve|migrate|grant-role EMAIL ROLE|rotate-key|replay-outbox SINCE]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from fitness_auth.settings import AuthSettings
from fitness_platform import migrations
from fitness_platform.cli import Command, run_service
from fitness_platform.server import ServiceApp

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    settings = AuthSettings()

    async def build() -> ServiceApp:
        from fitness_auth.bootstrap import build

        return await build(settings)

    async def grant_role(args: argparse.Namespace, engine: AsyncEngine) -> None:
        from fitness_auth.service import grant_role_by_email

        await grant_role_by_email(engine, args.email, args.role)

    def grant_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("email")
        parser.add_argument("role", choices=["user", "trainer", "admin"])

    async def rotate_key(args: argparse.Namespace, engine: AsyncEngine) -> None:
        from fitness_auth.keys import KeyRing

        key = await KeyRing(engine, settings).rotate()
        print(f"new key {key.kid} signs from {key.signs_from.isoformat()}")

    run_service(
        settings,
        migrate=lambda: migrations.upgrade(settings, MIGRATIONS),
        build=build,
        commands=[
            Command("grant-role", "set the role of an account", grant_arguments, grant_role),
            Command("rotate-key", "add a signing key (published before it signs)", lambda p: None, rotate_key),
        ],
    )


if __name__ == "__main__":
    main()
