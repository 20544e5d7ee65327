// The hosted pages as a person uses them, in Debian's Chromium: every journey
// against a latchkey started here (SQLite; the account journey on PostgreSQL
// too), mail read from the test SMTP sink, one browser for all. Run it with
// tests/browser/run.sh (scripts/test.sh does, after `cargo test`).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { inspect, inspected, launch, openContext, submit } from "./lib/browser.js";
import { startApp } from "./lib/app.js";
import { required, startLatchkey } from "./lib/latchkey.js";
import { mailedLink } from "./lib/mail.js";

const returnTo = JSON.parse(
  readFileSync(new URL("../../crates/http/src/pages/return_to_cases.json", import.meta.url), "utf8"),
);

let browser;
let app; // the allowed return origin's stand-in
let sqlite; // most journeys
let postgres; // the account journey again
let pressured; // challenges from the first failure or sign-up of an address
const servers = () => [sqlite, postgres, pressured].filter(Boolean);

before(async () => {
  app = await startApp(returnTo.allowed[0]);
  const started = await Promise.allSettled([
    launch([`MAP ${app.host} 127.0.0.1:${app.port}`]),
    startLatchkey("sqlite", {
      // every journey signs up and in from 127.0.0.1 (the open-redirect one
      // once per case): no quota or challenge pressure may stop them here
      // (the proof-of-work journey has a server of its own)
      LATCHKEY_RATE_LIMITS_LOGIN: "ip=1000/min, ip_account=1000/min",
      LATCHKEY_RATE_LIMITS_REGISTER: "ip=1000/hour, account=10/hour",
      LATCHKEY_CHALLENGE_IP_THRESHOLD: "1000",
      LATCHKEY_PAGES_ALLOWED_RETURN_ORIGINS: returnTo.allowed.join(","),
    }),
    startLatchkey("postgres", { LATCHKEY_DATABASE_URL: required("LATCHKEY_BROWSER_POSTGRES_URL") }),
    startLatchkey("sqlite-challenge", {
      LATCHKEY_CHALLENGE_IP_THRESHOLD: "1",
      LATCHKEY_CHALLENGE_BASE_DIFFICULTY: "12",
      LATCHKEY_CHALLENGE_MAX_DIFFICULTY: "14",
    }),
  ]);
  // what did start is stopped by `after` even when something else did not
  [browser, sqlite, postgres, pressured] = started.map((r) => r.value);
  const failed = started.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
});

after(async () => {
  await browser?.close();
  await Promise.all(servers().map((s) => s.stop()));
  await app?.close();
});

/** A fresh address and password for one journey. */
function person(tag) {
  const id = randomBytes(6).toString("hex");
  return { email: `${tag}-${id}@example.com`, password: `browser ${tag} ${id} journey` };
}

async function register(server, who) {
  const r = await server.api("POST", "/v1/auth/register", { email: who.email, password: who.password, name: "Ada Browser" });
  assert.equal(r.status, 201, `registration through the JSON API: ${JSON.stringify(r.body)}`);
}

/** Fills the sign-in form on the page and sends it. */
async function signIn(page, who, { remember = false } = {}) {
  await page.fill("#identifier", who.email);
  await page.fill("#password", who.password);
  if (remember) await page.check("#remember");
  await submit(page);
}

const path = (page) => new URL(page.url()).pathname;

/** The `pow` field of the last sign-in form the browser sent. */
function powSent(b) {
  const posts = b.requests.filter((r) => r.method === "POST" && new URL(r.url).pathname === "/login");
  assert.ok(posts.length, "the browser sent the sign-in form");
  return new URLSearchParams(posts[posts.length - 1].body).get("pow");
}

/**
 * Register (JSON API) → the mailed verification link → sign in (without
 * "keep me signed in") → account → sign out.
 */
async function accountJourney(server, look) {
  const who = person("account");
  await register(server, who);
  const b = await openContext(browser, server);
  const { page } = b;

  await page.goto(await mailedLink(who.email, `${server.origin}/verify-email?token=`));
  await look(page, "verify-email");
  await submit(page);
  assert.match(await page.textContent("main"), /confirmed/i, "the verification link's result");
  await look(page, "verify-email-done");

  await page.goto(`${server.origin}/account`);
  assert.equal(path(page), "/login", "/account without a session goes to the sign-in page");
  await look(page, "login");
  await signIn(page, who);
  assert.equal(path(page), "/account", "signed in, back to /account");
  assert.match(await page.textContent("main"), new RegExp(who.email.replace(/\./g, "\\.")));
  await look(page, "account");
  const session = (await b.context.cookies()).find((c) => c.name.includes("latchkey_session"));
  assert.ok(session, "a session cookie was set");
  assert.equal(session.expires, -1, "without 'keep me signed in' the cookie lasts the browser session");
  assert.ok(session.httpOnly, "the session cookie is HttpOnly");
  assert.equal(powSent(b), "", "no puzzle is solved when the server asks for none");

  await Promise.all([page.waitForNavigation(), page.click("main a[href='/logout']")]);
  await look(page, "logout");
  await submit(page);
  assert.equal(path(page), "/login", "signed out, to the sign-in page");
  await page.goto(`${server.origin}/account`);
  assert.equal(path(page), "/login", "the session ended");
  await page.goto(`${server.origin}/logout`);
  assert.match(await page.textContent("main"), /not signed in/i);
  await look(page, "logout-signed-out");
  b.assertClean();
  await b.context.close();
}

