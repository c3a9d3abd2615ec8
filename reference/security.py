"""Password hashes (argon2id) and signed bearer tokens (HMAC-SHA256, stdlib only).

A token is ``base64url(json claims) "." base64url(HMAC-SHA256(secret, first part))``; the
claims are the account id, its role, an expiry (Unix seconds) and the account's token version
(a token issued before the version was raised is revoked: ``reference.api.deps`` and the
heartbeat check it). Without the secret nobody can make or alter one; ``hmac.compare_digest``
keeps the check constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reference.settings import Settings

ROLES = ("teacher", "school_admin", "county_admin", "province_admin")


def password_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Claims:
    account_id: int
    role: str
    expires: int
    version: int = 0  # the account's token_version when issued


TOKEN_REVOKED = "token revoked (the account changed, e.g. removed from its school): log in again"


class TokenError(ValueError):
    """A token that is malformed, forged or expired; str() says which."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    # Players send the same token with every heartbeat: remember tokens already verified
    # (the expiry is still checked on every use). Bounded; emptied when full.
    CACHE_SIZE = 100_000

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = secret.encode()
        self.ttl_s = ttl_s
        self._verified: dict[str, Claims] = {}

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, account_id: int, role: str, now: float | None = None, version: int = 0) -> str:
        expires = int((time.time() if now is None else now) + self.ttl_s)
        claims = {"sub": account_id, "role": role, "exp": expires, "ver": version}
        body = _b64(json.dumps(claims).encode())
        return f"{body}.{self._mac(body)}"

    def read(self, token: str, now: float | None = None) -> Claims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = claims
        if claims.expires < (time.time() if now is None else now):
            raise TokenError("token expired")
        return claims

    def _verify(self, token: str) -> Claims:
        body, _, mac = token.partition(".")
        if not body or not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise TokenError("invalid token")
        try:
            claims = json.loads(_unb64(body))
            result = Claims(
                int(claims["sub"]), str(claims["role"]), int(claims["exp"]), int(claims["ver"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError("invalid token") from exc
        return result
