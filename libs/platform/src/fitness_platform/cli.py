"""The command line every service shares: serve (default), migrate,
replay-outbox, plus the service's own operator commands."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from fitness_platform import db, outbox, server
from fitness_platform.logging import configure_logging
from fitness_platform.settings import ServiceSettings
from fitness_platform.tracing import configure_tracing


@dataclass(frozen=True)
class Command:
    """An operator command that needs the service's database."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, AsyncEngine], Awaitable[None]]


async def _replay(args: argparse.Namespace, engine: AsyncEngine) -> None:
    count = await outbox.replay(engine, args.since)
    print(f"{count} events marked for republishing")


def _since(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("since", type=datetime.fromisoformat, help="ISO 8601 time, e.g. 2026-11-26T00:00:00+00:00")


REPLAY = Command("replay-outbox", "republish the events written since a time (consumers dedupe)", _since, _replay)


async def _with_engine(command: Command, args: argparse.Namespace, settings: ServiceSettings) -> None:
    engine = db.create_engine(settings)
    try:
        await command.run(args, engine)
    finally:
        await engine.dispose()


def run_service(
    settings: ServiceSettings,
    migrate: Callable[[], None],
    build: Callable[[], Awaitable[server.ServiceApp]],
    commands: Sequence[Command] = (),
) -> None:
    parser = argparse.ArgumentParser(prog=f"fitness-{settings.service_name}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the gRPC server (default; migrates first unless disabled)")
    sub.add_parser("migrate", help="apply the database migrations and exit")
    extra = {c.name: c for c in (*commands, REPLAY)}
    for command in extra.values():
        command.arguments(sub.add_parser(command.name, help=command.help))
    args = parser.parse_args()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings)
    chosen = args.command or "serve"
    if chosen == "migrate" or (chosen == "serve" and settings.run_migrations_on_start):
        migrate()
    if chosen == "serve":

        async def serve() -> None:
            await server.serve(await build())

        server.run(serve)
    elif chosen in extra:
        asyncio.run(_with_engine(extra[chosen], args, settings))
