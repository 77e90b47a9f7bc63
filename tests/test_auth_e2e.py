"""The mobile app's account journey through the Envoy gateway, end to end."""

from __future__ import annotations

import httpx
import pytest

from fitness_devstack.servers import SmtpSink
from fitness_devstack.stack import Stack, run_service_command
from fitness_devstack.testing import (
    PASSWORD,
    error_fields,
    login,
    mail_token,
    register_verified,
    unique_email,
    wait_for_events,
)

pytestmark = pytest.mark.integration


def test_full_account_journey(gateway: httpx.Client, smtp: SmtpSink, stack: Stack) -> None:
    email = unique_email("journey")
    registered = gateway.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "firstName": "Ada"})
    assert registered.status_code == 200, registered.text
    assert registered.json()["user"]["emailVerified"] is False

    early = gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert early.status_code == 400  # FAILED_PRECONDITION: confirm the email first

    token = mail_token(smtp, email, "confirm")
    verified = gateway.post("/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200 and verified.json()["user"]["emailVerified"] is True
    again = gateway.post("/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and "token" in error_fields(again)

    account = login(gateway, email)
    me = gateway.get("/v1/users/me", headers=account.headers)
    assert me.status_code == 200
    assert me.json()["user"]["email"] == email and me.json()["user"]["firstName"] == "Ada"

    patched = gateway.patch(
        "/v1/users/me",
        headers=account.headers,
        json={"lastName": "Lovelace", "heightCm": 180.5, "experienceLevel": "EXPERIENCE_LEVEL_INTERMEDIATE"},
    )
    assert patched.status_code == 200, patched.text
    user = patched.json()["user"]
    assert user["firstName"] == "Ada"  # not in the body: untouched
    assert user["lastName"] == "Lovelace" and user["heightCm"] == 180.5
    assert user["experienceLevel"] == "EXPERIENCE_LEVEL_INTERMEDIATE"

    cleared = gateway.patch(
        "/v1/users/me", params={"updateMask": "lastName"}, headers=account.headers, json={"firstName": "Grace"}
    )
    assert cleared.status_code == 200, cleared.text
    assert "lastName" not in cleared.json()["user"]  # masked and absent: cleared
    assert cleared.json()["user"]["firstName"] == "Ada"  # present but not masked: untouched

    refreshed = gateway.post("/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    pair = refreshed.json()
    assert pair["refreshToken"] != account.refresh_token and pair["tokenType"] == "Bearer"
    new_headers = {"Authorization": f"Bearer {pair['accessToken']}"}
    assert gateway.get("/v1/users/me", headers=new_headers).status_code == 200

    reused = gateway.post("/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert reused.status_code == 401
    # Reuse ended the whole family: the newest refresh and access tokens die too.
    assert gateway.post("/v1/auth/refresh", json={"refreshToken": pair["refreshToken"]}).status_code == 401
    assert gateway.get("/v1/users/me", headers=new_headers).status_code == 401

    fresh = login(gateway, email)
    assert gateway.post("/v1/auth/logout", headers=fresh.headers, json={}).status_code == 200
    assert gateway.get("/v1/users/me", headers=fresh.headers).status_code == 401
    assert gateway.post("/v1/auth/refresh", json={"refreshToken": fresh.refresh_token}).status_code == 401

    last = login(gateway, email)
    assert gateway.delete("/v1/users/me", headers=last.headers).status_code == 200
    assert gateway.get("/v1/users/me", headers=last.headers).status_code == 401
    gone = gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert gone.status_code == 401

    # Every service learns of it from the user topic (key = user id).
    expected = {"UserRegistered", "ProfileUpdated", "UserDeleted"}
    events = wait_for_events(
        stack.kafka_bootstrap,
        "fitness.auth.user.v1",
        lambda found: expected <= {e.event_type.rsplit(".", 1)[-1] for e in found if e.user_id == last.user_id},
    )
    deleted = [e for e in events if e.user_id == last.user_id and e.event_type.endswith("UserDeleted")]
    assert deleted[0].source == "auth" and deleted[0].event_id


def test_register_errors(gateway: httpx.Client, smtp: SmtpSink) -> None:
    bad = gateway.post("/v1/auth/register", json={"email": "not-an-email", "password": "short"})
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == 3 and set(error_fields(bad)) == {"email", "password"}

    email = unique_email("dup")
    assert gateway.post("/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 200
    duplicate = gateway.post("/v1/auth/register", json={"email": email.upper(), "password": PASSWORD})
    assert duplicate.status_code == 409


def test_tokens_and_roles_are_enforced(gateway: httpx.Client, smtp: SmtpSink, stack: Stack) -> None:
    assert gateway.get("/v1/users/me").status_code == 401
    assert gateway.get("/v1/users/me", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401
    account = register_verified(gateway, smtp)
    forged = account.access_token[:-4] + ("AAAA" if not account.access_token.endswith("AAAA") else "BBBB")
    assert gateway.get("/v1/users/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert gateway.get("/v1/admin/users", headers=account.headers).status_code == 403

    run_service_command(stack, "auth", "grant-role", account.email, "admin")
    admin = login(gateway, account.email)
    listed = gateway.get("/v1/admin/users", params={"emailPrefix": account.email[:12]}, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert [u["email"] for u in listed.json()["users"]] == [account.email]


def test_unknown_routes_and_parameters(gateway: httpx.Client, smtp: SmtpSink) -> None:
    account = register_verified(gateway, smtp)
    assert gateway.get("/v1/nothing-here", headers=account.headers).status_code == 404
    assert gateway.get("/v1/users/me", params={"bogus": "1"}, headers=account.headers).status_code == 400


def test_login_is_throttled_per_account(gateway: httpx.Client, smtp: SmtpSink) -> None:
    account = register_verified(gateway, smtp)
    codes = [
        gateway.post("/v1/auth/login", json={"email": account.email, "password": "wrong password!"}).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    # Even the right password waits for the window to pass.
    throttled = gateway.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert throttled.status_code == 429


def test_settings_patch_changes_only_present_fields(gateway: httpx.Client, smtp: SmtpSink) -> None:
    account = register_verified(gateway, smtp)
    before = gateway.get("/v1/users/me/settings", headers=account.headers).json()["settings"]
    assert before["units"] == "UNITS_METRIC"
    patched = gateway.patch(
        "/v1/users/me/settings", headers=account.headers, json={"units": "UNITS_IMPERIAL", "privateProfile": True}
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()["settings"]
    assert after["units"] == "UNITS_IMPERIAL" and after["privateProfile"] is True
    assert after["theme"] == before["theme"] and after.get("language") == before.get("language")
    bad = gateway.patch("/v1/users/me/settings", headers=account.headers, json={"language": "not a language"})
    assert bad.status_code == 400 and "language" in error_fields(bad)


def test_sessions_list_and_revoke(gateway: httpx.Client, smtp: SmtpSink) -> None:
    phone = register_verified(gateway, smtp)
    tablet = login(gateway, phone.email, device="tablet")
    listed = gateway.get("/v1/users/me/sessions", headers=phone.headers)
    assert listed.status_code == 200
    sessions = {s["deviceName"]: s for s in listed.json()["sessions"]}
    assert set(sessions) == {"test-phone", "tablet"}
    assert sessions["test-phone"]["current"] is True
    revoked = gateway.delete(f"/v1/users/me/sessions/{tablet.session_id}", headers=phone.headers)
    assert revoked.status_code == 200
    assert gateway.get("/v1/users/me", headers=tablet.headers).status_code == 401
    assert gateway.get("/v1/users/me", headers=phone.headers).status_code == 200
    other = register_verified(gateway, smtp)
    assert gateway.delete(f"/v1/users/me/sessions/{phone.session_id}", headers=other.headers).status_code == 404


def test_logout_everywhere(gateway: httpx.Client, smtp: SmtpSink) -> None:
    first = register_verified(gateway, smtp)
    second = login(gateway, first.email, device="laptop")
    ended = gateway.post("/v1/auth/logout-all", headers=first.headers, json={})
    assert ended.status_code == 200 and ended.json()["revokedSessions"] == 2
    assert gateway.get("/v1/users/me", headers=first.headers).status_code == 401
    assert gateway.get("/v1/users/me", headers=second.headers).status_code == 401


def test_password_reset_by_mail(gateway: httpx.Client, smtp: SmtpSink) -> None:
    account = register_verified(gateway, smtp)
    unknown = gateway.post("/v1/auth/password-reset", json={"email": unique_email("nobody")})
    assert unknown.status_code == 200  # same answer: accounts cannot be discovered
    assert gateway.post("/v1/auth/password-reset", json={"email": account.email}).status_code == 200
    token = mail_token(smtp, account.email, "reset")
    weak = gateway.post("/v1/auth/password-reset/confirm", json={"token": token, "newPassword": "short"})
    assert weak.status_code == 400 and "new_password" in error_fields(weak)
    new_password = "a brand new long password"
    done = gateway.post("/v1/auth/password-reset/confirm", json={"token": token, "newPassword": new_password})
    assert done.status_code == 200, done.text
    assert gateway.get("/v1/users/me", headers=account.headers).status_code == 401  # sessions ended
    assert gateway.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD}).status_code == 401
    login(gateway, account.email, new_password)


def test_change_password_keeps_only_this_session(gateway: httpx.Client, smtp: SmtpSink) -> None:
    account = register_verified(gateway, smtp)
    other = login(gateway, account.email, device="old-phone")
    wrong = gateway.post(
        "/v1/auth/change-password",
        headers=account.headers,
        json={"currentPassword": "not the password", "newPassword": "another long password"},
    )
    assert wrong.status_code == 400 and "current_password" in error_fields(wrong)
    changed = gateway.post(
        "/v1/auth/change-password",
        headers=account.headers,
        json={"currentPassword": PASSWORD, "newPassword": "another long password"},
    )
    assert changed.status_code == 200, changed.text
    assert gateway.get("/v1/users/me", headers=account.headers).status_code == 200
    assert gateway.get("/v1/users/me", headers=other.headers).status_code == 401


def test_jwks_is_public(gateway: httpx.Client) -> None:
    response = gateway.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["kid"] for k in keys)
