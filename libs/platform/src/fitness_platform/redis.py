"""Redis client helper (cache, token denylist, throttles)."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=False, health_check_interval=30,
                          socket_timeout=2.0, socket_connect_timeout=2.0)  # fmt: skip


async def ping(client: Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:
        return False
