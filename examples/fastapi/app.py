"""A FastAPI resource server that trusts latchkey's access tokens.

Each request's bearer token is verified locally, with latchkey's public keys
(its JWKS, cached): no call to latchkey per request. A logout still takes
effect within about a second, because a background thread follows latchkey's
revocation stream (``GET /v1/events/stream``, Server-Sent Events) and refuses
tokens of the sessions it reports as ended. See docs/resource-servers.md.

Run it (the client needs the ``events`` permission:
``latchkey client create --name my-api --events``)::

    ISSUER=https://id.example.com EVENTS_CLIENT_ID=... EVENTS_CLIENT_SECRET=... \\
        uvicorn app:app --port 8001

Settings (environment):
    ISSUER                latchkey's public URL: the tokens' ``iss``
    AUDIENCE              the tokens' ``aud`` (default: ISSUER, latchkey's
                          ``tokens.audience`` default)
    LATCHKEY_URL          where this service reaches latchkey (default: ISSUER)
    EVENTS_CLIENT_ID, EVENTS_CLIENT_SECRET
                          a latchkey client with ``events``; without them no
                          stream is followed and a token is good until it expires
    REMEMBER_SECS         how long an ended session is remembered: at least the
                          access tokens' lifetime (default 3600)
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

import jwt
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("latchkey-recipe")

ISSUER = os.environ["ISSUER"].rstrip("/")
AUDIENCE = os.environ.get("AUDIENCE", ISSUER)
LATCHKEY_URL = os.environ.get("LATCHKEY_URL", ISSUER).rstrip("/")
EVENTS_CLIENT_ID = os.environ.get("EVENTS_CLIENT_ID")
EVENTS_CLIENT_SECRET = os.environ.get("EVENTS_CLIENT_SECRET")
REMEMBER_SECS = int(os.environ.get("REMEMBER_SECS", "3600"))

LEEWAY_SECS = 30
MIN_REFRESH_SECS = 10  # a token naming an unknown kid refetches at most this often
DEFAULT_MAX_AGE = 300
# The signature algorithms latchkey signs with; a key is used only with its own.
ALGORITHMS = {"ES256", "EdDSA", "RS256", "PS256"}


class Refused(Exception):
    """A request that is not let through: answered 401 (or 503) problem+json."""

    def __init__(self, code: str, detail: str, status: int = 401, challenge: str | None = None):
        super().__init__(detail)
        self.code, self.detail, self.status = code, detail, status
        if challenge is None and status == 401:
            challenge = 'Bearer error="invalid_token"' if code == "invalid_token" else "Bearer"
        self.challenge = challenge


class Jwks:
    """latchkey's public keys: kept for the answer's ``max-age``, refetched
    when a token names an unknown ``kid``, but at most once per
    MIN_REFRESH_SECS (forged kids cannot make us hammer latchkey). A failed
    fetch keeps the old keys."""

    def __init__(self, url: str):
        self.url = url
        self.keys: dict[str, jwt.PyJWK] = {}
        self.expires = 0.0
        self.fetched = float("-inf")
        self.lock = threading.Lock()

    def _fetch(self) -> None:
        self.fetched = time.monotonic()
        with urllib.request.urlopen(self.url, timeout=5) as r:
            body = json.load(r)
            match = re.search(r"max-age=(\d+)", r.headers.get("Cache-Control", ""))
        keys = {}
        for jwk in body.get("keys", []):
            if jwk.get("use", "sig") != "sig" or jwk.get("alg") not in ALGORITHMS or "kid" not in jwk:
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk)
            except jwt.PyJWKError:
                continue  # a key type this library does not know
        self.keys = keys
        self.expires = time.monotonic() + (int(match.group(1)) if match else DEFAULT_MAX_AGE)

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self.lock:
            now = time.monotonic()
            stale = now >= self.expires
            unknown = kid not in self.keys and now - self.fetched >= MIN_REFRESH_SECS
            if stale or unknown:
                try:
                    self._fetch()
                except (OSError, ValueError) as e:
                    log.warning("fetching latchkey's keys failed: %s", e)
            return self.keys.get(kid)

    def refresh_now(self) -> None:
        """After a ``keys.rotated`` event: the new key is needed at once."""
        with self.lock:
            try:
                self._fetch()
            except (OSError, ValueError) as e:
                log.warning("fetching latchkey's keys failed: %s", e)


class Revocations:
    """What the revocation stream said: ended sessions (``sid`` → when to
    forget it) and users whose tokens issued up to a moment are void."""

    def __init__(self) -> None:
        self.sessions: dict[str, float] = {}
        self.users: dict[str, float] = {}
        self.connected = threading.Event()
        self.lock = threading.Lock()

    def refuses(self, sid: str, sub: str, iat: float) -> bool:
        with self.lock:
            return sid in self.sessions or iat <= self.users.get(sub, float("-inf"))

    def record(self, event: str, data: dict) -> None:
        now = time.time()
        with self.lock:
            # forget what no unexpired token can carry any more
            self.sessions = {k: forget for k, forget in self.sessions.items() if forget > now}
            self.users = {k: at for k, at in self.users.items() if at + REMEMBER_SECS > now}
            if event == "session.revoked" and data.get("sid"):
                self.sessions[data["sid"]] = now + REMEMBER_SECS
            elif event in ("user.suspended", "user.deleted") and data.get("sub"):
                # dated by latchkey's clock, not ours
                at = _unix(data.get("at")) or now
                self.users[data["sub"]] = max(at, self.users.get(data["sub"], at))


def _unix(at: str | None) -> float | None:
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() if at else None
    except ValueError:
        return None


def follow_stream(revoked: Revocations, jwks: Jwks) -> None:
    """Follows ``/v1/events/stream`` for ever: reconnects after any failure
    (a doubling pause up to 5 s) with ``Last-Event-ID``, so nothing committed
    meanwhile is missed; a 410 (away longer than latchkey keeps events)
    starts again from the newest."""
    credentials = base64.b64encode(f"{EVENTS_CLIENT_ID}:{EVENTS_CLIENT_SECRET}".encode()).decode()
    last_id = None
    pause = 0.1
    while True:
        headers = {"Authorization": f"Basic {credentials}", "Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        request = urllib.request.Request(f"{LATCHKEY_URL}/v1/events/stream", headers=headers)
        try:
            # latchkey sends a comment every 15 s: a silent minute is a dead connection
            with urllib.request.urlopen(request, timeout=60) as r:
                revoked.connected.set()
                pause = 0.1
                event, data = "message", []
                for raw in r:
                    line = raw.decode("utf-8").rstrip("\r\n")
                    if not line:  # the end of one event
                        if data:
                            try:
                                body = json.loads("\n".join(data))
                            except ValueError:
                                body = {}
                            revoked.record(event, body)
                            if event == "keys.rotated":
                                jwks.refresh_now()
                        event, data = "message", []
                    elif line.startswith(":"):
                        continue
                    else:
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if field == "id":
                            last_id = value
                        elif field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
        except urllib.error.HTTPError as e:
            if e.code == 410:
                log.warning("revocation events were missed (no longer retained); resuming from the newest")
                last_id = None
            elif e.code == 403:
                log.error("this client may not read the revocation stream: latchkey client update ID --events true")
            else:
                log.warning("revocation stream answered %s; reconnecting", e.code)
        except (OSError, ValueError) as e:
            log.warning("revocation stream lost (%s); reconnecting", e)
        revoked.connected.clear()
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


jwks = Jwks(f"{LATCHKEY_URL}/.well-known/jwks.json")
revoked = Revocations()
if EVENTS_CLIENT_ID and EVENTS_CLIENT_SECRET:
    threading.Thread(target=follow_stream, args=(revoked, jwks), daemon=True, name="revocations").start()


def verified(request: Request) -> dict:
    """The claims of the request's bearer token, checked like latchkey-verify
    does: ``typ: at+jwt``, the algorithm of the key named by ``kid``, exact
    ``iss`` and ``aud``, ``exp``/``nbf`` with 30 s leeway, and no ended session."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refused("unauthenticated", "a bearer token is required")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Refused("invalid_token", "the token is malformed")
    if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise Refused("invalid_token", "not an access token")
    key = jwks.key(str(header.get("kid", "")))
    if key is None:
        if not jwks.keys:
            raise Refused("unavailable", "latchkey's keys cannot be fetched", 503)
        raise Refused("invalid_token", "signed with an unknown key")
    if header.get("alg") != key.algorithm_name:
        raise Refused("invalid_token", "the algorithm is not the key's")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECS,
            options={"require": ["exp", "iat", "sub", "sid"], "strict_aud": False},
        )
    except jwt.InvalidTokenError as e:
        raise Refused("invalid_token", str(e))
    if revoked.refuses(claims["sid"], claims["sub"], claims["iat"]):
        raise Refused("invalid_token", "the session has ended")
    return claims


