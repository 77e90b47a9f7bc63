"""Pure rules of training: units, validation limits, totals, estimated 1RM and
personal records. No I/O; unit-tested without servers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from fitness_platform.errors import Validator

KG_PER_LB = Decimal("0.45359237")  # exact, by definition
MAX_WEIGHT_KG = Decimal(1000)
MAX_REPS = 500
MAX_SETS_PER_EXERCISE = 100
MAX_EXERCISES_PER_WORKOUT = 50
MAX_NOTES = 1000
MAX_DURATION_SECONDS = 24 * 3600
MAX_DISTANCE_METERS = Decimal(1_000_000)
MAX_WORKOUT_MINUTES = 24 * 60
E1RM_MAX_REPS = 12
SORENESS_PART = re.compile(r"^[a-z][a-z_]{0,29}$")
MAX_SORENESS_PARTS = 20

SET_TYPES = ("warmup", "working", "drop", "failure")
EXERCISE_TYPES = (
    "weight_reps",
    "bodyweight_reps",
    "weighted_bodyweight",
    "assisted_bodyweight",
    "duration",
    "distance_duration",
)
LOADED = ("weight_reps", "weighted_bodyweight")  # weight counts toward volume and records
NEEDS_WEIGHT = ("weight_reps", "weighted_bodyweight", "assisted_bodyweight")
NEEDS_REPS = ("weight_reps", "bodyweight_reps", "weighted_bodyweight", "assisted_bodyweight")

HEAVIEST_WEIGHT = "heaviest_weight"
ESTIMATED_ONE_REP_MAX = "estimated_one_rep_max"
BEST_SET_VOLUME = "best_set_volume"
MOST_REPS = "most_reps"
LONGEST_DURATION = "longest_duration"
LONGEST_DISTANCE = "longest_distance"
RECORD_UNITS = {
    HEAVIEST_WEIGHT: "kg",
    ESTIMATED_ONE_REP_MAX: "kg",
    BEST_SET_VOLUME: "kg",
    MOST_REPS: "reps",
    LONGEST_DURATION: "seconds",
    LONGEST_DISTANCE: "meters",
}


def to_kg(value: Decimal, unit: str) -> Decimal:
    return value if unit == "kg" else value * KG_PER_LB


def decimal_of(value: float) -> Decimal:
    """The decimal the user typed: 102.5 stays 102.5, not its binary neighbour."""
    return Decimal(repr(value))


@dataclass(frozen=True)
class SetEntry:
    set_type: str
    reps: int | None = None
    weight: Decimal | None = None  # as entered
    unit: str | None = None  # "kg" or "lb"
    rpe: Decimal | None = None
    rir: int | None = None
    duration_seconds: int | None = None
    distance_meters: Decimal | None = None

    @property
    def working(self) -> bool:
        return self.set_type != "warmup"

    @property
    def weight_kg(self) -> Decimal | None:
        if self.weight is None or self.unit is None:
            return None
        return to_kg(self.weight, self.unit)


@dataclass(frozen=True)
class ExerciseEntry:
    exercise_id: str
    exercise_type: str
    sets: list[SetEntry]
    superset_group: int = 0
    form_score: int | None = None
    notes: str = ""


@dataclass(frozen=True)
class WorkoutEntry:
    started_at: datetime
    duration_minutes: int
    notes: str
    energy_level: int | None
    soreness: dict[str, int]
    exercises: list[ExerciseEntry]


@dataclass(frozen=True)
class Totals:
    working_sets: int
    reps: int
    volume_kg: Decimal
    average_rpe: Decimal
    duration_minutes: int
    exercises: int


# -- validation ----------------------------------------------------------------


def _check_weight(v: Validator, path: str, s: SetEntry) -> None:
    if s.weight is None:
        return
    if s.unit not in ("kg", "lb"):
        v.add(f"{path}.weight.unit", "must be WEIGHT_UNIT_KG or WEIGHT_UNIT_LB")
        return
    exponent = s.weight.as_tuple().exponent
    if not s.weight.is_finite() or (isinstance(exponent, int) and exponent < -3):
        v.add(f"{path}.weight.value", "must be a number with at most 3 decimals")
        return
    kg = to_kg(s.weight, s.unit)
    if not Decimal(0) <= kg <= MAX_WEIGHT_KG:
        v.add(f"{path}.weight.value", "must be between 0 and 1000 kg (2204.6 lb)")


def _check_set(v: Validator, path: str, s: SetEntry, exercise_type: str) -> None:
    if s.set_type not in SET_TYPES:
        v.add(f"{path}.type", "must be one of SET_TYPE_WARMUP, WORKING, DROP, FAILURE")
    if exercise_type in NEEDS_REPS and s.reps is None:
        v.add(f"{path}.reps", "is required for this exercise")
    if s.reps is not None and not 1 <= s.reps <= MAX_REPS:
        v.add(f"{path}.reps", f"must be between 1 and {MAX_REPS}")
    if exercise_type in NEEDS_WEIGHT and s.weight is None:
        v.add(f"{path}.weight", "is required for this exercise")
    if exercise_type == "bodyweight_reps" and s.weight is not None and s.weight != 0:
        v.add(f"{path}.weight", "is not used by a bodyweight exercise (log it as weighted)")
    _check_weight(v, path, s)
    if s.rpe is not None and not (Decimal(1) <= s.rpe <= Decimal(10) and (s.rpe * 2) % 1 == 0):
        v.add(f"{path}.rpe", "must be between 1 and 10 in half steps")
    if s.rir is not None and not 0 <= s.rir <= 10:
        v.add(f"{path}.rir", "must be between 0 and 10")
    if exercise_type == "duration" and s.duration_seconds is None:
        v.add(f"{path}.duration_seconds", "is required for a timed exercise")
    if exercise_type == "distance_duration" and s.duration_seconds is None and s.distance_meters is None:
        v.add(f"{path}.distance_meters", "distance or duration is required for this exercise")
    if s.duration_seconds is not None and not 1 <= s.duration_seconds <= MAX_DURATION_SECONDS:
        v.add(f"{path}.duration_seconds", "must be between 1 second and 24 hours")
    if s.distance_meters is not None and not (
        s.distance_meters.is_finite() and Decimal(0) < s.distance_meters <= MAX_DISTANCE_METERS
    ):
        v.add(f"{path}.distance_meters", "must be between 0 and 1000 km")


def check_notes(v: Validator, path: str, notes: str) -> None:
    v.check(len(notes) <= MAX_NOTES, path, f"must be at most {MAX_NOTES} characters")


def validate_workout(w: WorkoutEntry, now: datetime, prefix: str = "workout") -> None:
    """Every problem at once, with the field path the app sent (snake_case)."""
    v = Validator()
    if w.started_at.year < 2000 or w.started_at > now + timedelta(days=1):
        v.add(f"{prefix}.started_at", "must be a time between 2000 and tomorrow")
    v.check(0 <= w.duration_minutes <= MAX_WORKOUT_MINUTES, f"{prefix}.duration_minutes", "must be 0-1440")
    check_notes(v, f"{prefix}.notes", w.notes)
    if w.energy_level is not None:
        v.check(1 <= w.energy_level <= 10, f"{prefix}.energy_level", "must be between 1 and 10")
    v.check(len(w.soreness) <= MAX_SORENESS_PARTS, f"{prefix}.soreness", "at most 20 body parts")
    for part, level in w.soreness.items():
        v.check(bool(SORENESS_PART.match(part)), f"{prefix}.soreness", f"unknown body part {part[:30]!r}")
        v.check(0 <= level <= 10, f"{prefix}.soreness[{part[:30]}]", "must be between 0 and 10")
    v.check(bool(w.exercises), f"{prefix}.exercises", "at least one exercise")
    v.check(
        len(w.exercises) <= MAX_EXERCISES_PER_WORKOUT,
        f"{prefix}.exercises",
        f"at most {MAX_EXERCISES_PER_WORKOUT} exercises",
    )
    for i, exercise in enumerate(w.exercises[:MAX_EXERCISES_PER_WORKOUT]):
        path = f"{prefix}.exercises[{i}]"
        v.check(bool(exercise.sets), f"{path}.sets", "at least one set")
        v.check(len(exercise.sets) <= MAX_SETS_PER_EXERCISE, f"{path}.sets", "at most 100 sets per exercise")
        if exercise.form_score is not None:
            v.check(0 <= exercise.form_score <= 100, f"{path}.form_score", "must be between 0 and 100")
        v.check(0 <= exercise.superset_group <= 100, f"{path}.superset_group", "must be between 0 and 100")
        check_notes(v, f"{path}.notes", exercise.notes)
        for j, entry in enumerate(exercise.sets[:MAX_SETS_PER_EXERCISE]):
            _check_set(v, f"{path}.sets[{j}]", entry, exercise.exercise_type)
    v.raise_if_any()


def parse_decimal(v: Validator, path: str, value: float) -> Decimal | None:
    try:
        number = decimal_of(value)
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        v.add(path, "must be a finite number")
        return None
    return number


# -- totals and records --------------------------------------------------------


def _round(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def set_volume_kg(entry: SetEntry, exercise_type: str) -> Decimal:
    kg = entry.weight_kg
    if exercise_type not in LOADED or kg is None or entry.reps is None:
        return Decimal(0)
    return kg * entry.reps


def totals(workout: WorkoutEntry) -> Totals:
    working = [(e, s) for e in workout.exercises for s in e.sets if s.working]
    rpes = [s.rpe for _, s in working if s.rpe is not None]
    return Totals(
        working_sets=len(working),
        reps=sum(s.reps or 0 for _, s in working),
        volume_kg=_round(sum((set_volume_kg(s, e.exercise_type) for e, s in working), Decimal(0))),
        average_rpe=_round(sum(rpes, Decimal(0)) / len(rpes)) if rpes else Decimal(0),
        duration_minutes=workout.duration_minutes,
        exercises=len(workout.exercises),
    )


def estimated_one_rep_max(weight_kg: Decimal, reps: int) -> Decimal | None:
    """Epley: w x (1 + reps/30); a single is its own weight; > 12 reps says too little."""
    if reps < 1 or reps > E1RM_MAX_REPS or weight_kg <= 0:
        return None
    if reps == 1:
        return weight_kg
    return weight_kg * (1 + Decimal(reps) / 30)


RECORD_PLACES = Decimal("0.0001")  # what personal_records.value keeps


def set_record_values(entry: SetEntry, exercise_type: str) -> dict[str, Decimal]:
    """The record candidates one (non-warm-up) set offers, at stored precision
    (so a recomputation compares equal to what it stored)."""
    return {kind: value.quantize(RECORD_PLACES, rounding=ROUND_HALF_UP)
            for kind, value in _raw_record_values(entry, exercise_type).items()}  # fmt: skip


def _raw_record_values(entry: SetEntry, exercise_type: str) -> dict[str, Decimal]:
    if not entry.working:
        return {}
    values: dict[str, Decimal] = {}
    kg = entry.weight_kg
    if exercise_type in LOADED and kg is not None and kg > 0 and entry.reps:
        values[HEAVIEST_WEIGHT] = kg
        values[BEST_SET_VOLUME] = kg * entry.reps
        e1rm = estimated_one_rep_max(kg, entry.reps)
        if e1rm is not None:
            values[ESTIMATED_ONE_REP_MAX] = e1rm
    if exercise_type in ("bodyweight_reps", "assisted_bodyweight") and entry.reps:
        values[MOST_REPS] = Decimal(entry.reps)
    if exercise_type in ("duration", "distance_duration") and entry.duration_seconds:
        values[LONGEST_DURATION] = Decimal(entry.duration_seconds)
    if exercise_type == "distance_duration" and entry.distance_meters:
        values[LONGEST_DISTANCE] = entry.distance_meters
    return values


@dataclass(frozen=True)
class LoggedSet:
    """A set from the user's history, with where and when it was done."""

    workout_id: str
    started_at: datetime
    entry: SetEntry


