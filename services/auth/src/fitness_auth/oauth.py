"""Sign in with Google and Apple: verify their OpenID Connect ID tokens against
the configured issuer, client ids and JWKS URL."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from fitness_auth.settings import AuthSettings
from fitness_platform.errors import FieldViolation, InvalidArgument, Unauthenticated


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    issuer: str
    jwks_url: str
    client_ids: list[str]


@dataclass(frozen=True)
class ProviderIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    first_name: str
    last_name: str


def providers_from(settings: AuthSettings) -> dict[str, ProviderConfig]:
    return {
        "google": ProviderConfig("google", settings.google_issuer, settings.google_jwks_url,
                                 settings.google_client_ids),
        "apple": ProviderConfig("apple", settings.apple_issuer, settings.apple_jwks_url,
                                settings.apple_client_ids),
    }  # fmt: skip


class _ProviderKeys:
    """A provider's JWKS, cached for an hour and refetched for an unknown kid."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._keys: dict[str, Any] = {}
        self._fetched = -1e9
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> Any:
        if kid not in self._keys or time.monotonic() - self._fetched > 3600:
            async with self._lock:
                if kid not in self._keys and time.monotonic() - self._fetched > 5:
                    async with httpx.AsyncClient(timeout=5) as client:
                        response = await client.get(self._url)
                        response.raise_for_status()
                    self._keys = {k["kid"]: jwt.PyJWK(k).key for k in response.json()["keys"] if "kid" in k}
                    self._fetched = time.monotonic()
        if kid not in self._keys:
            raise Unauthenticated("ID token signed by an unknown key")
        return self._keys[kid]


class IdTokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self._providers = providers_from(settings)
        self._keys = {name: _ProviderKeys(p.jwks_url) for name, p in self._providers.items()}

    async def verify(self, provider: str, id_token: str) -> ProviderIdentity:
        config = self._providers.get(provider)
        if config is None or not config.client_ids:
            raise InvalidArgument(FieldViolation("provider", "must be google or apple (configured)"))
        if not id_token or len(id_token) > 8192:
            raise InvalidArgument(FieldViolation("id_token", "is required"))
        try:
            header = jwt.get_unverified_header(id_token)
            key = await self._keys[provider].get(str(header.get("kid", "")))
            claims = jwt.decode(
                id_token,
                key,
                algorithms=["RS256", "ES256"],
                audience=config.client_ids,
                issuer=config.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except httpx.HTTPError as exc:
            raise Unauthenticated("identity provider keys are unavailable") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid ID token") from exc
        verified = claims.get("email_verified")
        return ProviderIdentity(
            provider=provider,
            subject=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=verified is True or verified == "true",
            first_name=str(claims.get("given_name", ""))[:100],
            last_name=str(claims.get("family_name", ""))[:100],
        )
