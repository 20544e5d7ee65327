// panva/openid-client (an independent OpenID Connect relying-party library)
// against a running latchkey: discovery, code + PKCE with sign-in through
// the hosted pages, ID token validation by the library, UserInfo, refresh
// with rotation (the old token refused after), introspection, revocation,
// RP-initiated logout and client credentials, for every client that
// run.sh registered with `latchkey client create`.
//
//   node openid_client.mjs CONFIG.json     (run.sh writes CONFIG.json)
//
// Prints one line per step passed; exits non-zero at the first failure.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as client from "openid-client";
import { UserAgent } from "./user_agent.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const user = cfg.users.openid_client;
const label = `openid-client ${cfg.backend}`;
let passed = 0;
function ok(what) {
  passed++;
  console.log(`ok ${label}: ${what}`);
}

const insecure = { execute: [client.allowInsecureRequests] };

/** How `c` authenticates: its private key (private_key_jwt), its secret, or nothing. */
async function clientAuth(c) {
  if (c.private_key) {
    const jwk = JSON.parse(readFileSync(c.private_key, "utf8"));
    const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const key = await crypto.subtle.importKey("jwk", jwk, rsa, false, ["sign"]);
    return client.PrivateKeyJwt({ key, kid: jwk.kid });
  }
  return c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None();
}

async function discover(c) {
  const auth = await clientAuth(c);
  const metadata = { id_token_signed_response_alg: c.id_token_alg ?? "RS256" };
  return client.discovery(new URL(cfg.issuer), c.client_id, metadata, auth, insecure);
}

/** The OAuth error the token endpoint answered a call with. */
async function oauthError(call) {
  try {
    await call();
  } catch (e) {
    if (e instanceof client.ResponseBodyError) return e.error;
    if (e instanceof client.WWWAuthenticateChallengeError) return e.cause?.[0]?.parameters?.error;
    throw e;
  }
  return "none: the call succeeded";
}

function idTokenHeader(idToken) {
  return JSON.parse(Buffer.from(idToken.split(".")[0], "base64url").toString("utf8"));
}

/** One authorization in `ua`: resolves to the tokens, the claims and the pages answered. */
async function authorize(config, ua, c, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri,
    scope: "openid email profile offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  const callback = await ua.authorize(url.href, cfg.redirect_uri, user);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { tokens, claims: tokens.claims(), pages: [...ua.pages] };
}

async function codeFlow(name, c) {
  const config = await discover(c);
  const md = config.serverMetadata();
  assert.equal(md.issuer, cfg.issuer);
  assert.ok(md.code_challenge_methods_supported.includes("S256"));
  ok(`${name}: discovery`);

  const ua = new UserAgent(cfg.issuer);
  const first = await authorize(config, ua, c);
  assert.deepEqual(first.pages, ["login", "consent"], "signed in on the hosted page, then consented");
  ok(`${name}: code + PKCE, signed in through the hosted page and consented`);

  const alg = c.id_token_alg ?? "RS256";
  assert.equal(idTokenHeader(first.tokens.id_token).alg, alg);
  assert.equal(first.claims.iss, cfg.issuer);
  assert.equal(first.claims.aud, c.client_id);
  assert.ok(first.claims.sid && first.claims.auth_time, "sid and auth_time");
  ok(`${name}: ID token (${alg}) validated by the library`);

  const info = await client.fetchUserInfo(config, first.tokens.access_token, first.claims.sub);
  assert.equal(info.email, user.email);
  ok(`${name}: userinfo`);

  if (c.client_secret || c.private_key) {
    const intro = await client.tokenIntrospection(config, first.tokens.access_token);
    assert.equal(intro.active, true);
    assert.equal(intro.client_id, c.client_id);
    assert.equal(intro.sub, first.claims.sub);
    ok(`${name}: introspection`);
  }

  const rotated = await client.refreshTokenGrant(config, first.tokens.refresh_token);
  assert.ok(rotated.refresh_token && rotated.refresh_token !== first.tokens.refresh_token);
  await client.fetchUserInfo(config, rotated.access_token, first.claims.sub);
  assert.equal(await oauthError(() => client.refreshTokenGrant(config, first.tokens.refresh_token)), "invalid_grant");
  // reuse detection: the replay ended the tokens it had been rotated into
  assert.equal(await oauthError(() => client.refreshTokenGrant(config, rotated.refresh_token)), "invalid_grant");
  ok(`${name}: refresh with rotation; the old refresh token refused after, and its replay ended the new one`);

  // single sign-on: the browser's session and the remembered consent
  const second = await authorize(config, ua, c);
  assert.deepEqual(second.pages, [], "no sign-in and no consent the second time");
  await client.tokenRevocation(config, second.tokens.refresh_token, { token_type_hint: "refresh_token" });
  assert.equal(await oauthError(() => client.refreshTokenGrant(config, second.tokens.refresh_token)), "invalid_grant");
  if (c.client_secret || c.private_key) {
    const intro = await client.tokenIntrospection(config, second.tokens.access_token);
    assert.equal(intro.active, false);
  }
  ok(`${name}: revocation (single sign-on without pages, then the refresh token revoked)`);

  const third = await authorize(config, ua, c);
  const logoutState = client.randomState();
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: third.tokens.id_token,
    post_logout_redirect_uri: cfg.post_logout_redirect_uri,
    state: logoutState,
  });
  const res = await ua.request(logout.href);
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get("location"));
  assert.equal(back.origin + back.pathname, cfg.post_logout_redirect_uri);
  assert.equal(back.searchParams.get("state"), logoutState);
  assert.equal(await oauthError(() => client.refreshTokenGrant(config, third.tokens.refresh_token)), "invalid_grant");
  assert.equal(await oauthError(() => client.fetchUserInfo(config, third.tokens.access_token, third.claims.sub)), "invalid_token");
  // the browser's session ended too: prompt=none cannot sign in silently
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri,
    scope: "openid",
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: "S256",
    state: client.randomState(),
    prompt: "none",
  });
  const answer = new URL(await ua.authorize(silent.href, cfg.redirect_uri, user));
  assert.equal(answer.searchParams.get("error"), "login_required");
  ok(`${name}: RP-initiated logout ended the session and its tokens`);
}

async function clientCredentials(name, c) {
  const config = await discover(c);
  const tokens = await client.clientCredentialsGrant(config, { scope: c.scope });
  assert.equal(tokens.token_type.toLowerCase(), "bearer");
  assert.equal(tokens.refresh_token, undefined);
  assert.equal(tokens.scope, c.scope);
  const intro = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, c.client_id);
  ok(`${name}: client credentials (and introspection of its token)`);
}

const clients = cfg.clients.openid_client;
await codeFlow("confidential client (client_secret_basic, RS256)", clients.confidential);
await codeFlow("public client (PKCE, no secret)", clients.public);
await codeFlow("confidential client registered with EdDSA ID tokens", clients.eddsa);
await codeFlow("private_key_jwt client (RS256 assertions, keys at a jwks_uri)", clients.private_key_jwt);
await clientCredentials("service client", clients.service);
console.log(`openid-client on ${cfg.backend}: ${passed} passed, 0 failed`);
