"""The product's users, end to end over HTTP: sign-up, a password login, enrolling an authenticator on the product's
own page (codes from pyotp, an implementation independent of the service), login with a second factor (TOTP, SMS
through the fake Twilio, a backup code), the product's API behind introspection, logout and "sign out
everywhere"."""

from __future__ import annotations

import re
import time
from html import unescape

import httpx
import pyotp

PASSWORD = "correct horse battery staple"


def browser(product: str) -> httpx.Client:
    """A client with its own cookie jar, as one browser."""
    return httpx.Client(base_url=product, headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"})


def signed_up(product: str, email: str) -> httpx.Client:
    client = browser(product)
    assert client.post("/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    return client


def enroll_authenticator(client: httpx.Client) -> tuple[pyotp.TOTP, list[str]]:
    """Enrolls through the product's pages: the authenticator (as pyotp) and the backup codes shown."""
    consent_page = client.get("/mfa/setup")
    assert consent_page.status_code == 200, consent_page.text
    assert "authenticator app" in consent_page.text
    version = re.search(r'name="consent" value="([^"]+)"', consent_page.text).group(1)
    refused = client.post("/mfa/setup", data={"consent": "totp-000000000000", "agree": "yes"})
    assert refused.status_code == 400 and "consent" in refused.text
    scan_page = client.post("/mfa/setup", data={"consent": version, "agree": "yes"})
    assert scan_page.status_code == 200, scan_page.text
    assert "<svg" in scan_page.text, "the QR code is on the page"
    secret = unescape(re.search(r'<code id="secret">([^<]+)</code>', scan_page.text).group(1)).replace(" ", "")
    action = re.search(r'action="(/mfa/setup/[^"]+/confirm)"', scan_page.text).group(1)
    totp = pyotp.TOTP(secret)
    wrong = client.post(action, data={"code": "000000" if totp.now() != "000000" else "111111"})
    assert wrong.status_code == 400, wrong.text
    done = client.post(action, data={"code": totp.now()})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li>([^<]+)</li>", done.text)
    assert len(codes) == 10, done.text
    return totp, codes


def test_the_whole_journey_from_sign_up_to_sign_out_everywhere(product: str, twilio) -> None:
    client = signed_up(product, "ada@example.com")
    assert client.post("/signup", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 409

    # Wrong password: the product refuses without asking the service for anything.
    assert client.post("/login", json={"email": "ada@example.com", "password": "nope"}).status_code == 401
    assert client.get("/me").status_code == 401

    # No second factor yet: the password alone signs in (aal 1) and the API answers.
    first = client.post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert first.status_code == 200 and first.json()["aal"] == 1, first.text
    me = client.get("/me").json()
    assert (me["email"], me["aal"], me["id"].startswith("p-")) == ("ada@example.com", 1, True), me
    assert client.get("/notes").status_code == 200

    totp, backup_codes = enroll_authenticator(client)

    # A phone as a second factor too (still a recent sign-in), with consent to the text the product shows.
    phone_consent = client.get("/mfa/phone/consent").json()
    assert "Twilio" in phone_consent["text"], phone_consent
    without = client.post("/mfa/phone", json={"phone": "+44 7700 900123", "consent": ""})
    assert without.status_code == 400 and without.json()["error"]["code"] == "consent_required", without.text
    added = client.post("/mfa/phone", json={"phone": "+44 7700 900123", "consent": phone_consent["version"]})
    assert added.status_code == 201, added.text
    code = twilio.last_code("+447700900123")
    assert client.post(f"/mfa/phone/{added.json()['id']}/confirm", json={"code": code}).status_code == 200

    # Logout ends the session at the service: the product's API refuses it at once.
    assert client.post("/logout").status_code == 200
    assert client.get("/me").status_code == 401

    # Now the password gives a challenge; a code from the app completes it (aal 2).
    challenge = client.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    assert challenge["mfa_required"] is True and "totp" in challenge["methods"], challenge
    bad = client.post("/login/verify", json={"challenge_id": challenge["challenge_id"], "method": "totp", "code": "12345"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (401, "invalid_code"), bad.text
    # The next time step's code: the one the app showed at enrollment is spent (each code works once).
    next_code = totp.at(time.time() + 30)
    verify = {"challenge_id": challenge["challenge_id"], "method": "totp", "code": next_code, "remember_device": True}
    verified = client.post("/login/verify", json=verify)
    assert verified.status_code == 200 and verified.json()["aal"] == 2, verified.text
    assert client.get("/me").json()["aal"] == 2


    # This browser is now trusted (the product forwards the device id it keeps): the password alone signs in.
    assert client.post("/logout").status_code == 200
    trusted = client.post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert trusted.json().get("signed_in") is True and trusted.json()["aal"] == 2, trusted.text

    other = browser(product)
    challenge = other.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    assert "sms" in challenge["methods"], challenge
    assert other.post("/login/sms", json={"challenge_id": challenge["challenge_id"]}).status_code == 200
    by_sms = other.post(
        "/login/verify",
        json={"challenge_id": challenge["challenge_id"], "method": "sms", "code": twilio.last_code("+447700900123")},
    )
    assert by_sms.status_code == 200, by_sms.text

    # A third browser with a backup code (each works once).
    third = browser(product)
    challenge = third.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    verify = {"challenge_id": challenge["challenge_id"], "method": "backup_code", "code": backup_codes[0]}
    assert third.post("/login/verify", json=verify).status_code == 200
    again = third.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    reused = third.post("/login/verify", json={**verify, "challenge_id": again["challenge_id"]})
    assert (reused.status_code, reused.json()["error"]["code"]) == (401, "invalid_code"), reused.text

    # Sign out everywhere: every browser's session ends, at once for this product instance.
    for each in (client, other, third):
        assert each.get("/me").status_code == 200
    assert client.post("/logout-everywhere").json()["sessions_ended"] >= 3
    for each in (client, other, third):
        assert each.get("/me").status_code == 401

