#!/usr/bin/env bash
# `latchkey user import` on SQLite without password hashes (issue 19: at
# least 20,000 accounts/s): a file of N accounts (address, verified flag,
# username, name; one in a hundred with the role `moderator`) imported
# into a fresh data directory, ROUNDS times; end to end, as an operator
# sees it (process start, migrations, checking the whole file, writing).
#
#   bench/import_speed.sh                 100,000 accounts, 3 rounds, this tree (release)
#   bench/import_speed.sh 200000 5        N accounts, ROUNDS rounds
#   BENCH_LATCHKEY_BIN=PATH bench/import_speed.sh    a built binary instead
#
# Prints one line per round and the median; CPU (user + sys) is the figure
# that the load on a shared machine does not move. Not part of CI.
set -euo pipefail
N=${1:-100000}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LATCHKEY=${BENCH_LATCHKEY_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/latchkey}
if [ -z "${BENCH_LATCHKEY_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --locked -p latchkey-server --bin latchkey) >&2
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$N" >"$WORK/users.jsonl" <<'EOF'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"email": f"user{i}@import.example", "email_verified": i % 10 != 0,
                      "username": f"user{i}", "name": f"User Number {i}",
                      "roles": ["moderator"] if i % 100 == 0 else []}))
EOF
walls=()
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/run"
  mkdir "$WORK/run"
  load=$(cut -d' ' -f1 /proc/loadavg)
  # /usr/bin/time's figures: wall seconds, user and system CPU seconds
  (cd "$WORK/run" && /usr/bin/time -o "$WORK/time" -f '%e %U %S' "$LATCHKEY" user import "$WORK/users.jsonl" >"$WORK/out" 2>&1) ||
    { cat "$WORK/out" >&2; exit 1; }
  read -r wall user sys <"$WORK/time"
  walls+=("$wall")
  awk -v n="$N" -v w="$wall" -v u="$user" -v s="$sys" -v r="$round" -v l="$load" 'BEGIN {
    printf "round %d: %d accounts in %.2f s = %.0f accounts/s; CPU %.2f s (user %.2f + sys %.2f) = %.0f accounts per CPU second; load %s\n",
      r, n, w, n / w, u + s, u, s, n / (u + s), l }'
done
median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
awk -v n="$N" -v m="$median" 'BEGIN { printf "median: %.2f s = %.0f accounts/s\n", m, n / m }'
