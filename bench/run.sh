#!/usr/bin/env bash
# latchkey side by side with better-auth, fastapi-users and node oidc-provider,
# in one run, on this machine, with one load generator (wrk), on loopback.
#
#   bench/run.sh                      everything (about 15 minutes after the installs)
#   BENCH_DURATION=5s bench/run.sh    shorter workloads
#   BENCH_PEERS="oidc-provider" bench/run.sh    only some peers ("" for none)
#   BENCH_BACKENDS="sqlite" bench/run.sh        latchkey on SQLite only
#   BENCH_LATCHKEY_WORKLOADS=checks ...   latchkey's token checks and refresh only
#   BENCH_LATCHKEY_WORKLOADS="forward oauth" ...   only some groups of workloads:
#       logins (register, logins), timing (unknown vs known: login, sign-in
#       link), checks (token checks), forward (forward-auth), verify
#       (latchkey-verify's check, no server; builds its example with the
#       test kit), refresh, oauth (the OAuth provider: client credentials,
#       code flows, refresh grants, userinfo)
#   BENCH_BACKENDS=sqlite BENCH_PEERS=oidc-provider BENCH_LATCHKEY_WORKLOADS=oauth \
#     BENCH_OUT=bench/results/oauth bench/run.sh    the OAuth table alone
#   BENCH_BASELINE=/path/to/older/latchkey BENCH_BASELINE_LABEL=d4ac983 BENCH_ROUNDS=2 ...
#       an older build side by side with this tree's, alternating on each
#       backend (baseline, this tree, baseline, ...), BENCH_ROUNDS times
#   BENCH_OUT=DIR ...                     results elsewhere than bench/results
#   BENCH_LATCHKEY_BIN=PATH BENCH_LATCHKEY_LABEL=69a370e ...   a built binary
#       instead of building this tree (the examples are still built from it
#       for the logins and the peers)
#
# Builds latchkey in release mode, measures the hash-bound limit (argon2id
# without a server), starts latchkey on SQLite and on a PostgreSQL cluster it
# starts itself, installs the peers from npm and PyPI into a scratch
# directory (BENCH_SCRATCH, default /tmp/latchkey-bench; kept between runs
# so the installs are reused), drives the same workloads at each, and writes
# bench/results/results.{md,svg,jsonl}. Installs wrk, PostgreSQL and the
# Python venv module with apt-get when they are missing and this runs as
# root. Not part of CI: scripts/test.sh never runs it.
#
# For every workload: throughput, p50 and p99 latency, server CPU time per
# request (utime+stime of the server process, all threads, from /proc), and
# peak memory (VmHWM, reset before each workload). CPU per request is the
# figure to compare when other work shares the cores; requests per second is
# not. See "Benchmarks" in the README for how to read the results.

set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
export BENCH_LUA=$BENCH/lua
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=2
PEERS=${BENCH_PEERS-better-auth fastapi-users oidc-provider}
BACKENDS=${BENCH_BACKENDS-sqlite postgres}
# PostgreSQL's commit durability: "off" matches SQLite's WAL with
# synchronous=NORMAL (a crash may lose the last commits, never corrupts).
PG_SYNC=${BENCH_PG_SYNCHRONOUS_COMMIT:-off}
SCRATCH=${BENCH_SCRATCH:-${TMPDIR:-/tmp}/latchkey-bench}
OUT=${BENCH_OUT:-$BENCH/results}
# "all", "checks" (token check by introspection and GET /v1/account, and
# refresh: the hot paths, without the logins' hashing), or groups by name.
LATCHKEY_WORKLOADS=${BENCH_LATCHKEY_WORKLOADS:-all}
case $LATCHKEY_WORKLOADS in
  all) WORKLOAD_GROUPS="logins timing checks forward verify refresh oauth" ;;
  checks) WORKLOAD_GROUPS="checks refresh" ;;
  *) WORKLOAD_GROUPS=$LATCHKEY_WORKLOADS ;;
esac
for group in $WORKLOAD_GROUPS; do
  case $group in logins | timing | checks | forward | verify | refresh | oauth) ;;
    *) echo "BENCH_LATCHKEY_WORKLOADS: all, checks, or groups of: logins timing checks forward verify refresh oauth" >&2; exit 1 ;;
  esac
done
wants() { [[ " $WORKLOAD_GROUPS " == *" $1 "* ]]; }
BASELINE=${BENCH_BASELINE:-}
BASELINE_LABEL=${BENCH_BASELINE_LABEL:-baseline}
ROUNDS=${BENCH_ROUNDS:-1}
RESULTS=$SCRATCH/results.jsonl
HZ=$(getconf CLK_TCK)
PASSWORD=correct-horse-battery
TOOLS=(python3 "$BENCH/tools.py")

say() { printf '[bench] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ------------------------------------------------------------------ setup

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    die "$1 is missing: install the Debian package(s) '$*' (or run this as root)"
  say "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v cargo >/dev/null || die "cargo is missing: install Rust from https://rustup.rs"
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v python3 >/dev/null || apt_install python3
for peer in $PEERS; do
  case $peer in
    better-auth | oidc-provider)
      command -v node >/dev/null || apt_install nodejs npm
      [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] ||
        die "the node peers need Node.js 20 or newer (found $(node --version))" ;;
    fastapi-users)
      python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv ;;
    *) die "unknown peer $peer (better-auth, fastapi-users, oidc-provider)" ;;
  esac
