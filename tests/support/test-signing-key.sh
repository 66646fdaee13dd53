#!/usr/bin/env bash
# TEST-ONLY OpenPGP keys, made with real gpg, standing in for Mattermost's release
# signing key: the tests sign stand-in tarballs with them and pin their fingerprint.
#
# Usage:
#   test-signing-key.sh new HOME UID [ALGO]
#       makes a key (ALGO: ed25519 (default) or rsa2048) with a signing subkey in
#       the gpg home HOME (created 0700), writes HOME/public.asc (armored) and
#       HOME/public.gpg (binary), and prints the primary key's fingerprint.
#   test-signing-key.sh sign HOME FILE [SIG]
#       writes a detached binary signature of FILE to SIG (default FILE.sig), made
#       with the newest signing subkey, as Mattermost's release signatures are.
#
# Needs gpg (Debian package gnupg; tests/run.sh installs it). No agent is left
# running.
set -euo pipefail

usage() {
    echo "usage: $(basename "$0") new HOME UID [ed25519|rsa2048] | sign HOME FILE [SIG]" >&2
    exit 2
}

[ "$#" -ge 3 ] || usage
cmd=$1 home=$2
export GNUPGHOME=$home
trap 'gpgconf --homedir "$home" --kill gpg-agent >/dev/null 2>&1 || true' EXIT

case "$cmd" in
new)
    uid=$3 algo=${4:-ed25519}
    mkdir -p "$home"
    chmod 700 "$home"
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
        --quick-gen-key "$uid" "$algo" cert never 2>/dev/null
    fpr=$(gpg --batch --with-colons --list-keys "$uid" 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }')
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
        --quick-add-key "$fpr" "$algo" sign never 2>/dev/null
    gpg --batch --armor --export "$fpr" >"$home/public.asc"
    gpg --batch --export "$fpr" >"$home/public.gpg"
    echo "$fpr"
    ;;
sign)
    file=$3 sig=${4:-$3.sig}
    gpg --batch --quiet --yes --pinentry-mode loopback --passphrase '' \
        --detach-sign --output "$sig" "$file" 2>/dev/null
    ;;
*)
    usage
    ;;
esac
