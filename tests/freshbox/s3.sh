#!/bin/bash
# s3.sh — a real S3-compatible object store for the multi-machine tests: a single-node Ceph
# cluster (Debian's Ceph: one monitor, one OSD on memstore, one RADOS gateway with the beast
# frontend) run on the HOST, inside a network namespace of its own — one made with
# `box.sh host-link NS BR ADDR/PFX`, so the boxes linked to bridge BR reach it at ADDR.
# Not a mock: S3 requests, SigV4 signatures, 403s for wrong keys are the RADOS gateway's own.
# Runs as root. Nothing in /etc/ceph, /var/lib/ceph, /var/log/ceph or /run/ceph is used: the
# cluster's configuration, keyrings, data, sockets and logs are under the state directory.
# The monitor and the OSD listen on 127.0.0.1 of the namespace only; RGW listens on ADDR:PORT.
#
#   s3.sh up NS ADDR PORT     start the cluster in network namespace NS, RGW on http://ADDR:PORT,
#                             wait (deadline printed) until RGW answers, create the S3 user
#                             (idempotent: a store that runs and answers at that endpoint is left as
#                             it is; anything else there is removed and made anew, with new keys).
#                             About 3 s (mon 1 s, OSD +1-2 s, RGW +1 s); refused if ADDR:PORT is taken
#   s3.sh env NS              print the store's shell-eval lines (stdout): S3_ENDPOINT=http://ADDR:PORT
#                             S3_ACCESS_KEY=... S3_SECRET_KEY=... S3_REGION=us-east-1 (RGW checks the
#                             signature, not the region name); the same in $STATE/s3.env, s3.json (0600)
#   s3.sh mkbucket NS BUCKET  create a bucket (s3cmd, the user's keys; idempotent)
#   s3.sh put NS BUCKET KEY FILE   upload host FILE as object KEY
#   s3.sh ls NS BUCKET        print the bucket's object keys, one a line, sorted (all of them: recursive)
#   s3.sh status NS           exit 0 if all three daemons run and RGW answers
#   s3.sh down NS             stop the daemons (recorded PIDs only), delete the state directory
#
# Env: FRESHBOX_LAB (/var/tmp/mattermost-setup-freshbox), S3_UP_TIMEOUT (120 s),
#      S3_MEMSTORE_BYTES (OSD capacity in memory, 1073741824).
# State: $LAB/s3/NS/ (0700): ceph.conf, keyrings, mon/, osd/, rgw/, run/ (admin sockets), log/,
#        *.pid, s3.env, s3.json, s3cfg (s3cmd's configuration, with the keys).
# Needs: ceph-mon ceph-osd radosgw s3cmd (Debian 12: Ceph 16.2.15, s3cmd 2.3.0), curl, python3.
# `box.sh stop-all` runs `down` for every store of the lab (and `box.sh net-down NS` for NS's).
# Only stdout output: `env` and `ls`. Diagnostics go to stderr.
# What the gateway says (Ceph 16.2.15, checked): a wrong secret -> 403 SignatureDoesNotMatch, an
# unknown access key -> 403 InvalidAccessKeyId, no signature -> 403 AccessDenied, a missing bucket
# -> 404 NoSuchBucket; any region name in the signature is accepted; GetBucketLocation says "default".
# curl 7.88 (Debian 12) with --aws-sigv4 "aws:amz:us-east-1:s3" needs
# -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' (without it RGW answers SignatureDoesNotMatch even to
# the right keys), and a bare query key must be written with '=' (?location=, not ?location).
set -euo pipefail

LAB=${FRESHBOX_LAB:-/var/tmp/mattermost-setup-freshbox}
UP_TIMEOUT=${S3_UP_TIMEOUT:-120}
MEMSTORE_BYTES=${S3_MEMSTORE_BYTES:-1073741824}
S3_USER=mattermost-test
LOG_TAG=""

log() { echo "[s3.sh${LOG_TAG:+ $LOG_TAG} $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
valid_name() { [[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,14}$ ]] || die "bad namespace name '${1:-}' (1-15 of [A-Za-z0-9-])"; }

