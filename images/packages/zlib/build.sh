#!/bin/sh
# zlib: a plain configure/make library, built static against musl.
set -eu
mkdir -p /build && cd /build
tar -xf /src/zlib/* --strip-components=1
CC="$CC" CHOST="$GNU_TRIPLE" CFLAGS="-O2 -ffile-prefix-map=/build=." ./configure --prefix=/usr --static >/dev/null
make -s -j"$JOBS"
make -s install DESTDIR="$OUT" >/dev/null
rm -rf "$OUT/usr/share/man"
