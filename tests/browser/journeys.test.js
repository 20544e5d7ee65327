// The hosted pages as a person uses them, in Debian's Chromium: every journey
// against a latchkey started here (SQLite; the account journey on PostgreSQL
// too), mail read from the test SMTP sink, one browser for all. Run it with
// tests/browser/run.sh (scripts/test.sh does, after `cargo test`).

import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { inspect, inspected, launch, openContext, submit, submitRefused } from "./lib/browser.js";
import { startApp } from "./lib/app.js";
import { required, startLatchkey } from "./lib/latchkey.js";
import { mailedLink, messagesTo } from "./lib/mail.js";

const returnTo = JSON.parse(
  readFileSync(new URL("../../crates/http/src/pages/return_to_cases.json", import.meta.url), "utf8"),
);

let browser;
let app; // the allowed return origin's stand-in
let sqlite; // most journeys
let postgres; // the account journey again
let pressured; // challenges from the first failure or sign-up of an address
let passkeys; // on http://localhost: WebAuthn takes no IP address as RP ID
const servers = () => [sqlite, postgres, pressured, passkeys].filter(Boolean);

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
    startLatchkey("sqlite-passkeys", {}, { host: "localhost" }),
  ]);
  // what did start is stopped by `after` even when something else did not
  [browser, sqlite, postgres, pressured, passkeys] = started.map((r) => r.value);
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

/** `who`'s address as a pattern (for text on a page). */
const addressIn = (who) => new RegExp(who.email.replace(/[.+]/g, "\\$&"));

/** Fills the sign-up form on the page (`/register`) and sends it. */
async function registerOnPage(page, who) {
  await page.fill("#email", who.email);
  await page.fill("#password", who.password);
  await page.fill("#name", "Ada Browser");
  await submit(page, "#register-form button[type=submit]");
}

/** A fresh browser profile signed in as `who` on `server`, at /account. */
async function signedIn(server, who) {
  const b = await openContext(browser, server);
  await b.page.goto(`${server.origin}/login`);
  await signIn(b.page, who);
  assert.equal(path(b.page), "/account", `${who.email} signed in`);
  return b;
}

/** The session `b` is signed in with has ended: /account sends it to sign in. */
async function assertSignedOut(server, b, why) {
  await b.page.goto(`${server.origin}/account`);
  assert.equal(path(b.page), "/login", why);
}

/** Sends the account page's form `#id`, and returns the notice it comes back with. */
async function accountForm(page, id) {
  await submit(page, `#${id} button[type=submit]`);
  assert.equal(path(page), "/account", `${id} leads back to the account page`);
  return page.textContent("#notice");
}

/**
 * The journey: register on /register → the mailed verification
 * link → sign in (without "keep me signed in") → account → change the
 * password (a second browser's session ends) → end another session from
 * the list → sign out.
 */
