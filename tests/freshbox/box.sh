#!/bin/bash
# shellcheck disable=SC2016  # single-quoted `bash -c` scripts expand their own "$1"..., on purpose
# box.sh — throw-away "fresh Debian 11/12/13 server" boxes for the integration tests: systemd-nspawn
# system containers with systemd as PID 1, each in its own network namespace with user-mode
# networking (slirp4netns: eth0 via DHCP, 10.0.2.15, gateway 10.0.2.2; no host loopback, no DNS).
# Runs as root. Nothing is started in, or changed on, the host's own network namespace.
#
#   box.sh check                 can boxes run here? (exit 1 with the reason on stderr)
#   box.sh build                 debootstrap + configure the suite's root once (idempotent; 1-3 min)
#   box.sh start NAME            boot a fresh copy of the suite's root as box NAME, wait for boot + eth0
#   box.sh exec NAME CMD...      bash -c CMD inside as root, clean env; stdin passed; exit code is CMD's
#   box.sh put NAME SRC DST      copy host file SRC to DST inside (mode kept; DST resolved inside)
#   box.sh leader NAME           print the host PID of the box's systemd (PID 1 inside)
#   box.sh serve NAME DIR PORT   static HTTP server for host DIR on 127.0.0.1:PORT in the box's netns
#   box.sh reboot NAME           clean poweroff, boot the same root again (same netns, serve kept)
#   box.sh stop NAME             poweroff, kill helpers, delete netns, delete the copy
#   box.sh stop-all              stop every box of this lab
#   box.sh list                  print the names of this lab's boxes
#   box.sh bridge-up BR          a private Ethernet segment: network namespace BR holding bridge br0
#                                (nothing else in it; idempotent). For several boxes to talk directly.
#   box.sh link NAME BR ADDR/PFX box NAME joins bridge BR as eth1 with ADDR/PFX (e.g. 10.77.0.11/24),
#                                up; a veth pair, the other end in BR (vb-NAME; vb+cksum if NAME is
#                                over 12 characters). Idempotent: eth1 lives
#                                in the box's netns, so it survives `reboot`; `stop` removes it.
#   box.sh host-link NS BR ADDR/PFX  a plain network namespace NS (no box: for host daemons, e.g. s3.sh)
#                                joined to BR as eth1 with ADDR/PFX; lo up. Idempotent.
#   box.sh net-down NS|BR        delete one of this lab's host-link namespaces (s3.sh down first) or
#                                bridges (every link into it goes with it)
#   box.sh stop-all also stops this lab's s3.sh object stores, host-link namespaces and bridges.
#   Only namespaces this lab recorded ($LAB/net/) are ever deleted; an existing foreign one is refused.
#
# Env: FRESHBOX_LAB (/var/tmp/mattermost-setup-freshbox), KEEP_ROOT=1 (stop: keep the copy),
#      FRESHBOX_SUITE (build, start, check: bullseye | bookworm (default) | trixie),
#      FRESHBOX_ROOT (auto|image|dir: a box's root is a copy of an ext4 image, loop-mounted in a
#      private mount namespace (auto, if loop devices work), or a `cp -a` of the rootfs directory),
#      MIRROR (build: Debian mirror; default: read from the host's apt sources),
#      FRESHBOX_DISK_SIZE (build: size of the image's file system, 20G; sparse),
#      FRESHBOX_BOOT_TIMEOUT (120 s), FRESHBOX_STOP_TIMEOUT (60 s).
# Layout: $LAB/rootfs, $LAB/base.img, $LAB/rootfs.ok (bookworm, build complete), the same under
#         $LAB/bullseye/ and $LAB/trixie/ for the other suites; $LAB/ct/NAME.img or $LAB/ct/NAME
#         (the box's root), $LAB/ct/NAME.run (state, suite), $LAB/logs (build.log, build-SUITE.log,
#         NAME.console.log, ...). Boxes of all suites share ct/ and logs/ (names are unique).
#         $LAB/net/BR.bridge, $LAB/net/NS.hostns (bridges and host-link namespaces of this lab).
# A box's file system from the host while it runs: /proc/$(box.sh leader NAME)/root/
# Only stdout output: `exec` (the command's), `leader` and `list`. Diagnostics go to stderr.
set -euo pipefail

LAB=${FRESHBOX_LAB:-/var/tmp/mattermost-setup-freshbox}
BOOT_TIMEOUT=${FRESHBOX_BOOT_TIMEOUT:-120}
DISK_SIZE=${FRESHBOX_DISK_SIZE:-20G}
ROOT_MODE=${FRESHBOX_ROOT:-auto}
STOP_TIMEOUT=${FRESHBOX_STOP_TIMEOUT:-60}
SUITE=${FRESHBOX_SUITE:-bookworm}
case $SUITE in
  bullseye|bookworm|trixie) ;;
  *) echo "box.sh: FRESHBOX_SUITE must be bullseye, bookworm or trixie (not '$SUITE')" >&2; exit 2 ;;
esac
# The same packages exist in all three suites (trixie still has isc-dhcp-client, beside dhcpcd-base).
INCLUDE=systemd-sysv,dbus,libpam-systemd,ca-certificates,iproute2,ifupdown,isc-dhcp-client,curl,less,procps
# Where the suite's root lives: bookworm directly in the lab (the layout from before suites),
# the others in a directory of their own. Boxes (ct/) and logs/ are shared by all suites.
if [ "$SUITE" = bookworm ]; then SDIR=$LAB; BUILD_LOG_FILE=$LAB/logs/build.log
else SDIR=$LAB/$SUITE; BUILD_LOG_FILE=$LAB/logs/build-$SUITE.log; fi
GUEST_HOSTNAME=freshbox
BOX_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BUILD_LOG=""   # set by cmd_build: log() also appends there
LOG_TAG=""

