#!/bin/sh
# Installs the Debian 12 (bookworm) packages that building and testing
# bucketdb needs and that are not installed yet. Uses apt-get as root (or
# through sudo). Does nothing when everything is present.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config autoconf-archive
      liburcu-dev libjemalloc-dev libxxhash-dev zlib1g-dev libssl-dev nettle-dev
      libjansson-dev libcriterion-dev clang-format clang libclang-rt-14-dev git ca-certificates
      librocksdb-dev liblmdb-dev gnuplot-nox"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "setup: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
