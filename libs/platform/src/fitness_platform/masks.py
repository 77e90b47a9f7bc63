"""AIP-134 field masks, shared by every service's Update methods."""

from __future__ import annotations

import re

from google.protobuf.message import Message

from fitness_platform.errors import FieldViolation, InvalidArgument


def camel_to_snake(path: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", path).lower()


def resolve_mask(mask_paths: list[str], present: list[str], allowed: tuple[str, ...], prefix: str = "") -> list[str]:
    """The explicit mask, or (implied mask) the fields present in the body.

    Paths may be snake_case or lowerCamelCase, optionally prefixed by the
    resource name ("user.first_name"); "*" means every updatable field.
    """
    if not mask_paths:
        return [field for field in allowed if field in present]
    paths: list[str] = []
    unknown: list[str] = []
    for raw in mask_paths:
        path = camel_to_snake(raw.strip())
        if prefix and path.startswith(prefix + "."):
            path = path[len(prefix) + 1 :]
        if path == "*":
            return list(allowed)
        (paths if path in allowed else unknown).append(path)
    if unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"unknown or read-only fields: {', '.join(unknown)}"))
    return list(dict.fromkeys(paths))


def present_fields(message: Message, allowed: tuple[str, ...]) -> list[str]:
    """The fields a request body carried, for the implied mask. Fields with
    presence (messages, `optional` scalars) count when set; repeated and map
    fields when not empty; plain scalars when not at their default (clear one
    with an explicit mask)."""
    present = []
    for name in allowed:
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.is_repeated:
            if getattr(message, name):
                present.append(name)
        elif field.has_presence:
            if message.HasField(name):
                present.append(name)
        elif getattr(message, name):
            present.append(name)
    return present
