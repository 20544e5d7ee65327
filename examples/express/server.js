// An Express resource server that trusts latchkey's access tokens.
//
// Each request's bearer token is verified locally with latchkey's public keys
// (jose's remote JWKS set, cached): no call to latchkey per request. A logout
// still takes effect within about a second, because this process follows
// latchkey's revocation stream (GET /v1/events/stream, Server-Sent Events)
// and refuses tokens of the sessions it reports as ended. See
// docs/resource-servers.md.
//
// Run it (the client needs the `events` permission:
// `latchkey client create --name my-api --events`):
//
//   ISSUER=https://id.example.com EVENTS_CLIENT_ID=... EVENTS_CLIENT_SECRET=... PORT=8002 node server.js
//
// Settings (environment): ISSUER (latchkey's public URL, the tokens' `iss`);
// AUDIENCE (the tokens' `aud`, default ISSUER); LATCHKEY_URL (where this
// service reaches latchkey, default ISSUER); EVENTS_CLIENT_ID and
// EVENTS_CLIENT_SECRET (a client with `events`; without them no stream is
// followed and a token is good until it expires); REMEMBER_SECS (how long an
// ended session is remembered, at least the access tokens' lifetime, default
// 3600); PORT and HOST (default 127.0.0.1).

import express from "express";
import { createRemoteJWKSet, errors, jwtVerify } from "jose";

const env = process.env;
const ISSUER = required("ISSUER").replace(/\/+$/, "");
const AUDIENCE = env.AUDIENCE ?? ISSUER;
const LATCHKEY_URL = (env.LATCHKEY_URL ?? ISSUER).replace(/\/+$/, "");
const REMEMBER_MS = Number(env.REMEMBER_SECS ?? 3600) * 1000;

function required(name) {
  if (!env[name]) throw new Error(`set ${name}`);
  return env[name];
}

// latchkey's keys: kept 5 minutes (latchkey's JWKS says max-age=300), and
// refetched when a token names an unknown kid, at most once per 10 s (forged
// kids cannot make us hammer latchkey). jose uses a key only with its own `alg`.
const jwks = createRemoteJWKSet(new URL(`${LATCHKEY_URL}/.well-known/jwks.json`), {
  cacheMaxAge: 300_000,
  cooldownDuration: 10_000,
  timeoutDuration: 5_000,
});

// What the revocation stream said: ended sessions (sid → when to forget it)
// and users whose tokens issued up to a moment (latchkey's clock) are void.
const endedSessions = new Map();
const voidUsers = new Map();
let streamConnected = false;

function refuses(claims) {
  const until = voidUsers.get(claims.sub);
  return endedSessions.has(claims.sid) || (until !== undefined && claims.iat * 1000 <= until);
}

function record(event, data) {
  const now = Date.now();
  for (const [sid, forget] of endedSessions) if (forget <= now) endedSessions.delete(sid);
  for (const [sub, at] of voidUsers) if (at + REMEMBER_MS <= now) voidUsers.delete(sub);
  if (event === "session.revoked" && data.sid) {
    endedSessions.set(data.sid, now + REMEMBER_MS);
  } else if ((event === "user.suspended" || event === "user.deleted") && data.sub) {
    const at = Date.parse(data.at ?? "") || now;
    voidUsers.set(data.sub, Math.max(at, voidUsers.get(data.sub) ?? at));
  } else if (event === "keys.rotated") {
    jwks.reload().catch((e) => console.warn(`fetching latchkey's keys failed: ${e.message}`));
  }
}

// Follows /v1/events/stream for ever: reconnects after any failure (a
// doubling pause up to 5 s) with Last-Event-ID, so nothing committed
// meanwhile is missed; a 410 (away longer than latchkey keeps events) starts
// again from the newest.
async function followStream(clientId, clientSecret) {
  const credentials = Buffer.from(`${clientId}:${clientSecret}`).toString("base64");
  let lastId = null;
  let pause = 100;
  for (;;) {
    // latchkey sends a comment every 15 s: a silent minute is a dead connection
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(), 60_000);
    try {
      const headers = { authorization: `Basic ${credentials}`, accept: "text/event-stream" };
      if (lastId) headers["last-event-id"] = lastId;
      const r = await fetch(`${LATCHKEY_URL}/v1/events/stream`, { headers, signal: idle.signal });
      if (r.status === 410) {
        console.warn("revocation events were missed (no longer retained); resuming from the newest");
        lastId = null;
      } else if (r.status === 403) {
        console.error("this client may not read the revocation stream: latchkey client update ID --events true");
      } else if (!r.ok) {
        console.warn(`revocation stream answered ${r.status}; reconnecting`);
      } else {
        streamConnected = true;
        pause = 100;
        const decoder = new TextDecoder();
        let buffered = "";
        let event = "message";
        let data = [];
        for await (const chunk of r.body) {
          clearTimeout(timer);
          timer = setTimeout(() => idle.abort(), 60_000);
          buffered += decoder.decode(chunk, { stream: true });
          let end;
          while ((end = buffered.search(/\r\n|\r|\n/)) >= 0) {
            const line = buffered.slice(0, end);
            buffered = buffered.slice(end + (buffered.startsWith("\r\n", end) ? 2 : 1));
            if (line === "") {
              if (data.length) {
                let body = {};
                try {
                  body = JSON.parse(data.join("\n"));
                } catch {
                  // not JSON: nothing to take in
                }
                record(event, body);
              }
              event = "message";
              data = [];
            } else if (!line.startsWith(":")) {
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              let value = colon < 0 ? "" : line.slice(colon + 1);
              if (value.startsWith(" ")) value = value.slice(1);
              if (field === "id") lastId = value;
              else if (field === "event") event = value;
              else if (field === "data") data.push(value);
            }
          }
        }
      }
    } catch (e) {
      console.warn(`revocation stream lost (${e.message}); reconnecting`);
    } finally {
      clearTimeout(timer);
    }
    streamConnected = false;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 5_000);
  }
}

