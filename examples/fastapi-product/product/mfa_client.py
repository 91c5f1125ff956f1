"""A small typed client for the MFA service: the service API (authenticated by the service API key) and the few
user endpoints the product calls with its user's session token.

Every call answers a typed value or raises `MfaError` carrying the service's stable error code, so the routes can
map refusals to their own answers. Field names and shapes follow the service's `GET /openapi.json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


class MfaError(Exception):
    """A refusal from the MFA service: its HTTP status, stable error code and message."""

    def __init__(self, status: int, code: str, message: str, retry_after: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class ServiceUser:
    """A user as the service knows them (`external_id` is the product's own id)."""

    id: str
    external_id: str | None
    email: str | None


@dataclass(frozen=True)
class Session:
    """A session the service started: its token (the product keeps it in its own cookie) and assurance level."""

    token: str
    id: str
    aal: int
    expires_at: int
    mfa_enrollment_required: bool = False
    device_id: str | None = None


@dataclass(frozen=True)
class Challenge:
    """A second-factor challenge: verified with one of `methods` at `verify`."""

    challenge_id: str
    methods: list[str]
    expires_at: int
    device_id: str | None = None


@dataclass(frozen=True)
class Introspection:
    """What the service says of a session token (RFC 7662's shape)."""

    active: bool
    user_id: str | None = None
    session_id: str | None = None
    aal: int = 0
    expires_at: int = 0
    mfa_enrollment_required: bool = False


@dataclass(frozen=True)
class TotpEnrollment:
    """An authenticator enrollment in progress: the secret (shown once) and its QR code."""

    id: str
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class ConsentText:
    """The consent text in force for a kind of factor, and the version to send when enrolling one."""

    purpose: str
    version: str
    text: str


@dataclass(frozen=True)
class Confirmed:
    """An enrollment confirmed: the backup codes of a first factor and, for a restricted session, its new one."""

    backup_codes: list[str] = field(default_factory=list)
    session: Session | None = None


def _session(body: dict[str, Any]) -> Session:
    return Session(
        token=body["token"],
        id=body["id"],
        aal=body["aal"],
        expires_at=body["expires_at"],
        mfa_enrollment_required=body.get("mfa_enrollment_required", False),
        device_id=body.get("device_id"),
    )


class MfaService:
    """The MFA service at `base_url`, called with the service API key `api_key`."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)
        self._key = {"authorization": f"Bearer {api_key}"}

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, token: str | None = None, body: Any = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token is not None else self._key
        answer = self._http.request(method, path, headers=headers, json=body)
        if answer.is_success:
            return answer.json() if answer.content else {}
        try:
            error = answer.json()["error"]
            code, message = error["code"], error["message"]
        except (ValueError, KeyError, TypeError):
            code, message = "unexpected_answer", answer.text[:200]
        raise MfaError(answer.status_code, code, message, answer.headers.get("retry-after"))

    # --- The service API (the service API key).

    def find_or_create_user(self, external_id: str, email: str | None = None) -> ServiceUser:
        body: dict[str, Any] = {"external_id": external_id}
        if email is not None:
            body["email"] = email
        user = self._call("POST", "/v1/service/users", body=body)["user"]
        return ServiceUser(id=user["id"], external_id=user["external_id"], email=user["email"])

    def sign_in(self, user_id: str, ip: str | None, user_agent: str, device_id: str | None) -> Session | Challenge:
        """After the product checked the password: a session, or a challenge for a user with a second factor."""
        body = {"ip": ip, "user_agent": user_agent, "device_id": device_id}
        answer = self._call("POST", f"/v1/service/users/{user_id}/sessions", body=body)
        if answer.get("mfa_required"):
            return Challenge(
                challenge_id=answer["challenge_id"],
                methods=answer["methods"],
                expires_at=answer["expires_at"],
                device_id=answer.get("device_id"),
            )
        return _session(answer)

    def introspect(self, token: str) -> Introspection:
        answer = self._call("POST", "/v1/introspect", body={"token": token})
        if not answer.get("active"):
            return Introspection(active=False, mfa_enrollment_required=answer.get("mfa_enrollment_required", False))
        return Introspection(
            active=True,
            user_id=answer["sub"],
            session_id=answer["sid"],
            aal=answer["aal"],
            expires_at=answer["exp"],
        )

    def revoke_sessions(self, user_id: str) -> list[str]:
        """Ends every session of the user ("sign out everywhere")."""
        return self._call("POST", f"/v1/service/users/{user_id}/revoke-sessions")["revoked"]

    # --- The login challenge (the challenge id is the credential).

    def verify(self, challenge_id: str, method: str, code: str, remember_device: bool = False) -> Session:
        body = {"challenge_id": challenge_id, "method": method, "code": code, "remember_device": remember_device}
        answer = self._http.post("/v1/login/verify", json=body)
        if not answer.is_success:
            error = answer.json().get("error", {})
            raise MfaError(answer.status_code, error.get("code", "unexpected_answer"), error.get("message", ""))
        return _session(answer.json())

    def send_login_sms(self, challenge_id: str) -> None:
        answer = self._http.post("/v1/login/sms", json={"challenge_id": challenge_id})
        if not answer.is_success:
            error = answer.json().get("error", {})
            raise MfaError(
                answer.status_code,
                error.get("code", "unexpected_answer"),
                error.get("message", ""),
                answer.headers.get("retry-after"),
            )

    # --- The user's own endpoints (their session token).

    def consent_text(self, purpose: str) -> ConsentText:
        texts = self._http.get("/v1/consent-texts").json()["texts"]
        text = next(text for text in texts if text["purpose"] == purpose)
        return ConsentText(purpose=text["purpose"], version=text["version"], text=text["text"])

    def start_totp(self, token: str, name: str, consent: str) -> TotpEnrollment:
        answer = self._call("POST", "/v1/mfa/totp", token=token, body={"name": name, "consent": consent})
        return TotpEnrollment(
            id=answer["id"], secret=answer["secret"], otpauth_uri=answer["otpauth_uri"], qr_svg=answer["qr_svg"]
        )

    def confirm_totp(self, token: str, enrollment_id: str, code: str) -> Confirmed:
        answer = self._call("POST", f"/v1/mfa/totp/{enrollment_id}/confirm", token=token, body={"code": code})
        session = _session(answer["session"]) if "session" in answer else None
        return Confirmed(backup_codes=answer.get("backup_codes", []), session=session)

    def add_phone(self, token: str, phone: str, consent: str) -> str:
        """Sends a code to `phone`; the enrollment's id."""
        return self._call("POST", "/v1/mfa/sms", token=token, body={"phone": phone, "consent": consent})["id"]

    def confirm_phone(self, token: str, phone_id: str, code: str) -> Confirmed:
        answer = self._call("POST", f"/v1/mfa/sms/{phone_id}/confirm", token=token, body={"code": code})
        session = _session(answer["session"]) if "session" in answer else None
        return Confirmed(backup_codes=answer.get("backup_codes", []), session=session)

    def factors(self, token: str) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/mfa/factors", token=token)["factors"]

    def logout(self, token: str) -> None:
        self._call("DELETE", "/v1/session", token=token)
