#!/usr/bin/env bash
# benches/run.sh — every speed figure of mattermost-setup in one table, measured on fresh
# Debian 12 boxes (tests/freshbox/box.sh), each figure the median of N runs and shown as a
# ratio to an anchor measured in the same run on the same machine (absolute seconds on a
# shared 2-core machine move from run to run; ratios much less).
#
#   sudo benches/run.sh [--quick] [-n N] [--only LIST] [--out FILE] [--keep]
#
#   -n N        runs per figure (default 3); --quick is -n 1
#   --only LIST comma-separated figures: install,tls,download,rerun,binary,upgrade,backup (default
#               all; rerun and upgrade run on the install figure's box B, so they imply install)
#   --out FILE  the JSON (default benches/results/latest.json); the table is printed and
#               also written beside it as latest.txt
#   --keep      leave the boxes running (names are printed; remove: tests/freshbox/box.sh stop NAME)
#   env PAD_MB  size of the padding in the benchmark tarballs (default 400)
#   env DATA_MB, DATA_FILES, POSTS  the backup figure's data set: DATA_MB MiB of random bytes in
#               DATA_FILES files (default 2048 in 20000) and POSTS rows in posts (default 200000)
#
# Figures (see benches/README.md for what each measures and its goal):
#   1 install: box A apt-get update + install of the plan's packages (the floor), box B the
#     full install (PostgreSQL + Apache, no TLS), box C the same with the guide's order
#     (apt, then download, then the rest: MATTERMOST_SETUP_BENCH_SERIAL=1); B/A and B/C.
#   2 tls: install to a verified HTTPS ping + WebSocket through nginx, certificate from pebble.
#   3 download: the installer's download (fetch + SHA-256 + write + fsync) and unpack
#     (`mattermost-setup bench-download`, a hidden benchmark hook) vs curl and tar.
#   4 rerun: re-run of install and status on the healthy box B; files a re-run writes.
#   5 binary: size, --help wall time, cold start of status.
#   6 upgrade: 11.7 -> 11.8 stand-in on box B: wall time and downtime (ping sampled every 50 ms).
#   7 backup: on an installed box holding the data set, `backup` vs pg_dump -Fc + tar cf, and
#     `backup --verify` vs sha256sum; on fresh boxes, `restore` of that archive vs tar xf +
#     pg_restore; wall time and peak RSS (GNU time %M; the tool's own VmHWM) of each.
# Not part of tests/run.sh or CI: it reports, the tests judge.
# (The whole script is one { } block: bash reads all of it first, so editing this file
# while a run is under way cannot derail that run.)
{
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

N=3
ONLY=install,tls,download,rerun,binary,upgrade,backup
OUT=benches/results/latest.json
KEEP=0
PAD_MB=${PAD_MB:-400}
DATA_MB=${DATA_MB:-2048}
DATA_FILES=${DATA_FILES:-20000}
POSTS=${POSTS:-200000}
usage() { sed -n '2,/^# (The whole/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) N=1 ;;
    -n|--runs) N=${2:?}; shift ;;
    --only) ONLY=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
  shift
done
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "-n wants a positive number, got '$N'" >&2; exit 2; }
[[ $PAD_MB =~ ^[0-9]+$ ]] || { echo "PAD_MB wants a number of MiB, got '$PAD_MB'" >&2; exit 2; }
[[ $DATA_MB =~ ^[1-9][0-9]*$ ]] || { echo "DATA_MB wants a number of MiB, got '$DATA_MB'" >&2; exit 2; }
[[ $DATA_FILES =~ ^[1-9][0-9]*$ ]] && [ "$DATA_FILES" -le 100000 ] ||
  { echo "DATA_FILES wants a number of files from 1 to 100000, got '$DATA_FILES'" >&2; exit 2; }
[[ $POSTS =~ ^[0-9]+$ ]] || { echo "POSTS wants a number of rows, got '$POSTS'" >&2; exit 2; }
[ $((DATA_MB * 1024 / DATA_FILES)) -ge 1 ] || { echo "DATA_MB / DATA_FILES is less than 1 KiB a file" >&2; exit 2; }
want() { [[ ,$ONLY, == *,$1,* ]]; }
if want rerun || want upgrade; then want install || ONLY+=,install; fi

BOX=tests/freshbox/box.sh
V=11.7.90
V_NEXT=11.8.90
DOMAIN=chat.example.com
PORT=8000
URL_BASE=http://127.0.0.1:$PORT
BIN=target/release/mattermost-setup
SMALL=target/standin-mirror
BIG=target/bench-mirror
WORK=$(mktemp -d /var/tmp/mm-bench.XXXXXX)
SAMPLES=$WORK/samples.tsv
: > "$SAMPLES"
BOXES=()
TAG=$(printf '%x' $(($$ % 4096)))

