"""Bearer tokens for the API: two scopes, read and admin (admin implies read).

Tokens come from ``NEWSALERT_API_READ_TOKENS`` and ``NEWSALERT_API_ADMIN_TOKENS``, each a
comma-separated list whose entries are the token itself or ``sha256:<64 hex digits>`` of
it, so a config never has to hold a usable token. A presented token is hashed and
compared with *every* configured digest (``hmac.compare_digest``, no early exit): the time
taken tells neither which token matched nor how much of one did. No token or digest is
ever logged, echoed in an error or shown in a repr.

Answers: no or a wrong token → 401 (``WWW-Authenticate: Bearer``); a read token on an
admin route → 403; no admin token configured → every admin route answers 403 saying how
to enable it; no token configured at all → the read routes answer 403 likewise.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from newsalert.errors import ConfigError

#: A plain token shorter than this is refused at start (guessable).
MIN_TOKEN_CHARS = 16
READ_VARIABLE = "NEWSALERT_API_READ_TOKENS"
ADMIN_VARIABLE = "NEWSALERT_API_ADMIN_TOKENS"
ADMIN_DISABLED = (
    f"admin routes are disabled: no admin token is configured. Set {ADMIN_VARIABLE} "
    "(comma-separated tokens or sha256:<hex> digests) and restart to enable them."
)
API_DISABLED = (
    f"the API is disabled: no token is configured. Set {READ_VARIABLE} (or "
    f"{ADMIN_VARIABLE}) and restart; /healthz, /readyz and /metrics need no token."
)
_DIGEST = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class Scope(enum.Enum):
    """What a token may do."""

    READ = "read"
    ADMIN = "admin"


def token_digest(token: str) -> bytes:
    """SHA-256 of a token, the form every comparison uses."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _parse(variable: str, text: str) -> tuple[bytes, ...]:
    digests: list[bytes] = []
    for position, raw in enumerate(text.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        # Messages name the variable and position only: the value is a credential.
        if entry.lower().startswith("sha256:"):
            match = _DIGEST.match(entry)
            if match is None:
                raise ConfigError(
                    f"{variable} entry {position}: a digest is sha256: and 64 hex digits"
                )
            digests.append(bytes.fromhex(match.group(1)))
        elif len(entry) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"{variable} entry {position}: a token needs at least {MIN_TOKEN_CHARS} "
                "characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        else:
            digests.append(token_digest(entry))
    return tuple(digests)


def _matches(digest: bytes, known: tuple[bytes, ...]) -> bool:
    found = False
    for candidate in known:
        found |= hmac.compare_digest(digest, candidate)
    return found


@dataclass(frozen=True)
class ApiTokens:
    """The configured token digests of each scope."""

    read: tuple[bytes, ...] = field(default=(), repr=False)
    admin: tuple[bytes, ...] = field(default=(), repr=False)

    @classmethod
    def parse(cls, read: str, admin: str) -> ApiTokens:
        """Tokens from the two comma-separated lists; :class:`ConfigError` when malformed."""
        return cls(read=_parse(READ_VARIABLE, read), admin=_parse(ADMIN_VARIABLE, admin))

    def scope_of(self, token: str) -> Scope | None:
        """The scope ``token`` grants, ``None`` when it is not configured."""
        digest = token_digest(token)
        is_admin = _matches(digest, self.admin)
        is_read = _matches(digest, self.read)
        if is_admin:
            return Scope.ADMIN
        return Scope.READ if is_read else None


Guard = Callable[..., Awaitable[None]]
_bearer = HTTPBearer(auto_error=False, description="A read or admin API token.")


@dataclass(frozen=True)
class ApiGuard:
    """FastAPI dependencies that admit a request with a token of the needed scope."""

    tokens: ApiTokens

    def require(self, scope: Scope) -> Guard:
        """A dependency that raises 401/403 unless the request carries a ``scope`` token."""
        tokens = self.tokens

        async def guard(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> None:
            if scope is Scope.ADMIN and not tokens.admin:
                raise HTTPException(403, ADMIN_DISABLED)
            if not tokens.read and not tokens.admin:
                raise HTTPException(403, API_DISABLED)
            if credentials is None:
                raise HTTPException(401, "a bearer token is required", headers=_CHALLENGE)
            granted = tokens.scope_of(credentials.credentials)
            if granted is None:
                raise HTTPException(401, "invalid token", headers=_CHALLENGE)
            if scope is Scope.ADMIN and granted is not Scope.ADMIN:
                raise HTTPException(403, "this route needs an admin token")

        return guard

    @property
    def read(self) -> Guard:
        """Admits read and admin tokens."""
        return self.require(Scope.READ)

    @property
    def admin(self) -> Guard:
        """Admits admin tokens only."""
        return self.require(Scope.ADMIN)
