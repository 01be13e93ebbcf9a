#!/bin/sh
# util-linux, static against musl: libblkid, libuuid, libmount, libsmartcols
# and libfdisk (headers and static archives for other packages), plus mount,
# umount, blkid, lsblk and, with USE fdisk, fdisk/sfdisk ($USE_CONFIGURE:
# --enable-fdisks=check, so cfdisk, which needs ncurses, drops out instead of
# failing configure; -fdisk gives --disable-fdisks). Everything else is off,
# and nothing needs systemd, udev, ncurses, readline, python or gettext.
set -eu
mkdir -p /build && cd /build
tar -xf /src/util-linux/* --strip-components=1
# --host makes arm64 a cross build; on amd64 it equals the build triple, so
# configure's run tests execute the (static, musl) test programs directly.
./configure --host="$GNU_TRIPLE" --build=x86_64-linux-gnu \
  --prefix=/usr --bindir=/bin --sbindir=/sbin --libdir=/usr/lib \
  --disable-shared --enable-static \
  --disable-all-programs \
  --enable-libuuid --enable-libblkid --enable-libmount --enable-libsmartcols --enable-libfdisk \
  --enable-mount --enable-blkid --enable-lsblk $USE_CONFIGURE \
  --disable-nls --disable-asciidoc --disable-poman --disable-bash-completion --disable-liblastlog2 \
  --disable-makeinstall-chown --disable-makeinstall-setuid \
  --without-systemd --without-udev --without-ncursesw --without-ncurses --without-tinfo \
  --without-readline --without-python --without-cap-ng --without-libmagic --without-user \
  --without-btrfs --without-econf --without-selinux --without-audit --without-cryptsetup \
  CC="$CC" CFLAGS="-O2 -ffile-prefix-map=/build=." LDFLAGS="-static" >/dev/null
# -all-static: libtool links the programs fully static (plain -static only
# means "static libtool libraries" to it).
make -s -j"$JOBS" LDFLAGS="-all-static"
make -s install DESTDIR="$OUT" LDFLAGS="-all-static" >/dev/null
rm -rf "$OUT/usr/share/man" "$OUT/usr/share/doc" "$OUT/usr/share/bash-completion"
find "$OUT" -name '*.la' -delete
progs="bin/mount bin/umount sbin/blkid bin/lsblk"
case " $USE " in *" fdisk "*) progs="$progs sbin/fdisk sbin/sfdisk" ;; esac
for p in $progs; do file "$OUT/$p"; done
