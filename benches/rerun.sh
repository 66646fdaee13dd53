#!/usr/bin/env bash
# Benchmark: how long a re-run takes on a healthy box (the read-only pass), and
# `status`. Boots a fresh box, installs the stand-in release once, then times
# N re-runs of each. Run as root from the repository: `sudo benches/rerun.sh [N]`.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
NAME=bench-$$
BOX=tests/freshbox/box.sh
OUT=target/standin-mirror
V=11.7.90

cargo build --release --quiet
bash tests/support/standin-tarball.sh "$OUT" "$V" >/dev/null
SHA=$(awk -v f="$V/mattermost-$V-linux-amd64.tar.gz" '$2 == f {print $1}' "$OUT/SHA256SUMS")
bash "$BOX" build >&2
trap 'bash "$BOX" stop "$NAME" >/dev/null 2>&1 || true' EXIT
bash "$BOX" start "$NAME" >&2
bash "$BOX" put "$NAME" target/release/mattermost-setup /usr/local/bin/mattermost-setup
bash "$BOX" serve "$NAME" "$PWD/$OUT" 8000 >&2
printf '{"domain":"chat.example.com","version":"%s","sha256":"%s","download_base_url":"http://127.0.0.1:8000"}' "$V" "$SHA" |
  bash "$BOX" exec "$NAME" 'cat > /root/a.json'
bash "$BOX" exec "$NAME" 'mattermost-setup install --answers /root/a.json --yes >/dev/null'

time_it() { # label, command: prints min / median / max of N runs in seconds
  bash "$BOX" exec "$NAME" "for i in \$(seq $N); do s=\$(date +%s.%N); $2 >/dev/null 2>&1; e=\$(date +%s.%N); echo \"\$e - \$s\" | bc -l; done" |
    sort -n | awk -v l="$1" '{a[NR]=$1} END {printf "%-28s min %.3fs  median %.3fs  max %.3fs  (n=%d)\n", l, a[1], a[int((NR+1)/2)], a[NR], NR}'
}
bash "$BOX" exec "$NAME" 'command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q bc >/dev/null'
time_it "install re-run (healthy box)" "mattermost-setup install --answers /root/a.json --yes"
time_it "status" "mattermost-setup status"
