"""Per-RPC context (request id, caller) carried in contextvars."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from fitness_platform.errors import Unauthenticated

ROLE_RANK = {"user": 1, "trainer": 2, "admin": 3}


@dataclass(frozen=True)
class Principal:
    """The verified caller of an RPC, taken from the access token."""

    user_id: str
    role: str
    session_id: str
    token_id: str
    expires_at: int

    def has_role(self, min_role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[min_role]


@dataclass(frozen=True)
class CallInfo:
    method: str
    request_id: str
    peer_ip: str
    user_agent: str


_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)
_call: ContextVar[CallInfo | None] = ContextVar("call", default=None)


def set_principal(principal: Principal | None) -> None:
    _principal.set(principal)


def current_principal() -> Principal:
    """The caller; servicers of non-public RPCs can rely on it being set."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("authentication required")
    return principal


def optional_principal() -> Principal | None:
    return _principal.get()


def set_call(info: CallInfo) -> None:
    _call.set(info)


def current_call() -> CallInfo:
    info = _call.get()
    return info if info is not None else CallInfo("", "", "", "")
