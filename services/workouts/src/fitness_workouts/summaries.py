"""Event payloads: enough about a workout for analytics and social to act
without calling back."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from fitness.events.v1 import workouts_events_pb2 as ev
from fitness_platform.events import timestamp
from fitness_workouts import domain
from fitness_workouts.convert import enum_name


def record_summary(
    change: domain.RecordChange, names: Mapping[uuid.UUID, Mapping[Any, Any]], exercise_id: uuid.UUID
) -> ev.RecordSummary:
    record = change.record
    summary = ev.RecordSummary(
        exercise_id=str(exercise_id),
        exercise_name=names.get(exercise_id, {}).get("name", ""),
        type=enum_name("record_type", record.record_type),
        value=float(round(record.value, 3)),
        unit=record.unit,
    )
    if change.previous is not None:
        summary.previous_value = float(round(change.previous, 3))
    return summary


def workout_summary(
    workout_id: uuid.UUID,
    user_id: uuid.UUID,
    entry: domain.WorkoutEntry,
    totals: domain.Totals,
    info: Mapping[uuid.UUID, Mapping[Any, Any]],
    records: Iterable[ev.RecordSummary],
) -> ev.WorkoutSummary:
    exercises = []
    muscles: list[str] = []
    for item in entry.exercises:
        eid = uuid.UUID(item.exercise_id)
        meta = info.get(eid, {})
        working = [s for s in item.sets if s.working]
        weights = [s.weight_kg for s in working if s.weight_kg is not None]
        e1rms = [domain.estimated_one_rep_max(s.weight_kg, s.reps or 0) for s in working if s.weight_kg is not None]
        primary = enum_name("muscle", meta.get("primary_muscle", "unspecified"))
        secondary = [enum_name("muscle", m) for m in meta.get("secondary_muscles", [])]
        muscles += [m for m in (primary, *secondary) if m not in muscles]
        exercises.append(
            ev.ExerciseSummary(
                exercise_id=item.exercise_id,
                name=meta.get("name", ""),
                primary_muscle=primary,
                secondary_muscles=secondary,
                working_sets=len(working),
                reps=sum(s.reps or 0 for s in working),
                volume_kg=float(sum((domain.set_volume_kg(s, item.exercise_type) for s in working), Decimal(0))),
                best_estimated_one_rep_max_kg=float(max((v for v in e1rms if v is not None), default=Decimal(0))),
                heaviest_weight_kg=float(max(weights, default=Decimal(0))),
            )
        )
    return ev.WorkoutSummary(
        workout_id=str(workout_id),
        user_id=str(user_id),
        started_at=timestamp(entry.started_at),
        duration_minutes=totals.duration_minutes,
        working_sets=totals.working_sets,
        reps=totals.reps,
        volume_kg=float(totals.volume_kg),
        average_rpe=float(totals.average_rpe),
        exercises=exercises,
        muscles=muscles,
        records=list(records),
    )


def deleted(workout_id: uuid.UUID, user_id: uuid.UUID, started_at: datetime) -> ev.WorkoutDeleted:
    return ev.WorkoutDeleted(workout_id=str(workout_id), user_id=str(user_id), started_at=timestamp(started_at))
