"""The product: its own users and password check, with MFA and sessions from the MFA service.

- `POST /signup {email, password}`: a user of the product, known to the MFA service by the product's id.
- `POST /login {email, password}`: the product checks the password, then asks the service to sign the user in: a
  session (kept in the product's own cookie) or a second-factor challenge, answered at `POST /login/verify` (a
  code from the authenticator app, an SMS code sent by `POST /login/sms`, or a backup code).
- `GET /me`, `GET /notes`: the product's API, protected by introspection (`auth.current_user`).
- `GET /mfa/setup` (consent text) -> `POST /mfa/setup` (QR code page) -> `POST /mfa/setup/{id}/confirm` (backup
  codes); `GET /mfa/phone/consent`, `POST /mfa/phone` and `POST /mfa/phone/{id}/confirm` for an SMS phone.
- `POST /logout` (this session), `POST /logout-everywhere` (every session of the user).

Run it: `MFA_SERVICE_URL=http://127.0.0.1:3000 MFA_SERVICE_KEY=$(cat .spin/api-key) uvicorn product.main:app`.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from . import pages
from .auth import SESSION_COOKIE, CurrentUser, IntrospectionCache, current_user, session_token
from .mfa_client import Challenge, MfaError, MfaService, Session
from .users import Users

DEVICE_COOKIE = "product_device"


class Credentials(BaseModel):
    email: str
    password: str


class Verification(BaseModel):
    challenge_id: str
    method: str
    code: str
    remember_device: bool = False


class ChallengeRef(BaseModel):
    challenge_id: str


class NewPhone(BaseModel):
    phone: str
    consent: str


class Code(BaseModel):
    code: str


def create_app(
    service_url: str, api_key: str, db_path: str = ":memory:", secure_cookies: bool = True, cache_ttl: float = 5.0
) -> FastAPI:
    """The product, using the MFA service at `service_url` with the service API key `api_key`."""
    app = FastAPI(title="Example product with MFA")
    service = MfaService(service_url, api_key)
    app.state.service = service
    app.state.users = Users(db_path)
    app.state.introspection = IntrospectionCache(service, ttl=cache_ttl)

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, httponly=True, secure=secure_cookies, samesite="lax")

    def signed_in(response: Response, session: Session) -> dict:
        set_cookie(response, SESSION_COOKIE, session.token, 86_400)
        return {"signed_in": True, "aal": session.aal, "mfa_enrollment_required": session.mfa_enrollment_required}

    @app.exception_handler(MfaError)
    def mfa_refused(_request: Request, error: MfaError) -> JSONResponse:
        headers = {"retry-after": error.retry_after} if error.retry_after else None
        status = error.status if error.status < 500 else 502
        return JSONResponse({"error": {"code": error.code, "message": error.message}}, status, headers=headers)

    @app.post("/signup", status_code=201)
    def signup(credentials: Credentials) -> dict:
        user = app.state.users.register(credentials.email, credentials.password)
        if user is None:
            raise HTTPException(409, "this email already has an account")
        linked = service.find_or_create_user(external_id=user.id, email=user.email)
        app.state.users.link(user.id, linked.id)
        return {"id": user.id}

    @app.post("/login")
    def login(credentials: Credentials, request: Request, response: Response) -> dict:
        user = app.state.users.check(credentials.email, credentials.password)
        if user is None or user.service_id is None:
            raise HTTPException(401, "wrong email or password")
        client_ip = request.client.host if request.client else None
        user_agent = request.headers.get("user-agent", "")
        outcome = service.sign_in(user.service_id, client_ip, user_agent, request.cookies.get(DEVICE_COOKIE))
        if outcome.device_id:
            set_cookie(response, DEVICE_COOKIE, outcome.device_id, 400 * 86_400)
        if isinstance(outcome, Challenge):
            return {"mfa_required": True, "challenge_id": outcome.challenge_id, "methods": outcome.methods}
        return signed_in(response, outcome)

    @app.post("/login/verify")
    def verify(body: Verification, response: Response) -> dict:
        session = service.verify(body.challenge_id, body.method, body.code, body.remember_device)
        return signed_in(response, session)

    @app.post("/login/sms")
    def login_sms(body: ChallengeRef) -> dict:
        service.send_login_sms(body.challenge_id)
        return {"sent": True}

    @app.get("/me")
    def me(caller: Annotated[CurrentUser, Depends(current_user)]) -> dict:
        user = app.state.users.by_service_id(caller.service_user_id)
        if user is None:
            raise HTTPException(401, "no such user")
        return {"id": user.id, "email": user.email, "aal": caller.aal}

    @app.get("/notes")
    def notes(caller: Annotated[CurrentUser, Depends(current_user)]) -> dict:
        return {"notes": [f"a note only session {caller.session_id[:6]}... can read"]}

    @app.get("/mfa/setup", response_class=HTMLResponse)
    def setup_consent(_token: Annotated[str, Depends(session_token)]) -> str:
        text = service.consent_text("totp")
        return pages.consent_form(text.text, text.version)

    @app.post("/mfa/setup", response_class=HTMLResponse)
    def setup_start(
        token: Annotated[str, Depends(session_token)], consent: Annotated[str, Form()], agree: Annotated[str, Form()]
    ) -> HTMLResponse:
        if agree != "yes":
            return HTMLResponse(pages.refused("Agree to continue."), 400)
        try:
            enrollment = service.start_totp(token, "Example product", consent)
        except MfaError as error:
            return HTMLResponse(pages.refused(error.message), error.status if error.status < 500 else 502)
        return HTMLResponse(pages.scan_form(enrollment.id, enrollment.qr_svg, enrollment.secret))

    @app.post("/mfa/setup/{enrollment_id}/confirm", response_class=HTMLResponse)
    def setup_confirm(
        enrollment_id: str, request: Request, token: Annotated[str, Depends(session_token)], code: Annotated[str, Form()]
    ) -> HTMLResponse:
        try:
            confirmed = service.confirm_totp(token, enrollment_id, code.strip())
        except MfaError as error:
            return HTMLResponse(pages.refused(error.message), error.status if error.status < 500 else 502)
        response = HTMLResponse(pages.backup_codes(confirmed.backup_codes))
        if confirmed.session is not None:
            # A restricted session got a new token with full use: the old one no longer works.
            app.state.introspection.forget(token)
            set_cookie(response, SESSION_COOKIE, confirmed.session.token, 86_400)
        return response

    @app.get("/mfa/phone/consent")
    def phone_consent() -> dict:
        text = service.consent_text("sms")
        return {"text": text.text, "version": text.version}

    @app.post("/mfa/phone", status_code=201)
    def phone_add(body: NewPhone, token: Annotated[str, Depends(session_token)]) -> dict:
        return {"id": service.add_phone(token, body.phone, body.consent)}

    @app.post("/mfa/phone/{phone_id}/confirm")
    def phone_confirm(phone_id: str, body: Code, token: Annotated[str, Depends(session_token)]) -> dict:
        confirmed = service.confirm_phone(token, phone_id, body.code)
        return {"enabled": True, "backup_codes": confirmed.backup_codes}

    @app.post("/logout")
    def logout(response: Response, token: Annotated[str, Depends(session_token)]) -> dict:
        app.state.introspection.forget(token)
        try:
            service.logout(token)
        except MfaError as error:
            if error.status != 401:
                raise
        response.delete_cookie(SESSION_COOKIE)
        return {"signed_out": True}

    @app.post("/logout-everywhere")
    def logout_everywhere(response: Response, caller: Annotated[CurrentUser, Depends(current_user)]) -> dict:
        ended = service.revoke_sessions(caller.service_user_id)
        app.state.introspection.forget_user(caller.service_user_id)
        response.delete_cookie(SESSION_COOKIE)
        return {"sessions_ended": len(ended)}

    return app


def _from_environment() -> FastAPI:
    return create_app(
        os.environ.get("MFA_SERVICE_URL", "http://127.0.0.1:3000"),
        os.environ.get("MFA_SERVICE_KEY", ""),
        os.environ.get("PRODUCT_DB", "product.db"),
        secure_cookies=os.environ.get("PRODUCT_INSECURE_COOKIES") != "1",
    )


app = _from_environment() if os.environ.get("MFA_SERVICE_KEY") else None
