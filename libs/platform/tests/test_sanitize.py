"""NUL characters are refused with the path of the field that carried them."""

from __future__ import annotations

from fitness.workouts.v1 import workouts_pb2 as pb
from fitness_platform.sanitize import nul_violations


def test_finds_nul_in_nested_repeated_and_map_fields() -> None:
    request = pb.CreateWorkoutRequest(
        request_id="ok",
        workout=pb.Workout(notes="a\x00b", soreness={"che\x00st": 1}, exercises=[pb.WorkoutExercise(notes="\x00")]),
    )
    assert [v.field for v in nul_violations(request)] == [
        "workout.notes",
        "workout.soreness",
        "workout.exercises[0].notes",
    ]


def test_clean_requests_pass() -> None:
    assert nul_violations(pb.CreateWorkoutRequest(request_id="x", workout=pb.Workout(notes="fine"))) == []
