"""Authlib (an independent OAuth / OpenID Connect client library, with
joserfc for JOSE) against a running latchkey: discovery, code + PKCE with
sign-in through the hosted pages, ID token validation (joserfc verifies the
signature against the JWKS, Authlib's CodeIDToken the claims), UserInfo,
refresh with rotation (the old token refused after), introspection,
revocation, RP-initiated logout and client credentials, for every client
that run.sh registered with `latchkey client create`.

    python authlib_rp.py CONFIG.json     (run.sh writes CONFIG.json)

Prints one line per step passed; exits non-zero at the first failure.
"""

import html
import json
import re
import secrets
import sys
import warnings
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

# latchkey names Ed25519 ID tokens "EdDSA", as OpenID Connect registries do;
# joserfc warns that RFC 9864 prefers "Ed25519" (verification is the same)
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

cfg = json.load(open(sys.argv[1], encoding="utf-8"))
USER = cfg["users"]["authlib"]
ISSUER = cfg["issuer"]
REDIRECT = cfg["redirect_uri"]
LABEL = f"Authlib {cfg['backend']}"
passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {LABEL}: {what}", flush=True)


def hidden_fields(page, action):
    """The hidden fields of the page's form posting to `action`, or None."""
    for form in re.split(r"<form\b", page, flags=re.I)[1:]:
        head = form[: form.index(">")]
        act = re.search(r'action="([^"]*)"', head, re.I)
        if not act or html.unescape(act.group(1)) != action:
            continue
        body = re.split(r"</form>", form, flags=re.I)[0]
        fields = {}
        for tag in re.findall(r"<input\b[^>]*>", body, re.I):
            if not re.search(r'type="hidden"', tag, re.I):
                continue
            name = re.search(r'name="([^"]*)"', tag, re.I)
            value = re.search(r'value="([^"]*)"', tag, re.I)
            if name:
                fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
        return fields
    return None


class UserAgent:
    """A person's browser without a browser: a cookie jar, redirects by
    hand, the sign-in and consent forms posted (user_agent.mjs in Python)."""

    def __init__(self):
        self.http = requests.Session()
        self.pages = []

    def get(self, url):
        return self.http.get(url, allow_redirects=False, timeout=30)

    def post(self, url, fields):
        return self.http.post(url, data=fields, headers={"Origin": ISSUER}, allow_redirects=False, timeout=30)

    def authorize(self, url):
        self.pages = []
        for _ in range(12):
            if url.startswith(REDIRECT):
                return url
            r = self.get(url)
            if r.is_redirect:
                url = urljoin(url, r.headers["location"])
                continue
            assert r.status_code == 200, f"{url} answered {r.status_code}: {r.text[:300]}"
            login = hidden_fields(r.text, "/login")
            consent = hidden_fields(r.text, "/oauth2/authorize")
            if login is not None:
                self.pages.append("login")
                posted = self.post(
                    urljoin(url, "/login"),
                    {**login, "identifier": USER["email"], "password": USER["password"]},
                )
            elif consent is not None:
                self.pages.append("consent")
                posted = self.post(urljoin(url, "/oauth2/authorize"), {**consent, "decision": "allow"})
            else:
                raise AssertionError(f"{url}: neither the sign-in nor the consent page: {r.text[:300]}")
            assert posted.is_redirect, f"the form on {url} answered {posted.status_code}: {posted.text[:300]}"
            url = urljoin(url, posted.headers["location"])
        raise AssertionError(f"no redirect to {REDIRECT} after 12 steps (at {url})")


md = requests.get(ISSUER + "/.well-known/openid-configuration", timeout=10).json()


def session(c, **extra):
    """A session authenticating as the client registered: a secret, a
    private_key_jwt assertion (a fresh jti at every call), or none."""
    if c.get("private_key"):
        jwk = json.load(open(c["private_key"], encoding="utf-8"))
        key = RSAKey.import_key(jwk)
        sess = OAuth2Session(
            c["client_id"],
            key,
            scope="openid email profile offline_access",
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
            token_endpoint_auth_method="private_key_jwt",
            revocation_endpoint_auth_method="private_key_jwt",
            **extra,
        )
        # latchkey finds the key by kid (never by trying each), and
        # joserfc leaves kid out unless asked
        sess.register_client_auth_method(PrivateKeyJWT(md["token_endpoint"], headers={"kid": jwk["kid"]}))
        return sess
    secret = c.get("client_secret")
    return OAuth2Session(
        c["client_id"],
        secret,
        scope="openid email profile offline_access",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        **extra,
    )


def oauth_error(call):
    """The OAuth error code a call was refused with."""
    try:
        call()
    except Exception as e:  # Authlib's OAuthError carries .error
        if getattr(e, "error", None):
            return e.error
        raise
    return "none: the call succeeded"


def validated_id_token(c, token, nonce):
    """The ID token's claims, its signature checked against the JWKS by
    joserfc and its claims (iss, aud, exp, nonce, azp, at_hash) by Authlib."""
    keys = KeySet.import_key_set(requests.get(md["jwks_uri"], timeout=10).json())
    alg = c.get("id_token_alg", "RS256")
    decoded = jwt.decode(token["id_token"], keys, algorithms=[alg])
    assert decoded.header["alg"] == alg, decoded.header
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": c["client_id"]},
        },
        params={"nonce": nonce, "client_id": c["client_id"], "access_token": token["access_token"]},
    )
    claims.validate()
    return claims