done
PGBIN=
if [[ " $BACKENDS " == *" postgres "* ]]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$PGBIN" ]; then
    apt_install postgresql
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
fi

mkdir -p "$SCRATCH"
chmod 755 "$SCRATCH"
rm -rf "$SCRATCH/run"
mkdir -p "$SCRATCH/run"
chmod 755 "$SCRATCH/run"
RUN=$SCRATCH/run
: >"$RESULTS"

STARTED_PIDS=()
PG_DATA=
cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  if [ -n "$PG_DATA" ]; then as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# initdb refuses to run as root: PostgreSQL runs as 'postgres' then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A free port below the kernel's ephemeral range: polling a port in that
# range while nothing listens can connect the socket to itself, which then
# holds the port the server is about to bind.
EPHEMERAL_LOW=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port"
}

# stop_pid PID: SIGTERM, then wait for it to go (SIGKILL after 20 s).
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# spawn NAME URL CMD... : starts CMD in the background, waits until URL
# answers 200, sets PID and READY_MS.
spawn() {
  local name=$1 url=$2
  shift 2
  local out
  out=$("${TOOLS[@]}" spawn-ready "$url" "$RUN/$name.log" -- "$@")
  PID=${out% *}
  READY_MS=${out#* }
  STARTED_PIDS+=("$PID")
}

rss_mib() { awk -v k="${2:-VmRSS}:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# CPU ticks (user + system, every thread) of PIDS, and of the children they
# have reaped (for PostgreSQL's postmaster and its backends).
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 + $14 + $15 }')))
  done
  echo "$total"
}
db_pids() { [ -n "${DB_PID:-}" ] && echo "$DB_PID" $(pgrep -P "$DB_PID"); true; }

record() { printf '%s\n' "$1" >>"$RESULTS"; }

# thread_ticks PID: "TID NAME TICKS" for every thread of PID.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm")" "$(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')"
  done 2>/dev/null
}

# wait_idle PID: until the server has finished what a warm-up left in
# flight (no CPU used for 0.4 s), so that it is not billed to the next run.
wait_idle() {
  local before after quiet=0
  before=$(cpu_ticks "$1")
  for _ in $(seq 1 300); do
    sleep 0.2
    after=$(cpu_ticks "$1")
    if [ $((after - before)) -le 1 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    [ "$quiet" -ge 2 ] && return
    before=$after
  done
}

# hash_cost SYSTEM WHAT LINE: records a peer's password-hash cost measured
# without a server (LINE: "hashes=N cpu_ms_per_hash=X").
hash_cost() {
  say "$1: $2: $3"
  record "{\"kind\":\"peer_hash\",\"system\":$(json_str "$1"),\"what\":$(json_str "$2"),\"cpu_ms_per_hash\":${3##*=}}"
}
# One verification at a time for 3 s, CPU time of the process per hash.
NODE_HASH_COST='
import { hashPassword, verifyPassword } from "@better-auth/utils/password";
const stored = await hashPassword("correct-horse-battery");
const cpu = process.cpuUsage(), start = performance.now();
let n = 0;
while (performance.now() - start < 3000) {
  if (!(await verifyPassword(stored, "correct-horse-battery"))) throw new Error("no match");
  n++;
}
const used = process.cpuUsage(cpu);
console.log(`hashes=${n} cpu_ms_per_hash=${((used.user + used.system) / 1000 / n).toFixed(2)}`);'
PY_HASH_COST='
import sys, time
from pwdlib.hashers.argon2 import Argon2Hasher
h = Argon2Hasher(*map(int, sys.argv[1:])) if len(sys.argv) > 1 else Argon2Hasher()
stored, cpu, start, n = h.hash("correct-horse-battery"), time.process_time(), time.perf_counter(), 0
while time.perf_counter() - start < 3:
    assert h.verify("correct-horse-battery", stored)
    n += 1
print(f"hashes={n} cpu_ms_per_hash={(time.process_time() - cpu) * 1000 / n:.2f}")'


# measure SYSTEM WORKLOAD PID CONNS SCRIPT URL — one wrk workload. Its
# inputs come from the environment (BODY, TOKEN, AUTH, TOKENS_FILE, ...).
# NO_WARMUP=1 skips the warm-up (single-use tokens, the 64-connection run).
measure() {
  local system=$1 workload=$2 pid=$3 conns=$4 script=$5 url=$6
  if [ "${NO_WARMUP:-0}" != 1 ]; then
    RUN_ID=w$RANDOM$RANDOM wrk -t$THREADS -c"$conns" -d"$WARMUP" --timeout 30s -s "$BENCH_LUA/$script" "$url" >/dev/null 2>&1 || true
  fi
  wait_idle "$pid"
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || say "cannot reset VmHWM of $pid: peak memory is since start"
  local load c0 c1 d0 d1 out line
  load=$(cut -d' ' -f1 /proc/loadavg)
  thread_ticks "$pid" >"$RUN/threads-before"
  c0=$(cpu_ticks "$pid")
  d0=$(cpu_ticks $(db_pids))
  out=$(RUN_ID=m$RANDOM$RANDOM WRK_THREADS=$THREADS wrk -t$THREADS -c"$conns" -d"$DURATION" --timeout 30s \
    --latency -s "$BENCH_LUA/$script" "$url" 2>&1) || die "wrk failed for $system $workload: $out"
  c1=$(cpu_ticks "$pid")
  d1=$(cpu_ticks $(db_pids))
  thread_ticks "$pid" >"$RUN/threads-after"
  line=$(grep '^BENCH ' <<<"$out") || die "no result from wrk for $system $workload: $out"
  local requests duration_us p50_us p99_us status_errors timeouts socket_errors
  eval "${line#BENCH }"
  [ "$requests" -gt 0 ] || die "$system $workload: no request completed: $out"
  local hwm
  hwm=$(rss_mib "$pid" VmHWM)
  local json
  json=$(awk -v s="$system" -v w="$workload" -v req="$requests" -v dur="$duration_us" -v p50="$p50_us" \
    -v p99="$p99_us" -v err=$((status_errors + timeouts + socket_errors)) -v c=$((c1 - c0)) \
    -v d=$((d1 - d0)) -v db="${DB_PID:-}" -v hz="$HZ" -v hwm="$hwm" -v conns="$conns" -v load="$load" 'BEGIN {
      printf "{\"kind\":\"workload\",\"system\":\"%s\",\"workload\":\"%s\",\"requests\":%d,\"rps\":%.1f,", s, w, req, req / (dur / 1e6)
      printf "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"cpu_ms\":%.4f,", p50 / 1000, p99 / 1000, c * 1000 / hz / req
      printf "\"db_cpu_ms\":%s,\"hwm_mib\":%s,\"errors\":%d,\"conns\":%d,\"load\":%s,", (db == "" ? "null" : sprintf("%.4f", d * 1000 / hz / req)), hwm, err, conns, load
    }')
  json+="\"threads\":$("${TOOLS[@]}" threads "$RUN/threads-before" "$RUN/threads-after" "$requests" "$HZ")}"
  record "$json"
  say "$(printf '%-22s %-34s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  %8.3f ms CPU/req  peak %6s MiB  errors %d  load %s' \
    "$system" "$workload" "$(awk -v r="$requests" -v d="$duration_us" 'BEGIN{print r/(d/1e6)}')" \
    "$(awk -v v="$p50_us" 'BEGIN{print v/1000}')" "$(awk -v v="$p99_us" 'BEGIN{print v/1000}')" \
    "$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v r="$requests" 'BEGIN{print c*1000/hz/r}')" "$hwm" \
    $((status_errors + timeouts + socket_errors)) "$load")"
}