const following = Boolean(env.EVENTS_CLIENT_ID && env.EVENTS_CLIENT_SECRET);
if (following) followStream(env.EVENTS_CLIENT_ID, env.EVENTS_CLIENT_SECRET);

/** problem+json; 401s carry a Bearer challenge. */
function refuse(res, status, code, detail, challenge) {
  if (status === 401) res.set("WWW-Authenticate", challenge ?? (code === "invalid_token" ? 'Bearer error="invalid_token"' : "Bearer"));
  res.status(status).type("application/problem+json").send(
    JSON.stringify({ type: `urn:latchkey:problem:${code}`, title: code.replace(/_/g, " "), status, detail, code }),
  );
}

/**
 * Lets a request through with `req.claims` when its bearer token is good,
 * checked like latchkey-verify does: `typ: at+jwt`, the algorithm of the key
 * named by `kid`, exact `iss` and `aud`, `exp`/`nbf` with 30 s leeway, and no
 * ended session.
 */
async function verified(req, res, next) {
  const [scheme, token] = (req.get("authorization") ?? "").split(" ", 2);
  if (scheme?.toLowerCase() !== "bearer" || !token) return refuse(res, 401, "unauthenticated", "a bearer token is required");
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token, jwks, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
      algorithms: ["ES256", "EdDSA", "RS256", "PS256"],
      clockTolerance: 30,
      requiredClaims: ["exp", "iat", "sub", "sid"],
    }));
  } catch (e) {
    // a network failure, a timeout or an unreadable key set: latchkey's keys
    // cannot be had, which says nothing about the token
    const unavailable = !(e instanceof errors.JOSEError) || e instanceof errors.JWKSTimeout ||
      e instanceof errors.JWKSInvalid || e.code === "ERR_JOSE_GENERIC";
    if (unavailable) return refuse(res, 503, "unavailable", "latchkey's keys cannot be fetched");
    return refuse(res, 401, "invalid_token", e.message);
  }
  if (refuses(claims)) return refuse(res, 401, "invalid_token", "the session has ended");
  req.claims = claims;
  next();
}

/**
 * A requirement: the sign-in behind the token reached `acr` (latchkey's
 * `aal2` = a second factor) within `maxAge` seconds. Otherwise 401 with the
 * RFC 9470 step-up challenge, which a client answers by sending the user to
 * latchkey's authorize endpoint with these `acr_values` and `max_age`.
 */
function stepUp(acr, maxAge) {
  return (req, res, next) => {
    const recent = Date.now() / 1000 - (req.claims.auth_time ?? 0) <= maxAge;
    if (req.claims.acr === acr && recent) return next();
    refuse(res, 401, "insufficient_user_authentication", "a stronger or more recent sign-in is required",
      'Bearer error="insufficient_user_authentication", error_description="A stronger or more recent sign-in is required", ' +
        `acr_values="${acr}", max_age=${maxAge}`);
  };
}

const app = express();
app.disable("x-powered-by");

/** Who the token speaks for. */
app.get("/me", verified, (req, res) => res.json({ sub: req.claims.sub, sid: req.claims.sid }));

/** Only after a sign-in with a second factor, in the last 15 minutes. */
app.get("/billing", verified, stepUp("aal2", 900), (req, res) => res.json({ sub: req.claims.sub, acr: req.claims.acr }));

/** 200 once the revocation stream is followed (a logout before would not be seen). */
app.get("/healthz", (_req, res) => {
  const ok = streamConnected || !following;
  res.status(ok ? 200 : 503).json({ revocation_stream: ok });
});

const port = Number(env.PORT ?? 8002);
app.listen(port, env.HOST ?? "127.0.0.1", () => console.log(`listening on ${env.HOST ?? "127.0.0.1"}:${port}`));