log() {
  local line
  line="[box.sh${LOG_TAG:+ $LOG_TAG} $(date +%T)] $*"
  echo "$line" >&2
  if [ -n "$BUILD_LOG" ]; then echo "$line" >> "$BUILD_LOG"; fi
}
die() { log "ERROR: $*"; exit 1; }

valid_name() { [[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,14}$ ]] || die "bad box name '${1:-}' (1-15 of [A-Za-z0-9-])"; }
st_of() { echo "$LAB/ct/$1.run"; }

# ---- processes: only ever signal a PID we recorded AND whose command line still matches -----
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
recorded_pid() { # PIDFILE STRING... -> prints the PID if it is alive and still the recorded program
  local f=$1 p; shift
  [ -s "$f" ] || return 1
  p=$(cat "$f")
  proc_alive "$p" && proc_matches "$p" "$@" && echo "$p"
}
wait_gone() { # PID SECONDS
  local p=$1 end=$((SECONDS + $2))
  while proc_alive "$p" && (( SECONDS < end )); do sleep 0.2; done
  ! proc_alive "$p"
}
stop_pid() { # PID: SIGTERM, then SIGKILL after 5 s
  local p=$1
  kill "$p" 2>/dev/null || true
  wait_gone "$p" 5 || { kill -KILL "$p" 2>/dev/null || true; wait_gone "$p" 5 || true; }
}
nspawn_pid() { recorded_pid "$(st_of "$1")/nspawn.pid" systemd-nspawn " -M $1 "; }
slirp_pid() { recorded_pid "$(st_of "$1")/slirp.pid" slirp4netns " /run/netns/$1 "; }
serve_pid() { # NAME PORT
  local p
  p=$(recorded_pid "$(st_of "$1")/serve-$2.pid" http.server " --bind 127.0.0.1 $2 ") || return 1
  # in the box's netns (or that netns is gone already: then the command line has to do)
  { [ ! -e "/run/netns/$1" ] || [ "/proc/$p/ns/net" -ef "/run/netns/$1" ]; } && echo "$p"
}
running() { nspawn_pid "$1" >/dev/null; }
leader_of() { # prints the box's PID 1 (host PID), fails if the box is not running
  local l
  running "$1" || { log "box $1 is not running"; return 1; }
  l=$(cat "$(st_of "$1")/leader" 2>/dev/null) || true
  proc_alive "$l" || { log "box $1: PID 1 is gone"; return 1; }
  echo "$l"
}

# Run CMD inside (mount/uts/ipc/net/pid namespaces of the box's PID 1), never with the host's environment.
in_box() { # NAME CMD
  local l
  l=$(leader_of "$1") || return 1
  nsenter -t "$l" -m -u -i -n -p -- /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
    PATH="$BOX_PATH" LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    /bin/bash -c 'cd /root 2>/dev/null || cd /; eval "$1"' bash "$2"
}

# Remove a directory of this lab; first detach anything mounted below it (a killed debootstrap's /proc, /sys).
safe_rm() {
  local d=$1 m
  [ -e "$d" ] || [ -L "$d" ] || return 0
  case $d in "$LAB"/?*) ;; *) die "refusing to remove $d (not under $LAB)" ;; esac
  while read -r m; do
    [ -n "$m" ] && { umount -l "$m" 2>/dev/null || true; }
  done < <(awk -v p="$d/" 'index($5, p) == 1 || $5 == substr(p, 1, length(p) - 1) { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system -- "$d"
}

