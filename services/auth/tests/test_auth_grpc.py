"""Auth over native gRPC (as internal callers use it), against the real stack."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC

import grpc
import httpx
import jwt
import psycopg
import pytest
from google.protobuf import symbol_database
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fitness.auth.v1 import auth_pb2, auth_pb2_grpc
from fitness.options.v1 import access_pb2
from fitness_devstack.oidc import LocalIssuer
from fitness_devstack.pytest_plugin import OIDC_CLIENT_ID
from fitness_devstack.servers import SmtpSink
from fitness_devstack.stack import Stack, role_name, role_password, run_service_command
from fitness_devstack.testing import PASSWORD, Account, login, register_verified, unique_email

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def channel(auth_target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(auth_target) as ch:
        yield ch


def bearer(account: Account) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {account.access_token}")]


def all_methods() -> list[tuple[str, str, str, access_pb2.AccessPolicy]]:
    methods = []
    for service in auth_pb2.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            policy = method.GetOptions().Extensions[access_pb2.access]
            methods.append((service.full_name, method.name, method.input_type.full_name, policy))
    return methods


def call(channel: grpc.Channel, service: str, method: str, input_type: str, metadata: list[tuple[str, str]]) -> None:
    request_class = symbol_database.Default().GetSymbol(input_type)
    stub = channel.unary_unary(
        f"/{service}/{method}", request_serializer=lambda m: m.SerializeToString(), response_deserializer=lambda b: b
    )
    stub(request_class(), metadata=metadata, timeout=10)


def test_health_reflects_dependencies(channel: grpc.Channel) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="fitness.auth.v1.AuthService")
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(("service", "method", "input_type", "policy"), all_methods(), ids=lambda v: str(v)[:40])
def test_every_rpc_declares_and_enforces_its_role(
    channel: grpc.Channel,
    gateway: httpx.Client,
    smtp: SmtpSink,
    service: str,
    method: str,
    input_type: str,
    policy: access_pb2.AccessPolicy,
) -> None:
    assert policy.public or policy.min_role in ("user", "trainer", "admin")
    if policy.public:
        return
    with pytest.raises(grpc.RpcError) as anonymous:
        call(channel, service, method, input_type, [])
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as garbage:
        call(channel, service, method, input_type, [("authorization", "Bearer garbage")])
    assert garbage.value.code() == grpc.StatusCode.UNAUTHENTICATED
    if policy.min_role != "user":
        user = register_verified(gateway, smtp)
        with pytest.raises(grpc.RpcError) as wrong_role:
            call(channel, service, method, input_type, bearer(user))
        assert wrong_role.value.code() == grpc.StatusCode.PERMISSION_DENIED


def make_admin(gateway: httpx.Client, smtp: SmtpSink, stack: Stack) -> Account:
    account = register_verified(gateway, smtp)
    run_service_command(stack, "auth", "grant-role", account.email, "admin")
    return login(gateway, account.email)


def test_signing_key_rotation_without_downtime(
    channel: grpc.Channel, gateway: httpx.Client, smtp: SmtpSink, stack: Stack
) -> None:
    admin = make_admin(gateway, smtp, stack)
    user = register_verified(gateway, smtp)
    old_kid = jwt.get_unverified_header(user.access_token)["kid"]
    rotated = auth_pb2_grpc.AdminServiceStub(channel).RotateSigningKey(
        auth_pb2.RotateSigningKeyRequest(), metadata=bearer(admin)
    )
    assert rotated.kid != old_kid
    # Published at once, signing only after the lead time.
    kids = {k.kid for k in auth_pb2_grpc.AuthServiceStub(channel).GetJwks(auth_pb2.GetJwksRequest()).keys}
    assert {old_kid, rotated.kid} <= kids
    assert jwt.get_unverified_header(login(gateway, user.email).access_token)["kid"] == old_kid
    time.sleep(max(0.0, rotated.signs_from.ToDatetime(tzinfo=UTC).timestamp() - time.time()) + 0.5)
    fresh = login(gateway, user.email)
    assert jwt.get_unverified_header(fresh.access_token)["kid"] == rotated.kid
    # Old and new tokens both work, directly and through the gateway's cached JWKS.
    users = auth_pb2_grpc.UserServiceStub(channel)
    for account in (user, fresh):
        assert users.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(account)).user.email == user.email
        assert gateway.get("/v1/users/me", headers=account.headers).status_code == 200


def test_role_change_and_deactivation(
    channel: grpc.Channel, gateway: httpx.Client, smtp: SmtpSink, stack: Stack
) -> None:
    admin = make_admin(gateway, smtp, stack)
    user = register_verified(gateway, smtp)
    admins = auth_pb2_grpc.AdminServiceStub(channel)
    changed = admins.SetUserRole(
        auth_pb2.SetUserRoleRequest(user_id=user.user_id, role=auth_pb2.ROLE_TRAINER), metadata=bearer(admin)
    )
    assert changed.user.role == auth_pb2.ROLE_TRAINER
    assert gateway.get("/v1/users/me", headers=user.headers).status_code == 401  # token carried the old role
    trainer = login(gateway, user.email)
    assert jwt.decode(trainer.access_token, options={"verify_signature": False})["role"] == "trainer"
    with pytest.raises(grpc.RpcError) as missing:
        admins.SetUserRole(
            auth_pb2.SetUserRoleRequest(user_id=str(uuid.uuid4()), role=auth_pb2.ROLE_USER), metadata=bearer(admin)
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    admins.DeactivateUser(auth_pb2.DeactivateUserRequest(user_id=user.user_id), metadata=bearer(admin))
    assert gateway.get("/v1/users/me", headers=trainer.headers).status_code == 401
    refused = gateway.post("/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 403


def test_login_is_throttled_per_ip(channel: grpc.Channel, gateway: httpx.Client, smtp: SmtpSink) -> None:
    account = register_verified(gateway, smtp)
    ip = [("x-forwarded-for", f"198.51.100.{uuid.uuid4().int % 250}")]
    auth = auth_pb2_grpc.AuthServiceStub(channel)
    codes = []
    for _ in range(32):
        try:
            auth.Login(auth_pb2.LoginRequest(email=unique_email("ghost"), password="wrong password"), metadata=ip)
        except grpc.RpcError as error:
            codes.append(error.code())
    assert codes[:30] == [grpc.StatusCode.UNAUTHENTICATED] * 30
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes[30:]
    with pytest.raises(grpc.RpcError) as throttled:
        auth.Login(auth_pb2.LoginRequest(email=account.email, password=PASSWORD), metadata=ip)
    assert throttled.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Other addresses are not affected.
    assert auth.Login(auth_pb2.LoginRequest(email=account.email, password=PASSWORD)).access_token


def test_sign_in_with_google_and_apple(channel: grpc.Channel, oidc_issuer: LocalIssuer) -> None:
    auth = auth_pb2_grpc.AuthServiceStub(channel)
    email = unique_email("google")
    subject = uuid.uuid4().hex
    token = oidc_issuer.id_token("google", OIDC_CLIENT_ID, subject, email=email, email_verified=True, given_name="Gi")
    first = auth.SignInWithProvider(auth_pb2.SignInWithProviderRequest(provider="google", id_token=token))
    assert first.created and first.user.email == email and first.user.email_verified and first.access_token
    second = auth.SignInWithProvider(auth_pb2.SignInWithProviderRequest(provider="google", id_token=token))
    assert not second.created and second.user.id == first.user.id

    wrong_audience = oidc_issuer.id_token("google", "someone-else", subject, email=email)
    with pytest.raises(grpc.RpcError) as refused:
        auth.SignInWithProvider(auth_pb2.SignInWithProviderRequest(provider="google", id_token=wrong_audience))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    forged = LocalIssuer().id_token("google", OIDC_CLIENT_ID, subject, email=email)
    with pytest.raises(grpc.RpcError) as forged_error:
        auth.SignInWithProvider(auth_pb2.SignInWithProviderRequest(provider="google", id_token=forged))
    assert forged_error.value.code() == grpc.StatusCode.UNAUTHENTICATED

    apple = oidc_issuer.id_token("apple", OIDC_CLIENT_ID, uuid.uuid4().hex, email=unique_email("apple"),
                                 email_verified="true")  # fmt: skip
    assert auth.SignInWithProvider(auth_pb2.SignInWithProviderRequest(provider="apple", id_token=apple)).created
    with pytest.raises(grpc.RpcError) as unknown:
        auth.SignInWithProvider(auth_pb2.SignInWithProviderRequest(provider="myspace", id_token=apple))
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_service_role_cannot_read_other_schemas(stack: Stack) -> None:
    with psycopg.connect(stack.database_url_for("workouts"), autocommit=True) as owner:
        owner.execute("create table if not exists isolation_probe (secret text)")
        owner.execute("insert into isolation_probe values ('workouts data')")
    with psycopg.connect(stack.database_url_for("auth"), autocommit=True) as auth:
        assert auth.execute("select current_user").fetchone() == (role_name("auth"),)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            auth.execute("select * from workouts.isolation_probe")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            auth.execute("create table public.sneaky (x int)")
    assert role_password("auth") != role_password("workouts")
