"""Auth use cases. Servicers decode requests and call these; every state change
and its events are written in one transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fitness.events.v1 import auth_events_pb2
from fitness_auth import domain
from fitness_auth.keys import KeyRing
from fitness_auth.oauth import IdTokenVerifier
from fitness_auth.passwords import Passwords
from fitness_auth.settings import AuthSettings
from fitness_auth.tables import (
    oauth_identities,
    one_time_tokens,
    refresh_tokens,
    sessions,
    user_settings,
    users,
)
from fitness_platform import db
from fitness_platform.context import CallInfo, Principal
from fitness_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Validator,
)
from fitness_platform.events import OutboxWriter, outbox, timestamp
from fitness_platform.pagination import decode_token, next_page_token, page_size
from fitness_platform.ratelimit import Throttle
from fitness_platform.tokens import revoked_session_key

TOPIC_USER = "fitness.auth.user.v1"
TOPIC_MAIL = "fitness.auth.mail.v1"
TOPICS = [TOPIC_USER, TOPIC_MAIL]
VERIFY = "verify_email"
RESET = "password_reset"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str


def _now() -> datetime:
    return datetime.now(UTC)


class AuthApp:
    def __init__(
        self,
        settings: AuthSettings,
        engine: AsyncEngine,
        redis: Redis,
        keyring: KeyRing,
        passwords: Passwords,
        id_tokens: IdTokenVerifier,
        notify_outbox: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.engine = engine
        # Single-statement reads skip BEGIN/ROLLBACK: two round trips fewer.
        self.reader = db.autocommit(engine)
        self.redis = redis
        self.keyring = keyring
        self.passwords = passwords
        self.id_tokens = id_tokens
        self._notify = notify_outbox
        self._outbox = OutboxWriter("auth")
        window = settings.login_failure_window_seconds
        self._account_failures = Throttle(redis, "login-account", settings.login_failures_per_account, window)
        self._ip_failures = Throttle(redis, "login-ip", settings.login_failures_per_ip, window)
        self._mail_throttle = Throttle(redis, "mail", settings.mails_per_address_per_hour, 3600)

    # -- accounts ---------------------------------------------------------

    async def register(self, email: str, password: str, first_name: str, last_name: str) -> RowMapping:
        validator = Validator()
        try:
            email = domain.normalize_email(email)
        except InvalidArgument as invalid:
            validator.violations.extend(invalid.violations)
        for problem in domain.password_problems(password, email):
            validator.add("password", problem)
        domain.check_name(validator, "first_name", first_name)
        domain.check_name(validator, "last_name", last_name)
        validator.raise_if_any()
        password_hash = await self.passwords.hash(password)
        user_id = uuid.uuid4()
        try:
            async with self.engine.begin() as conn:
                user = await self._create_user(
                    conn,
                    user_id,
                    email,
                    password_hash,
                    False,
                    first_name.strip(),
                    last_name.strip(),
                    "password",
                )
                await self._issue_mail_token(conn, user, VERIFY)
        except IntegrityError as exc:
            raise AlreadyExists("an account with this email already exists") from exc
        self._notify()
        return user

    async def _create_user(
        self,
        conn: AsyncConnection,
        user_id: uuid.UUID,
        email: str,
        password_hash: str | None,
        verified: bool,
        first_name: str,
        last_name: str,
        method: str,
    ) -> RowMapping:
        row = (
            await conn.execute(
                users.insert()
                .values(id=user_id, email=email, password_hash=password_hash, email_verified=verified,
                        first_name=first_name or None, last_name=last_name or None)
                .returning(*users.c)
            )
        ).mappings().one()  # fmt: skip
        await conn.execute(user_settings.insert().values(user_id=user_id))
        await self._outbox.add(
            conn,
            TOPIC_USER,
            str(user_id),
            auth_events_pb2.UserRegistered(
                user_id=str(user_id), email=email, first_name=first_name, last_name=last_name,
                role="user", sign_up_method=method, registered_at=timestamp(row["created_at"]),
            ),
        )  # fmt: skip
        return row

    async def _issue_mail_token(self, conn: AsyncConnection, user: RowMapping, purpose: str) -> None:
        ttl = (
            self.settings.verification_token_ttl_seconds if purpose == VERIFY else self.settings.reset_token_ttl_seconds
        )
        secret = domain.new_secret()
        await conn.execute(
            one_time_tokens.insert().values(
                token_hash=secret.digest, user_id=user["id"], purpose=purpose,
                expires_at=_now() + timedelta(seconds=ttl),
            )
        )  # fmt: skip
        event_type = (
            auth_events_pb2.EmailVerificationRequested if purpose == VERIFY else auth_events_pb2.PasswordResetRequested
        )
        await self._outbox.add(
            conn, TOPIC_MAIL, str(user["id"]),
            event_type(user_id=str(user["id"]), email=user["email"], token=secret.token,
                       first_name=user["first_name"] or ""),
        )  # fmt: skip

    async def _consume_mail_token(self, conn: AsyncConnection, token: str, purpose: str) -> RowMapping:
        if not token or len(token) > 200:
            raise InvalidArgument(FieldViolation("token", "is required"))
        row = (
            await conn.execute(
                one_time_tokens.update()
                .where(
                    one_time_tokens.c.token_hash == domain.hash_secret(token),
                    one_time_tokens.c.purpose == purpose,
                    one_time_tokens.c.used_at.is_(None),
                    one_time_tokens.c.expires_at > _now(),
                )
                .values(used_at=_now())
                .returning(one_time_tokens.c.user_id)
            )
        ).first()
        if row is None:
            raise InvalidArgument(FieldViolation("token", "is invalid, used or expired"))
        return await self._user(conn, row.user_id)

    async def verify_email(self, token: str) -> RowMapping:
        async with self.engine.begin() as conn:
            user = await self._consume_mail_token(conn, token, VERIFY)
            user = (
                await conn.execute(
                    users.update().where(users.c.id == user["id"])
                    .values(email_verified=True, updated_at=_now()).returning(*users.c)
                )
            ).mappings().one()  # fmt: skip
        return user

    async def resend_verification(self, email: str) -> None:
        await self._mail_for(email, VERIFY)

    async def request_password_reset(self, email: str) -> None:
        await self._mail_for(email, RESET)

    async def _mail_for(self, raw_email: str, purpose: str) -> None:
        """Same answer whether or not the account exists (no account discovery)."""
        email = domain.normalize_email(raw_email)
        await self._mail_throttle.consume(email)
        async with self.engine.begin() as conn:
            user = (await conn.execute(sa.select(users).where(users.c.email == email))).mappings().first()
            if user is None or not user["active"]:
                return
            if purpose == VERIFY and user["email_verified"]:
                return
            await self._issue_mail_token(conn, user, purpose)
        self._notify()

    async def confirm_password_reset(self, token: str, new_password: str) -> None:
        async with self.engine.begin() as conn:
            user = await self._consume_mail_token(conn, token, RESET)
            domain.check_password(new_password, user["email"], "new_password")
            password_hash = await self.passwords.hash(new_password)
            await conn.execute(
                users.update().where(users.c.id == user["id"])
                .values(password_hash=password_hash, email_verified=True, updated_at=_now())
            )  # fmt: skip
            revoked = await self._revoke_sessions(conn, user["id"], "password_reset")
        await self._deny(revoked)

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        async with self.engine.begin() as conn:
            user = await self._user(conn, uuid.UUID(principal.user_id))
            if not await self.passwords.verify(user["password_hash"], current):
                raise InvalidArgument(FieldViolation("current_password", "is not correct"))
            domain.check_password(new, user["email"], "new_password")
            await conn.execute(
                users.update().where(users.c.id == user["id"])
                .values(password_hash=await self.passwords.hash(new), updated_at=_now())
            )  # fmt: skip
            revoked = await self._revoke_sessions(
                conn, user["id"], "password_change", keep=uuid.UUID(principal.session_id)
            )
        await self._deny(revoked)

    # -- sign-in, sessions ------------------------------------------------

    async def login(self, email: str, password: str, device: str, call: CallInfo) -> tuple[IssuedTokens, RowMapping]:
        validator = Validator()
        validator.check(bool(email), "email", "is required")
        validator.check(bool(password), "password", "is required")
        validator.check(len(password) <= domain.MAX_PASSWORD, "password", "is too long")
        validator.check(len(device) <= 200, "device_name", "must be at most 200 characters")
        validator.raise_if_any()
        email = domain.normalize_email(email)
        await self._account_failures.check(email)
        if call.peer_ip:
            await self._ip_failures.check(call.peer_ip)
        async with self.reader.connect() as conn:
            user = (await conn.execute(sa.select(users).where(users.c.email == email))).mappings().first()
        stored = user["password_hash"] if user is not None else None
        if not await self.passwords.verify(stored, password):
            await self._account_failures.hit(email)
            if call.peer_ip:
                await self._ip_failures.hit(call.peer_ip)
            raise Unauthenticated("invalid email or password")
        assert user is not None
        await self._account_failures.reset(email)
        self._check_can_sign_in(user)
        if self.passwords.needs_rehash(user["password_hash"]):
            async with self.engine.begin() as conn:
                await conn.execute(
                    users.update().where(users.c.id == user["id"])
                    .values(password_hash=await self.passwords.hash(password))
                )  # fmt: skip
        tokens = await self._start_session(user, device, call)
        return tokens, user

    def _check_can_sign_in(self, user: RowMapping) -> None:
        if not user["active"]:
            raise PermissionDenied("this account is deactivated")
        if self.settings.require_verified_email and not user["email_verified"]:
            raise FailedPrecondition("confirm your email address before signing in")

    async def _start_session(self, user: RowMapping, device: str, call: CallInfo) -> IssuedTokens:
        session_id = uuid.uuid4()
        secret = domain.new_secret()
        ttl = timedelta(seconds=self.settings.refresh_token_ttl_seconds)
        async with self.engine.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    id=session_id, user_id=user["id"], device_name=device[:200],
                    user_agent=call.user_agent[:300], ip_address=call.peer_ip[:64],
                    expires_at=_now() + ttl,
                )
            )  # fmt: skip
            await conn.execute(
                refresh_tokens.insert().values(token_hash=secret.digest, session_id=session_id, expires_at=_now() + ttl)
            )
        return self._tokens(str(user["id"]), user["role"], str(session_id), secret.token)

    def _tokens(self, user_id: str, role: str, session_id: str, refresh: str) -> IssuedTokens:
        issued = int(time.time())
        ttl = self.settings.access_token_ttl_seconds
        access = self.keyring.sign(
            {
                "iss": self.settings.jwt_issuer,
                "aud": self.settings.jwt_audience,
                "sub": user_id,
                "sid": session_id,
                "jti": uuid.uuid4().hex,
                "role": role,
                "iat": issued,
                "exp": issued + ttl,
            }
        )
        return IssuedTokens(access, refresh, ttl, self.settings.refresh_token_ttl_seconds, session_id)

    async def refresh(self, token: str) -> IssuedTokens:
        if not token or len(token) > 200:
            raise InvalidArgument(FieldViolation("refresh_token", "is required"))
        digest = domain.hash_secret(token)
        reused_session: uuid.UUID | None = None
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(refresh_tokens, sessions.c.user_id, sessions.c.revoked_at,
                              sessions.c.expires_at.label("session_expires_at"))
                    .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
                    .where(refresh_tokens.c.token_hash == digest)
                    .with_for_update(of=refresh_tokens)
                )
            ).first()  # fmt: skip
            if row is None or row.revoked_at is not None or row.expires_at <= _now():
                raise Unauthenticated("refresh token is invalid or expired")
            if row.used_at is not None:
                # A rotated token came back: someone holds a copy. End the family.
                await self._revoke(conn, [row.session_id], "refresh_token_reuse")
                reused_session = row.session_id
            else:
                user = await self._user(conn, row.user_id)
                self._check_can_sign_in(user)
                secret = domain.new_secret()
                await conn.execute(
                    refresh_tokens.update().where(refresh_tokens.c.token_hash == digest).values(used_at=_now())
                )
                await conn.execute(
                    refresh_tokens.insert().values(
                        token_hash=secret.digest, session_id=row.session_id,
                        expires_at=row.session_expires_at,
                    )
                )  # fmt: skip
                await conn.execute(sessions.update().where(sessions.c.id == row.session_id).values(last_used_at=_now()))
        if reused_session is not None:
            await self._deny([reused_session])
            raise Unauthenticated("refresh token was already used; the session has been ended")
        return self._tokens(str(user["id"]), user["role"], str(row.session_id), secret.token)

    async def logout(self, principal: Principal) -> None:
        session_id = uuid.UUID(principal.session_id)
        async with self.engine.begin() as conn:
            await self._revoke(conn, [session_id], "logout")
        await self._deny([session_id])

    async def logout_all(self, principal: Principal) -> int:
        async with self.engine.begin() as conn:
            revoked = await self._revoke_sessions(conn, uuid.UUID(principal.user_id), "logout_all")
        await self._deny(revoked)
        return len(revoked)

    async def list_sessions(
        self, principal: Principal, requested_size: int, token: str
    ) -> tuple[list[RowMapping], str]:
        size = page_size(requested_size)
        position = decode_token(token, {"created_at": datetime, "id": uuid.UUID})
        query = (
            sa.select(sessions)
            .where(sessions.c.user_id == uuid.UUID(principal.user_id), sessions.c.revoked_at.is_(None),
                   sessions.c.expires_at > _now())
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
            .limit(size + 1)
        )  # fmt: skip
        if position:
            query = query.where(
                sa.tuple_(sessions.c.created_at, sessions.c.id) < (position["created_at"], position["id"])
            )
        async with self.reader.connect() as conn:
            rows = list((await conn.execute(query)).mappings().all())
        return rows[:size], next_page_token(rows, size, _created_position)

    async def revoke_session(self, principal: Principal, session_id: str) -> None:
        try:
            sid = uuid.UUID(session_id)
        except ValueError as exc:
            raise InvalidArgument(FieldViolation("session_id", "must be a UUID")) from exc
        async with self.engine.begin() as conn:
            owned = (
                await conn.execute(
                    sa.select(sessions.c.id).where(
                        sessions.c.id == sid, sessions.c.user_id == uuid.UUID(principal.user_id),
                        sessions.c.revoked_at.is_(None),
                    )
                )
            ).first()  # fmt: skip
            if owned is None:
                raise NotFound("session not found")
            await self._revoke(conn, [sid], "revoked_by_user")
        await self._deny([sid])

    async def _revoke(self, conn: AsyncConnection, session_ids: list[uuid.UUID], reason: str) -> None:
        await conn.execute(
            sessions.update()
            .where(sessions.c.id.in_(session_ids), sessions.c.revoked_at.is_(None))
            .values(revoked_at=_now(), revoke_reason=reason)
        )

    async def _revoke_sessions(
        self, conn: AsyncConnection, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        query = (
            sessions.update()
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=_now(), revoke_reason=reason)
            .returning(sessions.c.id)
        )
        if keep is not None:
            query = query.where(sessions.c.id != keep)
        return [row.id for row in await conn.execute(query)]

    async def _deny(self, session_ids: list[uuid.UUID]) -> None:
        """Access tokens of these sessions are refused from now until they expire."""
        if not session_ids:
            return
        ttl = self.settings.access_token_ttl_seconds + 120
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in session_ids:
                pipe.set(revoked_session_key(str(sid)), b"1", ex=ttl)
            await pipe.execute()

    async def sign_in_with_provider(
        self, provider: str, id_token: str, device: str, call: CallInfo
    ) -> tuple[IssuedTokens, RowMapping, bool]:
        identity = await self.id_tokens.verify(provider, id_token)
        created = False
        async with self.engine.begin() as conn:
            linked = (
                await conn.execute(
                    sa.select(oauth_identities.c.user_id).where(
                        oauth_identities.c.provider == identity.provider,
                        oauth_identities.c.subject == identity.subject,
                    )
                )
            ).first()
            if linked is not None:
                user = await self._user(conn, linked.user_id)
            else:
                if not identity.email:
                    raise InvalidArgument(FieldViolation("id_token", "carries no email address"))
                email = domain.normalize_email(identity.email, "id_token")
                found = (await conn.execute(sa.select(users).where(users.c.email == email))).mappings().first()
                if found is not None:
                    if not identity.email_verified:
                        raise FailedPrecondition("sign in with your password to link this provider")
                    user = found
                else:
                    user = await self._create_user(
                        conn, uuid.uuid4(), email, None, identity.email_verified,
                        identity.first_name, identity.last_name, provider,
                    )  # fmt: skip
                    created = True
                await conn.execute(
                    oauth_identities.insert().values(
                        provider=identity.provider, subject=identity.subject,
                        user_id=user["id"], email=identity.email,
                    )
                )  # fmt: skip
        if created:
            self._notify()
        self._check_can_sign_in(user)
        return await self._start_session(user, device, call), user, created

    # -- profile and settings ---------------------------------------------

    async def _user(self, conn: AsyncConnection, user_id: uuid.UUID) -> RowMapping:
        user = (await conn.execute(sa.select(users).where(users.c.id == user_id))).mappings().first()
        if user is None:
            raise NotFound("user not found")
        return user

    async def get_user(self, user_id: str) -> RowMapping:
        async with self.reader.connect() as conn:
            return await self._user(conn, uuid.UUID(user_id))

    async def update_profile(self, user_id: str, changes: dict[str, Any]) -> RowMapping:
        values = domain.validate_profile(changes, date.today())
        async with self.engine.begin() as conn:
            if not values:
                return await self._user(conn, uuid.UUID(user_id))
            user = (
                await conn.execute(
                    users.update().where(users.c.id == uuid.UUID(user_id))
                    .values(**values, updated_at=_now()).returning(*users.c)
                )
            ).mappings().first()  # fmt: skip
            if user is None:
                raise NotFound("user not found")
            await self._outbox.add(
                conn, TOPIC_USER, user_id,
                auth_events_pb2.ProfileUpdated(
                    user_id=user_id, first_name=user["first_name"] or "", last_name=user["last_name"] or "",
                    experience_level=user["experience_level"] or "", primary_goal=user["primary_goal"] or "",
                    changed_fields=sorted(changes),
                ),
            )  # fmt: skip
        self._notify()
        return user

    async def get_settings(self, user_id: str) -> RowMapping:
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(sa.select(user_settings).where(user_settings.c.user_id == uuid.UUID(user_id)))
            ).mappings().first()  # fmt: skip
        if row is None:
            raise NotFound("user not found")
        return row

    async def update_settings(self, user_id: str, changes: dict[str, Any]) -> RowMapping:
        values = domain.validate_settings(changes)
        if not values:
            return await self.get_settings(user_id)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    user_settings.update().where(user_settings.c.user_id == uuid.UUID(user_id))
                    .values(**values, updated_at=_now()).returning(*user_settings.c)
                )
            ).mappings().first()  # fmt: skip
            if row is None:
                raise NotFound("user not found")
            await self._outbox.add(
                conn, TOPIC_USER, user_id,
                auth_events_pb2.SettingsChanged(
                    user_id=user_id, private_profile=row["private_profile"], show_stats=row["show_stats"],
                    units=row["units"], changed_fields=sorted(changes),
                ),
            )  # fmt: skip
        self._notify()
        return row

    async def delete_user(self, user_id: str) -> None:
        uid = uuid.UUID(user_id)
        async with self.engine.begin() as conn:
            revoked = await self._revoke_sessions(conn, uid, "account_deleted")
            deleted = await conn.execute(users.delete().where(users.c.id == uid).returning(users.c.id))
            if deleted.first() is None:
                raise NotFound("user not found")
            # Events about this user kept for replay (email, profile, mail tokens)
            # go too; only the deletion itself is published from now on.
            await conn.execute(outbox.delete().where(outbox.c.key == user_id))
            await self._outbox.add(
                conn, TOPIC_USER, user_id,
                auth_events_pb2.UserDeleted(user_id=user_id, deleted_at=timestamp(_now())),
            )  # fmt: skip
        await self._deny(revoked)
        self._notify()

    # -- administration -----------------------------------------------------

    async def list_users(
        self, requested_size: int, token: str, email_prefix: str, role: str | None
    ) -> tuple[list[RowMapping], str]:
        size = page_size(requested_size)
        position = decode_token(token, {"created_at": datetime, "id": uuid.UUID})
        query = sa.select(users).order_by(users.c.created_at, users.c.id).limit(size + 1)
        if email_prefix:
            escaped = email_prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(users.c.email.like(escaped + "%", escape="\\"))
        if role:
            query = query.where(users.c.role == role)
        if position:
            query = query.where(sa.tuple_(users.c.created_at, users.c.id) > (position["created_at"], position["id"]))
        async with self.reader.connect() as conn:
            rows = list((await conn.execute(query)).mappings().all())
        return rows[:size], next_page_token(rows, size, _created_position)

    async def set_role(self, admin: Principal, user_id: str, role: str) -> RowMapping:
        if role not in domain.ROLES:
            raise InvalidArgument(FieldViolation("role", "must be ROLE_USER, ROLE_TRAINER or ROLE_ADMIN"))
        target = _parse_id(user_id)
        if str(target) == admin.user_id and role != "admin":
            raise FailedPrecondition("administrators cannot remove their own admin role")
        async with self.engine.begin() as conn:
            old = await self._user(conn, target)
            user = (
                await conn.execute(
                    users.update().where(users.c.id == target)
                    .values(role=role, updated_at=_now()).returning(*users.c)
                )
            ).mappings().one()  # fmt: skip
            revoked: list[uuid.UUID] = []
            if old["role"] != role:
                # Tokens carry the role: end sessions so the new role applies at once.
                revoked = await self._revoke_sessions(conn, target, "role_changed")
                await self._outbox.add(
                    conn, TOPIC_USER, str(target),
                    auth_events_pb2.RoleChanged(user_id=str(target), old_role=old["role"], new_role=role,
                                                changed_by=admin.user_id),
                )  # fmt: skip
        await self._deny(revoked)
        self._notify()
        return user

    async def deactivate(self, admin: Principal, user_id: str) -> RowMapping:
        target = _parse_id(user_id)
        if str(target) == admin.user_id:
            raise FailedPrecondition("administrators cannot deactivate themselves")
        async with self.engine.begin() as conn:
            await self._user(conn, target)
            user = (
                await conn.execute(
                    users.update().where(users.c.id == target)
                    .values(active=False, updated_at=_now()).returning(*users.c)
                )
            ).mappings().one()  # fmt: skip
            revoked = await self._revoke_sessions(conn, target, "deactivated")
            await self._outbox.add(
                conn, TOPIC_USER, str(target),
                auth_events_pb2.UserDeactivated(user_id=str(target), deactivated_by=admin.user_id),
            )  # fmt: skip
        await self._deny(revoked)
        self._notify()
        return user


async def grant_role_by_email(engine: AsyncEngine, email: str, role: str) -> None:
    """Operator command (no caller token): give an existing account a role."""
    async with engine.begin() as conn:
        result = await conn.execute(
            users.update().where(users.c.email == domain.normalize_email(email))
            .values(role=role, updated_at=_now()).returning(users.c.id)
        )  # fmt: skip
        if result.first() is None:
            raise NotFound(f"no account with email {email}")


def _parse_id(user_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(user_id)
    except ValueError as exc:
        raise InvalidArgument(FieldViolation("user_id", "must be a UUID")) from exc


def _created_position(row: RowMapping) -> dict[str, Any]:
    return {"created_at": row["created_at"], "id": row["id"]}
