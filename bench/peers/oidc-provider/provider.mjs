// node oidc-provider with its in-memory store, one confidential client
// (client_secret_basic) allowed the authorization-code and refresh-token
// grants, PKCE, rotating refresh tokens, and introspection, and one allowed
// the client-credentials grant (bench-cc, client_secret_basic). Development
// interactions are on: any login name with any password signs in, so no
// password is hashed (it is a protocol peer, not a password peer).
//   PORT=3200 node provider.mjs
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PORT ?? 3200);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "bench-rs256", alg: "RS256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "bench",
      client_secret: "bench-secret",
      redirect_uris: ["http://127.0.0.1:9/callback"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
    {
      client_id: "bench-cc",
      client_secret: "bench-cc-secret",
      redirect_uris: [],
      grant_types: ["client_credentials"],
      response_types: [],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signingKey] },
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  scopes: ["openid", "offline_access"],
  features: { devInteractions: { enabled: true }, introspection: { enabled: true }, clientCredentials: { enabled: true } },
  pkce: { required: () => true },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  rotateRefreshToken: true,
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Interaction: 600, Session: 86400, Grant: 86400 },
  cookies: { keys: ["bench-only-cookie-key"] },
  // First-party style: grant what is asked without a consent screen.
  loadExistingGrant: async (ctx) => {
    const id = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) return ctx.oidc.provider.Grant.find(id);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope ?? "openid");
    await grant.save();
    return grant;
  },
});
provider.on("server_error", (_ctx, err) => console.error("server_error", err));
provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider on ${issuer}`));