async function accountJourney(server, look) {
  const who = person("account");
  const b = await openContext(browser, server);
  const { page } = b;

  await page.goto(`${server.origin}/login`);
  await Promise.all([page.waitForNavigation(), page.click("#register-link")]);
  assert.equal(path(page), "/register", "the sign-in page links to sign-up");
  await look(page, "register");
  await registerOnPage(page, { ...who, password: "password123" });
  assert.equal(path(page), "/register", "a common password is refused");
  assert.equal(await page.getAttribute("#password", "aria-invalid"), "true", "at its field");
  assert.match(await page.textContent("#password-error"), /./, "saying why");
  await page.waitForFunction(() => document.activeElement?.id === "password"); // the refused field has the focus
  await look(page, "register-refused");
  await registerOnPage(page, who);
  assert.ok(await page.isVisible("#registered"), "the page says to check the mail");
  await look(page, "registered");

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
  assert.match(await page.textContent("#current-email"), addressIn(who));
  assert.match(await page.textContent("#profile"), /\(confirmed\)/, "the address is confirmed");
  await look(page, "account");
  const session = (await b.context.cookies()).find((c) => c.name.includes("latchkey_session"));
  assert.ok(session, "a session cookie was set");
  assert.equal(session.expires, -1, "without 'keep me signed in' the cookie lasts the browser session");
  assert.ok(session.httpOnly, "the session cookie is HttpOnly");
  assert.equal(powSent(b), "", "no puzzle is solved when the server asks for none");

  // change the password: the current one re-authenticates; another browser's session ends
  const other = await signedIn(server, who);
  await page.reload();
  assert.equal(await page.locator("#session-list > li").count(), 2, "both browsers are in the session list");
  await page.fill("#current_password", `${who.password} wrong`);
  await page.fill("#new_password", `${who.password} changed`);
  assert.equal(await submitRefused(page, "#password-form button[type=submit]"), 403, "a wrong current password changes nothing");
  assert.equal(await page.getAttribute("#current_password", "aria-invalid"), "true", "the refusal is at its field");
  assert.ok(await page.isVisible("#failed-summary"), "the refusal is summed up at the top");
  await look(page, "account-refused");
  await page.fill("#current_password", who.password);
  who.password = `${who.password} changed`;
  await page.fill("#new_password", who.password);
  assert.match(await accountForm(page, "password-form"), /password is changed/);
  await look(page, "account-notice");
  await assertSignedOut(server, other, "the other browser's session ended with the password change");
  assert.equal(await page.locator("#session-list > li").count(), 1, "only this session is left");
  await other.context.close();

  // a browser signed in with the new password, ended from the session list
  const third = await signedIn(server, who);
  await page.reload();
  const ends = page.locator("form.end-session");
  assert.equal(await ends.count(), 1, "one other session to end");
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), ends.locator("button").click()]);
  assert.match(await page.textContent("#notice"), /session has ended/);
  assert.equal(await page.locator("#session-list > li").count(), 1, "the ended session left the list");
  await assertSignedOut(server, third, "the ended session is signed out");
  third.assertClean();
  await third.context.close();

  await page.goto(`${server.origin}/account`);
  await Promise.all([page.waitForNavigation(), page.click("#logout-link")]);
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

test("account journey on SQLite: register, the mailed link, sign in, account, change the password, end another session, sign out", async () => {
  await accountJourney(sqlite, inspect);
});

test("account journey on PostgreSQL", async () => {
  await accountJourney(postgres, async () => {});
});

