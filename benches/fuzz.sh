#!/usr/bin/env bash
# No-panic fuzzing of every parser of outside input, 100 000 cases per target
# (CI runs 2 000 of each inside the normal suite):
#   HTTP response heads, answers JSON, certificate/key PEM, proxy site files
#   (tests/integration/fuzz.rs) and the stand-in's DataSource parsers
#   (standin/tests/fuzz_dsn.rs).
#   benches/fuzz.sh [CASES]
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_CASES=${1:-100000}
start=$(date +%s)
cargo test --release --locked --test integration fuzz_ -- --test-threads=2
cargo test --release --locked -p mattermost-standin --test fuzz_dsn
echo "fuzz: $FUZZ_CASES cases per target, no panic, $(( $(date +%s) - start ))s"
