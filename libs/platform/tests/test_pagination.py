"""Page tokens: round trip, and forged ones are a 400, never a crash."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from fitness_platform.errors import InvalidArgument
from fitness_platform.pagination import decode_token, encode_token

SCHEMA = {"started_at": datetime, "id": uuid.UUID}


def forge(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def test_round_trip() -> None:
    position = {"started_at": datetime(2026, 11, 26, 12, tzinfo=UTC), "id": uuid.uuid4()}
    token = encode_token({"started_at": position["started_at"].isoformat(), "id": str(position["id"])})
    assert decode_token(token, SCHEMA) == position


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !!",
        forge([1, 2]),
        forge({"started_at": "x", "id": "y"}),
        forge({"started_at": "2026-11-26T12:00:00", "id": str(uuid.uuid4())}),  # naive time
        forge({"started_at": "2026-11-26T12:00:00+00:00"}),
        forge({"offset": -1}),
    ],
)
def test_forged_tokens_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument):
        decode_token(token, SCHEMA)


@pytest.mark.parametrize("offset", [-1, "5", 10**20, True, 1.5])
def test_offsets_are_bounded_integers(offset: object) -> None:
    with pytest.raises(InvalidArgument):
        decode_token(forge({"offset": offset}), {"offset": int})
