// An independent OpenID Provider for latchkey's federation tests:
// panva/node-oidc-provider 9 (installed from package-lock.json by start.sh),
// configured like ../shared/peers/oidc-provider with what the tests need.
//
//   PORT=3200 REDIRECT_URIS=http://latchkey.test/v1/auth/oauth/idp/callback node provider.mjs
//
// issuer http://127.0.0.1:$PORT; one confidential client `latchkey` /
// `latchkey-secret` (client_secret_basic, PKCE S256 required) whose
// redirect_uris are REDIRECT_URIS (comma-separated). Dev interactions: any
// login and password; the account's claims are sub=<login>,
// email=<login> if it has an `@` else <login>@idp.test, email_verified=true,
// name="User <login>", picture=https://idp.test/avatars/<login>.png;
// a login starting with `unverified:` asserts the rest as an UNVERIFIED
// address. Signing keys are made at start (RS256 and ES256), never stored.
// Refresh tokens: issued with every code (as Google's access_type=offline,
// Microsoft's and GitHub's do, without OIDC's prompt=consent for
// offline_access) and ROTATED on each use; a rotated-away refresh token used
// again revokes the grant (oidc-provider's reuse detection), so a client
// that refreshes twice with one token is caught.
import * as jose from "jose";
import Provider from "oidc-provider";

const PORT = Number(process.env.PORT || 3200);
const ISSUER = `http://127.0.0.1:${PORT}`;
const redirect_uris = (process.env.REDIRECT_URIS || "").split(",").filter(Boolean);

const keys = [];
for (const [alg, kid] of [["RS256", "rs-1"], ["ES256", "es-1"]]) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  keys.push({ ...(await jose.exportJWK(privateKey)), kid, alg, use: "sig" });
}

const findAccount = async (ctx, id) => ({
  accountId: id,
  async claims() {
    const unverified = id.startsWith("unverified:");
    const login = unverified ? id.slice("unverified:".length) : id;
    const email = login.includes("@") ? login : `${login}@idp.test`;
    return { sub: id, email, email_verified: !unverified, name: `User ${login}`, preferred_username: login,
      picture: `https://idp.test/avatars/${encodeURIComponent(login)}.png` };
  },
});

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: "latchkey",
    client_secret: "latchkey-secret",
    redirect_uris,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  findAccount,
  jwks: { keys },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "preferred_username", "picture"] },
  scopes: ["openid", "email", "profile"],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  rotateRefreshToken: true,
  // the claims in the ID token too, as most social providers do
  conformIdTokenClaims: false,
  cookies: { keys: ["latchkey-federation-test-cookie-key"] },
  ttl: { AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 3600 },
  // consent granted at once (a first-party client): the test only logs in
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope || "openid");
    grant.addOIDCClaims(["sub", "email", "email_verified", "name", "preferred_username", "picture"]);
    await grant.save();
    return grant;
  },
});
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.listen(PORT, "127.0.0.1", () => console.log(`oidc-provider issuer ${ISSUER} listening`));