test("account journey on SQLite: verify the mailed link, sign in, account, sign out", async () => {
  await accountJourney(sqlite, inspect);
});

test("account journey on PostgreSQL", async () => {
  await accountJourney(postgres, async () => {});
});

test("forgot password → mailed link → reset → sign in with the new password only", async () => {
  const who = person("reset");
  await register(sqlite, who);
  const b = await openContext(browser, sqlite);
  const { page } = b;
  await page.goto(`${sqlite.origin}/login`);
  await Promise.all([page.waitForNavigation(), page.click("main a[href='/forgot-password']")]);
  await inspect(page, "forgot-password");
  await page.fill("#email", who.email);
  await submit(page);
  assert.match(await page.textContent("main"), /link to choose a new password/);
  await inspect(page, "forgot-password-sent");

  await page.goto(await mailedLink(who.email, `${sqlite.origin}/reset-password?token=`));
  await inspect(page, "reset-password");
  await page.fill("#new_password", "password123");
  await submit(page);
  assert.equal(await page.getAttribute("#new_password", "aria-invalid"), "true", "a common password is refused at its field");
  await inspect(page, "reset-password-refused");
  const old = who.password;
  who.password = `${old} renewed`;
  await page.fill("#new_password", who.password);
  await submit(page);
  assert.match(await page.textContent("main"), /password/i);
  await inspect(page, "reset-password-done");

  await page.goto(`${sqlite.origin}/login`);
  await signIn(page, { ...who, password: old });
  assert.equal(path(page), "/login", "the old password no longer signs in");
  assert.match(await page.textContent("main [role=alert]"), /./, "the refusal is announced");
  await inspect(page, "login-refused");

  // with the keyboard alone: the form starts at its first field, Tab moves on, Enter sends
  await page.goto(`${sqlite.origin}/login`);
  await page.waitForFunction(() => document.activeElement?.id === "identifier");
  await page.keyboard.type(who.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(who.password);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("Enter")]);
  assert.equal(path(page), "/account", "signed in with the keyboard alone");
  b.assertClean();
  await b.context.close();
});

test("every open-redirect case of return_to (the Rust tests' list)", async () => {
  const own = sqlite.origin;
  const failures = [];
  /** One case in a fresh browser profile: sign in as `who` and see where the browser lands. */
  async function follow(who, [raw, followed]) {
    const input = raw.replaceAll(returnTo.own, own);
    const b = await openContext(browser, sqlite, { ignoreHTTPSErrors: true });
    const { page } = b;
    const fail = (why) => failures.push(`${JSON.stringify(raw)}: ${why}`);
    try {
      await page.goto(`${own}/login?return_to=${encodeURIComponent(input)}`);
      await signIn(page, who);
      const expected = followed ? new URL(input, own).href : `${own}/account`;
      const leftFor = b.foreign().map((r) => r.url);
      if (page.url() !== expected) fail(`landed on ${page.url()}, expected ${expected}`);
      if (!followed && leftFor.length) fail(`the browser went to ${leftFor.join(", ")}`);
      if (followed && new URL(expected).origin !== own && !(await page.textContent("body")).includes("Back in the app")) {
        fail("the app's page did not show");
      }
    } catch (e) {
      fail(e.message.split("\n")[0]);
    } finally {
      await b.context.close();
    }
  }
  // four profiles at a time (the browser waits on the server's password
  // hashing), each signing in to an account of its own: sign-ins of one
  // account in flight together count against its failed-sign-in budget
  const queue = [...returnTo.cases];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const who = person("return");
      await register(sqlite, who);
      while (queue.length) await follow(who, queue.shift());
    }),
  );
  assert.deepEqual(failures, [], `return_to cases that went wrong:\n${failures.join("\n")}`);
  assert.deepEqual([...app.visits].sort(), ["/", "/after?x=1"], "the app saw exactly the followed cases");
});

