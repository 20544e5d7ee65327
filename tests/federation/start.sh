#!/usr/bin/env bash
# Installs the independent OpenID Provider of the federation tests (npm ci,
# from package-lock.json; once) and starts it: start.sh PORT DIR REDIRECT_URIS
# runs it in the background on 127.0.0.1:PORT, logs to DIR/oidc.log, writes
# DIR/node.pid, and returns once its discovery document answers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=$1 dir=$2 redirects=$3
if [ ! -d "$here/node_modules/oidc-provider" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
mkdir -p "$dir"
PORT=$port REDIRECT_URIS=$redirects nohup node "$here/provider.mjs" >"$dir/oidc.log" 2>&1 &
echo $! >"$dir/node.pid"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "the OpenID Provider did not start on :$port; see $dir/oidc.log" >&2
exit 1
