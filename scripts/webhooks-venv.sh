# Sourced by scripts/services.sh: the reference implementation of Standard
# Webhooks (PyPI `standardwebhooks`, pinned in scripts/webhooks/requirements.txt)
# in a cached virtual environment, for the receiver the webhook tests run
# (tests/webhooks/receiver.py). Exports LATCHKEY_TEST_WEBHOOK_PYTHON, the
# environment's interpreter; made once per version of the requirements.

webhooks_cache=${LATCHKEY_OPS_CACHE:-/var/tmp/latchkey-ops-cache}
webhooks_key=$(sha256sum "$LK_SCRIPTS/webhooks/requirements.txt" | cut -c1-16)
webhooks_venv="$webhooks_cache/venv-webhooks-$webhooks_key"
if [ ! -f "$webhooks_venv/.complete" ]; then
  echo "== installing the Standard Webhooks reference receiver into $webhooks_venv" >&2
  rm -rf "$webhooks_venv"
  mkdir -p "$webhooks_cache"
  python3 -m venv "$webhooks_venv"
  "$webhooks_venv/bin/pip" install --quiet --disable-pip-version-check -r "$LK_SCRIPTS/webhooks/requirements.txt"
  touch "$webhooks_venv/.complete"  # an interrupted install is made again next time
fi
export LATCHKEY_TEST_WEBHOOK_PYTHON="$webhooks_venv/bin/python"
