#!/usr/bin/env bash
# Proves the container image works where no container engine runs: builds
# the image's root file system (Debian 12's distroless package set, as the
# Dockerfile's final stage `gcr.io/distroless/cc-debian12:nonroot`, made with
# mmdebstrap), adds the image's files (the binary at /usr/local/bin/latchkey,
# the user nonroot 65532, /var/lib/latchkey), and runs latchkey in it with
# bubblewrap as that user, on a read-only root with only the data volume
# writable and the master key a secret file. Then it waits for
# `latchkey health`, creates a user with the CLI in the same sandbox, signs
# the user in over HTTP, and stops the server with SIGTERM.
#
#   scripts/image-rootfs-check.sh [BINARY]   (default: $CARGO_TARGET_DIR/debug/latchkey)
#
# The root file system is cached in $LATCHKEY_OPS_CACHE (default
# /var/tmp/latchkey-ops-cache), keyed by its package list. Needs mmdebstrap,
# bubblewrap (installed with apt-get when missing and run as root), curl,
# openssl, and python3 with aiosmtpd (scripts/services.sh installs it).

set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/latchkey}
CACHE=${LATCHKEY_OPS_CACHE:-/var/tmp/latchkey-ops-cache}
SUITE=bookworm
PACKAGES=base-files,netbase,tzdata,ca-certificates,libc6,libgcc-s1
NONROOT=65532

log() { echo "image-rootfs-check: $*" >&2; }
[ -x "$BIN" ] || { log "no binary at $BIN (build it first)"; exit 1; }
if ! command -v mmdebstrap >/dev/null || ! command -v bwrap >/dev/null; then
  [ "$(id -u)" = 0 ] || { log "install mmdebstrap and bubblewrap first"; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap bubblewrap >/dev/null
fi

mkdir -p "$CACHE"
key=$(printf '%s %s' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)
tarball="$CACHE/rootfs-$SUITE-$key.tar"
if [ ! -s "$tarball" ]; then
  log "building the root file system ($SUITE: $PACKAGES)"
  # extract: the packages' files without maintainer scripts, as distroless
  # images are assembled; the CA bundle is generated below.
  partial="$CACHE/.partial-$key.tar"  # mmdebstrap picks the format by the extension
  mmdebstrap --quiet --variant=extract --include="$PACKAGES" "$SUITE" "$partial" \
    http://deb.debian.org/debian
  mv "$partial" "$tarball"
fi

work=$(mktemp -d)
server_pid="" sink_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

root=$work/root data=$work/data secrets=$work/secrets mail=$work/mail
mkdir -p "$root" "$data" "$secrets" "$mail"
tar -C "$root" -xf "$tarball"
# the image's files
cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n' \
  "$NONROOT" "$NONROOT" >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:%s:\n' "$NONROOT" >"$root/etc/group"
install -D -m 0755 "$BIN" "$root/usr/local/bin/latchkey"
install -d -m 0700 "$root/var/lib/latchkey" "$root/run/secrets" "$root/home/nonroot"
# the volume and the secret, owned by the image's user
openssl rand -hex 32 >"$secrets/master_key"
chown -R "$NONROOT:$NONROOT" "$data" "$secrets"
chmod 0400 "$secrets/master_key"
chmod 0755 "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) smtp_port=$(free_port)
/usr/bin/python3 -u scripts/smtp_sink.py 127.0.0.1 "$smtp_port" "$mail" >"$work/smtp.log" 2>&1 &
sink_pid=$!

# in_image CMD...: runs CMD in the image's root file system as its user,
# with the image's environment plus production settings.
in_image() {
  setpriv --reuid="$NONROOT" --regid="$NONROOT" --clear-groups --inh-caps=-all -- \
    bwrap --ro-bind "$root" / --bind "$data" /var/lib/latchkey --ro-bind "$secrets" /run/secrets \
      --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --die-with-parent \
      --clearenv --chdir /var/lib/latchkey \
      --setenv LATCHKEY_LISTEN "127.0.0.1:$port" \
      --setenv LATCHKEY_DATA_DIR /var/lib/latchkey \
      --setenv LATCHKEY_LOG_FORMAT json \
      --setenv LATCHKEY_PROFILE production \
      --setenv LATCHKEY_PUBLIC_URL "http://127.0.0.1:$port" \
      --setenv LATCHKEY_MASTER_KEY_FILE /run/secrets/master_key \
      --setenv LATCHKEY_MAIL_TRANSPORT smtp \
      --setenv LATCHKEY_MAIL_SMTP_HOST 127.0.0.1 \
      --setenv LATCHKEY_MAIL_SMTP_PORT "$smtp_port" \
      --setenv LATCHKEY_MAIL_SMTP_SECURITY none \
      -- "$@"
}

if in_image /bin/sh -c true 2>/dev/null; then
  log "the image has a shell; it should not"; exit 1
fi
# The same write succeeds in the data volume and fails anywhere else.
in_image /usr/local/bin/latchkey passwords build-filter --input /etc/passwd \
  --output /var/lib/latchkey/probe >/dev/null
rm "$data/probe"
if in_image /usr/local/bin/latchkey passwords build-filter --input /etc/passwd \
    --output /usr/local/bin/probe >/dev/null 2>&1; then
  log "the root file system is writable"; exit 1
fi

in_image /usr/local/bin/latchkey serve >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  in_image /usr/local/bin/latchkey health --timeout 1 >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { log "latchkey exited:"; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
in_image /usr/local/bin/latchkey health >/dev/null || {
  log "latchkey health did not pass:"; cat "$work/serve.log" >&2; exit 1; }

password="image check $(openssl rand -hex 8)"
printf '%s\n' "$password" | in_image /usr/local/bin/latchkey user create \
  --email ada@example.com --verified >/dev/null
body=$(printf '{"identifier":"ada@example.com","password":"%s"}' "$password")
login=$(curl -sS --fail-with-body -H 'content-type: application/json' -d "$body" \
  "http://127.0.0.1:$port/v1/auth/login")
token=$(printf '%s' "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
account=$(curl -sS --fail-with-body -H "authorization: Bearer $token" "http://127.0.0.1:$port/v1/account")
printf '%s' "$account" | grep -q '"ada@example.com"' || { log "unexpected account: $account"; exit 1; }

# SIGTERM to latchkey itself (bwrap does not forward signals): the process
# named latchkey below the bwrap we started.
latchkey_pid() {
  local pids=$1 next
  for _ in 1 2 3 4; do
    next=$(for p in $pids; do pgrep -P "$p" || true; done)
    for p in $next; do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" = latchkey ] && { echo "$p"; return 0; }
    done
    pids=$next
  done
  return 1
}
kill -TERM "$(latchkey_pid "$server_pid")"
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" = 0 ] || { log "latchkey exited with $status on SIGTERM"; cat "$work/serve.log" >&2; exit 1; }
[ -s "$data/latchkey.db" ] || { log "no database in the data volume"; exit 1; }
log "ok: signed in as ada@example.com on the image's root file system (read-only, user $NONROOT)"
