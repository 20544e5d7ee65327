#!/usr/bin/env bash
# Starts throwaway PostgreSQL and Redis servers and SMTP servers for the test
# suite, on loopback and free ports, and stops them when the calling shell
# exits. Source it:
#
#   . scripts/services.sh
#
# Exports:
#   LATCHKEY_TEST_POSTGRES_URL   a server for the conformance suite and app tests
#                                (each test creates its own database on it)
#   LATCHKEY_TEST_PG_FAULT_URL   a second server that one test stops and starts
#   LATCHKEY_TEST_PG_FAULT_CTL   a script: `$LATCHKEY_TEST_PG_FAULT_CTL stop|start`
#   LATCHKEY_TEST_SMTP_PORT      an SMTP server (aiosmtpd) that accepts every message
#   LATCHKEY_TEST_SMTP_DIR       ...and saves each one there as a file
#   LATCHKEY_TEST_SMTP_STARTTLS_PORT, LATCHKEY_TEST_SMTP_TLS_PORT
#                                the same behind required STARTTLS / implicit TLS, both
#                                requiring AUTH as LATCHKEY_TEST_SMTP_USER with
#                                LATCHKEY_TEST_SMTP_PASSWORD, with a certificate from
#                                the private CA in LATCHKEY_TEST_SMTP_CA
#   LATCHKEY_TEST_REDIS_URL      a Redis server for the shared rate-limit tests
#                                (each test uses its own key prefix on it)
#   LATCHKEY_TEST_REDIS_FAULT_URL  a second Redis that one test stops and starts
#   LATCHKEY_TEST_REDIS_FAULT_CTL  a script: `$LATCHKEY_TEST_REDIS_FAULT_CTL stop|start`
#   LATCHKEY_TEST_REDIS_TLS_URL  a third Redis, TLS only (rediss://, certificate from the
#                                private CA in LATCHKEY_TEST_REDIS_TLS_CA), where only an ACL
#                                user with `@` and `%` in its password may sign in (the URL
#                                holds them percent-encoded) and touch keys under `test:`
#   LATCHKEY_TEST_REDIS_TLS_CA   that CA (the same PEM file as LATCHKEY_TEST_SMTP_CA)
#   LATCHKEY_TEST_OIDC_ISSUER, LATCHKEY_TEST_OIDC_ISSUER_2
#                                two independent OpenID Providers (node oidc-provider,
#                                tests/federation/start.sh) for the federation tests
#   LATCHKEY_TEST_NGINX_PORT     Debian's nginx running examples/nginx/nginx.conf: it asks
#                                latchkey on LATCHKEY_TEST_NGINX_LATCHKEY_PORT (forward-auth)
#                                about each request before passing it to the application on
#                                LATCHKEY_TEST_NGINX_APP_PORT (the test serves both there)
#
# Installs PostgreSQL, Redis, nginx, python3-aiosmtpd and openssl with apt-get when
# they are missing and we are root.

set -euo pipefail

lk_log() { printf '[services] %s\n' "$*" >&2; }

lk_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(lk_pg_bin)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    lk_log "installing PostgreSQL (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  else
    lk_log "PostgreSQL is not installed: install the 'postgresql' package (Debian/Ubuntu), or run this as root"
    exit 1
  fi
fi
LK_PGBIN=$(lk_pg_bin)

if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || ! command -v openssl >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    lk_log "installing python3-aiosmtpd and openssl (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends python3-aiosmtpd openssl >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends python3-aiosmtpd openssl >/dev/null
    }
  else
    lk_log "aiosmtpd or openssl is missing: install the 'python3-aiosmtpd' and 'openssl' packages (Debian/Ubuntu), or run this as root"
    exit 1
  fi
fi

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    lk_log "installing Redis (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  else
    lk_log "Redis is not installed: install the 'redis-server' package (Debian/Ubuntu), or run this as root"
    exit 1
  fi
fi