# ---- host dependencies -----------------------------------------------------------------------
apt_install() {
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$@"
}
ensure_deps() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  command -v systemd-nspawn >/dev/null || need+=(systemd-container)
  command -v slirp4netns >/dev/null || need+=(slirp4netns)
  command -v ip >/dev/null || need+=(iproute2)
  command -v pgrep >/dev/null || need+=(procps)
  host_python >/dev/null 2>&1 || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing host dependencies: ${need[*]}"
    apt_install "${need[@]}" >&2
  fi
}
host_python() { # the host's python3 (for `serve`), preferring the distribution's over pyenv shims
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# ---- host apt sources -> mirror, archive hosts -----------------------------------------------
host_apt_uris() {
  grep -h -E '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null | grep -o -E 'https?://[^] ]+' || true
}
host_mirror() { host_apt_uris | grep -E '/debian/?$' | head -1; }
host_codename() { sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"' || true; }

# ---- build -------------------------------------------------------------------------------------
configure_rootfs() { # ROOT MIRROR
  local r=$1 mirror=$2 hosts h ip pins="" sec
  echo "$GUEST_HOSTNAME" > "$r/etc/hostname"

  # apt: the host's Debian sources (a bookworm host) or the same archive for bookworm;
  # the archive here is a frozen snapshot, hence no Valid-Until/Date checks.
  rm -f "$r/etc/apt/sources.list"
  if [ "$(host_codename)" = "$SUITE" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/debian.sources"
  elif [ "$(host_codename)" = "$SUITE" ] && [ -f /etc/apt/sources.list ] &&
       grep -q -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
    grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list > "$r/etc/apt/sources.list"
  else
    sec=$(host_apt_uris | grep -E '/debian-security/?$' | head -1 || true)
    {
      printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$mirror" "$SUITE" "$SUITE"
      if [ -n "$sec" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
          "$sec" "$SUITE"
      fi
    } > "$r/etc/apt/sources.list.d/debian.sources"
  fi
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' > "$r/etc/apt/apt.conf.d/99freshbox-snapshot"

  # The archive host(s) of the box's sources are pinned to the addresses the host resolves, and the
  # resolver is 127.0.0.1 (nothing listens: lookups fail fast), so the box sends no DNS anywhere.
  hosts=$(grep -h -E '^[[:space:]]*(URIs:|deb[[:space:]])' "$r"/etc/apt/sources.list.d/*.sources "$r/etc/apt/sources.list" \
            2>/dev/null | grep -o -E 'https?://[^]/ ]+' | sed -E 's#^https?://##; s#:[0-9]+$##' | sort -u || true)
  for h in $hosts; do
    ip=$(getent ahostsv4 "$h" | awk 'NR == 1 { print $1 }' || true)
    if [ -n "$ip" ]; then pins+=$(printf '%s\t%s' "$ip" "$h")$'\n'; else log "WARNING: cannot resolve archive host $h"; fi
  done
  cat > "$r/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$GUEST_HOSTNAME.localdomain $GUEST_HOSTNAME
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
$pins
EOF
  grep -q '^supersede domain-name-servers' "$r/etc/dhcp/dhclient.conf" ||
    echo 'supersede domain-name-servers 127.0.0.1;' >> "$r/etc/dhcp/dhclient.conf"
  rm -f "$r/etc/resolv.conf"
  echo 'nameserver 127.0.0.1' > "$r/etc/resolv.conf"

  # networking like a classic Debian server: ifupdown + dhclient on eth0
  cat > "$r/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
EOF

  # deterministic tests: no apt-daily / unattended runs grabbing the dpkg lock after boot
  ln -sf /dev/null "$r/etc/systemd/system/apt-daily.timer"
  ln -sf /dev/null "$r/etc/systemd/system/apt-daily-upgrade.timer"

  # one stable machine-id for all boxes (not a "first boot")
  if [ ! -s "$r/etc/machine-id" ] || grep -q uninitialized "$r/etc/machine-id"; then
    tr -d '-' < /proc/sys/kernel/random/uuid > "$r/etc/machine-id"
  fi
  # debootstrap's downloaded .debs are not part of a fresh server (and would slow every copy)
  rm -f "$r"/var/cache/apt/archives/*.deb
  log "configured $r (archive pins: $(echo "$pins" | tr '\t\n' ' '))"
}

# The rootfs as an ext4 file system image: a box's copy of it is one sparse file (about a second
# here, where creating 11,000 files with cp -a takes 2-8 s), and its root is a real ext4 of its own.
make_image() {
  local img=$SDIR/base.img t0=$SECONDS
  rm -f "$img" "$img.new"
  if ! command -v mkfs.ext4 >/dev/null; then log "no mkfs.ext4: boxes will use cp -a copies"; return 0; fi
  truncate -s "$DISK_SIZE" "$img.new"
  if mkfs.ext4 -q -F -L freshbox -d "$SDIR/rootfs" "$img.new" >> "$BUILD_LOG" 2>&1; then
    mv "$img.new" "$img"
    log "image $img ready in $((SECONDS - t0))s ($DISK_SIZE, $(du -h "$img" | cut -f1) used)"
  else
    rm -f "$img.new"
    log "WARNING: mkfs.ext4 -d failed (see $BUILD_LOG): boxes will use cp -a copies"
  fi
}

cmd_build() {
  mkdir -p "$LAB/logs" "$LAB/ct" "$SDIR"
  BUILD_LOG=$BUILD_LOG_FILE
  [ -f "$SDIR/rootfs.ok" ] && { BUILD_LOG=""; return 0; }
  exec 9> "$SDIR/build.lock"
  flock 9   # parallel test processes: one builds, the others wait here
  if [ -f "$SDIR/rootfs.ok" ]; then BUILD_LOG=""; log "rootfs was built meanwhile"; return 0; fi
  local t0=$SECONDS new=$SDIR/rootfs.new name mirror
  : > "$BUILD_LOG"
  ensure_deps
  mirror=${MIRROR:-$(host_mirror)}
  [ -n "$mirror" ] || die "no Debian mirror in the host's apt sources; set MIRROR"
  log "debootstrap $SUITE from $mirror -> $new (log: $BUILD_LOG)"
  safe_rm "$new"
  # private mount namespace: whatever debootstrap mounts (proc, sys) vanishes with it, even if killed
  if ! unshare --mount --propagation private -- \
       debootstrap --include="$INCLUDE" "$SUITE" "$new" "$mirror" >> "$BUILD_LOG" 2>&1; then
    tail -n 25 "$BUILD_LOG" >&2
    die "debootstrap failed (see $BUILD_LOG)"
  fi
  log "debootstrap done after $((SECONDS - t0))s"
  configure_rootfs "$new" "$mirror"

  # First boot of the pristine root: apt-get update once, so boxes don't each pay for it
  # (and it proves that a booted box reaches the archive).
  name=fbxb$$
  LOG_TAG=$name
  mkdir -p "$(st_of "$name")"
  echo "$new" > "$(st_of "$name")/root"
  net_up "$name"
  if ! boot "$name" "$new" || ! in_box "$name" 'apt-get update' >> "$BUILD_LOG" 2>&1 < /dev/null ||
     ! in_box "$name" 'apt-cache policy postgresql | grep -q "Candidate: [0-9]"' < /dev/null; then
    tail -n 25 "$BUILD_LOG" >&2
    poweroff_box "$name" || true
    cg_remove "$name"
    net_down "$name"
    rm -rf "$(st_of "$name")"
    die "first boot / apt-get update in the new rootfs failed (see $BUILD_LOG)"
  fi
  poweroff_box "$name"
  cg_remove "$name"
  net_down "$name"
  rm -rf "$(st_of "$name")"
  LOG_TAG=""
  # leave no traces of that boot: empty journal, no DHCP lease
  rm -rf "$new"/var/log/journal/*/ "$new"/var/lib/dhcp/*.leases "$new"/root/.bash_history
  rm -f "$new"/var/cache/apt/archives/*.deb

  safe_rm "$SDIR/rootfs"
  mv "$new" "$SDIR/rootfs"
  make_image
  {
    echo "built $(date -u +%FT%TZ) from $mirror"
    echo "suite $SUITE, include $INCLUDE"
  } > "$SDIR/rootfs.ok"
  log "$SUITE rootfs ready after $((SECONDS - t0))s ($(du -sh "$SDIR/rootfs" | cut -f1))"
  BUILD_LOG=""
}

# ---- network namespace + slirp4netns -------------------------------------------------------------
net_up() { # NAME: create the netns and start slirp4netns unless both are there
  local name=$1 st p
  st=$(st_of "$name")
  [ -e "/run/netns/$name" ] || ip netns add "$name"
  ip -n "$name" link set lo up
  slirp_pid "$name" >/dev/null && return 0
  rm -f "$st/slirp.sock"
  # eth0 is created down and unconfigured: the box's own ifupdown/dhclient brings it up (DHCP).
  # --disable-host-loopback: 10.0.2.2 does not reach the host's 127.0.0.1; --disable-dns: no 10.0.2.3.
  setsid slirp4netns --netns-type=path --disable-host-loopback --disable-dns --api-socket "$st/slirp.sock" \
    "/run/netns/$name" eth0 >> "$LAB/logs/$name.slirp.log" 2>&1 < /dev/null &
  p=$!
  echo "$p" > "$st/slirp.pid"
  for _ in $(seq 100); do
    [ -S "$st/slirp.sock" ] && ip -n "$name" link show eth0 >/dev/null 2>&1 && return 0
    proc_alive "$p" || break
    sleep 0.1
  done
  tail -n 5 "$LAB/logs/$name.slirp.log" >&2 || true
  die "slirp4netns did not come up for $name"
}
net_down() { # NAME: kill serve servers and slirp4netns, delete the netns
  local name=$1 st f p port
  st=$(st_of "$name")
  for f in "$st"/serve-*.pid; do
    [ -e "$f" ] || continue
    port=${f##*/serve-}; port=${port%.pid}
    if p=$(serve_pid "$name" "$port"); then stop_pid "$p"; fi
    rm -f "$f"
  done
  if p=$(slirp_pid "$name"); then stop_pid "$p"; fi
  rm -f "$st/slirp.pid" "$st/slirp.sock"
  if [ -e "/run/netns/$name" ]; then ip netns delete "$name" 2>/dev/null || log "WARNING: could not delete netns $name"; fi
}

# ---- cgroups: each box in its own cgroup ------------------------------------------------------------
# With --keep-unit, nspawn puts the container into "payload" below ITS OWN cgroup; two boxes started
# from the same cgroup would share one tree (one box's systemd managing the other's unit cgroups).
# So nspawn is started from a per-box cgroup, in the cgroup2 and the name=systemd hierarchies.
cg_dirs() { # NAME -> per-box cgroup directories below the caller's cgroups
  awk -v name="$1" '
    FNR == NR {   # /proc/self/cgroup: ID:CONTROLLERS:PATH
      i = index($0, ":"); rest = substr($0, i + 1); j = index(rest, ":")
      id = substr($0, 1, i - 1); ctl = substr(rest, 1, j - 1); path = substr(rest, j + 1)
      if (id == "0" && ctl == "") v2 = path
      if (ctl == "name=systemd") sd = path
      next
    }
    {             # /proc/self/mountinfo
      for (i = 7; i <= NF; i++) if ($i == "-") break
      fstype = $(i + 1); opts = $(i + 3); root = $4; mp = $5; p = ""
      if (fstype == "cgroup2") p = v2
      else if (fstype == "cgroup" && opts ~ /(^|,)name=systemd(,|$)/) p = sd
      if (p == "" || seen[$3]++) next
      if (root != "/") { if (index(p, root) != 1) next; p = substr(p, length(root) + 1) }
      sub(/\/+$/, "", p)
      print mp p "/mattermost-setup-freshbox/" name
    }' /proc/self/cgroup /proc/self/mountinfo
}
cg_prepare() { # NAME: create the box's cgroups, record them; prints the usable ones
  local name=$1 st d
  st=$(st_of "$name")
  while read -r d; do
    [ -n "$d" ] || continue
    echo "$d" >> "$st/cgroups"
    if mkdir -p "$d" 2>/dev/null && [ -w "$d/cgroup.procs" ]; then echo "$d"; else log "WARNING: cannot create cgroup $d"; fi
  done < <(cg_dirs "$name")
  if [ -f "$st/cgroups" ]; then sort -u -o "$st/cgroups" "$st/cgroups"; fi
}
cg_remove() { # NAME: remove the box's (empty) cgroups, and the common parent once unused
  local st d
  st=$(st_of "$1")
  [ -f "$st/cgroups" ] || return 0
  while read -r d; do
    if [ -z "$d" ] || [ ! -d "$d" ]; then continue; fi
    case $d in */mattermost-setup-freshbox/"$1") ;; *) continue ;; esac
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    if [ -d "$d" ]; then log "WARNING: cgroup $d still in use"; else rmdir "${d%/*}" 2>/dev/null || true; fi
  done < "$st/cgroups"
}

# ---- boot / poweroff -----------------------------------------------------------------------------
boot() { # NAME ROOT [IMAGE]: start systemd-nspawn on directory ROOT (IMAGE mounted there, if given),
         # wait for PID 1, for the end of boot and for eth0's address
  local name=$1 root=$2 image=${3:-} st np l="" state="" addr="" end t0=$SECONDS d cgs=() nspawn=()
  st=$(st_of "$name")
  end=$((SECONDS + BOOT_TIMEOUT))
  # --keep-unit --register=no: no host systemd/dbus/machined involved.
  # --network-namespace-path: never boot it in the host's netns (its dhclient would run on the host's eth0).
  # CAP_NET_ADMIN: nspawn grants it only with its own network modes; ifup/dhclient need it.
  # --resolv-conf=off --timezone=off: the box keeps its own /etc files. --link-journal=no: nothing on the host.
  mapfile -t cgs < <(cg_prepare "$name")
  (
    for d in "${cgs[@]}"; do echo "$BASHPID" > "$d/cgroup.procs" || echo "WARNING: could not enter cgroup $d" >&2; done
    nspawn=(systemd-nspawn --quiet --keep-unit --register=no --settings=no
      --network-namespace-path="/run/netns/$name" --capability=CAP_NET_ADMIN
      --resolv-conf=off --timezone=off --link-journal=no
      -D "$root" -M "$name" -b --console=read-only)
    if [ -n "$image" ]; then
      # the image is loop-mounted in a mount namespace of its own: nothing is mounted on the host, and
      # the mount and its (autoclear) loop device go away with the box, even if everything is killed
      exec setsid unshare --mount --propagation private -- /bin/sh -c \
        'mount -o loop,noinit_itable "$1" "$2" || exit 1; shift 2; exec "$@"' sh "$image" "$root" "${nspawn[@]}"
    fi
    exec setsid "${nspawn[@]}"
  ) >> "$LAB/logs/$name.console.log" 2>&1 < /dev/null &
  np=$!
  echo "$np" > "$st/nspawn.pid"
  rm -f "$st/leader"
  while (( SECONDS < end )); do
    l=$(pgrep -P "$np" -x systemd | head -1 || true)
    [ -n "$l" ] && break
    proc_alive "$np" || break
    sleep 0.1
  done
  if [ -z "$l" ]; then
    tail -n 20 "$LAB/logs/$name.console.log" >&2 || true
    log "the box's PID 1 did not start"; return 1
  fi
  echo "$l" > "$st/leader"
  # nspawn's lock file for this root (/run/systemd/nspawn/locks/inode-DEV:INO), removed on stop if left over
  stat -L -c 'inode-%d:%i' "/proc/$l/root/" > "$st/nspawn.lock" 2>/dev/null || true
  # PID 1 needs a moment before systemctl can talk to it; then --wait blocks until boot has finished
  while (( SECONDS < end )); do
    state=$(timeout $((end - SECONDS + 1)) nsenter -t "$l" -m -u -i -n -p -- /usr/bin/env -i PATH="$BOX_PATH" \
            systemctl is-system-running --wait 2>/dev/null < /dev/null || true)
    case $state in running|degraded|maintenance|stopping) break ;; esac
    proc_alive "$l" || break
    sleep 0.2
  done
  case $state in
    running) ;;
    degraded)
      log "boot finished DEGRADED; failed units:"
      in_box "$name" 'systemctl --failed --no-legend --plain' < /dev/null >&2 || true ;;
    *)
      tail -n 30 "$LAB/logs/$name.console.log" >&2 || true
      log "boot did not finish (state '${state:-none}' after $((SECONDS - t0))s)"; return 1 ;;
  esac
  while (( SECONDS < end )); do
    addr=$(ip -n "$name" -4 -o addr show dev eth0 scope global 2>/dev/null | awk '{ print $4; exit }' || true)
    [ -n "$addr" ] && break
    sleep 0.2
  done
  if [ -z "$addr" ]; then
    # dhclient gives up after about 30 s without an offer, and slirp4netns can be that slow
    # to answer on a loaded machine (seen once, a bullseye box in a full test run): ask once
    # more, within a deadline of its own, before calling the box broken.
    log "eth0 has no address yet: asking DHCP once more"
    in_box "$name" 'timeout 60 ifdown --force eth0; timeout 60 ifup eth0' < /dev/null >&2 || true
    addr=$(ip -n "$name" -4 -o addr show dev eth0 scope global 2>/dev/null | awk '{ print $4; exit }' || true)
  fi
  if [ -z "$addr" ]; then
    in_box "$name" 'systemctl status networking --no-pager; ip addr' < /dev/null >&2 || true
    log "eth0 got no address"; return 1
  fi
  log "up after $((SECONDS - t0))s: pid1=$l state=$state eth0=$addr"
}

