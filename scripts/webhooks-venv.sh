# Sourced by scripts/services.sh: the reference implementation of Standard
# Webhooks (PyPI `standardwebhooks`, pinned in scripts/webhooks/requirements.txt)
# in a cached virtual environment, for the receiver the webhook tests run
# (tests/webhooks/receiver.py). Exports LATCHKEY_TEST_WEBHOOK_PYTHON, the
# environment's interpreter; made once per version of the requirements.

. "$LK_SCRIPTS/packages.sh"
webhooks_cache=${LATCHKEY_OPS_CACHE:-/var/tmp/latchkey-ops-cache}
webhooks_key=$(sha256sum "$LK_SCRIPTS/webhooks/requirements.txt" | cut -c1-16)
webhooks_venv="$webhooks_cache/venv-webhooks-$webhooks_key"
lk_venv "$webhooks_venv" "$LK_SCRIPTS/webhooks/requirements.txt"
export LATCHKEY_TEST_WEBHOOK_PYTHON="$webhooks_venv/bin/python"
