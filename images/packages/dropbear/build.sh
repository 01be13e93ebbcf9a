#!/bin/sh
# dropbear: the SSH server (and dropbearkey, dbclient), static against musl
# with the bundled libtomcrypt; zlib from /deps when USE zlib is on.
set -eu
mkdir -p /build && cd /build
tar -xf /src/dropbear/* --strip-components=1
"$APPLY_PATCHES" /build
# $USE_CONFIGURE holds only --with-zlib=/deps/usr or --disable-zlib (recipe.json).
# shellcheck disable=SC2086
./configure --host="$GNU_TRIPLE" --build=x86_64-linux-gnu --prefix=/usr \
  --enable-static --enable-bundled-libtom --disable-pam --disable-lastlog --disable-utmp --disable-utmpx \
  --disable-wtmp --disable-wtmpx --disable-pututline --disable-pututxline $USE_CONFIGURE \
  CC="$CC" CFLAGS="-O2 -ffile-prefix-map=/build=." LDFLAGS="-static" >/dev/null
make -s -j"$JOBS" PROGRAMS="dropbear dropbearkey dbclient"
make -s install PROGRAMS="dropbear dropbearkey dbclient" DESTDIR="$OUT" >/dev/null
rm -rf "$OUT/usr/share"
mkdir -p "$OUT/etc/dropbear"
file "$OUT/usr/sbin/dropbear"
