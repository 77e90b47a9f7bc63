"""Pure rules of the auth domain (no servers)."""

from __future__ import annotations

from datetime import date

import pytest

from fitness_auth import domain
from fitness_platform.errors import InvalidArgument

TODAY = date(2026, 11, 26)


def violations(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in exc.value.violations}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Ada@Example.COM", "ada@example.com"), ("  bob@example.org ", "bob@example.org")],
)
def test_emails_are_normalised(raw: str, expected: str) -> None:
    assert domain.normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@", "@b.com", "x" * 300 + "@example.com", "a b@example.com"])
def test_bad_emails_are_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        domain.normalize_email(raw)
    assert "email" in violations(exc)


def test_password_policy() -> None:
    assert domain.password_problems("correct horse battery") == []
    assert domain.password_problems("short")
    assert domain.password_problems("password123")
    assert domain.password_problems("x" * 129)
    assert domain.password_problems("ada@example.com", "ada@example.com")


def test_age_counts_birthdays() -> None:
    assert domain.age_on(date(2000, 11, 26), TODAY) == 26
    assert domain.age_on(date(2000, 11, 27), TODAY) == 25


def test_profile_validation_reports_every_bad_field() -> None:
    with pytest.raises(InvalidArgument) as exc:
        domain.validate_profile(
            {"height_cm": 400.0, "weight_kg": 5.0, "age": 7, "birth_date": "2030-01-01", "first_name": "x" * 101},
            TODAY,
        )
    assert set(violations(exc)) == {"height_cm", "weight_kg", "age", "birth_date", "first_name"}


def test_profile_refuses_nan_and_control_characters() -> None:
    with pytest.raises(InvalidArgument) as exc:
        domain.validate_profile({"height_cm": float("nan"), "last_name": "a\x00b"}, TODAY)
    assert set(violations(exc)) == {"height_cm", "last_name"}


def test_birth_date_replaces_stored_age() -> None:
    values = domain.validate_profile({"birth_date": "1990-05-01", "height_cm": 180.55}, TODAY)
    assert values == {"birth_date": date(1990, 5, 1), "height_cm": 180.6, "age": None}


def test_none_clears_a_field() -> None:
    assert domain.validate_profile({"first_name": None}, TODAY) == {"first_name": None}


def test_settings_language_tag() -> None:
    assert domain.validate_settings({"language": "pt-BR"}) == {"language": "pt-BR"}
    with pytest.raises(InvalidArgument):
        domain.validate_settings({"language": "not a language"})


def test_secrets_are_random_and_stored_hashed() -> None:
    first, second = domain.new_secret(), domain.new_secret()
    assert first.token != second.token
    assert domain.hash_secret(first.token) == first.digest
    assert first.token.encode() not in first.digest


@pytest.mark.parametrize("name", ["Ada", "José", "Mary-Jane", "O'Brien", "Zoë Åberg", "Dr. Who", "李小龙", "Ngũgĩ"])
def test_real_names_are_accepted(name: str) -> None:
    assert domain.validate_profile({"first_name": name}, TODAY) == {"first_name": name}


@pytest.mark.parametrize("name", ["'; DROP TABLE users; --", "<script>x</script>", "Ada1", "{{7*7}}", "a\tb"])
def test_markup_and_code_are_not_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        domain.validate_profile({"first_name": name}, TODAY)