leader_pid() { # NAME: the recorded PID 1 of the box, if it is still that process (its netns is the box's)
  local p
  p=$(cat "$(st_of "$1")/leader" 2>/dev/null) || return 1
  proc_alive "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] &&
    [ -e "/run/netns/$1" ] && [ "/proc/$p/ns/net" -ef "/run/netns/$1" ] && echo "$p"
}
poweroff_box() { # NAME: clean poweroff; after STOP_TIMEOUT: SIGTERM to nspawn, then SIGKILL
  local name=$1 np="" l="" t0=$SECONDS
  np=$(nspawn_pid "$name") || np=""
  l=$(leader_pid "$name") || l=""
  if [ -z "$np" ] && [ -z "$l" ]; then rm -f "$(st_of "$name")/leader"; return 0; fi
  if [ -n "$l" ]; then
    timeout 20 nsenter -t "$l" -m -u -i -n -p -- /usr/bin/env -i PATH="$BOX_PATH" systemctl poweroff \
      < /dev/null > /dev/null 2>&1 || kill -s RTMIN+4 "$l" 2>/dev/null || true
  fi
  # wait for nspawn (it exits when PID 1 does) or, if nspawn is gone already, for PID 1 itself
  if ! wait_gone "${np:-$l}" "$STOP_TIMEOUT"; then
    log "no clean poweroff after ${STOP_TIMEOUT}s; terminating the box"
    if [ -n "$np" ]; then kill "$np" 2>/dev/null || true; wait_gone "$np" 10 || true; fi
    if [ -n "$l" ] && proc_alive "$l"; then kill -KILL "$l" 2>/dev/null || true; fi   # ends its whole PID namespace
    if [ -n "$np" ] && ! wait_gone "$np" 5; then kill -KILL "$np" 2>/dev/null || true; wait_gone "$np" 5 || true; fi
  fi
  if [ -n "$l" ] && ! wait_gone "$l" 5; then kill -KILL "$l" 2>/dev/null || true; wait_gone "$l" 5 || true; fi
  rm -f "$(st_of "$name")/leader"
  log "powered off after $((SECONDS - t0))s"
}

