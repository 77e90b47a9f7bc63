"""The lifter's journey through the gateway: search, log, records, routines, sync, deletion."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from fitness_devstack.servers import SmtpSink
from fitness_devstack.stack import Stack, run_service_command
from fitness_devstack.testing import Account, error_fields, login, register_verified, wait_for_events

pytestmark = pytest.mark.integration
WORKOUT_TOPIC = "fitness.workouts.workout.v1"


@pytest.fixture(scope="module")
def lifter(gateway: httpx.Client, smtp: SmtpSink) -> Account:
    return register_verified(gateway, smtp)


@pytest.fixture(scope="module")
def other(gateway: httpx.Client, smtp: SmtpSink) -> Account:
    return register_verified(gateway, smtp)


def find(gateway: httpx.Client, who: Account, query: str, **filters: str) -> list[dict[str, Any]]:
    response = gateway.get("/v1/exercises", params={"query": query, **filters}, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()["exercises"]


def exercise_id(gateway: httpx.Client, who: Account, name: str) -> str:
    matches = [e for e in find(gateway, who, name) if e["name"] == name]
    assert matches, f"{name} not in the catalog"
    return matches[0]["id"]


def bench_workout(bench_id: str, top_weight: float, started: str = "2026-11-20T18:00:00Z") -> dict[str, Any]:
    return {
        "startedAt": started,
        "durationMinutes": 62,
        "notes": "felt strong",
        "energyLevel": 7,
        "soreness": {"chest": 3, "legs": 1},
        "exercises": [
            {
                "exerciseId": bench_id,
                "supersetGroup": 0,
                "formScore": 88,
                "sets": [
                    {"type": "SET_TYPE_WARMUP", "reps": 10, "weight": {"value": 60, "unit": "WEIGHT_UNIT_KG"}},
                    {
                        "type": "SET_TYPE_WORKING",
                        "reps": 5,
                        "weight": {"value": top_weight, "unit": "WEIGHT_UNIT_KG"},
                        "rpe": 8,
                    },
                ],
            }
        ],
    }


@pytest.mark.parametrize("query", ["bench", "bench pres", "bnech press", "benchpress", "Bench Press"])
def test_search_forgives_typing(gateway: httpx.Client, lifter: Account, query: str) -> None:
    names = [e["name"] for e in find(gateway, lifter, query)]
    assert "Bench Press" in names[:3], names[:5]


def test_exact_name_ranks_first_and_filters_apply(gateway: httpx.Client, lifter: Account) -> None:
    assert find(gateway, lifter, "deadlift")[0]["name"] == "Deadlift"
    chest = find(gateway, lifter, "", muscle="MUSCLE_CHEST", equipment="EQUIPMENT_DUMBBELL")
    assert chest and all(e["primaryMuscle"] == "MUSCLE_CHEST" and e["equipment"] == "EQUIPMENT_DUMBBELL" for e in chest)


def test_catalog_is_paginated(gateway: httpx.Client, lifter: Account) -> None:
    seen: list[str] = []
    token = ""
    for _ in range(20):
        page = gateway.get("/v1/exercises", params={"pageSize": 50, "pageToken": token}, headers=lifter.headers).json()
        seen += [e["id"] for e in page["exercises"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert len(seen) >= 150 and len(set(seen)) == len(seen)


def test_log_a_workout_with_totals_records_and_event(gateway: httpx.Client, lifter: Account, stack: Stack) -> None:
    bench = exercise_id(gateway, lifter, "Bench Press")
    body = {"requestId": str(uuid.uuid4()), "workout": bench_workout(bench, 100)}
    created = gateway.post("/v1/workouts", json=body, headers=lifter.headers)
    assert created.status_code == 200, created.text
    workout = created.json()["workout"]
    totals = workout["totals"]
    assert (totals["workingSets"], totals["reps"], totals["volumeKg"], totals["averageRpe"]) == (1, 5, 500, 8)
    assert workout["exercises"][0]["exerciseName"] == "Bench Press"
    assert workout["exercises"][0]["sets"][1]["weight"] == {"value": 100, "unit": "WEIGHT_UNIT_KG"}
    types = {r["type"] for r in created.json()["newRecords"]}
    assert {"RECORD_TYPE_HEAVIEST_WEIGHT", "RECORD_TYPE_ESTIMATED_ONE_REP_MAX", "RECORD_TYPE_BEST_SET_VOLUME"} <= types

    # A heavier set later is a new record; an equal one is not.
    heavier = gateway.post(
        "/v1/workouts", json={"workout": bench_workout(bench, 225, "2026-11-22T18:00:00Z") | {}}, headers=lifter.headers
    )
    assert heavier.status_code == 200
    pounds = {
        "workout": {
            **bench_workout(bench, 0, "2026-11-24T18:00:00Z"),
            "exercises": [
                {
                    "exerciseId": bench,
                    "sets": [
                        {"type": "SET_TYPE_WORKING", "reps": 3, "weight": {"value": 245, "unit": "WEIGHT_UNIT_LB"}}
                    ],
                }
            ],
        }
    }
    in_pounds = gateway.post("/v1/workouts", json=pounds, headers=lifter.headers)
    assert in_pounds.status_code == 200, in_pounds.text
    # 245 lb = 111.13 kg: heavier than 100 kg, lighter than 225 kg.
    assert "RECORD_TYPE_HEAVIEST_WEIGHT" not in {r["type"] for r in in_pounds.json()["newRecords"]}
    assert in_pounds.json()["workout"]["exercises"][0]["sets"][0]["weight"] == {"value": 245, "unit": "WEIGHT_UNIT_LB"}
    records = gateway.get("/v1/personal-records", params={"exerciseId": bench}, headers=lifter.headers).json()[
        "records"
    ]
    heaviest = next(r for r in records if r["type"] == "RECORD_TYPE_HEAVIEST_WEIGHT")
    assert heaviest["value"] == 225 and heaviest["workoutId"] == heavier.json()["workout"]["id"]

    # Deleting the record workout recomputes the record from what is left.
    assert gateway.delete(f"/v1/workouts/{heavier.json()['workout']['id']}", headers=lifter.headers).status_code == 200
    records = gateway.get("/v1/personal-records", params={"exerciseId": bench}, headers=lifter.headers).json()[
        "records"
    ]
    heaviest = next(r for r in records if r["type"] == "RECORD_TYPE_HEAVIEST_WEIGHT")
    assert round(heaviest["value"], 2) == 111.13

    history = gateway.get(f"/v1/exercises/{bench}/history", headers=lifter.headers).json()["entries"]
    assert [h["bestSetWeight"]["value"] for h in history] == [100, 245]

    events = wait_for_events(
        stack.kafka_bootstrap,
        WORKOUT_TOPIC,
        lambda found: any(e.event_type.endswith("WorkoutLogged") and e.user_id == lifter.user_id for e in found),
    )
    assert any(e.event_type.endswith("PersonalRecordAchieved") and e.user_id == lifter.user_id for e in events)


def test_retries_never_duplicate(gateway: httpx.Client, lifter: Account, stack: Stack) -> None:
    bench = exercise_id(gateway, lifter, "Bench Press")
    body = {"requestId": str(uuid.uuid4()), "workout": bench_workout(bench, 80, "2026-10-01T07:00:00Z")}
    first = gateway.post("/v1/workouts", json=body, headers=lifter.headers)
    again = gateway.post("/v1/workouts", json=body, headers=lifter.headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["workout"]["id"] == again.json()["workout"]["id"]

    racing = {"requestId": str(uuid.uuid4()), "workout": bench_workout(bench, 81, "2026-10-02T07:00:00Z")}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.post(
                    f"{stack.gateway_url}/v1/workouts", json=racing, headers=lifter.headers, timeout=30
                ),
                range(8),
            )
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["workout"]["id"] for a in answers}) == 1
    with psycopg.connect(stack.database_url_for("workouts")) as conn:
        count = conn.execute("select count(*) from workouts where request_id = %s", (racing["requestId"],)).fetchone()
    assert count == (1,)

    offline_id = str(uuid.uuid4())
    offline = {"workout": {**bench_workout(bench, 82, "2026-10-03T07:00:00Z"), "id": offline_id}}
    assert gateway.post("/v1/workouts", json=offline, headers=lifter.headers).json()["workout"]["id"] == offline_id
    assert gateway.post("/v1/workouts", json=offline, headers=lifter.headers).json()["workout"]["id"] == offline_id


def test_bad_workouts_get_field_violations_and_write_nothing(
    gateway: httpx.Client, lifter: Account, stack: Stack
) -> None:
    bench = exercise_id(gateway, lifter, "Bench Press")
    bad = bench_workout(bench, 1200)
    bad["energyLevel"] = 11
    bad["notes"] = "x" * 1001
    bad["exercises"][0]["formScore"] = 101
    bad["exercises"][0]["sets"][1].update(reps=0, rpe=8.3)
    bad["exercises"].append({"exerciseId": str(uuid.uuid4()), "sets": [{"type": "SET_TYPE_WORKING", "reps": 5}]})
    with psycopg.connect(stack.database_url_for("workouts")) as conn:
        before = conn.execute("select count(*) from workouts").fetchone()
    response = gateway.post("/v1/workouts", json={"workout": bad}, headers=lifter.headers)
    assert response.status_code == 400
    assert {
        "workout.energy_level",
        "workout.notes",
        "workout.exercises[0].form_score",
        "workout.exercises[0].sets[1].reps",
        "workout.exercises[0].sets[1].rpe",
        "workout.exercises[0].sets[1].weight.value",
        "workout.exercises[1].exercise_id",
    } <= set(error_fields(response))
    too_many = bench_workout(bench, 100)
    too_many["exercises"][0]["sets"] = [
        {"type": "SET_TYPE_WORKING", "reps": 5, "weight": {"value": 50, "unit": "WEIGHT_UNIT_KG"}}
    ] * 101
    assert "workout.exercises[0].sets" in error_fields(
        gateway.post("/v1/workouts", json={"workout": too_many}, headers=lifter.headers)
    )
    with psycopg.connect(stack.database_url_for("workouts")) as conn:
        assert conn.execute("select count(*) from workouts").fetchone() == before


def test_workouts_are_private(gateway: httpx.Client, lifter: Account, other: Account) -> None:
    bench = exercise_id(gateway, lifter, "Bench Press")
    mine = gateway.post("/v1/workouts", json={"workout": bench_workout(bench, 70)}, headers=lifter.headers).json()
    workout_id = mine["workout"]["id"]
    assert gateway.get(f"/v1/workouts/{workout_id}", headers=lifter.headers).status_code == 200
    for method in ("GET", "DELETE"):
        assert gateway.request(method, f"/v1/workouts/{workout_id}", headers=other.headers).status_code == 404
    patched = gateway.patch(f"/v1/workouts/{workout_id}", json={"notes": "mine now"}, headers=other.headers)
    assert patched.status_code == 404
    assert workout_id not in [w["id"] for w in gateway.get("/v1/workouts", headers=other.headers).json()["workouts"]]
    assert gateway.get(f"/v1/workouts/{workout_id}").status_code == 401


def test_update_with_mask_and_list_by_date(gateway: httpx.Client, lifter: Account) -> None:
    bench = exercise_id(gateway, lifter, "Bench Press")
    created = gateway.post(
        "/v1/workouts", json={"workout": bench_workout(bench, 60, "2025-01-05T10:00:00Z")}, headers=lifter.headers
    ).json()["workout"]
    patched = gateway.patch(
        f"/v1/workouts/{created['id']}", json={"notes": "deload", "energyLevel": 4}, headers=lifter.headers
    )
    assert patched.status_code == 200, patched.text
    workout = patched.json()["workout"]
    assert (workout["notes"], workout["energyLevel"], workout["durationMinutes"]) == ("deload", 4, 62)
    listed = gateway.get(
        "/v1/workouts",
        params={"startTime": "2025-01-01T00:00:00Z", "endTime": "2025-02-01T00:00:00Z"},
        headers=lifter.headers,
    )
    assert listed.status_code == 200, listed.text
    assert [w["id"] for w in listed.json()["workouts"]] == [created["id"]]


def test_custom_exercises_are_private_and_catalog_needs_admin(
    gateway: httpx.Client, lifter: Account, other: Account
) -> None:
    custom = {
        "exercise": {
            "name": f"Landmine Twist {uuid.uuid4().hex[:6]}",
            "primaryMuscle": "MUSCLE_OBLIQUES",
            "equipment": "EQUIPMENT_BARBELL",
            "exerciseType": "EXERCISE_TYPE_WEIGHT_REPS",
        }
    }
    created = gateway.post("/v1/exercises", json=custom, headers=lifter.headers)
    assert created.status_code == 200, created.text
    exercise = created.json()["exercise"]
    assert exercise["custom"] is True
    assert gateway.get(f"/v1/exercises/{exercise['id']}", headers=other.headers).status_code == 404
    assert exercise["id"] in [e["id"] for e in find(gateway, lifter, custom["exercise"]["name"])]
    assert exercise["id"] not in [e["id"] for e in find(gateway, other, custom["exercise"]["name"])]
    renamed = gateway.patch(
        f"/v1/exercises/{exercise['id']}", json={"description": "rotate from the hips"}, headers=lifter.headers
    )
    assert renamed.status_code == 200 and renamed.json()["exercise"]["description"] == "rotate from the hips"

    bench = exercise_id(gateway, lifter, "Bench Press")
    assert gateway.patch(f"/v1/exercises/{bench}", json={"description": "x"}, headers=lifter.headers).status_code == 403
    assert gateway.delete(f"/v1/exercises/{bench}", headers=lifter.headers).status_code == 403
    catalog = gateway.post("/v1/exercises", json={**custom, "catalog": True}, headers=lifter.headers)
    assert catalog.status_code == 403
    assert gateway.delete(f"/v1/exercises/{exercise['id']}", headers=other.headers).status_code == 404
    assert gateway.delete(f"/v1/exercises/{exercise['id']}", headers=lifter.headers).status_code == 200


def test_admin_manages_the_catalog(gateway: httpx.Client, smtp: SmtpSink, stack: Stack) -> None:
    admin = register_verified(gateway, smtp)
    run_service_command(stack, "auth", "grant-role", admin.email, "admin")
    admin = login(gateway, admin.email)
    entry = {
        "exercise": {
            "name": f"Zercher Carry {uuid.uuid4().hex[:6]}",
            "primaryMuscle": "MUSCLE_FULL_BODY",
            "equipment": "EQUIPMENT_BARBELL",
            "exerciseType": "EXERCISE_TYPE_DISTANCE_DURATION",
            "difficulty": "DIFFICULTY_ADVANCED",
        },
        "catalog": True,
    }
    created = gateway.post("/v1/exercises", json=entry, headers=admin.headers)
    assert created.status_code == 200, created.text
    assert created.json()["exercise"]["custom"] is False
    someone = register_verified(gateway, smtp)
    assert find(gateway, someone, entry["exercise"]["name"])[0]["id"] == created.json()["exercise"]["id"]


def routine_body(gateway: httpx.Client, who: Account, visibility: str) -> dict[str, Any]:
    squat = exercise_id(gateway, who, "Back Squat")
    bench = exercise_id(gateway, who, "Bench Press")
    return {
        "routine": {
            "name": f"Push Pull Legs {uuid.uuid4().hex[:6]}",
            "description": "three days, big lifts first",
            "daysPerWeek": 3,
            "visibility": visibility,
            "schedule": {"days": ["DAY_OF_WEEK_MONDAY", "DAY_OF_WEEK_WEDNESDAY", "DAY_OF_WEEK_FRIDAY"]},
            "exercises": [
                {"exerciseId": squat, "targetSets": 3, "repRange": {"min": 5, "max": 8}, "restSeconds": 180},
                {
                    "exerciseId": bench,
                    "targetSets": 3,
                    "repRange": {"min": 8, "max": 12},
                    "restSeconds": 90,
                    "targetWeight": {"value": 135, "unit": "WEIGHT_UNIT_LB"},
                },
            ],
        }
    }


def test_public_routines_are_liked_exactly_and_copied(gateway: httpx.Client, lifter: Account, other: Account) -> None:
    created = gateway.post(
        "/v1/routines", json=routine_body(gateway, lifter, "VISIBILITY_PUBLIC"), headers=lifter.headers
    )
    assert created.status_code == 200, created.text
    routine = created.json()["routine"]
    rid = routine["id"]
    assert routine["exercises"][0]["exerciseName"] == "Back Squat" and routine["mine"] is True

    for _ in range(3):
        liked = gateway.post(f"/v1/routines/{rid}:like", json={}, headers=other.headers)
        assert liked.status_code == 200 and liked.json()["likeCount"] == 1
    found = gateway.get("/v1/public-routines", params={"query": routine["name"]}, headers=other.headers).json()
    assert [(r["id"], r["likeCount"], r["likedByMe"]) for r in found["routines"]] == [(rid, 1, True)]
    retry = {"requestId": str(uuid.uuid4())}
    copy = gateway.post(f"/v1/routines/{rid}:copy", json=retry, headers=other.headers)
    assert copy.status_code == 200, copy.text
    copied = copy.json()["routine"]
    again = gateway.post(f"/v1/routines/{rid}:copy", json=retry, headers=other.headers)
    assert again.json()["routine"]["id"] == copied["id"]  # a retried copy is the same copy
    assert copied["copiedFrom"] == rid and copied["mine"] and copied["visibility"] == "VISIBILITY_PRIVATE"
    assert [e["exerciseId"] for e in copied["exercises"]] == [e["exerciseId"] for e in routine["exercises"]]
    assert gateway.post(f"/v1/routines/{rid}:unlike", json={}, headers=other.headers).json()["likeCount"] == 0
    assert gateway.post(f"/v1/routines/{rid}:unlike", json={}, headers=other.headers).json()["likeCount"] == 0
    # Read-only for others; private ones are invisible.
    assert gateway.patch(f"/v1/routines/{rid}", json={"name": "Mine"}, headers=other.headers).status_code == 404
    private = gateway.post(
        "/v1/routines", json=routine_body(gateway, lifter, "VISIBILITY_PRIVATE"), headers=lifter.headers
    ).json()["routine"]
    assert gateway.get(f"/v1/routines/{private['id']}", headers=other.headers).status_code == 404
    assert gateway.post(f"/v1/routines/{private['id']}:like", json={}, headers=other.headers).status_code == 404
    mine = gateway.get("/v1/routines", headers=lifter.headers).json()["routines"]
    assert {rid, private["id"]} <= {r["id"] for r in mine}


def test_bad_routine_gets_field_violations(gateway: httpx.Client, lifter: Account) -> None:
    body = routine_body(gateway, lifter, "VISIBILITY_PRIVATE")
    body["routine"].update(daysPerWeek=9, name="")
    body["routine"]["exercises"][0].update(targetSets=0, repRange={"min": 10, "max": 5})
    response = gateway.post("/v1/routines", json=body, headers=lifter.headers)
    assert response.status_code == 400
    assert {
        "routine.name",
        "routine.days_per_week",
        "routine.exercises[0].target_sets",
        "routine.exercises[0].rep_range",
    } <= set(error_fields(response))


def test_sync_returns_changes_and_tombstones(gateway: httpx.Client, smtp: SmtpSink) -> None:
    phone = register_verified(gateway, smtp)
    bench = exercise_id(gateway, phone, "Bench Press")
    first = gateway.get("/v1/sync/changes", headers=phone.headers).json()
    assert first["workouts"] == [] and first["deleted"] == [] and first["nextCursor"]
    cursor = first["nextCursor"]
    kept = gateway.post("/v1/workouts", json={"workout": bench_workout(bench, 50)}, headers=phone.headers).json()
    gone = gateway.post("/v1/workouts", json={"workout": bench_workout(bench, 55)}, headers=phone.headers).json()
    routine = gateway.post(
        "/v1/routines", json=routine_body(gateway, phone, "VISIBILITY_PRIVATE"), headers=phone.headers
    ).json()["routine"]
    gateway.delete(f"/v1/workouts/{gone['workout']['id']}", headers=phone.headers)
    changes = gateway.get("/v1/sync/changes", params={"since": cursor}, headers=phone.headers).json()
    assert [w["id"] for w in changes["workouts"]] == [kept["workout"]["id"]]
    assert [r["id"] for r in changes["routines"]] == [routine["id"]]
    assert [(t["resourceType"], t["id"]) for t in changes["deleted"]] == [
        ("RESOURCE_TYPE_WORKOUT", gone["workout"]["id"])
    ]
    assert changes["hasMore"] is False
    quiet = gateway.get("/v1/sync/changes", params={"since": changes["nextCursor"]}, headers=phone.headers).json()
    assert quiet["workouts"] == [] and quiet["deleted"] == [] and quiet["nextCursor"] == changes["nextCursor"]
    paged = gateway.get("/v1/sync/changes", params={"since": cursor, "pageSize": 1}, headers=phone.headers).json()
    assert paged["hasMore"] is True and len(paged["workouts"]) + len(paged["routines"]) + len(paged["deleted"]) == 1
    assert gateway.get("/v1/sync/changes", params={"since": "garbage!"}, headers=phone.headers).status_code == 400


def test_deleting_the_account_removes_every_row(gateway: httpx.Client, smtp: SmtpSink, stack: Stack) -> None:
    leaver = register_verified(gateway, smtp)
    fan = register_verified(gateway, smtp)
    bench = exercise_id(gateway, leaver, "Bench Press")
    gateway.post("/v1/workouts", json={"workout": bench_workout(bench, 90)}, headers=leaver.headers)
    public = gateway.post(
        "/v1/routines", json=routine_body(gateway, leaver, "VISIBILITY_PUBLIC"), headers=leaver.headers
    ).json()["routine"]
    gateway.post(f"/v1/routines/{public['id']}:like", json={}, headers=fan.headers)
    move = {
        "name": "Leaver Move",
        "primaryMuscle": "MUSCLE_ABS",
        "equipment": "EQUIPMENT_OTHER",
        "exerciseType": "EXERCISE_TYPE_DURATION",
    }
    gateway.post("/v1/exercises", json={"exercise": move}, headers=leaver.headers)
    assert gateway.delete("/v1/users/me", headers=leaver.headers).status_code == 200

    owner = {"routines": "owner_id", "exercises": "owner_id"}
    tables = {
        t: owner.get(t, "user_id")
        for t in (
            "workouts",
            "workout_sets",
            "personal_records",
            "routines",
            "routine_likes",
            "exercises",
            "sync_state",
            "tombstones",
        )
    }

    def leftovers() -> dict[str, int]:
        with psycopg.connect(stack.database_url_for("workouts")) as conn:
            return {
                t: conn.execute(f"select count(*) from {t} where {c} = %s", (leaver.user_id,)).fetchone()[0]  # type: ignore[index]
                for t, c in tables.items()
            }

    import time

    deadline = time.monotonic() + 30
    while any(leftovers().values()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert leftovers() == dict.fromkeys(tables, 0)
    assert gateway.get(f"/v1/routines/{public['id']}", headers=fan.headers).status_code == 404


def test_edits_keep_records_honest(gateway: httpx.Client, smtp: SmtpSink) -> None:
    user = register_verified(gateway, smtp)
    bench = exercise_id(gateway, user, "Bench Press")
    created = gateway.post("/v1/workouts", json={"workout": bench_workout(bench, 102.5)}, headers=user.headers).json()
    assert {r["type"] for r in created["newRecords"]} >= {"RECORD_TYPE_ESTIMATED_ONE_REP_MAX"}
    wid = created["workout"]["id"]
    # A notes-only edit sets no record again (1RM 119.58.. is stored rounded).
    notes = gateway.patch(f"/v1/workouts/{wid}", json={"notes": "edited"}, headers=user.headers)
    assert notes.status_code == 200 and notes.json()["newRecords"] == []
    # Replacing the sets of an exercise already in the workout works and moves the record.
    sets = [{"type": "SET_TYPE_WORKING", "reps": 3, "weight": {"value": 110, "unit": "WEIGHT_UNIT_KG"}}]
    replaced = gateway.patch(f"/v1/workouts/{wid}", json={"exercises": [{"exerciseId": bench, "sets": sets}]},
                             headers=user.headers)  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["workout"]["totals"]["volumeKg"] == 330
    assert "RECORD_TYPE_HEAVIEST_WEIGHT" in {r["type"] for r in replaced.json()["newRecords"]}


def test_public_routines_use_only_the_catalog(gateway: httpx.Client, smtp: SmtpSink) -> None:
    user = register_verified(gateway, smtp)
    custom = gateway.post("/v1/exercises", json={"exercise": {"name": "My Secret Move", "primaryMuscle": "MUSCLE_ABS",
                          "equipment": "EQUIPMENT_OTHER", "exerciseType": "EXERCISE_TYPE_DURATION"}},
                          headers=user.headers).json()["exercise"]  # fmt: skip
    body = routine_body(gateway, user, "VISIBILITY_PUBLIC")
    body["routine"]["exercises"].append({"exerciseId": custom["id"], "targetSets": 2})
    refused = gateway.post("/v1/routines", json=body, headers=user.headers)
    assert refused.status_code == 400 and "routine.exercises[2].exercise_id" in error_fields(refused)
    body["routine"]["visibility"] = "VISIBILITY_PRIVATE"
    private = gateway.post("/v1/routines", json=body, headers=user.headers).json()["routine"]
    publish = gateway.patch(f"/v1/routines/{private['id']}", json={"visibility": "VISIBILITY_PUBLIC"},
                            headers=user.headers)  # fmt: skip
    assert publish.status_code == 400


@pytest.mark.parametrize("path", ["/v1/workouts", "/v1/routines", "/v1/personal-records", "/v1/public-routines"])
def test_forged_page_tokens_are_bad_requests(gateway: httpx.Client, lifter: Account, path: str) -> None:
    import base64
    import json

    for position in ({"started_at": "x", "id": "y"}, {"offset": -5}, {"created_at": "2020-01-01", "id": 3}):
        token = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
        assert gateway.get(path, params={"pageToken": token}, headers=lifter.headers).status_code == 400


@pytest.mark.parametrize("order", ["PUBLIC_ROUTINE_ORDER_NEWEST", "PUBLIC_ROUTINE_ORDER_MOST_LIKED"])
def test_public_routines_page_without_repeats(gateway: httpx.Client, lifter: Account, order: str) -> None:
    tag = uuid.uuid4().hex[:8]
    made = set()
    for _ in range(5):
        body = routine_body(gateway, lifter, "VISIBILITY_PUBLIC")
        body["routine"]["name"] = f"Tagged {tag} {uuid.uuid4().hex[:4]}"
        made.add(gateway.post("/v1/routines", json=body, headers=lifter.headers).json()["routine"]["id"])
    seen: list[str] = []
    token = ""
    for _ in range(5):
        params = {"query": f"tagged {tag}", "order": order, "pageSize": 2, "pageToken": token}
        page = gateway.get("/v1/public-routines", params=params, headers=lifter.headers)
        assert page.status_code == 200, page.text
        seen += [r["id"] for r in page.json()["routines"]]
        token = page.json()["nextPageToken"]
        if not token:
            break
    assert sorted(seen) == sorted(made)
