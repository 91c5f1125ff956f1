"""What the journey runs against: a fake of Twilio's Messages API on loopback, the MFA service (the repository's
spin.toml served by mfa-host) on each storage backend in turn (a fresh SQLite database; Redis and a Postgres
database of its own, created and dropped around the run), and the example product on its own port (uvicorn),
all on 127.0.0.1.

`MFA_HOST` names the mfa-host binary (default: the repository's target/debug/mfa-host, which the repository's
test command builds); `DATABASE_URL` (an administrative connection, default the machine's
`postgres://postgres@127.0.0.1:5432/postgres`) and `REDIS_URL` (default `redis://127.0.0.1:6379`) where the
redis-postgres backend's servers are.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pg8000.native
import pytest
import uvicorn

from product.main import create_app

REPO = Path(__file__).resolve().parents[3]


class FakeTwilio:
    """Accepts messages as Twilio's Messages API does (201 with a SID) and keeps them."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                form = {key: values[0] for key, values in parse_qs(self.body().decode()).items()}
                outer.messages.append(form)
                body = json.dumps({"sid": f"SM{secrets.token_hex(16)}", "status": "queued"}).encode()
                self.send_response(201)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def body(self) -> bytes:
                """The request body, sized or chunked."""
                if self.headers.get("transfer-encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("content-length") or 0))
                chunks = b""
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return chunks

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def last_code(self, to: str) -> str:
        for message in reversed(self.messages):
            if message.get("To") == to:
                return re.search(r"\b(\d{6})\b", message["Body"]).group(1)
        raise AssertionError(f"no message to {to}: {self.messages}")


@pytest.fixture(scope="session")
def twilio() -> FakeTwilio:
    fake = FakeTwilio()
    yield fake
    fake.server.shutdown()


def redis_command(url: str, *args: str) -> bytes:
    """One Redis command over RESP on a plain socket: the first line of the reply."""
    import socket

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=10) as connection:
        if parts.password:
            connection.sendall(_resp("AUTH", parts.password))
            connection.recv(1024)
        connection.sendall(_resp(*args))
        return connection.recv(65536).split(b"\r\n")[0]


def _resp(*args: str) -> bytes:
    encoded = [arg.encode() for arg in args]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded)


def postgres_admin() -> pg8000.native.Connection:
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    return pg8000.native.Connection(
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        database=parts.path.lstrip("/") or "postgres",
    )


@pytest.fixture(scope="session", params=["sqlite", "redis-postgres"])
def service(request: pytest.FixtureRequest, twilio: FakeTwilio, tmp_path_factory: pytest.TempPathFactory):
    """The MFA service on one storage backend: its base URL and service API key."""
    work = tmp_path_factory.mktemp("mfa-service")
    api_key = secrets.token_urlsafe(32)
    env = dict(os.environ)
    env.update(
        {
            "SPIN_VARIABLE_API_KEY": api_key,
            "SPIN_VARIABLE_ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "SPIN_VARIABLE_CODE_PEPPER": secrets.token_urlsafe(32),
            "SPIN_VARIABLE_TWILIO_API_BASE": twilio.url,
            "SPIN_VARIABLE_TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000001",
            "SPIN_VARIABLE_TWILIO_AUTH_TOKEN": "fake-auth-token",
            "SPIN_VARIABLE_TWILIO_FROM": "+15005550006",
            "SPIN_VARIABLE_STORAGE": request.param,
        }
    )
    database = None
    prefix = f"mfa-example-{secrets.token_hex(6)}:"
    if request.param == "redis-postgres":
        database = f"mfa_example_{secrets.token_hex(6)}"
        admin = postgres_admin()
        admin.run(f"CREATE DATABASE {database}")
        redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
        env.update(
            {
                "SPIN_VARIABLE_POSTGRES_DATABASE": database,
                # The machine's Postgres offers TLS only with a self-signed certificate: plain TCP on loopback.
                "SPIN_VARIABLE_POSTGRES_SSLMODE": "disable",
                "SPIN_VARIABLE_REDIS_HOST": redis.hostname or "127.0.0.1",
                "SPIN_VARIABLE_REDIS_PORT": str(redis.port or 6379),
                "SPIN_VARIABLE_REDIS_KEY_PREFIX": prefix,
            }
        )
        parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
        env["SPIN_VARIABLE_POSTGRES_HOST"] = parts.hostname or "127.0.0.1"
        env["SPIN_VARIABLE_POSTGRES_PORT"] = str(parts.port or 5432)
        env["SPIN_VARIABLE_POSTGRES_USER"] = parts.username or "postgres"
        if parts.password:
            env["SPIN_VARIABLE_POSTGRES_PASSWORD"] = parts.password
        if redis.password:
            env["SPIN_VARIABLE_REDIS_PASSWORD"] = redis.password
        admin.close()
    config = work / "runtime-config.toml"
    config.write_text(f'[sqlite_database.default]\ntype = "spin"\npath = "{work / "mfa.db"}"\n')
    host = os.environ.get("MFA_HOST", str(REPO / "target" / "debug" / "mfa-host"))
    log = open(work / "host.log", "w")
    process = subprocess.Popen(
        [host, "up", "--from", str(REPO / "spin.toml"), "--listen", "127.0.0.1:0",
         "--runtime-config-file", str(config), "--startup-request", "POST", "/v1/admin/migrate",
         "--startup-bearer-variable", "api_key", "--cache-dir", str(REPO / "target" / "mfa-host-cache")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
    )
    base = None
    deadline = time.monotonic() + 120
    while base is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise RuntimeError(f"mfa-host stopped: {(work / 'host.log').read_text()[-2000:]}")
        match = re.match(r"^Serving (http://\S+)$", line.strip())
        base = match.group(1) if match else None
    if base is None:
        process.kill()
        raise RuntimeError("mfa-host did not announce itself")
    threading.Thread(target=process.stdout.read, daemon=True).start()
    yield {"url": base, "api_key": api_key}
    process.terminate()
    process.wait(timeout=10)
    log.close()
    if database is not None:
        admin = postgres_admin()
        admin.run(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()
        sweep = "for _, key in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', key) end return 0"
        redis_command(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"), "EVAL", sweep, "0", prefix + "*")


@pytest.fixture(scope="session")
def product(service: dict[str, str]) -> str:
    """The example product, served by uvicorn: its base URL."""
    db = tempfile.NamedTemporaryFile(suffix=".db", delete=False).name
    app = create_app(service["url"], service["api_key"], db, secure_cookies=False, cache_ttl=5.0)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and server.servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    os.unlink(db)
