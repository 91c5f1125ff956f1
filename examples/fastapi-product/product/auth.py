"""Who is calling the product: the MFA service's session token from the product's own cookie (or an
`Authorization: Bearer` header), checked by introspection and cached for a few seconds.

The cache and revocation: an answer is kept for `ttl` seconds (5 by default) per token, so most requests cost no
call to the MFA service. The product drops the entries it knows are stale at once (its own logout, "sign out
everywhere", a new token after enrollment), but a session ended elsewhere (by the user on another product
instance, by the service's support API, by the session cap or an idle timeout) stays accepted by this instance
for at most `ttl` seconds. Keep `ttl` short; set it to 0 where that delay is not acceptable.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

from .mfa_client import Introspection, MfaService

SESSION_COOKIE = "product_session"


@dataclass(frozen=True)
class CurrentUser:
    """The caller: the service's user id, the product's own id, and how they signed in."""

    service_user_id: str
    session_id: str
    aal: int
    token: str


class IntrospectionCache:
    """Introspection answers per token, for `ttl` seconds."""

    def __init__(self, service: MfaService, ttl: float = 5.0) -> None:
        self._service = service
        self._ttl = ttl
        self._answers: dict[str, tuple[float, Introspection]] = {}
        self._lock = threading.Lock()

    def check(self, token: str) -> Introspection:
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(token)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        answer = self._service.introspect(token)
        with self._lock:
            self._answers[token] = (now, answer)
        return answer

    def forget(self, token: str) -> None:
        with self._lock:
            self._answers.pop(token, None)

    def forget_user(self, service_user_id: str) -> None:
        with self._lock:
            for token in [t for t, (_, a) in self._answers.items() if a.user_id == service_user_id]:
                del self._answers[token]


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


def current_user(request: Request) -> CurrentUser:
    """FastAPI dependency: the signed-in caller, or 401 (403 `mfa_enrollment_required` for a session that must
    enroll a second factor first)."""
    token = presented_token(request)
    if token is None:
        raise HTTPException(401, "sign in first")
    answer = request.app.state.introspection.check(token)
    if answer.mfa_enrollment_required:
        raise HTTPException(403, "mfa_enrollment_required: set up a second factor at /mfa/setup")
    if not answer.active or answer.user_id is None or answer.session_id is None:
        raise HTTPException(401, "your session has ended: sign in again")
    return CurrentUser(service_user_id=answer.user_id, session_id=answer.session_id, aal=answer.aal, token=token)


def session_token(request: Request) -> str:
    """FastAPI dependency: the caller's session token as presented, even a restricted one (for enrolling)."""
    token = presented_token(request)
    if token is None:
        raise HTTPException(401, "sign in first")
    return token