# ---- processes: only ever signal a PID we recorded AND whose command line still matches (as box.sh) --
proc_alive() {
  local p=${1:-} s
  [[ $p =~ ^[0-9]+$ ]] && [ -r "/proc/$p/stat" ] || return 1
  s=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$p/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
proc_matches() { # PID STRING...: the command line (space-joined, space-padded) contains every STRING
  local p=$1 c s; shift
  c=" $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) " || return 1
  for s; do [[ $c == *"$s"* ]] || return 1; done
}
wait_gone() { # PID SECONDS
  local p=$1 end=$((SECONDS + $2))
  while proc_alive "$p" && (( SECONDS < end )); do sleep 0.2; done
  ! proc_alive "$p"
}
daemon_pid() { # NS DAEMON(mon|osd|rgw) -> its PID if it runs (and is still that daemon)
  local st=$LAB/s3/$1 p prog
  case $2 in mon) prog=ceph-mon ;; osd) prog=ceph-osd ;; rgw) prog=radosgw ;; esac
  [ -s "$st/$2.pid" ] || return 1
  p=$(cat "$st/$2.pid")
  proc_alive "$p" && proc_matches "$p" "$prog" " -c $st/ceph.conf " && echo "$p"
}
stop_daemon() { # NS DAEMON: SIGTERM, SIGKILL after 10 s
  local p
  if p=$(daemon_pid "$1" "$2"); then
    kill "$p" 2>/dev/null || true
    wait_gone "$p" 10 || { log "$2 ($p) ignored SIGTERM: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; wait_gone "$p" 5 || true; }
  fi
  rm -f "$LAB/s3/$1/$2.pid"
}

# ---- helpers running inside the namespace -------------------------------------------------------------
in_ns() { # NS CMD...: CMD in the network namespace NS, with a clean environment
  nsenter --net="/run/netns/$1" -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "${@:2}"
}
ceph_cli() { # NS ARGS...: the ceph CLI as client.admin of this cluster
  local st=$LAB/s3/$1
  in_ns "$1" timeout 60 ceph -c "$st/ceph.conf" -n client.admin --connect-timeout 30 "${@:2}"
}
rgw_admin() { # NS ARGS...
  local st=$LAB/s3/$1
  in_ns "$1" timeout 60 radosgw-admin -c "$st/ceph.conf" -n client.admin "${@:2}"
}
rgw_answers() { # NS: the gateway answers an anonymous ListBuckets on its endpoint (an S3 answer, not just any)
  local st=$LAB/s3/$1 url
  url=$(cat "$st/endpoint" 2>/dev/null) || return 1
  in_ns "$1" curl -s --max-time 3 "$url/" 2>/dev/null | grep -q '<ListAllMyBucketsResult'
}
port_taken() { # NS ADDR PORT: something accepts connections there already
  # shellcheck disable=SC2016  # the inner bash expands its own "$1" "$2"
  in_ns "$1" timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' bash "$2" "$3" 2>/dev/null
}
s3cmd_ns() { # NS ARGS...: s3cmd with the store's configuration (the keys are in the 0600 s3cfg, not on a command line)
  local st=$LAB/s3/$1
  [ -f "$st/s3cfg" ] || die "no object store in $1 (run: $0 up $1 ADDR PORT)"
  in_ns "$1" timeout 60 s3cmd -c "$st/s3cfg" --no-progress "${@:2}"
}

ensure_deps() {
  local need=()
  command -v ceph-mon >/dev/null || need+=(ceph-mon)
  command -v ceph-osd >/dev/null || need+=(ceph-osd)
  command -v radosgw >/dev/null || need+=(radosgw)
  command -v s3cmd >/dev/null || need+=(s3cmd)
  command -v curl >/dev/null || need+=(curl)
  command -v python3 >/dev/null || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}" >&2
  fi
}

start_daemon() { # NS DAEMON CMD...: CMD (in the foreground, -f) in its own session in NS, PID recorded
  local ns=$1 d=$2 st=$LAB/s3/$1; shift 2
  setsid nsenter --net="/run/netns/$ns" -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    "$@" >> "$st/log/$d.out" 2>&1 < /dev/null &
  echo $! > "$st/$d.pid"
}
wait_for() { # NS DAEMON WHAT DEADLINE(a SECONDS value) CMD...: retry CMD until it succeeds; fail when
              # the deadline passes or DAEMON (mon, osd, rgw) has exited
  local ns=$1 d=$2 what=$3 end=$4; shift 4
  until "$@" >/dev/null 2>&1; do
    daemon_pid "$ns" "$d" >/dev/null || { log "$d exited"; return 1; }
    (( SECONDS < end )) || { log "$what: not after ${UP_TIMEOUT}s"; return 1; }
    sleep 0.3
  done
  log "$what after $((SECONDS - T0))s"
}

