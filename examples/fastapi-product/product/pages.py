"""The few HTML pages of the example (enrolling an authenticator), as plain strings: every value from elsewhere is
escaped, except the QR code's SVG, which the MFA service draws."""

from __future__ import annotations

from html import escape


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width\"><title>{escape(title)}</title></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def consent_form(text: str, version: str) -> str:
    return page(
        "Set up an authenticator app",
        f"<p id=\"consent-text\">{escape(text)}</p>"
        "<form method=\"post\" action=\"/mfa/setup\">"
        f"<input type=\"hidden\" name=\"consent\" value=\"{escape(version)}\">"
        "<label><input type=\"checkbox\" name=\"agree\" value=\"yes\" required> I agree</label>"
        "<button type=\"submit\">Continue</button></form>",
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it in by hand."""
    secret = secret.rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def scan_form(enrollment_id: str, qr_svg: str, secret: str) -> str:
    return page(
        "Scan this code with your authenticator app",
        f"<figure>{qr_svg}<figcaption>Or enter this key: "
        f"<code id=\"secret\">{escape(grouped(secret))}</code></figcaption></figure>"
        f"<form method=\"post\" action=\"/mfa/setup/{escape(enrollment_id)}/confirm\">"
        "<label>Code from the app <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" "
        "required></label><button type=\"submit\">Confirm</button></form>",
    )


def backup_codes(codes: list[str]) -> str:
    shown = "".join(f"<li>{escape(code)}</li>" for code in codes)
    return page(
        "Your authenticator is set up",
        "<p>Keep these backup codes somewhere safe: each signs you in once if you lose your phone.</p>"
        f"<ol id=\"backup-codes\">{shown}</ol>",
    )


def refused(message: str) -> str:
    return page("That did not work", f"<p role=\"alert\">{escape(message)}</p>")