test("proof-of-work sign-in: the page's solver answers the challenge the server asks", async () => {
  const who = person("pow");
  await register(pressured, who); // a sign-up: from now on this address must solve puzzles
  const c = await pressured.api("GET", "/v1/auth/challenge?action=login");
  assert.equal(c.body.required, true, "the server asks for a challenge");

  // without JavaScript nothing solves it: the form comes back asking for it
  const plain = await openContext(browser, pressured, { javaScript: false });
  await plain.page.goto(`${pressured.origin}/login`);
  await plain.page.fill("#identifier", who.email);
  await plain.page.fill("#password", who.password);
  const [refused] = await Promise.all([
    plain.page.waitForResponse((r) => r.request().method() === "POST"),
    plain.page.click("main button[type=submit]"),
  ]);
  assert.equal(refused.status(), 403, "no solution, no sign-in");
  await plain.page.waitForLoadState();
  assert.equal(path(plain.page), "/login");
  assert.match(await plain.page.textContent("main [role=alert]"), /./, "the refusal is explained");
  plain.assertClean();
  await plain.context.close();

  const b = await openContext(browser, pressured);
  await b.page.goto(`${pressured.origin}/login`);
  await inspect(b.page, "login-challenge");
  await signIn(b.page, who);
  assert.equal(path(b.page), "/account", "signed in with the solved puzzle");
  assert.ok(
    b.requests.some((r) => r.url === `${pressured.origin}/v1/auth/challenge?action=login`),
    "the solver fetched a puzzle",
  );
  assert.match(powSent(b), /^v1\.login\.[^:]+:\d+$/, "the form carried the solution");
  b.assertClean();
  await b.context.close();
});

test("sign-in and password reset with JavaScript disabled", async () => {
  const who = person("nojs");
  await register(sqlite, who);
  const b = await openContext(browser, sqlite, { javaScript: false });
  const { page } = b;
  await page.goto(`${sqlite.origin}/forgot-password`);
  await page.fill("#email", who.email);
  await submit(page);
  await page.goto(await mailedLink(who.email, `${sqlite.origin}/reset-password?token=`));
  who.password = `${who.password} without scripts`;
  await page.fill("#new_password", who.password);
  await submit(page);
  await page.goto(`${sqlite.origin}/login`);
  await signIn(page, who, { remember: true });
  assert.equal(path(page), "/account", "signed in without JavaScript");
  assert.match(await page.textContent("main"), new RegExp(who.email.replace(/\./g, "\\.")));
  const session = (await b.context.cookies()).find((c) => c.name.includes("latchkey_session"));
  assert.ok(session.expires > Date.now() / 1000, "'keep me signed in' makes a lasting cookie");
  b.assertClean();
  await b.context.close();
});

test("the link pages' other states: a deletion cancelled, a bad link, a forged form", async () => {
  const who = person("links");
  await register(sqlite, who);
  const login = await sqlite.api("POST", "/v1/auth/login", { identifier: who.email, password: who.password });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const del = await sqlite.api("DELETE", "/v1/account", undefined, { authorization: `Bearer ${login.body.access_token}` });
  assert.equal(del.status, 202, JSON.stringify(del.body));

  const b = await openContext(browser, sqlite);
  const { page } = b;
  await page.goto(await mailedLink(who.email, `${sqlite.origin}/cancel-deletion?token=`));
  await inspect(page, "cancel-deletion");
  await submit(page);
  await inspect(page, "cancel-deletion-done");
  await page.goto(`${sqlite.origin}/login`);
  await signIn(page, who);
  assert.equal(path(page), "/account", "the account is usable again");

  await page.goto(`${sqlite.origin}/reset-password?token=not-a-real-token`);
  await page.fill("#new_password", `${who.password} again`);
  const [bad] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("main button[type=submit]")]);
  assert.equal(bad.status(), 400, "an unknown link token is refused");
  await page.waitForLoadState();
  await inspect(page, "reset-password-bad-link");

  await page.goto(`${sqlite.origin}/forgot-password`);
  await page.evaluate(() => {
    document.querySelector("input[name=csrf]").value = "forged";
  });
  await page.fill("#email", who.email);
  const [forged] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("main button[type=submit]")]);
  assert.equal(forged.status(), 403, "a form without its CSRF token is refused");
  await page.waitForLoadState();
  await inspect(page, "error-csrf");
  b.assertClean();
  await b.context.close();
});

test("every page was inspected at 360 px and 1280 px", () => {
  const states = {
    "/login": ["login", "login-refused", "login-challenge"],
    "/forgot-password": ["forgot-password", "forgot-password-sent"],
    "/reset-password": ["reset-password", "reset-password-refused", "reset-password-done", "reset-password-bad-link"],
    "/verify-email": ["verify-email", "verify-email-done"],
    "/cancel-deletion": ["cancel-deletion", "cancel-deletion-done"],
    "/logout": ["logout", "logout-signed-out"],
    "/account": ["account"],
    "the error page": ["error-csrf"],
  };
  for (const [page, names] of Object.entries(states)) {
    const missing = names.filter((n) => !inspected.has(n));
    assert.deepEqual(missing, [], `states of ${page} not inspected`);
  }
});
