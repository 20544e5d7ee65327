// Starts the latchkey binary that `cargo test` built, on a free loopback
// port, with a data directory of its own, and stops it. Its environment holds
// only the settings given here (latchkey refuses unknown LATCHKEY_*
// variables, and the test services export some).

import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// Servers still running when node exits (a failed start-up, an interrupt)
// are killed with it.
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** An environment variable the suite needs, or a readable failure. */
export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with tests/browser/run.sh`);
  return value;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts latchkey. `name` names its log (in $LATCHKEY_BROWSER_OUT); `settings`
 * are LATCHKEY_* variables on top of the suite's defaults (SQLite in a fresh
 * data directory, mail to the test SMTP sink, quick password hashing).
 */
export async function startLatchkey(name, settings = {}, { host = "127.0.0.1" } = {}) {
  const bin = required("LATCHKEY_BIN");
  const out = required("LATCHKEY_BROWSER_OUT");
  const port = await freePort();
  // the browser's origin (`host`: `localhost` where WebAuthn needs a domain
  // as RP ID); this process always calls the server on 127.0.0.1
  const origin = `http://${host}:${port}`;
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), `latchkey-browser-${name}-`));
  const env = {
    PATH: process.env.PATH,
    LATCHKEY_LISTEN: `127.0.0.1:${port}`,
    LATCHKEY_PUBLIC_URL: origin,
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_LOG_FORMAT: "json",
    LATCHKEY_MAIL_TRANSPORT: "smtp",
    LATCHKEY_MAIL_SMTP_HOST: "127.0.0.1",
    LATCHKEY_MAIL_SMTP_PORT: required("LATCHKEY_TEST_SMTP_PORT"),
    LATCHKEY_MAIL_SMTP_SECURITY: "none",
    // the least argon2 cost allowed: this suite tests pages, not hashing
    LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB: "8192",
    LATCHKEY_PASSWORDS_ARGON2_ITERATIONS: "1",
    ...settings,
  };
  const logFile = path.join(out, `${name}.log`);
  const log = openSync(logFile, "w");
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", log, log] });
  closeSync(log);
  running.add(child);
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = signal ?? code;
    running.delete(child);
  });
  const tail = () => readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n");
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) {
      throw new Error(`latchkey (${name}) exited with ${exited} before it was ready:\n${tail()}`);
    }
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`latchkey (${name}) was not ready within 60 s:\n${tail()}`);
    }
    await sleep(100);
  }
  return {
    name,
    origin,
    logFile,
    /** A JSON API call; resolves to { status, body }. */
    async api(method, pathname, body, headers = {}) {
      const r = await fetch(base + pathname, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: r.status, body: json ?? text };
    },
    /** Runs `latchkey ARGS...` on this server's settings and data; resolves to its stdout. */
    cli(args) {
      return execFileSync(bin, args, { env, encoding: "utf8" });
    },
    async stop() {
      if (exited !== null) return;
      // its data directory goes with it (the log stays in $LATCHKEY_BROWSER_OUT)
      const done = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 25_000);
      await done;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
