"""Signing keys: RS256 key pairs kept encrypted in the database, published as a
JWKS, rotated without downtime (a new key is published before it signs, an old
one stays published until the last token it signed has expired)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.ext.asyncio import AsyncEngine

from fitness_auth.settings import AuthSettings
from fitness_auth.tables import signing_keys
from fitness_platform.tokens import ALGORITHM

_KEY_LOCK = 7_201_001  # advisory lock id: one replica creates the first key


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, Any]
    signs_from: datetime
    retires_at: datetime | None


def _new_key_material(secret: bytes) -> tuple[str, bytes, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex[:16]
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return kid, pem, jwk


class KeyRing:
    """In-memory view of the signing keys, reloaded periodically from the table."""

    def __init__(self, engine: AsyncEngine, settings: AuthSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._secret = settings.key_encryption_secret.get_secret_value().encode()
        self._keys: list[SigningKey] = []
        self._loaded_at = 0.0

    async def load(self) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_KEY_LOCK)))
            count = (await conn.execute(sa.select(sa.func.count()).select_from(signing_keys))).scalar()
            if not count:
                kid, pem, jwk = _new_key_material(self._secret)
                await conn.execute(
                    signing_keys.insert().values(kid=kid, private_key=pem, public_jwk=jwk, signs_from=datetime.now(UTC))
                )
            rows = (await conn.execute(sa.select(signing_keys).order_by(signing_keys.c.signs_from))).all()
        keys = [
            SigningKey(
                kid=row.kid,
                private_key=serialization.load_pem_private_key(row.private_key, self._secret),  # type: ignore[arg-type]
                public_jwk=row.public_jwk,
                signs_from=row.signs_from,
                retires_at=row.retires_at,
            )
            for row in rows
        ]
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def refresh_forever(self, interval: float = 30.0) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.load()

    def current(self) -> SigningKey:
        now = datetime.now(UTC)
        usable = [k for k in self._keys if k.signs_from <= now and not _retired(k, now)]
        if not usable:
            raise RuntimeError("no signing key is usable")
        return usable[-1]

    def published(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [k.public_jwk for k in self._keys if not _retired(k, now)]

    async def jwks(self) -> list[dict[str, Any]]:
        return self.published()

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.current()
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})

    async def rotate(self) -> SigningKey:
        lead = timedelta(seconds=self._settings.key_publish_lead_seconds)
        grace = timedelta(seconds=self._settings.access_token_ttl_seconds + 120)
        signs_from = datetime.now(UTC) + lead
        kid, pem, jwk = _new_key_material(self._secret)
        async with self._engine.begin() as conn:
            # Older keys keep verifying what they signed until it expires.
            await conn.execute(
                signing_keys.update().where(signing_keys.c.retires_at.is_(None)).values(retires_at=signs_from + grace)
            )
            await conn.execute(
                signing_keys.insert().values(kid=kid, private_key=pem, public_jwk=jwk, signs_from=signs_from)
            )
            # Keys retired long ago are dropped.
            await conn.execute(
                signing_keys.delete().where(signing_keys.c.retires_at < datetime.now(UTC) - timedelta(days=1))
            )
        await self.load()
        return next(k for k in self._keys if k.kid == kid)


def _retired(key: SigningKey, now: datetime) -> bool:
    return key.retires_at is not None and key.retires_at <= now
