// better-auth's password hash (packages/better-auth/src/crypto/password.ts):
// scrypt(password.normalize("NFKC"), saltHex, N=16384, r=16, p=1, dkLen=64),
// stored as `${saltHex}:${hex(key)}`. Node's crypto.scrypt computes the same
// function; prints one JSON object {password, hash} per argument.
import { randomBytes, scryptSync } from "node:crypto";

for (const password of process.argv.slice(2)) {
  const salt = randomBytes(16).toString("hex");
  const key = scryptSync(password.normalize("NFKC"), salt, 64, {
    N: 16384, r: 16, p: 1, maxmem: 128 * 16384 * 16 * 2,
  });
  console.log(JSON.stringify({ password, hash: `${salt}:${key.toString("hex")}` }));
}
