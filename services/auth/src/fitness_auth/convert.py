"""Rows <-> protobuf messages. Enums are stored as short lower-case names
("intermediate") and sent as proto enum names ("EXPERIENCE_LEVEL_INTERMEDIATE")."""

from __future__ import annotations

from datetime import date
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.engine import RowMapping

from fitness.auth.v1 import auth_pb2
from fitness_auth import domain
from fitness_platform.events import timestamp

_PREFIX = {
    "gender": "GENDER_",
    "experience_level": "EXPERIENCE_LEVEL_",
    "primary_goal": "PRIMARY_GOAL_",
    "units": "UNITS_",
    "theme": "THEME_",
    "role": "ROLE_",
}


def enum_to_db(message: Message, field: str) -> str:
    """'' for UNSPECIFIED or an unknown number (the domain refuses it)."""
    number = getattr(message, field)
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    assert enum is not None
    value = enum.values_by_number.get(number)
    if value is None or value.number == 0:
        return ""
    return value.name.removeprefix(_PREFIX[field]).lower()


def db_to_enum(message_type: type[Message], field: str, stored: str | None) -> int:
    if not stored:
        return 0
    enum = message_type.DESCRIPTOR.fields_by_name[field].enum_type
    assert enum is not None
    value = enum.values_by_name.get(_PREFIX[field] + stored.upper())
    return value.number if value is not None else 0


def role_to_db(role: int) -> str:
    value = auth_pb2.Role.DESCRIPTOR.values_by_number.get(role)
    return "" if value is None or role == 0 else value.name.removeprefix("ROLE_").lower()


def user_message(row: RowMapping) -> auth_pb2.User:
    user = auth_pb2.User(
        id=str(row["id"]),
        email=row["email"],
        email_verified=row["email_verified"],
        role=db_to_enum(auth_pb2.User, "role", row["role"]),  # type: ignore[arg-type]
        active=row["active"],
        create_time=timestamp(row["created_at"]),
        update_time=timestamp(row["updated_at"]),
    )
    for field in ("first_name", "last_name"):
        if row[field] is not None:
            setattr(user, field, row[field])
    age = domain.profile_age(row["age"], row["birth_date"], date.today())
    if age is not None:
        user.age = age
    if row["birth_date"] is not None:
        user.birth_date = row["birth_date"].isoformat()
    for field in ("height_cm", "weight_kg"):
        if row[field] is not None:
            setattr(user, field, float(row[field]))
    for field in ("gender", "experience_level", "primary_goal"):
        if row[field] is not None:
            setattr(user, field, db_to_enum(auth_pb2.User, field, row[field]))
    return user


def masked_changes(message: Message, paths: list[str]) -> dict[str, Any]:
    """Values of the masked fields; None for a masked field absent from the body (clear it)."""
    changes: dict[str, Any] = {}
    for path in paths:
        if not message.HasField(path):
            changes[path] = None
        elif path in _PREFIX:
            changes[path] = enum_to_db(message, path)
        else:
            changes[path] = getattr(message, path)
    return changes


def settings_message(row: RowMapping) -> auth_pb2.Settings:
    return auth_pb2.Settings(
        units=db_to_enum(auth_pb2.Settings, "units", row["units"]),  # type: ignore[arg-type]
        theme=db_to_enum(auth_pb2.Settings, "theme", row["theme"]),  # type: ignore[arg-type]
        language=row["language"],
        push_notifications=row["push_notifications"],
        email_notifications=row["email_notifications"],
        private_profile=row["private_profile"],
        show_stats=row["show_stats"],
    )


def session_message(row: RowMapping, current_session: str) -> auth_pb2.Session:
    return auth_pb2.Session(
        id=str(row["id"]),
        device_name=row["device_name"],
        user_agent=row["user_agent"],
        ip_address=row["ip_address"],
        create_time=timestamp(row["created_at"]),
        last_used_time=timestamp(row["last_used_at"]),
        current=str(row["id"]) == current_session,
    )