test("the account center: end all other sessions, change the address by its mailed link, the activity list, deletion and its cancel link", async () => {
  const who = person("center");
  await register(sqlite, who);
  const b = await openContext(browser, sqlite);
  const { page } = b;
  await page.goto(await mailedLink(who.email, `${sqlite.origin}/verify-email?token=`));
  await submit(page);
  await page.goto(`${sqlite.origin}/login`);
  await signIn(page, who);
  assert.equal(path(page), "/account");
  const others = [await signedIn(sqlite, who), await signedIn(sqlite, who)];
  await page.reload();
  assert.equal(await page.locator("#session-list > li").count(), 3);
  assert.match(await accountForm(page, "end-others-form"), /Every other session has ended/);
  assert.equal(await page.locator("#session-list > li").count(), 1, "only this session is left");
  assert.equal(await page.locator("#end-others-form").count(), 0, "nothing else to end");
  for (const o of others) {
    await assertSignedOut(sqlite, o, "'sign out everywhere else' ended this browser's session");
    o.assertClean();
    await o.context.close();
  }

  // the address changes when the link mailed to the new one is opened
  const old = who.email;
  const renamed = { ...who, email: `moved-${who.email}` };
  await page.fill("#new_email", renamed.email);
  await page.fill("#email_password", who.password);
  assert.match(await accountForm(page, "email-form"), /confirmation link to the new address/);
  assert.match(await page.textContent("#current-email"), addressIn(who), "unchanged until the link is opened");
  await page.goto(await mailedLink(renamed.email, `${sqlite.origin}/verify-email?token=`));
  await submit(page);
  assert.match(await page.textContent("main"), /confirmed/i);
  await page.goto(`${sqlite.origin}/account`);
  assert.equal(path(page), "/account", "still signed in");
  assert.match(await page.textContent("#current-email"), addressIn(renamed), "the new address is the account's");
  who.email = renamed.email;

  await Promise.all([page.waitForNavigation(), page.click("#activity-link")]);
  assert.equal(path(page), "/account/activity");
  const events = await page.locator("#events > li strong").allTextContents();
  for (const e of ["Email address changed", "Email change requested", "Sessions were ended", "Signed in", "Account created"]) {
    assert.ok(events.includes(e), `the activity lists "${e}": ${JSON.stringify(events)}`);
  }
  assert.equal(events[0], "Email address changed", "newest first");
  assert.ok(!(await page.textContent("main")).includes(who.password), "no password on the page");
  await inspect(page, "activity");
  await Promise.all([page.waitForNavigation(), page.click("#account-link")]);

  // deletion: the password re-authenticates; the cancel link goes to the (new) address
  await page.fill("#delete_password", who.password);
  await submit(page, "#delete-form button[type=submit]");
  assert.ok(await page.isVisible("#deleted"), "the deletion is confirmed");
  assert.match(await page.textContent("#deleted ~ p"), addressIn(who));
  await inspect(page, "deleted");
  await assertSignedOut(sqlite, b, "deleting the account signed this browser out");
  await signIn(page, who);
  assert.equal(path(page), "/login", "a deleted account cannot sign in");
  await page.goto(await mailedLink(who.email, `${sqlite.origin}/cancel-deletion?token=`));
  await submit(page);
  assert.match(await page.textContent("main"), /./);
  await page.goto(`${sqlite.origin}/login`);
  await signIn(page, who);
  assert.equal(path(page), "/account", "the account is back after the cancel link");
  assert.ok(messagesTo(old).length > 0, "the old address was mailed too");
  b.assertClean();
  await b.context.close();
});

// (no `inspect` without JavaScript: axe-core runs in the page)
test("registration with JavaScript disabled: the form, a refused field, the mailed link, sign in", async () => {
  const who = person("nojs-register");
  const b = await openContext(browser, sqlite, { javaScript: false });
  const { page } = b;
  await page.goto(`${sqlite.origin}/register`);
  await page.fill("#email", who.email);
  await page.fill("#password", "password123");
  assert.equal(await submitRefused(page, "#register-form button[type=submit]"), 422, "a common password is refused");
  assert.equal(await page.getAttribute("#password", "aria-invalid"), "true", "at its field");
  assert.equal(await page.inputValue("#email"), who.email, "what was typed stays (not the password)");
  assert.equal(await page.inputValue("#password"), "");
  await registerOnPage(page, who);
  assert.ok(await page.isVisible("#registered"));
  await page.goto(await mailedLink(who.email, `${sqlite.origin}/verify-email?token=`));
  await submit(page);
  await page.goto(`${sqlite.origin}/login`);
  await signIn(page, who);
  assert.equal(path(page), "/account", "signed in without JavaScript");
  assert.match(await page.textContent("#profile"), /\(confirmed\)/);
  const posts = b.requests.filter((r) => r.method === "POST" && new URL(r.url).pathname === "/register");
  assert.equal(posts.length, 2);
  assert.equal(new URLSearchParams(posts[1].body).get("pow"), "", "nothing solved a puzzle");
  b.assertClean();
  await b.context.close();
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
  assert.equal(await submitRefused(plain.page), 403, "no solution, no sign-in");
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

test("proof-of-work registration: the page's solver answers the challenge the server asks", async () => {
  // a failed sign-in from this address: from now on it must solve puzzles
  await pressured.api("POST", "/v1/auth/login", { identifier: person("pow-pressure").email, password: "not the password" });
  const c = await pressured.api("GET", "/v1/auth/challenge?action=register");
  assert.equal(c.body.required, true, "the server asks for a challenge to sign up");

  const who = person("pow-register");
  const b = await openContext(browser, pressured);
  const { page } = b;
  await page.goto(`${pressured.origin}/register`);
  await inspect(page, "register-challenge");
  await registerOnPage(page, who);
  assert.ok(await page.isVisible("#registered"), "signed up with the solved puzzle");
  assert.ok(
    b.requests.some((r) => r.url === `${pressured.origin}/v1/auth/challenge?action=register`),
    "the solver fetched a puzzle",
  );
  const posts = b.requests.filter((r) => r.method === "POST" && new URL(r.url).pathname === "/register");
  assert.match(new URLSearchParams(posts[posts.length - 1].body).get("pow"), /^v1\.register\.[^:]+:\d+$/, "the form carried the solution");
  await mailedLink(who.email, `${pressured.origin}/verify-email?token=`);
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
  assert.equal(await submitRefused(page), 400, "an unknown link token is refused");
  await inspect(page, "reset-password-bad-link");

  await page.goto(`${sqlite.origin}/forgot-password`);
  await page.evaluate(() => {
    document.querySelector("input[name=csrf]").value = "forged";
  });
  await page.fill("#email", who.email);
  assert.equal(await submitRefused(page), 403, "a form without its CSRF token is refused");
  await inspect(page, "error-csrf");
  b.assertClean();
  await b.context.close();
});

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 `secret` at `ms`, as an authenticator app computes it. */
function totp(secret, ms = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...secret.replace(/[\s=]/g, "").toUpperCase()].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[19] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).padStart(6, "0");
}

