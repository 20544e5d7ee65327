#!/usr/bin/env python3
"""The resource-server recipes of examples/ against a real latchkey.

Starts the latchkey binary (SQLite, a data directory of its own, a free
loopback port), registers a client with ``events`` through the CLI, starts
each recipe on a free loopback port following latchkey's revocation stream,
and for each: a fresh token is accepted, a missing or forged one refused, and
after a logout the token is refused within two seconds (polled, 50 ms apart)
while the user's other session still works; and RFC 9470 step-up: a
password-only token gets the challenge where a second factor is required,
one from a sign-in with a second factor passes. Prints one line per check and
``N passed, N failed``; exits non-zero when a check failed.

    scripts/recipes/journey.py LATCHKEY_BIN FASTAPI_VENV OUT_DIR

scripts/recipes.sh installs the recipes' packages and runs this.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
REFUSED_WITHIN = 2.0  # seconds from the logout's answer to the first refusal

results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    results.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    return ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(
    method: str, url: str, body: dict | None = None, bearer: str | None = None
) -> tuple[int, object, str]:
    """One request; the status, the body (JSON when it is) and WWW-Authenticate."""
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            status, text, answer = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, text, answer = e.code, e.read(), e.headers
    challenge = answer.get("WWW-Authenticate", "")
    try:
        return status, json.loads(text) if text else None, challenge
    except ValueError:
        return status, text.decode(errors="replace"), challenge


class Process:
    """A child process with its output in `log`; killed at exit."""

    def __init__(self, name: str, argv: list[str], env: dict, out: Path, cwd: Path | None = None):
        self.name, self.log = name, out / f"{name}.log"
        with open(self.log, "w") as log:
            self.child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, url: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.child.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.child.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready at {url} within {seconds:.0f} s:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(25)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()


def start_latchkey(bin_path: str, out: Path, data_dir: str) -> tuple[Process, str, dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # only these settings: latchkey refuses unknown LATCHKEY_* variables
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LATCHKEY_LISTEN": f"127.0.0.1:{port}",
        "LATCHKEY_PUBLIC_URL": base,
        "LATCHKEY_DATA_DIR": data_dir,
        "LATCHKEY_LOG_FORMAT": "json",
        # the least argon2 cost allowed: these checks are about tokens
        "LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB": "8192",
        "LATCHKEY_PASSWORDS_ARGON2_ITERATIONS": "1",
    }
    server = Process("latchkey", [bin_path, "serve"], env, out)
    server.wait_ready(f"{base}/health/ready")
    return server, base, env


def events_client(bin_path: str, env: dict) -> tuple[str, str]:
    out = subprocess.run(
        [bin_path, "client", "create", "--name", "recipes", "--events"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith("client_"))
    return fields["client_id"].strip(), fields["client_secret"].strip()


def sign_in(base: str, email: str) -> str:
    status, body, _ = call("POST", f"{base}/v1/auth/login", {"identifier": email, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"sign-in answered {status}: {body}")
    return body["access_token"]


def totp(secret: str, at: float) -> str:
    """RFC 6238 with latchkey's parameters: SHA-1, 30 s, 6 digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def step_up(name: str, base: str, app: str) -> None:
    """RFC 9470: /billing refuses a password-only token with the step-up
    challenge and accepts one from a sign-in with a second factor."""
    email = f"{name}-mfa-{secrets.token_hex(4)}@example.com"
    status, _, _ = call("POST", f"{base}/v1/auth/register", {"email": email, "password": PASSWORD})
    if not check(f"{name}: sign-up for step-up", status == 201, f"{status}" if status != 201 else ""):
        return
    token = sign_in(base, email)
    status, body, challenge = call("GET", f"{app}/billing", bearer=token)
    check(
        f"{name}: a password-only token gets the step-up challenge (401 insufficient_user_authentication)",
        status == 401
        and 'error="insufficient_user_authentication"' in challenge
        and 'acr_values="aal2"' in challenge
        and "max_age=900" in challenge,
        f"{status} WWW-Authenticate: {challenge}",
    )
    status, enrolment, _ = call("POST", f"{base}/v1/account/mfa/totp", bearer=token)
    if status != 201:
        check(f"{name}: TOTP enrolment", False, f"{status} {enrolment}")
        return
    status, codes, _ = call(
        "POST", f"{base}/v1/account/mfa/totp/confirm", {"code": totp(enrolment["secret"], time.time())}, bearer=token
    )
    if status != 200:
        check(f"{name}: TOTP confirmed", False, f"{status} {codes}")
        return
    status, first, _ = call("POST", f"{base}/v1/auth/login", {"identifier": email, "password": PASSWORD})
    status, tokens, _ = call(
        "POST",
        f"{base}/v1/auth/login/mfa",
        {"mfa_token": first.get("mfa_token", ""), "method": "backup_code", "code": codes["backup_codes"][0]},
    )
    if status != 200:
        check(f"{name}: sign-in with a second factor", False, f"{status} {tokens}")
        return
    status, body, _ = call("GET", f"{app}/billing", bearer=tokens["access_token"])
    check(
        f"{name}: a token from a sign-in with a second factor passes step-up",
        status == 200 and body.get("acr") == "aal2",
        f"{status} {body}",
    )