@dataclass(frozen=True)
class Record:
    record_type: str
    value: Decimal
    holder: LoggedSet

    @property
    def unit(self) -> str:
        return RECORD_UNITS[self.record_type]


def best_records(history: Iterable[LoggedSet], exercise_type: str) -> dict[str, Record]:
    """The best set per record type; the earliest set keeps a tie."""
    best: dict[str, Record] = {}
    for logged in sorted(history, key=lambda s: (s.started_at, s.workout_id)):
        for record_type, value in set_record_values(logged.entry, exercise_type).items():
            current = best.get(record_type)
            if current is None or value > current.value:
                best[record_type] = Record(record_type, value, logged)
    return best


@dataclass(frozen=True)
class RecordChange:
    record: Record
    previous: Decimal | None


@dataclass
class RecordDiff:
    """How a recomputation changes the stored records of one exercise."""

    upserts: list[Record] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    achieved: list[RecordChange] = field(default_factory=list)


def diff_records(stored: dict[str, tuple[Decimal, str]], best: dict[str, Record], workout_id: str) -> RecordDiff:
    """Compare recomputed bests with the stored (value, workout id) per type.
    `achieved` lists records the given workout now holds that beat what was
    stored, or are the first of their kind."""
    diff = RecordDiff()
    for record_type, record in best.items():
        previous = stored.get(record_type)
        if previous is None or (record.value, record.holder.workout_id) != previous:
            diff.upserts.append(record)
        beaten = previous is None or record.value > previous[0]
        if record.holder.workout_id == workout_id and beaten:
            diff.achieved.append(RecordChange(record, previous[0] if previous else None))
    diff.removed = [t for t in stored if t not in best]
    return diff