# ---- serve ------------------------------------------------------------------------------------------
serve_answers() { # NAME PORT: probe from inside the netns
  timeout 3 nsenter --net="/run/netns/$1" -- bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null
}
serve_start() { # NAME DIR PORT
  local name=$1 dir=$2 port=$3 st p py
  st=$(st_of "$name")
  py=$(host_python) || die "python3 is needed for serve"
  if p=$(serve_pid "$name" "$port"); then stop_pid "$p"; fi
  setsid nsenter --net="/run/netns/$name" -- /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
    "$py" -u -m http.server --bind 127.0.0.1 "$port" --directory "$dir" \
    >> "$LAB/logs/$name.serve-$port.log" 2>&1 < /dev/null &
  p=$!
  echo "$p" > "$st/serve-$port.pid"
  printf '%s\n' "$dir" > "$st/serve-$port.dir"
  for _ in $(seq 100); do
    serve_answers "$name" "$port" && return 0
    proc_alive "$p" || break
    sleep 0.1
  done
  tail -n 5 "$LAB/logs/$name.serve-$port.log" >&2 || true
  die "HTTP server for $dir on 127.0.0.1:$port (netns $name) did not come up"
}
cmd_serve() { # NAME DIR PORT
  local name=$1 dir=$2 port=$3
  if ! [[ $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then die "bad port '$port'"; fi
  [ -d "$dir" ] || die "no such directory: $dir"
  dir=$(cd "$dir" && pwd -P)
  if [ ! -d "$(st_of "$name")" ] || [ ! -e "/run/netns/$name" ]; then die "box $name is not started"; fi
  serve_start "$name" "$dir" "$port"
  log "serving $dir on 127.0.0.1:$port inside $name"
}

# ---- private bridges between boxes ----------------------------------------------------------------
# A bridge is a network namespace of its own holding br0 (nothing changes in the host's own network
# namespace); a box (or a host-link namespace) joins it with a veth pair: eth1 in its netns, the
# other end enslaved to br0 in the bridge's. Recorded in $LAB/net/ BEFORE the namespace is created,
# so stop-all removes a half-made one, and only those: a namespace of that name that the lab did not
# record is someone else's and refused.
BRIDGE_DEV=br0
valid_cidr() {
  if ! [[ ${1:-} =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
     (( BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255 || BASH_REMATCH[3] > 255 || BASH_REMATCH[4] > 255 ||
        BASH_REMATCH[5] < 1 || BASH_REMATCH[5] > 32 )); then
    die "bad address '${1:-}' (an IPv4 address with its prefix length, e.g. 10.77.0.11/24)"
  fi
}
net_kind() { # NAME -> bridge | hostns | box | "" (what this lab made under that name)
  if [ -f "$LAB/net/$1.bridge" ]; then echo bridge
  elif [ -f "$LAB/net/$1.hostns" ]; then echo hostns
  elif [ -d "$(st_of "$1")" ]; then echo box
  fi
}
veth_end() { # NS -> the bridge-side end of NS's link: unique per NS, at most 15 characters
  if [ ${#1} -le 12 ]; then echo "vb-$1"; else echo "vb$(printf '%s' "$1" | cksum | cut -d' ' -f1)"; fi
}
claim_ns() { # NAME KIND: record NAME as this lab's KIND namespace (refused if it is anything else)
  local name=$1 kind=$2 k
  k=$(net_kind "$name")
  if [ -z "$k" ]; then
    [ ! -e "/run/netns/$name" ] || die "network namespace $name exists already (not this lab's); pick another name"
    mkdir -p "$LAB/net"
    date -u +%FT%TZ > "$LAB/net/$name.$kind"
  elif [ "$k" != "$kind" ]; then
    die "$name is a $k of this lab, not a $kind"
  fi
  [ -e "/run/netns/$name" ] || ip netns add "$name"
  ip -n "$name" link set lo up
}
cmd_bridge_up() { # BR
  local br=$1
  claim_ns "$br" bridge
  ip -n "$br" link show "$BRIDGE_DEV" >/dev/null 2>&1 || ip -n "$br" link add "$BRIDGE_DEV" type bridge
  ip -n "$br" link set "$BRIDGE_DEV" up
  log "bridge $BRIDGE_DEV up in network namespace $br"
}
link_into() { # NS BR ADDR/PFX: eth1 in NS, its peer enslaved to br0 in BR; left alone if it is so already
  local ns=$1 br=$2 addr=$3 end l1 l2 idx cur
  if [ "$(net_kind "$br")" != bridge ] || [ ! -e "/run/netns/$br" ] || ! ip -n "$br" link show "$BRIDGE_DEV" >/dev/null 2>&1; then
    die "no bridge $br in this lab; first: $0 bridge-up $br"
  fi
  [ -e "/run/netns/$ns" ] || die "no network namespace $ns"
  end=$(veth_end "$ns")
  l1=$(ip -n "$ns" -o link show dev eth1 2>/dev/null) || l1=""
  l2=$(ip -n "$br" -o link show dev "$end" 2>/dev/null) || l2=""
  idx=${l2%%:*}
  cur=$(ip -n "$ns" -4 -o addr show dev eth1 2>/dev/null | awk '{ print $4 }' | tr '\n' ' ') || cur=""
  if [ -n "$l1" ] && [ -n "$l2" ] && [[ $l1 == *" eth1@if$idx: "* ]] && [[ $l2 == *" master $BRIDGE_DEV "* ]] &&
     [[ $l1 =~ [\<,]UP[,\>] ]] && [[ $l2 =~ [\<,]UP[,\>] ]] && [ "$cur" = "$addr " ]; then
    log "$ns is linked to $br already (eth1 $addr)"
    return 0
  fi
  # anything else (a half-made link, another address, a link to another bridge): made anew
  if [ -n "$l1" ]; then ip -n "$ns" link del eth1; fi
  if ip -n "$br" link show dev "$end" >/dev/null 2>&1; then ip -n "$br" link del "$end"; fi
  ip -n "$br" link add "$end" type veth peer name eth1 netns "$ns"
  ip -n "$br" link set "$end" master "$BRIDGE_DEV" up
  ip -n "$ns" addr add "$addr" dev eth1
  ip -n "$ns" link set eth1 up
  log "$ns linked to $br: eth1 $addr (bridge port $end)"
}
cmd_link() { # NAME BR ADDR/PFX
  if [ "$(net_kind "$1")" != box ] || [ ! -e "/run/netns/$1" ]; then die "box $1 is not started"; fi
  link_into "$1" "$2" "$3"
}
cmd_host_link() { # NS BR ADDR/PFX
  [ "$(net_kind "$2")" = bridge ] || die "no bridge $2 in this lab; first: $0 bridge-up $2"
  claim_ns "$1" hostns
  link_into "$1" "$2" "$3"
}
cmd_net_down() { # NS|BR
  local name=$1 kind p
  kind=$(net_kind "$name")
  case $kind in
    hostns)
      if [ -d "$LAB/s3/$name" ]; then bash "$(dirname "$0")/s3.sh" down "$name" || log "WARNING: s3.sh down $name failed"; fi
      p=$(ip netns pids "$name" 2>/dev/null | tr '\n' ' ') || p=""
      [ -z "$p" ] || log "WARNING: processes still in network namespace $name (left alone): $p" ;;
    bridge) ;;
    box) die "$name is a box: $0 stop $name" ;;
    *) log "no bridge or host-link namespace $name in this lab"; return 0 ;;
  esac
  if [ -e "/run/netns/$name" ]; then
    # the links first, at once (a deleted namespace's devices go later, in the kernel's own time)
    ip -n "$name" -o link show type veth 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
      while read -r p; do ip -n "$name" link del "$p" 2>/dev/null || true; done
    ip netns delete "$name" || die "could not delete network namespace $name"
  fi
  rm -f -- "$LAB/net/$name.$kind"
  log "deleted $kind $name"
}

# ---- commands ---------------------------------------------------------------------------------------
cmd_check() {
  local why=()
  [ "$(uname -s)" = Linux ] || why+=("not Linux")
  [ "$(id -u)" = 0 ] || why+=("not root (uid $(id -u))")
  command -v nsenter >/dev/null && command -v unshare >/dev/null && command -v flock >/dev/null ||
    why+=("util-linux nsenter/unshare/flock missing")
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    unshare --net --mount --pid --fork true 2>/dev/null || why+=("cannot create namespaces (unshare --net --mount --pid failed: unprivileged container?)")
  fi
  [ -c /dev/net/tun ] || why+=("/dev/net/tun missing (slirp4netns needs it)")
  if [ ! -f "$SDIR/rootfs.ok" ]; then
    [ -n "${MIRROR:-$(host_mirror)}" ] || why+=("no Debian mirror in the host's apt sources (set MIRROR)")
    command -v debootstrap >/dev/null || command -v apt-get >/dev/null || why+=("no debootstrap and no apt-get")
  fi
  command -v systemd-nspawn >/dev/null && command -v slirp4netns >/dev/null || command -v apt-get >/dev/null ||
    why+=("no systemd-nspawn/slirp4netns and no apt-get to install them")
  if [ ${#why[@]} -gt 0 ]; then
    printf 'freshbox unavailable: %s\n' "${why[@]}" >&2
    return 1
  fi
}

use_image() {
  case $ROOT_MODE in
    dir) return 1 ;;
    image) if [ ! -f "$SDIR/base.img" ] || [ ! -e /dev/loop-control ]; then
             die "FRESHBOX_ROOT=image: no $SDIR/base.img or no loop devices"
           fi ;;
    auto) [ -f "$SDIR/base.img" ] && [ -e /dev/loop-control ] ;;
    *) die "FRESHBOX_ROOT must be auto, image or dir" ;;
  esac
}

