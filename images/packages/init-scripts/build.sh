#!/bin/sh
# busybox init's inittab and scripts, installed as they are.
set -eu
cp -a /recipe/files/. "$OUT/"
chmod 0755 "$OUT/etc/init.d/rcS" "$OUT/etc/init.d/console-getty" "$OUT/usr/libexec/buckos/autologin" "$OUT/usr/share/udhcpc/default.script" "$OUT/usr/libexec/buckos/smoke"
# udhcpc writes the resolver config to /run, which is writable even on the
# read-only ISO root.
ln -s ../run/resolv.conf "$OUT/etc/resolv.conf"
