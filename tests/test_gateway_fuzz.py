"""Bad input on every REST route: always a 4xx, never a 5xx, nothing written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from google.api import annotations_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from fitness.auth.v1 import auth_pb2
from fitness.workouts.v1 import workouts_pb2
from fitness_devstack.servers import SmtpSink
from fitness_devstack.stack import Stack
from fitness_devstack.testing import register_verified

pytestmark = pytest.mark.integration
FILES = [auth_pb2.DESCRIPTOR, workouts_pb2.DESCRIPTOR]
INJECTIONS = [
    "'; DROP TABLE users; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "${jndi:ldap://127.0.0.1/x}",
    "{{7*7}}",
    "\u0000\u202e",
    "😀" * 50,
]
TABLES = {
    "auth": ["users", "user_settings", "sessions", "refresh_tokens", "one_time_tokens", "oauth_identities", "outbox"],
    "workouts": ["exercises", "workouts", "workout_sets", "routines", "routine_likes", "personal_records", "outbox"],
}


def routes() -> Iterator[tuple[str, str, Descriptor, str]]:
    for file in FILES:
        for service in file.services_by_name.values():
            for method in service.methods:
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                verb = rule.WhichOneof("pattern")
                path = getattr(rule, verb)
                yield verb.upper(), path, method.input_type, rule.body


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "google" if "provider" in m.group(0) else str(uuid.uuid4()), path)


def body_message(input_type: Descriptor, body: str) -> Descriptor:
    return input_type if body in ("*", "") else input_type.fields_by_name[body].message_type


def wrong_type(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        return {"nested": ["object"]}
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "maybe"
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return 12345
    return "not-a-number"


def payloads(message: Descriptor) -> Iterator[tuple[str, Any]]:
    strings = [f for f in message.fields if f.type == FieldDescriptor.TYPE_STRING]
    yield "malformed", '{"email": "a@b.c", '
    yield "not-an-object", "[1, 2, 3]"
    yield "unknown-field", {"definitelyNotAField": 1}
    if message.fields:
        yield "wrong-types", {f.json_name: wrong_type(f) for f in message.fields}
    if strings:
        yield "huge", {f.json_name: "x" * 300_000 for f in strings}
        for index, text in enumerate(INJECTIONS):
            yield f"injection-{index}", {f.json_name: text for f in strings}


def cases() -> Iterator[Any]:
    for verb, path, input_type, body in routes():
        if verb in ("POST", "PATCH"):
            for name, payload in payloads(body_message(input_type, body)):
                yield pytest.param(verb, path, payload, id=f"{verb} {path} {name}")
        yield pytest.param(verb, path, None, id=f"{verb} {path} unknown-query")


def table_counts(stack: Stack) -> dict[str, int]:
    counts = {}
    for service, tables in TABLES.items():
        with psycopg.connect(stack.database_url_for(service)) as conn:
            for table in tables:
                counts[f"{service}.{table}"] = conn.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
    return counts


@pytest.fixture(scope="module")
def headers(gateway: httpx.Client, smtp: SmtpSink) -> dict[str, str]:
    return register_verified(gateway, smtp).headers


@pytest.fixture(scope="module")
def counts(stack: Stack, headers: dict[str, str]) -> Iterator[dict[str, int]]:
    before = table_counts(stack)
    yield before
    assert table_counts(stack) == before, "a bad request wrote something"


@pytest.mark.parametrize(("verb", "path", "payload"), list(cases()))
def test_bad_input_is_refused(
    gateway: httpx.Client, headers: dict[str, str], counts: dict[str, int], verb: str, path: str, payload: Any
) -> None:
    url = concrete(path)
    if payload is None:
        response = gateway.request(verb, url, params={"injected": "' OR 1=1"}, headers=headers)
    elif isinstance(payload, str):
        response = gateway.request(verb, url, content=payload, headers={**headers, "content-type": "application/json"})
    else:
        response = gateway.request(verb, url, json=payload, headers=headers)
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
