"""AIP-134 masks (pure)."""

from __future__ import annotations

import pytest

from fitness_platform.errors import InvalidArgument
from fitness_platform.masks import resolve_mask

PROFILE = ("first_name", "last_name", "height_cm")


def violations(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in exc.value.violations}


def test_implied_mask_is_the_present_fields() -> None:
    assert resolve_mask([], ["height_cm", "first_name"], PROFILE) == ["first_name", "height_cm"]


def test_explicit_mask_accepts_camel_case_and_prefix() -> None:
    paths = resolve_mask(["firstName", "user.height_cm"], [], PROFILE, prefix="user")
    assert paths == ["first_name", "height_cm"]


def test_mask_refuses_read_only_or_unknown_fields() -> None:
    with pytest.raises(InvalidArgument) as exc:
        resolve_mask(["email", "role"], [], PROFILE)
    assert "update_mask" in violations(exc)
