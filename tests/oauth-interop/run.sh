#!/usr/bin/env bash
# Two independent OpenID Connect client libraries against latchkey, on
# SQLite and on PostgreSQL: panva/openid-client (npm, openid_client.mjs) and
# Authlib (PyPI, authlib_rp.py). Each completes discovery, code + PKCE with
# sign-in through the hosted pages (plain HTTP form posts), ID token
# validation, UserInfo, refresh with rotation, introspection, revocation,
# RP-initiated logout and client credentials, with a confidential, a public
# and a private_key_jwt client (its keys at a loopback jwks_uri), ID tokens
# in RS256 and, for one client, EdDSA. The clients
# are registered with `latchkey client create`. scripts/test.sh runs it
# after `cargo test`; alone:
#
#   tests/oauth-interop/run.sh      (builds nothing: uses $CARGO_TARGET_DIR/debug/latchkey)
#
# Needs node with npm and python3 with venv (installed with apt-get when
# missing and run as root), and the PostgreSQL of scripts/services.sh
# (sourced when not in the environment yet). `npm ci` caches in
# $LATCHKEY_NPM_CACHE (default /var/tmp/latchkey-npm-cache); the Python
# libraries go into a virtual environment under $LATCHKEY_INTEROP_CACHE
# (default /var/tmp/latchkey-interop-cache), made once per version of
# requirements.txt. Each server's log goes to $LATCHKEY_INTEROP_OUT
# (default $CARGO_TARGET_DIR/oauth-interop).

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
started=$SECONDS

lk_interop_log() { printf '[oauth-interop] %s\n' "$*" >&2; }

. scripts/packages.sh
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
lk_apt_install oauth-interop "${missing[@]}"

target=${CARGO_TARGET_DIR:-$root/target}
bin=${LATCHKEY_BIN:-$target/debug/latchkey}
if [ ! -x "$bin" ]; then
  lk_interop_log "no latchkey binary at $bin: run \`cargo test\` (or \`cargo build -p latchkey-server\`) first"
  exit 1
fi

# openid-client exactly as package-lock.json says
(cd "$here" && npm ci --silent --no-audit --no-fund --prefer-offline \
  --cache "${LATCHKEY_NPM_CACHE:-/var/tmp/latchkey-npm-cache}")

# Authlib and its pinned dependencies, in a venv per version of requirements.txt
cache=${LATCHKEY_INTEROP_CACHE:-/var/tmp/latchkey-interop-cache}
venv="$cache/venv-$(sha256sum "$here/requirements.txt" | cut -c1-16)"
lk_venv "$venv" "$here/requirements.txt"

if [ -z "${LATCHKEY_TEST_POSTGRES_URL:-}" ]; then
  . scripts/services.sh
fi
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)

out=${LATCHKEY_INTEROP_OUT:-$target/oauth-interop}
rm -rf "$out"
mkdir -p "$out"
setup=$SECONDS

server_pid= jwks_pid=
stop_server() {
  local pid
  for pid in "$server_pid" "$jwks_pid"; do
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  server_pid= jwks_pid=
}
trap stop_server EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One latchkey on BACKEND (sqlite or postgres) with the clients of both
# libraries, then both libraries against it.
run_backend() {
  local backend=$1 port data lk_env database_url=""
  port=$(free_port)
  data=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-interop-$backend-XXXXXX")
  if [ "$backend" = postgres ]; then
    local db="latchkey_interop_$$_$RANDOM"
    "$psql" -q -X -v ON_ERROR_STOP=1 "$LATCHKEY_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
    database_url="${LATCHKEY_TEST_POSTGRES_URL%/*}/$db"
  fi
  local issuer="http://127.0.0.1:$port"
  # only these settings: latchkey refuses unknown LATCHKEY_* variables, and
  # the test services export some
  lk_env=(env -i "PATH=$PATH" "LATCHKEY_LISTEN=127.0.0.1:$port" "LATCHKEY_PUBLIC_URL=$issuer"
    "LATCHKEY_DATA_DIR=$data" "LATCHKEY_LOG_FORMAT=json"
    "LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB=8192" "LATCHKEY_PASSWORDS_ARGON2_ITERATIONS=1")
  [ -n "$database_url" ] && lk_env+=("LATCHKEY_DATABASE_URL=$database_url")
  # the service client's resource scope is in the scope catalogue
  printf '[oauth.scopes."reports:read"]\ndescription = "Read reports"\n' >"$data/latchkey.toml"
  lk() { "${lk_env[@]}" "$bin" --config "$data/latchkey.toml" "$@"; }

  "${lk_env[@]}" "$bin" --config "$data/latchkey.toml" serve >"$out/$backend.log" 2>&1 &
  server_pid=$!
  local ready=0
  for _ in $(seq 1 300); do
    if curl -fsS "$issuer/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$ready" != 1 ]; then
    lk_interop_log "latchkey ($backend) did not start; its log:"
    tail -n 20 "$out/$backend.log" >&2
    return 1
  fi

  # the private_key_jwt clients: an RSA key made here, its public half
  # published at a loopback jwks_uri (latchkey fetches it like upstream keys)
  local keys="$out/$backend-keys" jwks_port
  mkdir -p "$keys"
  "$venv/bin/python" - "$keys/rp-private.json" "$keys/jwks.json" <<'PY'
