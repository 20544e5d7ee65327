#!/usr/bin/env bash
# Makes the venv with the hash formats' own tools and regenerates the import
# fixtures (crates/server/tests/fixtures/import). Needs python3, pip (PyPI)
# and node. Not run by CI: the fixtures are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${LATCHKEY_FIXTURE_VENV:-${TMPDIR:-/tmp}/latchkey-import-fixtures-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q passlib==1.9.5 bcrypt==5.0.0 argon2-cffi==25.1.0 Werkzeug==3.1.9 \
  'pwdlib[argon2,bcrypt]==0.4.2' cryptography==51.0.1 Django==5.2.20
"$venv/bin/python" "$here/generate.py"
