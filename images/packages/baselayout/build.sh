#!/bin/sh
# Filesystem skeleton, users, the hostname and os-release. The init scripts
# are their own package (init-scripts).
set -eu
cp -a /recipe/files/. "$OUT/"
for d in dev proc sys tmp run root var/log var/tmp mnt home; do mkdir -p "$OUT/$d"; done
cat > "$OUT/etc/os-release" <<EOR
NAME=BuckOS
ID=buckos
VERSION_ID=$DISTRO_VERSION
PRETTY_NAME="BuckOS $DISTRO_VERSION"
BUCKOS_ARCH=$ARCH
EOR
