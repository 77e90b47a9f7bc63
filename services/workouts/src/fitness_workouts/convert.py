"""Protobuf <-> domain values and rows. Enums are stored as short lower-case
names ("weight_reps") and sent as proto enum names ("EXERCISE_TYPE_WEIGHT_REPS")."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from fitness.workouts.v1 import workouts_pb2 as pb
from fitness_platform.errors import FieldViolation, InvalidArgument, Validator
from fitness_platform.events import timestamp
from fitness_workouts import domain

Row = Mapping[Any, Any]  # a result row (RowMapping) or a plain dict

PREFIXES: dict[str, tuple[Any, str]] = {
    "muscle": (pb.Muscle, "MUSCLE_"),
    "equipment": (pb.Equipment, "EQUIPMENT_"),
    "difficulty": (pb.Difficulty, "DIFFICULTY_"),
    "exercise_type": (pb.ExerciseType, "EXERCISE_TYPE_"),
    "set_type": (pb.SetType, "SET_TYPE_"),
    "unit": (pb.WeightUnit, "WEIGHT_UNIT_"),
    "record_type": (pb.RecordType, "RECORD_TYPE_"),
    "day": (pb.DayOfWeek, "DAY_OF_WEEK_"),
    "visibility": (pb.Visibility, "VISIBILITY_"),
}


def to_db(kind: str, number: int) -> str:
    """'' for UNSPECIFIED or an unknown number (validation refuses it)."""
    enum, prefix = PREFIXES[kind]
    value = enum.DESCRIPTOR.values_by_number.get(number)
    if value is None or number == 0:
        return ""
    return str(value.name).removeprefix(prefix).lower()


@functools.lru_cache(maxsize=512)
def to_enum(kind: str, stored: str | None) -> int:
    if not stored:
        return 0
    enum, prefix = PREFIXES[kind]
    value = enum.DESCRIPTOR.values_by_name.get(prefix + stored.upper())
    return value.number if value is not None else 0


def enum_name(kind: str, stored: str) -> str:
    return PREFIXES[kind][1] + stored.upper()


def parse_uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidArgument(FieldViolation(field, "must be a UUID")) from exc


def moment(value: Timestamp, field: str) -> datetime:
    """A protobuf Timestamp as an aware datetime; out-of-range ones are a 400."""
    try:
        return value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(FieldViolation(field, "is not a valid time")) from exc


def check_request_id(request_id: str) -> None:
    """AIP-155: a client-chosen UUID (or nothing)."""
    if request_id:
        parse_uuid(request_id, "request_id")


def as_float(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def weight_message(value: Decimal | None, unit: str | None) -> pb.Weight | None:
    if value is None or unit is None:
        return None
    return pb.Weight(value=float(value), unit=to_enum("unit", unit))  # type: ignore[arg-type]


# -- workouts ------------------------------------------------------------------


def set_entry(v: Validator, path: str, message: pb.WorkoutSet) -> domain.SetEntry:
    weight = unit = None
    if message.HasField("weight"):
        weight = domain.parse_decimal(v, f"{path}.weight.value", message.weight.value)
        unit = to_db("unit", message.weight.unit) or "?"
    return domain.SetEntry(
        set_type=to_db("set_type", message.type) or "?",
        reps=message.reps if message.HasField("reps") else None,
        weight=weight,
        unit=unit,
        rpe=domain.parse_decimal(v, f"{path}.rpe", message.rpe) if message.HasField("rpe") else None,
        rir=message.rir if message.HasField("rir") else None,
        duration_seconds=message.duration_seconds if message.HasField("duration_seconds") else None,
        distance_meters=(
            domain.parse_decimal(v, f"{path}.distance_meters", message.distance_meters)
            if message.HasField("distance_meters")
            else None
        ),
    )


def workout_entry(
    message: pb.Workout, exercise_types: Mapping[str, str], prefix: str = "workout"
) -> domain.WorkoutEntry:
    """Decode and check everything decoding can check (unknown exercises, numbers)."""
    v = Validator()
    exercises = []
    for i, item in enumerate(message.exercises[: domain.MAX_EXERCISES_PER_WORKOUT]):
        path = f"{prefix}.exercises[{i}]"
        exercise_type = exercise_types.get(item.exercise_id, "")
        if not exercise_type:
            v.add(f"{path}.exercise_id", "is not an exercise you can log")
        sets = [
            set_entry(v, f"{path}.sets[{j}]", s) for j, s in enumerate(item.sets[: domain.MAX_SETS_PER_EXERCISE + 1])
        ]
        exercises.append(
            domain.ExerciseEntry(
                exercise_id=item.exercise_id,
                exercise_type=exercise_type or "weight_reps",
                sets=sets,
                superset_group=item.superset_group,
                form_score=item.form_score if item.HasField("form_score") else None,
                notes=item.notes,
            )
        )
    if len(message.exercises) > domain.MAX_EXERCISES_PER_WORKOUT:
        v.add(f"{prefix}.exercises", f"at most {domain.MAX_EXERCISES_PER_WORKOUT} exercises")
    started = moment(message.started_at, f"{prefix}.started_at") if message.HasField("started_at") else None
    entry = domain.WorkoutEntry(
        started_at=started or datetime(1970, 1, 1, tzinfo=UTC),
        duration_minutes=message.duration_minutes,
        notes=message.notes,
        energy_level=message.energy_level if message.HasField("energy_level") else None,
        soreness=dict(message.soreness),
        exercises=exercises,
    )
    domain_errors: list[FieldViolation] = []
    try:
        domain.validate_workout(entry, datetime.now(UTC), prefix)
    except InvalidArgument as invalid:
        domain_errors = invalid.violations
    if v.violations or domain_errors:
        raise InvalidArgument(v.violations + domain_errors)
    return entry


def workout_ids_in(message: pb.Workout) -> list[str]:
    return [e.exercise_id for e in message.exercises]


def workout_message(
    row: Row,
    exercise_rows: Iterable[Row],
    set_rows: Iterable[Row],
    exercise_info: Mapping[uuid.UUID, Row],
) -> pb.Workout:
    sets_by_position: dict[int, list[pb.WorkoutSet]] = {}
    for s in set_rows:
        # One constructor call per set: this loop builds hundreds per page.
        fields: dict[str, Any] = {"type": to_enum("set_type", s["set_type"])}
        for name in ("reps", "rir", "duration_seconds"):
            if s[name] is not None:
                fields[name] = s[name]
        for name in ("rpe", "distance_meters"):
            if s[name] is not None:
                fields[name] = float(s[name])
        if s["weight_value"] is not None:
            unit = to_enum("unit", s["weight_unit"])
            fields["weight"] = pb.Weight(value=float(s["weight_value"]), unit=unit)  # type: ignore[arg-type]
        sets_by_position.setdefault(s["exercise_position"], []).append(pb.WorkoutSet(**fields))
    workout = pb.Workout(
        id=str(row["id"]),
        started_at=timestamp(row["started_at"]),
        duration_minutes=row["duration_minutes"],
        notes=row["notes"],
        soreness=row["soreness"],
        totals=pb.WorkoutTotals(
            working_sets=row["working_sets"],
            reps=row["reps"],
            volume_kg=as_float(row["volume_kg"]),
            average_rpe=as_float(row["average_rpe"]),
            duration_minutes=row["duration_minutes"],
            exercises=row["exercise_count"],
        ),
        create_time=timestamp(row["created_at"]),
        update_time=timestamp(row["updated_at"]),
    )
    if row["energy_level"] is not None:
        workout.energy_level = row["energy_level"]
    for e in exercise_rows:
        info = exercise_info.get(e["exercise_id"], {})
        item = workout.exercises.add(
            exercise_id=str(e["exercise_id"]),
            superset_group=e["superset_group"],
            notes=e["notes"],
            exercise_name=info.get("name", ""),
            exercise_type=to_enum("exercise_type", info.get("exercise_type")),  # type: ignore[arg-type]
            sets=sets_by_position.get(e["position"], []),
        )
        if e["form_score"] is not None:
            item.form_score = e["form_score"]
    return workout


def record_message(row: Row, exercise_name: str) -> pb.PersonalRecord:
    record = pb.PersonalRecord(
        exercise_id=str(row["exercise_id"]),
        exercise_name=exercise_name,
        type=to_enum("record_type", row["record_type"]),  # type: ignore[arg-type]
        value=round(float(row["value"]), 3),
        unit=domain.RECORD_UNITS[row["record_type"]],
        reps=row["reps"] or 0,
        workout_id=str(row["workout_id"]),
        achieved_at=timestamp(row["achieved_at"]),
    )
    weight = weight_message(row["weight_value"], row["weight_unit"])
    if weight is not None:
        record.weight.CopyFrom(weight)
    if row["previous_value"] is not None:
        record.previous_value = round(float(row["previous_value"]), 3)
    return record


# -- exercises -------------------------------------------------------------------


def exercise_message(row: Row) -> pb.Exercise:
    return pb.Exercise(
        id=str(row["id"]),
        name=row["name"],
        description=row["description"],
        primary_muscle=to_enum("muscle", row["primary_muscle"]),  # type: ignore[arg-type]
        secondary_muscles=[to_enum("muscle", m) for m in row["secondary_muscles"]],  # type: ignore[misc]
        equipment=to_enum("equipment", row["equipment"]),  # type: ignore[arg-type]
        difficulty=to_enum("difficulty", row["difficulty"]),  # type: ignore[arg-type]
        exercise_type=to_enum("exercise_type", row["exercise_type"]),  # type: ignore[arg-type]
        form_cues=row["form_cues"],
        common_mistakes=row["common_mistakes"],
        image_url=row["image_url"],
        video_url=row["video_url"],
        form_check=pb.FormCheck(available=row["form_check_available"], metrics=row["form_check_metrics"]),
        custom=row["owner_id"] is not None,
        create_time=timestamp(row["created_at"]),
        update_time=timestamp(row["updated_at"]),
    )


EXERCISE_FIELDS = (
    "name",
    "description",
    "primary_muscle",
    "secondary_muscles",
    "equipment",
    "difficulty",
    "exercise_type",
    "form_cues",
    "common_mistakes",
    "image_url",
    "video_url",
    "form_check",
)


def exercise_values(message: pb.Exercise, paths: Iterable[str]) -> dict[str, Any]:
    """Column values for the given fields of an Exercise message."""
    values: dict[str, Any] = {}
    for path in paths:
        if path == "primary_muscle":
            values[path] = to_db("muscle", message.primary_muscle)
        elif path == "secondary_muscles":
            values[path] = [to_db("muscle", m) for m in message.secondary_muscles]
        elif path in ("equipment", "difficulty", "exercise_type"):
            values[path] = to_db(path, getattr(message, path))
        elif path == "form_check":
            values["form_check_available"] = message.form_check.available
            values["form_check_metrics"] = list(message.form_check.metrics)
        elif path in ("form_cues", "common_mistakes"):
            values[path] = list(getattr(message, path))
        else:
            values[path] = getattr(message, path)
    return values


# -- routines --------------------------------------------------------------------


def routine_message(
    row: Row,
    exercise_rows: Iterable[Row],
    names: Mapping[uuid.UUID, str],
    caller: uuid.UUID,
    liked: bool,
) -> pb.Routine:
    routine = pb.Routine(
        id=str(row["id"]),
        name=row["name"],
        description=row["description"],
        days_per_week=row["days_per_week"],
        schedule=pb.Schedule(days=[to_enum("day", d) for d in row["schedule_days"]]),  # type: ignore[misc]
        visibility=to_enum("visibility", row["visibility"]),  # type: ignore[arg-type]
        like_count=row["like_count"],
        liked_by_me=liked,
        mine=row["owner_id"] == caller,
        copied_from=str(row["copied_from"]) if row["copied_from"] else "",
        create_time=timestamp(row["created_at"]),
        update_time=timestamp(row["updated_at"]),
    )
    for e in exercise_rows:
        item = routine.exercises.add(
            exercise_id=str(e["exercise_id"]),
            exercise_name=names.get(e["exercise_id"], ""),
            target_sets=e["target_sets"],
            rest_seconds=e["rest_seconds"],
            notes=e["notes"],
            superset_group=e["superset_group"],
        )
        if e["rep_min"] is not None or e["rep_max"] is not None:
            item.rep_range.CopyFrom(pb.RepRange(min=e["rep_min"] or 0, max=e["rep_max"] or 0))
        weight = weight_message(e["target_weight_value"], e["target_weight_unit"])
        if weight is not None:
            item.target_weight.CopyFrom(weight)
        if e["target_rpe"] is not None:
            item.target_rpe = float(e["target_rpe"])
    return routine