/** Waits for the next 30-second step, so that its code is one not used yet. */
async function nextStep() {
  await new Promise((resolve) => setTimeout(resolve, 30000 - (Date.now() % 30000) + 500));
}

/** Signs out through the /logout page. */
async function signOut(server, page) {
  await page.goto(`${server.origin}/logout`);
  await submit(page);
  assert.equal(path(page), "/login", "signed out");
}

test("two-step sign-in: enrol on the account page, sign in with the app's code, then with a backup code, new codes, off", async () => {
  // RFC 6238's own vector first (the secret "12345678901234567890", t = 59 s)
  assert.equal(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59000), "287082");
  const server = sqlite;
  const who = person("mfa");
  await register(server, who);
  const b = await signedIn(server, who);
  const { page } = b;
  assert.match(await page.textContent("#mfa-status"), /off/);

  // enrol: the QR code (an image the CSP lets load) and the key shown
  await submit(page, "#enable-mfa-form button[type=submit]");
  assert.equal(path(page), "/account");
  const qrWidth = await page.$eval("#totp-qr", (img) => img.naturalWidth);
  assert.ok(qrWidth > 0, "the QR code is shown");
  const secret = (await page.textContent("#totp-secret")).trim();
  await inspect(page, "account-mfa-enrol");
  await page.fill("#confirm_code", totp(secret));
  await submit(page, "#confirm-mfa-form button[type=submit]");
  const codes = (await page.locator("#backup-codes code").allTextContents()).map((c) => c.trim());
  assert.equal(codes.length, 10, "ten backup codes shown once");
  const href = await page.getAttribute("#backup-codes-download", "href");
  const saved = Buffer.from(href.replace("data:text/plain;charset=utf-8;base64,", ""), "base64").toString("utf8");
  assert.deepEqual(saved.trim().split("\n"), codes, "the download holds the same codes");
  await inspect(page, "account-mfa-codes");
  await signOut(server, page);

  // sign in with the app's code (of a step after the one that confirmed)
  await nextStep();
  await page.goto(`${server.origin}/login`);
  await signIn(page, who);
  assert.ok(await page.isVisible("#totp-form"), "the password step asks for the code");
  await inspect(page, "mfa");
  await page.fill("#code", totp(secret));
  await submit(page, "#totp-form button[type=submit]");
  assert.equal(path(page), "/account", "signed in with the app's code");
  assert.match(await page.textContent("#mfa-status"), /is on/);
  assert.match(await page.textContent("#backup-codes-left"), /10/);
  await signOut(server, page);

  // sign in with a backup code
  await page.goto(`${server.origin}/login`);
  await signIn(page, who);
  await page.click("#backup summary");
  await page.fill("#backup_code", codes[0]);
  await submit(page, "#backup-form button[type=submit]");
  assert.equal(path(page), "/account", "signed in with a backup code");
  assert.match(await page.textContent("#backup-codes-left"), /9/);

  // new codes (the sign-in with the factor is recent), then off
  await submit(page, "#backup-codes-form button[type=submit]");
  const fresh = (await page.locator("#backup-codes code").allTextContents()).map((c) => c.trim());
  assert.equal(fresh.length, 10);
  assert.ok(!fresh.includes(codes[1]), "new codes, not the old ones");
  assert.match(await page.textContent("#notice"), /New backup codes/);
  await page.goto(`${server.origin}/account`);
  await submit(page, "#disable-mfa-form button[type=submit]");
  assert.equal(path(page), "/account");
  assert.match(await page.textContent("#notice"), /off/);
  assert.match(await page.textContent("#mfa-status"), /off/);
  await signOut(server, page);
  await page.goto(`${server.origin}/login`);
  await signIn(page, who);
  assert.equal(path(page), "/account", "the password alone signs in again");
  b.assertClean();
  await b.context.close();
});