json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
note() { record "{\"kind\":\"note\",\"text\":$(json_str "$*")}"; }

# ------------------------------------------------------------------ build

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LATCHKEY=${BENCH_LATCHKEY_BIN:-$TARGET_DIR/release/latchkey}
HASH_LIMIT=$TARGET_DIR/release/examples/hash_limit
if [ -z "${BENCH_LATCHKEY_BIN:-}" ]; then
  say "building latchkey (release)"
  (cd "$ROOT" && cargo build --release --locked -p latchkey-server --bin latchkey) >&2
fi
# The hash-bound limit: for latchkey's logins and the peers' (oidc-provider has none).
password_peers() { [[ " $PEERS " == *" better-auth "* || " $PEERS " == *" fastapi-users "* ]]; }
if wants logins || password_peers; then
  say "building the hash-limit example (release)"
  (cd "$ROOT" && cargo build --release --locked -p latchkey-core --example hash_limit) >&2
fi
# latchkey-verify's check.
if wants verify; then
  say "building the cached-check example (release)"
  (cd "$ROOT" && cargo build --release --locked -p latchkey-verify --example cached_check) >&2
fi
[ -x "$LATCHKEY" ] || die "no latchkey binary at $LATCHKEY"

# ------------------------------------------------------------------ machine

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
record "$(printf '{"kind":"machine","nproc":%d,"cpu":%s,"mem_gib":%s,"kernel":%s,"load_start":%s}' \
  "$(nproc)" "$(json_str "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)")" \
  "$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)" \
  "$(json_str "Linux $(uname -r)")" "$(json_str "$LOAD_START")")"
record "$(printf '{"kind":"run","date":%s,"duration":"%s","warmup":"%s","threads":%d}' \
  "$(json_str "$(date -u '+%Y-%m-%d %H:%M UTC')")" "$DURATION" "$WARMUP" "$THREADS")"
version() { record "{\"kind\":\"version\",\"name\":$(json_str "$1"),\"version\":$(json_str "$2")}"; }
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$ROOT" diff --quiet HEAD -- crates Cargo.lock 2>/dev/null || COMMIT+=" with uncommitted changes"
[ -z "${BENCH_LATCHKEY_BIN:-}" ] || COMMIT=${BENCH_LATCHKEY_LABEL:-$BENCH_LATCHKEY_BIN}
version latchkey "$("$LATCHKEY" version | awk '{ print $2 }') ($COMMIT)"
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || die "BENCH_BASELINE: $BASELINE is not an executable"
  version "latchkey $BASELINE_LABEL" "$("$BASELINE" version | awk '{ print $2 }') ($BASELINE)"
fi
version rustc "$(rustc --version | awk '{ print $2 }')"
version wrk "$(wrk --version 2>&1 | awk 'NR == 1 { print $2 }')"

# ------------------------------------------------------------------ hash limit

# Measured once, right before latchkey's first login workload (so that both
# see about the same load on the machine), or before the peers without it.
# It runs in a session of its own, like the servers: with the kernel's
# autogroup scheduling, CPU is shared fairly between sessions, so a shared
# session would give it a different share of a busy machine than a server.
HASH_DONE=
hash_limit_once() {
  [ -z "$HASH_DONE" ] || return 0
  HASH_DONE=1
  say "hash-bound limit: argon2id m=19456 KiB, t=2, p=1 on $(nproc) workers, no server"
  local line
  line=$(setsid -w "$HASH_LIMIT" --workers "$(nproc)" --seconds "${DURATION%s}" --clk-tck "$HZ")
  say "$line"
  record "{\"kind\":\"hash_limit\",\"load\":$(cut -d' ' -f1 /proc/loadavg),$(tr ' ' '\n' <<<"$line" | awk -F= '{ printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $1, ($2 ~ /^[0-9.]+$/ ? $2 : "null") }')}"
}

