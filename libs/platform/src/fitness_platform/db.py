"""Async SQLAlchemy engine bound to the service's own schema and role."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fitness_platform.settings import ServiceSettings


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgresql:// URLs and select the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(settings.database_url.get_secret_value()),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=1800,
        # search_path pins unqualified names to the service's schema; the role
        # has no privilege elsewhere anyway.
        connect_args={
            "options": f"-c search_path={settings.db_schema},extensions",
            "application_name": settings.service_name,
        },
    )


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for single-statement reads: no BEGIN/ROLLBACK round trips."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        return True
    except Exception:
        return False