test("passkeys: add one in the account center (Chromium's virtual authenticator), sign out, sign in with it, and nothing signs in from another origin", async () => {
  const who = person("passkey");
  await register(passkeys, who);
  const b = await openContext(browser, passkeys);
  const cdp = await b.context.newCDPSession(b.page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await b.page.goto(`${passkeys.origin}/login`);
  assert.equal(await b.page.getAttribute("#identifier", "autocomplete"), "username webauthn");
  await signIn(b.page, who);
  assert.equal(path(b.page), "/account");

  await b.page.fill("#passkey-name", "Virtual key");
  await Promise.all([b.page.waitForNavigation(), b.page.click("#passkey-add")]);
  assert.match(await b.page.textContent("#passkey-list"), /Virtual key/, "the account center lists it");
  await inspect(b.page, "account-passkeys");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1, "one credential on the authenticator");
  assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential: a passkey");

  await b.page.goto(`${passkeys.origin}/logout`);
  await submit(b.page);
  await b.page.goto(`${passkeys.origin}/account`);
  assert.equal(path(b.page), "/login", "signed out");

  // the passkey, nothing typed: the button (or the autofill that the
  // virtual authenticator may answer first) signs in
  const signedIn = b.page.waitForURL(`${passkeys.origin}/account`);
  await b.page.click("#passkey-signin", { timeout: 10_000 }).catch(() => {}); // gone once the autofill signed in
  await signedIn;
  assert.equal(path(b.page), "/account", "signed in with the passkey");
  const used = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.ok(used.credentials[0].signCount >= 1, "the authenticator signed");
  const finished = b.requests.filter((r) => r.url === `${passkeys.origin}/v1/auth/passkeys/login/finish`);
  assert.ok(finished.length >= 1, "through the passkey sign-in");
  b.assertClean();
  await b.context.close();

  // the same authenticator's answer does not sign in from another origin:
  // a ceremony run on 127.0.0.1 (its own RP ID) is refused by the server
  const start = await passkeys.api("POST", "/v1/auth/passkeys/login/start", {});
  assert.equal(start.status, 200);
  const forged = {
    credential: {
      id: credentials[0].credentialId,
      rawId: credentials[0].credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
      type: "public-key",
      response: {
        clientDataJSON: Buffer.from(JSON.stringify({
          type: "webauthn.get", challenge: start.body.publicKey.challenge, origin: "https://evil.example",
        })).toString("base64url"),
        authenticatorData: Buffer.alloc(37).toString("base64url"),
        signature: Buffer.alloc(64).toString("base64url"),
      },
    },
  };
  const refused = await passkeys.api("POST", "/v1/auth/passkeys/login/finish", forged);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, "invalid_passkey");
});

