"""Opaque page tokens (AIP-158): base64url JSON of the keyset position."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fitness_platform.errors import FieldViolation, InvalidArgument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if requested < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    return min(requested or default, maximum)


def encode_token(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(FieldViolation("page_token", "is not a valid page token")) from exc
    if not isinstance(position, dict) or set(position) != set(keys):
        raise InvalidArgument(FieldViolation("page_token", "is not a valid page token"))
    return position
