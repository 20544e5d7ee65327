#!/usr/bin/env bash
# The deployment files, checked: the Dockerfile with hadolint, compose.yaml
# against the Compose specification (check-jsonschema's built-in schema),
# the Kubernetes manifests with kubernetes-validate and for fitting together
# (scripts/ops/k8s_consistency.py, which also runs `latchkey config show` on
# the ConfigMap), and the image's root file system signing a user in
# (scripts/image-rootfs-check.sh).
#
#   scripts/ops-checks.sh [BINARY]   (default: $CARGO_TARGET_DIR/debug/latchkey)
#
# The tools live in a virtual environment under $LATCHKEY_OPS_CACHE
# (default /var/tmp/latchkey-ops-cache), made once per version of
# scripts/ops/requirements.txt; the root file system is cached there too.
# scripts/test.sh runs this after the cargo tests.

set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/latchkey}
CACHE=${LATCHKEY_OPS_CACHE:-/var/tmp/latchkey-ops-cache}
export LATCHKEY_OPS_CACHE=$CACHE
if [ ! -x "$BIN" ]; then
  echo "== building $BIN"
  cargo build --workspace --locked --bins
fi

key=$(sha256sum scripts/ops/requirements.txt | cut -c1-16)
venv="$CACHE/venv-$key"
. scripts/packages.sh
lk_venv "$venv" scripts/ops/requirements.txt

echo "== hadolint Dockerfile"
"$venv/bin/hadolint" Dockerfile
echo "== check-jsonschema compose.yaml (Compose specification)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec compose.yaml
echo "== kubernetes-validate deploy/kubernetes"
"$venv/bin/kubernetes-validate" --strict --quiet deploy/kubernetes/*.yaml
"$venv/bin/python" scripts/ops/k8s_consistency.py deploy/kubernetes "$BIN"
echo "== the image's root file system signs a user in"
scripts/image-rootfs-check.sh "$BIN"
