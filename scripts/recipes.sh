#!/usr/bin/env bash
# The resource-server recipes (examples/fastapi, examples/express) against a
# real latchkey: each accepts a fresh token and refuses it within two seconds
# of the logout, by following latchkey's revocation stream
# (scripts/recipes/journey.py). The nginx recipe (examples/nginx) is tested by
# `cargo test` (crates/http/tests/app/nginx.rs). scripts/test.sh runs this
# after the cargo tests; alone:
#
#   scripts/recipes.sh [BINARY]   (default: $CARGO_TARGET_DIR/debug/latchkey)
#
# The FastAPI recipe's packages go into a virtual environment under
# $LATCHKEY_RECIPES_CACHE (default /var/tmp/latchkey-recipes-cache), made once
# per version of examples/fastapi/requirements.txt; the Express recipe's with
# `npm ci` (cache outside the clone: $LATCHKEY_NPM_CACHE, default
# /var/tmp/latchkey-npm-cache). Installs python3-venv, nodejs and npm with
# apt-get when missing and run as root. The processes' logs go to
# $CARGO_TARGET_DIR/recipes.

set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
BIN=${1:-$target/debug/latchkey}
CACHE=${LATCHKEY_RECIPES_CACHE:-/var/tmp/latchkey-recipes-cache}

lk_recipes_log() { printf '[recipes] %s\n' "$*" >&2; }

if [ ! -x "$BIN" ]; then
  lk_recipes_log "building $BIN"
  cargo build --locked -p latchkey-server
fi

. scripts/packages.sh
missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
lk_apt_install recipes "${missing[@]}"

started=$SECONDS
key=$(sha256sum examples/fastapi/requirements.txt | cut -c1-16)
venv="$CACHE/fastapi-$key"
lk_venv "$venv" examples/fastapi/requirements.txt
(cd examples/express && npm ci --silent --no-audit --no-fund --prefer-offline \
  --cache "${LATCHKEY_NPM_CACHE:-/var/tmp/latchkey-npm-cache}")
lk_recipes_log "packages ready after $((SECONDS - started)) s"

python3 scripts/recipes/journey.py "$BIN" "$venv" "$target/recipes"
