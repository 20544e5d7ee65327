// The application a person returns to after signing in: an HTTPS server on
// loopback standing in for an allowed return origin (`https://app.example.com`
// in crates/http/src/pages/return_to_cases.json). Chromium reaches it through
// --host-resolver-rules; its certificate is self-signed, made here with openssl.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import path from "node:path";
import { required } from "./latchkey.js";

/** Starts the stand-in for `origin` (https, default port); resolves to { host, port, visits, close }. */
export async function startApp(origin) {
  const host = new URL(origin).hostname;
  const dir = required("LATCHKEY_BROWSER_OUT");
  const key = path.join(dir, "app.key");
  const cert = path.join(dir, "app.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-keyout", key, "-out", cert, "-subj", `/CN=${host}`, "-addext", `subjectAltName=DNS:${host}`,
  ], { stdio: "ignore" });
  const visits = [];
  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    visits.push(req.url);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!DOCTYPE html><html lang=en><title>The app</title><p>Back in the app.");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host,
    port: server.address().port,
    visits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
