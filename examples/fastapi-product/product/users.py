"""The product's own users: email and an Argon2id password hash, in the product's own SQLite database. The MFA
service never sees the password; it knows the user by the product's id (`external_id`)."""

from __future__ import annotations

import secrets
import sqlite3
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, InvalidHashError

_HASHER = PasswordHasher()
# Checked when the email is unknown, so an unknown email costs what a wrong password does.
_DECOY = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    """A user of the product."""

    id: str
    email: str
    service_id: str | None = None


class Users:
    """The users table at `path` (`:memory:` for a throwaway one)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, hash TEXT NOT NULL, "
                "service_id TEXT UNIQUE)"
            )
            self._db.commit()

    def register(self, email: str, password: str) -> User | None:
        """A new user, or None when the email is taken."""
        user = User(id=f"p-{secrets.token_hex(8)}", email=email.strip().lower())
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO users (id, email, hash) VALUES (?, ?, ?)", (user.id, user.email, _HASHER.hash(password))
                )
                self._db.commit()
        except sqlite3.IntegrityError:
            return None
        return user

    def check(self, email: str, password: str) -> User | None:
        """The user with `email` if `password` is theirs."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, email, service_id, hash FROM users WHERE email = ?", (email.strip().lower(),)
            ).fetchone()
        try:
            _HASHER.verify(row[3] if row else _DECOY, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(id=row[0], email=row[1], service_id=row[2]) if row else None

    def link(self, user_id: str, service_id: str) -> None:
        """Remembers the MFA service's id of the user."""
        with self._lock:
            self._db.execute("UPDATE users SET service_id = ? WHERE id = ?", (service_id, user_id))
            self._db.commit()

    def by_service_id(self, service_id: str) -> User | None:
        with self._lock:
            row = self._db.execute("SELECT id, email, service_id FROM users WHERE service_id = ?", (service_id,)).fetchone()
        return User(id=row[0], email=row[1], service_id=row[2]) if row else None