log() { echo "[bench $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
cleanup() {
  local b
  if [ "$KEEP" = 1 ]; then
    [ ${#BOXES[@]} -eq 0 ] || log "kept boxes: ${BOXES[*]}"
  else
    for b in "${BOXES[@]}"; do bash "$BOX" stop "$b" >/dev/null 2>&1 || true; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "run as root: sudo $0"
bash "$BOX" check || die "fresh boxes cannot run here (see above)"

# ---- helpers --------------------------------------------------------------------------------------
sample() { printf '%s\t%s\n' "$1" "$2" >> "$SAMPLES"; }   # KEY VALUE
bx() { bash "$BOX" exec "$@"; }                          # NAME CMD
start_box() { # NAME: boot, put the installer, serve the benchmark mirror
  BOXES+=("$1")
  bash "$BOX" start "$1" 2>>"$WORK/boxes.log" || die "box $1 did not start (see $WORK/boxes.log)"
  bash "$BOX" put "$1" "$BIN" /usr/local/bin/mattermost-setup
  bash "$BOX" serve "$1" "$ROOT/$BIG" "$PORT" 2>>"$WORK/boxes.log"
}
stop_box() {
  [ "$KEEP" = 1 ] || bash "$BOX" stop "$1" >/dev/null 2>&1 || true
}
sha_of() { awk -v f="$2/mattermost-$2-linux-amd64.tar.gz" '$2 == f {print $1}' "$1/SHA256SUMS"; }
answers() { # VERSION [EXTRA_JSON_MEMBERS]
  printf '{"domain":"%s","db_password":"bench password 1","version":"%s","sha256":"%s","download_base_url":"%s"%s}' \
    "$DOMAIN" "$1" "$(sha_of "$BIG" "$1")" "$URL_BASE" "${2:+,$2}"
}
put_answers() { printf '%s' "$2" | bx "$1" 'umask 077; cat > /root/a.json'; }
# Runs CMD in box NAME and prints its wall time in seconds (timed inside the box, so the
# nsenter around it is not counted). Fails with CMD's output when CMD fails.
timed() { # NAME CMD
  local out
  if ! out=$(bx "$1" "s=\$(date +%s%N); ( $2 ) > /tmp/bench-cmd.out 2>&1 || { cat /tmp/bench-cmd.out; exit 1; }; e=\$(date +%s%N); echo \$(( (e - s) / 1000 ))"); then
    log "in box $1, '$2' failed:"; echo "$out" | tail -n 40 >&2
    bx "$1" 'tail -n 40 $(ls -t /var/log/mattermost-setup/*.log 2>/dev/null | head -1) 2>/dev/null' >&2 || true
    return 1
  fi
  awk -v us="$out" 'BEGIN { printf "%.3f\n", us / 1e6 }'
}
last_log() { bx "$1" 'cat "$(ls -t /var/log/mattermost-setup/20*.log | head -1)"'; }
# From a run log on stdin: "phase SECONDS" per verified phase, and "download SECONDS".
log_phases() {
  sed -n -E 's/.*== phase ([a-z]+): verified in ([0-9.]+)s.*/\1 \2/p;
             s/.*\[mattermost\] tarball .* verified \(sha256 [0-9a-f]+\) in ([0-9.]+)s.*/download \1/p'
}
# Seconds systemd took to start Mattermost (ExecStart to READY=1) in box NAME.
mm_start_time() {
  bx "$1" 'systemctl show mattermost -p ExecMainStartTimestampMonotonic -p ActiveEnterTimestampMonotonic --value' |
    awk 'NR == 1 { s = $1 } NR == 2 { a = $1 } END { if (s > 0 && a >= s) printf "%.3f\n", (a - s) / 1e6 }'
}
https_ok() { # NAME: HTTPS ping 200 and WSS 101 with the stand-in's hello, through the proxy
  bx "$1" "curl -sS -i --http1.1 --max-time 5 --cacert /etc/pebble/bundle.pem --resolve $DOMAIN:443:127.0.0.1 \
      https://$DOMAIN/api/v4/system/ping | grep -q '\"status\":\"OK\"' &&
    curl -sS -i -N --http1.1 --max-time 3 --cacert /etc/pebble/bundle.pem --resolve $DOMAIN:443:127.0.0.1 \
      -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
      -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Origin: https://$DOMAIN' \
      https://$DOMAIN/api/v4/websocket 2>/dev/null | grep -q hello" >/dev/null 2>&1
}

# ---- build: the installer, the stand-in tarballs, the padded benchmark mirror ----------------------
log "building the release binary and the stand-in tarballs"
cargo build --release --quiet --bin mattermost-setup
for v in "$V" "$V_NEXT"; do   # (re)built only when missing or older than the stand-in's sources
  f=$SMALL/$v/mattermost-$v-linux-amd64.tar.gz
  if [ ! -f "$f" ] || [ -n "$(find standin tests/support/standin-tarball.sh -type f -newer "$f" | head -1)" ]; then
    bash tests/support/standin-tarball.sh "$SMALL" "$v" >/dev/null
  fi
done
bash "$BOX" build
mkdir -p "$BIG"
for v in "$V" "$V_NEXT"; do
  src=$SMALL/$v/mattermost-$v-linux-amd64.tar.gz
  dst=$BIG/$v/mattermost-$v-linux-amd64.tar.gz
  stamp=$BIG/$v/.made-from
  want_stamp="$(sha_of "$SMALL" "$v") pad ${PAD_MB}MiB"
  if [ -f "$dst" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want_stamp" ]; then continue; fi
  log "making the ${PAD_MB} MiB benchmark tarball for $v (stand-in + random padding in client/)"
  rm -rf "$WORK/pad" && mkdir -p "$WORK/pad" "$BIG/$v"
  tar -xzf "$src" -C "$WORK/pad"
  head -c "${PAD_MB}M" /dev/urandom > "$WORK/pad/mattermost/client/bench-padding.bin"
  tar --sort=name --owner=0 --group=0 --numeric-owner -C "$WORK/pad" -cf - mattermost | gzip -1 > "$dst.tmp"
  mv -f "$dst.tmp" "$dst"
  rm -rf "$WORK/pad"
  echo "$want_stamp" > "$stamp"
done
( cd "$BIG" && for v in "$V" "$V_NEXT"; do sha256sum "$v/mattermost-$v-linux-amd64.tar.gz"; done ) > "$BIG/SHA256SUMS"
TARBALL_BYTES=$(stat -c %s "$BIG/$V/mattermost-$V-linux-amd64.tar.gz")
sample meta.tarball_bytes "$TARBALL_BYTES"
sample meta.runs "$N"

# ---- figure 5 (host part): binary size and --help -----------------------------------------------------
if want binary; then
  sample binary.size_bytes "$(stat -c %s "$BIN")"
  if ! command -v hyperfine >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null 2>&1 || true
  fi
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 5 --runs 200 --export-json "$WORK/help.json" "$BIN --help" >/dev/null 2>&1
    sample binary.help_s "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$WORK/help.json")"
  else
    for i in $(seq 50); do
      s=$(date +%s%N); "$BIN" --help >/dev/null; e=$(date +%s%N)
      sample binary.help_s "$(awk -v us=$(( (e - s) / 1000 )) 'BEGIN { printf "%.6f", us / 1e6 }')"
    done
  fi
fi

# ---- figures 1, 4, 6: boxes A, B, C ---------------------------------------------------------------
if want install; then
  for i in $(seq "$N"); do
    # A: the floor — apt-get update + install of exactly the packages the plan names.
    a=ka$i-$TAG
    log "run $i/$N: box A ($a): apt-get update + install of the plan's packages"
    start_box "$a"
    put_answers "$a" "$(answers "$V")"
    bx "$a" 'mattermost-setup plan --answers /root/a.json --json' > "$WORK/plan.json"
    pkgs=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["packages"]))' "$WORK/plan.json")
    [ -n "$pkgs" ] || die "the plan names no packages"
    sample meta.packages "$pkgs"
    t=$(timed "$a" "export DEBIAN_FRONTEND=noninteractive; apt-get -q -y update && apt-get -q -y install --no-install-recommends $pkgs")
    sample install.floor_a_s "$t"
    stop_box "$a"

    # B: the full install, same answers.
    b=kb$i-$TAG
    log "run $i/$N: box B ($b): full install (PostgreSQL + Apache, no TLS)"
    start_box "$b"
    put_answers "$b" "$(answers "$V")"
    t=$(timed "$b" 'mattermost-setup install --answers /root/a.json --yes')
    sample install.full_b_s "$t"
    last_log "$b" | log_phases | while read -r k s; do sample "install.b_phase.$k" "$s"; done
    st=$(mm_start_time "$b"); [ -z "$st" ] || sample install.b_service_start_s "$st"

    # C: the guide's order — apt, then the download, then the rest.
    c=kc$i-$TAG
    log "run $i/$N: box C ($c): the same install, download after apt (MATTERMOST_SETUP_BENCH_SERIAL=1)"
    start_box "$c"
    put_answers "$c" "$(answers "$V")"
    t=$(timed "$c" 'MATTERMOST_SETUP_BENCH_SERIAL=1 mattermost-setup install --answers /root/a.json --yes')
    sample install.serial_c_s "$t"
    last_log "$c" | log_phases | while read -r k s; do sample "install.c_phase.$k" "$s"; done
    stop_box "$c"

    # Figure 4 on the healthy box B: re-runs and status, then the files one re-run writes.
    if want rerun; then
      log "run $i/$N: re-runs and status on the healthy box $b"
      for _ in 1 2 3; do
        sample rerun.install_s "$(timed "$b" 'mattermost-setup install --answers /root/a.json --yes')"
        sample rerun.status_s "$(timed "$b" 'mattermost-setup status')"
      done
      if want binary; then
        # cold start: the binary's pages dropped from the page cache first
        sample binary.status_cold_s "$(timed "$b" 'dd if=/usr/local/bin/mattermost-setup iflag=nocache count=0 status=none; mattermost-setup status')"
      fi
      if [ "$i" = 1 ]; then
        bx "$b" 'command -v strace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q strace >/dev/null'
        # Every path the re-run's process tree opened for writing, created, renamed, removed,
        # chmod-ed or chown-ed (strace -f: the tool and every command it runs).
        bx "$b" 'strace -f -qq -o /tmp/rerun.trace -e trace=open,openat,openat2,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,chmod,fchmodat,chown,fchownat,lchown,truncate,link,linkat,symlink,symlinkat \
              mattermost-setup install --answers /root/a.json --yes >/dev/null 2>&1; cat /tmp/rerun.trace' > "$WORK/rerun.trace"
        python3 - "$WORK/rerun.trace" > "$WORK/written.txt" <<'PY'
import re, sys
seen = set()
for line in open(sys.argv[1], errors="replace"):
    if re.search(r"= -1 E", line):
        continue
    m = re.search(r'(open|openat|openat2|creat)\((?:[^,]+, )?"([^"]+)", ([A-Z_|]+)', line)
    if m:
        if m.group(1) == "creat" or re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", m.group(3)):
            seen.add(m.group(2))
        continue
    m = re.search(r'^\d+\s+(\w+)\(', line)
    if m and m.group(1) not in ("open", "openat", "openat2"):
        seen.update(re.findall(r'"([^"]+)"', line))
# Absolute paths only (a name relative to a directory descriptor repeats one seen
# whole); nothing of /dev, /proc, /sys. Volatile ones (tmpfs /run, /tmp) apart.
for p in sorted(seen):
    if not p.startswith("/") or p.startswith(("/dev/", "/proc/", "/sys/")):
        continue
    print(("tmp " if p.startswith(("/run/", "/tmp/")) else "disk ") + p)
PY
        own_log='^disk /var/log/mattermost-setup/[^/]+\.log$'
        sample rerun.files_written "$(grep '^disk ' "$WORK/written.txt" | grep -v -c -E "$own_log" || true)"
        sample rerun.files_written_list "$(grep '^disk ' "$WORK/written.txt" | grep -v -E "$own_log" | cut -d' ' -f2- | tr '\n' ' ')"
        sample rerun.tmpfs_written "$(grep -c '^tmp ' "$WORK/written.txt" || true)"
        sample rerun.tmpfs_written_list "$(grep '^tmp ' "$WORK/written.txt" | cut -d' ' -f2- | tr '\n' ' ')"
      fi
    fi

    # Figure 6 on box B: upgrade to the next stand-in while a sampler pings every 50 ms.
    if want upgrade; then
      log "run $i/$N: upgrade $V -> $V_NEXT on $b, ping sampled every 50 ms"
      bx "$b" "rm -f /tmp/ping.log /tmp/ping.stop; systemd-run --quiet --unit bench-ping --collect bash -c '
        while [ ! -e /tmp/ping.stop ]; do
          t=\$(date +%s%N)
          c=\$(curl -s -o /dev/null -w %{http_code} --max-time 2 -H \"Host: $DOMAIN\" http://127.0.0.1/api/v4/system/ping)
          echo \"\$t \$c\" >> /tmp/ping.log
          sleep 0.05
        done'"
      sleep 1
      t=$(timed "$b" "mattermost-setup upgrade --version $V_NEXT --sha256 $(sha_of "$BIG" "$V_NEXT")")
      sleep 1
      bx "$b" 'touch /tmp/ping.stop; sleep 0.3; cat /tmp/ping.log' > "$WORK/ping.log"
      sample upgrade.wall_s "$t"
      # the longest run of failed pings: from the first failure to the next success
      sample upgrade.downtime_s "$(awk '$2 != "200" { if (!f) f = $1 } $2 == "200" { if (f) { d = $1 - f; if (d > m) m = d; f = 0 } }
        END { if (f) { d = $1 - f; if (d > m) m = d } printf "%.3f\n", m / 1e9 }' "$WORK/ping.log")"
      sample upgrade.ping_samples "$(wc -l < "$WORK/ping.log")"
      st=$(mm_start_time "$b"); [ -z "$st" ] || sample upgrade.new_start_s "$st"
      bx "$b" 'mattermost-setup status >/dev/null' || log "WARNING: status after the upgrade on $b is not clean"
    fi
    stop_box "$b"
  done
fi

# ---- figure 2: time to chat with TLS (nginx, certificate from pebble) -------------------------------
if want tls; then
  for i in $(seq "$N"); do
    t=kt$i-$TAG
    log "run $i/$N: box T ($t): nginx + Let's Encrypt from pebble"
    start_box "$t"
    # pebble as the ACME server (as tests/integration/freshbox_tls.rs does), not timed
    bx "$t" 'set -e
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pebble >/dev/null
      mkdir -p /etc/pebble && cd /etc/pebble
      openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 \
        -subj /CN=pebble -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
      cat > config.json <<J
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
 "certificate": "/etc/pebble/cert.pem", "privateKey": "/etc/pebble/key.pem",
 "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
J
      systemd-run --unit pebble -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WFE_NONCEREJECT=0 /usr/bin/pebble -config /etc/pebble/config.json
      for i in $(seq 50); do curl -sf --cacert cert.pem https://127.0.0.1:14000/dir >/dev/null && break; sleep 0.2; done
      curl -sf --cacert cert.pem https://127.0.0.1:15000/roots/0 > root.pem
      cat cert.pem root.pem > bundle.pem
      echo "127.0.0.1 '"$DOMAIN"'" >> /etc/hosts' >/dev/null
    put_answers "$t" "$(answers "$V" '"proxy":"nginx","tls":"letsencrypt","letsencrypt_email":"ops@example.com","letsencrypt_agree_tos":true,"acme_server":"https://127.0.0.1:14000/dir","acme_ca_bundle":"/etc/pebble/bundle.pem"')"
    s=$(date +%s%N)
    bx "$t" 'mattermost-setup install --answers /root/a.json --yes' > "$WORK/tls.out" 2>&1 ||
      { tail -n 40 "$WORK/tls.out" >&2; die "the TLS install failed on $t"; }
    ok=0
    for _ in $(seq 100); do if https_ok "$t"; then ok=1; break; fi; sleep 0.2; done
    e=$(date +%s%N)
    [ "$ok" = 1 ] || die "no HTTPS ping + WebSocket on $t after the install"
    sample tls.to_chat_s "$(awk -v us=$(( (e - s) / 1000 )) 'BEGIN { printf "%.3f", us / 1e6 }')"
    last_log "$t" | log_phases | while read -r k v; do sample "tls.phase.$k" "$v"; done
    stop_box "$t"
  done
fi

# ---- figure 3: the download, against standard tools on the same box ------------------------------
if want download; then
  d=kd1-$TAG
  log "box D ($d): the ${PAD_MB} MiB download and unpack, installer vs curl/tar ($N runs)"
  start_box "$d"
  put_answers "$d" "$(answers "$V")"
  u=$URL_BASE/$V/mattermost-$V-linux-amd64.tar.gz
  f=/var/cache/mattermost-setup/bench.tgz
  bx "$d" "mkdir -p /var/cache/mattermost-setup; curl -s -o /dev/null $u"   # warm the mirror's page cache
  for i in $(seq "$N"); do
    bx "$d" 'rm -rf /var/cache/mattermost-setup/* /var/tmp/bench-unpack'
    bx "$d" 'mattermost-setup bench-download --answers /root/a.json --unpack /var/tmp/bench-unpack' > "$WORK/dl.json" ||
      die "bench-download failed on $d"
    python3 - "$WORK/dl.json" >> "$SAMPLES" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("download_s", "unpack_s", "download_hwm_kib", "unpack_hwm_kib"):
    print(f"download.installer_{k}\t{r[k]}")
PY
    bx "$d" "rm -rf /var/cache/mattermost-setup/* /var/tmp/bench-unpack"
    sample download.curl_tee_sha_sync_s "$(timed "$d" "curl -sS $u | tee $f | sha256sum >/dev/null; sync $f")"
    bx "$d" "rm -f $f"
    sample download.curl_file_fsync_s "$(timed "$d" "curl -sS -o $f $u && sync $f")"
    sample download.curl_null_s "$(timed "$d" "curl -sS -o /dev/null $u")"
    bx "$d" 'mkdir -p /var/tmp/bench-unpack'
    sample download.tar_xzf_s "$(timed "$d" "tar -xzf $f -C /var/tmp/bench-unpack")"
    bx "$d" "rm -rf $f /var/tmp/bench-unpack"
  done
  stop_box "$d"
fi

# ---- figure 7: backup and restore of a data set, against the database's tools + tar --------------
# Peak RSS: GNU time's %M (ru_maxrss from wait4: the largest single process of the command's tree)
# and, for the tool, the VmHWM of its own process (polled every 50 ms). Not the cgroup's
# memory.peak: that charges the page cache of every file the command reads or writes to it, so
# for a 2 GB archive it measures the file cache, not the program. GNU time is the host's Debian
# package binary (it needs only libc), copied in, so a fresh box gets no apt run before `restore`.
put_measure() { # NAME: GNU time and the bench-measure wrapper into box NAME
  bash "$BOX" put "$1" /usr/bin/time /usr/local/bin/gnu-time
  bx "$1" 'cat > /usr/local/bin/bench-measure && chmod 755 /usr/local/bin/bench-measure' <<'SH'
#!/bin/bash
# bench-measure CMD: runs the shell command CMD (its output in /tmp/bench-cmd.out, printed when
# it fails) and prints "WALL_S TREE_MAXRSS_KIB SELF_HWM_KIB": the wall time, GNU time's %M, and
# the VmHWM of CMD's own process (bash's, or with `exec PROGRAM ...` the program's) polled every
# 50 ms (growth in the last 50 ms before it exits is missed).
out=/tmp/bench-cmd.out
# Settle first (not timed): the box's file system flushed, through its loop device to the image
# file, so no command pays for the writeback of what the one before it wrote.
sync -f / 2>/dev/null || true
s=$(date +%s%N)
/usr/local/bin/gnu-time -f %M -o /tmp/bench-rss.out bash -c "$1" > "$out" 2>&1 &
t=$!
hwm=0 c=
while kill -0 "$t" 2>/dev/null; do
  [ -n "$c" ] || c=$(pgrep -P "$t" | head -n 1)
  if [ -n "$c" ]; then
    while read -r k v _; do
      if [ "$k" = VmHWM: ] && [ "$v" -gt "$hwm" ]; then hwm=$v; fi
    done 2>/dev/null < "/proc/$c/status"
  fi
  sleep 0.05
done
wait "$t"; rc=$?
e=$(date +%s%N)
if [ "$rc" != 0 ]; then cat "$out"; exit 1; fi
printf '%s %s %s\n' "$(awk -v us=$(( (e - s) / 1000 )) 'BEGIN { printf "%.3f", us / 1e6 }')" \
  "$(tail -n 1 /tmp/bench-rss.out)" "$hwm"
SH
  bx "$1" 'gnu-time --version' >/dev/null 2>&1 || die "the host's GNU time does not run in box $1"
}
# Runs CMD in box NAME under bench-measure: samples KEY_s and KEY_rss_kib (and KEY_hwm_kib when
# the 4th argument is `self`); prints the wall time. Fails with CMD's output when CMD fails.
measure() { # NAME KEY CMD [self]
  local out w tree self
  if ! out=$(bx "$1" "bench-measure $(printf %q "$3")"); then
    log "in box $1, '$3' failed:"; echo "$out" | tail -n 40 >&2
    bx "$1" 'tail -n 40 $(ls -t /var/log/mattermost-setup/*.log 2>/dev/null | head -1) 2>/dev/null' >&2 || true
    return 1
  fi
  read -r w tree self <<< "$out"
  [[ $w =~ ^[0-9.]+$ && $tree =~ ^[0-9]+$ ]] || { log "bench-measure in $1 printed '$out'"; return 1; }
  sample "${2}_s" "$w"
  sample "${2}_rss_kib" "$tree"
  if [ "${4:-}" = self ]; then sample "${2}_hwm_kib" "$self"; fi
  echo "$w"
}
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a + b }'; }
# Reads PATHs once, not timed, so that both sides read their input from the page cache: on a
# shared machine the cache is full, and without this the first reader of each run paid for the
# disk (seen: the first side of a run 1.6-1.8 x slower than the second, whichever it was).
warm() { # NAME PATH...
  bx "$1" "find ${*:2} -type f -exec cat {} + > /dev/null 2>&1; true"
}
TREES="/opt/mattermost/data /opt/mattermost/plugins /opt/mattermost/client/plugins /var/lib/postgresql"

# From a run log on stdin, the stages of a backup or a restore as samples, from the log's time
# stamps and the notes of src/lifecycle/backup.rs and restore.rs:
#   backup: dump (pg_dump into a staging file, then into the archive), files (every file read,
#           hashed and archived; the manifest; fsync and rename)
#   restore: check (the whole archive against its manifest), install (the archive's release; its
#           packages phase apart), data = files (one pass through the archive) + database
#           (pg_restore of the dump), verify (the converge and its acceptance checks)
cat > "$WORK/stages.py" <<'PY'
import re, sys
from datetime import datetime, timezone
ev = []
for line in sys.stdin:
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z (.*)", line)
    if m:
        t = datetime.fromisoformat(m.group(1)).replace(tzinfo=timezone.utc).timestamp()
        ev.append((t, m.group(2).strip()))
def at(pred, after=None):
    for t, s in ev:
        if (after is None or t >= after) and pred(s):
            return t
    return None
def out(prefix, spans):
    for k, a, b in spans:
        if a is not None and b is not None:
            print(f"{prefix}.{k}\t{b - a:.3f}")
if sys.argv[1] == "backup":
    dump = at(lambda s: s.startswith("[backup] dumping the database"))
    files = at(lambda s: s.startswith("[backup] adding"), dump)
    end = at(lambda s: s.startswith("[backup] wrote"), files)
    out("backup.tool_stage", (("dump", dump, files), ("files", files, end)))
else:
    check = at(lambda s: s.startswith("[restore] checking"))
    install = at(lambda s: s.startswith("== phase"), check)
    put = at(lambda s: s.startswith("[restore] putting back"), install)
    files = at(lambda s: re.match(r"\[restore\] \d+ files put back", s) is not None, put)
    db = at(lambda s: s.startswith("[restore] restoring the database"), files)
    verify = at(lambda s: s.startswith("== phase"), db)
    end = at(lambda s: s.startswith("[restore]") and s.endswith(" restored"), verify)
    out("backup.restore_stage", (("check", check, install), ("install", install, put),
        ("files", put, db), ("database", db, verify), ("data", put, verify), ("verify", verify, end)))
    for t, s in ev:
        m = re.match(r"== phase packages: verified in ([0-9.]+)s", s)
        if m and put is not None and t < put:
            print(f"backup.restore_packages_s\t{m.group(1)}")
            break
PY

if want backup; then
  if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null 2>&1 || true
  fi
  /usr/bin/time --version 2>&1 | grep -q GNU ||
    die "the backup figure needs GNU time on the host (apt-get install time); it is copied into the boxes"
  chunk=$((DATA_MB * 1024 / DATA_FILES))   # KiB a file
  sample backup.data_files_asked "$DATA_FILES"

  a=bb-a-$TAG
  log "box A ($a): install, then the data set: $DATA_FILES files of $chunk KiB, $POSTS posts"
  start_box "$a"
  put_measure "$a"
  put_answers "$a" "$(answers "$V")"
  bx "$a" 'mattermost-setup install --answers /root/a.json --yes' > "$WORK/bb-install.out" 2>&1 ||
    { tail -n 40 "$WORK/bb-install.out" >&2; die "the install failed on $a"; }
  # Random bytes (they do not compress, as uploads mostly do not), 100 files a directory, owned
  # by mattermost as uploads are; then flushed, so no timed command pays for writing them.
  bx "$a" "CHUNK=$chunk FILES=$DATA_FILES bash -s" <<'SH' || die "could not make the data set on $a"
set -euo pipefail
d=/opt/mattermost/data/bench
mkdir -p "$d" && cd "$d"
head -c "$((CHUNK * FILES))K" /dev/urandom | split -b "${CHUNK}K" -a 5 -d - f
for p in $(ls | sed -n 's/^f\([0-9]*\)[0-9][0-9]$/\1/p' | sort -u); do mkdir "d$p"; mv "f$p"?? "d$p/"; done
chown -R mattermost:mattermost /opt/mattermost/data
sync -f /opt/mattermost/data
SH
  # Posts as the stand-in's table has them (standin/schema/postgres.sql), ~250 bytes of text each.
  bx "$a" 'cd / && runuser -u postgres -- psql -q -X -v ON_ERROR_STOP=1 -d mattermost' <<SQL || die "could not seed posts on $a"
insert into posts (id, createat, updateat, deleteat, userid, channelid, rootid, parentid, originalid,
  message, type, props, hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)
select substr(md5('post' || g), 1, 26), 1700000000000 + g, 1700000000000 + g, 0,
  substr(md5('user' || g % 50), 1, 26), substr(md5('channel' || g % 20), 1, 26), '', '', '',
  'benchmark post ' || g || ': ' || repeat(md5(g::text), 7), '', '{}', '', '[]', '[]', false, 0, false, ''
from generate_series(1, $POSTS) g;
checkpoint;
SQL
  have=$(bx "$a" "cd /; find /opt/mattermost/data -type f | wc -l; runuser -u postgres -- psql -X -Atd mattermost -c 'select count(*) from posts' 2>/dev/null" | tr '\n' ' ')
  sample backup.data_bytes "$(bx "$a" 'du -sb /opt/mattermost/data | cut -f1')"
  sample backup.data_files "${have%% *}"
  sample backup.posts "$(echo "$have" | cut -d' ' -f2)"
  sample backup.db_bytes "$(bx "$a" "cd / && runuser -u postgres -- psql -X -Atc \"select pg_database_size('mattermost')\"")"

  # Each side starts from the same state: the other side's output deleted (its pages leave the
  # page cache, which is full on a shared machine), the box settled; the order alternates.
  # tool_backup RUN: the backup, then --verify, sha256sum and openssl of its archive; the last
  # run's archive is copied out for the restore boxes.
  tool_backup() {
    bx "$a" 'rm -rf /root/bk' || return 1
    warm "$a" $TREES
    measure "$a" backup.tool 'exec mattermost-setup backup --to /root/bk' self >/dev/null || return 1
    last_log "$a" | python3 "$WORK/stages.py" backup >> "$SAMPLES"
    archive=$(bx "$a" 'ls /root/bk/mattermost-backup-*.tar')
    [[ $archive =~ ^/root/bk/mattermost-backup-[^[:space:]]+\.tar$ ]] || { log "not one archive in /root/bk on $a: $archive"; return 1; }
    sample backup.archive_bytes "$(bx "$a" "stat -c %s $archive")"
    warm "$a" "$archive"
    measure "$a" backup.verify "exec mattermost-setup backup --verify $archive" self >/dev/null || return 1
    warm "$a" "$archive"
    measure "$a" backup.anchor_sha256sum "sha256sum $archive > /dev/null" >/dev/null || return 1
    # Debian's sha256sum has no SHA-NI (coreutils without OpenSSL); openssl's digest has: the
    # fastest standard SHA-256 on the box.
    warm "$a" "$archive"
    measure "$a" backup.anchor_openssl_sha256 "openssl dgst -sha256 $archive > /dev/null" >/dev/null || return 1
    if [ "$1" = "$N" ]; then
      log "copying the archive out of $a"
      cp "/proc/$(bash "$BOX" leader "$a")/root$archive" "$WORK/bk.tar" || return 1
    fi
    bx "$a" 'rm -rf /root/bk'
  }
  # What an admin runs by hand: the dump and a tar of the same trees to the same disk, each file
  # flushed at the end as the tool flushes its archive.
  anchor_backup() {
    local p t
    bx "$a" 'rm -rf /root/ak && mkdir -m 700 /root/ak' || return 1
    warm "$a" /var/lib/postgresql
    p=$(measure "$a" backup.anchor_pg_dump 'cd / && runuser -u postgres -- pg_dump -Fc -d mattermost > /root/ak/db.pgdump && sync /root/ak/db.pgdump') || return 1
    warm "$a" $TREES
    t=$(measure "$a" backup.anchor_tar 'cd /opt/mattermost && tar cf /root/ak/files.tar $(ls -d data plugins client/plugins 2>/dev/null) && sync /root/ak/files.tar') || return 1
    sample backup.anchor_s "$(sum "$p" "$t")"
    sample backup.anchor_bytes "$(bx "$a" 'cat /root/ak/* | wc -c')"
    bx "$a" 'rm -rf /root/ak'
  }
  # The same two sides writing to a tmpfs mounted in the box: the disk (shared, and behind a loop
  # device here) out of the picture, what is left is each side's own cost.
  mem_tool() {
    warm "$a" $TREES
    measure "$a" backup.mem_tool 'exec mattermost-setup backup --to /mnt/bench-mem/bk' self >/dev/null || return 1
    bx "$a" 'rm -rf /mnt/bench-mem/bk'
  }
  mem_anchor() {
    local p t
    bx "$a" 'rm -rf /mnt/bench-mem/ak && mkdir -m 700 /mnt/bench-mem/ak' || return 1
    warm "$a" /var/lib/postgresql
    p=$(measure "$a" backup.mem_anchor_pg_dump 'cd / && runuser -u postgres -- pg_dump -Fc -d mattermost > /mnt/bench-mem/ak/db.pgdump') || return 1
    warm "$a" $TREES
    t=$(measure "$a" backup.mem_anchor_tar 'cd /opt/mattermost && tar cf /mnt/bench-mem/ak/files.tar $(ls -d data plugins client/plugins 2>/dev/null)') || return 1
    sample backup.mem_anchor_s "$(sum "$p" "$t")"
    bx "$a" 'rm -rf /mnt/bench-mem/ak'
  }
  bx "$a" "mkdir -p /mnt/bench-mem && mount -t tmpfs -o size=$((DATA_MB + DATA_MB / 4 + 512))m tmpfs /mnt/bench-mem" ||
    die "could not mount a tmpfs in $a"
  archive=
  for i in $(seq "$N"); do
    log "run $i/$N: on $a, backup vs pg_dump -Fc + tar cf (disk, then tmpfs); backup --verify vs sha256sum, openssl dgst"
    if [ $((i % 2)) = 1 ]; then   # the order alternates from run to run (an even N balances it)
      tool_backup "$i" || die "backup failed on $a"; anchor_backup || die "the anchor failed on $a"
      mem_tool || die "backup to the tmpfs failed on $a"; mem_anchor || die "the anchor to the tmpfs failed on $a"
    else
      anchor_backup || die "the anchor failed on $a"; tool_backup "$i" || die "backup failed on $a"
      mem_anchor || die "the anchor to the tmpfs failed on $a"; mem_tool || die "backup to the tmpfs failed on $a"
    fi
  done
  bx "$a" 'umount /mnt/bench-mem'
  stop_box "$a"

  # Restore on fresh boxes: the tool's restore (packages, Mattermost, the database and the files,
  # then the install's verification), then on the same box the anchor: tar xf of the same archive
  # + pg_restore of its dump into an empty database.
  for i in $(seq "$N"); do
    r=bb-r$i-$TAG
    log "run $i/$N: box R ($r): restore of the archive with another domain vs tar xf + pg_restore"
    start_box "$r"
    put_measure "$r"
    bash "$BOX" put "$r" "$WORK/bk.tar" /root/bk.tar
    if ! bx "$r" 'mattermost-setup restore --help' >/dev/null 2>&1; then
      log "WARNING: ================================================================================"
      log "WARNING: the installer (commit $(git rev-parse --short HEAD 2>/dev/null)) has no 'restore' command:"
      log "WARNING: NO restore figure is recorded (backup and verify are)."
      log "WARNING: ================================================================================"
      sample backup.restore_missing 1
      stop_box "$r"
      break
    fi
    warm "$r" /root/bk.tar
    measure "$r" backup.restore 'exec mattermost-setup restore /root/bk.tar --domain other.example.test' self >/dev/null ||
      die "restore failed on $r"
    # Its stages from the run log's time stamps ($WORK/stages.py above).
    last_log "$r" | python3 "$WORK/stages.py" restore >> "$SAMPLES"
    # A benchmark of a restore that lost something would mislead: the same counts, or say so.
    got=$(bx "$r" "cd /; find /opt/mattermost/data -type f | wc -l; runuser -u postgres -- psql -X -Atd mattermost -c 'select count(*) from posts' 2>/dev/null" | tr '\n' ' ')
    if [ "$got" != "$have" ]; then
      log "WARNING: after the restore on $r: files, posts = $got; the backed-up box had $have"
      sample backup.restore_mismatch "files, posts = $got; backed up: $have"
    fi
    # The restored files deleted first (their pages leave the cache, as the backup's sides do).
    bx "$r" 'rm -rf /opt/mattermost/data/bench /var/tmp/ar && mkdir -m 700 /var/tmp/ar && cd / && runuser -u postgres -- createdb bench_anchor' ||
      die "could not make the anchor's empty database on $r"
    warm "$r" /root/bk.tar
    x=$(measure "$r" backup.anchor_tar_x 'tar xf /root/bk.tar -C /var/tmp/ar') || die "tar xf failed on $r"
    warm "$r" /var/tmp/ar/mattermost-backup/database
    p=$(measure "$r" backup.anchor_pg_restore 'cd / && runuser -u postgres -- pg_restore -d bench_anchor < /var/tmp/ar/mattermost-backup/database/*.pgdump') ||
      die "pg_restore failed on $r"
    sample backup.restore_anchor_s "$(sum "$x" "$p")"
    stop_box "$r"
  done
  rm -f "$WORK/bk.tar"
fi

# ---- the table --------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
python3 benches/report.py "$SAMPLES" "$OUT" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" | tee "${OUT%.json}.txt"
log "JSON: $OUT"
exit
}
