#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test of
# every crate, with the storage tests on both SQLite and PostgreSQL.
#
#   scripts/test.sh            everything
#   scripts/test.sh -p latchkey-http   extra arguments go to `cargo test`
#
# Starts (and afterwards stops) throwaway PostgreSQL servers; installs
# PostgreSQL with apt-get if it is missing and this runs as root.
# LATCHKEY_SKIP_LINT=1 skips fmt and clippy for a quicker local loop;
# LATCHKEY_SKIP_BROWSER=1 skips the browser tests (tests/browser/run.sh), which
# run after `cargo test` when no extra arguments are given, as do the
# resource-server recipes (scripts/recipes.sh);
# LATCHKEY_SKIP_INTEROP=1 skips the OAuth client libraries (tests/oauth-interop/run.sh),
# which run after them.

set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust from https://rustup.rs first" >&2
  exit 1
fi

. scripts/services.sh

if [ "${LATCHKEY_SKIP_LINT:-0}" != 1 ]; then
  echo "== cargo fmt --check"
  cargo fmt --all -- --check
  echo "== cargo clippy -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

echo "== cargo test (SQLite and PostgreSQL)"
# --tests: unit and integration tests, without linking the examples (clippy
# --all-targets above checks that they compile); doc tests after.
cargo test --workspace --locked --no-fail-fast --tests "$@"
if [ $# -eq 0 ]; then
  cargo test --workspace --locked --doc
fi

# The hosted pages in Chromium, with the latchkey binary `cargo test` just
# built; only for the whole suite (extra arguments may have built less).
if [ "$#" = 0 ] && [ "${LATCHKEY_SKIP_BROWSER:-0}" != 1 ]; then
  echo "== browser tests (Chromium: tests/browser)"
  tests/browser/run.sh
fi

# The resource-server recipes (examples/fastapi, examples/express) with the
# same binary: a token accepted, then refused within 2 s of the logout.
if [ "$#" = 0 ]; then
  echo "== resource-server recipes (FastAPI, Express: scripts/recipes.sh)"
  scripts/recipes.sh
fi

# Two independent OpenID Connect client libraries (openid-client, Authlib)
# through every step of the provider, on SQLite and PostgreSQL, with the
# same binary; only for the whole suite.
if [ "$#" = 0 ] && [ "${LATCHKEY_SKIP_INTEROP:-0}" != 1 ]; then
  echo "== OAuth interop (openid-client and Authlib: tests/oauth-interop)"
  tests/oauth-interop/run.sh
fi

echo "== deployment checks (Dockerfile, compose.yaml, Kubernetes, the image's root file system)"
scripts/ops-checks.sh