# A free TCP port on 127.0.0.1: nothing answers on it.
lk_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  lk_log "no free port found"
  return 1
}

# initdb refuses to run as root: run the server as the 'postgres' user then.
lk_as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

LK_SERVICES_DIR=$(mktemp -d -t latchkey-services.XXXXXX)
chmod 755 "$LK_SERVICES_DIR"

# lk_start_pg NAME -> starts a cluster in $LK_SERVICES_DIR/NAME, prints its port
lk_start_pg() {
  local dir="$LK_SERVICES_DIR/$1" port
  port=$(lk_free_port)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  lk_as_pg "$LK_PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  # Durability is off: these clusters hold nothing worth keeping, and the
  # suite runs faster. Production settings are not tested here.
  lk_as_pg "$LK_PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  echo "$port"
}

# lk_start_redis NAME -> starts a Redis without persistence in $LK_SERVICES_DIR/NAME, prints its port
lk_start_redis() {
  local dir="$LK_SERVICES_DIR/$1" port
  port=$(lk_free_port)
  mkdir -p "$dir"
  echo "$port" >"$dir/redis.port"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  redis-cli -p "$port" ping >/dev/null 2>&1 || { lk_log "Redis did not start on :$port"; return 1; }
  echo "$port"
}

lk_stop_services() {
  for pid in ${LK_SMTP_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  for d in "$LK_SERVICES_DIR"/*/; do
    [ -d "$d/data" ] && lk_as_pg "$LK_PGBIN/pg_ctl" -D "$d/data" -m immediate stop >/dev/null 2>&1 || true
    [ -f "$d/redis.port" ] && redis-cli -p "$(cat "$d/redis.port")" shutdown nosave >/dev/null 2>&1 || true
    [ -f "$d/redis-tls.pid" ] && kill "$(cat "$d/redis-tls.pid")" 2>/dev/null || true
    [ -f "$d/nginx.pid" ] && kill "$(cat "$d/nginx.pid")" 2>/dev/null || true
    [ -f "$d/node.pid" ] && kill "$(cat "$d/node.pid")" 2>/dev/null || true
  done
  rm -rf "$LK_SERVICES_DIR"
}
trap lk_stop_services EXIT

LK_PG_PORT=$(lk_start_pg main)
export LATCHKEY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$LK_PG_PORT/postgres"

LK_FAULT_PORT=$(lk_start_pg fault)
export LATCHKEY_TEST_PG_FAULT_URL="postgres://postgres@127.0.0.1:$LK_FAULT_PORT/postgres"
export LATCHKEY_TEST_PG_FAULT_CTL="$LK_SERVICES_DIR/fault-ctl.sh"
cat >"$LATCHKEY_TEST_PG_FAULT_CTL" <<CTL
#!/usr/bin/env bash
# stop|start the fault-injection PostgreSQL cluster
set -eu
dir="$LK_SERVICES_DIR/fault"
as_pg() { if [ "\$(id -u)" = 0 ]; then runuser -u postgres -- "\$@"; else "\$@"; fi; }
case "\${1:-}" in
  stop)  as_pg "$LK_PGBIN/pg_ctl" -D "\$dir/data" -m fast -w stop >/dev/null ;;
  start) as_pg "$LK_PGBIN/pg_ctl" -D "\$dir/data" -l "\$dir/server.log" -w -o "-c listen_addresses=127.0.0.1 -p $LK_FAULT_PORT -k \$dir -c fsync=off" start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTL
chmod +x "$LATCHKEY_TEST_PG_FAULT_CTL"

lk_log "PostgreSQL $("$LK_PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$LK_PG_PORT (tests) and :$LK_FAULT_PORT (fault injection)"

LK_REDIS_PORT=$(lk_start_redis redis)
export LATCHKEY_TEST_REDIS_URL="redis://127.0.0.1:$LK_REDIS_PORT/"
LK_REDIS_FAULT_PORT=$(lk_start_redis redis-fault)
export LATCHKEY_TEST_REDIS_FAULT_URL="redis://127.0.0.1:$LK_REDIS_FAULT_PORT/"
export LATCHKEY_TEST_REDIS_FAULT_CTL="$LK_SERVICES_DIR/redis-fault-ctl.sh"
cat >"$LATCHKEY_TEST_REDIS_FAULT_CTL" <<CTL
#!/usr/bin/env bash
# stop|start the fault-injection Redis (same port; it comes back empty)
set -eu
dir="$LK_SERVICES_DIR/redis-fault"
case "\${1:-}" in
  stop)  redis-cli -p $LK_REDIS_FAULT_PORT shutdown nosave >/dev/null 2>&1 || true
         for _ in \$(seq 1 100); do redis-cli -p $LK_REDIS_FAULT_PORT ping >/dev/null 2>&1 || exit 0; sleep 0.05; done
         echo "Redis did not stop" >&2; exit 1 ;;
  start) redis-server --bind 127.0.0.1 --port $LK_REDIS_FAULT_PORT --dir "\$dir" --save '' --appendonly no \\
           --daemonize yes --pidfile "\$dir/redis.pid" --logfile "\$dir/redis.log" >/dev/null
         for _ in \$(seq 1 100); do redis-cli -p $LK_REDIS_FAULT_PORT ping >/dev/null 2>&1 && exit 0; sleep 0.05; done
         echo "Redis did not start" >&2; exit 1 ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTL
chmod +x "$LATCHKEY_TEST_REDIS_FAULT_CTL"
lk_log "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$LK_REDIS_PORT (tests) and :$LK_REDIS_FAULT_PORT (fault injection)"

# lk_start_smtp NAME [sink options] -> starts an SMTP server saving into
# $LATCHKEY_TEST_SMTP_DIR, prints its port
LK_SMTP_PIDS=""
lk_start_smtp() {
  local name=$1 port
  shift
  port=$(lk_free_port)
  /usr/bin/python3 -u "$LK_SCRIPTS/smtp_sink.py" 127.0.0.1 "$port" "$LATCHKEY_TEST_SMTP_DIR" "$@" \
    >"$LK_SERVICES_DIR/smtp-$name.log" 2>&1 &
  echo "$! $port"
}
lk_wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  lk_log "the SMTP server on :$1 did not start:"; cat "$LK_SERVICES_DIR"/smtp-*.log >&2
  return 1
}
LK_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LATCHKEY_TEST_SMTP_DIR="$LK_SERVICES_DIR/mail"
mkdir -p "$LATCHKEY_TEST_SMTP_DIR"

# A private CA and a certificate for localhost / 127.0.0.1, for the TLS ones.
LK_TLS="$LK_SERVICES_DIR/tls"
mkdir -p "$LK_TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$LK_TLS/ca.key" -out "$LK_TLS/ca.pem" -subj "/CN=latchkey test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$LK_TLS/server.key" -out "$LK_TLS/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$LK_TLS/ext.cnf"
openssl x509 -req -in "$LK_TLS/server.csr" -CA "$LK_TLS/ca.pem" -CAkey "$LK_TLS/ca.key" \
  -CAcreateserial -days 2 -out "$LK_TLS/server.pem" -extfile "$LK_TLS/ext.cnf" 2>/dev/null
export LATCHKEY_TEST_SMTP_CA="$LK_TLS/ca.pem"

# The TLS Redis: no plain port, the default user off, one ACL user with the
# commands latchkey needs on keys under `test:` (what docs/configuration.md
# tells operators to grant, with their own prefix).
# Its certificate names 127.0.0.1 (the SMTP one names localhost alone: a test
# connects to it as 127.0.0.1 and must be refused).
LK_REDIS_TLS_DIR="$LK_SERVICES_DIR/redis-tls"
mkdir -p "$LK_REDIS_TLS_DIR"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$LK_TLS/redis.key" -out "$LK_TLS/redis.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$LK_TLS/redis-ext.cnf"
openssl x509 -req -in "$LK_TLS/redis.csr" -CA "$LK_TLS/ca.pem" -CAkey "$LK_TLS/ca.key" \
  -CAcreateserial -days 2 -out "$LK_TLS/redis.pem" -extfile "$LK_TLS/redis-ext.cnf" 2>/dev/null
LK_REDIS_TLS_PORT=$(lk_free_port)
LK_REDIS_TLS_SECRET="$RANDOM$RANDOM"
redis-server --bind 127.0.0.1 --port 0 --tls-port "$LK_REDIS_TLS_PORT" \
  --tls-cert-file "$LK_TLS/redis.pem" --tls-key-file "$LK_TLS/redis.key" \
  --tls-ca-cert-file "$LK_TLS/ca.pem" --tls-auth-clients no \
  --user default off \
  --user latchkey-test on ">pa@ss%word-$LK_REDIS_TLS_SECRET" '~test:*' \
    +ping +evalsha +eval +script\|load +get +set +incrby +pexpire \
  --dir "$LK_REDIS_TLS_DIR" --save '' --appendonly no \
  --daemonize yes --pidfile "$LK_REDIS_TLS_DIR/redis-tls.pid" --logfile "$LK_REDIS_TLS_DIR/redis.log" >/dev/null
lk_redis_tls_ping() {
  REDISCLI_AUTH="pa@ss%word-$LK_REDIS_TLS_SECRET" redis-cli --tls --cacert "$LK_TLS/ca.pem" \
    -h 127.0.0.1 -p "$LK_REDIS_TLS_PORT" --user latchkey-test ping 2>/dev/null | grep -q PONG
}
for _ in $(seq 1 100); do lk_redis_tls_ping && break; sleep 0.05; done
lk_redis_tls_ping || { lk_log "the TLS Redis did not start on :$LK_REDIS_TLS_PORT"; cat "$LK_REDIS_TLS_DIR/redis.log" >&2; exit 1; }
export LATCHKEY_TEST_REDIS_TLS_URL="rediss://latchkey-test:pa%40ss%25word-$LK_REDIS_TLS_SECRET@127.0.0.1:$LK_REDIS_TLS_PORT/"
export LATCHKEY_TEST_REDIS_TLS_CA="$LK_TLS/ca.pem"
lk_log "Redis with TLS and an ACL user on 127.0.0.1:$LK_REDIS_TLS_PORT"
export LATCHKEY_TEST_SMTP_USER="latchkey-test"
LATCHKEY_TEST_SMTP_PASSWORD="pw-$RANDOM$RANDOM$RANDOM"
export LATCHKEY_TEST_SMTP_PASSWORD

read -r pid LATCHKEY_TEST_SMTP_PORT < <(lk_start_smtp plain)
LK_SMTP_PIDS="$LK_SMTP_PIDS $pid"
read -r pid LATCHKEY_TEST_SMTP_STARTTLS_PORT < <(lk_start_smtp starttls \
  --starttls "$LK_TLS/server.pem" "$LK_TLS/server.key" --auth "$LATCHKEY_TEST_SMTP_USER:$LATCHKEY_TEST_SMTP_PASSWORD")
LK_SMTP_PIDS="$LK_SMTP_PIDS $pid"
read -r pid LATCHKEY_TEST_SMTP_TLS_PORT < <(lk_start_smtp tls \
  --tls "$LK_TLS/server.pem" "$LK_TLS/server.key" --auth "$LATCHKEY_TEST_SMTP_USER:$LATCHKEY_TEST_SMTP_PASSWORD")
LK_SMTP_PIDS="$LK_SMTP_PIDS $pid"
export LATCHKEY_TEST_SMTP_PORT LATCHKEY_TEST_SMTP_STARTTLS_PORT LATCHKEY_TEST_SMTP_TLS_PORT
for p in "$LATCHKEY_TEST_SMTP_PORT" "$LATCHKEY_TEST_SMTP_STARTTLS_PORT" "$LATCHKEY_TEST_SMTP_TLS_PORT"; do
  lk_wait_port "$p"
done

lk_log "SMTP on :$LATCHKEY_TEST_SMTP_PORT (plain), :$LATCHKEY_TEST_SMTP_STARTTLS_PORT (STARTTLS + AUTH), :$LATCHKEY_TEST_SMTP_TLS_PORT (TLS + AUTH)"

# nginx in front of an application, with auth_request to latchkey: the
# recipe of examples/nginx/nginx.conf with free ports filled in.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    lk_log "installing nginx (apt-get)"
    apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends nginx >/dev/null
    }
  else
    lk_log "nginx is missing: install it (apt-get install nginx)"
  fi
fi
LK_NGINX_DIR="$LK_SERVICES_DIR/nginx"
mkdir -p "$LK_NGINX_DIR"
LATCHKEY_TEST_NGINX_PORT=$(lk_free_port)
LATCHKEY_TEST_NGINX_LATCHKEY_PORT=$(lk_free_port)
LATCHKEY_TEST_NGINX_APP_PORT=$(lk_free_port)
sed -e "s|@PREFIX@|$LK_NGINX_DIR|g" \
    -e "s|@LISTEN@|127.0.0.1:$LATCHKEY_TEST_NGINX_PORT|g" \
    -e "s|@LATCHKEY@|127.0.0.1:$LATCHKEY_TEST_NGINX_LATCHKEY_PORT|g" \
    -e "s|@APP@|127.0.0.1:$LATCHKEY_TEST_NGINX_APP_PORT|g" \
    "$LK_SCRIPTS/../examples/nginx/nginx.conf" >"$LK_NGINX_DIR/nginx.conf"
# As root, the worker runs as root too (it only proxies on loopback), so
# that it can write its temporary files in the services directory.
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$LK_NGINX_DIR/nginx.conf"
PATH="$PATH:/usr/sbin" nginx -p "$LK_NGINX_DIR" -c "$LK_NGINX_DIR/nginx.conf" -e "$LK_NGINX_DIR/error.log"
export LATCHKEY_TEST_NGINX_PORT LATCHKEY_TEST_NGINX_LATCHKEY_PORT LATCHKEY_TEST_NGINX_APP_PORT
lk_log "nginx on :$LATCHKEY_TEST_NGINX_PORT (latchkey :$LATCHKEY_TEST_NGINX_LATCHKEY_PORT, app :$LATCHKEY_TEST_NGINX_APP_PORT)"

# Two independent OpenID Providers (node oidc-provider 9) for the federation
# tests: latchkey's test app (http://latchkey.test) signs in through them.
lk_fed_redirects=""
for p in idp idp2 strict tok; do
  lk_fed_redirects="$lk_fed_redirects,http://latchkey.test/v1/auth/oauth/$p/callback"
done
LK_OIDC_PORT=$(lk_free_port)
"$LK_SCRIPTS/../tests/federation/start.sh" "$LK_OIDC_PORT" "$LK_SERVICES_DIR/oidc" "$lk_fed_redirects"
LK_OIDC_PORT_2=$(lk_free_port)
"$LK_SCRIPTS/../tests/federation/start.sh" "$LK_OIDC_PORT_2" "$LK_SERVICES_DIR/oidc2" "$lk_fed_redirects"
export LATCHKEY_TEST_OIDC_ISSUER="http://127.0.0.1:$LK_OIDC_PORT"
export LATCHKEY_TEST_OIDC_ISSUER_2="http://127.0.0.1:$LK_OIDC_PORT_2"
lk_log "OpenID Providers at $LATCHKEY_TEST_OIDC_ISSUER and $LATCHKEY_TEST_OIDC_ISSUER_2"

# The Standard Webhooks reference receiver's Python (LATCHKEY_TEST_WEBHOOK_PYTHON).
. "$LK_SCRIPTS/webhooks-venv.sh"
