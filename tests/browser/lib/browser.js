// One Chromium (Debian's /usr/bin/chromium) for every journey, browser
// contexts that record every request they make, and `inspect`: the checks
// every page gets (no horizontal scroll at 360 px, axe-core without serious
// or critical violations, no console error such as a CSP refusal) and its
// screenshots at 360 px and 1280 px.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";
import { required } from "./latchkey.js";

const require = createRequire(import.meta.url);
const axeSource = require("axe-core").source;

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/**
 * Chromium: headless, offline, no sandbox (CI runs as root). `hostRules`
 * maps host names to loopback servers (--host-resolver-rules).
 */
export function launch(hostRules = []) {
  return chromium.launch({
    executablePath: process.env.LATCHKEY_CHROMIUM ?? "/usr/bin/chromium",
    headless: true, // playwright passes --headless
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(hostRules.length ? [`--host-resolver-rules=${hostRules.join(", ")}`] : []),
    ],
  });
}

/**
 * A fresh browser profile for `server`. Every request is recorded in
 * `requests`; one to another origin is never sent: it is answered by a stub
 * page (so a followed `return_to` can be seen) and stays on the record.
 * Console errors and uncaught page errors are collected in `problems`.
 */
export async function openContext(browser, server, { javaScript = true, ignoreHTTPSErrors = false } = {}) {
  const context = await browser.newContext({
    viewport: DESKTOP,
    javaScriptEnabled: javaScript,
    ignoreHTTPSErrors,
    locale: "en-GB",
  });
  const requests = [];
  const problems = [];
  context.on("request", (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() }));
  await context.route("**/*", (route) => {
    if (new URL(route.request().url()).origin === server.origin) return route.continue();
    return route.fulfill({ status: 200, contentType: "text/html", body: "<!DOCTYPE html><title>elsewhere</title><p>elsewhere" });
  });
  context.on("page", (page) => {
    page.on("console", (m) => {
      // a page answered with an error status (a refused form) is expected;
      // anything else failing to load, a CSP refusal or a script error is not
      const documentStatus = m.location().url === page.url() && m.text().startsWith("Failed to load resource: the server responded");
      if (m.type() === "error" && !documentStatus) problems.push(`console on ${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`script error on ${page.url()}: ${e.message}`));
  });
  const page = await context.newPage();
  return {
    context,
    page,
    requests,
    problems,
    /** Requests that left latchkey's origin. */
    foreign() {
      return requests.filter((r) => new URL(r.url).origin !== server.origin);
    },
    /** Every request went to latchkey, and no page logged an error. */
    assertClean() {
      assert.deepEqual(this.foreign(), [], "a page made a request to another origin");
      assert.deepEqual(problems, [], "a page logged an error (a CSP refusal, a script error)");
    },
  };
}

/** Clicks `selector` (a submit button) and waits for the page it leads to. */
export async function submit(page, selector = "main button[type=submit]") {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click(selector)]);
}

/** Names of the pages `inspect` has looked at. */
export const inspected = new Set();

/**
 * Checks the page as it is now: at 360 px wide nothing scrolls sideways;
 * axe-core (WCAG 2.x A and AA rules and best practices) finds no serious or
 * critical violation; then screenshots at 360 px and 1280 px.
 */
export async function inspect(page, name) {
  const dir = path.join(required("LATCHKEY_BROWSER_OUT"), "screenshots");
  mkdirSync(dir, { recursive: true });
  const where = `page "${name}" (${page.url()})`;

  await page.setViewportSize(PHONE);
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    view: document.documentElement.clientWidth,
    wider: [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .map((e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : "")),
  }));
  assert.ok(
    widths.scroll <= widths.view,
    `${where} scrolls sideways at ${PHONE.width} px: ${widths.scroll} px wide; too wide: ${widths.wider.join(", ")}`,
  );
  await page.screenshot({ path: path.join(dir, `${name}-${PHONE.width}.png`), fullPage: true });

  // DevTools evaluation is not subject to the page's CSP: the page itself stays strict.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return {
      checked: r.passes.length + r.violations.length,
      found: r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(" ")),
      })),
    };
  });
  assert.ok(violations.checked > 0, `axe-core checked nothing on ${where}`);
  const bad = violations.found.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad,
    [],
    `${where} has serious accessibility violations:\n${bad.map((v) => `  ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(", ")}`).join("\n")}`,
  );

  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(dir, `${name}-${DESKTOP.width}.png`), fullPage: true });
  inspected.add(name);
}