cmd_start() { # NAME
  local name=$1 st ct t0=$SECONDS
  st=$(st_of "$name"); ct=$LAB/ct/$name
  [ -f "$SDIR/rootfs.ok" ] || die "no $SUITE rootfs; run: FRESHBOX_SUITE=$SUITE $0 build"
  ensure_deps
  if [ -d "$st" ] || [ -e "$ct" ] || [ -e "$ct.img" ]; then
    log "stale box $name found, removing it first"
    KEEP_ROOT=0 cmd_stop "$name"
  fi
  case $(net_kind "$name") in bridge|hostns) die "$name is a $(net_kind "$name") of this lab; pick another name" ;; esac
  # a netns of that name without our state is not ours (another lab, another tool): leave it alone
  [ ! -e "/run/netns/$name" ] || die "network namespace $name exists already (not this lab's); pick another name"
  find "$LAB/logs" -maxdepth 1 -type f -name '*.log' ! -name 'build*.log' -mtime +7 -delete 2>/dev/null || true
  mkdir -p "$st" "$LAB/logs"
  : > "$LAB/logs/$name.console.log"
  echo "$ct" > "$st/root"
  echo "$SUITE" > "$st/suite"
  if use_image; then
    echo "$ct.img" > "$st/image"
    mkdir "$ct"   # mount point only: on the host it stays empty
    cp --sparse=always "$SDIR/base.img" "$ct.img"
  else
    cp -a --reflink=auto "$SDIR/rootfs" "$ct"
  fi
  log "$SUITE root copied in $((SECONDS - t0))s"
  net_up "$name"
  boot "$name" "$ct" "$(cat "$st/image" 2>/dev/null || true)" ||
    die "box $name failed to boot (console: $LAB/logs/$name.console.log); clean up with: $0 stop $name"
}