# ------------------------------------------------------------------ latchkey

# login_share LABEL PID URL: login throughput against the hash-bound limit,
# measured in alternating slices (hashing without a server, then logins, five
# times over), so that both see the same load on the shared cores.
login_share() {
  local label=$1 pid=$2 url=$3 hashes=0 hash_s=0 logins=0 login_s=0 line out
  say "$label: login against the hash-bound limit, five alternating slices of 2 s"
  for _ in 1 2 3 4 5; do
    wait_idle "$pid"
    line=$(setsid -w "$HASH_LIMIT" --workers "$(nproc)" --seconds 2 --clk-tck "$HZ")
    hashes=$(awk -v a="$hashes" -v l="$line" 'BEGIN { match(l, /hashes=[0-9]+/); print a + substr(l, RSTART + 7, RLENGTH - 7) }')
    hash_s=$(awk -v a="$hash_s" -v l="$line" 'BEGIN { match(l, /seconds=[0-9.]+/); print a + substr(l, RSTART + 8, RLENGTH - 8) }')
    out=$(WRK_THREADS=$THREADS wrk -t$THREADS -c8 -d2s --timeout 30s -s "$BENCH_LUA/post.lua" "$url" 2>&1)
    line=$(grep '^BENCH ' <<<"$out") || die "no result from wrk: $out"
    logins=$(awk -v a="$logins" -v l="$line" 'BEGIN { match(l, /requests=[0-9]+/); print a + substr(l, RSTART + 9, RLENGTH - 9) }')
    login_s=$(awk -v a="$login_s" -v l="$line" 'BEGIN { match(l, /duration_us=[0-9]+/); print a + substr(l, RSTART + 12, RLENGTH - 12) / 1e6 }')
  done
  local json
  json=$(awk -v n="$label" -v h="$hashes" -v hs="$hash_s" -v l="$logins" -v ls="$login_s" 'BEGIN {
    printf "{\"kind\":\"login_share\",\"system\":\"%s\",\"hashes_per_sec\":%.1f,\"logins_per_sec\":%.1f,\"share\":%.1f}", n, h / hs, l / ls, 100 * (l / ls) / (h / hs) }')
  say "$json"
  record "$json"
}

