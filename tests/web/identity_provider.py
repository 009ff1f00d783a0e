"""A standards-following OpenID Connect provider for the single sign-on tests: discovery,
authorization with PKCE, token exchange and a JWKS, served over real HTTP on loopback.

Google, Entra ID and ClassLink cannot be reached from the test machines; this provider
speaks the same protocol (OpenID Connect Core 1.0, RFC 7636), and its knobs let a test
make it misbehave the ways a hostile or broken provider could.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import JSONResponse, RedirectResponse

CLIENT_ID = "chaperone-test"
CLIENT_SECRET = "s3cret-for-tests-only"


@dataclass
class IdentityProvider:
    """The provider's state and the knobs tests turn."""

    issuer: str = ""
    email: str = "compliance_officer"
    email_verified: bool | None = True  # None: the claim is left out
    subject: str = "248289761001"
    audience: str = CLIENT_ID
    wrong_nonce: bool = False
    expired: bool = False
    foreign_key: bool = False
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        def authorize(
            response_type: str,
            client_id: str,
            redirect_uri: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: str,
            scope: str = "",
        ) -> RedirectResponse:
            if (
                response_type != "code"
                or client_id != CLIENT_ID
                or code_challenge_method != "S256"
                or "openid" not in scope
            ):
                raise HTTPException(400, "bad authorization request")
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": redirect_uri,
                "nonce": nonce,
                "challenge": code_challenge,
            }
            return RedirectResponse(
                f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302
            )

        @app.post("/token")
        def token(
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            client_id: str = Form(),
            code_verifier: str = Form(),
            client_secret: str = Form(""),
        ) -> JSONResponse:
            grant = self.codes.pop(code, None)  # single use
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                grant is None
                or grant_type != "authorization_code"
                or grant["redirect_uri"] != redirect_uri
                or client_id != CLIENT_ID
                or client_secret != CLIENT_SECRET
                or grant["challenge"] != challenge
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time()) - (7200 if self.expired else 0)
            claims = {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": self.subject,
                "iat": now,
                "exp": now + 600,
                "nonce": "not-yours" if self.wrong_nonce else grant["nonce"],
                "email": self.email,
                "email_verified": self.email_verified,
            }
            if self.email_verified is None:
                del claims["email_verified"]
            signer = (
                rsa.generate_private_key(public_exponent=65537, key_size=2048)
                if self.foreign_key
                else self.key
            )
            id_token = jwt.encode(claims, signer, algorithm="RS256", headers={"kid": "k1"})
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "id_token": id_token,
                }
            )

        return app


@contextmanager
def running() -> Iterator[IdentityProvider]:
    """The provider on a free loopback port for the duration of a test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = IdentityProvider(issuer=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the identity provider did not start"
        time.sleep(0.05)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(10)
