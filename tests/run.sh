#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine, as root:
#   unit tests, component tests on real PostgreSQL/MariaDB, and fresh-box installs
#   (systemd-nspawn containers with systemd as PID 1) of the release binary.
# Installs what the tests need first. FRESHBOX_REQUIRED=1 / MMS_REQUIRE_DB=1 (set by
# CI) turn a missing harness into a failure instead of a loud skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "tests/run.sh: run as root (the fresh-box tests boot system containers): sudo $0" >&2
  exit 2
fi

need=()
for pair in debootstrap:debootstrap systemd-nspawn:systemd-container slirp4netns:slirp4netns \
            ip:iproute2 curl:curl python3:python3 pg_ctl:postgresql mariadbd:mariadb-server \
            mariadb:mariadb-client setpriv:util-linux strace:strace apache2:apache2 nginx:nginx \
            systemd-analyze:systemd gpg:gnupg \
            ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw s3cmd:s3cmd; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/lib/postgresql/15/bin/$cmd" ] || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi

# moto's S3 server: the stand-in's own object-storage tests (standin/tests/s3.rs) talk to
# it; the installer's are against the real Ceph gateway (tests/freshbox/s3.sh).
if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install -q 'moto[server]==5.2.1' >&2
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

# The box root file system (~3 minutes the first time; cached under /var/tmp).
bash tests/freshbox/box.sh build >&2
# Debian 11 and 13 roots for tests/integration/freshbox_debian.rs, built while cargo
# compiles (about 4 minutes each the first time; a test that needs one before it is
# ready waits on its build lock, and builds it itself should this fail).
suites_log=$(mktemp)
( for s in bullseye trixie; do FRESHBOX_SUITE=$s bash tests/freshbox/box.sh build || true; done ) >"$suites_log" 2>&1 &
suites_pid=$!

trap 'kill "$suites_pid" 2>/dev/null || true; bash tests/freshbox/box.sh stop-all >/dev/null 2>&1 || true' EXIT
cargo test --release --workspace --locked --no-fail-fast -- --test-threads="${TEST_THREADS:-4}" "$@"