# The OAuth workloads' client side, the same for latchkey and oidc-provider:
# one redirect URI, one PKCE pair (a code is bound to the challenge; that
# every flow shows the same one costs the servers nothing).
OAUTH_REDIRECT=http://127.0.0.1:9/callback
OAUTH_REDIRECT_ENC=http%3A%2F%2F127.0.0.1%3A9%2Fcallback
OAUTH_VERIFIER=bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz
OAUTH_CHALLENGE=$(printf %s "$OAUTH_VERIFIER" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
# oauth_query CLIENT_ID: an authorization request for openid, email and
# offline_access (ID token, UserInfo's email, a refresh token).
oauth_query() {
  printf 'response_type=code&client_id=%s&redirect_uri=%s&scope=openid%%20email%%20offline_access&state=bench&code_challenge=%s&code_challenge_method=S256' \
    "$1" "$OAUTH_REDIRECT_ENC" "$OAUTH_CHALLENGE"
}
basic_auth() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

# oauth_rows SYSTEM PID BASE CC_AUTH AUTHORIZE_PATH COOKIE TOKEN_PATH WEB_AUTH USERINFO_PATH TOKENS_CMD...
# The four OAuth workloads against one provider: client-credentials grants;
# whole code flows with a browser session (authorize, redirect with a code,
# token); refresh grants (single-use tokens, from code flows made by
# TOKENS_CMD N, which prints "access refresh" per line); UserInfo.
oauth_rows() {
  local system=$1 pid=$2 base=$3 cc_auth=$4 authorize=$5 cookie=$6 token_path=$7 web_auth=$8 userinfo=$9
  shift 9
  # The code flows first, right after the browser signed in: oidc-provider's
  # development store keeps only the 1,000 most recently used entries, and
  # thousands of client-credentials tokens would push its session out. One
  # flow before them: latchkey makes its RSA ID-token key at the first ID
  # token (seconds of prime search), which is start-up, not a flow's cost.
  "$@" 1 >/dev/null
  AUTHORIZE=$authorize COOKIE=$cookie TOKEN_PATH=$token_path REDIRECT_URI=$OAUTH_REDIRECT_ENC \
    VERIFIER=$OAUTH_VERIFIER AUTH=$web_auth \
    measure "$system" "oauth: code flow (authorize + token)" "$pid" 16 code_flow.lua "$base"
  BODY=grant_type=client_credentials CONTENT_TYPE=application/x-www-form-urlencoded AUTH=$cc_auth \
    measure "$system" "oauth: client_credentials grant" "$pid" 16 post.lua "$base$token_path"
  local tag=${system//[^a-zA-Z0-9]/-}
  "$@" 33 >"$RUN/oauth-$tag"
  local access
  access=$(head -n 1 "$RUN/oauth-$tag" | cut -d' ' -f1)
  TOKEN=$access measure "$system" "oauth: userinfo" "$pid" 16 get_bearer.lua "$base$userinfo"
  sed -n '2,33p' "$RUN/oauth-$tag" | cut -d' ' -f2 >"$RUN/oauth-rt-warm-$tag"
  local refresh='grant_type=refresh_token&refresh_token={token}'
  BODY=$refresh CONTENT_TYPE=application/x-www-form-urlencoded AUTH=$web_auth TOKENS_FILE=$RUN/oauth-rt-warm-$tag \
    WRK_THREADS=$THREADS wrk -t$THREADS -c16 -d"$WARMUP" -s "$BENCH_LUA/rotate.lua" "$base$token_path" >/dev/null 2>&1
  # Made after the warm-up (oidc-provider's development store keeps only
  # the 1,000 most recently used entries).
  "$@" 32 | cut -d' ' -f2 >"$RUN/oauth-rt-$tag"
  BODY=$refresh CONTENT_TYPE=application/x-www-form-urlencoded AUTH=$web_auth TOKENS_FILE=$RUN/oauth-rt-$tag NO_WARMUP=1 \
    measure "$system" "oauth: refresh grant" "$pid" 16 rotate.lua "$base$token_path"
}

# oauth_workloads LABEL PID BASE SERVE_ARGS...: latchkey's OAuth provider,
# with two clients registered by the CLI: one for client credentials, one
# first-party web client (no consent page) for the code flows.
oauth_workloads() {
  local label=$1 pid=$2 base=$3
  shift 3
  local cc web cookie
  cc=$("$LATCHKEY" client create --name bench-cc --grant client_credentials "$@" 2>/dev/null)
  web=$("$LATCHKEY" client create --name bench-web --redirect-uri "$OAUTH_REDIRECT" --first-party \
    --scope openid --scope email --scope offline_access "$@" 2>/dev/null)
  local cc_id cc_secret web_id web_secret
  cc_id=$(awk '/^client_id:/ { print $2 }' <<<"$cc")
  cc_secret=$(awk '/^client_secret:/ { print $2 }' <<<"$cc")
  web_id=$(awk '/^client_id:/ { print $2 }' <<<"$web")
  web_secret=$(awk '/^client_secret:/ { print $2 }' <<<"$web")
  cookie=$("${TOOLS[@]}" latchkey-cookie "$base" bench@example.com "$PASSWORD")
  oauth_rows "$label" "$pid" "$base" "$(basic_auth "$cc_id" "$cc_secret")" \
    "/oauth2/authorize?$(oauth_query "$web_id")" "$cookie" /oauth2/token \
    "$(basic_auth "$web_id" "$web_secret")" /oauth2/userinfo \
    "${TOOLS[@]}" oauth-tokens "$base" "/oauth2/authorize?$(oauth_query "$web_id")" "$cookie" \
    /oauth2/token "$(basic_auth "$web_id" "$web_secret")" "$OAUTH_REDIRECT" "$OAUTH_VERIFIER"
}

# verify_check_once: latchkey-verify's check of a token without a server
# (the cached_check example), once per run, recorded per algorithm.
VERIFY_DONE=
verify_check_once() {
  [ -z "$VERIFY_DONE" ] || return 0
  VERIFY_DONE=1
  local out
  out=$(cd "$ROOT" && setsid -w cargo run -q --release --locked -p latchkey-verify --example cached_check 2>/dev/null)
  say "latchkey-verify, one check (cached_check example): $(tr '\n' ';' <<<"$out")"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  while read -r alg _ _ first _ _ _ cached _ _ per_sec _; do
    record "{\"kind\":\"verify_check\",\"alg\":$(json_str "${alg%:}"),\"first_us\":$first,\"cached_us\":$cached,\"checks_per_sec\":$per_sec,\"load\":$load}"
  done <<<"$out"
}

# latchkey_backend NAME LABEL [DATABASE_URL]
latchkey_backend() {
  local name=$1 label=$2 url=${3:-}
  local port base data args
  port=$(free_port)
  base=http://127.0.0.1:$port
  data=$RUN/latchkey-$name
  args=(--listen "127.0.0.1:$port" --data-dir "$data")
  [ -n "$url" ] && args+=(--database-url "$url")
  export LATCHKEY_LOG_FORMAT=json
  # The workloads send thousands of sign-ins from one address and repeat
  # wrong passwords on purpose; the peers have no such limits. Measure the
  # work, not the abuse protection: rate limits, challenges and failure
  # counters are off here (the production profile refuses the last one).
  export LATCHKEY_RATE_LIMITS_ENABLED=false LATCHKEY_CHALLENGE_ENABLED=false LATCHKEY_BRUTE_FORCE_ENABLED=false
  export LATCHKEY_PROXIES_TRUSTED=127.0.0.1
  # The forward-auth workloads' rule: only when they run (a build older than
  # forward-auth refuses the setting, and "checks" may measure one).
  if wants forward; then
    export LATCHKEY_AUTHZ_RULES="app.bench.example/admin role:admin"
  else
    unset LATCHKEY_AUTHZ_RULES
  fi

  say "$label: first start (creates the database and applies the migrations)"
  spawn "latchkey-$name-first" "$base/health/ready" "$LATCHKEY" serve "${args[@]}"
  local first_ready=$READY_MS
  stop_pid "$PID"
  # Five restarts on the existing database; the median is the figure (a
  # single start moves with the load). The last one serves the workloads.
  say "$label: five restarts on the existing database"
  local readies=() log_readies=() pid
  for i in 1 2 3 4 5; do
    spawn "latchkey-$name-$i" "$base/health/ready" "$LATCHKEY" serve "${args[@]}"
    pid=$PID
    readies+=("$READY_MS")
    log_readies+=("$(grep -o '"ready_ms":[0-9.]*' "$RUN/latchkey-$name-$i.log" | tail -n 1 | cut -d: -f2)")
    [ "$i" = 5 ] || stop_pid "$pid"
  done
  local ready log_ready
  ready=$(printf '%s\n' "${readies[@]}" | sort -n | sed -n 3p)
  log_ready=$(printf '%s\n' "${log_readies[@]}" | sort -n | sed -n 3p)
  sleep 1
  local idle
  idle=$(rss_mib "$pid")
  say "$label: ready after ${readies[*]} ms (median ${ready}; first start ${first_ready} ms; log says ${log_ready} ms); idle RSS ${idle} MiB"

  local client id secret
  client=$("$LATCHKEY" client create --name bench "${args[@]}" 2>/dev/null)
  id=$(awk '/^client_id:/ { print $2 }' <<<"$client")
  secret=$(awk '/^client_secret:/ { print $2 }' <<<"$client")

  local timing=null magic_timing=null
  if wants logins; then
  BODY='{"email":"u{n}@bench.example","password":"'$PASSWORD'"}' \
    measure "$label" register "$pid" 8 post_unique.lua "$base/v1/auth/register"
  fi
  "${TOOLS[@]}" request POST "$base/v1/auth/register" --json '{"email":"bench@example.com","password":"'$PASSWORD'"}' >/dev/null
  local login='{"identifier":"bench@example.com","password":"'$PASSWORD'"}'
  if wants logins; then
  hash_limit_once
  BODY=$login measure "$label" login "$pid" 8 post.lua "$base/v1/auth/login"
  BODY=$login login_share "$label" "$pid" "$base/v1/auth/login"
  fi
  if wants timing; then
  say "$label: unknown user vs wrong password, 200 each"
  timing=$("${TOOLS[@]}" login-timing "$base" bench@example.com "$PASSWORD" 200)
  say "$label: sign-in link for a known vs an unknown address, 200 each"
  magic_timing=$("${TOOLS[@]}" magic-link-timing "$base" bench@example.com 200)
  fi
  if wants logins; then
  BODY=$login NO_WARMUP=1 measure "$label" "login, 64 connections" "$pid" 64 post.lua "$base/v1/auth/login"
  fi

  local access
  access=$("${TOOLS[@]}" latchkey-tokens "$base" bench@example.com "$PASSWORD" 1 | cut -d' ' -f1)
  if wants checks; then
  BODY="token=$access" CONTENT_TYPE=application/x-www-form-urlencoded AUTH="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)" \
    measure "$label" "token check: introspection" "$pid" 16 post.lua "$base/oauth2/introspect"
  TOKEN=$access measure "$label" "token check: GET /v1/account" "$pid" 16 get_bearer.lua "$base/v1/account"
  fi
  # Forward-auth as nginx/Traefik ask it (wrk runs on loopback, a trusted
  # proxy here); the rule for /docs needs a sign-in, /admin the admin role.
  if wants forward; then
  TOKEN=$access measure "$label" "forward-auth check (signed in)" "$pid" 16 forward_auth.lua "$base/v1/authz/check"
  TOKEN=$access URI=/admin/users measure "$label" "forward-auth check (403, missing role)" "$pid" 16 forward_auth.lua "$base/v1/authz/check"
  fi
  wants verify && verify_check_once
  wants oauth && oauth_workloads "$label" "$pid" "$base" "${args[@]}"

  # Single-use refresh tokens: one set for the warm-up, a fresh set for the
  # measurement, more tokens than connections.
  if wants refresh; then
  "${TOOLS[@]}" latchkey-tokens "$base" bench@example.com "$PASSWORD" 32 | cut -d' ' -f2 >"$RUN/rt-warm-$name"
  "${TOOLS[@]}" latchkey-tokens "$base" bench@example.com "$PASSWORD" 32 | cut -d' ' -f2 >"$RUN/rt-$name"
  local refresh='{"refresh_token":"{token}"}'
  BODY=$refresh TOKENS_FILE=$RUN/rt-warm-$name WRK_THREADS=$THREADS \
    wrk -t$THREADS -c16 -d"$WARMUP" -s "$BENCH_LUA/rotate.lua" "$base/v1/auth/refresh" >/dev/null 2>&1
  BODY=$refresh TOKENS_FILE=$RUN/rt-$name NO_WARMUP=1 \
    measure "$label" refresh "$pid" 16 rotate.lua "$base/v1/auth/refresh"
  fi

  sleep 2
  local idle_after
  idle_after=$(rss_mib "$pid")
  record "{\"kind\":\"latchkey\",\"name\":$(json_str "$label"),\"ready_ms\":$ready,\"first_ready_ms\":$first_ready,\"log_ready_ms\":${log_ready:-null},\"idle_rss_mib\":$idle,\"idle_after_rss_mib\":$idle_after,\"timing\":$timing,\"magic_link_timing\":$magic_timing}"
  stop_pid "$pid"
}

note "latchkey: its defaults (argon2id m=19456 KiB, t=2, p=1 on one hash worker per core with a queue of 64; EdDSA access tokens; refresh tokens rotated with a 10 s grace window; SQLite in WAL mode with synchronous=NORMAL, one writer thread and 8 reader threads; access log at info as JSON lines). Token checks send one access token again and again; refresh sends each refresh token once, carrying the new one from each response into a later request."
# latchkey_builds BACKEND_LABEL: "NAME BINARY LABEL" for each build to measure,
# in the order measured: the baseline first, then this tree's, ROUNDS times.
latchkey_builds() {
  local round
  for round in $(seq 1 "$ROUNDS"); do
    [ -z "$BASELINE" ] || echo "baseline$round $BASELINE latchkey $BASELINE_LABEL ($1)"
    echo "current$round $LATCHKEY latchkey ($1)"
  done
}
for backend in $BACKENDS; do
  case $backend in
    sqlite)
      mapfile -t builds < <(latchkey_builds SQLite)
      for build in "${builds[@]}"; do
        read -r tag bin label <<<"$build"
        LATCHKEY=$bin latchkey_backend "sqlite-$tag" "$label"
      done
      ;;
    postgres)
      say "starting PostgreSQL (synchronous_commit=$PG_SYNC)"
      PG_DATA=$RUN/pg/data
      PG_PORT=$(free_port)
      mkdir -p "$RUN/pg"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN/pg"
      as_pg "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 >/dev/null
      as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$RUN/pg/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $RUN/pg -c synchronous_commit=$PG_SYNC" start >/dev/null
      version PostgreSQL "$("$PGBIN/postgres" --version | awk '{ print $3 }')"
      DB_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
      # A database for each build: an older binary refuses a newer one's migrations.
      mapfile -t builds < <(latchkey_builds PostgreSQL)
      for build in "${builds[@]}"; do
        read -r tag bin label <<<"$build"
        "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "latchkey_$tag"
        LATCHKEY=$bin latchkey_backend "postgres-$tag" "$label" "postgres://postgres@127.0.0.1:$PG_PORT/latchkey_$tag"
      done
      DB_PID=
      as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null
      PG_DATA=
      note "latchkey (PostgreSQL): PostgreSQL $("$PGBIN/postgres" --version | awk '{ print $3 }') on the same machine, default settings but synchronous_commit=$PG_SYNC; its CPU is the 'DB CPU ms/req' column, not in 'server CPU'."
      ;;
    *) die "unknown backend $backend (sqlite, postgres)" ;;
  esac
