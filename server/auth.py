"""Accounts, JWT access tokens and rotating refresh tokens.

- Passwords: Argon2id (argon2-cffi defaults).
- Access tokens (RFC 8725): HS256 only (the verifier allow-lists the algorithm, so ``alg=none``
  and algorithm confusion are refused), explicit ``typ: at+jwt``, required ``iss``, ``aud``,
  ``sub``, ``exp``, ``iat``, ``nbf``, ``jti``; 10 minutes by default, 30 s leeway.
- Refresh tokens (RFC 9700 §4.14): opaque ``<id>.<secret>`` strings stored as SHA-256, rotated
  on every use; presenting a used one revokes its whole family (every descendant).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.models import RefreshToken, User
from server.db.session import now_epoch
from server.ids import new_id
from server.jobstore import rowcount

ALGORITHM = "HS256"
ACCESS_TYP = "at+jwt"
LEEWAY_S = 30
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_hasher = PasswordHasher()
_dummy: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against for unknown names (same work as a real check), made lazily:
    hashing at import would cost every process half a second."""
    if not _dummy:
        _dummy.append(_hasher.hash("audio-style timing equaliser"))
    return _dummy[0]


class AuthError(Exception):
    """Authentication failed; ``reason`` is for logs, never shown to the caller."""

    def __init__(self, reason: str, *, session_ended: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.session_ended = session_ended


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    name: str


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(s: Session, name: str, password: str) -> User:
    """Add an account; raises ValueError for a bad name, a short password or a taken name."""
    if not NAME_RE.match(name):
        raise ValueError("user names are 1-64 letters, digits or _.@-")
    if len(password) < 8:
        raise ValueError("passwords need at least 8 characters")
    if s.execute(select(User.id).where(User.name == name)).first() is not None:
        raise ValueError(f"user {name!r} exists")
    now = float(s.execute(select(now_epoch())).scalar_one())
    user = User(id=new_id(), name=name, password_hash=hash_password(password), created_at=now)
    s.add(user)
    s.flush()
    return user


def authenticate(s: Session, name: str, password: str) -> User:
    """The user with these credentials, or AuthError (constant work for unknown names)."""
    user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
    try:
        if user is None:
            _hasher.verify(_dummy_hash(), password + "x")
            raise AuthError("unknown user")
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as e:
        raise AuthError("bad password") from e
    if user.disabled:
        raise AuthError("disabled")
    return user


# --- access tokens ------------------------------------------------------------------------


def issue_access_token(settings: Settings, user: User, now: float) -> str:
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user.id,
        "name": user.name,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + settings.access_ttl_s,
        "jti": new_id(),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM, headers={"typ": ACCESS_TYP})


# verified tokens: (secret, audience, issuer, token) -> (principal, exp). A client sends the same
# access token with every request for its lifetime; checking its signature and claims once is
# enough, since the signature covers the exact string. Only the expiry changes with time, and it
# is checked on every use.
_VERIFIED: dict[tuple[str, str, str, str], tuple[Principal, float]] = {}
VERIFIED_CACHE_SIZE = 10_000


def verify_access_token(settings: Settings, token: str) -> Principal:
    """Validate signature, algorithm, type, issuer, audience and times; AuthError otherwise."""
    key = (settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer, token)
    hit = _VERIFIED.get(key)
    if hit is not None:
        if hit[1] > time.time() - LEEWAY_S:
            return hit[0]
        _VERIFIED.pop(key, None)
        raise AuthError("invalid token: Signature has expired")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM or header.get("typ") != ACCESS_TYP:
            raise AuthError(f"bad header {header!r}")
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
        )
    except jwt.PyJWTError as e:
        raise AuthError(f"invalid token: {e}") from e
    sub, name = claims.get("sub"), claims.get("name", "")
    if not isinstance(sub, str) or not sub:
        raise AuthError("no subject")
    principal = Principal(user_id=sub, name=str(name))
    exp, nbf = float(claims["exp"]), float(claims["nbf"])
    if nbf <= time.time():  # a token not yet valid (within the leeway) is checked again
        if len(_VERIFIED) >= VERIFIED_CACHE_SIZE:
            _VERIFIED.clear()
        _VERIFIED[key] = (principal, exp)
    return principal


# --- refresh tokens -----------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_refresh_token(
    s: Session, settings: Settings, user_id: str, now: float, family_id: str | None = None
) -> str:
    tid, secret = new_id(), secrets.token_urlsafe(32)
    s.add(
        RefreshToken(
            id=tid,
            family_id=family_id or new_id(),
            user_id=user_id,
            token_hash=_digest(secret),
            created_at=now,
            expires_at=now + settings.refresh_ttl_s,
        )
    )
    return f"{tid}.{secret}"


def rotate_refresh_token(s: Session, settings: Settings, token: str) -> tuple[User, str]:
    """Spend ``token`` and return its user and the next token of the family.

    A token that was already spent (or revoked) revokes every token of its family: whoever
    holds the newest one (the thief or the user) must log in again.
    """
    tid, _, secret = token.partition(".")
    row = s.execute(select(RefreshToken).where(RefreshToken.id == tid)).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, _digest(secret)):
        raise AuthError("unknown refresh token", session_ended=True)
    now = float(s.execute(select(now_epoch())).scalar_one())
    # spend it atomically: only one caller can flip used_at from NULL
    spent = rowcount(
        s.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == tid,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
            )
            .values(used_at=now)
        )
    )
    if spent != 1:
        revoke_family(s, row.family_id, now)
        raise AuthError("refresh token reuse: family revoked", session_ended=True)
    if row.expires_at < now:
        raise AuthError("refresh token expired", session_ended=True)
    user = s.get(User, row.user_id)
    if user is None or user.disabled:
        raise AuthError("user gone", session_ended=True)
    return user, issue_refresh_token(s, settings, user.id, now, row.family_id)


def revoke_family(s: Session, family_id: str, now: float) -> None:
    s.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_token_family(s: Session, token: str) -> None:
    """Logout: revoke the family of ``token`` (unknown tokens are ignored)."""
    tid, _, secret = token.partition(".")
    row = s.execute(select(RefreshToken).where(RefreshToken.id == tid)).scalar_one_or_none()
    if row is not None and hmac.compare_digest(row.token_hash, _digest(secret)):
        revoke_family(s, row.family_id, float(s.execute(select(now_epoch())).scalar_one()))
