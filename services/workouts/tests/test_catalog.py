"""Checks of the seeded global exercise catalog (exercises.json).

Pure: reads the JSON file and the generated contracts only, so it runs without
servers and without importing the workouts service package.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fitness.workouts.v1 import workouts_pb2

CATALOG = Path(__file__).resolve().parents[1] / "src/fitness_workouts/catalog/exercises.json"

KEYS = {
    "slug",
    "name",
    "aliases",
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
}

MUSCLES = {
    "chest",
    "upper_back",
    "lats",
    "lower_back",
    "traps",
    "shoulders",
    "biceps",
    "triceps",
    "forearms",
    "abs",
    "obliques",
    "glutes",
    "quadriceps",
    "hamstrings",
    "calves",
    "adductors",
    "abductors",
    "hip_flexors",
    "neck",
    "full_body",
    "cardio",
}
EQUIPMENT = {
    "barbell",
    "dumbbell",
    "kettlebell",
    "machine",
    "cable",
    "bodyweight",
    "band",
    "smith_machine",
    "ez_bar",
    "trap_bar",
    "pull_up_bar",
    "medicine_ball",
    "cardio_machine",
    "other",
}
DIFFICULTIES = {"beginner", "intermediate", "advanced"}
EXERCISE_TYPES = {
    "weight_reps",
    "bodyweight_reps",
    "weighted_bodyweight",
    "assisted_bodyweight",
    "duration",
    "distance_duration",
}

# Muscles that must each be the primary muscle of at least one exercise (neck is optional).
REQUIRED_PRIMARY = MUSCLES - {"neck"}

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

STAPLES = {
    "Bench Press": "weight_reps",
    "Back Squat": "weight_reps",
    "Deadlift": "weight_reps",
    "Overhead Press": "weight_reps",
    "Pull-Up": "bodyweight_reps",
    "Plank": "duration",
}


@pytest.fixture(scope="module")
def raw() -> str:
    return CATALOG.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog(raw: str) -> list[dict[str, Any]]:
    entries = json.loads(raw)
    assert isinstance(entries, list)
    return entries


def _ids(catalog: list[dict[str, Any]]) -> list[str]:
    return [e.get("slug", "?") for e in catalog]


def test_file_is_ascii_and_canonically_formatted(raw: str, catalog: list[dict[str, Any]]) -> None:
    assert raw.isascii()
    assert raw == json.dumps(catalog, indent=2, ensure_ascii=True) + "\n"


def test_size(catalog: list[dict[str, Any]]) -> None:
    assert len(catalog) >= 150


def test_exact_keys(catalog: list[dict[str, Any]]) -> None:
    for entry in catalog:
        assert isinstance(entry, dict)
        assert set(entry) == KEYS, entry.get("slug")


def test_sorted_by_primary_muscle_then_name(catalog: list[dict[str, Any]]) -> None:
    keys = [(e["primary_muscle"], e["name"].casefold()) for e in catalog]
    assert keys == sorted(keys)


def test_slugs_unique_and_kebab_case(catalog: list[dict[str, Any]]) -> None:
    slugs = [e["slug"] for e in catalog]
    for slug in slugs:
        assert isinstance(slug, str)
        assert SLUG.match(slug), slug
    duplicates = [s for s, n in Counter(slugs).items() if n > 1]
    assert duplicates == []


def test_names_unique_case_insensitively(catalog: list[dict[str, Any]]) -> None:
    names = [e["name"] for e in catalog]
    for name in names:
        assert isinstance(name, str)
        assert name and name == name.strip(), name
    duplicates = [n for n, count in Counter(n.casefold() for n in names).items() if count > 1]
    assert duplicates == []


def test_aliases(catalog: list[dict[str, Any]]) -> None:
    names = {e["name"].casefold() for e in catalog}
    for entry in catalog:
        aliases = entry["aliases"]
        assert isinstance(aliases, list), entry["slug"]
        assert len(set(aliases)) == len(aliases), entry["slug"]
        for alias in aliases:
            assert isinstance(alias, str) and alias.strip() == alias and alias, entry["slug"]
            assert alias == alias.lower(), (entry["slug"], alias)
            # An alias must not shadow another exercise's display name.
            assert alias not in names or alias == entry["name"].casefold(), (entry["slug"], alias)


@pytest.mark.parametrize(
    ("field", "allowed", "enum", "prefix"),
    [
        ("primary_muscle", MUSCLES, workouts_pb2.Muscle, "MUSCLE_"),
        ("equipment", EQUIPMENT, workouts_pb2.Equipment, "EQUIPMENT_"),
        ("difficulty", DIFFICULTIES, workouts_pb2.Difficulty, "DIFFICULTY_"),
        ("exercise_type", EXERCISE_TYPES, workouts_pb2.ExerciseType, "EXERCISE_TYPE_"),
    ],
)
def test_enum_values(catalog: list[dict[str, Any]], field: str, allowed: set[str], enum: Any, prefix: str) -> None:
    for entry in catalog:
        value = entry[field]
        assert value in allowed, (entry["slug"], field, value)
        assert enum.Value(prefix + value.upper()) > 0, (entry["slug"], field, value)


def test_allowed_names_all_exist_in_proto() -> None:
    for allowed, enum, prefix in [
        (MUSCLES, workouts_pb2.Muscle, "MUSCLE_"),
        (EQUIPMENT, workouts_pb2.Equipment, "EQUIPMENT_"),
        (DIFFICULTIES, workouts_pb2.Difficulty, "DIFFICULTY_"),
        (EXERCISE_TYPES, workouts_pb2.ExerciseType, "EXERCISE_TYPE_"),
    ]:
        proto_names = {name.removeprefix(prefix).lower() for name in (v.name for v in enum.DESCRIPTOR.values)} - {
            "unspecified"
        }
        assert allowed == proto_names


def test_secondary_muscles(catalog: list[dict[str, Any]]) -> None:
    for entry in catalog:
        secondary = entry["secondary_muscles"]
        assert isinstance(secondary, list), entry["slug"]
        assert len(set(secondary)) == len(secondary), entry["slug"]
        assert entry["primary_muscle"] not in secondary, entry["slug"]
        for muscle in secondary:
            assert muscle in MUSCLES, (entry["slug"], muscle)
            assert workouts_pb2.Muscle.Value("MUSCLE_" + muscle.upper()) > 0


def _check_phrases(values: Any, low: int, high: int, slug: str) -> None:
    assert isinstance(values, list), slug
    assert low <= len(values) <= high, (slug, len(values))
    for value in values:
        assert isinstance(value, str), slug
        assert value.strip() == value and value, slug


def test_cues_and_mistakes(catalog: list[dict[str, Any]]) -> None:
    for entry in catalog:
        _check_phrases(entry["form_cues"], 2, 4, entry["slug"])
        _check_phrases(entry["common_mistakes"], 2, 3, entry["slug"])


def test_descriptions(catalog: list[dict[str, Any]]) -> None:
    for entry in catalog:
        description = entry["description"]
        assert isinstance(description, str), entry["slug"]
        assert 20 <= len(description) <= 400, (entry["slug"], len(description))
        assert description == description.strip(), entry["slug"]


def test_media_urls_empty(catalog: list[dict[str, Any]]) -> None:
    for entry in catalog:
        assert entry["image_url"] == "", entry["slug"]
        assert entry["video_url"] == "", entry["slug"]


def test_form_check(catalog: list[dict[str, Any]]) -> None:
    available = 0
    for entry in catalog:
        form_check = entry["form_check"]
        assert set(form_check) == {"available", "metrics"}, entry["slug"]
        assert isinstance(form_check["available"], bool), entry["slug"]
        metrics = form_check["metrics"]
        assert isinstance(metrics, list), entry["slug"]
        if form_check["available"]:
            available += 1
            assert 2 <= len(metrics) <= 4, entry["slug"]
            assert len(set(metrics)) == len(metrics), entry["slug"]
            for metric in metrics:
                assert isinstance(metric, str) and SNAKE.match(metric), (entry["slug"], metric)
        else:
            assert metrics == [], entry["slug"]
    assert 15 <= available <= 25


def test_every_primary_muscle_covered(catalog: list[dict[str, Any]]) -> None:
    used = {e["primary_muscle"] for e in catalog}
    assert REQUIRED_PRIMARY - used == set()


def test_every_equipment_used(catalog: list[dict[str, Any]]) -> None:
    assert {e["equipment"] for e in catalog} == EQUIPMENT


def test_every_exercise_type_used(catalog: list[dict[str, Any]]) -> None:
    assert {e["exercise_type"] for e in catalog} == EXERCISE_TYPES


def test_every_difficulty_used(catalog: list[dict[str, Any]]) -> None:
    assert {e["difficulty"] for e in catalog} == DIFFICULTIES


@pytest.mark.parametrize(("name", "exercise_type"), sorted(STAPLES.items()))
def test_staples(catalog: list[dict[str, Any]], name: str, exercise_type: str) -> None:
    by_name = {e["name"]: e for e in catalog}
    assert name in by_name
    assert by_name[name]["exercise_type"] == exercise_type
