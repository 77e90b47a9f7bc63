"""Fixed-window counters in Redis for throttles (login failures, mail requests)."""

from __future__ import annotations

from redis.asyncio import Redis

from fitness_platform.errors import ResourceExhausted


class Throttle:
    """At most `limit` hits per `window_seconds` for one key."""

    def __init__(self, redis: Redis, name: str, limit: int, window_seconds: int) -> None:
        self._redis = redis
        self._name = name
        self.limit = limit
        self.window = window_seconds

    def _key(self, subject: str) -> str:
        return f"throttle:{self._name}:{subject}"

    async def check(self, subject: str) -> None:
        """Raise ResourceExhausted if the subject already used its allowance."""
        key = self._key(subject)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= self.limit:
            raise ResourceExhausted("too many attempts, try again later", retry_after_seconds=max(int(ttl), 1))

    async def hit(self, subject: str) -> int:
        key = self._key(subject)
        async with self._redis.pipeline(transaction=True) as pipe:
            # SET NX EX opens the window (EXPIRE ... NX needs Redis 7).
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count)

    async def consume(self, subject: str) -> None:
        """Count one hit and raise if it went over the limit."""
        if await self.hit(subject) > self.limit:
            ttl = await self._redis.ttl(self._key(subject))
            raise ResourceExhausted("too many requests, try again later", retry_after_seconds=max(int(ttl), 1))

    async def reset(self, subject: str) -> None:
        await self._redis.delete(self._key(subject))
