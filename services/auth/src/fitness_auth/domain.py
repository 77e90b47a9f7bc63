"""Pure rules of the auth domain: normalisation, validation, masks, tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email

from fitness_platform.errors import FieldViolation, InvalidArgument, Validator

MIN_PASSWORD = 8
MAX_PASSWORD = 128
MAX_NAME = 100
MIN_AGE = 13
MAX_AGE = 120
HEIGHT_CM = (50.0, 272.0)
WEIGHT_KG = (20.0, 500.0)
ROLES = ("user", "trainer", "admin")
# The most common leaked passwords that pass the length rule.
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "password123", "12345678", "123456789", "1234567890",
     "qwertyuiop", "qwerty123", "iloveyou", "11111111", "00000000", "abc12345",
     "letmein1", "football", "baseball", "welcome1", "sunshine", "princess", "trustno1"}
)  # fmt: skip
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
# Letters of any script, spaces, hyphens, apostrophes and dots: names, not markup.
# One separator per repetition keeps the match linear (no catastrophic backtracking).
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\u2019.\-][^\W\d_]*)*$")

PROFILE_FIELDS = ("first_name", "last_name", "age", "birth_date", "gender", "height_cm",
                  "weight_kg", "experience_level", "primary_goal")  # fmt: skip
SETTINGS_FIELDS = ("units", "theme", "language", "push_notifications", "email_notifications",
                   "private_profile", "show_stats")  # fmt: skip


def normalize_email(raw: str, field: str = "email") -> str:
    """Syntax check and normalisation (lower-cased whole address)."""
    if not raw or len(raw) > 254:
        raise InvalidArgument(FieldViolation(field, "must be a valid email address"))
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidArgument(FieldViolation(field, "must be a valid email address")) from exc
    return result.normalized.lower()


def password_problems(password: str, email: str = "") -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"must be at most {MAX_PASSWORD} characters")
    if password.strip() == "" and password:
        problems.append("must not be only spaces")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("is too common")
    if email and password.lower() == email.lower():
        problems.append("must differ from the email address")
    return problems


def check_password(password: str, email: str = "", field: str = "password") -> None:
    problems = password_problems(password, email)
    if problems:
        raise InvalidArgument([FieldViolation(field, p) for p in problems])


def check_name(validator: Validator, field: str, value: str) -> None:
    validator.check(len(value) <= MAX_NAME, field, f"must be at most {MAX_NAME} characters")
    validator.check(
        value == "" or (len(value) <= MAX_NAME and bool(_NAME.match(value.strip()))),
        field,
        "may contain letters, spaces, hyphens, apostrophes and dots",
    )


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def parse_birth_date(validator: Validator, value: str, today: date) -> date | None:
    try:
        birth = date.fromisoformat(value)
    except ValueError:
        validator.add("birth_date", "must be a date in the form YYYY-MM-DD")
        return None
    age = age_on(birth, today)
    if birth > today or not MIN_AGE <= age <= MAX_AGE:
        validator.add("birth_date", f"must give an age between {MIN_AGE} and {MAX_AGE}")
        return None
    return birth


def check_range(validator: Validator, field: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if not (low <= value <= high):  # also refuses NaN
        validator.add(field, f"must be between {low:g} and {high:g}")


def check_language(validator: Validator, value: str) -> None:
    validator.check(bool(_LANGUAGE.match(value)), "language", "must be a BCP 47 tag such as en or pt-BR")


@dataclass(frozen=True)
class IssuedSecret:
    """A random token handed to the client once; only its hash is stored."""

    token: str
    digest: bytes


def new_secret(nbytes: int = 32) -> IssuedSecret:
    token = secrets.token_urlsafe(nbytes)
    return IssuedSecret(token, hash_secret(token))


def hash_secret(token: str) -> bytes:
    # High-entropy tokens need no slow hash: SHA-256 keeps lookups indexed.
    return hashlib.sha256(token.encode()).digest()


def role_at_least(role: str, minimum: str) -> bool:
    return ROLES.index(role) >= ROLES.index(minimum)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def validate_profile(changes: dict[str, Any], today: date) -> dict[str, Any]:
    """Checks masked profile changes (None clears a field); returns column values."""
    validator = Validator()
    values: dict[str, Any] = {}
    for field, value in changes.items():
        if value is None:
            values[field] = None
        elif field in ("first_name", "last_name"):
            check_name(validator, field, value)
            values[field] = value.strip() or None
        elif field == "age":
            validator.check(MIN_AGE <= value <= MAX_AGE, field, f"must be between {MIN_AGE} and {MAX_AGE}")
            values[field] = value
        elif field == "birth_date":
            values[field] = parse_birth_date(validator, value, today)
        elif field == "height_cm":
            check_range(validator, field, value, HEIGHT_CM)
            values[field] = round(value, 1)
        elif field == "weight_kg":
            check_range(validator, field, value, WEIGHT_KG)
            values[field] = round(value, 1)
        elif field in ("gender", "experience_level", "primary_goal"):
            validator.check(bool(value), field, "must be one of the listed values")
            values[field] = value
    validator.raise_if_any()
    if values.get("birth_date") is not None:
        values["age"] = None  # derived from the birth date from now on
    return values


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    validator = Validator()
    values: dict[str, Any] = {}
    for field, value in changes.items():
        if field in ("units", "theme"):
            validator.check(bool(value), field, "must be one of the listed values")
        elif field == "language":
            check_language(validator, value or "")
        elif value is None:
            validator.add(field, "must be true or false")
        values[field] = value
    validator.raise_if_any()
    return values


def profile_age(age: int | None, birth: date | None, today: date) -> int | None:
    return age_on(birth, today) if birth is not None else age