def authorize(c, ua, sess, **extra):
    """One authorization in `ua`: the token response and the ID token's claims."""
    verifier = generate_token(48)
    nonce = secrets.token_urlsafe(16)
    url, state = sess.create_authorization_url(
        md["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )
    callback = ua.authorize(url)
    params = parse_qs(urlsplit(callback).query)
    assert params.get("iss") == [ISSUER], f"RFC 9207 iss: {params.get('iss')}"
    token = sess.fetch_token(
        md["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    return token, validated_id_token(c, token, nonce)


def userinfo(sess, access_token):
    r = sess.get(md["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}, withhold_token=True)
    return r


def code_flow(name, c):
    assert md["issuer"] == ISSUER and "S256" in md["code_challenge_methods_supported"]
    ok(f"{name}: discovery")
    confidential = bool(c.get("client_secret") or c.get("private_key"))
    sess = session(c)
    ua = UserAgent()
    token, claims = authorize(c, ua, sess)
    assert ua.pages == ["login", "consent"], ua.pages
    ok(f"{name}: code + PKCE, signed in through the hosted page and consented")
    assert claims.get("sid") and claims.get("auth_time")
    ok(f"{name}: ID token ({claims.header['alg']}) validated by the library")

    info = userinfo(sess, token["access_token"])
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"], info.text
    assert info.json()["email"] == USER["email"]
    ok(f"{name}: userinfo")

    if confidential:
        intro = sess.introspect_token(md["introspection_endpoint"], token=token["access_token"]).json()
        assert intro["active"] is True and intro["client_id"] == c["client_id"], intro
        assert intro["sub"] == claims["sub"], intro
        ok(f"{name}: introspection")

    old = token["refresh_token"]
    rotated = sess.refresh_token(md["token_endpoint"], refresh_token=old)
    assert rotated["refresh_token"] and rotated["refresh_token"] != old
    assert userinfo(sess, rotated["access_token"]).status_code == 200
    assert oauth_error(lambda: sess.refresh_token(md["token_endpoint"], refresh_token=old)) == "invalid_grant"
    # reuse detection: the replay ended the tokens it had been rotated into
    new = rotated["refresh_token"]
    assert oauth_error(lambda: sess.refresh_token(md["token_endpoint"], refresh_token=new)) == "invalid_grant"
    ok(f"{name}: refresh with rotation; the old refresh token refused after, and its replay ended the new one")

    # single sign-on: the browser's session and the remembered consent
    second, _ = authorize(c, ua, sess)
    assert ua.pages == [], ua.pages
    r = sess.revoke_token(md["revocation_endpoint"], token=second["refresh_token"], token_type_hint="refresh_token")
    assert r.status_code == 200, r.text
    refresh = second["refresh_token"]
    assert oauth_error(lambda: sess.refresh_token(md["token_endpoint"], refresh_token=refresh)) == "invalid_grant"
    if confidential:
        intro = sess.introspect_token(md["introspection_endpoint"], token=second["access_token"]).json()
        assert intro["active"] is False, intro
    ok(f"{name}: revocation (single sign-on without pages, then the refresh token revoked)")

    third, third_claims = authorize(c, ua, sess)
    logout_state = secrets.token_urlsafe(16)
    logout = add_params_to_uri(
        md["end_session_endpoint"],
        [
            ("id_token_hint", third["id_token"]),
            ("post_logout_redirect_uri", cfg["post_logout_redirect_uri"]),
            ("state", logout_state),
        ],
    )
    r = ua.get(logout)
    assert r.status_code == 303, r.status_code
    back = urlsplit(r.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == cfg["post_logout_redirect_uri"]
    assert parse_qs(back.query)["state"] == [logout_state]
    refresh = third["refresh_token"]
    assert oauth_error(lambda: sess.refresh_token(md["token_endpoint"], refresh_token=refresh)) == "invalid_grant"
    assert userinfo(sess, third["access_token"]).status_code == 401
    # the browser's session ended too: prompt=none cannot sign in silently
    url, _ = session(c).create_authorization_url(
        md["authorization_endpoint"], code_verifier=generate_token(48), prompt="none"
    )
    answer = parse_qs(urlsplit(ua.authorize(url)).query)
    assert answer["error"] == ["login_required"], answer
    ok(f"{name}: RP-initiated logout ended the session and its tokens")


def client_credentials(name, c):
    sess = OAuth2Session(c["client_id"], c["client_secret"], scope=c["scope"])
    token = sess.fetch_token(md["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer" and "refresh_token" not in token, token
    assert token["scope"] == c["scope"], token
    intro = sess.introspect_token(md["introspection_endpoint"], token=token["access_token"]).json()
    assert intro["active"] is True and intro["client_id"] == c["client_id"], intro
    ok(f"{name}: client credentials (and introspection of its token)")


clients = cfg["clients"]["authlib"]
code_flow("confidential client (client_secret_basic, RS256)", clients["confidential"])
code_flow("public client (PKCE, no secret)", clients["public"])
code_flow("confidential client registered with EdDSA ID tokens", clients["eddsa"])
code_flow("private_key_jwt client (RS256 assertions, keys at a jwks_uri)", clients["private_key_jwt"])
client_credentials("service client", clients["service"])
print(f"Authlib on {cfg['backend']}: {passed} passed, 0 failed")