done

# ------------------------------------------------------------------ peers

! password_peers || hash_limit_once

# npm_install DIR: the peer's pinned package.json into the scratch directory
peer_dir() {
  local dir=$SCRATCH/peers/$1
  mkdir -p "$dir"
  cp "$BENCH/peers/$1"/* "$dir/"
  echo "$dir"
}
npm_version() { node -p "require('$1/node_modules/$2/package.json').version"; }

for peer in $PEERS; do
  port=$(free_port)
  base=http://127.0.0.1:$port
  case $peer in
    better-auth)
      dir=$(peer_dir better-auth)
      say "better-auth: npm install (builds better-sqlite3 the first time)"
      # better-sqlite3 compiles against Node's headers: use the installed
      # ones (Debian's nodejs ships them) rather than download them.
      if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ] && ! npm config get nodedir 2>/dev/null | grep -q /; then
        export npm_config_nodedir=/usr
      fi
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
      version better-auth "$(npm_version "$dir" better-auth)"
      version better-sqlite3 "$(npm_version "$dir" better-sqlite3)"
      version Node.js "$(node --version)"
      hash_cost better-auth "scrypt N=16384, r=16, p=1 (its default)" "$(cd "$dir" && node --input-type=module -e "$NODE_HASH_COST")"
      spawn better-auth "$base/health" env PORT="$port" DB="$RUN/better-auth.db" node "$dir/server.mjs"
      pid=$PID
      BODY='{"email":"u{n}@bench.example","password":"'$PASSWORD'","name":"U"}' \
        measure better-auth register "$pid" 8 post_unique.lua "$base/api/auth/sign-up/email"
      "${TOOLS[@]}" request POST "$base/api/auth/sign-up/email" --json '{"email":"bench@example.com","password":"'$PASSWORD'","name":"B"}' >/dev/null
      login='{"email":"bench@example.com","password":"'$PASSWORD'"}'
      BODY=$login measure better-auth login "$pid" 8 post.lua "$base/api/auth/sign-in/email"
      token=$("${TOOLS[@]}" request POST "$base/api/auth/sign-in/email" --json "$login" --header set-auth-token)
      TOKEN=$token measure better-auth "session check: get-session" "$pid" 16 get_bearer.lua "$base/api/auth/get-session"
      stop_pid "$pid"
      note "better-auth: its defaults (scrypt N=16384, r=16, p=1; sessions in SQLite through better-sqlite3, WAL), rate limiter off, bearer plugin on. Its scrypt cost cannot be set (only the whole hash function replaced), so there is no equal-cost login."
      ;;
    fastapi-users)
      dir=$(peer_dir fastapi-users)
      say "fastapi-users: venv and pip install"
      [ -x "$dir/.venv/bin/python" ] || python3 -m venv "$dir/.venv"
      "$dir/.venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt" >&2
      version fastapi-users "$("$dir/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("fastapi-users"))')"
      version Python "$("$dir/.venv/bin/python" -c 'import platform; print(platform.python_version())')"
      hash_cost fastapi-users "argon2id m=65536 KiB, t=3, p=4 (its default)" "$("$dir/.venv/bin/python" -c "$PY_HASH_COST")"
      hash_cost fastapi-users "argon2id m=19456 KiB, t=2, p=1 (latchkey's)" "$("$dir/.venv/bin/python" -c "$PY_HASH_COST" 2 19456 1)"
      start_fu() {
        spawn "fastapi-users$1" "$base/health" env DB_URL="sqlite+aiosqlite:///$RUN/fastapi-users$1.db" "${@:2}" \
          "$dir/.venv/bin/uvicorn" --app-dir "$dir" app:app --host 127.0.0.1 --port "$port"
      }
      start_fu ""
      pid=$PID
      BODY='{"email":"u{n}@bench.example","password":"'$PASSWORD'"}' \
        measure fastapi-users register "$pid" 8 post_unique.lua "$base/auth/register"
      "${TOOLS[@]}" request POST "$base/auth/register" --json '{"email":"bench@example.com","password":"'$PASSWORD'"}' >/dev/null
      login="username=bench%40example.com&password=$PASSWORD"
      BODY=$login CONTENT_TYPE=application/x-www-form-urlencoded \
        measure fastapi-users login "$pid" 8 post.lua "$base/auth/jwt/login"
      token=$("${TOOLS[@]}" request POST "$base/auth/jwt/login" --form "$login" --field access_token)
      TOKEN=$token measure fastapi-users "token check: /users/me" "$pid" 16 get_bearer.lua "$base/users/me"
      stop_pid "$pid"
      port=$(free_port)
      base=http://127.0.0.1:$port
      start_fu "-equal" ARGON2_M_KIB=19456 ARGON2_T=2 ARGON2_P=1
      pid=$PID
      "${TOOLS[@]}" request POST "$base/auth/register" --json '{"email":"bench@example.com","password":"'$PASSWORD'"}' >/dev/null
      BODY=$login CONTENT_TYPE=application/x-www-form-urlencoded \
        measure fastapi-users "login (equal hash cost)" "$pid" 8 post.lua "$base/auth/jwt/login"
      stop_pid "$pid"
      note "fastapi-users: one uvicorn worker (its default), SQLite through aiosqlite (WAL), JWT strategy (HS256; /users/me also reads the user row). Default hash: pwdlib's argon2id m=65536 KiB, t=3, p=4. 'login (equal hash cost)' is a second server, on a fresh database, with argon2id m=19456 KiB, t=2, p=1 like latchkey."
      ;;
    oidc-provider)
      dir=$(peer_dir oidc-provider)
      say "oidc-provider: npm install"
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
      version oidc-provider "$(npm_version "$dir" oidc-provider)"
      version Node.js "$(node --version)"
      spawn oidc-provider "$base/.well-known/openid-configuration" env PORT="$port" node "$dir/provider.mjs"
      pid=$PID
      basic=$(basic_auth bench bench-secret)
      if wants checks || wants refresh; then
      node "$dir/seed.mjs" "$base" 33 >"$RUN/op-tokens"
      access=$(head -n 1 "$RUN/op-tokens" | cut -d' ' -f1)
      sed -n '2,33p' "$RUN/op-tokens" | cut -d' ' -f2 >"$RUN/op-rt-warm"
      fi
      if wants checks; then
      BODY="token=$access" CONTENT_TYPE=application/x-www-form-urlencoded AUTH=$basic \
        measure oidc-provider "token check: introspection" "$pid" 16 post.lua "$base/token/introspection"
      fi
      if wants refresh; then
      refresh='grant_type=refresh_token&refresh_token={token}'
      BODY=$refresh CONTENT_TYPE=application/x-www-form-urlencoded AUTH=$basic TOKENS_FILE=$RUN/op-rt-warm WRK_THREADS=$THREADS \
        wrk -t$THREADS -c16 -d"$WARMUP" -s "$BENCH_LUA/rotate.lua" "$base/token" >/dev/null 2>&1
      # Seeded after the warm-up: the development store keeps only the 1,000
      # most recently used entries, and the warm-up would push these out.
      node "$dir/seed.mjs" "$base" 32 | cut -d' ' -f2 >"$RUN/op-rt"
      BODY=$refresh CONTENT_TYPE=application/x-www-form-urlencoded AUTH=$basic TOKENS_FILE=$RUN/op-rt NO_WARMUP=1 \
        measure oidc-provider refresh "$pid" 16 rotate.lua "$base/token"
      fi
      if wants oauth; then
      oauth_rows oidc-provider "$pid" "$base" "$(basic_auth bench-cc bench-cc-secret)" \
        "/auth?$(oauth_query bench)" "$(node "$dir/seed.mjs" "$base" cookie)" /token "$basic" /me \
        node "$dir/seed.mjs" "$base"
      fi
      stop_pid "$pid"
      note "oidc-provider: in-memory store (its development adapter, an LRU of 1,000 entries; a production adapter on Redis or SQL would cost more per request), opaque access tokens, refresh tokens rotated on use, client_secret_basic. Its development login accepts any password, so it has no register or login row."
      ;;
  esac
done

# ------------------------------------------------------------------ report

note "Every server runs with its default logging: latchkey writes one JSON access-log line per request (to a file here), uvicorn logs each request, better-auth and oidc-provider log none."
note "wrk runs on the same two cores as the servers; at high request rates it takes a large share of them, so req/s understates what a server alone would do. Server CPU per request does not depend on that."
mkdir -p "$OUT"
cp "$RESULTS" "$OUT/results.jsonl"
"${TOOLS[@]}" report "$OUT/results.jsonl" "$OUT"
say "wrote $OUT/results.md and $OUT/results.svg"
