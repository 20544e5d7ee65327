// better-auth as an app would run it for email + password sign-in: SQLite
// through better-sqlite3 (WAL), sessions in the database, and the bearer
// plugin so the session token can be sent as "Authorization: Bearer".
// Its own rate limiter is off: every request of the benchmark comes from
// 127.0.0.1 and would be throttled.
//   PORT=3100 DB=./auth.db node server.mjs
import http from "node:http";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { bearer } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";

const port = Number(process.env.PORT ?? 3100);
const origin = `http://127.0.0.1:${port}`;
const db = new Database(process.env.DB ?? "./auth.db");
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");

const auth = betterAuth({
  baseURL: origin,
  secret: "bench-only-secret-bench-only-secret-0123",
  database: db,
  emailAndPassword: { enabled: true, autoSignIn: true },
  plugins: [bearer()],
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  trustedOrigins: [origin],
});

// Create the tables on first start, as `npx @better-auth/cli migrate` would.
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handle = toNodeHandler(auth);
http
  .createServer((req, res) => {
    if (req.url === "/health") return res.end("ok");
    if (req.url.startsWith("/api/auth/")) return handle(req, res);
    res.statusCode = 404;
    res.end();
  })
  .listen(port, "127.0.0.1", () => console.log(`better-auth on ${origin}`));
