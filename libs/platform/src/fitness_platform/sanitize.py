"""Checks every request gets before any service code sees it."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from fitness_platform.errors import FieldViolation


def nul_violations(message: Message, prefix: str = "") -> list[FieldViolation]:
    """Strings holding NUL: valid protobuf, but PostgreSQL text cannot store
    them, so they are refused up front rather than failing deep inside."""
    found: list[FieldViolation] = []
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else [value]
            if any("\x00" in v for v in values):
                found.append(FieldViolation(path, "must not contain NUL characters"))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    if "\x00" in str(key) or (isinstance(item, str) and "\x00" in item):
                        found.append(FieldViolation(path, "must not contain NUL characters"))
                    elif isinstance(item, Message):
                        found += nul_violations(item, f"{path}[{key}].")
            elif field.is_repeated:
                for index, item in enumerate(value):
                    found += nul_violations(item, f"{path}[{index}].")
            else:
                found += nul_violations(value, f"{path}.")
    return found