def journey(name: str, recipe: Process, base: str, app: str) -> None:
    """Sign in, access, logout, refusal: the recipe `name` listening on `app`."""
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    status, user, _ = call("POST", f"{base}/v1/auth/register", {"email": email, "password": PASSWORD})
    if not check(f"{name}: sign-up", status == 201, f"{status} {user}" if status != 201 else ""):
        return
    token = sign_in(base, email)
    kept = sign_in(base, email)

    status, body, _ = call("GET", f"{app}/me", bearer=token)
    check(f"{name}: a fresh token is accepted", status == 200 and body.get("sub") == user["id"], f"{status} {body}")
    status, body, _ = call("GET", f"{app}/me")
    check(f"{name}: no token is refused (401)", status == 401, f"{status}")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    status, body, _ = call("GET", f"{app}/me", bearer=forged)
    check(f"{name}: a token with a wrong signature is refused (401)", status == 401, f"{status}")

    status, body, _ = call("POST", f"{base}/v1/auth/logout", bearer=token)
    if not check(f"{name}: logout", status == 204, f"{status} {body}" if status != 204 else ""):
        return
    started = time.monotonic()
    while True:
        status, body, _ = call("GET", f"{app}/me", bearer=token)
        elapsed = time.monotonic() - started
        if status != 200 or elapsed > REFUSED_WITHIN:
            break
        time.sleep(0.05)
    check(
        f"{name}: the logged-out token is refused (401) within {REFUSED_WITHIN:.0f} s",
        status == 401 and elapsed <= REFUSED_WITHIN,
        f"{status} after {elapsed * 1000:.0f} ms",
    )
    status, body, _ = call("GET", f"{app}/me", bearer=kept)
    check(f"{name}: the user's other session still works", status == 200, f"{status}")


def main() -> int:
    bin_path, venv, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    processes: list[Process] = []
    with tempfile.TemporaryDirectory(prefix="latchkey-recipes-") as data_dir:
        try:
            server, base, env = start_latchkey(bin_path, out, data_dir)
            processes.append(server)
            client_id, client_secret = events_client(bin_path, env)
            recipes = {
                "fastapi": (
                    lambda port: [str(venv / "bin" / "uvicorn"), "app:app", "--host", "127.0.0.1", "--port", str(port)],
                    ROOT / "examples" / "fastapi",
                ),
                "express": (lambda port: ["node", "server.js"], ROOT / "examples" / "express"),
            }
            for name, (argv, cwd) in recipes.items():
                port = free_port()
                recipe_env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "ISSUER": base,
                    "EVENTS_CLIENT_ID": client_id,
                    "EVENTS_CLIENT_SECRET": client_secret,
                    "PORT": str(port),
                    "PYTHONDONTWRITEBYTECODE": "1",
                }
                recipe = Process(name, argv(port), recipe_env, out, cwd)
                processes.append(recipe)
                app = f"http://127.0.0.1:{port}"
                try:
                    # ready = following the revocation stream
                    recipe.wait_ready(f"{app}/healthz", 30)
                except RuntimeError as e:
                    check(f"{name}: starts and follows the revocation stream", False, str(e))
                    continue
                journey(name, recipe, base, app)
                step_up(name, base, app)
        except Exception as e:  # a failed start-up is one failed check, with the logs' tails
            check("the recipes' journeys ran", False, f"{type(e).__name__}: {e}")
        finally:
            for p in reversed(processes):
                p.stop()
    failed = sum(1 for _, ok, _ in results if not ok)
    if failed:
        print(f"logs: {out}/*.log", flush=True)
    print(f"recipes took {time.monotonic() - started:.1f} s", flush=True)
    print(f"{len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