cmd_up() { # NS ADDR PORT
  local ns=$1 addr=$2 port=$3 st fsid end osd_uuid out
  st=$LAB/s3/$ns
  [ -e "/run/netns/$ns" ] || die "no network namespace $ns (make one: box.sh host-link $ns BR $addr/24)"
  in_ns "$ns" ip -4 -o addr show | grep -q " inet $addr/" || die "$addr is not an address in network namespace $ns"
  if [ -f "$st/s3.env" ] && [ "$(cat "$st/endpoint" 2>/dev/null)" = "http://$addr:$port" ] && cmd_status "$ns" 2>/dev/null; then
    log "the object store in $ns is up already: http://$addr:$port"
    return 0
  fi
  if [ -d "$st" ]; then log "stale object store state in $ns: removing it first"; cmd_down "$ns"; fi
  ensure_deps
  ! port_taken "$ns" "$addr" "$port" || die "something listens on $addr:$port in $ns already"
  UP_NS=$ns
  trap 'up_failed "$UP_NS"' EXIT
  T0=$SECONDS
  end=$((SECONDS + UP_TIMEOUT))
  log "starting Ceph (mon, osd on memstore, radosgw) in $ns; deadline ${UP_TIMEOUT}s (S3_UP_TIMEOUT)"
  mkdir -p "$LAB/s3"
  mkdir -m 700 "$st"
  mkdir -p "$st"/{mon,osd,rgw,run,log,crash}
  echo "http://$addr:$port" > "$st/endpoint"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  # One node, one replica: pools of size 1, few PGs, no manager (the data path does not need one).
  cat > "$st/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:3300
mon initial members = a
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $st/\$cluster.\$name.keyring
run dir = $st/run
admin socket = $st/run/\$cluster-\$name.asok
log file = $st/log/\$cluster-\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $st/log/\$cluster.log
crash dir = $st/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# a new map every 50 ms, not every second: RGW makes its pools (a map each) in 2 s instead of 9
paxos propose interval = 0.05
paxos min wait = 0.01
[mon]
mon data = $st/mon
keyring = $st/mon/keyring
[osd]
osd data = $st/osd
keyring = $st/osd/keyring
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd max object name len = 256
osd max object namespace len = 64
[client.rgw.a]
rgw data = $st/rgw
rgw frontends = beast endpoint=$addr:$port
rgw enable usage log = false
rgw dns name =
EOF
  # keys: monitor, admin (for ceph/radosgw-admin), gateway; the admin key is also in the monitor's keyring
  {
    ceph-authtool --create-keyring "$st/mon.keyring" --gen-key -n mon. --cap mon 'allow *'
    ceph-authtool --create-keyring "$st/ceph.client.admin.keyring" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *'
    ceph-authtool --create-keyring "$st/ceph.client.rgw.a.keyring" --gen-key -n client.rgw.a \
      --cap mon 'allow rw' --cap osd 'allow rwx'
    ceph-authtool "$st/mon.keyring" --import-keyring "$st/ceph.client.admin.keyring"
    ceph-authtool "$st/mon.keyring" --import-keyring "$st/ceph.client.rgw.a.keyring"
    monmaptool --create --addv a '[v2:127.0.0.1:3300]' --fsid "$fsid" "$st/monmap"
  } >> "$st/log/mkfs.out"
  in_ns "$ns" ceph-mon -c "$st/ceph.conf" --mkfs -i a --monmap "$st/monmap" --keyring "$st/mon.keyring" >> "$st/log/mkfs.out" 2>&1 ||
    { tail -n 20 "$st/log/mkfs.out" >&2; die "ceph-mon --mkfs failed (logs: $st/log)"; }
  start_daemon "$ns" mon ceph-mon -c "$st/ceph.conf" -f -i a
  if ! wait_for "$ns" mon "monitor up" "$end" ceph_cli "$ns" mon stat; then
    tail -n 20 "$st/log/mon.out" "$st/log/ceph-mon.a.log" >&2 || true
    die "the monitor did not come up (logs: $st/log)"
  fi
  # the OSD: registered with the monitor, its store made, its key added, then started
  out=$(ceph_cli "$ns" osd new "$osd_uuid" 2>&1) || die "ceph osd new failed: $out"
  [ "$out" = 0 ] || die "ceph osd new gave id '$out', not 0"
  in_ns "$ns" ceph-osd -c "$st/ceph.conf" --no-mon-config -i 0 --mkfs --mkkey --osd-uuid "$osd_uuid" >> "$st/log/mkfs.out" 2>&1 ||
    { tail -n 20 "$st/log/mkfs.out" >&2; die "ceph-osd --mkfs failed (logs: $st/log)"; }
  ceph_cli "$ns" auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' -i "$st/osd/keyring" \
    >> "$st/log/mkfs.out" 2>&1 || { tail -n 5 "$st/log/mkfs.out" >&2; die "ceph auth add osd.0 failed"; }
  start_daemon "$ns" osd ceph-osd -c "$st/ceph.conf" -f -i 0
  if ! wait_for "$ns" osd "OSD up" "$end" osd_up "$ns"; then
    tail -n 20 "$st/log/osd.out" "$st/log/ceph-osd.0.log" >&2 || true
    die "the OSD did not come up (logs: $st/log)"
  fi
  start_daemon "$ns" rgw radosgw -c "$st/ceph.conf" -f -n client.rgw.a
  if ! wait_for "$ns" rgw "RGW answers on http://$addr:$port" "$end" rgw_answers "$ns"; then
    tail -n 30 "$st/log/rgw.out" "$st/log/ceph-client.rgw.a.log" >&2 || true
    die "RGW did not come up on $addr:$port (logs: $st/log)"
  fi
  make_user "$ns" "$addr" "$port"
  trap - EXIT
  log "object store up in $((SECONDS - T0))s: http://$addr:$port (keys: $0 env $ns, or $st/s3.env)"
}
up_failed() { # NS: `up` did not finish: stop what it started, keep the state (logs) for a look
  local d
  for d in rgw osd mon; do stop_daemon "$1" "$d"; done
  log "the object store in $1 did not come up; logs kept in $LAB/s3/$1/log (removed by: $0 down $1)"
}
osd_up() { ceph_cli "$1" osd dump | grep -q '^osd\.0 up '; }

