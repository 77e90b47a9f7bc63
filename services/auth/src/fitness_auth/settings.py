"""Auth settings: environment variables prefixed AUTH_."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from fitness_platform.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    service_name: str = "auth"
    db_schema: str = "auth"
    grpc_port: int = 50051

    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    # Encrypts signing keys at rest. Set a real secret outside development.
    key_encryption_secret: SecretStr = SecretStr("dev-only-key-encryption-secret")
    # A rotated key is published this long before it signs, so every JWKS
    # cache (Envoy's, the services') knows it first.
    key_publish_lead_seconds: int = 600

    require_verified_email: bool = True
    verification_token_ttl_seconds: int = 24 * 3600
    reset_token_ttl_seconds: int = 3600
    # Links in mails end in ?token=<token>.
    verify_email_url: str = "http://127.0.0.1:8080/verify-email"
    reset_password_url: str = "http://127.0.0.1:8080/reset-password"

    # Argon2id: OWASP's 19 MiB / t=2 / p=1, chosen deliberately so a login
    # costs ~20 ms of one core instead of ~230 ms with the library defaults.
    argon2_memory_kib: int = 19_456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    login_failures_per_account: int = 5
    login_failures_per_ip: int = 50
    login_failure_window_seconds: int = 900
    mails_per_address_per_hour: int = 5

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    # "none", "starttls" or "tls".
    smtp_security: str = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Fitness <no-reply@fitness.local>"
    run_mail_worker: bool = True

    # Sign in with Google / Apple: issuer, JWKS URL and accepted client ids.
    google_issuer: str = "https://accounts.google.com"
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    google_client_ids: list[str] = []
    apple_issuer: str = "https://appleid.apple.com"
    apple_jwks_url: str = "https://appleid.apple.com/auth/keys"
    apple_client_ids: list[str] = []