app = FastAPI(title="latchkey FastAPI recipe")


@app.exception_handler(Refused)
async def refused(_: Request, e: Refused) -> JSONResponse:
    return JSONResponse(
        {"type": f"urn:latchkey:problem:{e.code}", "title": e.code.replace("_", " ").capitalize(),
         "status": e.status, "detail": e.detail, "code": e.code},
        status_code=e.status,
        media_type="application/problem+json",
        headers={"WWW-Authenticate": e.challenge} if e.challenge else None,
    )


@app.get("/me")
def me(claims: dict = Depends(verified)) -> dict:
    """Who the token speaks for."""
    return {"sub": claims["sub"], "sid": claims["sid"]}


def step_up(acr: str, max_age: int):
    """A requirement: the sign-in behind the token reached `acr` (latchkey's
    ``aal2`` = a second factor) within `max_age` seconds. Otherwise 401 with
    the RFC 9470 step-up challenge, which a client answers by sending the
    user to latchkey's authorize endpoint with these ``acr_values`` and
    ``max_age``."""

    def require(claims: dict = Depends(verified)) -> dict:
        recent = time.time() - claims.get("auth_time", 0) <= max_age
        if claims.get("acr") != acr or not recent:
            raise Refused(
                "insufficient_user_authentication",
                "a stronger or more recent sign-in is required",
                challenge='Bearer error="insufficient_user_authentication", '
                f'error_description="A stronger or more recent sign-in is required", acr_values="{acr}", max_age={max_age}',
            )
        return claims

    return require


@app.get("/billing")
def billing(claims: dict = Depends(step_up("aal2", 900))) -> dict:
    """Only after a sign-in with a second factor, in the last 15 minutes."""
    return {"sub": claims["sub"], "acr": claims["acr"]}


@app.get("/healthz")
def healthz() -> JSONResponse:
    """200 once the revocation stream is followed (a load balancer should
    not send traffic before: a logout meanwhile would not be seen)."""
    ok = revoked.connected.is_set() or not EVENTS_CLIENT_ID
    return JSONResponse({"revocation_stream": ok}, status_code=200 if ok else 503)
