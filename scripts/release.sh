#!/usr/bin/env bash
# Release artifacts, into dist/:
#   mattermost-setup-VERSION-x86_64-linux   static (musl) binary
#   mattermost-setup-VERSION-aarch64-linux  static (musl) binary
#   mattermost-setup_VERSION-1_amd64.deb / _arm64.deb  (binary, man pages, bash/zsh/fish
#       completions, the answers JSON Schema, README and CHANGELOG)
#   SHA256SUMS
#
#   scripts/release.sh           build dist/ (all or nothing: dist/ is replaced only
#                                when every artifact is built and checked)
#   scripts/release.sh verify    check an existing dist/ (CI runs both): static, <= 6 MB,
#                                --version runs (aarch64 and `plan --answers` under
#                                qemu-user), package contents, SHA256SUMS
#
# Needs: the rustup targets x86_64-unknown-linux-musl and aarch64-unknown-linux-musl,
# musl-gcc (Debian musl-tools), aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu) for ring's
# C code and the link, cargo-deb (`cargo install cargo-deb --locked`). A missing piece
# stops the script before anything is built, naming it and how to get it.
# RELEASE_X86_64_ONLY=1 builds the x86_64 artifacts only (no cross compiler needed).
# The binaries use Cargo's `dist` profile (Cargo.toml), not `release`.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=dist
MAX_BYTES=6000000 # 6 MB
X86=x86_64-unknown-linux-musl
ARM=aarch64-unknown-linux-musl
TARGETS=("$X86" "$ARM")
if [ "${RELEASE_X86_64_ONLY:-}" = 1 ]; then
  TARGETS=("$X86")
fi
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
TARGET_DIR=${CARGO_TARGET_DIR:-target}

die() { echo "release.sh: $*" >&2; exit 1; }
deb_arch() { case $1 in "$X86") echo amd64 ;; "$ARM") echo arm64 ;; esac; }
short() { case $1 in "$X86") echo x86_64-linux ;; "$ARM") echo aarch64-linux ;; esac; }
bin_name() { echo "mattermost-setup-$VERSION-$(short "$1")"; }

# A static executable: ELF without a program interpreter (no dynamic loader).
is_static() {
  local headers dynamic
  headers=$(readelf -lW "$1") && dynamic=$(readelf -dW "$1") || return 1
  ! grep -q 'Requesting program interpreter' <<<"$headers" && ! grep -q '(NEEDED)' <<<"$dynamic"
}

