#!/usr/bin/env bash
# The event stream's write path on PostgreSQL, before and after migration
# 0023_events_sequencer (issue 18): the same transaction that every sign-in
# commits (a session row and its `session.created` event, written by the
# trigger through events_append), driven by pgbench from many clients.
# Before 0023 each such transaction held one global advisory lock from its
# event to its commit; after it, writers take no lock and the stream
# positions rows after commit.
#
#   bench/events_write.sh            10 s per run, 16 clients
#   EW_DURATION=30 EW_CLIENTS=32 bench/events_write.sh
#
# Starts its own PostgreSQL cluster (durable: fsync and synchronous_commit
# on, then off) in a scratch directory and stops it at exit. Prints, per
# schema, transactions/s and the server's CPU per transaction (utime+stime
# of all its processes, from /proc). Not part of CI.

set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${EW_DURATION:-10}
CLIENTS=${EW_CLIENTS:-16}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
SCRATCH=$(mktemp -d)
HZ=$(getconf CLK_TCK)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$SCRATCH"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
stop() { as_pg "$PGBIN/pg_ctl" -D "$SCRATCH/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$SCRATCH"; }
trap stop EXIT
as_pg "$PGBIN/initdb" -D "$SCRATCH/data" -U postgres -A trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$SCRATCH/data" -l "$SCRATCH/log" -w -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -k $SCRATCH -c max_connections=100" start >/dev/null
PSQL=("$PGBIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)

migrations() { # the migrations of main up to $1, in order
  ls "$ROOT/crates/store-postgres/migrations" | sort | awk -v last="$1" '$0 <= last'
}
schema() { # DB LAST
  "${PSQL[@]}" -c "CREATE DATABASE $1" postgres
  for m in $(migrations "$2"); do
    "${PSQL[@]}" -f "$ROOT/crates/store-postgres/migrations/$m" "$1" >/dev/null
  done
  # one user whose sessions the clients create
  "${PSQL[@]}" "$1" >/dev/null <<SQL
INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at)
VALUES ('u', 'u@example.com', 'u@example.com', 'x', now(), now());
SQL
}
cat >"$SCRATCH/sign_in.sql" <<'SQL'
INSERT INTO sessions (id, user_id, kind, created_at, last_seen_at, expires_at, idle_expires_at, auth_time, amr)
VALUES (gen_random_uuid()::text, 'u', 'bearer', now(), now(), now() + interval '30 days', now() + interval '7 days', now(), 'pwd');
SQL
cpu() { # clock ticks of the cluster: the postmaster, its live children, and the ended ones it reaped
  local main total pid
  main=$(head -1 "$SCRATCH/data/postmaster.pid")
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$main/stat")
  for pid in $(pgrep -P "$main"); do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
run() { # DB LABEL
  local before after tps
  before=$(cpu)
  tps=$("$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c "$CLIENTS" -j 2 -T "$DURATION" \
    -f "$SCRATCH/sign_in.sql" "$1" 2>/dev/null | awk '/^tps/ {print $3; exit}')
  after=$(cpu)
  python3 - "$2" "$tps" "$before" "$after" "$HZ" "$DURATION" <<'PY'
import sys
label, tps, before, after, hz, secs = sys.argv[1], float(sys.argv[2]), *map(int, sys.argv[3:6]), int(sys.argv[6])
cpu_us = (after - before) / hz * 1e6 / (tps * secs)
print(f"{label:<48} {tps:>9.0f} tx/s   {cpu_us:>6.0f} µs CPU/tx")
PY
}
schema before 0022_events_horizon.sql
schema after 0023_events_sequencer.sql
echo "pgbench: $CLIENTS clients, ${DURATION}s each; a session row + its event per transaction"
for sync in on off; do
  "${PSQL[@]}" -c "ALTER SYSTEM SET synchronous_commit = $sync" -c "SELECT pg_reload_conf()" postgres >/dev/null
  run before "advisory lock (0022), synchronous_commit=$sync"
  run after "sequenced after commit (0023), synchronous_commit=$sync"
done
# what the readers then pay, once, for the rows just written
"${PSQL[@]}" -c '\timing on' -c 'SELECT events_sequence()' after | grep -E 'Time|^ *[0-9]'
