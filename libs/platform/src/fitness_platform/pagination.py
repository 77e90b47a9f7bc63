"""Opaque page tokens (AIP-158): base64url JSON of the keyset position."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fitness_platform.errors import FieldViolation, InvalidArgument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if requested < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    return min(requested or default, maximum)


def encode_token(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=_plain).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def next_page_token(rows: Sequence[Any], size: int, position: Callable[[Any], dict[str, Any]]) -> str:
    """The token of the page after `rows[:size]` (callers fetch size + 1 rows
    to know whether there is one); `position` gives the keyset of a row."""
    return encode_token(position(rows[size - 1])) if len(rows) > size else ""


MAX_OFFSET = 1_000_000


def _parse(kind: type, value: Any) -> Any:
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_OFFSET:
            raise ValueError(value)
        return value
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return moment
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is str and isinstance(value, str):
        return value
    raise ValueError(value)


def decode_token(token: str, schema: dict[str, type]) -> dict[str, Any] | None:
    """The keyset position in a page token, each value parsed to its type.
    A token that was not made by `encode_token` for this schema is a 400."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(position, dict) or set(position) != set(schema):
            raise ValueError("keys")
        return {key: _parse(kind, position[key]) for key, kind in schema.items()}
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(FieldViolation("page_token", "is not a valid page token")) from exc