make_user() { # NS ADDR PORT: the S3 user; its keys into s3.env, s3.json, s3cfg (0600; never on a command line)
  local ns=$1 addr=$2 port=$3 st=$LAB/s3/$1 json
  json=$(rgw_admin "$ns" user create --uid="$S3_USER" --display-name="mattermost-setup tests" 2>>"$st/log/rgw-admin.out") ||
    { tail -n 20 "$st/log/rgw-admin.out" >&2; die "radosgw-admin user create failed"; }
  ( umask 077
    printf '%s' "$json" | python3 -c '
import json, shlex, sys
st, endpoint, host = sys.argv[1:4]
key = json.load(sys.stdin)["keys"][0]
ak, sk = key["access_key"], key["secret_key"]
env = {"S3_ENDPOINT": endpoint, "S3_ACCESS_KEY": ak, "S3_SECRET_KEY": sk, "S3_REGION": "us-east-1"}
with open(st + "/s3.env", "w") as f:
    f.writelines("%s=%s\n" % (k, shlex.quote(v)) for k, v in env.items())
with open(st + "/s3.json", "w") as f:
    json.dump({"endpoint": endpoint, "access_key": ak, "secret_key": sk, "region": "us-east-1"}, f, indent=2)
with open(st + "/s3cfg", "w") as f:
    f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\n"
            "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n" % (ak, sk, host, host))
' "$st" "http://$addr:$port" "$addr:$port" )
}

cmd_status() { # NS
  local ns=$1 d ok=0
  [ -d "$LAB/s3/$ns" ] || { log "no object store in $ns"; return 1; }
  for d in mon osd rgw; do daemon_pid "$ns" "$d" >/dev/null || { log "$d is not running"; ok=1; }; done
  [ $ok = 0 ] || return 1
  rgw_answers "$ns" || { log "RGW does not answer"; return 1; }
}

cmd_down() { # NS
  local ns=$1 st=$LAB/s3/$1
  [ -d "$st" ] || { log "no object store in $ns"; return 0; }
  stop_daemon "$ns" rgw
  stop_daemon "$ns" osd
  stop_daemon "$ns" mon
  rm -rf --one-file-system -- "$st"
  log "object store in $ns stopped and removed"
}

cmd_ls() { # NS BUCKET: the keys, one a line
  local out
  out=$(s3cmd_ns "$1" ls -r "s3://$2") || die "s3cmd ls s3://$2 failed"
  # lines: DATE TIME SIZE s3://BUCKET/KEY (a key may contain spaces)
  printf '%s\n' "$out" | awk -v p="s3://$2/" 'i = index($0, p) { print substr($0, i + length(p)) }' | sort
}

usage() { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root"
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  up)       [ $# -eq 3 ] || usage; valid_name "$1"
            [[ $2 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "bad address '$2' (an IPv4 address, no prefix)"
            if ! [[ $3 =~ ^[0-9]{1,5}$ ]] || (( $3 < 1 || $3 > 65535 )); then die "bad port '$3'"; fi
            LOG_TAG=$1; cmd_up "$@" ;;
  env)      [ $# -eq 1 ] || usage; valid_name "$1"
            [ -f "$LAB/s3/$1/s3.env" ] || die "no object store in $1"
            cat "$LAB/s3/$1/s3.env" ;;
  mkbucket) [ $# -eq 2 ] || usage; valid_name "$1"; LOG_TAG=$1
            s3cmd_ns "$1" mb "s3://$2" >&2 || die "could not create bucket $2" ;;
  put)      [ $# -eq 4 ] || usage; valid_name "$1"; LOG_TAG=$1
            [ -f "$4" ] || die "no such file: $4"
            s3cmd_ns "$1" put "$4" "s3://$2/$3" >&2 || die "could not upload $4 to s3://$2/$3" ;;
  ls)       [ $# -eq 2 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_ls "$@" ;;
  status)   [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_status "$1" ;;
  down)     [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_down "$1" ;;
  *)        usage ;;
esac