preflight() {
  local missing=() t
  local installed
  installed=$(rustup target list --installed 2>/dev/null || true)
  for t in "${TARGETS[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("rustup target $t (rustup target add $t)")
  done
  command -v musl-gcc >/dev/null || missing+=("musl-gcc (apt-get install musl-tools)")
  if [[ " ${TARGETS[*]} " == *" $ARM "* ]]; then
    command -v aarch64-linux-gnu-gcc >/dev/null ||
      missing+=("aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu), or RELEASE_X86_64_ONLY=1 for the x86_64 artifacts only")
  fi
  cargo deb --version >/dev/null 2>&1 || missing+=("cargo-deb (cargo install cargo-deb --locked)")
  local c
  for c in readelf:binutils gzip:gzip sha256sum:coreutils; do
    command -v "${c%%:*}" >/dev/null || missing+=("${c%%:*} (apt-get install ${c#*:})")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'release.sh: cannot build the release, missing:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

build() {
  preflight
  local out=dist.partial gen="$TARGET_DIR/dist-assets" t start
  rm -rf "$out" "$gen"
  mkdir -p "$out" "$gen"
  start=$(date +%s)
  for t in "${TARGETS[@]}"; do
    echo "release.sh: building $t (profile $PROFILE)" >&2
    cargo build --locked --profile "$PROFILE" --target "$t" --bin mattermost-setup
    local bin="$TARGET_DIR/$t/$PROFILE/mattermost-setup"
    is_static "$bin" || die "$bin is not static (it has a program interpreter or NEEDED libraries)"
    local size
    size=$(stat -c %s "$bin")
    [ "$size" -le "$MAX_BYTES" ] || die "$bin is $size bytes, over the $MAX_BYTES limit"
    cp "$bin" "$out/$(bin_name "$t")"
  done
  echo "release.sh: binaries built in $(( $(date +%s) - start ))s" >&2

  # Man pages, completions and the schema come from the x86_64 binary's own clap and
  # answers definitions (the same on every architecture).
  local host_bin="$TARGET_DIR/$X86/$PROFILE/mattermost-setup"
  "$host_bin" generate man "$gen/man"
  gzip -9n "$gen"/man/*.1
  mkdir -p "$gen/completions"
  "$host_bin" generate completions bash >"$gen/completions/mattermost-setup"
  "$host_bin" generate completions zsh >"$gen/completions/_mattermost-setup"
  "$host_bin" generate completions fish >"$gen/completions/mattermost-setup.fish"
  "$host_bin" generate schema >"$gen/answers.schema.json"
  cmp -s "$gen/answers.schema.json" assets/answers.schema.json ||
    die "assets/answers.schema.json is not what the code generates; run: cargo run -- generate schema > assets/answers.schema.json"
  # The upstream changelog, under the name Debian gives it.
  gzip -9n <CHANGELOG.md >"$gen/changelog.gz"
  # The lintian tags this package keeps on purpose, each with its reason.
  cat >"$gen/lintian-overrides" <<'EOF'
# The binary is a static PIE (musl): it has a dynamic section for its own relocations
# and no NEEDED library, which lintian reads as a shared library without dependencies.
mattermost-setup: shared-library-lacks-prerequisites [usr/bin/mattermost-setup]
# Static on purpose (arm64 links it as a plain static executable, amd64 as a static
# PIE): one binary that starts on every Debian and Ubuntu release, whatever its glibc.
mattermost-setup: statically-linked-binary [usr/bin/mattermost-setup]
# Read-only: it waits for apt's locks (/var/lib/dpkg/lock*) and notices an interrupted
# dpkg run (/var/lib/dpkg/updates) to finish it with dpkg --configure -a; every change
# goes through apt-get and dpkg.
mattermost-setup: uses-dpkg-database-directly [usr/bin/mattermost-setup]
# A static binary depends on nothing; cargo-deb 3.8 writes "Depends:" even when its
# $auto finds no library (src/config.rs, write_control), and dpkg reads it as none.
mattermost-setup: empty-field Depends
# Distributed by the project, not uploaded to Debian: there is no ITP bug to close.
mattermost-setup: initial-upload-closes-no-bugs [usr/share/doc/mattermost-setup/changelog.Debian.gz:1]
EOF
  # The Debian changelog of this native package: one entry pointing at CHANGELOG.md.
  {
    echo "mattermost-setup ($VERSION-1) unstable; urgency=medium"
    echo
    echo "  * Release $VERSION; its changes are in changelog.gz beside this file."
    echo
    echo " -- $(sed -n 's/^maintainer = "\(.*\)"/\1/p' Cargo.toml | head -1)  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
  } >"$gen/changelog"

  for t in "${TARGETS[@]}"; do
    cargo deb --no-build --no-strip --target "$t" --profile "$PROFILE" --output "$out/mattermost-setup_${VERSION}-1_$(deb_arch "$t").deb" >&2
  done
  (cd "$out" && sha256sum -- * >SHA256SUMS)
  rm -rf dist
  mv "$out" dist
  sizes
}

sizes() {
  echo
  echo "| artifact | bytes | MB |"
  echo "|---|---:|---:|"
  local f
  for f in dist/*; do
    [ "$(basename "$f")" = SHA256SUMS ] && continue
    local b
    b=$(stat -c %s "$f")
    printf '| %s | %d | %s |\n' "$(basename "$f")" "$b" "$(awk -v b="$b" 'BEGIN{printf "%.2f", b/1000000}')"
  done
}

# An answers file for `plan`: the README's first example.
EXAMPLE_ANSWERS='{"domain": "chat.example.com"}'

verify() {
  [ -d dist ] || die "no dist/; run scripts/release.sh first"
  local failures=0 t
  fail() { echo "release.sh verify: FAIL: $*" >&2; failures=$((failures + 1)); }
  ok() { echo "release.sh verify: ok: $*" >&2; }
  (cd dist && sha256sum --quiet --check SHA256SUMS) && ok "SHA256SUMS verifies" || fail "SHA256SUMS does not verify"
  local want_files
  want_files=$(ls dist | grep -v '^SHA256SUMS$' | sort)
  [ "$want_files" = "$(awk '{print $2}' dist/SHA256SUMS | sort)" ] || fail "SHA256SUMS does not list exactly the artifacts"
  local answers
  answers=$(mktemp)
  echo "$EXAMPLE_ANSWERS" >"$answers"
  for t in "${TARGETS[@]}"; do
    local bin="dist/$(bin_name "$t")" deb="dist/mattermost-setup_${VERSION}-1_$(deb_arch "$t").deb"
    [ -f "$bin" ] || { fail "$bin missing"; continue; }
    local size
    size=$(stat -c %s "$bin")
    [ "$size" -le "$MAX_BYTES" ] && ok "$bin is $size bytes (<= $MAX_BYTES)" || fail "$bin is $size bytes, over $MAX_BYTES"
    is_static "$bin" && ok "$bin is static ($(file -b "$bin" | cut -d, -f1-2))" || fail "$bin has a program interpreter or NEEDED libraries"
    local run=("$bin")
    if [ "$t" = "$ARM" ]; then
      local qemu
      qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
      [ -n "$qemu" ] || { fail "no qemu-aarch64(-static) to run $bin (apt-get install qemu-user-static)"; continue; }
      run=("$qemu" "$bin")
    fi
    local v
    if v=$("${run[@]}" --version) && [[ $v =~ ^mattermost-setup\ $VERSION\ \(commit\ [0-9a-f]{7,40}|unknown,\ releases\ table\ [0-9]{4}-[0-9]{2}-[0-9]{2}\)$ ]]; then
      ok "$t --version: $v"
    else
      fail "$t --version printed '$v'"
    fi
    if [ "$t" = "$ARM" ]; then
      local plan
      if plan=$("${run[@]}" plan --answers "$answers" 2>&1) && grep -q 'chat.example.com' <<<"$plan"; then
        ok "$t plan --answers under qemu ($(wc -l <<<"$plan") lines)"
      else
        fail "$t plan --answers under qemu: $plan"
      fi
    fi
    [ -f "$deb" ] || { fail "$deb missing"; continue; }
    local listing arch
    listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
    arch=$(dpkg-deb -f "$deb" Architecture)
    [ "$arch" = "$(deb_arch "$t")" ] && ok "$deb: Architecture $arch" || fail "$deb: Architecture $arch"
    local p
    for p in ./usr/bin/mattermost-setup \
      ./usr/share/man/man1/mattermost-setup.1.gz \
      ./usr/share/man/man1/mattermost-setup-install.1.gz \
      ./usr/share/bash-completion/completions/mattermost-setup \
      ./usr/share/zsh/vendor-completions/_mattermost-setup \
      ./usr/share/fish/vendor_completions.d/mattermost-setup.fish \
      ./usr/share/mattermost-setup/answers.schema.json \
      ./usr/share/doc/mattermost-setup/README.md \
      ./usr/share/doc/mattermost-setup/changelog.gz \
      ./usr/share/doc/mattermost-setup/changelog.Debian.gz \
      ./usr/share/doc/mattermost-setup/copyright; do
      grep -qx "$p" <<<"$listing" || fail "$deb lacks $p"
    done
    # The packaged binary is the released one.
    local tmp
    tmp=$(mktemp -d)
    dpkg-deb -x "$deb" "$tmp"
    cmp -s "$tmp/usr/bin/mattermost-setup" "$bin" && ok "$deb holds $bin" || fail "$deb's binary differs from $bin"
    rm -rf "$tmp"
    local depends
    depends=$(dpkg-deb -f "$deb" Depends)
    [ -z "$depends" ] && ok "$deb: no Depends (static binary)" || fail "$deb: Depends: $depends"
    if command -v lintian >/dev/null; then
      local tags status=0
      tags=$(lintian --fail-on error,warning "$deb" 2>&1) || status=$?
      tags=$(grep -v 'running with root privileges' <<<"$tags" || true)
      if [ "$status" = 0 ]; then
        ok "$deb: lintian clean${tags:+ ($tags)}"
      else
        fail "$deb: lintian: $tags"
      fi
    else
      fail "lintian is missing (apt-get install lintian)"
    fi
  done
  rm -f "$answers"
  [ "$failures" = 0 ] || die "verify: $failures check(s) failed"
  echo "release.sh verify: all checks passed" >&2
}

case ${1:-build} in
  build) build ;;
  verify) verify ;;
  sizes) sizes ;;
  *) die "usage: scripts/release.sh [build|verify|sizes]" ;;
esac
