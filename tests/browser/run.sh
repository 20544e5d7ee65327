#!/usr/bin/env bash
# latchkey's hosted pages in a real browser: Debian's Chromium driven by
# playwright-core (journeys.test.js, node's own test runner, one browser for
# every journey). scripts/test.sh runs it after `cargo test`; alone:
#
#   tests/browser/run.sh            (builds nothing: uses $CARGO_TARGET_DIR/debug/latchkey)
#
# Needs the latchkey binary that `cargo test` builds (or LATCHKEY_BIN), and the
# services of scripts/services.sh (its SMTP sink and PostgreSQL): when they
# are not in the environment yet, this sources it. Installs chromium, nodejs
# and npm with apt-get when missing and run as root; `npm ci` with its cache
# outside the clone ($LATCHKEY_NPM_CACHE, default /var/tmp/latchkey-npm-cache).
#
# Screenshots of every page at 360 px and 1280 px, and each server's log,
# go to $LATCHKEY_BROWSER_OUT (default $CARGO_TARGET_DIR/browser-tests).

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

lk_browser_log() { printf '[browser] %s\n' "$*" >&2; }

# Debian's packages: the browser, and node with npm.
. scripts/debian-packages.sh
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
lk_debian_packages browser "${missing[@]}"

target=${CARGO_TARGET_DIR:-$root/target}
export LATCHKEY_BIN=${LATCHKEY_BIN:-$target/debug/latchkey}
if [ ! -x "$LATCHKEY_BIN" ]; then
  lk_browser_log "no latchkey binary at $LATCHKEY_BIN: run \`cargo test\` (or \`cargo build -p latchkey-server\`) first"
  exit 1
fi

# playwright-core and axe-core, exactly as package-lock.json says; no browser download.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd "$here" && npm ci --silent --no-audit --no-fund --prefer-offline \
  --cache "${LATCHKEY_NPM_CACHE:-/var/tmp/latchkey-npm-cache}")

if [ -z "${LATCHKEY_TEST_SMTP_PORT:-}" ] || [ -z "${LATCHKEY_TEST_POSTGRES_URL:-}" ]; then
  . scripts/services.sh
fi

# A database of its own for the journey on PostgreSQL.
db="latchkey_browser_$$_$RANDOM"
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)
"$psql" -q -X -v ON_ERROR_STOP=1 "$LATCHKEY_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
export LATCHKEY_BROWSER_POSTGRES_URL="${LATCHKEY_TEST_POSTGRES_URL%/*}/$db"

export LATCHKEY_BROWSER_OUT=${LATCHKEY_BROWSER_OUT:-$target/browser-tests}
rm -rf "$LATCHKEY_BROWSER_OUT/screenshots"
mkdir -p "$LATCHKEY_BROWSER_OUT"
lk_browser_log "screenshots and server logs: $LATCHKEY_BROWSER_OUT"
started=$SECONDS
status=0
node --test --test-reporter=spec "$here/journeys.test.js" || status=$?
lk_browser_log "screenshots of every page (360 px and 1280 px): $LATCHKEY_BROWSER_OUT/screenshots"
lk_browser_log "journeys took $((SECONDS - started)) s; this script $SECONDS s (with installs and npm ci)"
if [ "$status" != 0 ]; then
  lk_browser_log "a browser journey failed (above); the servers' logs are in $LATCHKEY_BROWSER_OUT/*.log"
fi
exit "$status"
