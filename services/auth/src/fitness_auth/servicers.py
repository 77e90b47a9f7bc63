"""gRPC servicers: decode, call the use case, encode. No rules live here."""

from __future__ import annotations

from typing import Any

from fitness.auth.v1 import auth_pb2, auth_pb2_grpc
from fitness_auth import convert, domain
from fitness_auth.service import AuthApp, IssuedTokens
from fitness_platform.context import current_call, current_principal
from fitness_platform.events import timestamp
from fitness_platform.masks import present_fields, resolve_mask

Context = Any


def _token_fields(tokens: IssuedTokens) -> dict[str, Any]:
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_in": tokens.expires_in,
        "refresh_expires_in": tokens.refresh_expires_in,
        "token_type": "Bearer",
        "session_id": tokens.session_id,
    }


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, app: AuthApp) -> None:
        self._app = app

    async def Register(self, request: auth_pb2.RegisterRequest, context: Context) -> auth_pb2.RegisterResponse:
        user = await self._app.register(request.email, request.password, request.first_name, request.last_name)
        return auth_pb2.RegisterResponse(user=convert.user_message(user))

    async def Login(self, request: auth_pb2.LoginRequest, context: Context) -> auth_pb2.LoginResponse:
        tokens, user = await self._app.login(request.email, request.password, request.device_name, current_call())
        return auth_pb2.LoginResponse(**_token_fields(tokens), user=convert.user_message(user))

    async def Refresh(self, request: auth_pb2.RefreshRequest, context: Context) -> auth_pb2.RefreshResponse:
        tokens = await self._app.refresh(request.refresh_token)
        return auth_pb2.RefreshResponse(**_token_fields(tokens))

    async def Logout(self, request: auth_pb2.LogoutRequest, context: Context) -> auth_pb2.LogoutResponse:
        await self._app.logout(current_principal())
        return auth_pb2.LogoutResponse()

    async def LogoutAll(self, request: auth_pb2.LogoutAllRequest, context: Context) -> auth_pb2.LogoutAllResponse:
        count = await self._app.logout_all(current_principal())
        return auth_pb2.LogoutAllResponse(revoked_sessions=count)

    async def VerifyEmail(self, request: auth_pb2.VerifyEmailRequest, context: Context) -> auth_pb2.VerifyEmailResponse:
        user = await self._app.verify_email(request.token)
        return auth_pb2.VerifyEmailResponse(user=convert.user_message(user))

    async def ResendVerificationEmail(
        self, request: auth_pb2.ResendVerificationEmailRequest, context: Context
    ) -> auth_pb2.ResendVerificationEmailResponse:
        await self._app.resend_verification(request.email)
        return auth_pb2.ResendVerificationEmailResponse()

    async def RequestPasswordReset(
        self, request: auth_pb2.RequestPasswordResetRequest, context: Context
    ) -> auth_pb2.RequestPasswordResetResponse:
        await self._app.request_password_reset(request.email)
        return auth_pb2.RequestPasswordResetResponse()

    async def ConfirmPasswordReset(
        self, request: auth_pb2.ConfirmPasswordResetRequest, context: Context
    ) -> auth_pb2.ConfirmPasswordResetResponse:
        await self._app.confirm_password_reset(request.token, request.new_password)
        return auth_pb2.ConfirmPasswordResetResponse()

    async def ChangePassword(
        self, request: auth_pb2.ChangePasswordRequest, context: Context
    ) -> auth_pb2.ChangePasswordResponse:
        await self._app.change_password(current_principal(), request.current_password, request.new_password)
        return auth_pb2.ChangePasswordResponse()

    async def SignInWithProvider(
        self, request: auth_pb2.SignInWithProviderRequest, context: Context
    ) -> auth_pb2.SignInWithProviderResponse:
        tokens, user, created = await self._app.sign_in_with_provider(
            request.provider, request.id_token, request.device_name, current_call()
        )
        return auth_pb2.SignInWithProviderResponse(
            **_token_fields(tokens), user=convert.user_message(user), created=created
        )

    async def GetJwks(self, request: auth_pb2.GetJwksRequest, context: Context) -> auth_pb2.GetJwksResponse:
        keys = [
            auth_pb2.Jwk(**{k: key[k] for k in ("kty", "kid", "use", "alg", "n", "e")})
            for key in self._app.keyring.published()
        ]
        return auth_pb2.GetJwksResponse(keys=keys)


