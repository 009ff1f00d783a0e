"""OpenID Connect sign-in (authorization code flow with PKCE) against the district's identity
provider: Google Workspace, Microsoft Entra ID, ClassLink or any conforming issuer.

Chaperone never creates users from a sign-in: the identity provider says who someone is
(the `oidc_username_claim`, the e-mail address by default), and the administrator's local
account of that name says what they may do. The provider must vouch for that claim
(`oidc_verified_claim`, `email_verified` by default, must be true): an unverified address
is anyone's to type. On the first sign-in the account is linked to the provider's stable
subject (issuer and `sub`); from then on the subject alone finds the account, and another
subject presenting the same address is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.common.problems import ChaperoneError
from chaperone.settings import Settings
from chaperone.store.models import User
from chaperone.web.auth import tokens_equal

PENDING_COOKIE = "chaperone_oidc"
PENDING_SECONDS = 600
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class SignInRefused(ChaperoneError):
    """The identity provider's answer could not be trusted or matched to a user."""


@dataclass(frozen=True)
class Provider:
    """The configured issuer and this district's client registration with it."""

    issuer: str
    client_id: str
    client_secret: str
    name: str
    scopes: str
    username_claim: str
    verified_claim: str = "email_verified"

    @classmethod
    def from_settings(cls, settings: Settings) -> Provider | None:
        """The provider the settings name, or None when single sign-on is off."""
        if not settings.oidc_issuer or not settings.oidc_client_id:
            return None
        return cls(
            settings.oidc_issuer.rstrip("/"),
            settings.oidc_client_id,
            settings.oidc_client_secret or "",
            settings.oidc_name,
            settings.oidc_scopes,
            settings.oidc_username_claim,
            settings.oidc_verified_claim,
        )


@dataclass(frozen=True)
class Pending:
    """What the browser carries between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: float


class OidcClient:
    """Talks to one issuer: discovery, the authorization redirect, the code exchange and the
    id token's verification (signature from the issuer's keys, issuer, audience, expiry,
    nonce)."""

    def __init__(self, provider: Provider, *, timeout: float = 10.0) -> None:
        self.provider = provider
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._metadata: dict[str, Any] | None = None
        self._keys: jwt.PyJWKClient | None = None

    def metadata(self) -> dict[str, Any]:
        """The issuer's discovery document (fetched once)."""
        if self._metadata is None:
            url = f"{self.provider.issuer}/.well-known/openid-configuration"
            try:
                answer = self.http.get(url)
                answer.raise_for_status()
                document: dict[str, Any] = answer.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise SignInRefused(f"the identity provider did not answer ({url})") from exc
            if document.get("issuer", "").rstrip("/") != self.provider.issuer:
                raise SignInRefused("the identity provider names a different issuer")
            self._metadata = document
        return self._metadata

    def start(self, redirect_uri: str, next_page: str) -> tuple[str, Pending]:
        """The provider's authorization URL and what to remember until the browser returns."""
        pending = Pending(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next_page,
            expires=time.time() + PENDING_SECONDS,
        )
        challenge = base64.urlsafe_b64encode(hashlib.sha256(pending.verifier.encode()).digest())
        query = {
            "response_type": "code",
            "client_id": self.provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.provider.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        return f"{self.metadata()['authorization_endpoint']}?{urlencode(query)}", pending

    def finish(self, code: str, redirect_uri: str, pending: Pending) -> dict[str, Any]:
        """Exchange the code for tokens and return the verified id token's claims."""
        meta = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.provider.client_id,
            "code_verifier": pending.verifier,
        }
        if self.provider.client_secret:
            form["client_secret"] = self.provider.client_secret
        try:
            answer = self.http.post(
                meta["token_endpoint"], data=form, headers={"Accept": "application/json"}
            )
            answer.raise_for_status()
            id_token = answer.json()["id_token"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise SignInRefused("the identity provider refused the sign-in code") from exc
        if self._keys is None:
            self._keys = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True)
        try:
            key = self._keys.get_signing_key_from_jwt(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.provider.client_id,
                issuer=meta["issuer"],
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise SignInRefused(f"the identity token is not valid ({exc})") from exc
        if not tokens_equal(pending.nonce, str(claims.get("nonce", ""))):
            raise SignInRefused("the identity token was not issued for this sign-in")
        verified = self.provider.verified_claim
        if verified and claims.get(verified) not in (True, "true"):
            raise SignInRefused(
                f"the identity provider has not verified this {self.provider.username_claim}"
                f" ({verified} is not true)"
            )
        return claims

    def subject(self, claims: dict[str, Any]) -> str:
        """The provider's stable id of the person: issuer and ``sub``."""
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise SignInRefused("the identity token has no usable subject")
        return f"{self.provider.issuer}|{sub}"

    def user(self, db: Session, claims: dict[str, Any]) -> User:
        """The local user these claims sign in: by the linked subject, else by the username
        claim (and then linked to the subject for good)."""
        subject = self.subject(claims)
        user = db.scalar(select(User).where(User.oidc_subject == subject))
        if user is None:
            username = self.username(claims)
            user = db.scalar(select(User).where(User.username == username))
            if user is None:
                raise SignInRefused(f"{username} has no Chaperone account; ask your administrator")
            if user.oidc_subject is not None:
                raise SignInRefused(
                    f"{username} is linked to another {self.provider.name} identity; "
                    "ask your administrator"
                )
            user.oidc_subject = subject
        if not user.active:
            raise SignInRefused(f"{user.username} has no Chaperone account; ask your administrator")
        return user

    def username(self, claims: dict[str, Any]) -> str:
        """The local username the claims name."""
        value = claims.get(self.provider.username_claim)
        if not isinstance(value, str) or not value.strip():
            raise SignInRefused(f"the identity token has no {self.provider.username_claim}")
        return value.strip().lower()


def seal(pending: Pending, key: bytes) -> str:
    """The pending sign-in as a cookie value, signed so the browser cannot change it."""
    body = base64.urlsafe_b64encode(json.dumps(pending.__dict__).encode()).decode()
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unseal(value: str, key: bytes) -> Pending:
    """The pending sign-in from its cookie, if untouched and not expired."""
    body, _, mac = value.rpartition(".")
    expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    if not body or not tokens_equal(expected, mac):
        raise SignInRefused("the sign-in expired or was tampered with; start again")
    try:
        pending = Pending(**json.loads(base64.urlsafe_b64decode(body)))
    except (ValueError, TypeError) as exc:
        raise SignInRefused("the sign-in expired or was tampered with; start again") from exc
    if pending.expires < time.time():
        raise SignInRefused("the sign-in took too long; start again")
    return pending
