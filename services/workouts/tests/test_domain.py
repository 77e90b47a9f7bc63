"""Training rules without servers: units, totals, 1RM, records, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fitness_platform.errors import InvalidArgument
from fitness_workouts import domain as d

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def lift(reps: int, weight: str, unit: str = "kg", set_type: str = "working", rpe: str | None = None) -> d.SetEntry:
    return d.SetEntry(set_type, reps=reps, weight=Decimal(weight), unit=unit, rpe=Decimal(rpe) if rpe else None)


def workout(*exercises: d.ExerciseEntry, started: datetime = NOW) -> d.WorkoutEntry:
    return d.WorkoutEntry(started, 60, "", None, {}, list(exercises))


def bench(*sets: d.SetEntry) -> d.ExerciseEntry:
    return d.ExerciseEntry("bench", "weight_reps", list(sets))


def violations(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_pounds_convert_exactly() -> None:
    assert d.to_kg(Decimal(225), "lb") == Decimal("102.05828325")
    assert d.decimal_of(102.5) == Decimal("102.5") and d.decimal_of(0.1) == Decimal("0.1")


def test_totals_count_working_sets_only() -> None:
    totals = d.totals(workout(bench(lift(10, "60", set_type="warmup"), lift(5, "100", rpe="8"))))
    assert (totals.working_sets, totals.reps, totals.volume_kg, totals.average_rpe) == (1, 5, Decimal("500.00"), 8)


def test_volume_mixes_units_in_kg() -> None:
    totals = d.totals(workout(bench(lift(5, "100"), lift(5, "225", "lb"))))
    assert totals.volume_kg == Decimal("1010.29")


def test_bodyweight_sets_add_reps_not_volume() -> None:
    pushups = d.ExerciseEntry("pushup", "bodyweight_reps", [d.SetEntry("working", reps=20)])
    totals = d.totals(workout(pushups))
    assert totals.reps == 20 and totals.volume_kg == 0


@pytest.mark.parametrize(
    ("weight", "reps", "expected"),
    [("100", 1, "100"), ("100", 5, "116.6666666666666666666666667"), ("100", 12, "140"), ("100", 13, None)],
)
def test_epley_one_rep_max(weight: str, reps: int, expected: str | None) -> None:
    value = d.estimated_one_rep_max(Decimal(weight), reps)
    assert value == (Decimal(expected) if expected else None)


def logged(workout_id: str, day: int, entry: d.SetEntry) -> d.LoggedSet:
    return d.LoggedSet(workout_id, NOW + timedelta(days=day), entry)


def test_best_records_and_first_holder_keeps_ties() -> None:
    history = [logged("w1", 0, lift(5, "100")), logged("w2", 1, lift(5, "100")), logged("w2", 1, lift(15, "60"))]
    best = d.best_records(history, "weight_reps")
    assert best[d.HEAVIEST_WEIGHT].holder.workout_id == "w1"
    assert best[d.BEST_SET_VOLUME].value == 900  # 15 x 60
    assert best[d.ESTIMATED_ONE_REP_MAX].holder.workout_id == "w1"  # the 15-rep set does not count


def test_warmups_never_set_records() -> None:
    assert d.best_records([logged("w", 0, lift(1, "200", set_type="warmup"))], "weight_reps") == {}


def test_diff_reports_new_records_of_the_saved_workout() -> None:
    best = d.best_records([logged("w1", 0, lift(5, "100")), logged("w2", 1, lift(5, "110"))], "weight_reps")
    stored = {d.HEAVIEST_WEIGHT: (Decimal(100), "w1"), d.MOST_REPS: (Decimal(9), "w0")}
    diff = d.diff_records(stored, best, "w2")
    achieved = {c.record.record_type: c.previous for c in diff.achieved}
    assert achieved[d.HEAVIEST_WEIGHT] == 100 and achieved[d.ESTIMATED_ONE_REP_MAX] is None
    assert diff.removed == [d.MOST_REPS]


def test_deleting_the_record_workout_falls_back_to_the_next_best() -> None:
    best = d.best_records([logged("w1", 0, lift(5, "100"))], "weight_reps")
    diff = d.diff_records({d.HEAVIEST_WEIGHT: (Decimal(110), "w2")}, best, "w2")
    assert [r.value for r in diff.upserts if r.record_type == d.HEAVIEST_WEIGHT] == [100]
    assert diff.achieved == []


def test_validation_reports_every_bad_field_with_its_path() -> None:
    bad = workout(
        bench(
            lift(0, "100"),
            lift(501, "1001"),
            d.SetEntry("working", reps=5, weight=Decimal("100.0001"), unit="kg", rpe=Decimal("8.3")),
        )
    )
    with pytest.raises(InvalidArgument) as exc:
        d.validate_workout(bad, NOW)
    assert violations(exc) == {
        "workout.exercises[0].sets[0].reps",
        "workout.exercises[0].sets[1].reps",
        "workout.exercises[0].sets[1].weight.value",
        "workout.exercises[0].sets[2].weight.value",
        "workout.exercises[0].sets[2].rpe",
    }


def test_limits_of_a_workout() -> None:
    too_many = bench(*[lift(5, "100") for _ in range(101)])
    w = d.WorkoutEntry(NOW + timedelta(days=3), 60, "x" * 1001, 11, {"Chest!": 3, "legs": 11}, [too_many])
    with pytest.raises(InvalidArgument) as exc:
        d.validate_workout(w, NOW)
    assert {
        "workout.started_at",
        "workout.notes",
        "workout.energy_level",
        "workout.soreness",
        "workout.soreness[legs]",
        "workout.exercises[0].sets",
    } <= violations(exc)


def test_exercise_type_decides_required_fields() -> None:
    plank = d.ExerciseEntry("plank", "duration", [d.SetEntry("working")])
    pushup = d.ExerciseEntry(
        "pushup", "bodyweight_reps", [d.SetEntry("working", reps=10, weight=Decimal(5), unit="kg")]
    )
    with pytest.raises(InvalidArgument) as exc:
        d.validate_workout(workout(plank, pushup), NOW)
    assert violations(exc) == {"workout.exercises[0].sets[0].duration_seconds", "workout.exercises[1].sets[0].weight"}
