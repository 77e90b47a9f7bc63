"""Access-token verification shared by every service.

Tokens are RS256 JWTs signed by auth; the public keys come from auth's JWKS
(fetched and cached, refetched when an unknown `kid` shows up, so a key
rotation needs no restart). A session that was logged out is refused at once
through a Redis key that auth writes and every service reads.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import jwt
from google.protobuf.json_format import MessageToDict
from redis.asyncio import Redis

from fitness.auth.v1 import auth_pb2, auth_pb2_grpc
from fitness_platform.context import Principal
from fitness_platform.errors import Unauthenticated

ALGORITHM = "RS256"
JwksFetcher = Callable[[], Awaitable[list[dict[str, Any]]]]


def revoked_session_key(session_id: str) -> str:
    """Redis key marking a session whose access tokens must be refused."""
    return f"auth:revoked-session:{session_id}"


class JwksCache:
    """Public keys by kid. Unknown kids trigger a refetch, at most once a second."""

    def __init__(self, fetch: JwksFetcher, ttl_seconds: float = 300.0) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = -1e9
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> Any:
        if kid not in self._keys or self._age() >= self._ttl:
            async with self._lock:
                # Re-check under the lock: another caller may have refreshed.
                if self._age() >= self._ttl or (kid not in self._keys and self._age() >= 1.0):
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("access token signed by an unknown key")
        return key

    def _age(self) -> float:
        return time.monotonic() - self._fetched_at

    async def _refresh(self) -> None:
        documents = await self._fetch()
        self._keys = {doc["kid"]: jwt.PyJWK(doc, ALGORITHM).key for doc in documents}
        self._fetched_at = time.monotonic()


def grpc_jwks_fetcher(target: str, timeout: float = 3.0) -> JwksFetcher:
    """Fetches the JWKS from auth's GetJwks RPC (for services other than auth)."""

    async def fetch() -> list[dict[str, Any]]:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            response = await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=timeout)
        return [MessageToDict(key) for key in response.keys]

    return fetch


class AccessTokenVerifier:
    """Turns a bearer token into a Principal or raises Unauthenticated."""

    def __init__(
        self,
        jwks: JwksCache,
        redis: Redis,
        issuer: str,
        audience: str,
        cache_size: int = 10_000,
    ) -> None:
        self._jwks = jwks
        self._redis = redis
        self._issuer = issuer
        self._audience = audience
        # Signature checks cost ~80 us; a token is reused for many calls.
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is None or principal.expires_at <= time.time():
            principal = await self._decode(token)
            self._verified[token] = principal
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        # Never cached: a logout must take effect on the next call.
        if await self._redis.exists(revoked_session_key(principal.session_id)):
            raise Unauthenticated("session has ended")
        return principal

    async def _decode(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if not isinstance(kid, str) or header.get("alg") != ALGORITHM:
                raise Unauthenticated("access token has no usable key id")
            key = await self._jwks.key_for(kid)
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "sid", "jti", "role"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("access token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid access token") from exc
        return Principal(
            user_id=str(claims["sub"]),
            role=str(claims["role"]),
            session_id=str(claims["sid"]),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
        )