test("OAuth: signing in in the middle of an authorization request ends at the client's redirect URI", async () => {
  // the client: plain http on loopback (RFC 8252), an origin the pages do not
  // otherwise allow, so only the authorization request can name it. A real
  // server: the stub of openContext does not see a redirect's next hop.
  const visits = [];
  const client = createServer((req, res) => {
    visits.push(req.url);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!DOCTYPE html><html lang=en><title>The client</title><p>Back in the client.");
  });
  await new Promise((resolve) => client.listen(0, "127.0.0.1", resolve));
  after(() => new Promise((resolve) => client.close(resolve)));
  const redirectUri = `http://127.0.0.1:${client.address().port}/cb`;
  const server = sqlite;
  const who = person("oauth");
  await register(server, who);
  const created = server.cli([
    "client", "create", "--name", "Journey client", "--redirect-uri", redirectUri,
    "--public", "--first-party", "--scope", "openid",
  ]);
  const clientId = created.match(/lk_[0-9a-z]+/)[0];
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const query = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid",
    state: "journey-state", nonce: "journey-nonce", code_challenge: challenge, code_challenge_method: "S256",
  });
  const b = await openContext(browser, server);
  await b.page.goto(`${server.origin}/oauth2/authorize?${query}`);
  assert.equal(path(b.page), "/login", `not signed in: the sign-in page first (at ${b.page.url()})`);
  // the sign-in form's redirects (to /oauth2/authorize, then to the client)
  // pass the page's form-action: Chromium applies it to every hop
  await signIn(b.page, who);
  assert.ok(b.page.url().startsWith(`${redirectUri}?`), `at the client: ${b.page.url()}`);
  const back = new URL(b.page.url());
  assert.equal(back.searchParams.get("state"), "journey-state");
  assert.equal(back.searchParams.get("iss"), server.origin);
  const code = back.searchParams.get("code");
  assert.ok(code, "a code came back");
  assert.equal(visits.length, 1, "the client was reached once");
  assert.deepEqual(b.foreign().map((r) => r.url), [b.page.url()], "the one request that left: to the client");
  assert.deepEqual(b.problems, [], "no console error (a CSP refusal would be one)");
  const r = await fetch(`http://127.0.0.1:${new URL(server.origin).port}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier,
    }),
  });
  const tokens = await r.json();
  assert.equal(r.status, 200, JSON.stringify(tokens));
  assert.ok(tokens.id_token && tokens.access_token, "ID and access tokens for the code");
  await b.context.close();
});

/**
 * Waits (up to 60 s) for a mail to `address` whose text matches `pattern`
 * (newest first), and returns the match's first group.
 */
async function mailedMatch(address, pattern) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = messagesTo(address).map((m) => pattern.exec(m.text)?.[1]).filter(Boolean);
    if (found.length) return found[found.length - 1];
    if (Date.now() > deadline) throw new Error(`no mail to ${address} matching ${pattern} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits (up to 60 s) for a link to `address` starting with `prefix` other than `seen`. */
async function newMailedLink(address, prefix, seen) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const link = await mailedLink(address, prefix);
    if (link !== seen) return link;
    if (Date.now() > deadline) throw new Error(`no new link to ${address} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** On /login: asks for a sign-in link (`link`) or code (`code`) for `email`. */
async function askByMail(page, server, email, method) {
  await page.goto(`${server.origin}/login`);
  await page.fill("#passwordless-email", email);
  await submit(page, `button[name=method][value=${method}]`);
}

test("magic link: the browser that asked signs in only with the page's button; another browser needs the mail's code", async () => {
  const who = person("magic");
  await register(sqlite, who);
  // (a) the same browser: opening the link spends nothing, the button signs in
  const b = await openContext(browser, sqlite);
  await askByMail(b.page, sqlite, who.email, "link");
  assert.match(await b.page.textContent("main"), /sign-in link is on its way/);
  await inspect(b.page, "magic-link-sent");
  const link = await mailedLink(who.email, `${sqlite.origin}/magic-link?token=`);
  await b.page.goto(link);
  assert.equal(await b.page.locator("#code").count(), 0, "the asking browser is not asked for a code");
  await inspect(b.page, "magic-link");
  await b.page.reload(); // a second look (a mail scanner's) burns nothing
  await submit(b.page);
  assert.equal(path(b.page), "/account", "signed in by the link");
  assert.match(await b.page.textContent("#profile"), /\(confirmed\)/, "the link proved the mailbox");
  await b.page.goto(link);
  assert.match(await b.page.textContent("main"), /does not work/i, "a used link");
  b.assertClean();
  await b.context.close();

  // (b) a new link opened in another browser: the code from the mail, and only it
  const asker = await openContext(browser, sqlite);
  await askByMail(asker.page, sqlite, who.email, "link");
  const other = await openContext(browser, sqlite);
  const second = await newMailedLink(who.email, `${sqlite.origin}/magic-link?token=`, link);
  const code = await mailedMatch(who.email, /this code: (\S{6})/);
  await other.page.goto(second);
  assert.ok(await other.page.isVisible("#code"), "another browser is asked for the code");
  await inspect(other.page, "magic-link-other-browser");
  const wrong = code.startsWith("A") ? `B${code.slice(1)}` : `A${code.slice(1)}`;
  await other.page.fill("#code", wrong);
  assert.equal(await submitRefused(other.page), 401, "a wrong code signs nothing in");
  assert.equal(await other.page.getAttribute("#code", "aria-invalid"), "true", "the refusal is at the code");
  await other.page.goto(`${sqlite.origin}/account`);
  assert.equal(path(other.page), "/login", "not signed in");
  await other.page.goto(second);
  await other.page.fill("#code", code.toLowerCase()); // as typed: case does not matter
  await submit(other.page);
  assert.equal(path(other.page), "/account", "signed in with the mail's code");
  other.assertClean();
  await Promise.all([asker.context.close(), other.context.close()]);
});

test("email code: asked on the sign-in page, a wrong code refused at its field, the right one signs in", async () => {
  const who = person("code");
  await register(sqlite, who);
  const b = await openContext(browser, sqlite);
  await askByMail(b.page, sqlite, who.email, "code");
  assert.ok(await b.page.isVisible("#code"), "the code form");
  await inspect(b.page, "email-code");
  const code = await mailedMatch(who.email, /^\s*(\d{6})\s*$/m);
  await b.page.fill("#code", code === "000000" ? "111111" : "000000");
  assert.equal(await submitRefused(b.page), 401, "a wrong code signs nothing in");
  assert.equal(await b.page.getAttribute("#code", "aria-invalid"), "true");
  await inspect(b.page, "email-code-refused");
  await b.page.fill("#code", code);
  await submit(b.page);
  assert.equal(path(b.page), "/account", "signed in by the code");
  assert.match(await b.page.textContent("#profile"), /\(confirmed\)/, "the code proved the mailbox");
  b.assertClean();
  await b.context.close();
});

test("passkeys: a passkey-only account signs up on /register with a mailed code, and back in through the autofill, nothing typed", async () => {
  const server = await startLatchkey("sqlite-passkey-signup", { LATCHKEY_ACCOUNTS_PASSWORDLESS_SIGNUP: "true" }, { host: "localhost" });
  after(() => server.stop());
  const who = person("passkey-only");
  const b = await openContext(browser, server);
  const cdp = await b.context.newCDPSession(b.page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await b.page.goto(`${server.origin}/register`);
  await b.page.waitForSelector("#passkey-signup", { state: "visible" });
  await inspect(b.page, "register-passkey");
  await b.page.fill("#passkey-signup-email", who.email);
  await b.page.click("#passkey-signup-send");
  await b.page.waitForSelector("#passkey-signup-status", { state: "visible" });
  const deadline = Date.now() + 60_000;
  let code;
  while (!code) {
    code = messagesTo(who.email).map((m) => m.text.match(/^\s*(\d{6})\s*$/m)).filter(Boolean).map((m) => m[1]).pop();
    if (!code && Date.now() > deadline) throw new Error(`no code mailed to ${who.email}`);
    if (!code) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await b.page.fill("#passkey-signup-code", code);
  await Promise.all([b.page.waitForURL(`${server.origin}/account`), b.page.click("#passkey-signup-create")]);
  assert.match(await b.page.textContent("#current-email"), addressIn(who), "signed in to the new account");
  assert.match(await b.page.textContent("#passkey-list"), /Passkey/, "with its passkey");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1, "one passkey on the authenticator");
  const session = await server.api("GET", "/v1/auth/session", undefined, {
    cookie: (await b.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; "),
  });
  assert.equal(session.status, 200, JSON.stringify(session.body));
  assert.deepEqual(session.body.amr, ["hwk", "user", "mfa"], "a passkey with user verification: two factors");

  await b.page.goto(`${server.origin}/logout`);
  await submit(b.page);
  await b.page.goto(`${server.origin}/account`);
  assert.equal(path(b.page), "/login", "signed out");
  // the autofill (conditional mediation on the identifier field): the
  // virtual authenticator answers it; the button is never pressed
  const starts = b.requests.length;
  const signedIn = b.page.waitForURL(`${server.origin}/account`, { timeout: 20_000 });
  await b.page.focus("#identifier");
  await signedIn;
  assert.equal(path(b.page), "/account", "back in with the passkey");
  const finished = b.requests.slice(starts).filter((r) => r.url === `${server.origin}/v1/auth/passkeys/login/finish`);
  assert.equal(finished.length, 1, "through one passkey sign-in, started by the autofill");
  b.assertClean();
  await b.context.close();
});

test("sign-up without a password by an email code (passwordless_signup), then a password set in the account center", async () => {
  const server = await startLatchkey("sqlite-passwordless-signup", { LATCHKEY_ACCOUNTS_PASSWORDLESS_SIGNUP: "true" });
  try {
    const who = person("signup");
    const b = await openContext(browser, server);
    await askByMail(b.page, server, who.email, "code");
    const code = await mailedMatch(who.email, /^\s*(\d{6})\s*$/m);
    await b.page.fill("#code", code);
    await submit(b.page);
    assert.equal(path(b.page), "/account", "the account was made when the code was used");
    assert.match(await b.page.textContent("#profile"), /\(confirmed\)/);
    assert.ok(await b.page.isVisible("#no-password"), "it has no password");
    assert.equal(await b.page.locator("#password-form").count(), 0, "nothing to change");
    await inspect(b.page, "account-no-password");
    await b.page.fill("#set_password", who.password);
    assert.match(await accountForm(b.page, "set-password-form"), /password is set/);
    assert.ok(await b.page.isVisible("#remove-password-form"), "now it can be changed or removed");
    await b.page.goto(`${server.origin}/logout`);
    await submit(b.page);
    await b.page.goto(`${server.origin}/login`);
    await signIn(b.page, who);
    assert.equal(path(b.page), "/account", "signed in with the new password");
    b.assertClean();
    await b.context.close();
  } finally {
    await server.stop();
  }
});

test("every page was inspected at 360 px and 1280 px", () => {
  const states = {
    "/login": ["login", "login-refused", "login-challenge"],
    "/forgot-password": ["forgot-password", "forgot-password-sent"],
    "/reset-password": ["reset-password", "reset-password-refused", "reset-password-done", "reset-password-bad-link"],
    "/verify-email": ["verify-email", "verify-email-done"],
    "/cancel-deletion": ["cancel-deletion", "cancel-deletion-done"],
    "/logout": ["logout", "logout-signed-out"],
    "/register": ["register", "register-refused", "register-challenge", "registered"],
    "/account": ["account", "account-refused", "account-notice", "account-mfa-enrol", "account-mfa-codes", "account-passkeys"],
    "/mfa": ["mfa"],
    "/account/activity": ["activity"],
    "/account/delete": ["deleted"],
    "/magic-link": ["magic-link-sent", "magic-link", "magic-link-other-browser"],
    "/login/email-code": ["email-code", "email-code-refused"],
    "/account without a password": ["account-no-password"],
    "the error page": ["error-csrf"],
  };
  for (const [page, names] of Object.entries(states)) {
    const missing = names.filter((n) => !inspected.has(n));
    assert.deepEqual(missing, [], `states of ${page} not inspected`);
  }
});
