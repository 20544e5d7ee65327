// Runs N authorization-code + PKCE flows against provider.mjs (signing in
// through its development login form) and prints one "access refresh" pair
// per line: tokens to drive introspection and refresh-grant workloads.
// With "cookie" for N: one flow, and prints the browser's Cookie header
// instead (the signed-in session that later authorization requests reuse).
//   node seed.mjs http://127.0.0.1:3200 N
//   node seed.mjs http://127.0.0.1:3200 cookie
import { createHash, randomBytes } from "node:crypto";

const [issuer, count] = [process.argv[2], process.argv[3] ?? "1"];
const redirect = "http://127.0.0.1:9/callback";
const basic = "Basic " + Buffer.from("bench:bench-secret").toString("base64");

async function flow(login) {
  const cookies = new Map();
  const send = async (url, init = {}) => {
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { ...init, redirect: "manual", headers: { ...init.headers, cookie } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    await res.arrayBuffer();
    return new URL(res.headers.get("location"), url).href;
  };
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const query = new URLSearchParams({
    client_id: "bench", redirect_uri: redirect, response_type: "code", scope: "openid offline_access",
    state: "s", code_challenge: challenge, code_challenge_method: "S256",
  });
  let url = await send(`${issuer}/auth?${query}`);
  let interactions = 0;
  for (let step = 0; step < 8 && !url.startsWith(redirect); step++) {
    // The first interaction is the login form, a later one the consent form.
    const prompt = interactions === 0 ? { prompt: "login", login, password: "any" } : { prompt: "consent" };
    url = new URL(url).pathname.startsWith("/interaction/")
      ? (interactions++, await send(url, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(prompt),
        }))
      : await send(url);
  }
  const code = new URL(url).searchParams.get("code");
  if (!code) throw new Error(`no code at the end of the flow: ${url}`);
  const res = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirect, code_verifier: verifier }),
  });
  const tokens = await res.json();
  if (!tokens.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(tokens)}`);
  return { pair: `${tokens.access_token} ${tokens.refresh_token}`, cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") };
}

if (count === "cookie") {
  // only the session (the interaction cookies are of the finished sign-in)
  console.log((await flow("bench-user-browser")).cookie.split("; ").filter((c) => c.startsWith("_session")).join("; "));
} else {
  const lines = [];
  for (let i = 0; i < Number(count); i++) lines.push((await flow(`bench-user-${i}`)).pair);
  console.log(lines.join("\n"));
}