cmd_reboot() { # NAME
  local name=$1 st root f port dir t0=$SECONDS
  st=$(st_of "$name")
  [ -d "$st" ] || die "box $name is not started"
  root=$(cat "$st/root")
  poweroff_box "$name"
  net_up "$name"   # same netns; restarts slirp4netns only if it died
  boot "$name" "$root" "$(cat "$st/image" 2>/dev/null || true)" ||
    die "box $name failed to boot again (console: $LAB/logs/$name.console.log)"
  for f in "$st"/serve-*.dir; do
    [ -e "$f" ] || continue
    port=${f##*/serve-}; port=${port%.dir}
    dir=$(cat "$f")
    if ! serve_pid "$name" "$port" >/dev/null || ! serve_answers "$name" "$port"; then
      log "restarting HTTP server on port $port"
      serve_start "$name" "$dir" "$port"
    fi
  done
  log "rebooted in $((SECONDS - t0))s"
}

cmd_stop() { # NAME
  local name=$1 st ct
  st=$(st_of "$name"); ct=$LAB/ct/$name
  if [ ! -d "$st" ] && [ ! -e "$ct" ] && [ ! -e "$ct.img" ]; then log "no box $name"; return 0; fi
  if [ -d "$st" ]; then
    poweroff_box "$name"
    cg_remove "$name"
    net_down "$name"   # only for boxes we have state for: never delete a netns we did not create
  fi
  # what nspawn leaves behind when it is killed: its lock files and an empty propagation directory
  rm -f -- "$LAB/ct/.#$name.lck"
  if [ -s "$st/nspawn.lock" ]; then rm -f -- "/run/systemd/nspawn/locks/$(cat "$st/nspawn.lock")"; fi
  rmdir "/run/systemd/nspawn/propagate/$name" 2>/dev/null || true
  if [ "${KEEP_ROOT:-0}" = 1 ]; then
    log "kept the root: $ct$([ -e "$ct.img" ] && echo " (image $ct.img: mount -o loop,ro to look inside)")"
  else
    safe_rm "$ct"
    rm -f -- "$ct.img"
  fi
  rm -rf "$st"
}

cmd_list() {
  local d
  for d in "$LAB"/ct/*.run; do
    [ -d "$d" ] || continue
    d=${d##*/}; echo "${d%.run}"
  done
}

