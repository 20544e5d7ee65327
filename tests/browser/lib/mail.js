// Reads what latchkey mailed from the test SMTP sink of scripts/services.sh
// ($LATCHKEY_TEST_SMTP_DIR: one .eml file per message).

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { required } from "./latchkey.js";

function quotedPrintable(body) {
  const bytes = [];
  const soft = body.replace(/=\r?\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function decode(body, encoding) {
  switch ((encoding || "").toLowerCase()) {
    case "quoted-printable":
      return quotedPrintable(body);
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    default:
      return body;
  }
}

function headers(head) {
  const out = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) {
      const k = line.slice(0, i).trim().toLowerCase();
      if (!(k in out)) out[k] = line.slice(i + 1).trim();
    }
  }
  return out;
}

/** One message: its headers and its plain-text part, decoded. */
function parse(file) {
  const raw = readFileSync(file, "utf8").replace(/\r\n/g, "\n");
  const split = raw.indexOf("\n\n");
  const head = headers(raw.slice(0, split));
  const body = raw.slice(split + 2);
  const boundary = /boundary="?([^";]+)"?/i.exec(head["content-type"] || "")?.[1];
  let text = decode(body, head["content-transfer-encoding"]);
  if (boundary) {
    for (const part of body.split(`--${boundary}`)) {
      const p = part.replace(/^\n+/, "");
      const at = p.indexOf("\n\n");
      if (at < 0) continue;
      const ph = headers(p.slice(0, at));
      if ((ph["content-type"] || "").startsWith("text/plain")) {
        text = decode(p.slice(at + 2), ph["content-transfer-encoding"]);
      }
    }
  }
  return { to: head.to || "", subject: head.subject || "", text };
}

/** Messages to `address` so far, oldest first. */
export function messagesTo(address) {
  const dir = required("LATCHKEY_TEST_SMTP_DIR");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".eml") && !f.startsWith("."))
    .sort()
    .map((f) => parse(path.join(dir, f)))
    .filter((m) => m.to.toLowerCase().includes(address.toLowerCase()));
}

/**
 * Waits (up to 60 s) for a message to `address` holding a link that starts
 * with `prefix`, and returns the newest such link.
 */
export async function mailedLink(address, prefix) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const links = messagesTo(address)
      .map((m) => m.text.split(/\s+/).find((w) => w.startsWith(prefix)))
      .filter(Boolean);
    if (links.length) return links[links.length - 1];
    if (Date.now() > deadline) {
      const got = messagesTo(address).map((m) => m.subject);
      throw new Error(`no mail to ${address} with a link starting ${prefix} within 60 s (got: ${JSON.stringify(got)})`);
    }
    await sleep(100);
  }
}