# -- custom exercises and routines -----------------------------------------------

MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_LIST_ITEMS = 10
MAX_ITEM_TEXT = 200
_URL = re.compile(r"^https?://[^\s]{1,490}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TEXT_NAME = re.compile(r"^[\w][\w .,'()/&+\-]*$")


def check_name(v: Validator, path: str, name: str) -> None:
    stripped = name.strip()
    if not stripped:
        v.add(path, "is required")
    elif len(stripped) > MAX_NAME or not _TEXT_NAME.match(stripped):
        v.add(path, f"must be 1-{MAX_NAME} letters, digits, spaces or . , ' ( ) / & + -")


def validate_exercise(values: dict[str, object], prefix: str = "exercise") -> None:
    """Checks the given column values of a custom or catalog exercise."""
    v = Validator()
    for column, value in values.items():
        path = f"{prefix}.{column}"
        if column == "name":
            check_name(v, path, str(value))
        elif column == "description":
            v.check(len(str(value)) <= MAX_DESCRIPTION, path, f"at most {MAX_DESCRIPTION} characters")
        elif column in ("primary_muscle", "equipment", "difficulty", "exercise_type"):
            v.check(bool(value), path, "is required: one of the listed values")
        elif column == "secondary_muscles":
            muscles = list(value)  # type: ignore[call-overload]
            v.check(all(muscles), path, "must be listed muscles")
            v.check(
                len(muscles) <= MAX_LIST_ITEMS and len(set(muscles)) == len(muscles), path, "at most 10, no repeats"
            )
            v.check(values.get("primary_muscle") not in muscles, path, "must not repeat the primary muscle")
        elif column in ("form_cues", "common_mistakes"):
            items = list(value)  # type: ignore[call-overload]
            v.check(len(items) <= MAX_LIST_ITEMS, path, "at most 10 items")
            v.check(all(0 < len(i.strip()) <= MAX_ITEM_TEXT for i in items), path, "items of 1-200 characters")
        elif column in ("image_url", "video_url"):
            v.check(value == "" or bool(_URL.match(str(value))), path, "must be an http(s) URL")
        elif column == "form_check_metrics":
            metrics = list(value)  # type: ignore[call-overload]
            v.check(
                len(metrics) <= MAX_LIST_ITEMS and all(_METRIC.match(m) for m in metrics),
                f"{prefix}.form_check.metrics",
                "at most 10 snake_case names",
            )
    v.raise_if_any()


@dataclass(frozen=True)
class RoutineItem:
    exercise_id: str
    target_sets: int
    rep_min: int | None
    rep_max: int | None
    target_weight: Decimal | None
    target_unit: str | None
    target_rpe: Decimal | None
    rest_seconds: int
    notes: str
    superset_group: int


def validate_routine(values: dict[str, object], items: list[RoutineItem] | None, prefix: str = "routine") -> None:
    v = Validator()
    if "name" in values:
        check_name(v, f"{prefix}.name", str(values["name"]))
    if "description" in values:
        v.check(len(str(values["description"])) <= MAX_NOTES, f"{prefix}.description", "at most 1000 characters")
    days = values.get("days_per_week")
    if days is not None:
        v.check(1 <= int(days) <= 7, f"{prefix}.days_per_week", "must be between 1 and 7")  # type: ignore[call-overload]
    schedule = values.get("schedule_days")
    if schedule is not None:
        listed = list(schedule)  # type: ignore[call-overload]
        v.check(all(listed) and len(set(listed)) == len(listed), f"{prefix}.schedule.days", "distinct weekdays")
        if days is not None and listed:
            v.check(len(listed) == days, f"{prefix}.schedule.days", "must list days_per_week days")
    if "visibility" in values:
        v.check(values["visibility"] in ("private", "public"), f"{prefix}.visibility", "PRIVATE or PUBLIC")
    if items is not None:
        v.check(0 < len(items) <= MAX_EXERCISES_PER_WORKOUT, f"{prefix}.exercises", "1-50 exercises")
        for i, item in enumerate(items[:MAX_EXERCISES_PER_WORKOUT]):
            path = f"{prefix}.exercises[{i}]"
            v.check(1 <= item.target_sets <= 20, f"{path}.target_sets", "must be between 1 and 20")
            if item.rep_min is not None or item.rep_max is not None:
                low, high = item.rep_min or 0, item.rep_max or 0
                v.check(1 <= low <= high <= MAX_REPS, f"{path}.rep_range", "1 <= min <= max <= 500")
            if item.target_weight is not None:
                kg = to_kg(item.target_weight, item.target_unit or "kg")
                v.check(item.target_unit in ("kg", "lb"), f"{path}.target_weight.unit", "KG or LB")
                v.check(Decimal(0) <= kg <= MAX_WEIGHT_KG, f"{path}.target_weight.value", "0-1000 kg")
            if item.target_rpe is not None:
                rpe = item.target_rpe
                v.check(Decimal(1) <= rpe <= 10 and (rpe * 2) % 1 == 0, f"{path}.target_rpe", "1-10 in half steps")
            v.check(0 <= item.rest_seconds <= 3600, f"{path}.rest_seconds", "must be between 0 and 3600")
            v.check(0 <= item.superset_group <= 100, f"{path}.superset_group", "must be between 0 and 100")
            check_notes(v, f"{path}.notes", item.notes)
    v.raise_if_any()
