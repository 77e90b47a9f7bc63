"""A local OpenID Connect issuer for tests and the dev stack: serves a JWKS for
a key it makes itself and signs ID tokens like Google's or Apple's."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class LocalIssuer:
    """One key pair per provider name, JWKS at /<provider>/jwks."""

    def __init__(self, providers: tuple[str, ...] = ("google", "apple")) -> None:
        self._keys = {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in providers}
        self._kids = {name: uuid.uuid4().hex[:12] for name in providers}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").split("/")[0]
                if name not in issuer._keys or not self.path.endswith("/jwks"):
                    self.send_error(404)
                    return
                body = json.dumps({"keys": [issuer.public_jwk(name)]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def issuer(self, provider: str) -> str:
        return f"{self.base_url}/{provider}"

    def jwks_url(self, provider: str) -> str:
        return f"{self.base_url}/{provider}/jwks"

    def public_jwk(self, provider: str) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._keys[provider].public_key()))
        jwk.update({"kid": self._kids[provider], "use": "sig", "alg": "RS256"})
        return jwk

    def id_token(self, provider: str, audience: str, subject: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer(provider), "aud": audience, "sub": subject, "iat": now, "exp": now + 600}
        payload.update(claims)
        return jwt.encode(payload, self._keys[provider], algorithm="RS256", headers={"kid": self._kids[provider]})

    def settings_env(self, client_id: str) -> dict[str, str]:
        """Auth settings (without prefix) that trust this issuer."""
        env: dict[str, str] = {}
        for provider in self._keys:
            key = provider.upper()
            env[f"{key}_ISSUER"] = self.issuer(provider)
            env[f"{key}_JWKS_URL"] = self.jwks_url(provider)
            env[f"{key}_CLIENT_IDS"] = json.dumps([client_id])
        return env

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
