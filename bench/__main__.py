"""Start the whole system, load it through the gateway, print a table.

    make bench                 # 10 s per scenario
    BENCH_SECONDS=5 make bench

Figures are from a closed loop of 50 clients on the same two cores as the
system, so they are a floor, not a capacity plan. Compare medians of runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import grpc
from aiokafka import AIOKafkaConsumer

from bench.loadgen import HEADER, HttpConnection, Result, run_closed_loop
from fitness.auth.v1 import auth_pb2, auth_pb2_grpc
from fitness.events.v1 import envelope_pb2, workouts_events_pb2
from fitness_devstack.stack import Stack, StackPorts
from fitness_devstack.testing import PASSWORD, mail_token

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


async def prepare_users(stack: Stack, count: int) -> list[dict[str, str]]:
    conn = HttpConnection("127.0.0.1", stack.ports.gateway)
    users = []
    for index in range(count):
        email = f"bench-{index}-{os.getpid()}@example.com"
        status, body = await conn.request("POST", "/v1/auth/register", {"email": email, "password": PASSWORD})
        assert status == 200, body
        users.append({"email": email})
    assert stack.smtp is not None
    for user in users:
        token = await asyncio.to_thread(mail_token, stack.smtp, user["email"], "confirm", 60.0)
        status, body = await conn.request("POST", "/v1/auth/verify-email", {"token": token})
        assert status == 200, body
        status, body = await conn.request("POST", "/v1/auth/login", {"email": user["email"], "password": PASSWORD})
        assert status == 200, body
        tokens = json.loads(body)
        user.update(access=tokens["accessToken"], refresh=tokens["refreshToken"])
    await conn.close()
    return users


async def rest_scenario(stack: Stack, users: list[dict[str, str]], name: str, clients: int = CLIENTS) -> Result:
    connections = [HttpConnection("127.0.0.1", stack.ports.gateway) for _ in users]

    def make_call(index: int):  # type: ignore[no-untyped-def]
        conn, user = connections[index], users[index]

        async def login(_: int) -> bool:
            status, _body = await conn.request("POST", "/v1/auth/login",
                                               {"email": user["email"], "password": PASSWORD})  # fmt: skip
            return status == 200

        async def refresh(_: int) -> bool:
            status, body = await conn.request("POST", "/v1/auth/refresh", {"refreshToken": user["refresh"]})
            if status == 200:
                user["refresh"] = json.loads(body)["refreshToken"]
            return status == 200

        async def get_profile(_: int) -> bool:
            status, _body = await conn.request("GET", "/v1/users/me",
                                               headers={"Authorization": f"Bearer {user['access']}"})  # fmt: skip
            return status == 200

        async def jwks(_: int) -> bool:
            status, _body = await conn.request("GET", "/.well-known/jwks.json")
            return status == 200

        return {"login": login, "refresh": refresh, "get-profile": get_profile, "jwks": jwks}[name]

    await run_closed_loop("warm-up", clients, 1.0, make_call)
    label = f"{name} (REST via Envoy)" + ("" if clients == CLIENTS else f", {clients} client")
    result = await run_closed_loop(label, clients, SECONDS, make_call)
    for conn in connections:
        await conn.close()
    return result


async def workout_scenarios(
    stack: Stack,
    users: list[dict[str, str]],
    names: tuple[str, ...] = ("log-workout", "list-workouts", "search-exercises"),
) -> tuple[list[Result], Result]:
    """Log a workout (5 exercises x 4 sets), list my workouts, search exercises;
    and the lag from a logged workout's answer to its event on the topic."""
    conn = HttpConnection("127.0.0.1", stack.ports.gateway)
    auth = {"Authorization": f"Bearer {users[0]['access']}"}
    status, body = await conn.request(
        "GET",
        "/v1/exercises?equipment=EQUIPMENT_BARBELL&exerciseType=EXERCISE_TYPE_WEIGHT_REPS&pageSize=5",
        headers=auth,
    )
    assert status == 200, body
    exercise_ids = [e["id"] for e in json.loads(body)["exercises"]]
    await conn.close()
    answered: dict[str, float] = {}
    on_topic: dict[str, float] = {}
    consumer = asyncio.create_task(watch_workout_events(stack.kafka_bootstrap, on_topic))
    await asyncio.sleep(2.0)  # the consumer is assigned before the first workout
    connections = [HttpConnection("127.0.0.1", stack.ports.gateway) for _ in users]
    queries = ["bench", "bnech press", "squat", "row", "curl", "deadlift", "press", "lunge"]

    def make_call(name: str):  # type: ignore[no-untyped-def]
        def for_client(index: int):  # type: ignore[no-untyped-def]
            conn, headers = connections[index], {"Authorization": f"Bearer {users[index]['access']}"}

            async def log(sequence: int) -> bool:
                workout = {
                    "startedAt": f"2025-{1 + sequence % 12:02d}-{1 + index % 28:02d}T07:00:00Z",
                    "durationMinutes": 60,
                    "exercises": [
                        {"exerciseId": eid, "sets": [
                            {"type": "SET_TYPE_WORKING", "reps": 5 + s,
                             "weight": {"value": 60 + 2.5 * (sequence % 20) + s, "unit": "WEIGHT_UNIT_KG"}, "rpe": 8}
                            for s in range(4)]}
                        for eid in exercise_ids
                    ],
                }  # fmt: skip
                status, body = await conn.request("POST", "/v1/workouts", {"workout": workout}, headers)
                if status == 200:
                    answered[json.loads(body)["workout"]["id"]] = time.time()
                return status == 200

            async def list_mine(_: int) -> bool:
                status, _body = await conn.request("GET", "/v1/workouts?pageSize=20", headers=headers)
                return status == 200

            async def search(sequence: int) -> bool:
                query = queries[(index + sequence) % len(queries)].replace(" ", "+")
                status, _body = await conn.request("GET", f"/v1/exercises?query={query}", headers=headers)
                return status == 200

            return {"log-workout": log, "list-workouts": list_mine, "search-exercises": search}[name]

        return for_client

    results = []
    for name in names:
        await run_closed_loop("warm-up", CLIENTS, 1.0, make_call(name))
        results.append(await run_closed_loop(f"{name} (REST via Envoy)", CLIENTS, SECONDS, make_call(name)))
    await asyncio.sleep(3.0)
    consumer.cancel()
    for conn in connections:
        await conn.close()
    lag = Result("event lag: workout answered -> on topic")
    lag.latencies = [on_topic[w] - answered[w] for w in answered if w in on_topic]
    lag.errors = len([w for w in answered if w not in on_topic])
    lag.elapsed = 1.0
    return results, lag