cmd_stop_all() {
  local d n
  local -A seen=()
  # object stores first (s3.sh up may have put one into a box's namespace as well)
  for d in "$LAB"/s3/*/; do
    [ -d "$d" ] || continue
    n=${d%/}; n=${n##*/}
    LOG_TAG=$n
    bash "$(dirname "$0")/s3.sh" down "$n" || log "WARNING: s3.sh down $n failed"
  done
  for d in "$LAB"/ct/*; do
    [ -e "$d" ] || continue
    n=${d##*/}; n=${n%.run}; n=${n%.img}
    [[ $n =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,14}$ ]] || continue
    [ -z "${seen[$n]:-}" ] || continue
    seen[$n]=1
    LOG_TAG=$n
    cmd_stop "$n"
  done
  # then the host-link namespaces and the bridges (what is linked into a bridge goes with it)
  for d in "$LAB"/net/*.hostns "$LAB"/net/*.bridge; do
    [ -f "$d" ] || continue
    n=${d##*/}; n=${n%.*}
    [[ $n =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,14}$ ]] || continue
    LOG_TAG=$n
    cmd_net_down "$n"
  done
}

usage() { awk 'NR > 1 && /^#/ { if (!/shellcheck/) print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  check)    cmd_check ;;
  build)    cmd_build >&2 ;;
  start)    [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_start "$1" >&2 ;;
  exec)     [ $# -ge 2 ] || usage; valid_name "$1"
            name=$1; shift
            l=$(leader_of "$name") || exit 1
            exec nsenter -t "$l" -m -u -i -n -p -- /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
              PATH="$BOX_PATH" LANG=C.UTF-8 TERM="${TERM:-dumb}" \
              /bin/bash -c 'cd /root 2>/dev/null || cd /; eval "$1"' bash "$*" ;;
  put)      [ $# -eq 3 ] || usage; valid_name "$1"
            [ -f "$2" ] || die "no such file: $2"
            mode=$(stat -L -c %a "$2"); base=$(basename -- "$2")
            # streamed through nsenter, so DST is resolved inside the box (its symlinks, not the host's);
            # written to a temporary name and renamed, so a running binary can be replaced
            l=$(leader_of "$1") || exit 1
            nsenter -t "$l" -m -u -i -n -p -- /usr/bin/env -i PATH="$BOX_PATH" /bin/bash -c '
              set -e; dst=$1
              if [ -d "$dst" ]; then dst=${dst%/}/$3; fi
              mkdir -p -- "$(dirname -- "$dst")"
              tmp=$(mktemp "$dst.put.XXXXXX")
              trap "rm -f -- \"\$tmp\"" EXIT
              cat > "$tmp"; chmod "$2" -- "$tmp"; mv -f -- "$tmp" "$dst"; trap - EXIT' \
              bash "$3" "$mode" "$base" < "$2" ;;
  leader)   [ $# -eq 1 ] || usage; valid_name "$1"; leader_of "$1" ;;
  serve)    [ $# -eq 3 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_serve "$1" "$2" "$3" >&2 ;;
  reboot)   [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_reboot "$1" >&2 ;;
  stop)     [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_stop "$1" >&2 ;;
  stop-all) cmd_stop_all >&2 ;;
  bridge-up) [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_bridge_up "$1" >&2 ;;
  link)     [ $# -eq 3 ] || usage; valid_name "$1"; valid_name "$2"; valid_cidr "$3"; LOG_TAG=$1; cmd_link "$@" >&2 ;;
  host-link) [ $# -eq 3 ] || usage; valid_name "$1"; valid_name "$2"; valid_cidr "$3"; LOG_TAG=$1; cmd_host_link "$@" >&2 ;;
  net-down) [ $# -eq 1 ] || usage; valid_name "$1"; LOG_TAG=$1; cmd_net_down "$1" >&2 ;;
  list)     cmd_list ;;
  *)        usage ;;
esac