import json, sys
from joserfc.jwk import RSAKey
key = RSAKey.generate_key(2048, parameters={"kid": "interop-rp-1", "alg": "RS256", "use": "sig"})
json.dump(key.as_dict(private=True), open(sys.argv[1], "w"))
json.dump({"keys": [key.as_dict(private=False)]}, open(sys.argv[2], "w"))
PY
  jwks_port=$(free_port)
  python3 -m http.server --bind 127.0.0.1 --directory "$keys" "$jwks_port" >"$out/$backend-jwks.log" 2>&1 &
  jwks_pid=$!

  local redirect="http://127.0.0.1:9/callback" bye="http://127.0.0.1:9/signed-out"
  local scopes=(--scope openid --scope email --scope profile --scope offline_access)
  # `client create` prints "client_id: ..." and, for a confidential client, "client_secret: ..."
  client() {
    lk client create "$@" | awk '/^client_(id|secret):/ { printf "\"%s\": \"%s\", ", substr($1, 1, length($1) - 1), $2 }'
  }
  local lib clients=""
  for lib in openid_client authlib; do
    printf 'interop password %s\n' "$lib" | lk user create --email "$lib@example.com" --verified >/dev/null
    clients+="\"$lib\": {
      \"confidential\": { $(client --name "$lib confidential" --redirect-uri "$redirect" \
        --post-logout-redirect-uri "$bye" "${scopes[@]}") \"id_token_alg\": \"RS256\" },
      \"public\": { $(client --name "$lib public" --public --redirect-uri "$redirect" \
        --post-logout-redirect-uri "$bye" "${scopes[@]}") \"id_token_alg\": \"RS256\" },
      \"eddsa\": { $(client --name "$lib EdDSA" --redirect-uri "$redirect" --id-token-alg EdDSA \
        --post-logout-redirect-uri "$bye" "${scopes[@]}") \"id_token_alg\": \"EdDSA\" },
      \"service\": { $(client --name "$lib service" --grant client_credentials \
        --scope reports:read) \"scope\": \"reports:read\" },
      \"private_key_jwt\": { $(client --name "$lib private_key_jwt" --redirect-uri "$redirect" \
        --post-logout-redirect-uri "$bye" "${scopes[@]}" --auth-method private_key_jwt \
        --jwks-uri "http://127.0.0.1:$jwks_port/jwks.json") \"private_key\": \"$keys/rp-private.json\" }
    },"
  done
  cat >"$out/$backend.json" <<EOF
{
  "backend": "$backend",
  "issuer": "$issuer",
  "redirect_uri": "$redirect",
  "post_logout_redirect_uri": "$bye",
  "users": {
    "openid_client": { "email": "openid_client@example.com", "password": "interop password openid_client" },
    "authlib": { "email": "authlib@example.com", "password": "interop password authlib" }
  },
  "clients": { ${clients%,} }
}
EOF
  local status=0
  node "$here/openid_client.mjs" "$out/$backend.json" || status=$?
  "$venv/bin/python" "$here/authlib_rp.py" "$out/$backend.json" || status=$?
  stop_server
  rm -rf "$data"
  if [ "$status" != 0 ]; then
    lk_interop_log "a library failed on $backend (above); latchkey's log: $out/$backend.log"
  fi
  return "$status"
}

status=0
run_backend sqlite || status=1
run_backend postgres || status=1
lk_interop_log "the flows took $((SECONDS - setup)) s; this script $((SECONDS - started)) s (with installs)"
exit "$status"