async def watch_workout_events(bootstrap: str, seen: dict[str, float]) -> None:
    consumer = AIOKafkaConsumer("fitness.workouts.workout.v1", bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="latest")  # fmt: skip
    await consumer.start()
    try:
        async for record in consumer:
            envelope = envelope_pb2.Envelope()
            envelope.ParseFromString(record.value)
            if envelope.event_type.endswith("WorkoutLogged"):
                event = workouts_events_pb2.WorkoutLogged()
                envelope.payload.Unpack(event)
                seen.setdefault(event.summary.workout_id, time.time())
    finally:
        await consumer.stop()


async def grpc_get_profile(stack: Stack, users: list[dict[str, str]], clients: int = CLIENTS) -> Result:
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{stack.grpc_ports['auth']}") for _ in range(5)]
    stubs = [auth_pb2_grpc.UserServiceStub(ch) for ch in channels]

    def make_call(index: int):  # type: ignore[no-untyped-def]
        stub = stubs[index % len(stubs)]
        metadata = (("authorization", f"Bearer {users[index]['access']}"),)

        async def call(_: int) -> bool:
            await stub.GetMe(auth_pb2.GetMeRequest(), metadata=metadata, timeout=10)
            return True

        return call

    await run_closed_loop("warm-up", clients, 1.0, make_call)
    label = "get-profile (gRPC direct)" + ("" if clients == CLIENTS else f", {clients} client")
    result = await run_closed_loop(label, clients, SECONDS, make_call)
    for channel in channels:
        await channel.close()
    return result


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fitness-bench-") as state:
        stack = Stack(Path(state), ports=StackPorts.free(), echo_mail=False)
        try:
            stack.up()
            users = await prepare_users(stack, CLIENTS)
            results = [await rest_scenario(stack, users, name) for name in ("jwks", "login", "refresh", "get-profile")]
            direct = await grpc_get_profile(stack, users)
            # Unloaded, the difference is Envoy's own latency, not queueing.
            rest_one = await rest_scenario(stack, users, "get-profile", clients=1)
            direct_one = await grpc_get_profile(stack, users, clients=1)
            workout_results, lag = await workout_scenarios(stack, users)
        finally:
            stack.stop()
    rest = results[-1]
    print(f"\n{CLIENTS} concurrent clients, {SECONDS:g} s per scenario, load generator on the same cores\n")
    print(HEADER)
    for result in [*results, direct, rest_one, direct_one, *workout_results]:
        print(result.row())
    print(
        f"\nevent lag, logged workout answered -> WorkoutLogged on the topic ({len(lag.latencies)} workouts, "
        f"{lag.errors} not seen): p50 {lag.percentile(50):.1f} ms, p95 {lag.percentile(95):.1f} ms, "
        f"p99 {lag.percentile(99):.1f} ms"
    )
    for clients, via_gateway, straight in ((CLIENTS, rest, direct), (1, rest_one, direct_one)):
        print(
            f"gateway added latency, get-profile at {clients} client(s), REST via Envoy vs direct gRPC: "
            f"p50 x{via_gateway.percentile(50) / straight.percentile(50):.2f} "
            f"({via_gateway.percentile(50) - straight.percentile(50):+.2f} ms), "
            f"throughput x{via_gateway.rps / straight.rps:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
