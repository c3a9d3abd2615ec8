from __future__ import annotations

import time

import pytest

from reference.security import TokenError, TokenSigner, hash_password, password_hasher, verify_password
from reference.settings import Settings


def test_tokens_round_trip_and_expire():
    signer = TokenSigner("k" * 32, ttl_s=60)
    token = signer.issue(42, "school_admin", now=1000)
    claims = signer.read(token, now=1030)
    assert (claims.account_id, claims.role) == (42, "school_admin")
    with pytest.raises(TokenError, match="expired"):
        signer.read(token, now=1061)
    with pytest.raises(TokenError, match="expired"):  # also once cached
        signer.read(token, now=1061)


def test_tokens_of_another_secret_or_altered_are_refused():
    mine, theirs = TokenSigner("a" * 32, 60), TokenSigner("b" * 32, 60)
    with pytest.raises(TokenError):
        mine.read(theirs.issue(1, "teacher"))
    body, mac = mine.issue(1, "teacher").split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["role"] = "province_admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        mine.read(f"{forged}.{mac}")


def test_password_hashes_with_the_default_parameters():
    hasher = password_hasher(Settings())
    started = time.perf_counter()
    stored = hash_password(hasher, "correct horse 1")
    elapsed = time.perf_counter() - started
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(hasher, stored, "correct horse 1")
    assert not verify_password(hasher, stored, "wrong")
    assert not verify_password(hasher, "not a hash", "wrong")
    assert elapsed < 1.0  # realistic, not absurd (about 20-40 ms here)
