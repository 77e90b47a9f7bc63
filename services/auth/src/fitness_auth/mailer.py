"""Mail worker: sends verification and password-reset mails over SMTP.

Fed by auth's own outbox through the fitness.auth.mail.v1 topic and the
inbox consumer, so a mail is sent at least once even if SMTP or the broker
is down when the account is created.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncConnection

from fitness.events.v1 import auth_events_pb2, envelope_pb2
from fitness_auth.settings import AuthSettings
from fitness_platform.logging import get_logger

_log = get_logger("mailer")


class Mailer:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        security = self._settings.smtp_security
        password = self._settings.smtp_password
        await aiosmtplib.send(
            message,
            hostname=self._settings.smtp_host,
            port=self._settings.smtp_port,
            username=self._settings.smtp_username,
            password=password.get_secret_value() if password else None,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            timeout=10,
        )
        _log.info("mail.sent", subject=subject)

    async def on_verification(self, conn: AsyncConnection, envelope: envelope_pb2.Envelope) -> None:
        event = auth_events_pb2.EmailVerificationRequested()
        envelope.payload.Unpack(event)
        link = f"{self._settings.verify_email_url}?token={event.token}"
        greeting = f"Hi {event.first_name}," if event.first_name else "Hi,"
        await self.send(
            event.email,
            "Confirm your email address",
            f"{greeting}\n\nConfirm your email address to start training:\n{link}\n\n"
            "The link works for 24 hours. If you did not sign up, ignore this mail.\n",
        )

    async def on_password_reset(self, conn: AsyncConnection, envelope: envelope_pb2.Envelope) -> None:
        event = auth_events_pb2.PasswordResetRequested()
        envelope.payload.Unpack(event)
        link = f"{self._settings.reset_password_url}?token={event.token}"
        await self.send(
            event.email,
            "Reset your password",
            f"Hi,\n\nChoose a new password here:\n{link}\n\n"
            "The link works for one hour. If you did not ask for it, ignore this mail.\n",
        )