class UserServicer(auth_pb2_grpc.UserServiceServicer):
    def __init__(self, app: AuthApp) -> None:
        self._app = app

    async def GetMe(self, request: auth_pb2.GetMeRequest, context: Context) -> auth_pb2.GetMeResponse:
        user = await self._app.get_user(current_principal().user_id)
        return auth_pb2.GetMeResponse(user=convert.user_message(user))

    async def UpdateMe(self, request: auth_pb2.UpdateMeRequest, context: Context) -> auth_pb2.UpdateMeResponse:
        paths = resolve_mask(
            list(request.update_mask.paths),
            present_fields(request.user, domain.PROFILE_FIELDS),
            domain.PROFILE_FIELDS,
            prefix="user",
        )
        user = await self._app.update_profile(current_principal().user_id, convert.masked_changes(request.user, paths))
        return auth_pb2.UpdateMeResponse(user=convert.user_message(user))

    async def DeleteMe(self, request: auth_pb2.DeleteMeRequest, context: Context) -> auth_pb2.DeleteMeResponse:
        await self._app.delete_user(current_principal().user_id)
        return auth_pb2.DeleteMeResponse()

    async def GetSettings(self, request: auth_pb2.GetSettingsRequest, context: Context) -> auth_pb2.GetSettingsResponse:
        row = await self._app.get_settings(current_principal().user_id)
        return auth_pb2.GetSettingsResponse(settings=convert.settings_message(row))

    async def UpdateSettings(
        self, request: auth_pb2.UpdateSettingsRequest, context: Context
    ) -> auth_pb2.UpdateSettingsResponse:
        paths = resolve_mask(
            list(request.update_mask.paths),
            present_fields(request.settings, domain.SETTINGS_FIELDS),
            domain.SETTINGS_FIELDS,
            prefix="settings",
        )
        row = await self._app.update_settings(
            current_principal().user_id, convert.masked_changes(request.settings, paths)
        )
        return auth_pb2.UpdateSettingsResponse(settings=convert.settings_message(row))

    async def ListSessions(
        self, request: auth_pb2.ListSessionsRequest, context: Context
    ) -> auth_pb2.ListSessionsResponse:
        principal = current_principal()
        rows, token = await self._app.list_sessions(principal, request.page_size, request.page_token)
        return auth_pb2.ListSessionsResponse(
            sessions=[convert.session_message(r, principal.session_id) for r in rows],
            next_page_token=token,
        )

    async def RevokeSession(
        self, request: auth_pb2.RevokeSessionRequest, context: Context
    ) -> auth_pb2.RevokeSessionResponse:
        await self._app.revoke_session(current_principal(), request.session_id)
        return auth_pb2.RevokeSessionResponse()


class AdminServicer(auth_pb2_grpc.AdminServiceServicer):
    def __init__(self, app: AuthApp) -> None:
        self._app = app

    async def ListUsers(self, request: auth_pb2.ListUsersRequest, context: Context) -> auth_pb2.ListUsersResponse:
        rows, token = await self._app.list_users(
            request.page_size, request.page_token, request.email_prefix,
            convert.role_to_db(request.role) or None,
        )  # fmt: skip
        return auth_pb2.ListUsersResponse(users=[convert.user_message(r) for r in rows], next_page_token=token)

    async def SetUserRole(self, request: auth_pb2.SetUserRoleRequest, context: Context) -> auth_pb2.SetUserRoleResponse:
        user = await self._app.set_role(current_principal(), request.user_id, convert.role_to_db(request.role))
        return auth_pb2.SetUserRoleResponse(user=convert.user_message(user))

    async def DeactivateUser(
        self, request: auth_pb2.DeactivateUserRequest, context: Context
    ) -> auth_pb2.DeactivateUserResponse:
        user = await self._app.deactivate(current_principal(), request.user_id)
        return auth_pb2.DeactivateUserResponse(user=convert.user_message(user))

    async def RotateSigningKey(
        self, request: auth_pb2.RotateSigningKeyRequest, context: Context
    ) -> auth_pb2.RotateSigningKeyResponse:
        key = await self._app.keyring.rotate()
        return auth_pb2.RotateSigningKeyResponse(kid=key.kid, signs_from=timestamp(key.signs_from))
