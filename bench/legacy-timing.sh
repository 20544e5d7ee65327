#!/usr/bin/env bash
# What a wrong password costs for an unknown address, an argon2id account and
# an account imported with a bcrypt hash (issue 19's timing defect): one line
# with the mismatch floor at zero (the work alone) and one calibrated as the
# server does (what a caller sees; the three medians should agree).
#
#   bench/legacy-timing.sh                      20 rounds, bcrypt cost 10
#   bench/legacy-timing.sh --rounds 50 --bcrypt-cost 12
#
# Release build of latchkey-core's example; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p latchkey-core --example legacy_timing -- "$@"
