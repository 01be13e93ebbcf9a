#!/bin/sh
# Static busybox against the stage1 musl toolchain, with applet symlinks.
set -eu
mkdir -p /build && cd /build
tar -xf /src/busybox/* --strip-components=1
make -s defconfig HOSTCC=gcc
# Static, and no applets that need glibc-only interfaces or newer kernel UAPI.
sed -i \
  -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' \
  -e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' \
  -e 's/^CONFIG_FEATURE_HAVE_RPC=y/# CONFIG_FEATURE_HAVE_RPC is not set/' \
  .config
# 1.37's SHA-NI code is x86 only, but sha1_end names it whenever the option
# is on: off everywhere else, or libbb does not compile.
case $ARCH in
  amd64) ;;
  *) sed -i -e 's/^CONFIG_SHA1_HWACCEL=y/# CONFIG_SHA1_HWACCEL is not set/' \
       -e 's/^CONFIG_SHA256_HWACCEL=y/# CONFIG_SHA256_HWACCEL is not set/' .config ;;
esac
make -s oldconfig HOSTCC=gcc </dev/null >/dev/null
make -s -j"$JOBS" ARCH="$KARCH" CROSS_COMPILE="$GNU_TRIPLE-" CC="$CC" HOSTCC=gcc \
  EXTRA_CFLAGS="-ffile-prefix-map=/build=." KCONFIG_NOTIMESTAMP=1
make -s ARCH="$KARCH" CROSS_COMPILE="$GNU_TRIPLE-" CC="$CC" HOSTCC=gcc CONFIG_PREFIX="$OUT" install >/dev/null
file "$OUT/bin/busybox"
